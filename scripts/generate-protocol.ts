// Generates src/protocol/generated/ from Kafka's message schemas (../shared/kafka-protocol/messages).
//
// For every message it writes TypeScript interfaces (camelCase fields; int64 as bigint, uuid as a
// canonical string, bytes as Buffer, records as Buffer | null) and a schema table that
// src/protocol/codec.ts compiles into encoders and decoders. The output carries names, types and
// versions, not the schemas' prose. Run with `npm run generate`; the output is checked in so that a
// build never needs ../shared.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const schemaDir = process.argv[2] ?? join(root, '..', 'shared', 'kafka-protocol', 'messages');
const outDir = join(root, 'src', 'protocol', 'generated');
const VERSION_MAX = 0x7fff;

interface JsonField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  default?: string | number | boolean;
  fields?: JsonField[];
}

interface JsonMessage {
  apiKey?: number;
  type: 'request' | 'response' | 'header' | 'data';
  name: string;
  validVersions: string;
  flexibleVersions?: string;
  fields: JsonField[];
  commonStructs?: { name: string; versions?: string; fields: JsonField[] }[];
}

/** Strips // comments (the schema files are JSON with comments), keeping string contents intact. */
function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

function parseRange(spec: string | undefined): [number, number] | null {
  if (spec === undefined || spec === 'none' || spec === '') return null;
  if (spec.endsWith('+')) return [Number(spec.slice(0, -1)), VERSION_MAX];
  const dash = spec.indexOf('-');
  if (dash > 0) return [Number(spec.slice(0, dash)), Number(spec.slice(dash + 1))];
  return [Number(spec), Number(spec)];
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function kebab(name: string): string {
  return name
    .replace(/(Request|Response)$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

const SCALARS = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'int64',
  'float64',
  'string',
  'bytes',
  'records',
  'uuid',
]);

function tsScalar(type: string): string {
  switch (type) {
    case 'bool':
      return 'boolean';
    case 'int64':
      return 'bigint';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    default:
      return 'number';
  }
}

function rangeLiteral(r: [number, number]): string {
  return `[${r[0]}, ${r[1] === VERSION_MAX ? 'MAX' : r[1]}]`;
}

function defaultLiteral(field: JsonField, baseType: string, isArray: boolean): string | undefined {
  const d = field.default;
  if (d === undefined) return undefined;
  if (isArray || !SCALARS.has(baseType)) return d === 'null' ? 'null' : undefined;
  if (d === 'null') return 'null';
  switch (baseType) {
    case 'bool':
      return String(d === true || d === 'true');
    case 'int64':
      return `${BigInt(String(d))}n`;
    case 'string':
      return JSON.stringify(String(d));
    case 'float64':
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
      return String(Number(d));
    default:
      return undefined;
  }
}

class MessageEmitter {
  private readonly interfaces: string[] = [];
  private readonly usedNames = new Set<string>();
  private readonly common = new Map<string, JsonField[]>();

  constructor(private readonly msg: JsonMessage) {
    for (const s of msg.commonStructs ?? []) this.common.set(s.name, s.fields);
  }

  emit(): { interfaces: string; schema: string } {
    const schemaFields = this.fieldsSchema(this.msg.fields, '    ');
    this.emitInterface(this.msg.name, this.msg.fields);
    const flex = parseRange(this.msg.flexibleVersions);
    const valid = parseRange(this.msg.validVersions)!;
    const schema =
      `export const ${this.msg.name}Schema: MessageSchema = {\n` +
      `  name: '${this.msg.name}',\n` +
      (this.msg.apiKey !== undefined ? `  apiKey: ${this.msg.apiKey},\n` : '') +
      `  kind: '${this.msg.type}',\n` +
      `  validVersions: ${rangeLiteral(valid)},\n` +
      `  flexibleVersions: ${flex ? rangeLiteral(flex) : 'null'},\n` +
      `  fields: ${schemaFields},\n};\n`;
    return { interfaces: this.interfaces.join('\n'), schema };
  }

  private structFields(field: JsonField, baseType: string): JsonField[] | undefined {
    if (field.fields) return field.fields;
    return this.common.get(baseType);
  }

  private interfaceName(structType: string): string {
    const base = this.msg.name;
    let name = structType.startsWith(base) ? structType : `${base}${structType}`;
    // A struct type can be used twice in one message (e.g. a common struct); emit it once.
    if (this.usedNames.has(name) && !this.common.has(structType)) name = `${name}2`;
    return name;
  }

  private emitInterface(name: string, fields: JsonField[]): void {
    if (this.usedNames.has(name)) return;
    this.usedNames.add(name);
    const lines: string[] = [];
    for (const f of fields) {
      const isArray = f.type.startsWith('[]');
      const base = isArray ? f.type.slice(2) : f.type;
      let ts: string;
      if (SCALARS.has(base)) {
        ts = tsScalar(base);
      } else {
        const sub = this.structFields(f, base);
        if (!sub) throw new Error(`${this.msg.name}.${f.name}: unknown struct type ${base}`);
        ts = this.interfaceName(base);
        this.emitInterface(ts, sub);
      }
      if (isArray) ts = `${ts}[]`;
      const nullable =
        parseRange(f.nullableVersions) !== null || (base === 'records' && !isArray) ? ' | null' : '';
      lines.push(`  ${camel(f.name)}: ${ts}${nullable};`);
    }
    this.interfaces.push(`export interface ${name} {\n${lines.join('\n')}\n}\n`);
  }

  private fieldsSchema(fields: JsonField[], indent: string): string {
    const parts = fields.map((f) => this.fieldSchema(f, indent + '  '));
    return `[\n${parts.map((p) => `${indent}${p},`).join('\n')}\n${indent.slice(2)}]`;
  }

  private fieldSchema(f: JsonField, indent: string): string {
    const isArray = f.type.startsWith('[]');
    const base = isArray ? f.type.slice(2) : f.type;
    const props: string[] = [`name: '${camel(f.name)}'`];
    const scalar = SCALARS.has(base);
    props.push(`type: '${scalar ? base : 'struct'}'`);
    if (isArray) props.push('array: true');
    const versions = parseRange(f.versions) ?? [0, -1];
    props.push(`versions: ${rangeLiteral(versions as [number, number])}`);
    const nullable = parseRange(f.nullableVersions);
    if (nullable) props.push(`nullable: ${rangeLiteral(nullable)}`);
    const tagged = parseRange(f.taggedVersions);
    if (tagged) props.push(`tagged: ${rangeLiteral(tagged)}`, `tag: ${f.tag}`);
    if (f.flexibleVersions !== undefined) {
      const flex = parseRange(f.flexibleVersions);
      props.push(`flexible: ${flex ? rangeLiteral(flex) : '[1, 0]'}`);
    }
    const def = defaultLiteral(f, base, isArray);
    if (def !== undefined) props.push(`default: ${def}`);
    if (!scalar) {
      const sub = this.structFields(f, base);
      if (!sub) throw new Error(`${this.msg.name}.${f.name}: unknown struct type ${base}`);
      props.push(`fields: ${this.fieldsSchema(sub, indent + '  ')}`);
    }
    return `{ ${props.join(', ')} }`;
  }
}

const HEADER = '// GENERATED by scripts/generate-protocol.ts from the Kafka message schemas. Do not edit.\n';

function main(): void {
  const files = readdirSync(schemaDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const messages: JsonMessage[] = files.map(
    (f) => JSON.parse(stripComments(readFileSync(join(schemaDir, f), 'utf8'))) as JsonMessage,
  );
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  // Group requests and responses of one API into one file.
  const groups = new Map<string, JsonMessage[]>();
  for (const m of messages) {
    const key = kebab(m.name);
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const index: string[] = [];
  const apis: { key: number; name: string; file: string; request: string; response: string }[] = [];
  for (const [file, group] of [...groups.entries()].sort()) {
    group.sort((a, b) => (a.type === 'request' ? -1 : b.type === 'request' ? 1 : 0));
    let body = HEADER + "import { VERSION_MAX as MAX, type MessageSchema } from '../schema.js';\n\n";
    for (const m of group) {
      const { interfaces, schema } = new MessageEmitter(m).emit();
      body += interfaces + '\n' + schema + '\n';
    }
    writeFileSync(join(outDir, `${file}.ts`), body);
    index.push(`export * from './${file}.js';`);
    const req = group.find((m) => m.type === 'request');
    const res = group.find((m) => m.type === 'response');
    if (req && res && req.apiKey !== undefined) {
      apis.push({
        key: req.apiKey,
        name: req.name.replace(/Request$/, ''),
        file,
        request: req.name,
        response: res.name,
      });
    }
  }
  apis.sort((a, b) => a.key - b.key);
  let apiFile = HEADER + "import type { MessageSchema } from '../schema.js';\n";
  for (const a of apis) {
    apiFile += `import { ${a.request}Schema, ${a.response}Schema } from './${a.file}.js';\n`;
  }
  apiFile += '\n/** Kafka API keys by name. */\nexport const ApiKey = {\n';
  for (const a of apis) apiFile += `  ${a.name}: ${a.key},\n`;
  apiFile += '} as const;\nexport type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];\n\n';
  apiFile +=
    'export interface ApiSchemas {\n  readonly name: string;\n  readonly request: MessageSchema;\n  readonly response: MessageSchema;\n}\n\n';
  apiFile += '/** Request and response schemas of every API, by key. */\n';
  apiFile += 'export const API_SCHEMAS: ReadonlyMap<number, ApiSchemas> = new Map<number, ApiSchemas>([\n';
  for (const a of apis) {
    apiFile += `  [${a.key}, { name: '${a.name}', request: ${a.request}Schema, response: ${a.response}Schema }],\n`;
  }
  apiFile += ']);\n';
  writeFileSync(join(outDir, 'apis.ts'), apiFile);
  index.push("export * from './apis.js';");
  writeFileSync(join(outDir, 'index.ts'), HEADER + index.join('\n') + '\n');
  console.log(`generated ${groups.size} files (${apis.length} APIs) into ${outDir}`);
}

main();
