// Java .properties syntax (java.util.Properties#load), the format of Kafka's server.properties:
// - `#` or `!` as the first non-blank character makes the line a comment (a comment is never continued),
// - `key=value`, `key: value` or `key value`; blanks around the separator are dropped,
// - a line ending in an odd number of backslashes continues on the next line, whose leading blanks are dropped,
// - escapes \t \n \r \f \uXXXX, and `\x` is `x` for any other character (so `\=`, `\:`, `\ ` and `\#`).
// Later duplicates win, as in Java.

import { ConfigError } from './config-error.js';

const BLANK = new Set([' ', '\t', '\f']);

export function parseServerProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = stripLeadingBlanks(lines[i]!);
    if (line === '' || line[0] === '#' || line[0] === '!') continue;
    while (endsWithContinuation(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + stripLeadingBlanks(lines[++i]!);
    }
    if (endsWithContinuation(line)) line = line.slice(0, -1); // continuation on the last line
    const [rawKey, rawValue] = splitKeyValue(line);
    out[unescape(rawKey)] = unescape(rawValue);
  }
  return out;
}

function stripLeadingBlanks(line: string): string {
  let i = 0;
  while (i < line.length && BLANK.has(line[i]!)) i++;
  return line.slice(i);
}

function endsWithContinuation(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

/** The key ends at the first unescaped `=`, `:` or blank; then blanks, at most one `=`/`:`, blanks. */
function splitKeyValue(line: string): [string, string] {
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === '=' || ch === ':' || BLANK.has(ch)) break;
    i++;
  }
  const key = line.slice(0, Math.min(i, line.length));
  let j = i;
  while (j < line.length && BLANK.has(line[j]!)) j++;
  if (j < line.length && (line[j] === '=' || line[j] === ':')) j++;
  while (j < line.length && BLANK.has(line[j]!)) j++;
  return [key, line.slice(j)];
}

function unescape(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[++i]!;
    switch (next) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = text.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex))
          throw new ConfigError(
            `Malformed escape "\\u${hex}" in properties: \\u must be followed by 4 hex digits.`,
          );
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        out += next;
    }
  }
  return out;
}
