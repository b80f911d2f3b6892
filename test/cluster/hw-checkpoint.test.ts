// replication-offset-checkpoint: Kafka's text format round-trips; a damaged file is ignored, never fatal.
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HighWatermarkCheckpoint, REPLICATION_OFFSET_CHECKPOINT } from '../../src/cluster/hw-checkpoint.js';
import { makeTempDir, removeDir } from '../helpers/broker.js';

describe('replication-offset-checkpoint', () => {
  it("writes Kafka's format and reads it back", async () => {
    const dir = makeTempDir('brook-hwcp-');
    try {
      const cp = new HighWatermarkCheckpoint(dir);
      await cp.write([
        { topic: 'a', partition: 0, offset: 5 },
        { topic: 'a.b-c', partition: 12, offset: 0 },
      ]);
      assert.equal(
        await readFile(join(dir, REPLICATION_OFFSET_CHECKPOINT), 'utf8'),
        '0\n2\na 0 5\na.b-c 12 0\n',
      );
      const read = await HighWatermarkCheckpoint.read(dir);
      assert.equal(read.get('a')?.get(0), 5);
      assert.equal(read.get('a.b-c')?.get(12), 0);
    } finally {
      removeDir(dir);
    }
  });

  it('a missing, foreign or damaged file reads as empty', async () => {
    const dir = makeTempDir('brook-hwcp-');
    try {
      assert.equal((await HighWatermarkCheckpoint.read(dir)).size, 0);
      for (const text of [
        '',
        '1\n1\na 0 5\n',
        '0\n2\na 0 5\n',
        '0\nx\n',
        '0\n1\na 0 -5\n',
        '\u0000\u0001garbage',
      ]) {
        await writeFile(join(dir, REPLICATION_OFFSET_CHECKPOINT), text);
        assert.equal((await HighWatermarkCheckpoint.read(dir)).size, 0, JSON.stringify(text));
      }
    } finally {
      removeDir(dir);
    }
  });
});
