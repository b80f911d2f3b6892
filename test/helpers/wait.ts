// Polling for a condition in tests: the one loop the cluster tests and harnesses share.

/**
 * Calls `fn` every `everyMs` until it returns something other than undefined, null or false, and resolves
 * with that; throws, naming `what`, once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
