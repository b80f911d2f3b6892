// Generates src/protocol/errors.ts: Kafka's error code table (name, code, retriable, description).
//
// Usage: node --import tsx scripts/generate-errors.ts [--source <file>] [--check]
//
// The source of truth is the "Error Codes" table of Kafka's protocol page (rendered by Kafka's
// Errors.toHtml() into generated/protocol_errors.html and pulled into protocol.html by an SSI include).
// Sources, first that has the table wins:
//   1. --source <file>: a rendered protocol page or protocol_errors.html (e.g. saved from kafka.apache.org/protocol),
//   2. ../shared/kafka-protocol/docs/protocol.html, with its `<!--#include virtual="generated/protocol_errors.html" -->`
//      resolved next to it,
//   3. @platformatic/kafka's dist/protocol/errors.js (already a devDependency, itself generated from the same Kafka
//      table). Our shared docs snapshot ships protocol.html without the generated include, so today this is the
//      source actually used; the header of the output says which one was.
// --check: exit 1 if the checked-in file differs from what would be generated (for CI).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface ErrorRow {
  name: string;
  code: number;
  retriable: boolean;
  description: string;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outPath = resolve(repoRoot, 'src/protocol/errors.ts');
const protocolHtmlPath = resolve(repoRoot, '../shared/kafka-protocol/docs/protocol.html');
const platformaticPath = resolve(repoRoot, 'node_modules/@platformatic/kafka/dist/protocol/errors.js');

function decodeEntities(text: string): string {
  return text
    .replace(/<[^>]*>/g, '')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Rows of the first table whose header is Error | Code | Retriable | Description. */
export function parseErrorTable(html: string): ErrorRow[] {
  const rows: ErrorRow[] = [];
  for (const table of html.match(/<table[\s\S]*?<\/table>/gi) ?? []) {
    const header = (table.match(/<th[^>]*>[\s\S]*?<\/th>/gi) ?? []).map(decodeEntities);
    if (header.join('|').toLowerCase() !== 'error|code|retriable|description') continue;
    for (const tr of table.match(/<tr[^>]*>[\s\S]*?<\/tr>/gi) ?? []) {
      const cells = (tr.match(/<td[^>]*>[\s\S]*?<\/td>/gi) ?? []).map(decodeEntities);
      if (cells.length !== 4) continue;
      const [name, code, retriable, description] = cells as [string, string, string, string];
      if (!/^[A-Z0-9_]+$/.test(name) || !/^-?\d+$/.test(code)) {
        throw new Error(`Unexpected error table row: ${cells.join(' | ')}`);
      }
      rows.push({ name, code: Number(code), retriable: retriable.toLowerCase() === 'true', description });
    }
    if (rows.length > 0) return rows;
  }
  return rows;
}

function rowsFromHtmlFile(path: string): ErrorRow[] {
  const html = readFileSync(path, 'utf8');
  const rows = parseErrorTable(html);
  if (rows.length > 0) return rows;
  const include = /<!--#include virtual="([^"]*protocol_errors\.html)"\s*-->/.exec(html);
  if (include) {
    const included = resolve(dirname(path), include[1]!);
    if (existsSync(included)) return parseErrorTable(readFileSync(included, 'utf8'));
  }
  return [];
}

async function rowsFromPlatformatic(path: string): Promise<ErrorRow[]> {
  const mod = (await import(pathToFileURL(path).href)) as {
    protocolErrors: Record<string, { id: string; code: number; canRetry: boolean; message: string }>;
  };
  return Object.values(mod.protocolErrors).map((e) => ({
    name: e.id,
    code: e.code,
    retriable: e.canRetry,
    description: e.message,
  }));
}

function validate(rows: ErrorRow[]): void {
  const names = new Set<string>();
  const codes = new Set<number>();
  for (const row of rows) {
    if (names.has(row.name) || codes.has(row.code))
      throw new Error(`Duplicate error ${row.name} (${row.code})`);
    names.add(row.name);
    codes.add(row.code);
  }
  for (const [name, code] of [
    ['NONE', 0],
    ['UNKNOWN_SERVER_ERROR', -1],
    ['UNKNOWN_TOPIC_OR_PARTITION', 3],
  ] as const) {
    if (!rows.some((r) => r.name === name && r.code === code)) throw new Error(`Table lacks ${name}=${code}`);
  }
}

function render(rows: ErrorRow[], source: string): string {
  const sorted = [...rows].sort((a, b) => a.code - b.code);
  const codes = sorted.map((r) => `  ${r.name}: ${r.code},`).join('\n');
  const info = sorted
    .map((r) => `  [${r.code}, ${r.retriable}, ${JSON.stringify(r.description)}],`)
    .join('\n');
  return `// GENERATED FILE — do not edit. Run \`node --import tsx scripts/generate-errors.ts\`.
// Kafka's protocol error codes (protocol.html, "Error Codes"); source: ${source}.

/** Every Kafka protocol error code by name: \`ErrorCode.UNKNOWN_TOPIC_OR_PARTITION\` is 3. */
export const ErrorCode = {
${codes}
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export type ErrorName = keyof typeof ErrorCode;

/** [code, retriable, description] in code order. */
const ERROR_INFO: readonly (readonly [number, boolean, string])[] = [
${info}
];

const NAME_BY_CODE = new Map<number, ErrorName>(
  (Object.entries(ErrorCode) as [ErrorName, ErrorCode][]).map(([name, code]) => [code, name]),
);
const INFO_BY_CODE = new Map<number, { retriable: boolean; description: string }>(
  ERROR_INFO.map(([code, retriable, description]) => [code, { retriable, description }]),
);

/** The Kafka name of an error code, or \`UNKNOWN_ERROR_CODE(<n>)\` for a code this table does not know. */
export function errorName(code: number): string {
  return NAME_BY_CODE.get(code) ?? \`UNKNOWN_ERROR_CODE(\${code})\`;
}

/** True if Kafka marks the error retriable (the client may retry the same request). Unknown codes are not. */
export function isRetriable(code: number): boolean {
  return INFO_BY_CODE.get(code)?.retriable ?? false;
}

/** Kafka's one-sentence description of the error ('' for NONE and unknown codes). */
export function errorDescription(code: number): string {
  return INFO_BY_CODE.get(code)?.description ?? '';
}

export function isErrorCode(code: number): code is ErrorCode {
  return NAME_BY_CODE.has(code);
}

/** An error that maps to one Kafka error code; handlers throw it and the caller puts \`code\` in the response. */
export class KafkaError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: ErrorOptions) {
    super(message ?? (errorDescription(code) || errorName(code)), options);
    this.name = \`KafkaError(\${errorName(code)})\`;
    this.code = code;
  }

  get retriable(): boolean {
    return isRetriable(this.code);
  }
}
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { source: { type: 'string' }, check: { type: 'boolean' } } });
  let rows: ErrorRow[] = [];
  let source = '';
  const htmlCandidates = values.source ? [resolve(values.source)] : [protocolHtmlPath];
  for (const path of htmlCandidates) {
    if (!existsSync(path)) continue;
    rows = rowsFromHtmlFile(path);
    if (rows.length > 0) {
      source = relative(repoRoot, path);
      break;
    }
  }
  if (rows.length === 0 && values.source) {
    throw new Error(`${values.source} has no Error | Code | Retriable | Description table.`);
  }
  if (rows.length === 0 && existsSync(platformaticPath)) {
    rows = await rowsFromPlatformatic(platformaticPath);
    source = `${relative(repoRoot, platformaticPath)} (protocol.html lacks generated/protocol_errors.html)`;
  }
  if (rows.length === 0)
    throw new Error('No error code table found; pass --source <rendered protocol.html>.');
  validate(rows);
  // Format with the repo's prettier so `npm run format:check` accepts the generated file as is.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(outPath)) ?? {};
  const text = await prettier.format(render(rows, source), { ...options, filepath: outPath });
  if (values.check) {
    const current = existsSync(outPath) ? readFileSync(outPath, 'utf8') : '';
    if (current !== text) {
      console.error(`${relative(repoRoot, outPath)} is out of date; run scripts/generate-errors.ts`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(outPath, text);
  console.log(`wrote ${relative(repoRoot, outPath)}: ${rows.length} error codes from ${source}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
