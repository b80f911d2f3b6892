// brook consume <topic> [--from-beginning] [--partition N] [--offset N] [--max-messages N] [--timeout-ms N]
//               [--print-key]
// Prints each record's value on its own line (key TAB value with --print-key), like
// kafka-console-consumer.sh without a group: every partition unless --partition is given, from the log
// end unless --from-beginning or --offset. --timeout-ms ends the command after that long without a record.
import { parseArgs } from 'node:util';
import { Consumer, type PartitionAssignment } from '../../client/consumer.js';
import { COMMON_OPTIONS, CliError, intOption, runClient, write } from './common.js';

export const CONSUME_USAGE = `  brook consume <topic> [--from-beginning] [--partition N] [--offset N] [--max-messages N]
                [--timeout-ms N] [--print-key]
`;

/** Fetch MaxWaitMs: short enough for --timeout-ms and Ctrl-C to be noticed promptly. */
const MAX_WAIT_MS = 500;

export async function consumeCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...COMMON_OPTIONS,
      'from-beginning': { type: 'boolean' },
      partition: { type: 'string' },
      offset: { type: 'string' },
      'max-messages': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'print-key': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [topic, ...extra] = positionals;
  if (values.help || topic === undefined) {
    write(`Usage:\n${CONSUME_USAGE}`);
    if (!values.help) throw new CliError('"brook consume" needs a topic name.');
    return;
  }
  if (extra.length > 0) throw new CliError(`Unexpected argument "${extra[0]}".`);
  const partition = intOption('partition', values.partition);
  const offset = intOption('offset', values.offset);
  if (offset !== undefined && partition === undefined) throw new CliError('--offset needs --partition.');
  const maxMessages = intOption('max-messages', values['max-messages'], 1) ?? Infinity;
  const timeoutMs = intOption('timeout-ms', values['timeout-ms']);
  const start = offset ?? (values['from-beginning'] ? 'earliest' : 'latest');

  let total = 0;
  await runClient(async () => {
    const consumer = await Consumer.connect({
      bootstrap: values['bootstrap-server'],
      maxWaitMs: Math.min(MAX_WAIT_MS, timeoutMs ?? MAX_WAIT_MS),
      offsetReset: values['from-beginning'] ? 'earliest' : 'latest',
    });
    const stop = () => void consumer.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const partitions = partition === undefined ? await consumer.partitionsOf(topic) : [partition];
      const assignments: PartitionAssignment[] = partitions.map((p) => ({
        topic,
        partition: p,
        offset: start,
      }));
      await consumer.assign(assignments);
      let lastRecordAt = Date.now();
      for await (const r of pollForever(consumer)) {
        if (r === null) {
          if (timeoutMs !== undefined && Date.now() - lastRecordAt >= timeoutMs) break;
          continue;
        }
        lastRecordAt = Date.now();
        const value = r.value?.toString('utf8') ?? 'null';
        write(values['print-key'] ? `${r.key?.toString('utf8') ?? 'null'}\t${value}\n` : `${value}\n`);
        if (++total >= maxMessages) break;
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await consumer.close();
    }
  });
  process.stderr.write(`Processed a total of ${total} messages\n`);
}

/** Records as they come, and a null after every empty fetch round (so the caller can time out). */
async function* pollForever(consumer: Consumer) {
  while (!consumer.isClosed) {
    let records;
    try {
      records = await consumer.poll();
    } catch (err) {
      if (consumer.isClosed) return;
      throw err;
    }
    if (records.length === 0) yield null;
    for (const r of records) yield r;
  }
}
