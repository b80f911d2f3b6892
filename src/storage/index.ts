// Public surface of the storage layer (Kafka names: UnifiedLog, LogSegment, OffsetIndex, TimeIndex,
// ProducerStateManager, LogManager).
export * from './errors.js';
export * from './log-config.js';
export * from './log-manager.js';
export * from './log-cleaner.js';
export * from './unified-log.js';
export * from './log-segment.js';
export * from './offset-index.js';
export * from './time-index.js';
export * from './producer-state-manager.js';
export * from './leader-epoch-cache.js';
export * from './group-commit.js';
export { loadLog, silentLogger, type StorageLogger, type LoadedLog } from './log-loader.js';
export { validateRecords, checkBatch, type RecordsSummary } from './record-batches.js';
