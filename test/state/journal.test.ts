// The state on disk as snapshot and journal: what each save appends, what a crash can leave (a torn last
// line, a compaction cut short at any step) and what must be refused rather than guessed. Real files in a
// temporary folder; the files a crash leaves are written here by hand, as a crash would leave them.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { JournalWriter } from '../../src/state/journal.ts';
import { acquireStateLock } from '../../src/state/lock.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { StateStore, watchKey } from '../../src/state/store.ts';
import { StateError } from '../../src/state/StateError.ts';
import { readStoredState } from '../../src/state/stateFiles.ts';
import type { ActionWatchRecord } from '../../src/state/types.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import { stateOnDisk } from './onDisk.ts';
import type { StateFileKind } from '../../src/state/stateWriter.ts';
import { eventually, waitUntil } from '../eventually.ts';

function record(requestId: string, name: string | null = null): ActionWatchRecord {
  return {
    projectId: 'p1', serverId: 's1', requestId, name, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false, lastError: null, failingSince: null,
    instanceAction: null, server: null, verdict: null, deliveries: dictionary(),
  };
}
const key = (requestId: string) => watchKey(record(requestId));

const opened: StateStore[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
});

async function open(path: string): Promise<StateStore> {
  const store = await StateStore.open(path);
  opened.push(store);
  return store;
}

async function statePath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'eaw-journal-')), 'state.json');
}

/**
 * That `store` made its journal ahead of the next line (`whileEmpty` runs while it is empty), that its next
 * save of `req-1`, changed, is the journal's first line, and that its stop leaves the snapshot alone.
 */
async function savesIntoJournalMadeAhead(store: StateStore, path: string, whileEmpty?: () => Promise<void>): Promise<void> {
  await eventually(async () => expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json', 'state.json.journal']));
  expect(await readFile(`${path}.journal`, 'utf8')).toBe('');
  await whileEmpty?.();
  store.set(key('req-1'), record('req-1', 'changed'));
  await store.save();
  expect(await readFile(`${path}.journal`, 'utf8')).toMatch(/^\{"seq":2,"watches":\{"p1\/s1\/req-1":/);
  await store.close();
  expect(await readdir(join(path, '..'))).toEqual(['state.json']);
}

/**
 * Rounds of saves on `store`, each changing all of 40 records of about 2 KB (a line of about 84 KB), with
 * `pauseMs` of the faked clock before it; and the size and file of each write.
 */
function rounds(store: StateStore) {
  const writes: Array<[number, StateFileKind]> = [];
  store.onWrite((bytes, file) => writes.push([bytes, file]));
  const big = (i: number, n: number) => record(`req-${i}`, `round ${n} ${'x'.repeat(2000)}`);
  const round = async (n: number, pauseMs: number) => {
    vi.advanceTimersByTime(pauseMs);
    for (let i = 0; i < 40; i++) store.set(key(`req-${i}`), big(i, n));
    await store.save();
  };
  return { writes, big, round };
}

/**
 * A store on the faked clock, and `compactWith(during)`: rounds of saves a second and a half apart until one
 * starts a compaction, `during` run inside that save after it took its changes; resolves once the snapshot
 * is written.
 */
async function compacting() {
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  const path = await statePath();
  const store = await open(path);
  const { round } = rounds(store);
  const compactWith = async (during: () => void) => {
    let bytes = 0;
    let done = false;
    // In place of the listener `rounds` set: these tests count no writes.
    store.onWrite((written, file) => {
      bytes += file === 'journal' ? written : 0;
      if (!done && bytes >= 1024 * 1024) {
        done = true;
        during();
      }
    });
    for (let n = 0; !existsSync(`${path}.journal.old`); n++) await round(n, 1500);
    await eventually(() => expect(existsSync(`${path}.journal.old`)).toBe(false));
    expect(done).toBe(true);
  };
  return { path, store, compactWith };
}

/**
 * A record that runs `effect` when a snapshot's text reaches it, once `armed()` says so: the engine changing
 * other records while a snapshot is written, which makes each record's JSON as it writes it.
 */
function tripwire(requestId: string, armed: () => boolean, effect: () => void): ActionWatchRecord {
  let fired = false;
  return Object.assign(record(requestId), {
    toJSON(this: ActionWatchRecord & { toJSON?: unknown }) {
      if (armed() && !fired) {
        fired = true;
        effect();
      }
      const { toJSON: _, ...plain } = this;
      return plain;
    },
  });
}

/** Changes the name of the record of `requestId` in `store`, and tells the store. */
function rename(store: StateStore, requestId: string, name: string): void {
  store.get(key(requestId))!.name = name;
  store.touch(key(requestId));
}

/** The snapshot as it is on disk. */
async function snapshotOf(path: string): Promise<{ watches: Record<string, ActionWatchRecord> }> {
  return JSON.parse(await readFile(path, 'utf8')) as { watches: Record<string, ActionWatchRecord> };
}

/** The state as the files hold it now, read beside the store that writes them. */
async function readBack(path: string): Promise<StateStore> {
  const store = await StateStore.open(path, { readOnly: true });
  opened.push(store);
  return store;
}

/** A snapshot as the daemon writes it, holding `records` up to change `seq`. */
function snapshot(seq: number | null, records: ActionWatchRecord[]): string {
  const watches = Object.fromEntries(records.map((r) => [watchKey(r), r]));
  return `${JSON.stringify({ version: 1, ...(seq === null ? {} : { seq }), watches, batches: {} })}\n`;
}

/** A journal line holding `records` as change `seq`. */
function line(seq: number, records: ActionWatchRecord[]): string {
  return `${JSON.stringify({ seq, watches: Object.fromEntries(records.map((r) => [watchKey(r), r])) })}\n`;
}

/**
 * The files beside a state just opened, but for the next journal, which the store opens in the background as
 * it starts (a readdir may find it already): that one must be empty, holding nothing of what came before.
 */
async function filesAfterOpen(path: string): Promise<string[]> {
  const files = await readdir(join(path, '..'));
  if (files.includes(`${basename(path)}.journal`)) expect(await readFile(`${path}.journal`, 'utf8')).toBe('');
  return files.filter((f) => f !== `${basename(path)}.journal`);
}

describe('the state journal', () => {
  it('loads a state file written before the journal, and appends each later save to a journal beside it', async () => {
    const path = await statePath();
    const old = `{"version":1,"watches":{\n${JSON.stringify(key('req-1'))}:${JSON.stringify(record('req-1'))}\n},"batches":{}}\n`;
    await writeFile(path, old);
    const store = await open(path);
    expect(store.get(key('req-1'))).toEqual(record('req-1'));
    store.set(key('req-2'), record('req-2'));
    await store.save();
    store.set(key('req-1'), record('req-1', 'renamed'));
    store.delete(key('req-2'));
    await store.save();
    // The snapshot is not rewritten for a change: two lines, each with only what changed.
    expect(await readFile(path, 'utf8')).toBe(old);
    const lines = (await readFile(`${path}.journal`, 'utf8')).split('\n');
    expect(lines.map((l) => (l === '' ? null : JSON.parse(l)))).toEqual([
      { seq: 1, watches: { [key('req-2')]: record('req-2') } },
      { seq: 2, watches: { [key('req-1')]: record('req-1', 'renamed'), [key('req-2')]: null } },
      null,
    ]);
    const reopened = await open(path);
    expect(reopened.entries()).toEqual([[key('req-1'), record('req-1', 'renamed')]]);
  });

  it('leaves out a last line cut short by a crash, keeps every line before it, and starts from one file', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(3, [record('req-1')]));
    const torn = line(5, [record('req-3')]).slice(0, 40);
    await writeFile(`${path}.journal`, line(4, [record('req-2')]) + torn);
    const store = await open(path);
    expect(store.torn).toEqual([{ path: `${path}.journal`, line: 2, bytes: 40 }]);
    expect(store.entries().map(([k]) => k)).toEqual([key('req-1'), key('req-2')]);
    // Compacted at once: a new line appended after the torn one would bury it mid-file.
    expect(await filesAfterOpen(path)).toEqual(['state.json']);
    expect(stateOnDisk(path)).toMatchObject({ seq: 4, watches: { [key('req-1')]: record('req-1'), [key('req-2')]: record('req-2') } });
  });

  it('leaves out a last line cut inside a character (a name in Chinese), not the whole state', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(3, [record('req-1')]));
    const whole = Buffer.from(line(5, [record('req-3', '重启 web-01')]));
    // Cut after the first byte of the three of 重.
    const torn = whole.subarray(0, whole.indexOf(Buffer.from('重')) + 1);
    await writeFile(`${path}.journal`, Buffer.concat([Buffer.from(line(4, [record('req-2')])), torn]));
    const store = await open(path);
    expect(store.torn).toMatchObject([{ path: `${path}.journal`, line: 2 }]);
    expect(store.entries().map(([k]) => k)).toEqual([key('req-1'), key('req-2')]);
  });

  it('refuses a journal damaged before its last line, saying what to do', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(1, []));
    await writeFile(`${path}.journal`, `${line(2, [record('req-1')])}{"seq":3,"watc\n${line(4, [record('req-2')])}`);
    const refusal = StateStore.open(path);
    await expect(refusal).rejects.toThrow(StateError);
    await expect(refusal).rejects.toThrow(/state\.json\.journal: line 2 is not JSON, and whole lines follow it: .*Keep its first 1 line, the changes before it, and remove the rest \(head -n 1\): .*; or move it aside, which starts from the state file alone/);
    // V8's words would quote the line.
    await expect(refusal).rejects.not.toThrow(/watc/);
  });

  it('says that moving a damaged journal aside notifies every finished watch again when there is no state file beside it', async () => {
    // A daemon killed before its first compaction leaves the journal alone: it is the whole state.
    const path = await statePath();
    await writeFile(`${path}.journal`, `${line(1, [record('req-1')])}${line(2, [record('req-2')])}{"seq":3,"watc\n${line(4, [record('req-3')])}`);
    await expect(StateStore.open(path)).rejects.toThrow(
      /line 3 is not JSON, and whole lines follow it: .*Keep its first 2 lines, .*\(head -n 2\).*; or move it aside, which starts with no state at all \(there is no state file beside it\) and notifies every finished watch again$/,
    );
    await writeFile(`${path}.journal`, `{"seq":1,"watc\n${line(2, [record('req-2')])}`);
    await expect(StateStore.open(path)).rejects.toThrow(/line 1 is not JSON, .*crash\. Move it aside, which starts with no state at all \(there is no state file beside it\) and notifies every finished watch again$/);
  });

  it('says of a damaged journal a compaction set aside that the journal after it goes aside too, whose changes follow those cut', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(1, []));
    await writeFile(`${path}.journal.old`, `${line(2, [record('req-1')])}{"seq":3,"watc\n${line(4, [record('req-2')])}`);
    await writeFile(`${path}.journal`, line(5, [record('req-3')]));
    const refusal = StateStore.open(path);
    await expect(refusal).rejects.toThrow(`state.json.journal.old: line 2 is not JSON, and whole lines follow it`);
    await expect(refusal).rejects.toThrow(`(head -n 1), and move ${path}.journal aside too, whose changes follow those removed: only what happened after them may be notified again; or move both aside, which starts from the state file alone`);
    // As told: its first line kept, the journal after it moved aside.
    await writeFile(`${path}.journal.old`, line(2, [record('req-1')]));
    renameSync(`${path}.journal`, `${path}.journal.aside`);
    expect((await open(path)).entries()).toEqual([[key('req-1'), record('req-1')]]);
  });

  it('refuses a journal whose damaged line has part of another after it: a crash cuts short only the last line', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(1, []));
    await writeFile(`${path}.journal`, `${line(2, [record('req-1')])}{"seq":3,"watc\n${line(4, [record('req-2')]).slice(0, 20)}`);
    await expect(StateStore.open(path)).rejects.toThrow(/state\.json\.journal: line 2 is not JSON, and whole lines follow it: .*move it aside, which starts from the state file alone/);
  });

  it('refuses a journal with a line that is JSON but no change, or whose changes skip one, even at its last line', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(1, []));
    await writeFile(`${path}.journal`, `${line(2, [record('req-1')])}{"watches":{}}\n${line(3, [record('req-2')])}`);
    await expect(StateStore.open(path)).rejects.toThrow(/state\.json\.journal: line 2 is not a journal entry .*whole lines follow it.*move it aside, which starts from the state file alone/);
    await writeFile(`${path}.journal`, `${line(2, [record('req-1')])}${line(4, [record('req-2')])}`);
    const refusal = StateStore.open(path);
    await expect(refusal).rejects.toThrow(StateError);
    await expect(refusal).rejects.toThrow(/state\.json\.journal: line 2 is change 4 after change 2, .*: the journal was damaged after it was written.*move it aside, which starts from the state file alone/);
    await expect(refusal).rejects.not.toThrow(/whole lines follow it/);
  });

  it('refuses a journal with a line of a newer format, as it refuses such a snapshot, even at its last line', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(1, []));
    await writeFile(`${path}.journal`, `${line(2, [record('req-1')])}{"version":2,"seq":3,"watches":{}}\n`);
    const refusal = StateStore.open(path);
    await expect(refusal).rejects.toThrow(/state\.json\.journal: was written by a newer ecs-action-watch \(state format 2; this one reads 1\): run that version/);
    await expect(refusal).rejects.not.toThrow(/move it aside/i);
  });

  it('refuses a journal that does not continue its snapshot (an older copy of the state file put back)', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(2, [record('req-1')]));
    await writeFile(`${path}.journal`, line(7, [record('req-2')]));
    await expect(StateStore.open(path)).rejects.toThrow(/begins at change 7, but .*state\.json holds changes up to 2: the changes between are missing/);
  });

  it('says of a compaction\'s old journal that does not continue its snapshot that the journal after it goes aside with it', async () => {
    const path = await statePath();
    await writeFile(path, snapshot(2, [record('req-1')]));
    await writeFile(`${path}.journal.old`, line(7, [record('req-2')]));
    await writeFile(`${path}.journal`, line(8, [record('req-3')]));
    const refusal = StateStore.open(path);
    await expect(refusal).rejects.toThrow(/state\.json\.journal\.old: begins at change 7, but .*state\.json holds changes up to 2: the changes between are missing/);
    await expect(refusal).rejects.toThrow(`Move it and ${path}.journal, which continues it, aside to start from the state file alone`);
    // As told: both aside, a start from the state file alone.
    for (const file of [`${path}.journal.old`, `${path}.journal`]) renameSync(file, `${file}.aside`);
    expect((await open(path)).entries()).toEqual([[key('req-1'), record('req-1')]]);
  });

  it('refuses a journal that does not begin at the first change when there is no state file, saying so', async () => {
    const path = await statePath();
    await writeFile(`${path}.journal`, line(4, [record('req-1')]));
    await expect(StateStore.open(path)).rejects.toThrow(/journal: begins at change 4, but there is no .*state\.json holding the changes before it .*move the journal aside to start afresh/);
  });

  it('reads back the last change after a crash at any step of a compaction', async () => {
    const [r1, r2, r3] = [record('req-1'), record('req-2'), record('req-3')];
    const crashes = {
      // Journal set aside, the new snapshot not yet written, a save since in the fresh journal.
      'before the snapshot': { snapshot: snapshot(1, [r1]), old: line(2, [r2]), current: line(3, [r3]) },
      // Snapshot written, the old journal not yet removed: its lines are in the snapshot already.
      'before the old journal is removed': { snapshot: snapshot(2, [r1, r2]), old: line(2, [r2]), current: line(3, [r3]) },
    };
    for (const [moment, files] of Object.entries(crashes)) {
      const path = await statePath();
      await writeFile(path, files.snapshot);
      await writeFile(`${path}.journal.old`, files.old);
      await writeFile(`${path}.journal`, files.current);
      const store = await open(path);
      expect(store.entries(), moment).toEqual([r1, r2, r3].map((r) => [watchKey(r), r]));
      expect(await filesAfterOpen(path), moment).toEqual(['state.json']);
    }
  });

  it('reads again, without the lock (check), when a compaction ended while it read the snapshot, rather than give the older snapshot alone', async () => {
    const [r1, r2] = [record('req-1'), record('req-2')];
    const path = await statePath();
    await writeFile(path, snapshot(1, [r1]));
    await writeFile(`${path}.journal`, line(2, [r2]));
    // The daemon's compaction, whole, while the reader reads the snapshot: the journal set aside and a new one
    // made, the snapshot of change 2 put in place, the old journal removed; no save since.
    let compacted = false;
    const compact = () => {
      compacted = true;
      renameSync(`${path}.journal`, `${path}.journal.old`);
      writeFileSync(`${path}.journal`, '');
      writeFileSync(`${path}.new`, snapshot(2, [r1, r2]));
      renameSync(`${path}.new`, path);
      rmSync(`${path}.journal.old`);
    };
    const read = (_section: string, _key: string, value: unknown) => {
      if (!compacted) compact();
      return value;
    };
    const stored = await readStoredState(path, { retry: true, read });
    expect(stored.seq).toBe(2);
    expect([...stored.records.watches.keys()]).toEqual([key('req-1'), key('req-2')]);
  });

  it('compacts a journal grown past the snapshot into a new snapshot, and keeps saving meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const path = await statePath();
    const store = await open(path);
    const { writes, big, round } = rounds(store);
    // The journal passes the 1 MiB floor after about a dozen rounds. Saves more than a second apart: no burst to wait for.
    for (let n = 0; n <= 16; n++) await round(n, 1500);
    await store.close();
    const files = writes.map(([, file]) => file);
    expect(files.filter((f) => f === 'journal').length).toBeGreaterThan(10);
    // The compaction once the journal passed 1 MiB, and the one at close.
    expect(files.filter((f) => f === 'snapshot')).toHaveLength(2);
    // A byte changed costs a byte in the journal and at most about one more in snapshots.
    expect(writes.reduce((sum, [bytes]) => sum + bytes, 0)).toBeLessThan(2 * 17 * 40 * 2100);
    expect(await readdir(join(path, '..'))).toEqual(['state.json']);
    const reopened = await open(path);
    expect(reopened.get(key('req-39'))).toEqual(big(39, 16));
    expect(reopened.size).toBe(40);
  });

  it('snapshots the records as they are in memory, and a change a snapshot took before its save is still written by that save', async () => {
    const { path, store, compactWith } = await compacting();
    store.set(key('late'), record('late', 'saved'));
    await store.save();
    // Changed in memory, its save not yet taken, while other saves grow the journal to a compaction.
    store.get(key('late'))!.name = 'changed';
    await compactWith(() => undefined);
    const snapshotted = await snapshotOf(path);
    expect(snapshotted.watches[key('late')]?.name).toBe('changed');
    store.touch(key('late'));
    await store.save();
    expect(await readFile(`${path}.journal`, 'utf8')).toContain(`"${key('late')}":`);
    expect((await readBack(path)).get(key('late'))?.name).toBe('changed');
  });

  it('writes what a record became after a snapshot took it early: changed back, added and removed, removed and added back', async () => {
    const { path, store, compactWith } = await compacting();
    for (const id of ['back', 'readded']) store.set(key(id), record(id, 'saved'));
    await store.save();
    // Each change is made in the save that starts the compaction, after that save took its changes.
    await compactWith(() => {
      store.get(key('back'))!.name = 'for a while';
      store.touch(key('back'));
      store.set(key('brief'), record('brief'));
      store.delete(key('readded'));
    });
    const snapshotted = await snapshotOf(path);
    expect(snapshotted.watches[key('back')]?.name).toBe('for a while');
    expect(Object.keys(snapshotted.watches)).toContain(key('brief'));
    expect(Object.keys(snapshotted.watches)).not.toContain(key('readded'));
    store.get(key('back'))!.name = 'saved';
    store.touch(key('back'));
    store.delete(key('brief'));
    store.set(key('readded'), record('readded', 'saved'));
    await store.save();
    // As a crash now would leave the files: read beside the running store, which would compact at close.
    const files = await readBack(path);
    expect(files.get(key('back'))?.name).toBe('saved');
    expect(files.get(key('brief'))).toBeUndefined();
    expect(files.get(key('readded'))?.name).toBe('saved');
  });

  it('writes a snapshot as it makes it, and what the next save writes follows what it wrote of each record, not what was in memory before or after', async () => {
    const path = await statePath();
    const store = await open(path);
    const writes: StateFileKind[] = [];
    store.onWrite((_, file) => writes.push(file));
    let armed = false;
    // Reached first, after `early`: `early` changes after it was written, `late` before it is.
    store.set(key('early'), record('early', 'saved'));
    store.set(key('trigger'), tripwire('trigger', () => armed, () => {
      rename(store, 'early', 'changed after');
      rename(store, 'late', 'changed before');
    }));
    await store.save();
    // The first save of many watches: a change of more than 1 MiB is written as a snapshot.
    for (let i = 0; i < 600; i++) store.set(key(`req-${i}`), record(`req-${i}`, 'x'.repeat(2000)));
    store.set(key('late'), record('late', 'saved'));
    armed = true;
    await store.save();
    expect(writes).toEqual(['journal', 'snapshot']);
    const snapshotted = await snapshotOf(path);
    expect(snapshotted.watches[key('early')]?.name).toBe('saved');
    expect(snapshotted.watches[key('late')]?.name).toBe('changed before');
    rename(store, 'late', 'saved');
    await store.save();
    const files = await readBack(path);
    expect(files.get(key('early'))?.name).toBe('changed after');
    expect(files.get(key('late'))?.name).toBe('saved');
    expect(files.size).toBe(603);
  });

  it('writes what a record became while a compaction wrote it in the background: changed back, removed and added back', async () => {
    const { path, store, compactWith } = await compacting();
    let armed = false;
    // Reached before `late` and `gone`, which change before the snapshot's text reaches them.
    store.set(key('trigger'), tripwire('trigger', () => armed, () => {
      rename(store, 'late', 'for a while');
      store.delete(key('gone'));
    }));
    for (const id of ['late', 'gone']) store.set(key(id), record(id, 'saved'));
    await store.save();
    await compactWith(() => {
      armed = true;
    });
    const snapshotted = await snapshotOf(path);
    expect(snapshotted.watches[key('late')]?.name).toBe('for a while');
    expect(Object.keys(snapshotted.watches)).not.toContain(key('gone'));
    rename(store, 'late', 'saved');
    store.set(key('gone'), record('gone', 'saved'));
    await store.save();
    const files = await readBack(path);
    expect(files.get(key('late'))?.name).toBe('saved');
    expect(files.get(key('gone'))?.name).toBe('saved');
  });

  it('writes a record removed before a compaction\'s text reached it and put back unchanged once its section was written', async () => {
    const { path, store, compactWith } = await compacting();
    let armed = false;
    store.set(key('trigger'), tripwire('trigger', () => armed, () => store.delete(key('gone'))));
    store.set(key('gone'), record('gone', 'saved'));
    // The tracking sections come after every watch: a project whose serialisation puts `gone` back as it
    // was and saves, while the compaction still writes.
    let putBack: Promise<void> | undefined;
    const project = { projectId: 'p1', since: null, horizon: null, baseline: null, deletedAtBaseline: [], cursor: null, lastError: null };
    store.tracking.projects['p1'] = Object.assign({ ...project }, {
      toJSON() {
        if (armed && putBack === undefined) {
          store.set(key('gone'), record('gone', 'saved'));
          putBack = store.save();
        }
        return project;
      },
    });
    store.touchTracking();
    await store.save();
    await compactWith(() => {
      armed = true;
    });
    expect(putBack).toBeDefined();
    await putBack;
    expect(Object.keys((await snapshotOf(path)).watches)).not.toContain(key('gone'));
    expect((await readBack(path)).get(key('gone'))?.name).toBe('saved');
  });

  it('waits for a pause in a burst of saves to compact, unless the journal grows to four times the size', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const path = await statePath();
    const store = await open(path);
    const { writes, round } = rounds(store);
    const journalBytes = () => writes.filter(([, file]) => file === 'journal').reduce((sum, [bytes]) => sum + bytes, 0);
    // A compaction begins with the journal's rename, before the save that starts it returns.
    const rotated = () => existsSync(`${path}.journal.old`);
    // Saves 20 ms apart, as in a wave of verdicts: the journal passes 1 MiB with no compaction.
    for (let n = 0; n < 16; n++) await round(n, 20);
    expect(journalBytes()).toBeGreaterThan(1024 * 1024);
    expect(rotated()).toBe(false);
    expect((await stat(`${path}.journal`)).size).toBe(journalBytes());
    // A second without saves: the next save, with nothing to write, compacts, and a new journal is ready.
    vi.advanceTimersByTime(1000);
    await store.save();
    await eventually(async () => expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json', 'state.json.journal']));
    expect(writes.filter(([, file]) => file === 'snapshot')).toHaveLength(1);
    expect((await stat(`${path}.journal`)).size).toBe(0);
    // A burst that does not pause: compacted once the journal holds four times the MiB.
    writes.length = 0;
    for (let n = 16; !rotated(); n++) await round(n, 20);
    expect(writes.filter(([, file]) => file === 'snapshot')).toEqual([]);
    expect(journalBytes()).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(journalBytes()).toBeLessThan(4 * 1024 * 1024 + 100_000);
    await store.close();
    const reopened = await open(path);
    expect(reopened.get(key('req-39'))?.name).toMatch(/^round \d+ x/);
    expect(reopened.size).toBe(40);
  });

  it('creates the journal ahead of the first line after a save written as a snapshot, and leaves one file at a clean stop', async () => {
    const path = await statePath();
    const store = await open(path);
    // Past a MiB: written as a snapshot.
    for (let i = 0; i < 600; i++) store.set(key(`req-${i}`), record(`req-${i}`, 'x'.repeat(2000)));
    await store.save();
    await savesIntoJournalMadeAhead(store, path, async () => {
      // A crash now leaves an empty journal: it reads back as the snapshot alone.
      const crashed = await StateStore.open(path, { readOnly: true });
      expect(crashed.size).toBe(600);
    });
    // Nothing written after the snapshot: the prepared journal is removed at the stop all the same.
    const again = await open(path);
    for (let i = 0; i < 600; i++) again.set(key(`req-${i}`), record(`req-${i}`, 'y'.repeat(2000)));
    await again.save();
    await again.close();
    expect(await readdir(join(path, '..'))).toEqual(['state.json']);
    // ...but not when another process owns the state: the journal at that path may be its own.
    const fenced = await open(path);
    // Twice the size of the snapshot: written as one again.
    for (let i = 0; i < 600; i++) fenced.set(key(`req-${i}`), record(`req-${i}`, 'z'.repeat(4000)));
    await fenced.save();
    await eventually(async () => expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json', 'state.json.journal']));
    expect((await stat(`${path}.journal`)).size).toBe(0);
    fenced.fence('the state lock was taken over');
    await expect(fenced.close()).rejects.toThrow(/not saved: the state lock was taken over/);
    expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json', 'state.json.journal']);
  });

  it('creates the journal ahead of the first line when it opens a state, so that the first save after a restart creates no file', async () => {
    const path = await statePath();
    const first = await open(path);
    first.set(key('req-1'), record('req-1'));
    await first.save();
    await first.close();
    expect(await readdir(join(path, '..'))).toEqual(['state.json']);
    // Started again on that state: nothing changes until the first verdict, whose save must not wait for a
    // new file and a sync of the folder.
    await savesIntoJournalMadeAhead(await open(path), path);
    // Opened and stopped with nothing saved: the journal made ahead is removed with the stop.
    const idle = await open(path);
    await eventually(async () => expect(existsSync(`${path}.journal`)).toBe(true));
    await idle.close();
    expect(await readdir(join(path, '..'))).toEqual(['state.json']);
    expect((await StateStore.open(path, { readOnly: true })).get(key('req-1'))?.name).toBe('changed');
  });

  it('after a line that failed on the open journal for any reason but space, writes a snapshot and starts a new journal', async () => {
    const path = await statePath();
    const store = await open(path);
    // A handle that fails at every write, as a stale NFS handle does: a named pipe takes no write at an
    // offset (ESPIPE). Read from, so that opening it does not wait for a reader.
    execFileSync('mkfifo', [`${path}.journal`]);
    const reader = openSync(`${path}.journal`, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      store.set(key('req-1'), record('req-1'));
      await expect(store.save()).rejects.toThrow(/state\.json: cannot be written: .*\(ESPIPE\)/);
      store.set(key('req-2'), record('req-2'));
      await store.save();
    } finally {
      closeSync(reader);
    }
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).watches).sort()).toEqual([key('req-1'), key('req-2')]);
    // The new journal is created in the background after the snapshot, ahead of the next line.
    await eventually(async () => expect((await stat(`${path}.journal`)).isFile()).toBe(true));
    store.set(key('req-3'), record('req-3'));
    await store.save();
    expect(Object.keys(stateOnDisk(path).watches).sort()).toEqual([key('req-1'), key('req-2'), key('req-3')]);
  });

  // A cleanup job removing files by age (systemd-tmpfiles, a `find -mtime +7 -delete`) takes the snapshot,
  // untouched for days, and leaves the lock and the journal, written to at every save: the lines written
  // after it began past change 1 with no snapshot, and a crash before the next compaction left files that a
  // start refuses ("Put the state file back"), the records only the snapshot held lost.
  it('writes the whole state as a snapshot after the snapshot was removed under it, so that a crash then leaves files a start reads', async () => {
    const path = await statePath();
    const first = await StateStore.open(path);
    first.set(key('req-1'), record('req-1'));
    await first.save();
    await first.close();
    const store = await open(path);
    await rm(path);
    store.set(key('req-2'), record('req-2'));
    await expect(store.save()).rejects.toThrow(/state\.json was removed while in use/);
    await store.save();
    // A crash now: the files as a start reads them.
    const stored = await readStoredState(path, { retry: false, read: (_section, _key, value) => value });
    expect([...stored.records.watches.keys()].sort()).toEqual([key('req-1'), key('req-2')]);
  });

  /** A store on `path` holding its lock, refreshed every `refreshMs`; `rewritten` has each call of onRewritten. */
  async function openLocked(path: string, refreshMs = 50) {
    const lock = await acquireStateLock(path, { logger: silentLogger(), timing: { refreshMs, staleMs: 30_000 } });
    onTestFinished(() => lock.release());
    const store = await StateStore.open(path, { lock });
    opened.push(store);
    const rewritten: string[][] = [];
    store.onRewritten((removed) => rewritten.push(removed));
    /** Resolves after `count` more refreshes of the lock (its file's time moves at each). */
    const refreshed = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const before = (await stat(lock.path)).mtimeMs;
        await waitUntil(async () => (await stat(lock.path)).mtimeMs !== before);
      }
    };
    return { store, rewritten, refreshed };
  }

  // A daemon idle for days (its watches running, no pass changing anything) saves nothing, and a cleanup job
  // by age takes the files it leaves untouched: no save came to notice it, and a crash then left a journal
  // that a start refuses, or no state at all (every finished watch notified again).
  it.for([
    ['the snapshot is', ['state.json']],
    ['the snapshot and the journal are', ['state.json', 'state.json.journal']],
    ['the journal is', ['state.json.journal']],
  ] as const)('writes the whole state again, with no save to prompt it, when %s removed under a store that saves nothing', async ([, names]) => {
    const path = await statePath();
    const first = await StateStore.open(path);
    first.set(key('req-1'), record('req-1'));
    await first.save();
    await first.close();
    const { store, rewritten } = await openLocked(path);
    store.set(key('req-2'), record('req-2'));
    await store.save();
    await Promise.all(names.map((name) => rm(join(path, '..', name))));
    await eventually(() => expect(rewritten).toEqual([names.map((name) => join(path, '..', name))]));
    // A crash now: the files as a start reads them.
    const stored = await readStoredState(path, { retry: false, read: (_section, _key, value) => value });
    expect([...stored.records.watches.keys()].sort()).toEqual([key('req-1'), key('req-2')]);
  });

  it('takes a state with no snapshot yet (its first changes in the journal alone) as it is, written again only once its journal is removed', async () => {
    const path = await statePath();
    const { store, rewritten, refreshed } = await openLocked(path);
    store.set(key('req-1'), record('req-1'));
    await store.save();
    await refreshed(3);
    expect(rewritten).toEqual([]);
    expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json.journal', 'state.json.lock']);
    await rm(`${path}.journal`);
    await eventually(() => expect(rewritten).toEqual([[`${path}.journal`]]));
    expect(Object.keys(stateOnDisk(path).watches)).toEqual([key('req-1')]);
  });

  // A compaction renames the journal to the old one and replaces the snapshot by a rename: neither is a removal.
  it('takes no compaction for a removal, while saves compact the journal again and again under refreshes of the lock', async () => {
    const path = await statePath();
    const { store, rewritten } = await openLocked(path, 2);
    let compactions = 0;
    store.onCompacted(() => compactions++);
    // 20 records of 100 kB: a 2 MB snapshot, compacted every 20 saves.
    const text = 'x'.repeat(100_000);
    for (let i = 0; compactions < 6; i++) {
      store.set(key(`req-${i % 20}`), record(`req-${i % 20}`, `${text}${i}`));
      await store.save();
    }
    expect(rewritten).toEqual([]);
  });

  it('writes the whole state as a snapshot after the journal was removed under it, so that none of its lines is lost', async () => {
    const path = await statePath();
    const store = await open(path);
    for (const id of ['req-1', 'req-2']) {
      store.set(key(id), record(id));
      await store.save();
    }
    // Someone cleans the folder up: the lines of req-1 and req-2 are gone from every file.
    await rm(`${path}.journal`);
    store.set(key('req-3'), record('req-3'));
    await expect(store.save()).rejects.toThrow(/was removed while in use/);
    await store.save();
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).watches).sort()).toEqual([key('req-1'), key('req-2'), key('req-3')]);
    // And lines again from then on, not the whole state at every save.
    store.set(key('req-4'), record('req-4'));
    await store.save();
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).watches)).not.toContain(key('req-4'));
    expect(await readFile(`${path}.journal`, 'utf8')).toContain(key('req-4'));
    expect(Object.keys(stateOnDisk(path).watches).sort()).toEqual([key('req-1'), key('req-2'), key('req-3'), key('req-4')]);
    expect((await readBack(path)).entries().map(([k]) => k).sort()).toEqual([key('req-1'), key('req-2'), key('req-3'), key('req-4')]);
  });

  it('compacts a small journal once its first line is an hour old', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const path = await statePath();
    const store = await open(path);
    store.set(key('req-1'), record('req-1'));
    await store.save();
    vi.advanceTimersByTime(59 * 60_000);
    store.set(key('req-2'), record('req-2'));
    await store.save();
    expect(await readdir(join(path, '..'))).toEqual(['state.json.journal']);
    vi.advanceTimersByTime(60_000);
    store.set(key('req-3'), record('req-3'));
    await store.save();
    await eventually(async () => expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json', 'state.json.journal']));
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).watches).sort()).toEqual([key('req-1'), key('req-2'), key('req-3')]);
  });

  it('keeps the journal when the snapshot at a clean stop cannot be written, and starts from it', async () => {
    const path = await statePath();
    const store = await open(path);
    store.set(key('req-1'), record('req-1'));
    await store.save();
    // What stands where the snapshot goes makes its rename fail.
    await mkdir(path);
    await expect(store.close()).rejects.toThrow(/state\.json: cannot be written/);
    await rmdir(path);
    expect((await readBack(path)).get(key('req-1'))).toEqual(record('req-1'));
  });

  it('fails the save that needed a journal it could not create, and creates it at the next save', async () => {
    const path = await statePath();
    const store = await open(path);
    await mkdir(`${path}.journal`);
    store.set(key('req-1'), record('req-1'));
    await expect(store.save()).rejects.toThrow(/state\.json: cannot be written: .*(EISDIR|directory)/);
    await rmdir(`${path}.journal`);
    await store.save();
    expect(await readFile(`${path}.journal`, 'utf8')).toMatch(/^\{"seq":1,"watches":\{"p1\/s1\/req-1":/);
  });

  it('reports a compaction that failed, goes on saving into the journal, and compacts a minute later', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const path = await statePath();
    const store = await open(path);
    const failures: string[] = [];
    store.onCompactionFailed((err) => failures.push(err.message));
    const { big, round: roundAfter } = rounds(store);
    const round = (n: number) => roundAfter(n, 1500);
    // What stands where the snapshot goes makes its rename fail.
    await mkdir(path);
    for (let n = 0; n <= 13; n++) await round(n);
    await eventually(() => expect(failures).toEqual([expect.stringMatching(/state\.json: cannot be written: .*EISDIR|state\.json: cannot be written: .*directory/)]));
    await round(14);
    expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json', 'state.json.journal', 'state.json.journal.old']);
    await rmdir(path);
    await round(15);
    // Not tried again before the minute is over, by the monotonic clock: this host's set back an hour meanwhile does not hold it off.
    expect(await readdir(join(path, '..'))).toContain('state.json.journal.old');
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(61_000);
    await round(16);
    await eventually(async () => expect((await readdir(join(path, '..'))).sort()).toEqual(['state.json', 'state.json.journal']));
    expect(failures).toHaveLength(1);
    const reopened = await StateStore.open(path);
    opened.push(reopened);
    expect(reopened.get(key('req-7'))).toEqual(big(7, 16));
  });

  it('counts a change written as a snapshot even when a journal left beside it cannot be removed, so that its number is not used again', async () => {
    const path = await statePath();
    const store = await open(path);
    const failures: string[] = [];
    store.onCompactionFailed((err) => failures.push(err.message));
    // A change past a MiB is written as a snapshot; what stands where the old journal was makes its removal fail.
    await mkdir(`${path}.journal.old`);
    store.set(key('req-1'), record('req-1', 'x'.repeat(1024 * 1024)));
    await store.save();
    expect(failures).toEqual([expect.stringMatching(/state\.json\.journal\.old/)]);
    await rmdir(`${path}.journal.old`);
    store.set(key('req-1'), record('req-1', 'small again'));
    store.set(key('req-2'), record('req-2'));
    await store.save();
    expect(stateOnDisk(path)).toMatchObject({ seq: 2, watches: { [key('req-1')]: record('req-1', 'small again'), [key('req-2')]: record('req-2') } });
  });

  it('writes nothing more once closed', async () => {
    const path = await statePath();
    const store = await open(path);
    store.set(key('req-1'), record('req-1'));
    await store.close();
    store.set(key('req-2'), record('req-2'));
    await expect(store.save()).rejects.toThrow(/state\.json: not saved: the state was closed/);
    expect(await readdir(join(path, '..'))).toEqual(['state.json']);
  });
});

describe("the journal's writer", () => {
  /** A writer of the journal of a new state file; `lock.refusals`: how many of its next checks find the state another process's. */
  async function writer(): Promise<{ journal: JournalWriter; path: string; lock: { refusals: number; checks: number } }> {
    const path = `${await statePath()}.journal`;
    const lock = { refusals: 0, checks: 0 };
    const ours = () => {
      lock.checks++;
      if (lock.refusals === 0) return Promise.resolve();
      lock.refusals--;
      return Promise.reject(new Error('the state lock was taken over'));
    };
    const journal = new JournalWriter(path, ours);
    // Its file handle is closed by the test, not left to the garbage collector.
    onTestFinished(() => journal.close());
    return { journal, path, lock };
  }

  it("neither renames nor removes its file once the state is another process's, whose journal it may be by then", async () => {
    const { journal, path, lock } = await writer();
    await journal.append(['{"seq":1,"watches":{}}\n']);
    lock.refusals = Infinity;
    await expect(journal.rotate(`${path}.old`)).rejects.toThrow(/taken over/);
    await expect(journal.remove()).rejects.toThrow(/taken over/);
    expect(await readdir(join(path, '..'))).toEqual(['state.json.journal']);
    expect(await readFile(path, 'utf8')).toBe('{"seq":1,"watches":{}}\n');
  });

  it('creates its file for the first line when the try made ahead of it fails, with the line written', async () => {
    const { journal, path, lock } = await writer();
    // The try ahead (a check of the lock that failed for a moment) is the one the line waits on.
    lock.refusals = 1;
    journal.prepare();
    expect(await journal.append(['{"seq":1,"watches":{}}\n'])).toBe(23);
    expect(lock.checks).toBe(2);
    expect(await readFile(path, 'utf8')).toBe('{"seq":1,"watches":{}}\n');
  });
});
