// One request, one response over a plain socket, with Brook's generated codec: for the admin APIs
// that no installed client sends (IncrementalAlterConfigs, OffsetForLeaderEpoch, DescribeCluster)
// and for checking exact versions of the others.
import { Socket } from 'node:net';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.js';

let nextCorrelationId = 1;

/** Sends `body` as `apiKey` v`apiVersion` to 'host:port' and decodes the answer. */
export async function rawRequest<T>(
  bootstrapServers: string,
  apiKey: number,
  apiVersion: number,
  body: object,
  timeoutMs = 10_000,
): Promise<T> {
  const [host, port] = splitHostPort(bootstrapServers);
  const correlationId = nextCorrelationId++;
  const request = encodeRequest({ apiKey, apiVersion, correlationId, clientId: 'brook-admin-test' }, body);
  const frame = await new Promise<Buffer>((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to api key ${apiKey} v${apiVersion} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`connection closed before the answer to api key ${apiKey} v${apiVersion}`));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        clearTimeout(timer);
        const size = received.readInt32BE(0);
        socket.removeAllListeners('close');
        socket.destroy();
        resolve(received.subarray(4, 4 + size));
      }
    });
    socket.connect(port, host, () => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(request.length);
      socket.write(Buffer.concat([size, request]));
    });
  });
  const { correlationId: got, body: decoded } = decodeResponse<T>(apiKey, apiVersion, frame);
  if (got !== correlationId) throw new Error(`correlation id ${got}, expected ${correlationId}`);
  return decoded;
}

function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[|\]$/g, ''), Number(hostPort.slice(i + 1))];
}
