// A test hook for crash safety: with BROOK_CRASH_AT=<point> in its environment, the broker process
// kills itself with SIGKILL on reaching that point, so a test can stop a multi-step change (topic
// creation, topic deletion) between any two of its steps, which a kill -9 at a random moment would
// hit only by luck. Without the variable a crash point costs one comparison.
const CRASH_AT = process.env.BROOK_CRASH_AT;

export function crashPoint(name: string): void {
  if (CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
