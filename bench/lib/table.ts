// Result rows, percentiles and the one summary table.

export interface Row {
  system: string;
  test: string;
  size: number;
  msgsPerSec?: number;
  mbPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  cpuPct?: number;
  peakRssMb?: number;
  /** Footnote text (timeouts, errors, client CPU, skipped reason). */
  note?: string;
}

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function fmtInt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

function fmtNum(n: number | undefined, digits: number): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n.toFixed(digits);
}

function fmtSize(n: number): string {
  if (n === 0) return '-';
  return n >= 1024 && n % 1024 === 0 ? `${n / 1024} KB` : `${n} B`;
}

const HEAD = [
  'system',
  'test',
  'msg size',
  'msgs/s',
  'MB/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'broker CPU %',
  'peak RSS MB',
];

function cells(r: Row, noteIdx: number | undefined): string[] {
  return [
    r.system,
    r.test + (noteIdx !== undefined ? ` [${noteIdx}]` : ''),
    fmtSize(r.size),
    fmtInt(r.msgsPerSec),
    fmtNum(r.mbPerSec, 1),
    fmtNum(r.p50Ms, 2),
    fmtNum(r.p99Ms, 2),
    fmtNum(r.p999Ms, 2),
    fmtNum(r.cpuPct, 0),
    fmtNum(r.peakRssMb, 0),
  ];
}

/** Markdown table + numbered notes. */
export function renderTable(rows: Row[]): string {
  const notes: string[] = [];
  const body = rows.map((r) => {
    let idx: number | undefined;
    if (r.note) {
      notes.push(r.note);
      idx = notes.length;
    }
    return cells(r, idx);
  });
  const all = [HEAD, ...body];
  const widths = HEAD.map((_, i) => Math.max(...all.map((c) => c[i].length)));
  const numeric = (i: number): boolean => i >= 3;
  const line = (c: string[]): string =>
    '| ' + c.map((v, i) => (numeric(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ') + ' |';
  const sep =
    '|' + widths.map((w, i) => (numeric(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const out = [line(HEAD), sep, ...body.map(line)];
  if (notes.length) {
    out.push('');
    notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
  }
  return out.join('\n');
}
