// The client's connection: version negotiation, pipelining with ordered response matching, timeouts
// and failures, against the real broker and against small fake brokers that misbehave on purpose.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { KafkaClientError } from '../../src/client/errors.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { encodeResponse, peekHeader } from '../../src/protocol/frames.js';
import { API_SCHEMAS, ApiKey } from '../../src/protocol/generated/apis.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

/** A fake broker: answers ApiVersions with `apis`, and hands every other request frame to `onRequest`. */
async function fakeBroker(
  apis: { apiKey: number; minVersion: number; maxVersion: number }[],
  onRequest: (socket: Socket, frame: Buffer) => void = () => {},
): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const h = peekHeader(frame);
        if (h.apiKey === ApiKey.ApiVersions) {
          reply(
            socket,
            encodeResponse(ApiKey.ApiVersions, h.apiVersion, h.correlationId, {
              errorCode: 0,
              apiKeys: apis,
            }),
          );
        } else onRequest(socket, frame);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function reply(socket: Socket, chunks: Buffer[]): void {
  const body = Buffer.concat(chunks);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  socket.write(Buffer.concat([size, body]));
}

describe('client connection', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker.stop();
  });

  test('negotiates min(our max, broker max) per API', async () => {
    const conn = await Connection.connect('127.0.0.1', broker.port);
    try {
      for (const key of [ApiKey.Produce, ApiKey.Fetch, ApiKey.Metadata, ApiKey.OffsetFetch]) {
        assert.equal(conn.versionOf(key), API_SCHEMAS.get(key)!.request.validVersions[1]);
      }
    } finally {
      conn.close();
    }
    const fake = await fakeBroker([
      { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 },
      { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 11 },
      { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 99 },
    ]);
    const old = await Connection.connect('127.0.0.1', fake.port);
    try {
      assert.equal(old.versionOf(ApiKey.Fetch), 11);
      assert.equal(
        old.versionOf(ApiKey.Metadata),
        API_SCHEMAS.get(ApiKey.Metadata)!.request.validVersions[1],
      );
      assert.equal(old.versionOf(ApiKey.Fetch, 12), -1, 'no common version above the caller minimum');
      assert.equal(old.versionOf(ApiKey.Produce), -1, 'not served');
      await assert.rejects(
        old.send(ApiKey.Produce, { acks: 1, timeoutMs: 1000, topicData: [] }),
        (e: KafkaError) => e instanceof KafkaClientError && e.code === ErrorCode.UNSUPPORTED_VERSION,
      );
    } finally {
      old.close();
      fake.server.close();
    }
  });

  test('pipelines many requests on one socket and matches responses in order', async () => {
    const conn = await Connection.connect('127.0.0.1', broker.port, { maxInFlight: 8 });
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          i % 2 === 0
            ? conn.send(ApiKey.Metadata, { topics: [] }).then((r) => r.brokers.length)
            : conn.send(ApiKey.ListGroups, {}).then((r) => r.errorCode),
        ),
      );
      results.forEach((r, i) => assert.equal(r, i % 2 === 0 ? 1 : 0));
    } finally {
      conn.close();
    }
  });

  test('a request without an answer times out and fails the others on the connection', async () => {
    const fake = await fakeBroker([{ apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12 }]); // never answers Metadata
    const conn = await Connection.connect('127.0.0.1', fake.port, { requestTimeoutMs: 200 });
    try {
      const first = conn.send(ApiKey.Metadata, { topics: [] });
      const second = conn.send(ApiKey.Metadata, { topics: [] });
      await assert.rejects(
        first,
        (e: KafkaError) => e.code === ErrorCode.REQUEST_TIMED_OUT && /Metadata/.test(e.message),
      );
      await assert.rejects(second, (e: KafkaError) => e.code === ErrorCode.NETWORK_EXCEPTION);
      assert.equal(conn.closed, true);
    } finally {
      fake.server.close();
    }
  });

  test('a response with the wrong correlation id closes the connection', async () => {
    const fake = await fakeBroker(
      [{ apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 5 }],
      (socket, frame) => {
        const h = peekHeader(frame);
        reply(
          socket,
          encodeResponse(ApiKey.ListGroups, h.apiVersion, h.correlationId + 1000, {
            errorCode: 0,
            groups: [],
          }),
        );
      },
    );
    const conn = await Connection.connect('127.0.0.1', fake.port);
    try {
      await assert.rejects(
        conn.send(ApiKey.ListGroups, {}),
        (e: KafkaError) => e.code === ErrorCode.NETWORK_EXCEPTION,
      );
      assert.equal(conn.closed, true);
    } finally {
      fake.server.close();
    }
  });

  test('refused connections and closed brokers are NETWORK_EXCEPTION errors naming the address', async () => {
    const fake = await fakeBroker([]);
    const port = fake.port;
    await new Promise((r) => fake.server.close(r));
    await assert.rejects(
      Connection.connect('127.0.0.1', port),
      (e: KafkaError) => e.code === ErrorCode.NETWORK_EXCEPTION && e.message.includes(`127.0.0.1:${port}`),
    );
    const dropper = await fakeBroker([{ apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 5 }], (s) =>
      s.destroy(),
    );
    const conn = await Connection.connect('127.0.0.1', dropper.port);
    try {
      await assert.rejects(
        conn.send(ApiKey.ListGroups, {}),
        (e: KafkaError) => e.code === ErrorCode.NETWORK_EXCEPTION,
      );
    } finally {
      dropper.server.close();
    }
  });
});
