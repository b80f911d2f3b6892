// Structured, quiet-by-default logging: one logfmt line per event,
//   ts=2024-10-01T12:00:00.000Z level=warn name=network msg="Closing connection" remote=127.0.0.1:51234
// No dependency and no async machinery: a line is built only when its level is enabled, then written to the
// stream in one write() call so lines from concurrent events never interleave.
//
// Levels: the CLI defaults to `info`, the embedded `Broker.start()` to `warn` so tests stay quiet.
// The environment variable BROOK_LOG_LEVEL overrides the level passed in code, so a failing test can be rerun
// with `BROOK_LOG_LEVEL=debug` without editing it.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';
export type LogFields = Readonly<Record<string, unknown>>;

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'silent'];

export interface Logger {
  readonly level: LogLevel;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** True if `level` lines are written; guard expensive field computation with it. */
  isEnabled(level: Exclude<LogLevel, 'silent'>): boolean;
  /** A logger that adds `fields` to every line (e.g. `{ conn: 7 }`). */
  child(fields: LogFields): Logger;
}

export interface LogStream {
  write(line: string): unknown;
}

export interface LoggerOptions {
  level?: LogLevel;
  name?: string;
  /** Defaults to process.stderr, so logs never mix with a CLI's stdout output. */
  stream?: LogStream;
  /** Fields added to every line. */
  fields?: LogFields;
  /** Environment to read BROOK_LOG_LEVEL from; defaults to process.env. Pass {} to ignore it. */
  env?: Readonly<Record<string, string | undefined>>;
}

const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, silent: -1 };

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** BROOK_LOG_LEVEL if it names a level, else `level`. */
export function effectiveLogLevel(
  level: LogLevel,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LogLevel {
  const fromEnv = env.BROOK_LOG_LEVEL?.trim().toLowerCase();
  return fromEnv && isLogLevel(fromEnv) ? fromEnv : level;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const env = options.env ?? process.env;
  const level = effectiveLogLevel(options.level ?? 'info', env);
  const stream = options.stream ?? process.stderr;
  let prefix = options.name === undefined ? '' : ` name=${formatValue(options.name)}`;
  prefix += formatFields(options.fields);
  const logger = new LogfmtLogger(level, stream, prefix);
  const raw = env.BROOK_LOG_LEVEL;
  if (raw !== undefined && raw.trim() !== '' && !isLogLevel(raw.trim().toLowerCase())) {
    logger.warn('Ignoring BROOK_LOG_LEVEL: not a log level', { value: raw, allowed: LOG_LEVELS.join(',') });
  }
  return logger;
}

class LogfmtLogger implements Logger {
  private readonly max: number;

  constructor(
    readonly level: LogLevel,
    private readonly stream: LogStream,
    private readonly prefix: string,
  ) {
    this.max = SEVERITY[level];
  }

  isEnabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return SEVERITY[level] <= this.max;
  }

  error(msg: string, fields?: LogFields): void {
    if (this.max >= 0) this.write('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.max >= 1) this.write('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.max >= 2) this.write('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.max >= 3) this.write('debug', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new LogfmtLogger(this.level, this.stream, this.prefix + formatFields(fields));
  }

  private write(level: string, msg: string, fields: LogFields | undefined): void {
    const line = `ts=${new Date().toISOString()} level=${level}${this.prefix} msg=${formatValue(msg)}${formatFields(fields)}\n`;
    this.stream.write(line);
  }
}

function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let out = '';
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    out += ` ${sanitizeKey(key)}=${formatValue(value)}`;
  }
  return out;
}

function sanitizeKey(key: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(key) ? key : key.replace(/[^A-Za-z0-9_.-]/g, '_') || '_';
}

/** A logfmt value: bare when it has no space, quote, `=` or control character; quoted and escaped otherwise. */
export function formatValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value instanceof Error) text = value.message;
  else if (value === null) text = 'null';
  else if (typeof value === 'object') text = safeJson(value);
  else text = String(value);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be quoted
  if (text !== '' && !/[\s"=\\\x00-\x1f\x7f]/.test(text)) return text;
  // eslint-disable-next-line no-control-regex -- and escaped
  return `"${text.replace(/[\\"\x00-\x1f\x7f]/g, escapeChar)}"`;
}

function escapeChar(ch: string): string {
  switch (ch) {
    case '\\':
      return '\\\\';
    case '"':
      return '\\"';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default:
      return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
  } catch {
    return String(value);
  }
}

/** A logger that drops everything; for code paths that take an optional logger. */
export const silentLogger: Logger = createLogger({ level: 'silent', env: {} });
