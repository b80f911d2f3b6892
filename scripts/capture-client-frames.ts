// Captures the request frames real Kafka clients send, as test fixtures for the codec
// (test/protocol/captured-frames.test.ts decodes each and re-encodes it byte for byte).
//
// Starts a broker, puts a recording TCP proxy in front of it, runs kcat (librdkafka), kafka-python
// and kafkajs flows through the proxy, and writes test/protocol/fixtures/<client>.json:
// [{ apiKey, apiVersion, hex }] with one entry per distinct (apiKey, apiVersion).
// Run by hand when a client changes: `node --import tsx scripts/capture-client-frames.ts`.
import { createServer, connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Broker } from '../src/broker/broker.js';

interface Captured {
  apiKey: number;
  apiVersion: number;
  hex: string;
}

/**
 * A recording proxy. The broker advertises the proxy's port, so clients reconnect through it
 * after bootstrap too; `record()` collects what one client flow sends.
 */
class RecordingProxy {
  private frames = new Map<string, Captured>();
  private readonly sockets: Socket[] = [];
  target = 0;
  readonly server = createServer((client) => this.onClient(client));

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as { port: number }).port;
  }

  async record(run: () => Promise<void>): Promise<Captured[]> {
    this.frames = new Map();
    await run();
    for (const s of this.sockets.splice(0)) s.destroy();
    return [...this.frames.values()].sort((a, b) => a.apiKey - b.apiKey || a.apiVersion - b.apiVersion);
  }

  close(): Promise<unknown> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(r));
  }

  private onClient(client: Socket): void {
    const frames = this.frames;
    const sockets = this.sockets;
    const upstream = connect(this.target, '127.0.0.1');
    sockets.push(client, upstream);
    let pending = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      upstream.write(d);
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0);
        const frame = pending.subarray(4, 4 + size);
        const key = `${frame.readInt16BE(0)}:${frame.readInt16BE(2)}`;
        if (!frames.has(key)) {
          frames.set(key, {
            apiKey: frame.readInt16BE(0),
            apiVersion: frame.readInt16BE(2),
            hex: frame.toString('hex'),
          });
        }
        pending = pending.subarray(4 + size);
      }
    });
    upstream.on('data', (d) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }
}

/** Runs a client program to completion (asynchronously: the proxy lives on this event loop). */
function sh(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} failed (${code}): ${stderr}`));
    });
    child.stdin.end(input ?? '');
  });
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-capture-'));
  const proxy = new RecordingProxy();
  const port = await proxy.listen();
  const broker = await Broker.start({
    port: 0,
    dataDir,
    config: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}` },
  });
  proxy.target = broker.port;
  const out = new URL('../test/protocol/fixtures/', import.meta.url);
  try {
    const kcat = await proxy.record(async () => {
      const b = `127.0.0.1:${port}`;
      await sh('kcat', ['-b', b, '-L']);
      await sh(
        'kcat',
        ['-b', b, '-P', '-t', 'cap-kcat', '-K:', '-H', 'h1=v1', '-z', 'zstd'],
        'k1:v1\nk2:v2\n',
      );
      await sh('kcat', ['-b', b, '-C', '-t', 'cap-kcat', '-o', 'beginning', '-e']);
    });
    writeFileSync(new URL('librdkafka-kcat.json', out), JSON.stringify(kcat, null, 1) + '\n');

    const kp = await proxy.record(async () => {
      await sh('/usr/bin/python3', [
        '-c',
        `
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
b='127.0.0.1:${port}'
a=KafkaAdminClient(bootstrap_servers=b); a.create_topics([NewTopic('cap-kp',2,1)]); a.close()
p=KafkaProducer(bootstrap_servers=b, compression_type='gzip'); p.send('cap-kp', key=b'k', value=b'v', headers=[('h', b'x')]); p.flush(); p.close()
c=KafkaConsumer(bootstrap_servers=b, auto_offset_reset='earliest', consumer_timeout_ms=2000); c.assign([TopicPartition('cap-kp',0),TopicPartition('cap-kp',1)])
list(c); c.close()
`,
      ]);
    });
    writeFileSync(new URL('kafka-python.json', out), JSON.stringify(kp, null, 1) + '\n');

    const kjs = await proxy.record(async () => {
      const { Kafka, logLevel } = await import('kafkajs');
      const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'cap-kjs', numPartitions: 2 }] });
      await admin.fetchTopicOffsets('cap-kjs');
      await admin.disconnect();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({ topic: 'cap-kjs', messages: [{ key: 'k', value: 'v', headers: { h: 'x' } }] });
      await producer.disconnect();
    });
    writeFileSync(new URL('kafkajs.json', out), JSON.stringify(kjs, null, 1) + '\n');
    const plat = await proxy.record(async () => {
      const { Admin, Producer, stringSerializers } = await import('@platformatic/kafka');
      const base = { clientId: 'capture', bootstrapBrokers: [`127.0.0.1:${port}`] };
      const admin = new Admin(base);
      await admin.createTopics({ topics: ['cap-plat'], partitions: 2, replicas: 1 });
      await admin.close();
      const producer = new Producer({ ...base, serializers: stringSerializers });
      await producer.send({
        messages: [{ topic: 'cap-plat', key: 'k', value: 'v', headers: new Map([['h', 'x']]) }],
      });
      await producer.close();
    });
    writeFileSync(new URL('platformatic.json', out), JSON.stringify(plat, null, 1) + '\n');
    console.log(
      `captured ${plat.length} platformatic,  ${kcat.length} kcat, ${kp.length} kafka-python, ${kjs.length} kafkajs request shapes`,
    );
  } finally {
    await proxy.close();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
