// A snapshot whose write fails after its rename (the folder's fsync): the new file is in place although the
// save failed. The fault is injected into writeFileAtomic, which otherwise writes real files.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { dictionary } from '../../src/data/dictionary.ts';
import { StateStore, watchKey } from '../../src/state/store.ts';
import type { ActionWatchRecord } from '../../src/state/types.ts';

const fault = vi.hoisted(() => ({ afterRename: null as string | null }));
vi.mock('../../src/files/writeFileAtomic.ts', async (original) => {
  const real = await original<typeof import('../../src/files/writeFileAtomic.ts')>();
  return {
    ...real,
    writeFileAtomic: async (path: string, text: string | Iterable<string>, options?: { mode?: number }) => {
      const bytes = await real.writeFileAtomic(path, text, options);
      if (path === fault.afterRename) {
        fault.afterRename = null;
        throw new Error('EIO: i/o error, fsync of the folder');
      }
      return bytes;
    },
  };
});

function record(requestId: string, name: string): ActionWatchRecord {
  return {
    projectId: 'p1', serverId: 's1', requestId, name, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false, lastError: null, failingSince: null,
    instanceAction: null, server: null, verdict: null, deliveries: dictionary(),
  };
}
const key = (requestId: string) => watchKey(record(requestId, ''));

const opened: StateStore[] = [];
afterEach(async () => {
  fault.afterRename = null;
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
});

async function open(path: string, options: { readOnly?: boolean } = {}): Promise<StateStore> {
  const store = await StateStore.open(path, options);
  opened.push(store);
  return store;
}

it('writes everything again after a snapshot-sized save failed once its snapshot was in place', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  const store = await open(path);
  store.set(key('k'), record('k', 'saved'));
  await store.save();
  // A save big enough to be a snapshot, while `k` is ahead of its save in memory.
  for (let i = 0; i < 600; i++) store.set(key(`big-${i}`), record(`big-${i}`, 'x'.repeat(2000)));
  store.get(key('k'))!.name = 'ahead';
  fault.afterRename = path;
  await expect(store.save()).rejects.toThrow(/EIO/);
  // Then all of it is undone before the next, small, save.
  for (let i = 0; i < 600; i++) store.delete(key(`big-${i}`));
  store.get(key('k'))!.name = 'saved';
  store.touch(key('k'));
  await store.save();
  // As a crash now would leave the files: read beside the running store.
  const files = await open(path, { readOnly: true });
  expect(files.get(key('k'))?.name).toBe('saved');
  expect(files.get(key('big-0'))).toBeUndefined();
});
