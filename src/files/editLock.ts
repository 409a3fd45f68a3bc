import { randomUUID } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWhole } from './createWhole.ts';
import { removeStaleLock } from './staleLock.ts';

export interface EditLockTiming {
  /** How long to wait for another edit to finish. */
  waitMs: number;
  /** A lock this old was left by an edit that died (an edit takes milliseconds): taken over. */
  staleMs: number;
  retryMs: number;
}

const DEFAULT_EDIT_LOCK_TIMING: EditLockTiming = { waitMs: 15_000, staleMs: 10_000, retryMs: 20 };

/**
 * Runs `edit` (a read, change and write of `path`) while holding `<path>.lock`, created exclusively, so that
 * two edits at once (a pipeline adding watches side by side) each see the other's result instead of one
 * overwriting the other. The lock holds a token of this edit's own, and only that token's holder removes
 * it. Errors creating the lock (a read-only folder) are thrown as they are.
 */
export async function withEditLock<T>(path: string, edit: () => Promise<T>, signal: AbortSignal, timing = DEFAULT_EDIT_LOCK_TIMING): Promise<T> {
  const lock = `${path}.lock`;
  const token = `${process.pid} ${randomUUID()}\n`;
  const until = Date.now() + timing.waitMs;
  let held: { seen: string | null; mtimeMs: number; since: number } | undefined;
  while (!(await createWhole(lock, token, 0o600))) {
    const seen = await readFile(lock, 'utf8').catch(() => null);
    const mtimeMs = await stat(lock).then((s) => s.mtimeMs, () => Date.now());
    if (held?.seen !== seen || held.mtimeMs !== mtimeMs) held = { seen, mtimeMs, since: performance.now() };
    // Its time is the clock of the host that made it (an NFS server's): one ahead of ours never looks old by
    // it alone, so how long this edit has seen it unchanged counts too.
    const age = Math.max(Date.now() - mtimeMs, performance.now() - held.since);
    // Not taken over (another edit is taking it, or left its claim dying): waited for as a lock held, not
    // looked at again at once in a busy loop, and within waitMs.
    if (seen !== null && age > timing.staleMs && (await removeStaleLock(lock, seen))) continue;
    if (Date.now() >= until) {
      throw new Error(`another add or remove has held ${lock} for ${timing.waitMs / 1000} s; if none is running, remove that file`);
    }
    await sleep(timing.retryMs, undefined, { signal });
  }
  try {
    return await edit();
  } finally {
    if ((await readFile(lock, 'utf8').catch(() => null)) === token) await rm(lock, { force: true });
  }
}
