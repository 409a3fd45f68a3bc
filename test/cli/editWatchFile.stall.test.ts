// An edit that stalls while it holds the edit lock (Ctrl-Z on an add, a frozen VM, a sync of its new copy
// that hangs on a busy disk) longer than the lock's 10 s is taken over, and the taker makes its own edit.
// The stall is made where it is longest in practice, in the sync of the edit's new copy: that sync is held
// here until the test lets it go, and the lock is aged as the stall would have aged it. Everything else is
// the real file system.
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { editWatchFile } from '../../src/cli/editWatchFile.ts';
import { tempFolderEach } from '../tempFolder.ts';
import { commandContext } from './commandContext.ts';

const stall = vi.hoisted(() => {
  let reached = () => undefined as void;
  let resume = () => undefined as void;
  return {
    armed: false,
    reached: new Promise<void>((resolve) => (reached = resolve)),
    resumed: new Promise<void>((resolve) => (resume = resolve)),
    reach: () => reached(),
    resume: () => resume(),
  };
});
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      if (!stall.armed || !String(args[0]).includes('.watch.yaml.tmp-')) return handle;
      stall.armed = false;
      return Object.assign(Object.create(handle) as typeof handle, {
        sync: async () => {
          stall.reach();
          await stall.resumed;
          await handle.sync();
        },
        close: () => handle.close(),
      });
    },
  };
});

const CLOUD = 'cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\n  auth: { type: token, token: T }\n';

let path: string;
tempFolderEach('eaw-edit-stall-', (made) => {
  path = join(made, 'watch.yaml');
});

it('keeps the edit of one that took over the lock of an edit stalled before its rename: the stalled one, resumed, makes its edit again on it', async () => {
  await writeFile(path, `${CLOUD}watches: []\n`);
  stall.armed = true;
  const stalled = editWatchFile(commandContext(path), (text) => ({ text: `${text}# stalled edit\n` }));
  await stall.reached;
  const longAgo = new Date(Date.now() - 20_000);
  await utimes(`${path}.lock`, longAgo, longAgo);
  await editWatchFile(commandContext(path), (text) => ({ text: `${text}# taker's edit\n` }));
  expect(await readFile(path, 'utf8')).toBe(`${CLOUD}watches: []\n# taker's edit\n`);
  stall.resume();
  await stalled;
  expect(await readFile(path, 'utf8')).toBe(`${CLOUD}watches: []\n# taker's edit\n# stalled edit\n`);
});
