// NATS JetStream peer: `nats-server -js` with a file-backed stream in a temp dir, driven by a
// minimal NATS protocol client over node:net (the `nats` CLI is not installed). Publishes are
// pipelined JetStream publishes (PUB with a reply inbox, each acked by the stream) with a bounded
// window; consumption is one push consumer (ack none, deliver all, flow control) — the fastest
// JetStream delivery mode. The client's own CPU is measured and reported so it can be judged.
import { connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ProcMonitor, freePort, sleep, startChild, stopChild, waitForOutput } from './procs.js';
import type { Row } from './table.js';

const CRLF = Buffer.from('\r\n');

type MsgHandler = (sid: number, reply: string | undefined, hdrLen: number, payload: Buffer) => void;

class NatsConn {
  private buf: Buffer = Buffer.alloc(0);
  private handlers = new Map<number, MsgHandler>();
  private nextSid = 1;
  private pongWaiters: Array<() => void> = [];
  error: string | undefined;
  closed = false;

  private constructor(readonly sock: Socket) {}

  static async open(port: number): Promise<NatsConn> {
    const sock = connect({ host: '127.0.0.1', port });
    sock.setNoDelay(true);
    const c = new NatsConn(sock);
    sock.on('data', (d: Buffer) => c.onData(d));
    sock.on('close', () => {
      c.closed = true;
    });
    sock.on('error', (e) => {
      c.error = String(e);
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.write(
      'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":"brook-bench"}\r\n',
    );
    await c.flush();
    return c;
  }

  /** PING/PONG round trip: everything written before has been processed by the server. */
  flush(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`nats: no PONG (${this.error ?? 'timeout'})`)), timeoutMs);
      this.pongWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      this.sock.write('PING\r\n');
    });
  }

  subscribe(subject: string, h: MsgHandler): number {
    const sid = this.nextSid++;
    this.handlers.set(sid, h);
    this.sock.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  publish(subject: string, payload: Buffer | string, reply?: string): boolean {
    const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
    return this.sock.write(
      Buffer.concat([Buffer.from(`PUB ${subject}${reply ? ' ' + reply : ''} ${p.length}\r\n`), p, CRLF]),
    );
  }

  async request(subject: string, payload: string, timeoutMs = 10_000): Promise<string> {
    const inbox = `_INBOX.brookbench.${this.nextSid}`;
    return new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`nats: request ${subject} timed out`)), timeoutMs);
      const sid = this.subscribe(inbox, (_s, _r, hdrLen, p) => {
        clearTimeout(t);
        this.handlers.delete(sid);
        this.sock.write(`UNSUB ${sid}\r\n`);
        resolve(p.subarray(hdrLen).toString('utf8') || p.toString('utf8'));
      });
      this.publish(subject, payload, inbox);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    const buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let pos = 0;
    const n = buf.length;
    while (pos < n) {
      const eol = buf.indexOf(CRLF, pos);
      if (eol < 0) break;
      const c0 = buf[pos];
      if (c0 === 0x4d /* M */ || c0 === 0x48 /* H */) {
        // MSG <subject> <sid> [reply] <#bytes>  |  HMSG <subject> <sid> [reply] <#hdr> <#total>
        const isH = c0 === 0x48;
        const line = buf.toString('latin1', pos, eol);
        const parts = line.split(' ');
        const total = Number(parts[parts.length - 1]);
        const hdr = isH ? Number(parts[parts.length - 2]) : 0;
        const nonSize = isH ? parts.length - 2 : parts.length - 1;
        const sid = Number(parts[2]);
        const reply = nonSize === 4 ? parts[3] : undefined;
        const start = eol + 2;
        if (start + total + 2 > n) break; // wait for the rest
        const h = this.handlers.get(sid);
        if (h) h(sid, reply, hdr, buf.subarray(start, start + total));
        pos = start + total + 2;
        continue;
      }
      const line = buf.toString('latin1', pos, eol);
      pos = eol + 2;
      if (line === 'PING') this.sock.write('PONG\r\n');
      else if (line === 'PONG') this.pongWaiters.shift()?.();
      else if (line.startsWith('-ERR')) this.error = line;
      // INFO and +OK are ignored
    }
    this.buf = pos < n ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
  }
}

export async function benchNats(opts: {
  tmpRoot: string;
  sizes: Array<{ size: number; count: number }>;
  timeoutMs: number;
  log: (s: string) => void;
  beforePhase?: () => Promise<void>;
}): Promise<Row[]> {
  const server = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  );
  if (!server)
    return [
      { system: 'NATS JetStream', test: 'skipped', size: 0, note: 'skipped: nats-server not installed' },
    ];
  const version = execFileSync(server, ['--version'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(opts.tmpRoot, 'nats-'));
  const port = await freePort();
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `listen: "127.0.0.1:${port}"\nmax_payload: 8MB\njetstream { store_dir: "${join(dir, 'js')}" }\n`,
  );
  const child = startChild(server, ['-c', conf, '-js']);
  const rows: Row[] = [];
  let nc: NatsConn | undefined;
  try {
    await waitForOutput(child, /Server is ready/, 20_000);
    nc = await NatsConn.open(port);
    const create = await nc.request(
      '$JS.API.STREAM.CREATE.BENCH',
      JSON.stringify({
        name: 'BENCH',
        subjects: ['bench.>'],
        storage: 'file',
        retention: 'limits',
        discard: 'old',
        num_replicas: 1,
      }),
    );
    if (create.includes('"error"')) throw new Error(`nats stream create: ${create}`);
    for (const { size, count } of opts.sizes) {
      const subject = `bench.s${size}`;
      // ---- publish -----------------------------------------------------------------------------
      await opts.beforePhase?.();
      opts.log(`nats: JetStream publish ${count} x ${size} B`);
      const payload = Buffer.alloc(size, 'x');
      const inbox = `_INBOX.brookbench.ack${size}`;
      let acked = 0;
      let ackErrors = 0;
      let firstErr = '';
      nc.subscribe(inbox, (_sid, _reply, hdr, p) => {
        acked++;
        if (hdr > 0 || p.includes('"error"')) {
          ackErrors++;
          if (!firstErr) firstErr = p.toString('utf8').slice(0, 200);
        }
      });
      await nc.flush();
      const frame = Buffer.concat([Buffer.from(`PUB ${subject} ${inbox} ${size}\r\n`), payload, CRLF]);
      const perChunk = 500;
      const chunk = Buffer.concat(Array.from({ length: perChunk }, () => frame));
      const window = 50_000; // max unacked publishes
      const pubMon = new ProcMonitor(child.pid);
      const cpu0 = process.cpuUsage();
      pubMon.start();
      const t0 = performance.now();
      let sent = 0;
      const deadline = t0 + opts.timeoutMs;
      while (acked < count && performance.now() < deadline && !nc.closed) {
        if (sent < count && sent - acked + perChunk <= window) {
          const k = Math.min(perChunk, count - sent);
          const ok = nc.sock.write(k === perChunk ? chunk : chunk.subarray(0, k * frame.length));
          sent += k;
          if (!ok) await new Promise<void>((r) => nc!.sock.once('drain', () => r()));
        } else {
          await new Promise<void>((r) => setImmediate(r));
        }
      }
      const pubS = (performance.now() - t0) / 1000;
      const pu = pubMon.stop();
      const pubClientCpu = cpuPct(cpu0, pubS);
      rows.push({
        system: 'NATS JetStream',
        test: 'publish (file, acked)',
        size,
        msgsPerSec: acked / pubS,
        mbPerSec: (acked * size) / pubS / 1e6,
        cpuPct: pu.cpuPct,
        peakRssMb: pu.peakRssMb,
        note:
          `client (node) CPU ${pubClientCpu.toFixed(0)}%` +
          (acked < count ? `; only ${acked}/${count} acked` : '') +
          (ackErrors ? `; ${ackErrors} ack errors, e.g. ${firstErr}` : '') +
          (nc.error ? `; ${nc.error}` : ''),
      });
      // ---- consume -----------------------------------------------------------------------------
      await opts.beforePhase?.();
      opts.log(`nats: JetStream consume ${acked} x ${size} B`);
      const deliver = `deliver.brookbench.${size}`;
      let got = 0;
      let bytes = 0;
      let fc = 0;
      let done: () => void = () => {};
      const finished = new Promise<void>((r) => (done = r));
      const target = acked;
      const conn = nc;
      conn.subscribe(deliver, (_sid, reply, hdr, p) => {
        if (hdr > 0) {
          // status message: flow control request (must be answered) or idle heartbeat
          if (reply && p.subarray(0, hdr).includes('FlowControl')) {
            conn.sock.write(`PUB ${reply} 0\r\n\r\n`);
            fc++;
          }
          return;
        }
        got++;
        bytes += p.length;
        if (got >= target) done();
      });
      await conn.flush();
      const subMon = new ProcMonitor(child.pid);
      const cpu1 = process.cpuUsage();
      subMon.start();
      const t1 = performance.now();
      const cres = await conn.request(
        '$JS.API.CONSUMER.CREATE.BENCH',
        JSON.stringify({
          stream_name: 'BENCH',
          config: {
            deliver_subject: deliver,
            deliver_policy: 'all',
            ack_policy: 'none',
            replay_policy: 'instant',
            filter_subject: subject,
            flow_control: true,
            idle_heartbeat: 5_000_000_000,
            max_ack_pending: -1,
          },
        }),
      );
      if (cres.includes('"error"')) throw new Error(`nats consumer create: ${cres}`);
      await Promise.race([finished, sleep(opts.timeoutMs)]);
      const subS = (performance.now() - t1) / 1000;
      const su = subMon.stop();
      rows.push({
        system: 'NATS JetStream',
        test: 'consume (push, ack none)',
        size,
        msgsPerSec: got / subS,
        mbPerSec: bytes / subS / 1e6,
        cpuPct: su.cpuPct,
        peakRssMb: su.peakRssMb,
        note:
          `client (node) CPU ${cpuPct(cpu1, subS).toFixed(0)}%, ${fc} flow-control replies` +
          (got < target
            ? `; only ${got}/${target} delivered in ${(opts.timeoutMs / 1000).toFixed(0)}s`
            : '') +
          (conn.error ? `; ${conn.error}` : ''),
      });
    }
    if (rows.length)
      rows[0].note = `${version}, minimal node:net NATS client (1 connection); ${rows[0].note ?? ''}`;
  } finally {
    nc?.close();
    await stopChild(child, 5000);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function cpuPct(start: NodeJS.CpuUsage, wallS: number): number {
  const d = process.cpuUsage(start);
  return ((d.user + d.system) / 1e6 / wallS) * 100;
}
