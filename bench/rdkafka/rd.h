/*
 * Minimal stand-in for librdkafka's internal "rd.h" / "rdtime.h", which the
 * rdkafka_performance.c example includes but librdkafka-dev does not ship.
 * Only what the example uses is provided. Used by bench/lib/rdkafka.ts.
 */
#ifndef BROOK_RD_SHIM_H
#define BROOK_RD_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int64_t rd_ts_t;
#define RD_UNUSED __attribute__((unused))
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define rd_snprintf snprintf

/* Monotonic clock in microseconds. */
static __inline RD_UNUSED rd_ts_t rd_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ((rd_ts_t)ts.tv_sec * 1000000LL) + ((rd_ts_t)ts.tv_nsec / 1000);
}

/*
 * Used by the bench patch of the producer rate limiter (-r): sleep until an
 * absolute monotonic deadline (microseconds) instead of busy-polling, so a
 * rate-limited producer does not burn a whole core on a 2-core machine, and
 * keep an absolute schedule so the achieved rate equals the requested one.
 */
static __inline RD_UNUSED void brook_sleep_until(rd_ts_t deadline_us) {
  static int slack_set = 0;
  struct timespec ts;
  if (!slack_set) {
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); /* 1 us timer slack */
    slack_set = 1;
  }
  if (deadline_us <= rd_clock())
    return;
  ts.tv_sec = (time_t)(deadline_us / 1000000LL);
  ts.tv_nsec = (long)((deadline_us % 1000000LL) * 1000LL);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}
#endif
