// Topic creation at scale: single-partition topics created in batched CreateTopics requests (as
// kafka-topics and admin clients batch them), against a broker child process, with the broker's RSS
// and open file descriptors read from /proc after each step. Shows whether creating a topic costs
// O(1) or O(cluster), and whether open files stay bounded by log.open.files.max.
import { readFileSync, readdirSync } from 'node:fs';
import { Admin } from '../src/index.js';

export interface TopicsStep {
  /** Topics created in this step. */
  created: number;
  /** Topics existing after this step. */
  total: number;
  requests: number;
  seconds: number;
  rssMb: number;
  fds: number;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The process's soft open-file limit (what log.open.files.max=0 halves). */
export function fdLimit(pid: number): number {
  const m = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/**
 * Creates topics until `totals` are reached in turn (e.g. [1000, 10000]), `perRequest` topics per
 * CreateTopics request, one request at a time; every request must succeed for every topic.
 */
export async function benchTopics(
  bootstrap: string,
  pid: number,
  totals: readonly number[],
  perRequest: number,
  log: (s: string) => void,
): Promise<TopicsStep[]> {
  const admin = await Admin.connect(bootstrap);
  const steps: TopicsStep[] = [];
  try {
    let total = 0;
    for (const target of totals) {
      const t0 = process.hrtime.bigint();
      let requests = 0;
      const from = total;
      while (total < target) {
        const n = Math.min(perRequest, target - total);
        const batch = [];
        for (let i = 0; i < n; i++) batch.push({ name: `bench-t${total + i}`, partitions: 1 });
        await admin.createTopics(batch, 600_000);
        total += n;
        requests++;
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const step = { created: total - from, total, requests, seconds, rssMb: rssMb(pid), fds: openFds(pid) };
      log(
        `topics: ${step.created} created in ${seconds.toFixed(2)} s (${requests} requests), ${total} in all; RSS ${step.rssMb.toFixed(0)} MiB, ${step.fds} open fds`,
      );
      steps.push(step);
    }
  } finally {
    await admin.close();
  }
  return steps;
}
