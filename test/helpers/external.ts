// Outside programs the interop tests drive (kcat, kafka-python, librdkafka, Go/sarama, ZooKeeper), and one rule
// for when they are missing: SKIP loudly on a developer's machine, FAIL under BROOK_TEST_STRICT=1 (CI), so a
// missing install step in .ci/run can never turn into a silently green run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** Debian's python (sees python3-kafka & co. in dist-packages); the `python3` on PATH may be a pyenv shim. */
export const PYTHON = '/usr/bin/python3';

/** Where Debian's golang-github-shopify-sarama-dev puts sarama's source (GOPATH mode). */
export const SARAMA_GOPATH = '/usr/share/gocode';

/** True when BROOK_TEST_STRICT=1: a missing outside program fails the test instead of skipping it. */
export const STRICT = process.env.BROOK_TEST_STRICT === '1';

/**
 * Checks that an outside program is usable. Missing: fails the test under BROOK_TEST_STRICT=1, otherwise skips it
 * and prints `SKIP: ...` to stderr. Returns whether it is available; callers must `return` when it is false,
 * because `t.skip()` does not stop the test function.
 */
export async function requireTool(
  t: TestContext,
  name: string,
  check: () => boolean | Promise<boolean>,
  reason: string,
): Promise<boolean> {
  let ok: boolean;
  try {
    ok = await check();
  } catch {
    ok = false;
  }
  if (ok) return true;
  const message = `${name} is not available: ${reason}`;
  if (STRICT) assert.fail(`BROOK_TEST_STRICT=1 and ${message}`);
  process.stderr.write(
    `SKIP: ${message} (test "${t.name}" skipped; BROOK_TEST_STRICT=1 makes this a failure)\n`,
  );
  t.skip(`SKIP: ${message}`);
  return false;
}

const cache = new Map<string, boolean>();

// Runs a probe command once per process and remembers whether it exited 0.
function probe(key: string, cmd: string, args: string[]): boolean {
  const known = cache.get(key);
  if (known !== undefined) return known;
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  const ok = r.status === 0;
  cache.set(key, ok);
  return ok;
}

/** kcat (Debian package `kcat`) is on PATH and runs. */
export function hasKcat(): boolean {
  return probe('kcat', 'kcat', ['-V']);
}

/** kafka-python (Debian `python3-kafka`) imports under /usr/bin/python3. */
export function hasPythonKafka(): boolean {
  return probe('kafka-python', PYTHON, ['-c', 'import kafka']);
}

/** kafka-python can use every codec: snappy, lz4, zstd (Debian python3-snappy, python3-lz4, python3-zstandard). */
export function hasPythonKafkaCodecs(): boolean {
  return probe('kafka-python-codecs', PYTHON, [
    '-c',
    'import kafka.codec as c, sys; sys.exit(0 if c.has_snappy() and c.has_lz4() and c.has_zstd() else 1)',
  ]);
}

/** confluent-kafka-python (Debian `python3-confluent-kafka`, system librdkafka) imports under /usr/bin/python3. */
export function hasConfluentKafkaPython(): boolean {
  return probe('confluent-kafka', PYTHON, ['-c', 'import confluent_kafka']);
}

/** The Go toolchain (Debian `golang-go`) is on PATH. */
export function hasGo(): boolean {
  return probe('go', 'go', ['version']);
}

/** sarama's source from Debian `golang-github-shopify-sarama-dev` is installed (build with GOPATH mode). */
export function hasSarama(): boolean {
  return existsSync(`${SARAMA_GOPATH}/src/github.com/Shopify/sarama/sarama.go`);
}

/** ZooKeeper (Debian `zookeeper`) and a Java runtime to run it are installed. */
export function hasZooKeeper(): boolean {
  return existsSync('/usr/share/zookeeper/bin/zkServer.sh') && probe('java', 'java', ['-version']);
}
