// Brook's public API: the embeddable broker, the protocol codec and the storage engine.
export { Broker, type BrokerOptions } from './broker/broker.js';
export { ErrorCode } from './protocol/errors.js';
export { createLogger, type Logger, type LogLevel } from './logger.js';
export { Admin, Consumer, KafkaClientError, Producer } from './client/index.js';
