// brook produce <topic> [--key K] [--partition N] [--header k=v ...] [--compression C] [--acks A] [value ...]
// Values come from the arguments, else one per line of stdin (sent in batches of STDIN_BATCH lines).
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Producer, type CompressionName, type ProducerMessage } from '../../client/producer.js';
import { COMMON_OPTIONS, CliError, intOption, keyValues, runClient, write } from './common.js';

export const PRODUCE_USAGE = `  brook produce <topic> [--key K] [--partition N] [--header key=value ...]
                [--compression none|gzip|snappy|lz4|zstd] [--acks -1|0|1] [value ...]
                                        Values from the arguments, else one per stdin line
`;

const STDIN_BATCH = 1000;
const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export async function produceCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...COMMON_OPTIONS,
      key: { type: 'string' },
      partition: { type: 'string' },
      header: { type: 'string', multiple: true },
      compression: { type: 'string', default: 'none' },
      acks: { type: 'string', default: '-1' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [topic, ...args] = positionals;
  if (values.help || topic === undefined) {
    write(`Usage:\n${PRODUCE_USAGE}`);
    if (!values.help) throw new CliError('"brook produce" needs a topic name.');
    return;
  }
  if (!COMPRESSIONS.includes(values.compression)) {
    throw new CliError(
      `Invalid --compression "${values.compression}": expected one of ${COMPRESSIONS.join(', ')}.`,
    );
  }
  if (!['-1', '0', '1', 'all'].includes(values.acks))
    throw new CliError(`Invalid --acks "${values.acks}": expected -1, 0 or 1.`);
  const acks = values.acks === 'all' ? -1 : (Number(values.acks) as -1 | 0 | 1);
  const partition = intOption('partition', values.partition);
  const headers = keyValues('header', values.header);
  const message = (value: string): ProducerMessage => ({ key: values.key, value, headers, partition });

  await runClient(async () => {
    const producer = await Producer.connect(values['bootstrap-server']);
    try {
      const send = (vals: string[]) =>
        producer.send({
          topic,
          messages: vals.map(message),
          acks,
          compression: values.compression as CompressionName,
        });
      if (args.length > 0) {
        await send(args);
        return;
      }
      let batch: string[] = [];
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        batch.push(line);
        if (batch.length >= STDIN_BATCH) {
          await send(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await send(batch);
    } finally {
      await producer.close();
    }
  });
}
