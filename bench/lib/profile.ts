// Summarizes a V8 .cpuprofile (from `node --cpu-prof`) by self time per function and per file.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: Array<{ name: string; where: string; selfMs: number; pct: number }>;
  byFile: Array<{ file: string; selfMs: number; pct: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native/vm)';
  const u = url.replace(/^file:\/\//, '');
  const i = u.lastIndexOf('/src/');
  if (i >= 0) return u.slice(i + 1);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm);
  return u;
}

export function summarizeProfile(path: string, top = 25): ProfileSummary {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of prof.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  if (prof.samples && prof.timeDeltas) {
    // attribute each interval to the sample that ends it
    for (let i = 0; i < prof.samples.length; i++) {
      const dt = prof.timeDeltas[i + 1] ?? 0;
      selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + Math.max(0, dt));
    }
  } else {
    const per =
      (prof.endTime - prof.startTime) /
      Math.max(
        1,
        prof.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0),
      );
    for (const n of prof.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * per);
  }
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const file = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const where = `${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    const key = `${name}@${where}`;
    const e = fn.get(key) ?? { name, where, us: 0 };
    e.us += us;
    fn.set(key, e);
    const f = shortUrl(n.callFrame.url);
    file.set(f, (file.get(f) ?? 0) + us);
  }
  void idle;
  const byFunction = [...fn.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, pct: (e.us / total) * 100 }));
  const byFile = [...file.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([f, us]) => ({ file: f, selfMs: us / 1000, pct: (us / total) * 100 }));
  return { totalMs: total / 1000, byFunction, byFile };
}

export function renderProfile(s: ProfileSummary, title: string): string {
  const out = [
    `### ${title}`,
    '',
    `busy (non-idle) CPU samples: ${(s.totalMs / 1000).toFixed(1)} s`,
    '',
    '| self % | self ms | function | location |',
    '|---:|---:|---|---|',
  ];
  for (const f of s.byFunction)
    out.push(`| ${f.pct.toFixed(1)} | ${f.selfMs.toFixed(0)} | ${f.name} | ${f.where} |`);
  out.push('', '| self % | self ms | file |', '|---:|---:|---|');
  for (const f of s.byFile) out.push(`| ${f.pct.toFixed(1)} | ${f.selfMs.toFixed(0)} | ${f.file} |`);
  return out.join('\n');
}
