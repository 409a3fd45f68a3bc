import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * A folder of its own for each test of the file, named from `prefix` under the run's TMPDIR, and removed
 * after the test. `made` gets its path before the test runs (to set the file's own paths in it).
 */
export function tempFolderEach(prefix: string, made: (dir: string) => void | Promise<void>): void {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    await made(dir);
  });
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
}
