import { open, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface EditLockTiming {
  /** How long to wait for another edit to finish. */
  waitMs: number;
  /** A lock this old was left by an edit that died: taken over. An edit takes milliseconds. */
  staleMs: number;
  retryMs: number;
}

export const DEFAULT_EDIT_LOCK_TIMING: EditLockTiming = { waitMs: 10_000, staleMs: 30_000, retryMs: 20 };

/**
 * Runs `edit` (a read, change and write of `path`) while holding `<path>.lock`, created exclusively, so that
 * two edits at once (a pipeline adding watches side by side) each see the other's result instead of one
 * overwriting the other. Errors creating the lock (a read-only folder) are thrown as they are.
 */
export async function withEditLock<T>(path: string, edit: () => Promise<T>, signal: AbortSignal, timing = DEFAULT_EDIT_LOCK_TIMING): Promise<T> {
  const lock = `${path}.lock`;
  const until = Date.now() + timing.waitMs;
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > timing.staleMs) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() >= until) {
      throw new Error(`another add or remove has held ${lock} for ${timing.waitMs / 1000} s; if none is running, remove that file`);
    }
    await sleep(timing.retryMs, undefined, { signal });
  }
  try {
    return await edit();
  } finally {
    await rm(lock, { force: true });
  }
}
