import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile, readdir, stat } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, watchKey } from '../../src/state/store.ts';
import { StateError, stateFailure } from '../../src/state/StateError.ts';
import type { StateLock } from '../../src/state/lock.ts';
import type { ActionWatchRecord, BatchRecord, ClockRecord, DeliveryRecord, JobWatchRecord, TrackedServerRecord } from '../../src/state/types.ts';
import { jobSchema } from '../../src/cloud/schemas.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import { stateFiles, stateOnDisk } from './onDisk.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Capture } from '../e2e/harness.ts';

const ref = { projectId: 'p1', serverId: 's1', requestId: 'req-1' };
function record(): ActionWatchRecord {
  return { ...ref, name: null, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false, lastError: null, failingSince: null, instanceAction: null, server: null, verdict: null, deliveries: dictionary() };
}

async function tempDir() {
  return mkdtemp(join(tmpdir(), 'eaw-state-'));
}

// Every store a test opens is closed after it: an open journal's file handle must not outlive its test.
const opened: StateStore[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
});

async function openStore(...args: Parameters<typeof StateStore.open>): Promise<StateStore> {
  const store = await StateStore.open(...args);
  opened.push(store);
  return store;
}

describe('StateStore', () => {
  it('starts empty when the file is missing and creates its folder on save', async () => {
    const path = join(await tempDir(), 'nested', 'deeper', 'state.json');
    const store = await openStore(path);
    expect(store.entries()).toEqual([]);
    store.set(watchKey(ref), record());
    await store.save();
    const again = await openStore(path);
    expect(again.get('p1/s1/req-1')).toMatchObject({ requestId: 'req-1' });
  });

  it('leaves no temporary file behind and coalesces concurrent saves into one journal line', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const store = await openStore(path);
    store.set('a', record());
    const saves = [store.save(), store.save(), store.save()];
    store.set('b', record());
    saves.push(store.save());
    await Promise.all(saves);
    expect(await readdir(dir)).toEqual(['state.json.journal']);
    // Asked for before the first began: one line, one durable write.
    expect((await readFile(`${path}.journal`, 'utf8')).split('\n')).toHaveLength(2);
    expect(Object.keys(stateOnDisk(path).watches).sort()).toEqual(['a', 'b']);
  });

  it('refuses a corrupt file instead of starting afresh (which would re-notify)', async () => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, '{"version":1,"watches":{');
    await expect(openStore(path)).rejects.toThrow(StateError);
    await expect(openStore(path)).rejects.toThrow(/is not valid JSON.*move it aside/);
    expect(await openStore(path).catch((e: unknown) => (e as StateError).transient)).toBe(false);
  });

  // A crash on a file system that lost the snapshot's data (an fsync that lied) leaves it empty beside its
  // journal; told to move the snapshot alone aside, the operator met a start refused for the journal next.
  it.each([
    ['emptied by a crash', ''],
    ['that is not a state file', '{"version":1}'],
  ])('names the journal beside a snapshot %s, so that moving aside what the message names starts afresh', async (_, text) => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    await store.save();
    await store.close();
    const again = await openStore(path);
    again.set(watchKey({ ...ref, requestId: 'req-2' }), { ...record(), requestId: 'req-2' });
    await again.save();
    await writeFile(path, text);
    const err = await openStore(path).then(() => undefined, (e: unknown) => e as StateError);
    expect(err?.message).toMatch(new RegExp(`move it and its journal \\(${path}\\.journal\\) aside together .*to start afresh, which re-notifies finished watches$`));
    for (const file of [path, `${path}.journal`]) await rename(file, `${file}.aside`);
    expect((await openStore(path)).entries()).toEqual([]);
  });

  /** A state file saved with two watches, req-1 and req-2, closed: its path and its lines. */
  const savedWithTwoWatches = async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    store.set(watchKey({ ...ref, requestId: 'req-2' }), { ...record(), requestId: 'req-2' });
    await store.close();
    return { path, lines: (await readFile(path, 'utf8')).split('\n') };
  };

  it('says where a hand edit broke the JSON of the state file, so that it can be mended there rather than moved aside, quoting none of it', async () => {
    const { path, lines } = await savedWithTwoWatches();
    expect(lines[1]).toMatch(/^"p1\/s1\/req-1":\{.*\},$/);
    // A comma left after the last watch, a word mistyped, a value in single quotes; a copy cut off after a watch.
    const edits: Array<[string[], string]> = [
      [lines.map((line, i) => (i === 2 ? `${line},` : line)), 'line 4, column 1 (a hand edit?)'],
      [lines.map((line, i) => (i === 1 ? line.replace('"everFound":false', '"everFound":flase') : line)), `line 2, column ${lines[1]!.indexOf('"everFound":') + 13} (a hand edit?)`],
      [lines.map((line, i) => (i === 2 ? line.replace('"name":null', "'name':null") : line)), `line 3, column ${lines[2]!.indexOf('"name"') + 1} (a hand edit?)`],
      [[...lines.slice(0, 2), ''], 'line 3, column 1 (where it ends short: a copy cut off?)'],
    ];
    for (const [edited, at] of edits) {
      await writeFile(path, edited.join('\n'));
      const err = await openStore(path).then(() => undefined, (e: unknown) => e as StateError);
      expect(err?.message).toContain(`is not valid JSON: if it is not the state file, correct state.path; if it is, mend it where its JSON breaks, at ${at}, or move it aside to start afresh`);
      expect(err?.message).not.toMatch(/flase|'name'|req-/);
    }
  });

  it('says where the JSON breaks counted in the whole file when the break comes after the watches (a batch edited, a copy cut off there)', async () => {
    const { path, lines } = await savedWithTwoWatches();
    expect(lines.slice(3)).toEqual(['},', '"batches":{}}', '']);
    const edits: Array<[string[], string]> = [
      [lines.map((line, i) => (i === 4 ? '"batches":{},}' : line)), 'line 5, column 14 (a hand edit?)'],
      [[...lines.slice(0, 4), '"batches":{'], 'line 5, column 12 (where it ends short: a copy cut off?)'],
    ];
    for (const [edited, at] of edits) {
      await writeFile(path, edited.join('\n'));
      const err = await openStore(path).then(() => undefined, (e: unknown) => e as StateError);
      expect(err?.message).toContain(`mend it where its JSON breaks, at ${at}, or move it aside to start afresh`);
    }
  });

  it('reads a state file that an editor saved with a byte order mark, which it does not show, as the file it shows', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    await store.close();
    // Windows PowerShell's Set-Content -Encoding UTF8, or Notepad's "UTF-8 with BOM", after a hand edit.
    await writeFile(path, `\uFEFF${await readFile(path, 'utf8')}`);
    const again = await openStore(path);
    expect(again.entries()).toEqual([[watchKey(ref), record()]]);
  });

  it('tells a failure that may pass (a full disk) from a file or setting that must be fixed first', () => {
    const failure = (code: string) => new StateError('/s', 'cannot be read', { code });
    expect([failure('ENOSPC').transient, failure('EIO').transient]).toEqual([true, true]);
    expect([failure('EACCES').transient, failure('EISDIR').transient, new StateError('/s', 'is on /proc').transient]).toEqual([false, false, false]);
  });

  it('says a refused permission once, and which folder the daemon\'s user needs', () => {
    const lock = '/srv/state/state.json.lock';
    const denied = Object.assign(new Error(`EACCES: permission denied, open '${lock}'`), { errno: -constants.errno.EACCES, code: 'EACCES', syscall: 'open', path: lock });
    const err = stateFailure('/srv/state/state.json', `cannot create its lock file ${lock}`, denied);
    expect(err.message).toBe(
      `state file /srv/state/state.json: cannot create its lock file ${lock}: permission denied (EACCES): ` +
        'the user ecs-action-watch runs as needs to read and write /srv/state and the files in it: grant it, or set state.path to a file in a folder it can write',
    );
    expect([err.code, err.transient, err.cause]).toEqual(['EACCES', false, undefined]);
  });

  it('quotes nothing of a state path that names some other file (a token file, by mistake)', async () => {
    const path = join(await tempDir(), 'token');
    await writeFile(path, 'gAAAAABsecret-token-value\n');
    const err = await openStore(path).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/is not valid JSON: if it is not the state file, correct state\.path/);
    expect(err?.message).not.toContain('gAAAA');
    // pino's error serializer appends the causes' messages, and V8's quotes the text.
    expect(err?.cause).toBeUndefined();
  });

  it('refuses a JSON file that is not a state file', async () => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, '[1,2,3]');
    await expect(openStore(path)).rejects.toThrow(/not an ecs-action-watch state file/);
    // Which field is wrong, so that a hand-edited or restored file can be mended rather than thrown away.
    await writeFile(path, '{"version":1,"seq":-1,"watches":{}}');
    await expect(openStore(path)).rejects.toThrow(/not an ecs-action-watch state file \(expected .*; seq: .*>=0\): if it is not the state file, correct state\.path; if it is, move it aside/);
  });

  it('refuses a state file of a newer format (a downgrade) as such, never with advice to start afresh', async () => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, `${JSON.stringify({ version: 2, seq: 7, watches: {}, batches: {} })}\n`);
    const err = await openStore(path).then(() => undefined, (e: unknown) => e as StateError);
    // Moved aside as "not a state file", it would have every finished watch notified again.
    expect(err?.message).toBe(
      `state file ${path}: was written by a newer ecs-action-watch (state format 2; this one reads 1): run that version or a later one on it. ` +
        'This one cannot read it, and must not start without it: every finished watch would be notified again',
    );
    expect(err?.transient).toBe(false);
    // What is no whole number of a format is no state file.
    await writeFile(path, '{"version":"2","watches":{}}');
    await expect(openStore(path)).rejects.toThrow(/not an ecs-action-watch state file/);
  });

  it('never writes in read-only mode', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path, { readOnly: true });
    store.set('a', record());
    await store.save();
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
    // Nor a journal beside it: `check` reads a daemon's state while that daemon writes it.
    expect(await readdir(dirname(path))).toEqual([]);
  });

  it('refuses a state path it cannot read, naming it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), 'x');
    await expect(openStore(join(dir, 'file', 'state.json'))).rejects.toThrow(/^state file .*file\/state.json: cannot be read: not a directory \(ENOTDIR\): a part of that path is a file, not a folder: correct state\.path$/);
  });

  it('reports a failed write with the path and keeps the change for the next save', async () => {
    const dir = await tempDir();
    const store = await openStore(join(dir, 'sub', 'state.json'));
    await writeFile(join(dir, 'sub'), 'now a file, not a folder');
    store.set('a', record());
    await expect(store.save()).rejects.toThrow(/sub\/state.json: cannot be written/);
    await expect(store.checkWritable()).rejects.toThrow(/sub\/state.json: cannot create a file in its folder: file already exists \(EEXIST\) at .*\/sub: a file is where that folder should be/);
    expect(store.get('a')).toBeDefined();
  });

  it('says a failed save once, what failed, where and what to do, also where it is logged', async () => {
    const dir = await tempDir();
    const store = await openStore(join(dir, 'sub', 'state.json'));
    await writeFile(join(dir, 'sub'), 'now a file, not a folder');
    store.set('a', record());
    const err = await store.save().then(() => undefined, (e: unknown) => e as StateError);
    expect(err?.message).toBe(
      `state file ${dir}/sub/state.json: cannot be written: file already exists (EEXIST) at ${dir}/sub: a file is where that folder should be: remove it, or correct state.path`,
    );
    const logs = new Capture();
    (await createLogger({ destination: logs })).error({ err }, 'state could not be saved');
    const [line] = logs.lines() as Array<{ err: { message: string; code: string } }>;
    expect(line!.err).toMatchObject({ message: err!.message, code: 'EEXIST' });
  });

  it('is not writable for /readyz while saves fail though its folder takes a new file (a full disk), and tells', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const store = await openStore(path);
    const failures: StateError[] = [];
    store.onSaveFailed((err) => failures.push(err));
    await store.checkWritable();
    // The journal cannot be written (a folder in its place), while an empty file can still be made beside it.
    await mkdir(join(dir, 'state.json.journal', 'in-the-way'), { recursive: true });
    store.set('a', record());
    await expect(store.save()).rejects.toThrow(/cannot be written/);
    expect(failures).toHaveLength(1);
    await expect(store.checkWritable()).rejects.toThrow(/state.json.journal|cannot be written/);
    // Until a save succeeds.
    await rm(join(dir, 'state.json.journal'), { recursive: true });
    await store.save();
    await store.checkWritable();
    expect(failures).toHaveLength(1);
  });

  it('is unsaved for /readyz from the failed save of the parts before it (a reload on a full volume) until a save of its own writes, the whole state even with nothing changed', async () => {
    const path = join(await tempDir(), 'state.json');
    const failed = new StateError(path, 'cannot be written: no space left on device (ENOSPC)');
    const store = await openStore(path, { unsaved: failed });
    const writes: string[] = [];
    store.onWrite((_bytes, file) => writes.push(file));
    let savedAgain = 0;
    store.onSavedAgain(() => savedAgain++);
    expect(store.saveFailure).toBe(failed);
    await expect(store.checkWritable()).rejects.toBe(failed);
    await store.save();
    expect(writes).toEqual(['snapshot']);
    expect([store.saveFailure, savedAgain]).toEqual([null, 1]);
    await store.checkWritable();
  });
});

const delivered = (id: string): DeliveryRecord => ({
  id, status: 'delivered', attempts: 1, createdAt: '2026-11-26T10:05:00.000Z', nextAttemptAt: null, lastError: null, updatedAt: '2026-11-26T10:05:01.000Z',
});
const finished = (requestId: string): ActionWatchRecord => ({
  ...record(),
  requestId,
  verdict: { outcome: 'success', reason: 'done', detectedAt: '2026-11-26T10:05:00.000Z' },
  deliveries: dictionary([['chat', delivered(`d-${requestId}`)]]),
});

describe('StateStore with hostile records', () => {
  const good = finished('req-good');
  const hostile: Array<[string, (key: string) => unknown, RegExp]> = [
    ['an empty record', () => ({}), /projectId: .*expected string/],
    ['no deliveries', () => { const { deliveries: _, ...rest } = finished('req-x'); return rest; }, /deliveries: /],
    ['a trackingSince that is no time', () => ({ ...finished('req-x'), trackingSince: 'yesterday-ish' }), /trackingSince: expected an ISO 8601 time/],
    ['a nextAttemptAt that is no date', () => ({ ...finished('req-x'), deliveries: { chat: { ...delivered('d'), status: 'pending', nextAttemptAt: 'not-a-date' } } }), /deliveries.chat.nextAttemptAt: expected an ISO 8601 time/],
    ['a failingSince that is no time', () => ({ ...finished('req-x'), failingSince: 'since lunch' }), /failingSince: expected an ISO 8601 time/],
    // Owed to nobody would be delivered to nobody: an edited file, not one the daemon writes.
    ['a delivery owed to no recipient', () => ({ ...finished('req-x'), deliveries: { mail: { ...delivered('d'), status: 'pending', owedTo: [] } } }), /deliveries.mail.owedTo: /],
    ['a delivery owed to an empty address', () => ({ ...finished('req-x'), deliveries: { mail: { ...delivered('d'), status: 'pending', owedTo: [''] } } }), /deliveries.mail.owedTo.0: /],
    ['a verdict that is a number', () => ({ ...finished('req-x'), verdict: 42 }), /verdict: .*expected object/],
    ['deliveries without a verdict', () => ({ ...finished('req-x'), verdict: null }), /deliveries: deliveries without a verdict/],
    ['a key that does not match its ids', () => finished('req-other'), /\(the key\): does not match/],
  ];

  it.each(hostile)('sets aside %s, whole, naming the file and the watch, and keeps the others', async (_what, make, problem) => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const badKey = 'p1/s1/req-x';
    const bad = make(badKey);
    await writeFile(path, JSON.stringify({ version: 1, watches: { [watchKey(good)]: good, [badKey]: bad } }));
    const store = await openStore(path);
    expect(store.setAside).toEqual([{ key: badKey, problems: expect.arrayContaining([expect.stringMatching(problem)]) }]);
    expect(store.get(watchKey(good))).toEqual(good);
    expect(store.get(badKey)).toBeUndefined();
    // Kept, with its problems, next to the state; the state file itself no longer holds it after the next save.
    expect(store.setAsidePath).toMatch(/state\.json\.rejected-\d{8}T\d{6}\d*Z\.json$/);
    const kept = JSON.parse(await readFile(store.setAsidePath!, 'utf8')) as { from: string; watches: Record<string, { record: unknown; problems: string[] }> };
    expect(kept.from).toBe(path);
    expect(kept.watches[badKey]!.record).toEqual(bad);
    await store.save();
    const rewritten = JSON.parse(await readFile(path, 'utf8')) as { watches: Record<string, unknown> };
    expect(Object.keys(rewritten.watches)).toEqual([watchKey(good)]);
  });

  it('sets aside in memory only when read-only', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    await writeFile(path, JSON.stringify({ version: 1, watches: { 'p1/s1/req-x': { verdict: 42 } } }));
    const store = await openStore(path, { readOnly: true });
    expect(store.setAside.map((s) => s.key)).toEqual(['p1/s1/req-x']);
    expect(store.setAsidePath).toBeNull();
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('keeps deliveries to notifiers named constructor, toString and __proto__', async () => {
    const path = join(await tempDir(), 'state.json');
    const names = ['constructor', 'toString', '__proto__'];
    const text = `{"version":1,"watches":{"p1/s1/req-1":${JSON.stringify({ ...finished('req-1'), deliveries: {} }).replace('"deliveries":{}', `"deliveries":{${names.map((n) => `"${n}":${JSON.stringify(delivered(n))}`).join(',')}}`)}}}`;
    await writeFile(path, text);
    const store = await openStore(path);
    expect(store.setAside).toEqual([]);
    const deliveries = store.get('p1/s1/req-1')!.deliveries;
    expect(Object.keys(deliveries)).toEqual(names);
    expect(deliveries['__proto__']!.id).toBe('__proto__');
    store.touch();
    await store.save();
    expect(Object.keys((await openStore(path)).get('p1/s1/req-1')!.deliveries)).toEqual(names);
  });
});

describe('StateStore on files that are not plain files', () => {
  it('refuses a FIFO instead of waiting for a writer', async () => {
    const path = join(await tempDir(), 'state.json');
    execFileSync('mkfifo', [path]);
    await expect(openStore(path, { readOnly: true })).rejects.toThrow(/state\.json: is a named pipe \(FIFO\), not a regular file/);
  });

  it('refuses a path under /proc instead of reading the kernel forever', async () => {
    await expect(openStore('/proc/self/pagemap', { readOnly: true })).rejects.toThrow(/is on \/proc, whose files the kernel generates/);
  });

  it('refuses a file far larger than any state', async () => {
    const path = join(await tempDir(), 'state.json');
    const { truncate } = await import('node:fs/promises');
    await writeFile(path, '');
    await truncate(path, 300 * 1024 * 1024);
    await expect(openStore(path, { readOnly: true })).rejects.toThrow(/is 300 MiB, more than the 256 MiB allowed/);
    // Just over: its size rounded up, never read as the limit itself.
    await truncate(path, 256 * 1024 * 1024 + 1);
    await expect(openStore(path, { readOnly: true })).rejects.toThrow(/is 256\.1 MiB, more than the 256 MiB allowed/);
  });

  it('keeps a state.path that is a symbolic link pointing at its target, which gets the saves and the journal', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'volume'));
    const target = join(dir, 'volume', 'state.json');
    await writeFile(target, `${JSON.stringify({ version: 1, seq: 0, watches: {}, batches: {} })}\n`);
    const path = join(dir, 'state.json');
    await symlink(target, path);
    const store = await openStore(path);
    expect(store.path).toBe(target);
    store.set(watchKey(ref), record());
    await store.save();
    // Read through the link as `check` reads it: the journal beside the target, where the save went.
    expect((await openStore(path, { readOnly: true })).get(watchKey(ref))).toBeDefined();
    expect(await readdir(join(dir, 'volume'))).toEqual(['state.json', 'state.json.journal']);
    await store.close();
    // Renamed over the link, the snapshot would have replaced it with a file of its own, left the target
    // (on the volume that outlives a restart) as it was, and the journal would have gone beside the link.
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    expect(Object.keys(stateOnDisk(target).watches)).toEqual([watchKey(ref)]);
    expect(await readdir(join(dir, 'volume'))).toEqual(['state.json']);
  });

  it('creates the file a symbolic link to nothing yet points to, and keeps the link', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'volume'));
    const path = join(dir, 'state.json');
    // Relative, as `ln -s volume/state.json state.json` makes it.
    await symlink(join('volume', 'state.json'), path);
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    await store.close();
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    expect(Object.keys(stateOnDisk(join(dir, 'volume', 'state.json')).watches)).toEqual([watchKey(ref)]);
    expect(await readdir(dir)).toEqual(['state.json', 'volume']);
  });
});

describe('StateStore round trip', () => {
  it('keeps every field of a record, the verdict memory included', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    // A delivery still owed: a settled watch gives up its payload and its memory at open.
    const full: ActionWatchRecord = {
      ...finished('req-1'),
      deliveries: dictionary([['chat', { ...delivered('d-req-1'), status: 'pending' }]]),
      observed: { firstNotFoundAt: '2026-11-26T10:01:00.000Z', notFoundAnswers: 3, serverGoneSince: null, serverGoneAnswers: 0, migrationsReadable: false, migrationsRefusedAnswers: 1, stallCheckedAt: '2026-11-26T10:20:00.000Z', erroredSince: '2026-11-26T10:20:00.000Z', finishSeenAt: null },
      warning: { reason: 'resize still running', detectedAt: '2026-11-26T10:02:00.000Z', deliveries: dictionary([['chat', { ...delivered('w'), status: 'superseded' as const }]]) },
      batch: 'fleet',
      lastError: 'HTTP 503 from the compute API',
      failingSince: '2026-11-26T10:01:30.000Z',
    };
    store.set(watchKey(full), full);
    await store.save();
    expect((await openStore(path)).get(watchKey(full))).toEqual(full);
  });

  it('keeps a job record whole, its last job document included while a delivery is owed, under its own key', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    const job: JobWatchRecord = {
      kind: 'ecs-job', projectId: 'p1', jobId: 'j1', name: 'batch', trackingSince: '2026-11-26T10:00:00.000Z', everFound: true,
      observed: { firstNotFoundAt: null, notFoundAnswers: 0 }, lastError: null, failingSince: null,
      job: jobSchema.parse(JSON.parse(readFileSync(new URL('../fixtures/ecs-api-samples/job-show-resp.json', import.meta.url), 'utf8'))),
      verdict: { outcome: 'success', reason: 'createServer: succeeded', detectedAt: '2026-11-26T10:05:00.000Z' },
      deliveries: dictionary([['chat', { ...delivered('d-j1'), status: 'pending' }]]),
    };
    store.set(watchKey(job), job);
    await store.save();
    expect(watchKey(job)).toBe('p1/jobs/j1');
    expect((await openStore(path)).get('p1/jobs/j1')).toEqual(job);
  });

  it('sets aside a job record that lacks what a job needs, naming the fields', async () => {
    const path = join(await tempDir(), 'state.json');
    const raw = { kind: 'ecs-job', projectId: 'p1', jobId: 'j1', name: null, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false, lastError: null, verdict: null, deliveries: {} };
    await writeFile(path, JSON.stringify({ version: 1, watches: { 'p1/jobs/j1': raw } }));
    const store = await openStore(path);
    expect(store.setAside).toEqual([{ key: 'p1/jobs/j1', problems: [expect.stringMatching(/^observed: /), expect.stringMatching(/^job: /)] }]);
  });

  it('keeps batches with their digests, and sets a bad one aside without touching the watches', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    const member = { key: watchKey(ref), watch: { name: null, ...ref }, outcome: null, reason: 'pending', detectedAt: null };
    const batch: BatchRecord = { label: 'fleet', digests: [{ round: 1, final: false, detectedAt: '2026-11-26T10:00:00.000Z', members: [member], deliveries: dictionary([['chat', delivered('b')]]) }] };
    store.set(watchKey(ref), finished('req-1'));
    store.setBatch(batch);
    await store.save();
    expect((await openStore(path)).getBatch('fleet')).toEqual(batch);

    const text = JSON.parse(await readFile(path, 'utf8')) as { batches: Record<string, unknown> };
    text.batches['other'] = { label: 'other', digests: [{ round: 0 }] };
    await writeFile(path, JSON.stringify(text));
    const reopened = await openStore(path);
    expect(reopened.setAside).toEqual([{ key: 'batch:other', problems: expect.arrayContaining([expect.stringMatching(/^digests\.0\.round: /)]) }]);
    expect(reopened.getBatch('fleet')).toEqual(batch);
    expect(reopened.get(watchKey(ref))).toBeDefined();
  });

  it('keeps a batch labelled __proto__ (a label the watch file accepts) and a project of that id, from the journal and from the snapshot', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    const batch: BatchRecord = { label: '__proto__', digests: [{ round: 1, final: true, detectedAt: '2026-11-26T10:00:00.000Z', members: [], deliveries: dictionary([['chat', delivered('b')]]) }] };
    store.setBatch(batch);
    store.tracking.projects['__proto__'] = { projectId: '__proto__', since: null, horizon: null, baseline: null, deletedAtBaseline: [], cursor: null, lastError: null };
    store.touchTracking();
    await store.save();
    // Dropped at load, the batch's digests would be sent again after every restart.
    const fromJournal = await openStore(path, { readOnly: true });
    await store.close();
    const fromSnapshot = await openStore(path, { readOnly: true });
    for (const reopened of [fromJournal, fromSnapshot]) {
      expect(reopened.setAside).toEqual([]);
      expect(reopened.getBatch('__proto__')).toEqual(batch);
      expect(Object.keys(reopened.tracking.projects)).toEqual(['__proto__']);
    }
  });

  it('reads records written before failingSince existed as not failing, and writes nothing for them', async () => {
    const path = join(await tempDir(), 'state.json');
    const { failingSince: _, ...action } = { ...record(), lastError: 'HTTP 500 from the compute API' };
    const job = {
      kind: 'ecs-job', projectId: 'p1', jobId: 'j1', name: null, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false,
      observed: { firstNotFoundAt: null, notFoundAnswers: 0 }, lastError: null, job: null, verdict: null, deliveries: {},
    };
    await writeFile(path, JSON.stringify({ version: 1, watches: { [watchKey(ref)]: action, 'p1/jobs/j1': job } }));
    const before = stateFiles(path);
    const store = await openStore(path);
    expect(store.setAside).toEqual([]);
    expect(store.get(watchKey(ref))).toEqual({ ...action, failingSince: null });
    expect(store.get('p1/jobs/j1')).toMatchObject({ lastError: null, failingSince: null });
    store.touch();
    await store.save();
    expect(stateFiles(path)).toEqual(before);
  });

  it.each([true, false, null])('reads a record written before refusals of os-migrations were counted (migrationsReadable %s) as counting none, and before long-running events were looked at as none looked at', async (readable) => {
    const path = join(await tempDir(), 'state.json');
    const observed = { firstNotFoundAt: null, notFoundAnswers: 0, serverGoneSince: null, serverGoneAnswers: 0, migrationsReadable: readable };
    await writeFile(path, JSON.stringify({ version: 1, watches: { [watchKey(ref)]: { ...record(), observed } } }));
    const store = await openStore(path);
    expect(store.setAside).toEqual([]);
    expect(store.get(watchKey(ref))).toEqual({ ...record(), observed: { ...observed, migrationsRefusedAnswers: 0, stallCheckedAt: null, erroredSince: null, finishSeenAt: null } });
  });

  it.each([
    {
      kept: 'their sum, the last one\'s boundary and the times seen before it',
      old: { cloudClockSetMs: -3_000_000, cloudClockSetAt: '2026-11-26T09:05:00.000Z', cloudClockSeenBefore: ['2026-11-26T10:00:00.000Z'] },
      settings: [{ ms: -3_000_000, at: '2026-11-26T09:05:00.000Z', seenBefore: ['2026-11-26T10:00:00.000Z'] }],
    },
    { kept: 'their sum alone', old: { cloudClockSetMs: 600_000 }, settings: [{ ms: 600_000 }] },
  ])('reads a record written when the settings of the cloud\'s clock were kept as $kept as one setting of that sum, and keeps it across a save', async ({ old, settings }) => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, JSON.stringify({ version: 1, watches: { [watchKey(ref)]: { ...record(), ...old } } }));
    const store = await openStore(path);
    expect(store.setAside).toEqual([]);
    expect(store.get(watchKey(ref))).toEqual({ ...record(), cloudClockSettings: settings });
    store.touch(watchKey(ref));
    await store.save();
    expect((await openStore(path)).get(watchKey(ref))).toEqual({ ...record(), cloudClockSettings: settings });
  });

  it('reads a tracked project written before the baseline kept the servers it saw deleted, or a failed listing its time, as having none', async () => {
    const path = join(await tempDir(), 'state.json');
    const project = { projectId: 'p1', since: '2026-11-26T10:00:00.000Z', baseline: '2026-11-26T09:59:58Z', cursor: '2026-11-26T09:59:58Z', lastError: null };
    await writeFile(path, JSON.stringify({ version: 1, watches: {}, tracking: { servers: {}, projects: { p1: project } } }));
    const store = await openStore(path);
    expect(store.setAside).toEqual([]);
    expect(store.tracking.projects['p1']).toEqual({ ...project, horizon: null, deletedAtBaseline: [] });
  });

  it('reads a state file written before batches existed', async () => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, JSON.stringify({ version: 1, watches: { [watchKey(ref)]: finished('req-1') } }));
    const store = await openStore(path);
    expect(store.setAside).toEqual([]);
    expect(store.batches()).toEqual([]);
  });
});

describe('StateStore tracking', () => {
  const tracked = (): TrackedServerRecord => ({
    projectId: 'p1', serverId: 's1', name: 'web-01', since: '2026-11-26T10:00:00.000Z', horizon: '2026-11-26T09:59:00.000000',
    seen: dictionary([['req-1', '2026-11-26T10:01:00.000000']]), cursor: '2026-11-26T10:01:02.000000', ending: false,
    missingSince: null, missingAnswers: 0, endedAt: null, lastError: null,
  });

  it('keeps what auto-tracking knows across a restart, and writes it only when it changed', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    store.tracking.servers['p1/s1'] = tracked();
    store.tracking.projects['p1'] = { projectId: 'p1', since: null, horizon: null, baseline: null, deletedAtBaseline: [], cursor: null, lastError: null };
    store.touchTracking();
    await store.save();
    const again = await openStore(path);
    expect(again.tracking.servers['p1/s1']).toEqual(tracked());
    expect(again.tracking.projects['p1']).toMatchObject({ projectId: 'p1' });
    const before = stateFiles(path);
    again.touchTracking();
    await again.save();
    expect(stateFiles(path)).toEqual(before);
    again.tracking.servers['p1/s1']!.ending = true;
    again.touchTracking();
    await again.save();
    expect((await openStore(path)).tracking.servers['p1/s1']?.ending).toBe(true);
  });

  it('leaves a file that tracks nothing as it was, and sets aside a tracked server it cannot read', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    await store.save();
    expect(stateOnDisk(path)).not.toHaveProperty('tracking');
    await store.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).not.toHaveProperty('tracking');
    const bad = { ...tracked(), horizon: 42 };
    await writeFile(path, JSON.stringify({ version: 1, watches: {}, tracking: { servers: { 'p1/s1': bad }, projects: {} } }));
    const reopened = await openStore(path);
    expect(reopened.setAside).toEqual([{ key: 'tracking.servers.p1/s1', problems: [expect.stringMatching(/^horizon: /)] }]);
    expect(reopened.tracking.servers['p1/s1']).toBeUndefined();
  });
});

describe('StateStore clock', () => {
  const clock = (): ClockRecord => ({ at: '2026-12-02T10:00:00.000Z', boot: { id: 'b1', ms: 1234.5 }, cloud: { name: 'https://ecs.example', aheadMs: -2000 } });

  it('keeps how its clock stood across a restart, in the journal and in the snapshot, and writes it only when it changed', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    expect(store.clock).toBeNull();
    store.setClock(clock());
    await store.save();
    expect(await readFile(`${path}.journal`, 'utf8')).toContain('"clocks":{"host":{"at":"2026-12-02T10:00:00.000Z"');
    expect((await openStore(path, { readOnly: true })).clock).toEqual(clock());
    const before = stateFiles(path);
    store.setClock(clock());
    await store.save();
    expect(stateFiles(path)).toEqual(before);
    await store.close();
    expect(JSON.parse(await readFile(path, 'utf8')).clocks).toEqual({ host: clock() });
    expect((await openStore(path)).clock).toEqual(clock());
  });

  it('sets aside a clock record it cannot read, and starts without one', async () => {
    const path = join(await tempDir(), 'state.json');
    await writeFile(path, JSON.stringify({ version: 1, watches: {}, clocks: { host: { ...clock(), at: 'noon' } } }));
    const store = await openStore(path);
    expect(store.setAside).toEqual([{ key: 'clocks.host', problems: [expect.stringMatching(/^at: expected an ISO 8601 time/)] }]);
    expect(store.clock).toBeNull();
  });
});

describe('StateStore writes', () => {
  it('writes nothing when nothing changed', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    await store.save();
    const before = stateFiles(path);
    store.touch();
    await store.save();
    expect(stateFiles(path)).toEqual(before);
    await store.close();
    const closed = stateFiles(path);
    const reopened = await openStore(path);
    reopened.touch();
    await reopened.save();
    expect(stateFiles(path)).toEqual(closed);
  });

  it('keeps a removed record and a changed batch for the next save when a save failed, so that neither comes back after a restart', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const member = { key: watchKey(ref), watch: { name: null, ...ref }, outcome: null, reason: 'pending', detectedAt: null };
    const first = await openStore(path);
    first.set(watchKey(ref), finished('req-1'));
    const gone = watchKey({ ...ref, requestId: 'req-2' });
    first.set(gone, finished('req-2'));
    first.setBatch({ label: 'fleet', digests: [{ round: 1, final: false, detectedAt: '2026-11-26T10:00:00.000Z', members: [member], deliveries: dictionary() }] });
    await first.close();
    // Compacted: the next line needs a new journal, which cannot be made while a folder is in its place. The
    // store creates its journal ahead of that line, in the background, once its lock is seen held: the lock
    // is said held only once the folder is there, or the file could be made first on a busy machine.
    await rm(join(dir, 'state.json.journal'), { force: true });
    let inTheWay = (): void => undefined;
    const folderMade = new Promise<void>((resolve) => (inTheWay = resolve));
    const lock = { path: join(dir, 'state.json.lock'), lost: new AbortController().signal, held: () => folderMade.then(() => true), alongRefresh: () => undefined };
    const store = await openStore(path, { lock: lock as unknown as StateLock });
    await mkdir(join(dir, 'state.json.journal', 'in-the-way'), { recursive: true });
    inTheWay();
    expect(store.get(gone)).toBeDefined();
    store.delete(gone);
    store.deleteBatch('fleet');
    await expect(store.save()).rejects.toThrow(/cannot be written/);
    await rm(join(dir, 'state.json.journal'), { recursive: true });
    await store.save();
    expect(Object.keys(stateOnDisk(path).watches)).toEqual([watchKey(ref)]);
    expect(stateOnDisk(path).batches).not.toHaveProperty('fleet');
    const restarted = await openStore(path);
    expect(restarted.get(gone)).toBeUndefined();
    expect(restarted.getBatch('fleet')).toBeUndefined();
    expect(restarted.get(watchKey(ref))).toBeDefined();
  });

  it('writes nothing for a record added and removed again between two saves', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    await store.save();
    const before = stateFiles(path);
    const brief = watchKey({ ...ref, requestId: 'req-2' });
    store.set(brief, { ...record(), requestId: 'req-2' });
    store.delete(brief);
    await store.save();
    expect(stateFiles(path)).toEqual(before);
  });

  it('writes nothing for a save asked for before the state lock was taken over and run after', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    store.set(watchKey(ref), record());
    await store.save();
    const before = stateFiles(path);
    store.set(watchKey(ref), { ...record(), name: 'web-01' });
    // Asked for first: the save runs once the writes before it are done, by when the store is fenced.
    const save = store.save();
    store.fence('the state lock was taken over');
    await expect(save).rejects.toThrow(/not saved: the state lock was taken over/);
    expect(stateFiles(path)).toEqual(before);
  });

  it('names temporary files randomly, not by pid, and removes those a crash left behind', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    await writeFile(join(dir, '.state.json.tmp-1'), 'left by a crashed daemon that was pid 1');
    const store = await openStore(path);
    expect(await readdir(dir)).toEqual([]);
    store.set('a', record());
    await store.save();
    await store.close();
    expect(await readdir(dir)).toEqual(['state.json']);
  });
});

describe('StateStore memory and counts', () => {
  const action = { action: 'reboot', request_id: 'req-1', message: null, start_time: '2026-11-26T10:00:00.000000', events: [] };
  const server = { status: 'ACTIVE', taskState: null, fault: null };

  it('drops the payload and the polls\' memory of a watch whose deliveries are settled, at open and when the last one settles', async () => {
    const path = join(await tempDir(), 'state.json');
    const observed = { firstNotFoundAt: '2026-11-26T10:01:00.000Z', notFoundAnswers: 1, serverGoneSince: null, serverGoneAnswers: 0, migrationsReadable: true, migrationsRefusedAnswers: 0, stallCheckedAt: null, erroredSince: null, finishSeenAt: null };
    const settled = { ...finished('req-1'), instanceAction: action, server, everFound: true, observed };
    const owed: ActionWatchRecord = { ...finished('req-2'), instanceAction: { ...action, request_id: 'req-2' }, server, observed, deliveries: dictionary([['chat', { ...delivered('d-2'), status: 'pending' }]]) };
    await writeFile(path, JSON.stringify({ version: 1, watches: { [watchKey(settled)]: settled, [watchKey(owed)]: owed } }));
    const store = await openStore(path);
    expect(store.get(watchKey(settled))).toMatchObject({ instanceAction: null, server: null, everFound: true, verdict: settled.verdict, deliveries: settled.deliveries });
    expect(store.get(watchKey(settled))!.observed).toBeUndefined();
    expect(store.get(watchKey(owed))).toMatchObject({ instanceAction: owed.instanceAction, server, observed });

    store.releaseIfSettled(watchKey(owed));
    expect(store.get(watchKey(owed))).toMatchObject({ instanceAction: owed.instanceAction });
    store.get(watchKey(owed))!.deliveries['chat']!.status = 'given_up';
    store.touch(watchKey(owed));
    store.releaseIfSettled(watchKey(owed));
    await store.save();
    expect(stateOnDisk(path).watches[watchKey(owed)]).toMatchObject({ instanceAction: null, server: null, deliveries: { chat: { status: 'given_up' } } });
    expect(stateOnDisk(path).watches[watchKey(owed)]).not.toHaveProperty('observed');
  });

  it('keeps the payload of a failure of a batch until the digest that reports it has been sent, not of a success', async () => {
    const store = await openStore(join(await tempDir(), 'state.json'));
    const failure = { outcome: 'failure' as const, reason: 'failed', detectedAt: '2026-11-26T10:05:00.000Z' };
    const member: ActionWatchRecord = { ...finished('req-1'), verdict: failure, deliveries: dictionary(), instanceAction: action, server, batch: 'fleet' };
    const succeeded: ActionWatchRecord = { ...finished('req-2'), deliveries: dictionary(), instanceAction: action, server, batch: 'fleet' };
    const key = watchKey(member);
    for (const r of [member, succeeded]) {
      store.set(watchKey(r), r);
      store.releaseIfSettled(watchKey(r));
    }
    expect(member.instanceAction).toEqual(action);
    // The digest gives a success its reason alone.
    expect(succeeded).toMatchObject({ instanceAction: null, server: null });

    const digest = {
      round: 1, final: true, detectedAt: '2026-11-26T10:05:00.000Z', deliveries: dictionary<DeliveryRecord>(),
      members: [{ key, watch: { name: null, ...ref }, ...failure }],
    };
    store.setBatch({ label: 'fleet', digests: [digest] });
    store.addDigestDelivery('fleet', digest, 'chat', { ...delivered('b'), status: 'pending' });
    store.releaseBatchIfSettled('fleet');
    expect(member.instanceAction).toEqual(action);

    digest.deliveries['chat']!.status = 'delivered';
    store.releaseBatchIfSettled('fleet');
    expect(member).toMatchObject({ instanceAction: null, server: null, verdict: member.verdict });
  });

  it('keeps the deliveries gauge counted as records change, without a scan', async () => {
    const store = await openStore(join(await tempDir(), 'state.json'));
    const a = finished('req-a');
    const b: ActionWatchRecord = { ...finished('req-b'), deliveries: dictionary([['chat', { ...delivered('d-b'), status: 'pending' }]]) };
    store.set(watchKey(a), a);
    store.set(watchKey(b), b);
    expect(store.deliveryCounts()).toEqual({ pending: 1, delivered: 1, givenUp: 0, superseded: 0 });
    b.deliveries['chat']!.status = 'given_up';
    store.touch(watchKey(b));
    store.addDelivery(watchKey(b), 'mail', { ...delivered('d-b-mail'), status: 'pending' });
    expect(store.deliveryCounts()).toEqual({ pending: 1, delivered: 1, givenUp: 1, superseded: 0 });
    store.delete(watchKey(a));
    expect(store.deliveryCounts()).toEqual({ pending: 1, delivered: 0, givenUp: 1, superseded: 0 });
    // An early warning's and a batch digest's deliveries count too.
    b.warning = { reason: 'slow', detectedAt: '2026-11-26T10:01:00.000Z', deliveries: dictionary() };
    store.addDelivery(watchKey(b), 'chat', { ...delivered('w'), status: 'superseded' }, 'slow');
    const digest = { round: 1, final: true, detectedAt: '2026-11-26T10:05:00.000Z', members: [], deliveries: dictionary<DeliveryRecord>() };
    store.setBatch({ label: 'fleet', digests: [digest] });
    store.addDigestDelivery('fleet', digest, 'chat', { ...delivered('b'), status: 'pending' });
    expect(store.deliveryCounts()).toEqual({ pending: 2, delivered: 0, givenUp: 1, superseded: 1 });
    digest.deliveries['chat']!.status = 'delivered';
    store.touchBatch('fleet');
    store.deleteBatch('other');
    expect(store.deliveryCounts()).toEqual({ pending: 1, delivered: 1, givenUp: 1, superseded: 1 });
    // Every record counted again (the times moved after a step of the clock): the same counts.
    store.touch();
    expect(store.deliveryCounts()).toEqual({ pending: 1, delivered: 1, givenUp: 1, superseded: 1 });
    store.deleteBatch('fleet');
    expect(store.deliveryCounts()).toEqual({ pending: 1, delivered: 0, givenUp: 1, superseded: 1 });
  });
});

describe('StateStore with many records', () => {
  it('writes a file larger than one piece whole, and reads back every record', async () => {
    const path = join(await tempDir(), 'state.json');
    const store = await openStore(path);
    const records = Array.from({ length: 400 }, (_, i) => ({ ...record(), requestId: `req-${i}`, name: `watch ${i} ${'x'.repeat(300)}` }));
    for (const r of records) store.set(watchKey(r), r);
    await store.save();
    // One journal line, however long.
    expect((await readFile(`${path}.journal`, 'utf8')).split('\n')).toHaveLength(2);
    await store.close();
    expect((await stat(path)).size).toBeGreaterThan(3 * 64 * 1024);
    const reopened = await openStore(path);
    expect(reopened.setAside).toEqual([]);
    expect(records.map((r) => reopened.get(watchKey(r)))).toEqual(records);
  });
});
