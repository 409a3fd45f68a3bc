// The daemon sees a change of the watch file by its signature (inode, size, mtime, ctime). A write of the
// same size within one tick of the file system's clock (4 ms on kernels with coarse timestamps) stamps the
// same times: were the daemon to read a version in the tick it was written, a same-size write after the read
// would go unseen until the next change. It reads a version only once it has gone SETTLE_MS (1 s) without a
// change, which every file system a watch file is kept on ticks faster than: what follows a read is always
// stamped later. Shown here on a tmpfs and on a disk, with the real wait.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readSettledWatchFile } from '../../src/cli/settledWatchFile.ts';
import { fileSignature, sameSignature } from '../../src/files/fileSignature.ts';

const FILE_SYSTEMS = [['a tmpfs', '/dev/shm'], ['a disk', '/tmp']].filter(([, folder]) => existsSync(folder!));

it.each(FILE_SYSTEMS)('reads the last of same-size writes made at once, and sees a same-size write just after the read as a change, on %s (%s)', async (_, base) => {
  const dir = await mkdtemp(join(base!, 'eaw-settled-watch-file-'));
  try {
    const path = join(dir, 'watch.yaml');
    // As a script writes it: one version, then another of its size, within the same tick.
    await writeFile(path, 'watches: [a]\n');
    await writeFile(path, 'watches: [b]\n');
    const read = await readSettledWatchFile(path, new AbortController().signal);
    expect(read).toMatchObject({ text: 'watches: [b]\n', settled: true });
    // What makes it so where the kernel stamps coarse times (this one may not: a file looked at since its last
    // change gets a finer stamp at the next): the version read had been still for longer than a tick.
    expect(Date.now() - read.signature!.mtimeMs).toBeGreaterThanOrEqual(1000);
    await writeFile(path, 'watches: [c]\n');
    // What the daemon's next look compares.
    expect(sameSignature(await fileSignature(path), read.signature)).toBe(false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
