// Snapshots whose write fails: after its rename (the folder's fsync), the new file in place although the save
// failed; or for want of space, at start or in the middle of a journal line. The faults are injected into
// writeFileAtomic and writePieces, which otherwise write real files: a disk filled to just under a snapshot's
// size takes a loop-mounted file system, and root.
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { StateStore, watchKey } from '../../src/state/store.ts';
import type { ActionWatchRecord } from '../../src/state/types.ts';
import { Capture } from '../e2e/harness.ts';
import { stateOnDisk } from './onDisk.ts';
import { eventually } from '../eventually.ts';

const fault = vi.hoisted(() => ({
  afterRename: null as string | null,
  full: null as { path: string; code: 'ENOSPC' | 'EDQUOT' | 'EIO' } | null,
  /** The next write of `path` waits for `until` before it begins: a snapshot that a slow disk holds up. */
  held: null as { path: string; until: Promise<void>; started: () => void } | null,
  /** The next journal line stops after this many bytes, for want of space. */
  lineCut: null as number | null,
}));
vi.mock('../../src/files/writePieces.ts', async (original) => {
  const real = await original<typeof import('../../src/files/writePieces.ts')>();
  return {
    writePieces: async (handle: import('node:fs/promises').FileHandle, pieces: Iterable<string>, position: number) => {
      if (fault.lineCut === null) return real.writePieces(handle, pieces, position);
      const part = Buffer.from([...pieces].join('')).subarray(0, fault.lineCut);
      fault.lineCut = null;
      await handle.write(part, 0, part.length, position);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { errno: -constants.errno.ENOSPC, code: 'ENOSPC', syscall: 'write' });
    },
  };
});
vi.mock('../../src/files/writeFileAtomic.ts', async (original) => {
  const real = await original<typeof import('../../src/files/writeFileAtomic.ts')>();
  return {
    ...real,
    writeFileAtomic: async (path: string, text: string | Iterable<string>, options?: { mode?: number }) => {
      if (path === fault.full?.path) {
        const { code } = fault.full;
        throw Object.assign(new Error(`${code}: write failed`), { errno: -constants.errno[code], code, syscall: 'write' });
      }
      if (path === fault.held?.path) {
        const { until, started } = fault.held;
        fault.held = null;
        started();
        await until;
      }
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
/** The change number of each line of the state's journal, then null for what follows its last line break. */
async function journalSeqs(path: string): Promise<Array<number | null>> {
  return (await readFile(`${path}.journal`, 'utf8')).split('\n').map((l) => (l === '' ? null : (JSON.parse(l) as { seq: number }).seq));
}

afterEach(async () => {
  fault.afterRename = null;
  fault.full = null;
  fault.held = null;
  fault.lineCut = null;
  vi.useRealTimers();
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

/** A snapshot as the daemon writes it, holding `records` up to change `seq`. */
function snapshot(seq: number, records: ActionWatchRecord[]): string {
  return `${JSON.stringify({ version: 1, seq, watches: Object.fromEntries(records.map((r) => [watchKey(r), r])), batches: {} })}\n`;
}

/** A journal line holding `records` as change `seq`. */
function line(seq: number, records: ActionWatchRecord[]): string {
  return `${JSON.stringify({ seq, watches: Object.fromEntries(records.map((r) => [watchKey(r), r])) })}\n`;
}

it('starts on a journal it has no space to compact, says so once, appends after its last whole line, and compacts once there is room', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eaw-snapshot-'));
  const path = join(dir, 'state.json');
  // As the daemon that stopped left them: its compaction at the stop failed, and a line was cut short.
  await writeFile(path, snapshot(1, [record('a', 'one')]));
  await writeFile(`${path}.journal`, `${line(2, [record('b', 'two')])}${line(3, [record('c', 'three')]).slice(0, 30)}`);
  fault.full = { path, code: 'ENOSPC' };
  const logs = new Capture();
  const config = parseConfig(`cloud:\n  endpoint: http://127.0.0.1:9\n  projectId: p\nstate:\n  path: ${path}\nwatches: []\n`, { env: {} });
  const app = await createApp(config, { logger: pino({ level: 'debug' }, logs) });
  try {
    const warned = logs.lines().filter((l) => String(l['msg']).startsWith('state could not be compacted at start for want of space'));
    expect(warned).toEqual([expect.objectContaining({ level: 40, err: expect.objectContaining({ message: expect.stringMatching(/state\.json: cannot be written: .*\(ENOSPC\): free space on the disk/) }) })]);
    app.store.set(key('c'), record('c', 'three, again'));
    await app.store.save();
    // Its line where the line cut short began: nothing of that one is left between two whole lines.
    expect(await journalSeqs(path)).toEqual([2, 3, null]);
    expect(Object.keys(stateOnDisk(path).watches).sort()).toEqual([key('a'), key('b'), key('c')]);
    fault.full = null;
  } finally {
    await app.close({ drainMs: 0 });
  }
  expect(await readdir(dir)).toEqual(['state.json']);
  expect(stateOnDisk(path).watches[key('c')]).toMatchObject({ name: 'three, again' });
});

it('counts compactions that fail for want of space while saves succeed, says so once at error, then once an hour, and when one succeeds again', async () => {
  vi.useFakeTimers({ toFake: ['performance'] });
  const dir = await mkdtemp(join(tmpdir(), 'eaw-snapshot-'));
  const path = join(dir, 'state.json');
  // A crash before the snapshot: the old journal is needed, so every save a minute after the last failure compacts again.
  await writeFile(path, snapshot(1, [record('a', 'one')]));
  await writeFile(`${path}.journal.old`, line(2, [record('b', 'two')]));
  await writeFile(`${path}.journal`, line(3, [record('c', 'three')]));
  fault.full = { path, code: 'ENOSPC' };
  const logs = new Capture();
  const config = parseConfig(`cloud:\n  endpoint: http://127.0.0.1:9\n  projectId: p\nstate:\n  path: ${path}\nwatches: []\n`, { env: {} });
  const metrics = createMetrics();
  const app = await createApp(config, { logger: pino({ level: 'debug' }, logs), metrics });
  const failures = async () => (await metrics.registry.getSingleMetric('ecs_action_watch_state_compaction_failures_total')?.get())?.values[0]?.value;
  const said = (msg: RegExp) => logs.lines().filter((l) => msg.test(String(l['msg']))).map((l) => l['level']);
  // A save a minute (or `ms`) after the last, as passes make them, and its compaction in the background.
  const save = async (n: number, ms = 61_000) => {
    vi.advanceTimersByTime(ms);
    app.store.set(key(`n${n}`), record(`n${n}`, 'more'));
    await app.store.save();
  };
  try {
    expect(await failures()).toBe(1);
    for (let n = 0; n < 5; n++) {
      await save(n);
      await eventually(async () => expect(await failures()).toBe(n + 2));
    }
    expect(said(/^state journal could not be compacted;/)).toEqual([50]);
    expect(said(/^state journal could not be compacted again/)).toEqual(Array(4).fill(20));
    // An hour on, the error is said again, then again an hour later.
    await save(5, 3_600_000);
    await eventually(async () => expect(await failures()).toBe(7));
    expect(said(/^state journal could not be compacted;/)).toEqual([50, 50]);
    fault.full = null;
    await save(6);
    await eventually(() => expect(said(/^state journal compacted again/)).toEqual([30]));
    expect(await readdir(dir)).not.toContain('state.json.journal.old');
    expect(await failures()).toBe(7);
  } finally {
    fault.full = null;
    await app.close({ drainMs: 0 });
  }
});

it('starts, out of space, after any step of a compaction a crash cut short, and is refused for any other failure', async () => {
  const [r1, r2, r3, r4] = [record('1', 'one'), record('2', 'two'), record('3', 'three'), record('4', 'four')];
  // And the change the files hold: the next one is the new record's.
  const crashes = {
    'before the snapshot': { snapshot: snapshot(1, [r1]), old: line(2, [r2]), current: line(3, [r3]), seq: 3 },
    'before the old journal is removed': { snapshot: snapshot(2, [r1, r2]), old: line(2, [r2]), current: line(3, [r3]), seq: 3 },
    // Change 4, a save written as a snapshot, holds every line of the journal: a line after them would be a gap.
    'before the journal is removed': { snapshot: snapshot(4, [r1, r2, r3]), old: null, current: line(2, [r2]) + line(3, [r3]), seq: 4 },
  };
  for (const [moment, files] of Object.entries(crashes)) {
    const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
    await writeFile(path, files.snapshot);
    if (files.old) await writeFile(`${path}.journal.old`, files.old);
    await writeFile(`${path}.journal`, files.current);
    fault.full = { path, code: 'EDQUOT' };
    const store = await open(path);
    expect(store.compactionDeferred?.code, moment).toBe('EDQUOT');
    store.set(watchKey(r4), r4);
    await store.save();
    expect((await open(path, { readOnly: true })).entries(), moment).toEqual([r1, r2, r3, r4].map((r) => [watchKey(r), r]));
    fault.full = null;
    await store.close();
    expect(stateOnDisk(path), moment).toMatchObject({ seq: files.seq + 1, watches: Object.fromEntries([r1, r2, r3, r4].map((r) => [watchKey(r), r])) });
  }
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  await writeFile(path, snapshot(1, [r1]));
  await writeFile(`${path}.journal`, line(2, [r2]));
  fault.full = { path, code: 'EIO' };
  await expect(open(path)).rejects.toThrow(/state\.json: cannot be written: .*\(EIO\)/);
});

it('writes a snapshot-sized save only after the compaction under way, so that the older snapshot never lands last', async () => {
  vi.useFakeTimers({ toFake: ['performance'] });
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  const store = await open(path);
  const release = Promise.withResolvers<void>();
  const compacting = Promise.withResolvers<void>();
  fault.held = { path, until: release.promise, started: compacting.resolve };
  // Saves a second and a half apart (no burst) until the journal passes a MiB: its compaction begins and is held.
  for (let n = 0; n < 4; n++) {
    for (let i = 0; i < 100; i++) store.set(key(`req-${n}-${i}`), record(`req-${n}-${i}`, 'x'.repeat(3000)));
    await store.save();
    vi.advanceTimersByTime(1500);
  }
  await compacting.promise;
  // A change as big as a compaction is written as a snapshot of its own.
  for (let i = 0; i < 400; i++) store.set(key(`req-big-${i}`), record(`req-big-${i}`, 'y'.repeat(3000)));
  const saving = store.save();
  release.resolve();
  await saving;
  store.set(key('req-last'), record('req-last', 'last'));
  await store.save();
  const reopened = await open(path, { readOnly: true });
  expect(reopened.size).toBe(801);
  expect(reopened.get(key('req-last'))?.name).toBe('last');
});

it('out of space at start, writes its next line over the whole of a long line cut short, leaving nothing of it after', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  await writeFile(path, snapshot(1, [record('a', 'one')]));
  await writeFile(`${path}.journal`, `${line(2, [record('b', 'two')])}${line(3, [record('c', 'x'.repeat(4000))]).slice(0, 3000)}`);
  fault.full = { path, code: 'ENOSPC' };
  const store = await open(path);
  expect(store.compactionDeferred).not.toBeNull();
  store.set(key('c'), record('c', 'short'));
  await store.save();
  expect(await journalSeqs(path)).toEqual([2, 3, null]);
  expect((await open(path, { readOnly: true })).get(key('c'))?.name).toBe('short');
});

it('out of space at start, writes its next line where a whole but damaged last line began, not one byte after', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  await writeFile(path, snapshot(1, [record('a', 'one')]));
  // Its last line ended, but what it holds is not a change: left out as cut short.
  await writeFile(`${path}.journal`, `${line(2, [record('b', 'two')])}{"seq":3,"watc\n`);
  fault.full = { path, code: 'ENOSPC' };
  const store = await open(path);
  expect(store.torn).toEqual([expect.objectContaining({ line: 2, bytes: 15 })]);
  store.set(key('c'), record('c', 'three'));
  await store.save();
  expect(await journalSeqs(path)).toEqual([2, 3, null]);
  expect((await open(path, { readOnly: true })).get(key('c'))?.name).toBe('three');
});

it('after a line cut short for want of space, writes the next line where it began, over all of it, and goes on in the same journal', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  const store = await open(path);
  store.set(key('a'), record('a', 'one'));
  await store.save();
  store.set(key('b'), record('b', 'x'.repeat(3000)));
  fault.lineCut = 2000;
  await expect(store.save()).rejects.toThrow(/state\.json: cannot be written: .*\(ENOSPC\)/);
  // Space again, and a shorter line than the part written.
  store.set(key('b'), record('b', 'two'));
  await store.save();
  // A line, not the whole state written again: the file is good up to its last whole line.
  expect(await readdir(join(path, '..'))).toEqual(['state.json.journal']);
  expect(await journalSeqs(path)).toEqual([1, 2, null]);
  expect((await open(path, { readOnly: true })).get(key('b'))?.name).toBe('two');
});

it('out of space at start, creates the journal afresh over one whose lines the snapshot holds already, with nothing of them left', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  // A crash came after the snapshot of change 3 was written and before the journal was removed.
  await writeFile(path, snapshot(3, [record('a', 'one'), record('b', 'x'.repeat(2000))]));
  await writeFile(`${path}.journal`, `${line(1, [record('a', 'one')])}${line(2, [record('b', 'x'.repeat(2000))])}`);
  fault.full = { path, code: 'ENOSPC' };
  const store = await open(path);
  store.set(key('c'), record('c', 'three'));
  await store.save();
  expect(await journalSeqs(path)).toEqual([4, null]);
  expect((await open(path, { readOnly: true })).get(key('c'))?.name).toBe('three');
});

it('stops cleanly when the stop has no space to compact: the journal holds everything, which is said, and the next start reads it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eaw-snapshot-'));
  const path = join(dir, 'state.json');
  const logs = new Capture();
  const config = parseConfig(`cloud:\n  endpoint: http://127.0.0.1:9\n  projectId: p\nstate:\n  path: ${path}\nwatches: []\n`, { env: {} });
  const app = await createApp(config, { logger: pino({ level: 'debug' }, logs) });
  app.store.set(key('c'), record('c', 'three'));
  await app.store.save();
  fault.full = { path, code: 'ENOSPC' };
  // A rejection here is `the daemon did not stop cleanly` and exit status 1 after SIGTERM: a unit marked failed
  // for a stop that lost nothing.
  await expect(app.close({ drainMs: 0 })).resolves.toBeUndefined();
  expect(logs.lines().filter((l) => String(l['msg']).startsWith('state could not be compacted at the stop for want of space'))).toEqual([
    expect.objectContaining({ level: 40, err: expect.objectContaining({ message: expect.stringMatching(/\(ENOSPC\)/) }) }),
  ]);
  expect(await readdir(dir)).toEqual(['state.json.journal']);
  fault.full = null;
  expect((await open(path, { readOnly: true })).get(key('c'))?.name).toBe('three');
});
