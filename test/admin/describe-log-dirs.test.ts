// DescribeLogDirs (key 35) against a real broker: every version over the raw protocol (sizes checked
// against the segment files on disk, disk space against df), the topic/partition filter, an offline
// directory (renamed away under the running broker) answered with KAFKA_STORAGE_ERROR, and
// @platformatic/kafka's Admin.describeLogDirs (v4) as a real client sends it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { Admin, Producer } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import type { DescribeLogDirsResponse } from '../../src/protocol/generated/describe-log-dirs.js';
import { startTestBroker, uniqueTopic, type TestBroker } from '../helpers/broker.js';
import { rawRequest } from './raw-client.js';

/** Bytes of the partition's .log segment files, as the file system has them. */
function segmentBytes(dataDir: string, topic: string, partition: number): number {
  const dir = join(dataDir, `${topic}-${partition}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

/** df's view of the file system holding `dir`: total and available bytes. */
function df(dir: string): { total: bigint; avail: bigint } {
  const out = execFileSync('df', ['-B1', '--output=size,avail', dir], { encoding: 'utf8' });
  const [total, avail] = out.trim().split('\n').at(-1)!.trim().split(/\s+/);
  return { total: BigInt(total!), avail: BigInt(avail!) };
}

const describeDirs = (
  b: TestBroker,
  version: number,
  topics: { topic: string; partitions: number[] }[] | null,
) => rawRequest<DescribeLogDirsResponse>(b.bootstrapServers, ApiKey.DescribeLogDirs, version, { topics });

describe('DescribeLogDirs', () => {
  let b: TestBroker;
  const topic = uniqueTopic('logdirs');
  const counts = [5, 0, 40]; // records per partition: sizes differ, partition 1 stays empty

  before(async () => {
    b = await startTestBroker();
    const admin = await Admin.connect(b.bootstrapServers);
    await admin.createTopics([{ name: topic, partitions: 3 }]);
    await admin.close();
    const producer = await Producer.connect(b.bootstrapServers);
    for (const [partition, n] of counts.entries()) {
      for (let i = 0; i < n; i++) {
        await producer.send({ topic, messages: [{ partition, value: `record ${i} `.repeat(20) }] });
      }
    }
    await producer.close();
  });
  after(async () => {
    await b?.stop();
  });

  test('every version lists the log dir and each partition with its size on disk and no lag', async () => {
    for (let version = 0; version <= 4; version++) {
      const r = await describeDirs(b, version, null);
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.results.length, 1, `v${version}: one log dir`);
      const dir = r.results[0]!;
      assert.equal(dir.errorCode, ErrorCode.NONE);
      assert.equal(dir.logDir, b.dataDir, `v${version}: the absolute log dir`);
      const t = dir.topics.find((x) => x.name === topic);
      assert.ok(t, `v${version}: the topic is listed`);
      assert.deepEqual(
        t.partitions.map((p) => p.partitionIndex),
        [0, 1, 2],
      );
      for (const p of t.partitions) {
        assert.equal(
          p.partitionSize,
          BigInt(segmentBytes(b.dataDir, topic, p.partitionIndex)),
          `v${version} partition ${p.partitionIndex}: size of its segment files`,
        );
        assert.equal(p.offsetLag, 0n);
        assert.equal(p.isFutureKey, false);
      }
      const [p0, p1, p2] = t.partitions;
      assert.equal(p1!.partitionSize, 0n, 'the empty partition');
      assert.ok(p2!.partitionSize > p0!.partitionSize && p0!.partitionSize > 0n, 'sizes follow the data');
      if (version >= 4) {
        const disk = df(b.dataDir);
        assert.equal(dir.totalBytes, disk.total, 'TotalBytes is the file system size');
        const slack = 256n * 1024n * 1024n; // other processes write to the same disk meanwhile
        assert.ok(
          dir.usableBytes > disk.avail - slack && dir.usableBytes < disk.avail + slack,
          `UsableBytes ${dir.usableBytes} near df's ${disk.avail}`,
        );
      } else {
        assert.equal(dir.totalBytes, -1n, `v${version} has no TotalBytes (default)`);
      }
    }
  });

  test('only the partitions asked for; unknown topics and partitions are left out', async () => {
    const r = await describeDirs(b, 4, [
      { topic, partitions: [2, 7] },
      { topic: 'no-such-topic', partitions: [0] },
    ]);
    const dir = r.results[0]!;
    assert.deepEqual(
      dir.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
      [[topic, [2]]],
    );
    const none = await describeDirs(b, 1, []);
    assert.deepEqual(none.results[0]!.topics, []);
    assert.equal(none.results[0]!.errorCode, ErrorCode.NONE);
  });

  test('@platformatic/kafka Admin.describeLogDirs', async () => {
    const admin = new PlatformaticAdmin({
      clientId: 'brook-logdirs',
      bootstrapBrokers: [b.bootstrapServers],
      timeout: 15_000,
      retries: 1,
    });
    try {
      const brokers = await admin.describeLogDirs({ topics: [{ name: topic, partitions: [0, 1, 2] }] });
      assert.equal(brokers.length, 1);
      assert.equal(brokers[0]!.broker, b.broker.config.nodeId);
      const [dir] = brokers[0]!.results;
      assert.equal(dir!.logDir, b.dataDir);
      assert.ok(dir!.totalBytes > 0n && dir!.usableBytes > 0n && dir!.usableBytes <= dir!.totalBytes);
      const sizes = dir!.topics
        .find((t) => t.name === topic)!
        .partitions.map((p) => [p.partitionIndex, Number(p.partitionSize)]);
      assert.deepEqual(
        sizes,
        [0, 1, 2].map((p) => [p, segmentBytes(b.dataDir, topic, p)]),
      );
    } finally {
      await admin.close();
    }
  });

  test('a log dir that is gone is offline: KAFKA_STORAGE_ERROR, and the broker keeps answering', async () => {
    const moved = `${b.dataDir}.moved`;
    renameSync(b.dataDir, moved);
    try {
      for (const version of [0, 4]) {
        const r = await describeDirs(b, version, null);
        assert.equal(r.results.length, 1);
        assert.equal(r.results[0]!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
        assert.equal(r.results[0]!.logDir, b.dataDir);
        assert.deepEqual(r.results[0]!.topics, []);
      }
    } finally {
      renameSync(moved, b.dataDir);
    }
    const back = await describeDirs(b, 4, null);
    assert.equal(back.results[0]!.errorCode, ErrorCode.NONE);
  });
});
