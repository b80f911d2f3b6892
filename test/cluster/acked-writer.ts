// A kafkajs idempotent acks=all producer writing one record at a time to partition 0 until stopped, keeping
// the values it got acknowledged, in order: the cluster tests fault the brokers meanwhile, then check that
// the partition holds exactly `acked`, once each, in order. The first send that fails ends the loop (that
// record is not acknowledged: it may or may not be in the log, but never twice) and is kept as `failure`.
import { Partitioners, type Kafka } from 'kafkajs';

export interface AckedWriter {
  /** The acknowledged values so far, in send order. */
  readonly acked: string[];
  /** The error that ended the loop, or null. */
  failure(): unknown;
  /** Ends the loop after the send in flight, and disconnects. */
  stop(): Promise<void>;
}

export async function startAckedWriter(kafka: Kafka, topic: string, prefix = 'v'): Promise<AckedWriter> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const acked: string[] = [];
  let stopped = false;
  let failure: unknown = null;
  const writing = (async () => {
    for (let i = 0; !stopped; i++) {
      const value = `${prefix}${i}`;
      try {
        await producer.send({ topic, acks: -1, messages: [{ value, partition: 0 }] });
        acked.push(value);
      } catch (err) {
        failure = err;
        break;
      }
    }
  })();
  return {
    acked,
    failure: () => failure,
    async stop() {
      stopped = true;
      await writing;
      await producer.disconnect();
    },
  };
}
