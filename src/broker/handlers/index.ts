// The registration table: every API this broker serves, one handler file per API key.
import type { ApiHandler } from '../handler.js';
import { apiVersionsHandler } from './api-versions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { fetchHandler } from './fetch.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { produceHandler } from './produce.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry checks its own types
export const HANDLERS: readonly ApiHandler<any, any>[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  initProducerIdHandler,
];
