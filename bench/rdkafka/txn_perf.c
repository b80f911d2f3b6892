/*
 * Transactional vs idempotent producer throughput with librdkafka (bench/txn.ts builds and runs it;
 * rdkafka_performance has no transactional mode). One producer, one partition:
 *
 *   txn_perf <brokers> <topic> <size> <count> <records-per-transaction>
 *
 * records-per-transaction 0: idempotent producer (enable.idempotence=true), produce everything, flush.
 * records-per-transaction N: transactional producer (transactional.id), begin / N records / commit
 * until <count> records are committed; commit latency = time in rd_kafka_commit_transaction(), which
 * flushes the transaction's last batches, writes EndTxn and waits for the markers.
 * Batching settings are rdkafka_performance's in bench/lib/rdkafka.ts (linger.ms=5, big batches).
 * Before the clock starts, both modes write one warm-up record (in a transaction when transactional),
 * so topic creation, producer id and connections are not timed; it is not counted.
 * Prints one JSON line: {"msgs","failed","elapsedMs","commits","commitP50Us","commitP99Us","error"}.
 */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long delivered = 0, failed = 0;
static char first_error[256] = "";

static int64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        (void)opaque;
        if (m->err) {
                if (!failed) snprintf(first_error, sizeof(first_error), "delivery: %s", rd_kafka_err2str(m->err));
                failed++;
        } else {
                delivered++;
        }
}

static int cmp_i64(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
        char err[256];
        if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "config %s=%s: %s\n", k, v, err);
                exit(2);
        }
}

/* Prints the JSON summary line and exits. */
static void report(long msgs, int64_t elapsed_us, int64_t *commit_us, long commits, const char *error) {
        int64_t p50 = -1, p99 = -1;
        if (commits > 0) {
                qsort(commit_us, (size_t)commits, sizeof(int64_t), cmp_i64);
                p50 = commit_us[(commits - 1) * 50 / 100];
                p99 = commit_us[(commits - 1) * 99 / 100];
        }
        printf("{\"msgs\":%ld,\"failed\":%ld,\"elapsedMs\":%.1f,\"commits\":%ld,\"commitP50Us\":%lld,"
               "\"commitP99Us\":%lld,\"error\":\"%s\"}\n",
               msgs, failed, (double)elapsed_us / 1000.0, commits, (long long)p50, (long long)p99, error);
        fflush(stdout);
        exit(error[0] ? 1 : 0);
}

static void check(rd_kafka_error_t *e, const char *what, int64_t t0, int64_t *commit_us, long commits) {
        if (!e) return;
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: %s", what, rd_kafka_error_string(e));
        for (char *p = msg; *p; p++)
                if (*p == '"' || *p == '\\') *p = '\'';
        rd_kafka_error_destroy(e);
        report(delivered, now_us() - t0, commit_us, commits, msg);
}

int main(int argc, char **argv) {
        if (argc != 6) {
                fprintf(stderr, "usage: %s <brokers> <topic> <size> <count> <records-per-transaction>\n", argv[0]);
                return 2;
        }
        const char *brokers = argv[1], *topic = argv[2];
        size_t size = (size_t)atol(argv[3]);
        long count = atol(argv[4]), per_txn = atol(argv[5]);
        char errstr[512], txn_id[64];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        set(conf, "bootstrap.servers", brokers);
        set(conf, "enable.idempotence", "true");
        set(conf, "linger.ms", "5");
        set(conf, "batch.num.messages", "10000");
        set(conf, "batch.size", "1000000");
        set(conf, "queue.buffering.max.messages", "2000000");
        set(conf, "queue.buffering.max.kbytes", "1048576");
        set(conf, "socket.send.buffer.bytes", "4194304");
        if (per_txn > 0) {
                snprintf(txn_id, sizeof(txn_id), "bench-txn-%d", (int)getpid());
                set(conf, "transactional.id", txn_id);
        }
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "rd_kafka_new: %s\n", errstr);
                return 2;
        }
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        char *payload = malloc(size);
        memset(payload, 'x', size);
        long commits_max = per_txn > 0 ? count / per_txn + 1 : 0;
        int64_t *commit_us = calloc((size_t)commits_max + 1, sizeof(int64_t));
        long commits = 0;

        if (per_txn > 0) check(rd_kafka_init_transactions(rk, 60000), "init_transactions", now_us(), commit_us, 0);
        if (per_txn > 0) check(rd_kafka_begin_transaction(rk), "begin_transaction", now_us(), commit_us, 0);
        if (rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0, NULL) == -1) {
                report(0, 0, commit_us, 0, "warm-up produce failed");
        }
        if (per_txn > 0)
                check(rd_kafka_commit_transaction(rk, 60000), "warm-up commit_transaction", now_us(), commit_us, 0);
        else
                rd_kafka_flush(rk, 60000);
        for (int i = 0; i < 100 && delivered + failed < 1; i++) rd_kafka_poll(rk, 100);
        if (delivered != 1) report(0, 0, commit_us, 0, failed ? first_error : "warm-up record not delivered");
        delivered = 0;
        int64_t t0 = now_us();
        long sent = 0;
        while (sent < count) {
                long n = per_txn > 0 ? (count - sent < per_txn ? count - sent : per_txn) : count;
                if (per_txn > 0) check(rd_kafka_begin_transaction(rk), "begin_transaction", t0, commit_us, commits);
                for (long i = 0; i < n; i++) {
                        while (rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0, NULL) == -1) {
                                rd_kafka_resp_err_t err = rd_kafka_last_error();
                                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                        char msg[256];
                                        snprintf(msg, sizeof(msg), "produce: %s", rd_kafka_err2str(err));
                                        report(delivered, now_us() - t0, commit_us, commits, msg);
                                }
                                rd_kafka_poll(rk, 5);
                        }
                        rd_kafka_poll(rk, 0);
                }
                sent += n;
                if (per_txn > 0) {
                        int64_t c0 = now_us();
                        check(rd_kafka_commit_transaction(rk, 60000), "commit_transaction", t0, commit_us, commits);
                        commit_us[commits++] = now_us() - c0;
                }
        }
        if (per_txn == 0) rd_kafka_flush(rk, 120000);
        int64_t elapsed = now_us() - t0;
        rd_kafka_poll(rk, 0);
        report(delivered, elapsed, commit_us, commits, failed ? first_error : "");
        return 0;
}
