// DeleteTopics (key 20), versions 0-6.
// - Deletes topics by name (v0-5: TopicNames; v6: Topics with a name or an ID) and removes their
//   partition directories from disk.
// - Errors per topic: UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID (v6), TOPIC_DELETION_DISABLED
//   (delete.topic.enable=false), INVALID_TOPIC_EXCEPTION for internal topics (__consumer_offsets):
//   every commit depends on them. Kafka guards them with ACLs and its tools refuse; Brook has no ACLs.
// v1: throttle. v4: flexible. v5: error messages. v6: topic ids.
import { ApiKey } from '../../protocol/generated/apis.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../protocol/generated/delete-topics.js';
import type { DeepPartial } from '../../protocol/schema.js';
import { ZERO_UUID } from '../../protocol/wire.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler.js';
import { INTERNAL_TOPICS, TopicError } from '../topic-manager.js';

export const deleteTopicsHandler = defineHandler<DeleteTopicsRequest, DeepPartial<DeleteTopicsResponse>>({
  apiKey: ApiKey.DeleteTopics,
  versions: [0, 6],
  async handle(ctx, req) {
    const { topics, logger } = ctx.services;
    const wanted =
      ctx.header.apiVersion >= 6
        ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
        : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const responses = await Promise.all(
      wanted.map(async (w) => {
        const meta =
          w.name !== null
            ? topics.get(w.name)
            : w.topicId !== ZERO_UUID
              ? topics.getById(w.topicId)
              : undefined;
        if (!meta) {
          const code = w.name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          return {
            name: w.name,
            topicId: w.topicId,
            errorCode: code,
            errorMessage: 'This server does not host this topic.',
          };
        }
        if (INTERNAL_TOPICS.has(meta.name)) {
          return {
            name: meta.name,
            topicId: meta.topicId,
            errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
            errorMessage: `Topic ${meta.name} is a kafka internal topic and is not allowed to be deleted.`,
          };
        }
        try {
          await topics.delete(meta.name);
          return { name: meta.name, topicId: meta.topicId, errorCode: ErrorCode.NONE, errorMessage: null };
        } catch (err) {
          const code = err instanceof TopicError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
          if (code === ErrorCode.UNKNOWN_SERVER_ERROR)
            logger.error('DeleteTopics failed', { err: (err as Error).stack });
          return {
            name: meta.name,
            topicId: meta.topicId,
            errorCode: code,
            errorMessage: (err as Error).message,
          };
        }
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
