// The shape of the schema tables that scripts/generate-protocol.ts writes into src/protocol/generated/.
// The tables carry names, types and version ranges only; src/protocol/codec.ts turns them into
// encoders and decoders, compiled once per (message, version).

/** Inclusive version range. `[0, VERSION_MAX]` is Kafka's "0+". */
export type VersionRange = readonly [number, number];
export const VERSION_MAX = 0x7fff;

export type ScalarType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export interface FieldSchema {
  /** camelCase name used in the TypeScript objects. */
  readonly name: string;
  /** Scalar type, or 'struct' when `fields` describes a nested structure. */
  readonly type: ScalarType | 'struct';
  /** True for `[]T` fields. */
  readonly array?: boolean;
  readonly versions: VersionRange;
  readonly nullable?: VersionRange;
  readonly tagged?: VersionRange;
  readonly tag?: number;
  /** Field-level override of the message's flexible versions (only the request header's ClientId). */
  readonly flexible?: VersionRange;
  /** Default value when absent in a version; undefined means the type's zero value. */
  readonly default?: boolean | number | bigint | string | null;
  readonly fields?: readonly FieldSchema[];
}

export interface MessageSchema {
  readonly name: string;
  readonly apiKey?: number;
  readonly kind: 'request' | 'response' | 'header' | 'data';
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange | null;
  readonly fields: readonly FieldSchema[];
}

/** Every field optional, recursively: what encoders accept (missing fields take their defaults). */
export type DeepPartial<T> = T extends Buffer
  ? T
  : T extends readonly (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

export function inRange(range: VersionRange | null | undefined, version: number): boolean {
  return range != null && version >= range[0] && version <= range[1];
}
