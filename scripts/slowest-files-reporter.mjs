// A node:test reporter that prints, at the end of the run, the test files that took longest, so the CI
// budget can be watched. Files run one after another (--test-concurrency=1) and their events arrive as they
// happen, so the wall time between two events is charged to the file of the later one: that includes a file's
// start-up (tsx compiling it, brokers starting), which its tests' own durations leave out.
// Used by scripts/run-tests.mjs next to the spec reporter.
export default async function* slowestFiles(source) {
  const perFile = new Map();
  const started = Date.now();
  let last = started;
  for await (const event of source) {
    const now = Date.now();
    const file = event.data?.file;
    if (file !== undefined) {
      perFile.set(file, (perFile.get(file) ?? 0) + (now - last));
      last = now;
    }
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]);
  yield `\nslowest test files (of ${((Date.now() - started) / 1000).toFixed(0)} s):\n`;
  for (const [file, ms] of rows.slice(0, Number(process.env.BROOK_SLOWEST_FILES ?? 30))) {
    const rel = file.includes('/test/') ? file.slice(file.lastIndexOf('/test/') + 1) : file;
    yield `${(ms / 1000).toFixed(1).padStart(8)} s  ${rel}\n`;
  }
}
