// One daemon per state file. Two daemons on one file would each decide and notify the same watches and
// overwrite each other's saves: a Kubernetes RollingUpdate starts the new pod before the old one stops,
// and anyone can type `run` twice. The lock is a file next to the state naming its holder; the holder
// refreshes it while it runs, so that a lock left by a crash is recognised and taken over.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { readlinkSync } from 'node:fs';
import { readFile, rm, utimes, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createWhole } from '../files/createWhole.ts';
import { removeStaleLock } from '../files/staleLock.ts';
import { errorCode } from '../net/failure.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import { linkTarget } from '../files/linkTarget.ts';
import { makeFolder } from '../files/writeFileAtomic.ts';
import { bootClock, thisBootId } from '../watch/clockSteps.ts';
import { pseudoFileSystemOf } from '../files/readRegularFile.ts';
import { StateError, stateFailure } from './StateError.ts';
import { journalPaths } from './journal.ts';
import { notRemoved } from '../files/notRemoved.ts';

export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
  /** Tells this process from an earlier one with the same pid (every container's daemon is pid 1). */
  instance: string;
  /**
   * The boot of its host (Linux's boot_id): after a crash of the host, its pid may be some other process's,
   * which would keep the lock for good. Absent in a lock of an older version, or off Linux.
   */
  bootId?: string;
  /**
   * Its pid namespace (Linux's /proc/self/ns/pid): a container that shares this host's name (Docker's host
   * network, a Kubernetes hostNetwork pod) numbers its processes apart, and its pid says nothing here.
   * Absent in a lock of an older version, or off Linux.
   */
  pidNamespace?: string;
}

export interface LockTiming {
  /** How often the holder refreshes the lock file's time. */
  refreshMs: number;
  /** A lock not refreshed for this long belongs to a daemon that is gone (or hung) and is taken over. */
  staleMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { refreshMs: 10_000, staleMs: 30_000 };

/** The state file is locked by a daemon that is alive; the message names it and says what to do. */
export class StateLockError extends StateError {
  override name = 'StateLockError';

  /** Restarting is how a supervisor waits for the other daemon to stop. */
  override get transient(): boolean {
    return true;
  }
  readonly holder: LockHolder | null;

  constructor(path: string, message: string, holder: LockHolder | null) {
    super(path, message);
    this.holder = holder;
  }
}

export function describeHolder(holder: LockHolder | null): string {
  if (holder === null) return 'an unknown process (the lock file is unreadable)';
  // Its pid, looked up here, is no process of its own: a daemon on the host beside one in a container.
  const apart = inOtherPidNamespace(holder) ? ` (in another pid namespace than this process's: a container's, or the host's)` : '';
  return `pid ${holder.pid}${apart} on host ${holder.hostname}, running since ${holder.startedAt}`;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.startedAt === 'string' && typeof value.instance === 'string') {
      const { bootId, pidNamespace, ...holder } = value as LockHolder;
      return { ...holder, ...(typeof bootId === 'string' ? { bootId } : {}), ...(typeof pidNamespace === 'string' ? { pidNamespace } : {}) };
    }
  } catch {
    // A lock file cut short by a crash while it was being written names nobody.
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This host's boot, read once: it does not change while the process runs. */
const BOOT_ID = thisBootId();

/** This process's pid namespace, read once; null where there is none to read (off Linux). */
const PID_NAMESPACE = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
})();

/** Whether `holder` says its pid is of another pid namespace than this process's (unknown: not). */
function inOtherPidNamespace(holder: LockHolder): boolean {
  return holder.pidNamespace !== undefined && PID_NAMESPACE !== null && holder.pidNamespace !== PID_NAMESPACE;
}

type Verdict = { kind: 'take-over'; why: string } | { kind: 'in-use' } | { kind: 'wait'; staleInMs: number };

/**
 * A live holder refreshes its lock every `refreshMs`: one seen unchanged for longer than this was not
 * refreshed when it should have been.
 */
const MISSED_REFRESH = 1.5;

/**
 * What to do about a lock held by `holder`, last refreshed `ageMs` ago by its time and our clock, and seen
 * unchanged for `unchangedMs` (our monotonic clock, since we first saw it as it is).
 */
function judge(holder: LockHolder | null, ageMs: number, unchangedMs: number, timing: LockTiming): Verdict {
  const sameName = holder !== null && holder.hostname === hostname();
  // A host name is no machine's own: cloned VMs keep theirs, and share an NFS volume. Another boot's lock is
  // this host's from before it last started only if it was last refreshed before that; refreshed since, it
  // is another machine's, whose pid this one cannot check (not running here, or some other process).
  const otherBoot = holder?.bootId !== undefined && BOOT_ID !== null && holder.bootId !== BOOT_ID;
  if (sameName && otherBoot && ageMs > bootClock()) {
    return { kind: 'take-over', why: `its holder, ${describeHolder(holder)}, ran before this host last started` };
  }
  const onThisHost = sameName && !otherBoot;
  // Its pid is one of ours to look up only in our pid namespace: in another (a daemon on this host beside one
  // in a container on the host's network) a pid not running here may be that daemon, alive, and one running
  // here some other process. Such a lock is waited for, as another machine's is.
  const pidHere = onThisHost && !inOtherPidNamespace(holder);
  if (pidHere && holder.pid !== process.pid && !isAlive(holder.pid)) {
    return { kind: 'take-over', why: `its holder, ${describeHolder(holder)}, is gone` };
  }
  if (unchangedMs >= timing.staleMs) return { kind: 'take-over', why: `it went ${Math.round(unchangedMs / 1000)} s without a refresh` };
  // Its time was set by the holder's clock and is read by ours: another host's clock behind ours, or ours
  // stepped forward, makes a live lock look old. Its age counts only once it has also missed a refresh;
  // at once for one of our own pid on this host, an earlier process of a container restarted after a
  // crash, whose lock this host's clock stamped (a restart would otherwise wait a refresh and a half).
  const missedRefresh = unchangedMs >= timing.refreshMs * MISSED_REFRESH;
  const earlierOfOurs = onThisHost && holder.pid === process.pid;
  if (ageMs >= timing.staleMs && (missedRefresh || earlierOfOurs)) return { kind: 'take-over', why: `it was last refreshed ${Math.round(ageMs / 1000)} s ago` };
  // Alive on this host, and refreshed of late: a daemon. The same pid as ours is not us: it is an earlier
  // process in a restarted container, or a daemon in another pid namespace; only the refresh can tell, so
  // that case waits. So does a lock older than a live daemon leaves its own, whose pid this boot may have
  // given to another process since its daemon was killed: refused, no restart would ever start.
  if (pidHere && holder.pid !== process.pid && ageMs < timing.staleMs) return { kind: 'in-use' };
  const byAge = Math.max(timing.staleMs - ageMs, timing.refreshMs * MISSED_REFRESH - unchangedMs);
  return { kind: 'wait', staleInMs: Math.min(timing.staleMs - unchangedMs, byAge) };
}

/**
 * How long a holder keeps looking for its lock file once it is gone, and how often, before it counts the lock
 * as removed rather than being replaced (removeStaleLock, then the taker's create), on a machine so busy that
 * the taker waits for a processor between the two.
 */
const GONE_CONFIRM_MS = 1000;
const LOCK_SUFFIX = '.lock';
const TWO_DAEMONS = 'since two daemons must not share a state file';
const GONE_LOOK_MS = 50;

/** How soon a start that found a stale lock's takeover claimed by another looks again. */
const TAKEOVER_RETRY_MS = 50;

/** A held lock. `lost` is aborted when another process has taken it over; the holder must then stop. */
export class StateLock {
  readonly path: string;
  readonly holder: LockHolder;
  readonly #lost = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #logger: Logger;
  #released: Promise<void> | null = null;
  /**
   * The refresh under way. The next waits for it to end: on a volume that hangs (an NFS server gone) each
   * would otherwise hold one of libuv's four threads until the volume answers, and DNS lookups and every
   * other file operation of the process queue behind them.
   */
  #refreshing: Promise<void> | null = null;
  /** A refresh has failed since the last one that succeeded: said once, and its end too. */
  #refreshFailing = false;
  /** See alongRefresh. */
  #along: (() => Promise<void>) | null = null;

  constructor(path: string, holder: LockHolder, timing: LockTiming, logger: Logger) {
    this.path = path;
    this.holder = holder;
    this.#logger = logger;
    this.#timer = setInterval(() => this.#tick(), timing.refreshMs);
    this.#timer.unref();
  }

  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /** Idempotent; removes the lock file if it is still ours. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      clearInterval(this.#timer);
      // A refresh's write after the removal below would find the file gone and report the lock lost.
      await this.#refreshing;
      const current = parseHolder(await readFile(this.path, 'utf8').catch(() => ''));
      if (current?.instance === this.holder.instance) await rm(this.path, { force: true });
    })();
    return this.#released;
  }

  /**
   * Whether the lock file still names this holder, read now; when it does not, the lock is lost at once, as
   * at a refresh. A holder paused past the stale time (SIGSTOP, a paused VM, a network partition) runs on
   * until its next refresh, and a refresh under way when it was paused ends without noticing: whatever it
   * writes meanwhile may overwrite the state of the daemon that took the lock over. Rejects when the file
   * cannot be read, for another reason than that it is gone.
   */
  async held(): Promise<boolean> {
    await this.#ifStillOurs(() => Promise.resolve());
    return !this.#lost.signal.aborted;
  }

  /**
   * Runs `look` (which must not reject) at the end of each refresh that found the lock still this holder's,
   * as part of it: on a volume that hangs, no refresh and no look starts while one waits, as for the
   * refresh alone.
   */
  alongRefresh(look: () => Promise<void>): void {
    this.#along = look;
  }

  #tick(): void {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
  }

  async #refresh(): Promise<void> {
    if (this.#released) return;
    try {
      await this.#ifStillOurs(() => {
        const now = new Date();
        return utimes(this.path, now, now);
      });
      if (this.#refreshFailing && !this.#lost.signal.aborted) this.#logger.info({ lock: this.path }, 'state lock refreshed again');
      this.#refreshFailing = false;
    } catch (err) {
      // A refresh that keeps failing lets the lock go stale; whoever takes it over is seen at the next one.
      // A volume gone read-only fails one every refresh: said once, its repeats at debug.
      const level = this.#refreshFailing ? 'debug' : 'warn';
      this.#refreshFailing = true;
      this.#logger[level](
        { lock: this.path, error: (err as Error).message },
        'could not refresh the state lock: one left unrefreshed goes stale, and another daemon may take it over (this one then stops); said again at debug while refreshes fail, and at info once one succeeds',
      );
    }
    if (!this.#refreshFailing && !this.#lost.signal.aborted) await this.#along?.();
  }

  /**
   * Runs `then` while the lock file names this holder; the lock is lost once it names another, or once it is
   * gone and stays gone for GONE_CONFIRM_MS. A daemon that takes a stale lock over removes it and creates its
   * own a moment later: looking again tells whose it is then, rather than give up on a file caught between.
   */
  async #ifStillOurs(then: () => Promise<void>): Promise<void> {
    const giveUpAt = performance.now() + GONE_CONFIRM_MS;
    for (;;) {
      if (this.#lost.signal.aborted) return;
      try {
        const current = parseHolder(await readFile(this.path, 'utf8'));
        if (current?.instance !== this.holder.instance) {
          this.#lose(`the state lock ${this.path} was taken over by ${describeHolder(current)}`);
          return;
        }
        await then();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (performance.now() >= giveUpAt) {
          this.#lose(...(await this.#goneWhy()));
          return;
        }
      }
      await sleep(GONE_LOOK_MS);
    }
  }

  /**
   * What to say of a lock that stayed gone, and why the daemon stops for it: taken by another daemon, or gone
   * with the state itself, where the next start must not be the operator's first look (it would start afresh).
   */
  async #goneWhy(): Promise<[message: string, stopping: string]> {
    const state = this.path.slice(0, -LOCK_SUFFIX.length);
    const there = await Promise.all([state, journalPaths(state).current].map(notRemoved));
    if (there.includes(true)) return [`the state lock ${this.path} was removed by someone else`, TWO_DAEMONS];
    return [
      `the state lock ${this.path} is gone, and the state files beside it with it (their folder removed or cleaned up, or their volume unmounted): ` +
        `put them back (mount the volume) before the daemon starts again, which without them starts afresh and notifies every finished watch again`,
      'since what it would save no longer goes where its state was',
    ];
  }

  #lose(message: string, stopping = TWO_DAEMONS): void {
    // A refresh and a write of the state may both find it taken over.
    if (this.#lost.signal.aborted) return;
    clearInterval(this.#timer);
    this.#logger.error({ lock: this.path }, `${message}; stopping, ${stopping}`);
    this.#lost.abort(new Error(message));
  }
}

/**
 * Takes the lock of the state file at `configuredPath` (`<path>.lock`; for a symbolic link, beside the file
 * it points to, where the store keeps the state: see linkTarget). A lock whose holder is gone
 * (same host, pid not running) or that has not been refreshed for `staleMs` is taken over. One held by
 * a live process on this host is refused at once; one whose holder cannot be checked from here (another
 * host, or our own pid from an earlier container) is waited for until it is released or goes stale.
 */
export async function acquireStateLock(
  configuredPath: string,
  options: {
    logger: Logger;
    signal?: AbortSignal | undefined;
    timing?: LockTiming | undefined;
    /** Called at each look at a lock held by another that has ended: the wait moves, its volume answers. */
    looked?: (() => void) | undefined;
  },
): Promise<StateLock> {
  const { logger, signal } = options;
  const timing = options.timing ?? DEFAULT_LOCK_TIMING;
  // A state.path relative to the working folder (the systemd unit's StateDirectory) says nothing to whoever
  // reads the journal: the messages and logs below name the file from the root.
  const statePath = resolve(await linkTarget(configuredPath));
  const path = `${statePath}${LOCK_SUFFIX}`;
  const pseudo = await pseudoFileSystemOf(statePath);
  if (pseudo !== undefined) throw new StateError(statePath, `is on ${pseudo}, whose files the kernel generates: set state.path to a file on a disk`);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    instance: randomUUID(),
    ...(BOOT_ID === null ? {} : { bootId: BOOT_ID }),
    ...(PID_NAMESPACE === null ? {} : { pidNamespace: PID_NAMESPACE }),
  };
  // A failure is said when the open below fails for want of the folder: why it could not be made.
  const folderFailure = await makeFolder(dirname(path)).then(() => null, (err: unknown) => err);
  let waitingLogged = false;
  // As the lock was when first seen so (NaN is no time: the first look starts it), by our monotonic clock.
  let watched = { text: '', mtimeMs: NaN, since: 0 };
  for (;;) {
    signal?.throwIfAborted();
    const created = await createWhole(path, `${JSON.stringify(holder)}\n`, 0o644).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT' && folderFailure !== null) throw stateFailure(statePath, `cannot create its folder ${dirname(path)}`, folderFailure);
      throw stateFailure(statePath, `cannot create its lock file ${path}`, err);
    });
    if (created) return new StateLock(path, holder, timing, logger);
    const seen = await readLock(path).catch((err: unknown) => {
      // A folder or an unreadable file where the lock should be: said with the state file, whose `run` exits 2 for it.
      throw stateFailure(statePath, `cannot read its lock file ${path}`, err);
    });
    options.looked?.();
    if (seen === null) continue; // released meanwhile
    if (watched.text !== seen.text || watched.mtimeMs !== seen.mtimeMs) watched = { text: seen.text, mtimeMs: seen.mtimeMs, since: performance.now() };
    const verdict = judge(seen.holder, Date.now() - seen.mtimeMs, performance.now() - watched.since, timing);
    if (verdict.kind === 'in-use') {
      throw new StateLockError(
        statePath,
        `is in use by another ecs-action-watch: ${describeHolder(seen.holder)} (lock ${path}). ` +
          'Run one daemon per state file: stop that one, or run this one with a state folder of its own (under systemd, as an instance of the ' +
          'template unit ecs-action-watch@.service, not a copy of the unit; in Kubernetes, as deploy/kubernetes-second)',
        seen.holder,
      );
    }
    if (verdict.kind === 'take-over') {
      if (await removeStaleLock(path, seen.text)) logger.warn({ lock: path }, `took over a stale state lock: ${verdict.why}`);
      // Another process is taking it over, or left its claim dying: looked at again shortly, not in a busy loop.
      else await sleep(TAKEOVER_RETRY_MS, undefined, { signal });
      continue;
    }
    if (!waitingLogged) {
      waitingLogged = true;
      logger.warn(
        { lock: path, holder: seen.holder },
        `the state file is locked by ${describeHolder(seen.holder)}; waiting until it is released, or taken over once it goes ` +
          `${Math.round(timing.staleMs / 1000)} s without a refresh (only one daemon may use a state file)`,
      );
    }
    // Looked at four times a refresh: a release is taken up within seconds, and a missed refresh seen soon after.
    await sleep(Math.max(50, Math.min(verdict.staleInMs, timing.refreshMs / 4)), undefined, { signal });
  }
}

async function readLock(path: string): Promise<{ text: string; holder: LockHolder | null; mtimeMs: number } | null> {
  try {
    const [text, stats] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, holder: parseHolder(text), mtimeMs: stats.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
