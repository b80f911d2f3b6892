// From a request frame to a response frame: reads the header, checks that the API and version are
// served, decodes the body with the generated codec, runs the handler and encodes its answer.
//
// An ApiVersions request at a version we do not serve gets a v0-format answer with
// UNSUPPORTED_VERSION and our key list (KIP-511), so the client can retry lower. Any other unknown
// key or version, or a body that does not decode, closes the connection, as Kafka does: such a
// client cannot be understood, and guessing would risk answering the wrong question.
import { decodeMessage } from '../protocol/codec.js';
import { encodeResponse, peekHeader, readRequestHeader } from '../protocol/frames.js';
import { ApiKey, API_SCHEMAS } from '../protocol/generated/apis.js';
import { ErrorCode } from '../protocol/errors.js';
import { inRange } from '../protocol/schema.js';
import { ProtocolError, Reader } from '../protocol/wire.js';
import type { ApiHandler, ConnectionInfo } from './handler.js';
import type { BrokerServices } from './services.js';

/** Thrown to make the network layer close the connection (with one log line). */
export class BadRequestError extends Error {}

export class RequestDispatcher {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers are typed per API
  private readonly handlers = new Map<number, ApiHandler<any, any>>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers are typed per API
  constructor(handlers: readonly ApiHandler<any, any>[]) {
    for (const h of handlers) {
      const schemas = API_SCHEMAS.get(h.apiKey);
      if (!schemas) throw new Error(`handler for unknown api key ${h.apiKey}`);
      if (
        h.versions[0] < schemas.request.validVersions[0] ||
        h.versions[1] > schemas.request.validVersions[1]
      ) {
        throw new Error(`handler ${schemas.name} serves versions outside the schema`);
      }
      this.handlers.set(h.apiKey, h);
    }
  }

  /** What ApiVersions advertises. */
  supportedApis(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.handlers.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.versions[0], maxVersion: h.versions[1] }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  async dispatch(
    frame: Buffer,
    services: BrokerServices,
    connection: ConnectionInfo,
  ): Promise<Buffer[] | null> {
    const { apiKey, apiVersion, correlationId } = peekHeader(frame);
    const handler = this.handlers.get(apiKey);
    if (!handler) throw new BadRequestError(`unsupported api key ${apiKey}`);
    if (!inRange(handler.versions, apiVersion)) {
      if (apiKey === ApiKey.ApiVersions) {
        return encodeResponse(ApiKey.ApiVersions, 0, correlationId, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: services.supportedApis,
        });
      }
      throw new BadRequestError(`unsupported version ${apiVersion} of api key ${apiKey}`);
    }
    let request: unknown;
    let header;
    try {
      const reader = new Reader(frame);
      header = readRequestHeader(reader);
      request = decodeMessage(API_SCHEMAS.get(apiKey)!.request, apiVersion, reader);
    } catch (err) {
      if (err instanceof ProtocolError || err instanceof RangeError) {
        throw new BadRequestError(`malformed request (api key ${apiKey} v${apiVersion}): ${err.message}`);
      }
      throw err;
    }
    const response = await handler.handle({ services, header, connection }, request);
    if (response === null) return null;
    return encodeResponse(apiKey, apiVersion, correlationId, response as object);
  }
}
