import { accessSync, constants, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Linux's shared-memory tmpfs, its magic number (statfs(2)), and what it must have free to hold a run (its largest files are tens of MB). */
const TMPFS = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;
const TMPFS_FREE_BYTES = 1024 ** 3;

/**
 * Where a run's folder goes: TMPDIR when it is set, else /dev/shm when it is a tmpfs with room (a
 * container's is often 64 MB), else the system's. The tests save state thousands of times, each save
 * synced to disk: on a tmpfs a sync costs nothing, and the state, delivery and end-to-end files took 6-9 %
 * less time (two pairs of runs, 2026-12-05). What they check (what is written, in which order, what a killed
 * daemon leaves) is the same on either.
 */
function base(): string {
  if (process.env['TMPDIR']) return tmpdir();
  try {
    accessSync(TMPFS, constants.W_OK);
    const { type, bavail, bsize } = statfsSync(TMPFS);
    if (type === TMPFS_MAGIC && bavail * bsize >= TMPFS_FREE_BYTES) return TMPFS;
  } catch {
    // No /dev/shm here (not Linux) or not writable: the system's temporary folder.
  }
  return tmpdir();
}

/**
 * Every temporary file of a run (state files, watch files, daemons' folders: thousands per run) goes under
 * one folder that is removed when the run ends. The test processes inherit TMPDIR, and so do the daemons
 * they spawn.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(base(), 'eaw-test-run-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = root;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
