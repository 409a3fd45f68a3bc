import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, openSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { acquireStateLock, DEFAULT_LOCK_TIMING, StateLock, StateLockError, type LockHolder, type LockTiming } from '../../src/state/lock.ts';
import { StateError } from '../../src/state/StateError.ts';
import { createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Capture } from '../e2e/harness.ts';
import type { ActionWatchRecord } from '../../src/state/types.ts';
import { StateStore } from '../../src/state/store.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import { thisBootId } from '../../src/watch/clockSteps.ts';
import { stateFiles, stateOnDisk } from './onDisk.ts';
import { eventually, waitUntil } from '../eventually.ts';

const TIMING = { refreshMs: 50, staleMs: 400 };
/** For a test that moves our clock on a refresh at a time, looks twice at each: stale at the second missed. */
const TWO_REFRESHES = { refreshMs: 100, staleMs: 200 };
const held: StateLock[] = [];
const children: Array<ReturnType<typeof spawn>> = [];

afterEach(async () => {
  for (const lock of held.splice(0)) await lock.release();
  for (const child of children.splice(0)) child.kill('SIGKILL');
  // After the releases: a holder taken with a faked setInterval clears it through the faked clearInterval.
  vi.useRealTimers();
});

/**
 * Our monotonic clock, stood still: a lock looks unchanged for as long as the test moves the clock on
 * (vi.advanceTimersByTime), not for as long as a loaded machine takes to run the looks (a pause of 400 ms,
 * the stale time below, is common at a load of 10 on two cores). With `setInterval`, a holder taken after
 * this refreshes its lock only when the test moves the clock a refresh on.
 */
function stopOurClock(...more: Array<'setInterval' | 'clearInterval'>): void {
  vi.useFakeTimers({ toFake: ['performance', ...more] });
}

async function statePath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'eaw-lock-')), 'state.json');
}

function logger() {
  const logs = new Capture();
  return { logs, logger: pino({ level: 'debug' }, logs) };
}

async function acquire(path: string, log = logger().logger, signal?: AbortSignal, timing = TIMING): Promise<StateLock> {
  const lock = await acquireStateLock(path, { logger: log, timing, signal });
  held.push(lock);
  return lock;
}

async function writeHolder(path: string, holder: Partial<LockHolder>, ageMs = 0): Promise<void> {
  const full: LockHolder = { pid: 999_999, hostname: hostname(), startedAt: '2026-11-26T10:00:00.000Z', instance: 'other', ...holder };
  await writeFile(`${path}.lock`, JSON.stringify(full));
  const then = new Date(Date.now() - ageMs);
  await utimes(`${path}.lock`, then, then);
}

/**
 * A start of the lock that the test follows look by look (acquireStateLock's `looked`): `look()` resolves at
 * its next look at a lock another holds, or once it has taken the lock or given up, whichever comes first.
 * `onLook` runs within the look, before the start judges what it read.
 */
function startLooking(path: string, options: { timing?: LockTiming; logger?: ReturnType<typeof logger>['logger']; onLook?: () => void } = {}) {
  const stop = new AbortController();
  let state: 'waiting' | StateLock | Error = 'waiting';
  let nextLook = () => {};
  const settled = acquireStateLock(path, {
    logger: options.logger ?? logger().logger,
    timing: options.timing ?? TIMING,
    signal: stop.signal,
    looked: () => {
      options.onLook?.();
      nextLook();
    },
  }).then(
    (lock) => {
      held.push(lock);
      state = lock;
    },
    (err: unknown) => {
      state = err as Error;
    },
  );
  return {
    state: () => state,
    look: () => Promise.race([new Promise<void>((resolve) => (nextLook = resolve)), settled]),
    /** Stops a start still waiting; resolves with what it came to. */
    stop: async () => {
      stop.abort();
      await settled;
      return state;
    },
  };
}

/** A live process that is not us, as another daemon on this host would be. */
async function livePid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child.pid!;
}

/** Where a descriptor of ours points, or '' for one closed meanwhile. */
function readlinkSafe(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '';
  }
}

/** The pid of a process that has exited: node printing its version, which exits before it starts a script's runtime (22 ms of CPU against 99 for `-e ''`, 14 times here). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['--version'], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

describe('the state lock', () => {
  it('names its holder in the lock file and removes it on release', async () => {
    const path = await statePath();
    const lock = await acquire(path);
    const holder = JSON.parse(await readFile(`${path}.lock`, 'utf8')) as LockHolder;
    expect(holder).toEqual({ pid: process.pid, hostname: hostname(), startedAt: expect.any(String), instance: expect.any(String), bootId: expect.stringMatching(/^[0-9a-f-]{36}$/), pidNamespace: expect.stringMatching(/^pid:\[\d+\]$/) });
    await lock.release();
    await lock.release();
    expect(await readdir(join(path, '..'))).toEqual([]);
  });

  it('refuses at once a state file held by a live daemon on this host, naming pid, host and start time', async () => {
    const path = await statePath();
    const pid = await livePid();
    await writeHolder(path, { pid });
    const err = await acquire(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateLockError);
    expect((err as Error).message).toBe(
      `state file ${path}: is in use by another ecs-action-watch: pid ${pid} on host ${hostname()}, running since 2026-11-26T10:00:00.000Z ` +
        `(lock ${path}.lock). Run one daemon per state file: stop that one, or run this one with a state folder of its own (under systemd, as an ` +
        'instance of the template unit ecs-action-watch@.service, not a copy of the unit; in Kubernetes, as deploy/kubernetes-second)',
    );
    // `run` exits 1 for it, so that a supervisor restarts until the other daemon has stopped.
    expect((err as StateLockError).transient).toBe(true);
  });

  it('takes over, once it has missed a refresh, an old lock whose pid this boot gave to another process after its daemon was killed', async () => {
    const path = await statePath();
    // Whatever got the killed daemon's pid; this host, this boot: only the lock's age tells.
    await writeHolder(path, { pid: await livePid(), bootId: thisBootId() ?? undefined }, 3_600_000);
    const { logs, logger: log } = logger();
    // A stale time the looks cannot outlast on a loaded machine (a pause of 400 ms between two is common at a
    // load of 15): past it the lock would be taken as unchanged for that long, not by its age.
    const lock = await acquire(path, log, AbortSignal.timeout(5000), { refreshMs: 50, staleMs: 60_000 });
    expect(lock.holder.pid).toBe(process.pid);
    // Not at once: it waited for a refresh, which a daemon paused past the stale time would make on waking.
    expect(logs.lines().map((l) => l['msg'])).toEqual([
      expect.stringMatching(/^the state file is locked by pid \d+ on host .*; waiting until it is released, or taken over/),
      expect.stringMatching(/^took over a stale state lock: it was last refreshed 36\d\d s ago$/),
    ]);
  });

  it('names the state file and the lock when a folder is where the lock should be, as a problem to fix by hand', async () => {
    const path = await statePath();
    await mkdir(`${path}.lock`, { recursive: true });
    const err = await acquire(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toMatch(/: cannot read its lock file .*\.lock: illegal operation on a directory \(EISDIR\): a folder is where that file should be: remove it, or set state\.path to another file$/);
    expect((err as Error).message.startsWith(`state file ${path}: cannot read its lock file ${path}.lock: `)).toBe(true);
    // `run` exits 2 for it: restarting would find the same folder.
    expect((err as StateError).transient).toBe(false);
  });

  it('says why its folder could not be made, rather than that the lock file is not there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eaw-lock-'));
    // A folder that is a link to nothing (a volume not mounted): EACCES on a folder above is the same case.
    await symlink(join(dir, 'not-mounted', 'state'), join(dir, 'state'));
    const err = await acquire(join(dir, 'state', 'state.json')).catch((e: unknown) => e as StateError);
    expect((err as StateError).message).toBe(
      `state file ${dir}/state/state.json: cannot create its folder ${dir}/state: no such file or directory (ENOENT): ` +
        'a folder on that path is not there (removed, or a link to nothing): create it, or set state.path to a file in a folder that exists',
    );
  });

  it('is taken beside the file a state.path that is a symbolic link points to, where the state is kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eaw-lock-'));
    await mkdir(join(dir, 'volume'));
    await symlink(join(dir, 'volume', 'state.json'), join(dir, 'state.json'));
    const lock = await acquire(join(dir, 'state.json'));
    // One daemon given the link and one given the file must find the same lock.
    expect(lock.path).toBe(join(dir, 'volume', 'state.json.lock'));
    expect([await readdir(dir), await readdir(join(dir, 'volume'))]).toEqual([['state.json', 'volume'], ['state.json.lock']]);
  });

  it('takes over at once a lock whose holder on this host is gone (a crash)', async () => {
    const path = await statePath();
    const pid = await deadPid();
    await writeHolder(path, { pid });
    const { logger: log, logs } = logger();
    const lock = await acquire(path, log);
    expect(lock.holder.pid).toBe(process.pid);
    expect(logs.text).toContain(`took over a stale state lock: its holder, pid ${pid} on host ${hostname()}`);
  });

  it('leaves no lock when its holder could not be written (a full disk), so the next start takes it at once', async () => {
    const path = await statePath();
    // A process that may write no byte to any file, as on a full disk (EFBIG; Node ignores SIGXFSZ).
    const script =
      `const { acquireStateLock } = await import(${JSON.stringify(new URL('../../src/state/lock.ts', import.meta.url).href)});` +
      `const logger = { warn() {}, error() {}, info() {}, debug() {} };` +
      `await acquireStateLock(process.argv[1], { logger }).then(() => console.log('acquired'), (err) => console.log(err.message));`;
    const out = execFileSync('bash', ['-c', 'ulimit -f 0; exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, path], { encoding: 'utf8' });
    expect(out).toContain(`state file ${path}: cannot create its lock file ${path}.lock: file too large (EFBIG)`);
    // Not an empty lock that names nobody, which the next start would wait for until it went stale.
    expect(await readdir(join(path, '..'))).toEqual([]);
    const { logger: log, logs } = logger();
    await acquire(path, log);
    expect(logs.text).not.toContain('waiting');
  });

  it('lets only one of several daemons starting at once take over a stale lock', async () => {
    // Each finds the holder gone; the one that removes the lock first takes it, and a lock it then finds
    // fresh (ours, by pid: checkable only by its refresh) is waited for, not removed in turn.
    // A look every 50 ms, and a lock of ours never stale while they look.
    const timing = { refreshMs: 200, staleMs: 30_000 };
    for (let round = 0; round < 5; round++) {
      const path = await statePath();
      await writeHolder(path, { pid: await deadPid() });
      const starts = Array.from({ length: 8 }, () => startLooking(path, { timing }));
      await waitUntil(() => starts.some((start) => start.state() !== 'waiting'));
      // Two looks more of each: the second read the lock as it is now, and none judges the crashed one's again.
      await Promise.all(starts.map(async (start) => (await start.look(), await start.look())));
      const taken = (await Promise.all(starts.map((start) => start.stop()))).filter((outcome) => outcome instanceof StateLock);
      expect(taken).toHaveLength(1);
      expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ instance: taken[0]!.holder.instance });
      for (const lock of held.splice(0)) await lock.release();
    }
  });

  it('leaves alone the lock another daemon took between its look at a stale lock and its takeover, while a third one starts', async () => {
    // Daemons A, B and C start after a crash. A takes the crashed daemon's lock over first; B, which judged
    // that lock stale before, takes it over after, and C starts meanwhile. A's lock is a named pipe here,
    // whose text comes when the test writes it: B waits in its read of it, between judging the crashed
    // daemon's lock and removing it, for as long as the test takes to start C. B moving the lock aside to
    // read it and putting it back after, as before the claim, let C take the lock in between, and B's
    // put-back then failed: A's lock was gone and A and C both went on (0611232).
    const path = await statePath();
    const lockPath = `${path}.lock`;
    await writeHolder(path, { pid: await deadPid() });
    const ofA = JSON.stringify({ pid: await livePid(), hostname: hostname(), startedAt: '2026-11-26T10:05:00.000Z', instance: 'A' });
    const pipePath = `${path}.lock-of-A`;
    execFileSync('mkfifo', [pipePath]);
    // Open for writing, so that a read of it waits for its text rather than for a writer.
    const pipe = openSync(pipePath, constants.O_RDWR | constants.O_NONBLOCK);
    const { dev, ino } = statSync(pipePath);
    const readersOfThePipe = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        const found = Number(fd) === pipe ? undefined : statSync(`/proc/self/fd/${fd}`, { throwIfNoEntry: false });
        return found?.dev === dev && found.ino === ino;
      }).length;
    let aTookIt = false;
    const b = startLooking(path, {
      onLook: () => {
        if (aTookIt) return;
        aTookIt = true;
        renameSync(pipePath, lockPath);
      },
    });
    let c: ReturnType<typeof startLooking> | undefined;
    try {
      await waitUntil(() => readersOfThePipe() === 1);
      c = startLooking(path);
      // C has a lock, or reads A's too.
      await waitUntil(() => c!.state() !== 'waiting' || readersOfThePipe() === 2);
    } finally {
      // A's lock as a file again, and its text for whoever reads the pipe.
      writeFileSync(`${pipePath}.file`, ofA);
      renameSync(`${pipePath}.file`, lockPath);
      writeSync(pipe, ofA);
      closeSync(pipe);
    }
    // A live daemon on this host holds it: each is refused.
    await waitUntil(() => b.state() !== 'waiting' && c.state() !== 'waiting');
    expect(c.state(), 'C').toBeInstanceOf(StateLockError);
    expect(b.state(), 'B').toBeInstanceOf(StateLockError);
    expect(await readFile(lockPath, 'utf8')).toBe(ofA);
  });

  it('takes over a stale lock whose takeover claim a daemon left dying, stamped ahead of this host\'s clock (an NFS server\'s), once seen unchanged 10 s', async () => {
    const path = await statePath();
    await writeHolder(path, { pid: await deadPid() });
    const claim = `${path}.lock.takeover`;
    await writeFile(claim, '');
    const ahead = new Date(Date.now() + 3_600_000);
    await utimes(claim, ahead, ahead);
    // Our monotonic clock, moved on by the test 2 s at each look: the claim's own time never looks old.
    stopOurClock();
    const start = startLooking(path);
    for (let looks = 0; start.state() === 'waiting' && looks < 20; looks++) {
      await start.look();
      vi.advanceTimersByTime(2000);
    }
    // Not taken in 40 s of our clock: it waits on the claim for good.
    expect(await start.stop()).toBeInstanceOf(StateLock);
    await expect(stat(claim)).rejects.toThrow(/ENOENT/);
  });

  it('takes over at once a lock of this host from before its last start, whose pid is some other live process now (a crash of the host)', async () => {
    const path = await statePath();
    const pid = await livePid();
    // Refreshed last an hour before this host started.
    await writeHolder(path, { pid, bootId: 'a-boot-before-this-one' }, uptime() * 1000 + 3_600_000);
    const { logger: log, logs } = logger();
    const lock = await acquire(path, log);
    expect(lock.holder).toMatchObject({ pid: process.pid, bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() });
    expect(logs.text).toContain(`took over a stale state lock: its holder, pid ${pid} on host ${hostname()}, running since 2026-11-26T10:00:00.000Z, ran before this host last started`);
    // Of this boot, the live pid is a daemon: refused as before.
    await lock.release();
    await writeHolder(path, { pid, bootId: lock.holder.bootId! });
    await expect(acquire(path)).rejects.toThrow(StateLockError);
    // Our own pid of another boot, fresh: a container of the same host name on another machine (pid 1 in
    // each) sharing the volume may hold it; only its refresh can tell, so it is waited for.
    await writeHolder(path, { pid: process.pid, bootId: 'another-machine' });
    // It never looks unrefreshed: only how its holder is judged could end the wait. Two looks: the first judged.
    stopOurClock();
    const again = startLooking(path);
    await again.look();
    await again.look();
    expect(await again.stop()).toMatchObject({ name: 'AbortError' });
  });

  it('waits for a live lock of another machine of the same host name (cloned VMs on one NFS volume), whose pid cannot be checked from here, rather than take it over or refuse it', async () => {
    // The lock never looks unrefreshed, as a live daemon keeps it: only how its holder is judged could end the wait.
    stopOurClock();
    for (const pid of [await deadPid(), await livePid()]) {
      const path = await statePath();
      await writeHolder(path, { pid, bootId: 'another-machine' });
      const again = startLooking(path);
      // Two looks: the first one judged.
      await again.look();
      await again.look();
      expect(await again.stop(), `pid ${pid}`).toMatchObject({ name: 'AbortError' });
    }
  });

  it('waits for a live lock of a daemon in another pid namespace of this host (a container on the host\'s network, which has its name), whose pid cannot be checked from here, rather than take it over or refuse it', async () => {
    // The lock never looks unrefreshed, as a live daemon keeps it: only how its holder is judged could end the wait.
    stopOurClock();
    // Its pid runs nowhere here, or is some other process here: which it is says nothing of that daemon.
    for (const pid of [await deadPid(), await livePid()]) {
      const path = await statePath();
      await writeHolder(path, { pid, bootId: thisBootId()!, pidNamespace: `pid:[${statSync('/proc/self/ns/pid').ino + 1}]` });
      const { logger: log, logs } = logger();
      const again = startLooking(path, { logger: log });
      // Two looks: the first one judged.
      await again.look();
      await again.look();
      expect(await again.stop(), `pid ${pid}`).toMatchObject({ name: 'AbortError' });
      expect(logs.text).toContain(`the state file is locked by pid ${pid} (in another pid namespace than this process's: a container's, or the host's) on host ${hostname()}`);
    }
  });

  it('takes over a lock from another host that has not been refreshed for the stale time', async () => {
    const path = await statePath();
    await writeHolder(path, { pid: 1, hostname: 'old-pod-7d9f' }, TIMING.staleMs + 100);
    const { logger: log, logs } = logger();
    await acquire(path, log);
    expect(logs.text).toMatch(/took over a stale state lock: it was last refreshed \d+ s ago/);
  });

  it('takes over, once it has seen it unchanged for the stale time, a lock left by a host that died with its clock minutes ahead of ours', async () => {
    const path = await statePath();
    // Stamped by that host's clock, 5 minutes ahead: it never looks old by ours.
    await writeHolder(path, { pid: 1, hostname: 'dead-node' }, -300_000);
    const { logger: log, logs } = logger();
    stopOurClock();
    const start = startLooking(path, { logger: log });
    // A quarter of the stale time at each look: by its time it never looks old.
    for (let looks = 0; start.state() === 'waiting' && looks < 20; looks++) {
      await start.look();
      vi.advanceTimersByTime(TIMING.staleMs / 4);
    }
    expect(await start.stop()).toBeInstanceOf(StateLock);
    expect(logs.text).toMatch(/took over a stale state lock: it went \d+ s without a refresh/);
  });

  it('waits for a fresh lock it cannot check (another host, or pid 1 in an earlier container) until it goes stale', async () => {
    const path = await statePath();
    await writeHolder(path, { pid: process.pid, instance: 'an-earlier-container' });
    const { logger: log, logs } = logger();
    stopOurClock();
    const start = startLooking(path, { logger: log });
    for (let looks = 0; start.state() === 'waiting' && looks < 20; looks++) {
      await start.look();
      vi.advanceTimersByTime(TIMING.staleMs / 4);
    }
    const lock = await start.stop();
    expect((lock as StateLock).holder.instance).not.toBe('an-earlier-container');
    expect(logs.text).toContain(`the state file is locked by pid ${process.pid} on host ${hostname()}`);
    expect(logs.text).toContain('took over a stale state lock');
  });

  it('takes over at once an old lock of our own pid on this host (a container restarted after a crash), which this host\'s clock stamped', async () => {
    const path = await statePath();
    const timing = { refreshMs: 10_000, staleMs: 30_000 };
    await writeHolder(path, { pid: process.pid, instance: 'an-earlier-container' }, timing.staleMs + 5000);
    const { logger: log, logs } = logger();
    // A refresh and a half of watching would be 15 s: far past this bound, well within the test's time.
    const lock = await acquireStateLock(path, { logger: log, timing, signal: AbortSignal.timeout(5000) });
    held.push(lock);
    expect(logs.text).toMatch(/took over a stale state lock: it was last refreshed 35 s ago/);
  });

  it('acquires as soon as a waited-for lock is released', async () => {
    const path = await statePath();
    await writeHolder(path, { hostname: 'other-node' });
    const acquiring = acquire(path);
    const { rm } = await import('node:fs/promises');
    await rm(`${path}.lock`);
    const lock = await acquiring;
    expect(lock.holder.pid).toBe(process.pid);
  });

  it('stops waiting when aborted', async () => {
    const path = await statePath();
    await writeHolder(path, { hostname: 'other-node' });
    const stop = new AbortController();
    const acquiring = acquire(path, undefined, stop.signal);
    stop.abort();
    await expect(acquiring).rejects.toThrow(/abort/i);
  });

  it('keeps a live holder: its refresh keeps a second daemon elsewhere waiting', async () => {
    const path = await statePath();
    const lockPath = `${path}.lock`;
    stopOurClock('setInterval', 'clearInterval');
    const lock = await acquireStateLock(path, { logger: logger().logger, timing: TWO_REFRESHES });
    held.push(lock);
    // Seen from another host: nothing to check but the refresh, which goes on (the holder knows its lock by
    // its instance). Not by its age either, which a loaded machine makes more than the stale time between two
    // refreshes our clock moves on.
    await writeFile(lockPath, JSON.stringify({ ...lock.holder, hostname: 'other-node' }));
    const again = startLooking(path, { timing: TWO_REFRESHES });
    for (let waited = 0; waited <= TWO_REFRESHES.staleMs; waited += TWO_REFRESHES.refreshMs) {
      const before = (await stat(lockPath)).mtimeMs;
      vi.advanceTimersByTime(TWO_REFRESHES.refreshMs);
      // The refresh due now, done: the second look after it read it. A refresh period of our clock then
      // passes before the next one.
      for (let looks = 0; (await stat(lockPath)).mtimeMs === before; looks++) {
        if (looks === 40) throw new Error(`no refresh of the lock within 40 looks after our clock moved on to ${waited + TWO_REFRESHES.refreshMs} ms`);
        await again.look();
      }
      await again.look();
      await again.look();
    }
    expect(await again.stop()).toMatchObject({ name: 'AbortError' });
  });

  it('keeps waiting for a live holder on a host whose clock is an hour behind ours (or after ours stepped forward)', async () => {
    const path = await statePath();
    await writeHolder(path, { pid: 1, hostname: 'other-node' }, 3_600_000);
    const { logger: log, logs } = logger();
    stopOurClock();
    const again = startLooking(path, { logger: log, timing: TWO_REFRESHES });
    // Its refreshes, stamped by its clock: an hour old by ours, every one; each read by a look (the second
    // after it), and a refresh period of our clock apart.
    for (let waited = 0; waited <= TWO_REFRESHES.staleMs; waited += TWO_REFRESHES.refreshMs) {
      const then = new Date(Date.now() - 3_600_000);
      await utimes(`${path}.lock`, then, then);
      await again.look();
      await again.look();
      vi.advanceTimersByTime(TWO_REFRESHES.refreshMs);
    }
    expect(again.state()).toBe('waiting');
    // Once it stops refreshing, it is taken over all the same, once it has missed one (before the stale time).
    for (let looks = 0; again.state() === 'waiting' && looks < 20; looks++) {
      await again.look();
      vi.advanceTimersByTime(TWO_REFRESHES.refreshMs / 2);
    }
    expect(await again.stop()).toBeInstanceOf(StateLock);
    expect(logs.text).toMatch(/took over a stale state lock: it was last refreshed 36\d\d s ago/);
  });

  it('reports the lock as lost when another process took it over', async () => {
    const path = await statePath();
    const { logger: log, logs } = logger();
    const lock = await acquire(path, log);
    await writeHolder(path, { pid: 4242, hostname: 'other-node', instance: 'intruder' });
    await new Promise((resolve) => lock.lost.addEventListener('abort', resolve, { once: true }));
    expect(String(lock.lost.reason)).toContain('was taken over by pid 4242 on host other-node');
    expect(logs.text).toContain('stopping, since two daemons must not share a state file');
    // Its release leaves the other one's lock alone.
    await lock.release();
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ instance: 'intruder' });
  });

  it('keeps its lock when a daemon starting beside it moves the file aside for a moment to judge it, and puts it back', async () => {
    // Two daemons started at once after a crash both judge the crashed one's lock stale; the slower one,
    // whose look came before the faster one took the lock, moves the fresh lock aside to check what it
    // judged, finds it is not, and puts it back (removeIfUnchanged). Meanwhile the holder looks at its lock
    // (before it writes a snapshot, as at every start that found a journal).
    const path = await statePath();
    const lock = await acquire(path);
    const aside = `${path}.lock.stale-judged`;
    // However long the machine takes, the file is gone for no time by our clock: looking again is all it takes.
    stopOurClock();
    await rename(`${path}.lock`, aside);
    const looking = lock.held();
    // Without a second look it has given up by now, and stops: both daemons would end.
    expect(await Promise.race([looking, new Promise((resolve) => setTimeout(resolve, 50, 'still looking'))])).toBe('still looking');
    await link(aside, `${path}.lock`);
    await rm(aside);
    expect(await looking).toBe(true);
    expect(lock.lost.aborted).toBe(false);
  });

  it.each([
    ['its file stays removed', ['state.json', 'state.json.journal'], 'was removed by someone else'],
    // A cleanup job or an unmounted volume took the state with it: restarted on nothing, the daemon starts afresh.
    ['the state files beside it are gone with it', [], 'is gone, and the state files beside it with it (their folder removed or cleaned up, or their volume unmounted): put them back'],
  ])('reports the lock as lost when %s', async (_, kept, said) => {
    const path = await statePath();
    const lock = await acquire(path);
    await writeFile(path, '{}');
    await writeFile(`${path}.journal`, '');
    for (const file of ['state.json', 'state.json.journal', 'state.json.lock']) if (!kept.includes(file)) await rm(join(path, '..', file));
    stopOurClock();
    const looking = lock.held();
    // The second it looks for the file, passed by our clock.
    vi.advanceTimersByTime(1000);
    expect(await looking).toBe(false);
    expect(String(lock.lost.reason)).toContain(`the state lock ${path}.lock ${said}`);
  });

  it('waits for a refresh that hangs (a volume that does not answer) rather than start one a period', async () => {
    const path = await statePath();
    const lockPath = `${path}.lock`;
    const lock = await acquire(path);
    const holderText = await readFile(lockPath, 'utf8');
    // A named pipe in the lock's place, open for writing but with nothing written yet: a refresh's read
    // blocks in the kernel, as on a hung mount, and holds one of libuv's threads until the pipe is written.
    await rm(lockPath);
    execFileSync('mkfifo', [lockPath]);
    const pipe = openSync(lockPath, constants.O_RDWR | constants.O_NONBLOCK);
    const readersOfThePipe = () => readdirSync('/proc/self/fd').filter((fd) => readlinkSafe(`/proc/self/fd/${fd}`) === lockPath).length - 1;
    try {
      await eventually(() => expect(readersOfThePipe()).toBe(1), { interval: 10 });
      // Four periods more: each would have started a read of its own.
      await new Promise((resolve) => setTimeout(resolve, TIMING.refreshMs * 4));
      expect(readersOfThePipe()).toBe(1);
    } finally {
      // The volume answers: the read gets the lock as it was, and the next refresh finds a file again.
      // Without the thread pool, which reads blocked on the pipe may all hold.
      writeSync(pipe, holderText);
      writeFileSync(`${lockPath}.back`, holderText);
      renameSync(`${lockPath}.back`, lockPath);
      closeSync(pipe);
    }
    const restored = (await stat(lockPath)).mtimeMs;
    await eventually(async () => expect((await stat(lockPath)).mtimeMs).toBeGreaterThan(restored), { interval: 10 });
    expect(lock.lost.aborted).toBe(false);
  });

  it('says once at warn that its refresh fails, while refreshes keep failing (a volume remounted read-only fails one every 10 s), and at info when one succeeds again', async () => {
    const path = await statePath();
    const lockPath = `${path}.lock`;
    const { logs, logger: log } = logger();
    const lock = await acquire(path, log);
    const holderText = await readFile(lockPath, 'utf8');
    // A folder in its place: each refresh's read of it fails (EISDIR), as each would on a volume gone bad.
    await rm(lockPath);
    await mkdir(lockPath);
    const failed = () => logs.lines().filter((l) => String(l['msg']).startsWith('could not refresh the state lock'));
    await eventually(() => expect(failed().length).toBeGreaterThanOrEqual(4), { interval: 10 });
    expect(failed().filter((l) => l['level'] === 40)).toEqual([expect.objectContaining({ lock: lockPath, error: expect.stringContaining('EISDIR') })]);
    expect(new Set(failed().slice(1).map((l) => l['level']))).toEqual(new Set([20]));

    await rm(lockPath, { recursive: true });
    await writeFile(lockPath, holderText);
    await eventually(() => expect(logs.lines().filter((l) => l['msg'] === 'state lock refreshed again')).toEqual([expect.objectContaining({ level: 30, lock: lockPath })]), { interval: 10 });
    expect(lock.lost.aborted).toBe(false);
  });

  it('by default is refreshed and goes stale as the README says: a live holder misses more than a refresh before another takes it', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    const { refreshMs, staleMs } = DEFAULT_LOCK_TIMING;
    expect(readme).toContain(`refreshes it every ${refreshMs / 1000} s`);
    expect(readme).toContain(`taken over once it has gone ${staleMs / 1000} s without a refresh`);
    expect(staleMs).toBeGreaterThanOrEqual(refreshMs * 2);
  });

  it('refuses a state path on /proc', async () => {
    await expect(acquireStateLock('/proc/self/state.json', { logger: logger().logger })).rejects.toThrow(/is on \/proc/);
    // In a folder that does not exist there: Node's recursive mkdir of it would never return.
    await expect(acquireStateLock('/proc/no-such-folder/deeper/state.json', { logger: logger().logger })).rejects.toThrow(/is on \/proc/);
  });
});

describe('a daemon whose state lock was taken over', () => {
  it('writes its state no more, so that it cannot overwrite the new holder', async () => {
    const path = await statePath();
    const config = parseConfig(`cloud:\n  endpoint: http://127.0.0.1:9\n  projectId: p\nstate:\n  path: ${path}\nwatches:\n  - { requestId: req-1, serverId: s1 }\n`, { env: {} });
    const app = await createApp(config, { logger: logger().logger, lockTiming: TIMING });
    try {
      app.store.touch();
      await app.store.save();
      await writeHolder(path, { pid: 4242, hostname: 'other-node', instance: 'intruder' });
      await new Promise((resolve) => app.lockLost.addEventListener('abort', resolve, { once: true }));
      const before = stateFiles(path);
      app.store.set('p/s2/req-2', { ...(app.store.get('p/s1/req-1') as ActionWatchRecord), serverId: 's2', requestId: 'req-2' });
      await expect(app.store.save()).rejects.toThrow(/not saved: the state lock .* was taken over by pid 4242 on host other-node/);
      expect(stateFiles(path)).toEqual(before);
    } finally {
      await app.close({ drainMs: 0 }).catch(() => undefined);
    }
    // Its release left the new holder's lock in place.
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ instance: 'intruder' });
  });
});

describe('a daemon whose state lock was taken over while it was paused, before its next refresh', () => {
  const record = (requestId: string, verdict: ActionWatchRecord['verdict'] = null): ActionWatchRecord => ({
    projectId: 'p1', serverId: 's1', requestId, name: null, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false, lastError: null, failingSince: null,
    instanceAction: null, server: null, verdict, deliveries: dictionary(),
  });
  const opened: StateStore[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  });

  /**
   * A, its state open with its lock and `beforePause` done, then paused (SIGSTOP, a paused VM) past the
   * stale time; B, which took the lock over meanwhile, opened the state and saved a verdict (and notified
   * it). No refresh runs: A has resumed before its next, and one under way when it was paused ends
   * without noticing.
   */
  async function takenOver(beforePause: (a: StateStore, lock: StateLock) => Promise<void>, options: { saved?: boolean } = {}) {
    const path = await statePath();
    if (options.saved) {
      // A state an earlier run of A saved: A is a daemon started again on it.
      const earlier = await StateStore.open(path);
      earlier.set('p1/s1/req-old', record('req-old'));
      await earlier.save();
      await earlier.close();
    }
    const timing = { refreshMs: 60_000, staleMs: 30_000 };
    const a = logger();
    const lockA = await acquireStateLock(path, { logger: a.logger, timing });
    held.push(lockA);
    const storeA = await StateStore.open(path, { lock: lockA });
    opened.push(storeA);
    await beforePause(storeA, lockA);
    const stale = new Date(Date.now() - 40_000);
    await utimes(`${path}.lock`, stale, stale);
    const lockB = await acquireStateLock(path, { logger: logger().logger, timing });
    held.push(lockB);
    const storeB = await StateStore.open(path, { lock: lockB });
    opened.push(storeB);
    storeB.set('p1/s1/req-x', record('req-x', { outcome: 'success', reason: 'done', detectedAt: '2026-11-26T11:00:00.000Z' }));
    await storeB.save();
    return { path, storeA, lockA, logsA: a.logs, storeB };
  }

  it('checks its lock again once its snapshot is written, before it replaces the state file: taken over while it wrote it, it replaces nothing', async () => {
    const path = await statePath();
    const lockA = await acquireStateLock(path, { logger: logger().logger, timing: { refreshMs: 60_000, staleMs: 30_000 } });
    held.push(lockA);
    const storeA = await StateStore.open(path, { lock: lockA });
    opened.push(storeA);
    // A's snapshot is made as it is written: a record of it serialised then is a moment within the write,
    // which a volume that hangs (an NFS server partitioned away) may draw out past the stale time.
    let pausedWhileWriting = false;
    const a = record('req-a');
    Object.defineProperty(a, 'toJSON', {
      value: () => {
        if (pausedWhileWriting) {
          pausedWhileWriting = false;
          // Meanwhile B took the lock over and wrote its state, a verdict it has sent.
          writeFileSync(`${path}.lock`, JSON.stringify({ pid: 4242, hostname: 'other-node', startedAt: '2026-11-26T10:00:00.000Z', instance: 'intruder' }));
          writeFileSync(path, `${JSON.stringify({ version: 1, seq: 1, watches: { 'p1/s1/req-x': record('req-x') }, batches: {} })}\n`);
        }
        return { ...a };
      },
    });
    storeA.set('p1/s1/req-a', a);
    await storeA.save();
    pausedWhileWriting = true;
    // Its stop compacts the journal into a snapshot.
    await expect(storeA.close()).rejects.toThrow(/not saved: the state lock .* was taken over by pid 4242 on host other-node/);
    expect(Object.keys((JSON.parse(readFileSync(path, 'utf8')) as { watches: object }).watches)).toEqual(['p1/s1/req-x']);
  });

  it('checks its lock before it writes its whole state or removes a journal, and is fenced then', async () => {
    // B's open compacted A's journal away.
    const { path, storeA, lockA, logsA, storeB } = await takenOver(async (a, lock) => {
      const reads = vi.spyOn(lock, 'held');
      for (const id of ['req-a', 'req-b', 'req-c']) {
        a.set(`p1/s1/${id}`, record(id));
        await a.save();
      }
      // Once, before the journal was created: a line, the cost of each save, reads no lock.
      expect(reads).toHaveBeenCalledTimes(1);
    });
    const before = stateFiles(path);
    // A's next save finds its journal gone; the one after would write what A knows as the snapshot, over
    // B's, and remove B's journal: B's verdict, sent, would be gone from disk and sent again after a restart.
    storeA.set('p1/s1/req-a2', record('req-a2'));
    await expect(storeA.save()).rejects.toThrow(/was removed while in use/);
    await expect(storeA.save()).rejects.toThrow(/not saved: the state lock .*state\.json\.lock was taken over by pid \d+ on host/);
    expect(lockA.lost.aborted).toBe(true);
    expect(logsA.text).toContain('stopping, since two daemons must not share a state file');
    // Nor does its stop compact over B's files.
    await expect(storeA.close()).rejects.toThrow(/not saved/);
    expect(stateFiles(path)).toEqual(before);
    await storeB.close();
    expect(Object.keys(stateOnDisk(path).watches).sort()).toEqual(['p1/s1/req-a', 'p1/s1/req-b', 'p1/s1/req-c', 'p1/s1/req-x']);
  });

  it('started again on its state, writes none of its lines into the new holder\'s journal through the one it made at its start', async () => {
    // A's journal, made when it opened the state, is the file B's open compacts away; B makes its own.
    const { path, storeA, storeB } = await takenOver((a) => eventually(() => expect(readdirSync(join(a.path, '..'))).toContain('state.json.journal')), { saved: true });
    const journalOfB = await readFile(`${path}.journal`, 'utf8');
    storeA.set('p1/s1/req-a', record('req-a'));
    await expect(storeA.save()).rejects.toThrow(/was removed while in use/);
    await expect(storeA.save()).rejects.toThrow(/not saved: the state lock .* was taken over/);
    expect(await readFile(`${path}.journal`, 'utf8')).toBe(journalOfB);
    await storeB.close();
    expect(Object.keys(stateOnDisk(path).watches).sort()).toEqual(['p1/s1/req-old', 'p1/s1/req-x']);
    expect(stateOnDisk(path).watches['p1/s1/req-x']).toMatchObject({ verdict: { outcome: 'success' } });
  });

  it('checks its lock before it creates its journal, which would empty the new holder\'s', async () => {
    // Nothing saved yet: A has no journal, and its first save creates one where B's is.
    const { path, storeA, storeB } = await takenOver(() => Promise.resolve());
    storeA.set('p1/s1/req-a', record('req-a'));
    await expect(storeA.save()).rejects.toThrow(/not saved: the state lock .* was taken over/);
    expect(stateOnDisk(path).watches['p1/s1/req-x']).toMatchObject({ verdict: { outcome: 'success' } });
    await storeB.close();
    expect(Object.keys(stateOnDisk(path).watches)).toEqual(['p1/s1/req-x']);
  });
});
