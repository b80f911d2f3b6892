// What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: the resource types, which
// broker resource names mean "this broker", and how a new set of topic overrides or dynamic broker
// values is validated and applied. Errors come out as AdminError with Kafka's code and a message
// that names the key and what is allowed (ConfigError's text, as the CLI prints it).
import { ConfigError } from '../config/config-error.js';
import { validateTopicConfigs } from '../config/topic-config.js';
import { ErrorCode } from '../protocol/errors.js';
import type { BrokerServices } from './services.js';
import { TopicError, invalidTopicNameReason } from './topic-manager.js';

/** Kafka's ConfigResource.Type. */
export const ResourceType = {
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
} as const;

export class AdminError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The code and message for an error thrown while handling one resource. */
export function adminErrorOf(
  services: BrokerServices,
  err: unknown,
  what: string,
): { code: number; message: string } {
  if (err instanceof AdminError || err instanceof TopicError) return { code: err.code, message: err.message };
  if (err instanceof ConfigError) {
    return { code: ErrorCode.INVALID_CONFIG, message: err.message };
  }
  services.logger.error(`${what} failed`, { err: (err as Error).stack });
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: (err as Error).message };
}

/**
 * A broker resource names this broker by its node id (its own dynamic values), or is "" for the
 * cluster-wide defaults; returns whether it was "".
 */
export function checkBrokerResource(services: BrokerServices, name: string): { clusterDefault: boolean } {
  if (name === '') return { clusterDefault: true };
  if (!/^-?\d+$/.test(name)) {
    throw new AdminError(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${name}`);
  }
  const nodeId = services.settings.nodeId;
  if (Number(name) !== nodeId) {
    throw new AdminError(
      ErrorCode.INVALID_REQUEST,
      `Unexpected broker id, expected ${nodeId} or empty string, but received ${name}`,
    );
  }
  return { clusterDefault: false };
}

/** The topic's current overrides; UNKNOWN_TOPIC_OR_PARTITION (or INVALID_TOPIC_EXCEPTION) otherwise. */
export function topicOverrides(services: BrokerServices, name: string): Readonly<Record<string, string>> {
  const reason = invalidTopicNameReason(name);
  if (reason !== null) throw new AdminError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason);
  const topic = services.topics.get(name);
  if (!topic) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
  return topic.configs;
}

/**
 * Replaces a topic's whole override set (keys left out revert to the broker default) after
 * checking every key and value, and the log settings they resolve to.
 */
export async function replaceTopicConfigs(
  services: BrokerServices,
  name: string,
  overrides: Record<string, string>,
  validateOnly: boolean,
): Promise<void> {
  const topic = services.topics.get(name);
  if (!topic) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
  validateTopicConfigs(overrides);
  services.topics.logConfigFor({ ...topic, configs: overrides });
  if (!validateOnly) await services.topics.setConfigs(name, overrides);
}

let adminChain: Promise<unknown> = Promise.resolve();

/**
 * Runs config alterations one at a time. Each reads a resource's current configs, computes the new set
 * (IncrementalAlterConfigs APPEND/SUBTRACT) and writes it back across awaits, so two interleaved would
 * lose one change. (TopicManager serializes its own writes; this covers the read before them.)
 */
export function runExclusive<T>(work: () => Promise<T>): Promise<T> {
  const result = adminChain.then(work);
  adminChain = result.catch(() => undefined);
  return result;
}

/** One resource's entry in an AlterConfigs or IncrementalAlterConfigs response. */
export interface AlterResourceResult {
  resourceType: number;
  resourceName: string;
  errorCode: number;
  errorMessage: string | null;
}

/**
 * The resource loop AlterConfigs and IncrementalAlterConfigs share: alters each resource with `alter`, one
 * after the other so that two resources of one request apply in request order, each under runExclusive, and
 * answers one error code per resource. The same resource twice is INVALID_REQUEST "Duplicate resource.".
 */
export async function alterEachResource<R extends { resourceType: number; resourceName: string }>(
  services: BrokerServices,
  apiName: string,
  resources: readonly R[],
  alter: (r: R) => Promise<void>,
): Promise<AlterResourceResult[]> {
  const duplicates = duplicateResources(resources);
  const responses: AlterResourceResult[] = [];
  for (const r of resources) {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    try {
      if (duplicates.has(resourceKey(r)))
        throw new AdminError(ErrorCode.INVALID_REQUEST, 'Duplicate resource.');
      await runExclusive(() => alter(r));
      responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (err) {
      const { code, message } = adminErrorOf(services, err, apiName);
      responses.push({ ...base, errorCode: code, errorMessage: message });
    }
  }
  return responses;
}

/** The keys of the resources that stand more than once in one alter request. */
function duplicateResources(
  resources: readonly { resourceType: number; resourceName: string }[],
): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const r of resources) {
    const k = resourceKey(r);
    if (seen.has(k)) dup.add(k);
    seen.add(k);
  }
  return dup;
}

function resourceKey(r: { resourceType: number; resourceName: string }): string {
  return `${r.resourceType}:${r.resourceName}`;
}
