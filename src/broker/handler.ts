// What every API handler sees. A handler gets a decoded request and returns a response object
// (or null for "no response", e.g. acks=0 produce); it never touches sockets or bytes.
import type { RequestHeader } from '../protocol/frames.js';
import type { VersionRange } from '../protocol/schema.js';
import type { BrokerServices } from './services.js';

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  /** True once the client has gone away (a long-polling Fetch stops waiting). */
  readonly closed: boolean;
}

export interface RequestContext {
  readonly services: BrokerServices;
  readonly header: RequestHeader;
  readonly connection: ConnectionInfo;
}

export interface ApiHandler<Req = unknown, Res = unknown> {
  readonly apiKey: number;
  /** The versions this broker serves and advertises in ApiVersions. */
  readonly versions: VersionRange;
  handle(ctx: RequestContext, request: Req): Promise<Res | null> | Res | null;
}

/** Identity function that keeps the request/response types of a handler checked. */
export function defineHandler<Req, Res>(handler: ApiHandler<Req, Res>): ApiHandler<Req, Res> {
  return handler;
}
