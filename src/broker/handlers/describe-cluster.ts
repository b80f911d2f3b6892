// DescribeCluster (key 60), versions 0-1 (KIP-700): the brokers, the controller and the cluster id,
// the same facts as Metadata without topics.
// - The live brokers and the controller as the ClusterView knows them (as Metadata says); a single
//   node is the only broker and its own controller.
// - EndpointType (v1): 1 = brokers; 2 = controllers is for KRaft controller listeners, which a
//   broker does not serve (MISMATCHED_ENDPOINT_TYPE); anything else is UNSUPPORTED_ENDPOINT_TYPE.
// - IncludeClusterAuthorizedOperations: there is no authorizer, so every cluster operation is allowed.
// v0: flexible. v1: EndpointType.
import { ApiKey } from '../../protocol/generated/apis.js';
import type {
  DescribeClusterRequest,
  DescribeClusterResponse,
} from '../../protocol/generated/describe-cluster.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';

const BROKER_ENDPOINTS = 1;
const CONTROLLER_ENDPOINTS = 2;
const NO_OPERATIONS = -2147483648;
/** AclOperation codes a cluster resource supports: CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
 *  DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. */
const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

export const describeClusterHandler = defineHandler<
  DescribeClusterRequest,
  DeepPartial<DescribeClusterResponse>
>({
  apiKey: ApiKey.DescribeCluster,
  versions: [0, 1],
  handle(ctx, req) {
    const { cluster, metadata } = ctx.services;
    const endpointType = ctx.header.apiVersion >= 1 ? req.endpointType : BROKER_ENDPOINTS;
    const base = {
      throttleTimeMs: 0,
      endpointType,
      clusterId: metadata.clusterId,
      controllerId: cluster.controllerId(),
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
        ? CLUSTER_OPERATIONS
        : NO_OPERATIONS,
    };
    if (endpointType !== BROKER_ENDPOINTS) {
      const controllers = endpointType === CONTROLLER_ENDPOINTS;
      return {
        ...base,
        errorCode: controllers ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: controllers
          ? 'The request was sent to a broker endpoint, but controller endpoints were requested.'
          : `Unsupported endpoint type ${endpointType}.`,
        controllerId: -1,
        brokers: [],
      };
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      brokers: cluster
        .liveBrokers()
        .map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    };
  },
});
