// Turns the generated schema tables into encoders and decoders, compiled once per
// (message, version) into a tree of closures so that the per-request cost is a walk over the
// fields present in that version, with no version checks left on the hot path.
//
// Flexible versions (KIP-482) use compact lengths (unsigned varint of length + 1, 0 = null) and end
// every structure with tagged fields; unknown tags are skipped on input, and a tagged field is
// written only when its value differs from its default.
import { inRange, type FieldSchema, type MessageSchema } from './schema.js';
import { ProtocolError, Reader, Writer, ZERO_UUID } from './wire.js';

type Decode = (r: Reader) => unknown;
type Encode = (w: Writer, v: unknown) => void;
type Obj = Record<string, unknown>;

export interface CompiledMessage {
  readonly decode: (r: Reader) => Obj;
  readonly encode: (w: Writer, v: object) => void;
}

const EMPTY_BUFFER = Buffer.alloc(0);
const cache = new Map<MessageSchema, (CompiledMessage | undefined)[]>();

/** The encoder and decoder of `schema` at `version` (compiled on first use). */
export function compiled(schema: MessageSchema, version: number): CompiledMessage {
  let perVersion = cache.get(schema);
  if (!perVersion) {
    perVersion = [];
    cache.set(schema, perVersion);
  }
  let c = perVersion[version];
  if (!c) {
    if (!inRange(schema.validVersions, version)) {
      throw new ProtocolError(`${schema.name} has no version ${version}`);
    }
    const flexible = inRange(schema.flexibleVersions, version);
    c = compileStruct(schema.fields, version, flexible) as CompiledMessage;
    perVersion[version] = c;
  }
  return c;
}

export function decodeMessage<T>(schema: MessageSchema, version: number, r: Reader): T {
  return compiled(schema, version).decode(r) as T;
}

export function encodeMessage(schema: MessageSchema, version: number, w: Writer, value: object): void {
  compiled(schema, version).encode(w, value);
}

/** Convenience for tests and the client: encode to a single buffer. */
export function encodeToBuffer(schema: MessageSchema, version: number, value: object): Buffer {
  const w = new Writer();
  encodeMessage(schema, version, w, value);
  return w.toBuffer();
}

export function decodeFromBuffer<T>(schema: MessageSchema, version: number, buf: Buffer): T {
  const r = new Reader(buf);
  const v = decodeMessage<T>(schema, version, r);
  if (r.remaining !== 0) throw new ProtocolError(`${r.remaining} trailing bytes after ${schema.name}`);
  return v;
}

/** The value a field takes when a version does not carry it. */
export function defaultValue(field: FieldSchema): unknown {
  if (field.default !== undefined) {
    if (field.default === null) return null;
    return field.default;
  }
  if (field.array) return [];
  switch (field.type) {
    case 'bool':
      return false;
    case 'int64':
      return 0n;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return EMPTY_BUFFER;
    case 'records':
      return null;
    case 'struct':
      return structDefault(field.fields ?? []);
    default:
      return 0;
  }
}

function structDefault(fields: readonly FieldSchema[]): Obj {
  const o: Obj = {};
  for (const f of fields) o[f.name] = defaultValue(f);
  return o;
}

function compileStruct(fields: readonly FieldSchema[], version: number, flexible: boolean): CompiledMessage {
  const names: string[] = [];
  const decoders: Decode[] = [];
  const encoders: Encode[] = [];
  const defaults: FieldSchema[] = [];
  const taggedByTag = new Map<number, { name: string; decode: Decode }>();
  const tagged: { field: FieldSchema; encode: Encode }[] = [];

  for (const field of fields) {
    if (!inRange(field.versions, version)) {
      defaults.push(field);
      continue;
    }
    const nullable = inRange(field.nullable, version);
    const compact = flexible && (field.flexible === undefined || inRange(field.flexible, version));
    const codec = fieldCodec(field, version, flexible, compact, nullable);
    if (flexible && inRange(field.tagged, version)) {
      taggedByTag.set(field.tag!, { name: field.name, decode: codec.decode });
      tagged.push({ field, encode: codec.encode });
      defaults.push(field);
      continue;
    }
    names.push(field.name);
    decoders.push(codec.decode);
    encoders.push(codec.encode);
  }
  tagged.sort((a, b) => a.field.tag! - b.field.tag!);
  const count = names.length;

  const decode = (r: Reader): Obj => {
    const o: Obj = {};
    for (let i = 0; i < count; i++) o[names[i]!] = decoders[i]!(r);
    for (const f of defaults) o[f.name] = defaultValue(f);
    if (flexible) {
      const n = r.uvarint();
      for (let i = 0; i < n; i++) {
        const tag = r.uvarint();
        const size = r.uvarint();
        const known = taggedByTag.get(tag);
        if (known) {
          const sub = new Reader(r.buf, r.pos, r.pos + size);
          o[known.name] = known.decode(sub);
        }
        r.raw(size);
      }
    }
    return o;
  };

  const encode = (w: Writer, v: unknown): void => {
    const o = (v ?? {}) as Obj;
    for (let i = 0; i < count; i++) encoders[i]!(w, o[names[i]!]);
    if (flexible) {
      if (tagged.length === 0) {
        w.uvarint(0);
        return;
      }
      const present: { tag: number; bytes: Buffer }[] = [];
      for (const t of tagged) {
        const value = o[t.field.name];
        if (value === undefined || isDefault(t.field, value)) continue;
        const sub = new Writer();
        t.encode(sub, value);
        present.push({ tag: t.field.tag!, bytes: sub.toBuffer() });
      }
      w.uvarint(present.length);
      for (const p of present) {
        w.uvarint(p.tag).uvarint(p.bytes.length).raw(p.bytes);
      }
    }
  };

  return { decode, encode: encode as CompiledMessage['encode'] };
}

function isDefault(field: FieldSchema, value: unknown): boolean {
  const d = defaultValue(field);
  if (value === d) return true;
  if (Array.isArray(value)) return value.length === 0 && Array.isArray(d);
  if (Buffer.isBuffer(value)) return value.length === 0 && Buffer.isBuffer(d);
  if (typeof value === 'object' && value !== null && field.type === 'struct') {
    return JSON.stringify(value, bigintSafe) === JSON.stringify(d, bigintSafe);
  }
  return false;
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

interface FieldCodec {
  decode: Decode;
  encode: Encode;
}

function fieldCodec(
  field: FieldSchema,
  version: number,
  flexible: boolean,
  compact: boolean,
  nullable: boolean,
): FieldCodec {
  const item = itemCodec(field, version, flexible, compact, nullable && !field.array);
  if (!field.array) return item;
  const what = field.name;
  return {
    decode: (r) => {
      const n = compact ? r.uvarint() - 1 : r.int32();
      if (n < 0) {
        if (!nullable) throw new ProtocolError(`null array ${what}`);
        return null;
      }
      if (n > r.remaining) throw new ProtocolError(`array ${what} of ${n} items exceeds the frame`);
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = item.decode(r);
      return out;
    },
    encode: (w, v) => {
      if (v == null) {
        if (!nullable && v === null) throw new ProtocolError(`${what} is not nullable in this version`);
        if (v === null) {
          if (compact) w.uvarint(0);
          else w.int32(-1);
          return;
        }
        v = [];
      }
      const arr = v as unknown[];
      if (compact) w.uvarint(arr.length + 1);
      else w.int32(arr.length);
      for (let i = 0; i < arr.length; i++) item.encode(w, arr[i]);
    },
  };
}

function itemCodec(
  field: FieldSchema,
  version: number,
  flexible: boolean,
  compact: boolean,
  nullable: boolean,
): FieldCodec {
  const what = field.name;
  switch (field.type) {
    case 'bool':
      return { decode: (r) => r.bool(), encode: (w, v) => w.bool(v === undefined ? false : Boolean(v)) };
    case 'int8':
      return { decode: (r) => r.int8(), encode: (w, v) => w.int8(num(v, field)) };
    case 'int16':
      return { decode: (r) => r.int16(), encode: (w, v) => w.int16(num(v, field)) };
    case 'uint16':
      return { decode: (r) => r.uint16(), encode: (w, v) => w.uint16(num(v, field)) };
    case 'int32':
      return { decode: (r) => r.int32(), encode: (w, v) => w.int32(num(v, field)) };
    case 'float64':
      return { decode: (r) => r.float64(), encode: (w, v) => w.float64(num(v, field)) };
    case 'int64':
      return {
        decode: (r) => r.int64(),
        encode: (w, v) => {
          if (v === undefined) v = field.array ? 0n : defaultValue(field);
          w.int64(typeof v === 'bigint' ? v : BigInt(v as number));
        },
      };
    case 'uuid':
      return { decode: (r) => r.uuid(), encode: (w, v) => w.uuid(v as string | undefined) };
    case 'string':
      return {
        decode: (r) => {
          const n = compact ? r.uvarint() - 1 : r.int16();
          if (n < 0) {
            if (!nullable) throw new ProtocolError(`null string ${what}`);
            return null;
          }
          return r.string(n);
        },
        encode: (w, v) => {
          if (v === undefined) v = field.array ? '' : defaultValue(field);
          if (v === null) {
            if (!nullable) v = '';
            else {
              if (compact) w.uvarint(0);
              else w.int16(-1);
              return;
            }
          }
          const s = v as string;
          const len = Buffer.byteLength(s);
          if (compact) w.uvarint(len + 1);
          else {
            if (len > 0x7fff) throw new ProtocolError(`string ${what} too long`);
            w.int16(len);
          }
          w.stringBytes(s, len);
        },
      };
    case 'bytes':
    case 'records': {
      const isNullable = nullable || field.type === 'records';
      return {
        decode: (r) => {
          const n = compact ? r.uvarint() - 1 : r.int32();
          if (n < 0) {
            if (!isNullable) throw new ProtocolError(`null bytes ${what}`);
            return null;
          }
          return r.raw(n);
        },
        encode: (w, v) => {
          if (v === undefined) v = defaultValue(field);
          if (v === null) {
            if (!isNullable) v = EMPTY_BUFFER;
            else {
              if (compact) w.uvarint(0);
              else w.int32(-1);
              return;
            }
          }
          const b = v as Buffer;
          if (compact) w.uvarint(b.length + 1);
          else w.int32(b.length);
          w.raw(b);
        },
      };
    }
    case 'struct': {
      const inner = compileStruct(field.fields ?? [], version, flexible);
      if (!nullable) {
        return { decode: inner.decode, encode: (w, v) => inner.encode(w, (v ?? {}) as object) };
      }
      // Nullable structs are prefixed by an int8: -1 null, 1 present.
      return {
        decode: (r) => (r.int8() < 0 ? null : inner.decode(r)),
        encode: (w, v) => {
          if (v === null || v === undefined) w.int8(-1);
          else {
            w.int8(1);
            inner.encode(w, v as object);
          }
        },
      };
    }
  }
}

function num(v: unknown, field: FieldSchema): number {
  if (v === undefined) return field.array ? 0 : (defaultValue(field) as number);
  return v as number;
}
