import { mkdir, realpath, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linkTarget } from '../../src/files/linkTarget.ts';
import { tempFolderEach } from '../tempFolder.ts';

let dir: string;
tempFolderEach('eaw-link-target-', async (made) => {
  // Its real path: the folder a link is read from is the real one.
  dir = await realpath(made);
});

describe('linkTarget', () => {
  it('reads a relative link from the real folder it is in, as the kernel does, where its folder is reached through a link', async () => {
    await mkdir(join(dir, 'real'));
    await mkdir(join(dir, 'mounts', 'app'), { recursive: true });
    // The state's folder as a pod sees it (mounts/app/state, a link) and the link in it to `../volume/state.json`.
    await symlink(join(dir, 'real'), join(dir, 'mounts', 'app', 'state'));
    await symlink('../volume/state.json', join(dir, 'real', 'state.json'));
    expect(await linkTarget(join(dir, 'mounts', 'app', 'state', 'state.json'))).toBe(join(dir, 'volume', 'state.json'));
  });

  it('gives a loop of links back as it was given, for what is done with it to say so', async () => {
    await symlink('b', join(dir, 'a'));
    await symlink('c', join(dir, 'b'));
    await symlink('a', join(dir, 'c'));
    expect(await linkTarget(join(dir, 'a'))).toBe(join(dir, 'a'));
  });
});
