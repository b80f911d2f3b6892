// Loads @confluentinc/kafka-javascript (librdkafka 2.15.1; needs a native build, client-compat.md C1) without a
// compile-time dependency: the package is not in package.json. CKJS_MODULE may point at another install (e.g.
// a scratch dir: CKJS_MODULE=/tmp/cfk-try/node_modules/@confluentinc/kafka-javascript). Only the small part of
// its KafkaJS-compatible API that the group tests use is typed here.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/broker.js';

export interface CfkRecordMetadata {
  topicName: string;
  partition: number;
  baseOffset?: string | null;
  errorCode: number;
}
export interface CfkProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(r: {
    topic: string;
    messages: { partition?: number; key?: string; value: string }[];
  }): Promise<CfkRecordMetadata[]>;
}
export interface CfkEachMessage {
  topic: string;
  partition: number;
  message: { offset: string; value: Buffer | null };
}
export interface CfkConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(r: { eachMessage: (p: CfkEachMessage) => Promise<void> }): Promise<void>;
  assignment(): { topic: string; partition: number }[];
}
export interface CfkAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  createTopics(o: { topics: { topic: string; numPartitions: number }[] }): Promise<boolean>;
}
export interface CfkKafka {
  admin(config?: Record<string, unknown>): CfkAdmin;
  producer(config: Record<string, unknown>): CfkProducer;
  consumer(config: Record<string, unknown>): CfkConsumer;
}
export interface CfkModule {
  librdkafkaVersion: string;
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => CfkKafka };
}

/** The loaded module, or throws with the reason it cannot be loaded. */
export function loadCfk(): CfkModule {
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  return require(process.env.CKJS_MODULE || '@confluentinc/kafka-javascript') as CfkModule;
}
