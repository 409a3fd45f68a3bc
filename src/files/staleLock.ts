// Taking over a lock file left by a process that died, when several processes find it stale at once: the
// daemons' state lock (state/lock.ts) and the watch file's edit lock (editLock.ts).
import { open, readFile, rm, stat } from 'node:fs/promises';

/**
 * A claim to take a stale lock over that is older than this, by its time or by how long we have seen it
 * unchanged, was left by a process that died while it held it (a claim is held for milliseconds).
 */
const CLAIM_STALE_MS = 10_000;

/**
 * Each claim found held, as first seen (its inode and time) and when by our monotonic clock. Its time is the
 * clock of whoever wrote it (an NFS server's, or ours before it was set back): one ahead of ours would never
 * look old by its time alone, and every start would wait on it for good.
 */
const claimsSeen = new Map<string, { id: string; since: number }>();

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
    if (await claimIsStale(claim)) await rm(claim, { force: true });
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

async function claimIsStale(claim: string): Promise<boolean> {
  const found = await stat(claim).catch(() => null);
  if (found === null) {
    claimsSeen.delete(claim);
    return false;
  }
  const id = `${found.ino}:${found.mtimeMs}`;
  let seen = claimsSeen.get(claim);
  if (seen?.id !== id) claimsSeen.set(claim, (seen = { id, since: performance.now() }));
  const stale = Date.now() - found.mtimeMs > CLAIM_STALE_MS || performance.now() - seen.since > CLAIM_STALE_MS;
  if (stale) claimsSeen.delete(claim);
  return stale;
}
