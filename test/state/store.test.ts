import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateStore, watchKey } from '../../src/state/store.ts';
import { StateError } from '../../src/state/StateError.ts';
import type { WatchRecord } from '../../src/state/types.ts';

const ref = { projectId: 'p1', serverId: 's1', requestId: 'req-1' };
function record(): WatchRecord {
  return { ...ref, name: null, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false, lastPolledAt: null, lastError: null, instanceAction: null, server: null, verdict: null, deliveries: {} };
}

async function tempDir() {
  return mkdtemp(join(tmpdir(), 'eaw-state-'));
}

describe('StateStore', () => {
  it('starts empty when the file is missing and creates its folder on save', async () => {
    const path = join(await tempDir(), 'nested', 'deeper', 'state.json');
    const store = await StateStore.open(path);
    expect(store.entries()).toEqual([]);
    store.set(watchKey(ref), record());
    await store.save();
    const again = await StateStore.open(path);
    expect(again.get('p1/s1/req-1')?.requestId).toBe('req-1');
  });

  it('leaves no temporary file behind and coalesces concurrent saves', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const store = await StateStore.open(path);
    store.set('a', record());
    const saves = [store.save(), store.save(), store.save()];
    store.set('b', record());
    saves.push(store.save());
    await Promise.all(saves);
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).watches).sort()).toEqual(['a', 'b']);
  });

  it('refuses a corrupt file instead of starting afresh (which would re-notify)', async () => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, '{"version":1,"watches":{');
    await expect(StateStore.open(path)).rejects.toThrow(StateError);
    await expect(StateStore.open(path)).rejects.toThrow(/is not valid JSON.*move it aside/);
  });

  it('refuses a JSON file that is not a state file', async () => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, '[1,2,3]');
    await expect(StateStore.open(path)).rejects.toThrow(/not an ecs-action-watch state file/);
  });

  it('never writes in read-only mode', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await StateStore.open(path, { readOnly: true });
    store.set('a', record());
    await store.save();
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a state path it cannot read, naming it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), 'x');
    await expect(StateStore.open(join(dir, 'file', 'state.json'))).rejects.toThrow(/state file .*file\/state.json: cannot be read: ENOTDIR/);
  });

  it('reports a failed write with the path and keeps the change for the next save', async () => {
    const dir = await tempDir();
    const store = await StateStore.open(join(dir, 'sub', 'state.json'));
    await writeFile(join(dir, 'sub'), 'now a file, not a folder');
    store.set('a', record());
    await expect(store.save()).rejects.toThrow(/sub\/state.json: cannot be written/);
    await expect(store.checkWritable()).rejects.toThrow(/not writable/);
    expect(store.get('a')).toBeDefined();
  });
});
