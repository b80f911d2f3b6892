// ApiVersions (key 18), versions 0-4.
// - Lists every API this broker implements with the full schema version range it serves; nothing
//   it does not implement is advertised (librdkafka sends whatever is advertised, e.g. telemetry).
// - The response header is always v0 (frames.ts). A request at a version above 4 is answered by the
//   dispatcher with a v0 body carrying UNSUPPORTED_VERSION and the key list, so clients can retry
//   with a version both sides know (KIP-511).
// v1: ThrottleTimeMs. v3: flexible, client software name/version. v3+: features (none here).
import { ApiKey } from '../../protocol/generated/apis.js';
import type { ApiVersionsRequest, ApiVersionsResponse } from '../../protocol/generated/api-versions.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

export const apiVersionsHandler = defineHandler<ApiVersionsRequest, DeepPartial<ApiVersionsResponse>>({
  apiKey: ApiKey.ApiVersions,
  versions: [0, 4],
  handle(ctx) {
    return { errorCode: ErrorCode.NONE, apiKeys: [...ctx.services.supportedApis], throttleTimeMs: 0 };
  },
});
