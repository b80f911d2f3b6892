// Request and response headers (Kafka's header versions):
//   request header v1: api_key int16, api_version int16, correlation_id int32, client_id nullable string
//   request header v2: v1 + tagged fields (client_id keeps its int16 length: it is never compact)
//   response header v0: correlation_id int32;  v1: + tagged fields
// A request uses header v2 when its API version is flexible; a response uses v1 when flexible,
// except ApiVersions, whose response header is always v0 (KIP-511: a client that does not yet know
// the broker's versions must be able to read it).
import { encodeMessage, decodeMessage } from './codec.js';
import { API_SCHEMAS, ApiKey } from './generated/apis.js';
import { inRange } from './schema.js';
import { ProtocolError, Reader, Writer } from './wire.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads the fixed part every header version shares; enough to answer even an unsupported request. */
export function peekHeader(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } {
  if (frame.length < 8) throw new ProtocolError(`frame of ${frame.length} bytes is shorter than a header`);
  return {
    apiKey: frame.readInt16BE(0),
    apiVersion: frame.readInt16BE(2),
    correlationId: frame.readInt32BE(4),
  };
}

export function isFlexibleRequest(apiKey: number, apiVersion: number): boolean {
  const api = API_SCHEMAS.get(apiKey);
  return api !== undefined && inRange(api.request.flexibleVersions, apiVersion);
}

/** Decodes the full request header; `reader` is left at the start of the body. */
export function readRequestHeader(reader: Reader): RequestHeader {
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  const correlationId = reader.int32();
  const len = reader.int16();
  const clientId = len < 0 ? null : reader.string(len);
  if (isFlexibleRequest(apiKey, apiVersion)) {
    const n = reader.uvarint();
    for (let i = 0; i < n; i++) {
      reader.uvarint();
      reader.raw(reader.uvarint());
    }
  }
  return { apiKey, apiVersion, correlationId, clientId };
}

export function writeRequestHeader(w: Writer, h: RequestHeader): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId);
  if (h.clientId === null) w.int16(-1);
  else {
    const len = Buffer.byteLength(h.clientId);
    w.int16(len).stringBytes(h.clientId, len);
  }
  if (isFlexibleRequest(h.apiKey, h.apiVersion)) w.uvarint(0);
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const api = API_SCHEMAS.get(apiKey);
  return api !== undefined && inRange(api.response.flexibleVersions, apiVersion) ? 1 : 0;
}

/** Encodes a response (header + body) as chunks, without the size prefix. */
export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: object,
): Buffer[] {
  const api = API_SCHEMAS.get(apiKey);
  if (!api) throw new ProtocolError(`unknown api key ${apiKey}`);
  const w = new Writer();
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.uvarint(0);
  encodeMessage(api.response, apiVersion, w, body);
  return w.chunksList();
}

/** Encodes a request (header + body) without the size prefix: used by Brook's client and tests. */
export function encodeRequest(header: RequestHeader, body: object): Buffer {
  const api = API_SCHEMAS.get(header.apiKey);
  if (!api) throw new ProtocolError(`unknown api key ${header.apiKey}`);
  const w = new Writer();
  writeRequestHeader(w, header);
  encodeMessage(api.request, header.apiVersion, w, body);
  return w.toBuffer();
}

/** Decodes a response frame (without size prefix) of a request the caller sent. */
export function decodeResponse<T>(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: T } {
  const api = API_SCHEMAS.get(apiKey);
  if (!api) throw new ProtocolError(`unknown api key ${apiKey}`);
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, apiVersion) === 1) {
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      r.uvarint();
      r.raw(r.uvarint());
    }
  }
  return { correlationId, body: decodeMessage<T>(api.response, apiVersion, r) };
}
