// What the client subcommands share: --bootstrap-server, turning any failure into one sentence,
// and plain-text tables.
import { KafkaError } from '../../protocol/errors.js';

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

/** A failure to show the user as one sentence (then exit 1), without a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Options every client subcommand takes; spread into its parseArgs options. */
export const COMMON_OPTIONS = {
  'bootstrap-server': { type: 'string', default: DEFAULT_BOOTSTRAP },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs a client action; Kafka and network errors become a CliError carrying their one-sentence message. */
export async function runClient<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (
      err instanceof KafkaError ||
      (err instanceof Error && err.message.startsWith('Invalid broker address'))
    ) {
      throw new CliError(err.message, { cause: err });
    }
    throw err;
  }
}

/** A non-negative integer option, or a CliError naming the option. */
export function intOption(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < min)
    throw new CliError(`Invalid --${name} "${value}": expected an integer >= ${min}.`);
  return n;
}

/** `k=v` pairs of a repeatable option. */
export function keyValues(name: string, items: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--${name} expects key=value, got "${item}".`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** Left-aligned columns separated by two spaces; header first. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function write(text: string): void {
  process.stdout.write(text);
}
