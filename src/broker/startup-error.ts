/**
 * A broker cannot start for a reason its user can fix (the data directory is in use, it belongs to
 * another cluster). The message is one sentence; `brook broker start` prints it and exits 1.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
