// Taking over a lock file left by a process that died, when several processes find it stale at once: the
// daemons' state lock (state/lock.ts) and the watch file's edit lock (editLock.ts).
import { open, readFile, rm, stat } from 'node:fs/promises';

/** A claim to take a stale lock over that is older than this was left by a process that died while it held it. */
const CLAIM_STALE_MS = 10_000;

/**
 * Removes the stale lock whose content was `seen`, unless it is no longer that lock (processes started after a
 * crash all find it stale, and the first may have put its own in its place). Only the process that holds the
 * claim (`<lock>.takeover`, created exclusively) reads and removes the lock, so that none removes a lock it did
 * not judge: moving the lock aside first and back when it was not the one judged lost the lock of the process
 * that had just taken it whenever a third one had created its own meanwhile, and both then went on. False
 * when another process is taking it over or got there first.
 */
export async function removeStaleLock(path: string, seen: string): Promise<boolean> {
  const claim = `${path}.takeover`;
  try {
    await (await open(claim, 'wx', 0o644)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const ageMs = await stat(claim).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (ageMs > CLAIM_STALE_MS) await rm(claim, { force: true });
    return false;
  }
  try {
    const current = await readFile(path, 'utf8').catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    });
    if (current !== seen) return false;
    await rm(path, { force: true });
    return true;
  } finally {
    await rm(claim, { force: true });
  }
}
