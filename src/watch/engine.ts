import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../observability/logger.ts';
import { OUTCOMES, type NotifyEvent, type Outcome } from '../model.ts';
import type { EcsClient } from '../cloud/client.ts';
import { ApiError } from '../cloud/ApiError.ts';
import type { Metrics } from '../observability/metrics.ts';
import { batchDeliveries, watchDeliveries, type DurableDelivery, type StateStore } from '../state/store.ts';
import type { CloudClockSetting, WatchRecord } from '../state/types.ts';
import type { Notifier } from '../notify/types.ts';
import { deliveryId, pendingDelivery } from '../delivery/notification.ts';
import { dictionary } from '../data/dictionary.ts';
import { whenAborted } from '../lifecycle/abort.ts';
import { isExpired, reportedAt } from '../state/retention.ts';
import { keepChanges } from '../state/keepChanges.ts';
import type { WarnAfterTable } from '../config/warnAfter.ts';
import { BatchDigests } from '../batch/digests.ts';
import { lastReported, type Member } from '../batch/plan.ts';
import { kindOf, watchKey, watchLogFields } from './kinds/index.ts';
import type { PollContext, PollResult, WatchKindModule, WatchTarget } from './kinds/types.ts';
import { slowness, warnAfterFor } from './slow.ts';
import { cloudSetInAll, cloudSetting, onCloudClockAsSet } from './judgement.ts';
import { PassOverrun } from './overrun.ts';
import { CLOCK_CHECK_MS, CLOCK_STEP_MS, type BootClock } from './clockSteps.ts';
import { HostClock } from './hostClock.ts';
import { cronZone } from './cronZone.ts';
import { quoted } from '../text/clipped.ts';
import { stuckLoop } from './stuck.ts';
import { PollFailures, type PollFailureCause } from './pollFailures.ts';
import type { TrackSpec } from '../config/schema.ts';
import { discoveredTargets, trackCloudClockSet, trackPass } from '../track/tracker.ts';

export interface EngineOptions {
  client: EcsClient;
  store: StateStore;
  notifiers: Map<string, Notifier>;
  logger: Logger;
  metrics: Metrics;
  /** `deadline`: of the watches auto-tracking starts for an entry that names none. */
  poll: { schedule: string; retries: number; concurrency: number; warnAfter: WarnAfterTable; deadline: number };
  /** `state.retention`: how long a finished, settled watch no longer in the file stays in the state. */
  retentionMs: number;
  /** How long a pass may go without a poll or a request ending before the loop counts as stuck (stuck.ts). */
  stuckAfterMs: number;
  /** Tells a clock set from a machine that slept (clockSteps.ts); tests give one on their fake clock. */
  bootClock?: BootClock | undefined;
  /** The boot it counts from; by default this machine's (clockSteps.ts). */
  bootId?: string | null | undefined;
  /**
   * Called once, when the first pass has polled every watch and before its save: the daemon has V8 collect
   * there what that pass left (daemonV8.ts, collectGarbage).
   */
  firstPassPolled?: (() => void) | undefined;
  /** This host's clock was set by `byMs`: what keeps times outside the state (the notifiers' runs of failures) moves them with it, from `since` on. */
  onTimesMoved?: ((byMs: number, since?: number) => void) | undefined;
  /**
   * Called once a pass's save has written what it decided: verdicts and digests that no notifier is owed
   * (an `on:` leaves their outcome out) reach the outbox as no delivery, yet outrun what it still owes.
   */
  passSaved?: (() => void) | undefined;
}

/**
 * The name a watch goes by: the file's, or for one auto-tracking started that the file lists without a name,
 * the one tracking gave it (`<action> <server>`).
 */
export function watchName(target: WatchTarget, record: WatchRecord): string | null {
  const discovered = 'discovered' in record && record.discovered !== undefined;
  return target.name ?? (discovered ? record.name : null);
}

/** What one pass over the watches found, for `check` and for `run --until-done`. */
export interface WatchStatus {
  target: WatchTarget;
  record: WatchRecord;
  /** This pass's poll failed after its retries. */
  pollFailed: boolean;
  /** What to mend for the error that failed it: its kind, or a refusal whose fix is not what its kind says (`check` and `wait` advise by it). */
  errorCause: PollFailureCause | null;
  /** The message of this pass's failed read, if one failed: the poll's error without what the judgement added to it. */
  readError: string | null;
  state: 'pending' | Outcome;
  detail: string;
  /** This pass's poll had the API's own "not found" for what the watch follows. */
  notFound: boolean;
}

/**
 * Polls pending watches on the schedule and turns finished ones into deliveries. The list of watches
 * can be replaced at any time (a reloaded file); state outlives it, keyed by project/server/request.
 */
export class WatchEngine {
  readonly #o: EngineOptions;
  readonly #limit: ReturnType<typeof pLimit>;
  /** Aborted when closing begins: no new poll starts. */
  readonly #stopping = new AbortController();
  /** Aborted when the drain budget is spent: polls in flight are cancelled and record nothing. */
  readonly #closed = new AbortController();
  /** Ends a retry's waits (a backoff, a Retry-After): aborted with either of the two above (#retry). */
  readonly #noMoreWaits = AbortSignal.any([this.#stopping.signal, this.#closed.signal]);
  #closing: Promise<void> | null = null;
  /** The watch file's watches. */
  #targets: WatchTarget[] = [];
  /** The keys and batch labels of the last list of watches #namesOf was asked about. */
  #names: TargetNames | undefined;
  /** The watch file's `track:` entries. */
  #track: readonly TrackSpec[] = [];
  /** The watches auto-tracking started that the file does not list; read from the state at each pass. */
  #discovered: WatchTarget[] = [];
  #task: ScheduledTask | null = null;
  /** What each scheduled pass runs, once start() is called: the schedule is made again from it after a step of the clock. */
  #scheduledPass: (() => unknown) | null = null;
  readonly #hostClock: HostClock;
  /** Ticks node-cron reported missed since the last pass began: the first is told, not every one. */
  #missed = 0;
  #clockTimer: NodeJS.Timeout | null = null;
  readonly #overrun = new PassOverrun();
  /** The pass in flight, and whether it keeps what each poll found (#startPass). */
  #pass: { promise: Promise<WatchStatus[]>; keepsStatuses: boolean } | null = null;
  /** When the pass in flight began (null between passes), and when a poll last ended (performance.now()). */
  #passStartedAt: number | null = null;
  #lastPollEndedAt = -Infinity;
  /** Between passes, when the schedule's next one is due (performance.now()); null without a schedule. */
  #nextPassDueAt: number | null = null;
  /** The watch list was replaced while a pass was in flight: its polls from then on take the entries in force (#inForce). */
  #reloadedInPass = false;
  /** Every watch by key, as the last reload left the list: made at the first poll that needs it after one (#inForce). */
  #inForceByKey: Map<string, WatchTarget> | null = null;
  /** From a pass's start until it has recorded its batches' digests: a `batch:` label edited meanwhile waits for that. */
  #passHoldsLabels = false;
  #ownsTracking = true;
  /** Whether the log was told the loop is stuck, and must be told when it moves again. */
  #stuckSaid = false;
  /** When this process last went on after it was held (performance.now()): the loop's signs count from no earlier. */
  #wokeAt = -Infinity;
  /** When this process was last seen going (performance.now()): stuck(), which the look at the clocks calls every CLOCK_CHECK_MS, as /healthz and a scrape do. */
  #ranAt = -Infinity;
  /** The keys of the records the last setting of the cloud's clock moved (#cloudSet): what #heldStill takes back. */
  #cloudSetKeys: string[] = [];
  /**
   * The times the cloud stamped in each record whose document a poll changed since the cloud clock's last
   * measure, as they were at that measure (`since`: when its answer came, CloudClock.sampledMono): a setting
   * of that clock the next measure finds came after it, and what was seen since may be stamped after it.
   * Only for a minute's changes: one measure's, dropped at the next.
   */
  #stampedAtMeasure: { since: number | undefined; times: Map<string, number[]> } = { since: undefined, times: new Map() };
  /** EngineOptions.firstPassPolled, until the first pass has called it. */
  #firstPassPolled: (() => void) | undefined;
  readonly #failures: PollFailures;
  /**
   * What the engine keeps of each watch, in one place: at 10,000 watches each lookup in a map of them
   * misses the CPU's caches, and a poll made three (its key, its record, its warning's due time).
   */
  readonly #slots = new WeakMap<WatchTarget, WatchSlot>();
  readonly #batches: BatchDigests;
  /** What every poll uses of the engine, made once rather than as closures at each poll. */
  readonly #pollServices: PollServices;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#firstPassPolled = options.firstPassPolled;
    // Before the host clock, which moves the times it keeps (at a start, too).
    this.#failures = new PollFailures(options.metrics.pollErrors, this.#closed.signal, () => this.#task !== null, () => this.#now());
    this.#hostClock = new HostClock({
      cloud: options.client.clock,
      store: options.store,
      logger: options.logger,
      metrics: options.metrics,
      bootClock: options.bootClock,
      bootId: options.bootId,
      onMoved: (byMs, since) => {
        this.#failures.moveTimes(byMs, since);
        options.onTimesMoved?.(byMs, since);
      },
      onCloudSet: (byMs, since, sinceMono) => this.#cloudSet(byMs, since, sinceMono),
      onHeldStill: (byMs) => this.#heldStill(byMs),
    });
    this.#pollServices = {
      client: options.client,
      logger: options.logger,
      closed: this.#closed.signal,
      now: () => this.#now(),
      read: (poll, call) => this.#retrying(poll, call),
      failed: (poll, err) => this.#failures.failed(poll.record, poll.log, err),
      failingSince: (record) => this.#failingSince(record),
    };
    this.#limit = pLimit(options.poll.concurrency);
    this.#batches = new BatchDigests({ store: options.store, notifiers: options.notifiers, logger: options.logger, retentionMs: options.retentionMs });
  }

  setWatches(targets: WatchTarget[]): void {
    this.#targets = targets;
    if (this.#passStartedAt !== null) this.#reloadedInPass = true;
    const told = this.#toldInDigests();
    // Tracking begins when a watch first appears, not at its first poll.
    for (const t of targets) {
      const record = this.#recordFor(t);
      this.#renamed(t, record);
      // A pass in flight reports its batches by the entries it began with: their labels change once it has
      // (#runPass), or a watch taken out of a batch it is finishing would be told on its own and in its digest.
      if (!this.#passHoldsLabels) this.#relabelled(t, record, told);
    }
    this.#refreshDiscovered();
    this.#updateGauges();
  }

  /**
   * A `name:` edited in the file while the watch is pending: its notifications are to carry the new one.
   * Once it has a verdict the name stays as it was: a notification owed (and retried under the same id)
   * says what the first attempt said. A watch auto-tracking started that the file lists without a name keeps
   * the one tracking gave it (`<action> <server>`): listing it is to give it settings, not to unname it.
   */
  #renamed(target: WatchTarget, record: WatchRecord): void {
    const name = watchName(target, record);
    if (record.verdict || record.name === name) return;
    record.name = name;
    this.#o.store.touch(this.#keyOf(target));
  }

  /**
   * A verdict whose watch the file has since given another `batch:` label, or none. A watch given a label
   * is reported in that batch's digest, also after its own notification or an earlier batch's digest: its
   * record names that batch, so that what the digest reads (the record, a failure's details) is kept for it.
   * One left with none before a digest reported it is notified on its own now; one a final digest reported,
   * of the batch it leaves or of one it left before (`told`), is not, and its record names that batch.
   */
  #relabelled(target: WatchTarget, record: WatchRecord, told: () => ReadonlyMap<string, string>): void {
    const was = record.batch ?? null;
    const label = target.batch ?? null;
    const key = this.#keyOf(target);
    if (!record.verdict || was === label || (label === null && this.#batches.reported(was!, key))) return;
    const teller = label === null ? told().get(key) : undefined;
    record.batch = teller ?? label;
    this.#o.store.touch(key);
    if (label !== null) return;
    if (teller !== undefined) {
      this.#o.logger.info({ ...watchLogFields(target), batch: was, toldIn: teller }, `watch left its batch before the digest; reported by the final digest of batch ${teller} before it joined`);
      return;
    }
    const owed = this.#owe(target, key, record, record.verdict.outcome, new Date().toISOString());
    // One notified on its own before it joined owes nothing new.
    const said = owed ? 'watch left its batch before the digest: notified on its own' : 'watch left its batch before the digest; notified on its own before it joined';
    this.#o.logger.info({ ...watchLogFields(target), batch: was, notifiers: Object.keys(record.deliveries) }, said);
    this.#o.store.releaseIfSettled(key);
  }

  /**
   * The batch of the last final digest that reported each watch, worked out at the first ask and kept for
   * one walk of the file's watches: asked only of a watch that leaves a batch whose digest did not report it.
   */
  #toldInDigests(): () => ReadonlyMap<string, string> {
    let told: ReadonlyMap<string, string> | undefined;
    return () => (told ??= lastReported(this.#o.store.batches()));
  }

  /**
   * Auto-tracking's entries; their servers are listed on each pass, before the watches are polled. `owned`:
   * this engine keeps the state's tracking (the daemon), so that with no entry left a pass forgets what the
   * entries tracked; `check` and `wait` only read it.
   */
  setTracking(entries: readonly TrackSpec[], owned = true): void {
    this.#track = entries;
    this.#ownsTracking = owned;
    this.#refreshDiscovered();
  }

  /** Every watch: the file's, then those auto-tracking started (kept in the state, not the file). */
  watches(): readonly WatchTarget[] {
    return this.#discovered.length === 0 ? this.#targets : [...this.#targets, ...this.#discovered];
  }

  #refreshDiscovered(): void {
    this.#discovered = discoveredTargets(this.#o.store, this.#namesOf(this.#targets).keys, this.#track);
    this.#inForceByKey = null;
  }

  /**
   * The entry in force for a watch a pass began with, once a reload replaced the list during the pass; null
   * when the reload took it out. A pass of 10,000 watches lasts minutes: a deadline lengthened, a `notify:`
   * emptied or a watch removed must hold for its polls still to come, not from the next pass.
   */
  #inForce(target: WatchTarget): WatchTarget | null {
    if (!this.#reloadedInPass) return target;
    this.#inForceByKey ??= new Map(this.watches().map((t) => [this.#keyOf(t), t]));
    return this.#inForceByKey.get(this.#keyOf(target)) ?? null;
  }

  /**
   * The keys and batch labels of `targets`, kept for the last list asked about: each pass asks about the
   * file's, which only a reload replaces. Made at every pass, the set of 10,000 keys went straight to the old
   * generation, as garbage for its next full collection (docs/performance.md, A poll).
   */
  #namesOf(targets: readonly WatchTarget[]): TargetNames {
    if (this.#names?.targets !== targets) {
      this.#names = { targets, keys: new Set(targets.map((t) => this.#keyOf(t))), batches: new Set(targets.flatMap((t) => t.batch ?? [])) };
    }
    return this.#names;
  }

  /**
   * Starts polling on the cron schedule; the first pass runs at once so a restart catches up. Resolves
   * when that pass has ended. `onPass` sees what each scheduled pass found (`wait` follows its one watch
   * this way).
   */
  start(onPass?: (statuses: WatchStatus[]) => void): Promise<void> {
    if (this.#task) return Promise.resolve();
    const pass = onPass === undefined ? () => this.#startPass(false).then(() => undefined) : () => this.pollOnce().then(onPass);
    this.#scheduledPass = pass;
    this.#task = this.#schedule(pass);
    this.#ranAt = performance.now();
    this.#clockTimer = setInterval(() => {
      this.#lookAtClock();
      this.stuck();
    }, CLOCK_CHECK_MS);
    this.#clockTimer.unref();
    // A pass that throws is a bug: logged, as node-cron logs one of those it runs, and the schedule goes on.
    return pass().catch((err: unknown) => this.#o.logger.error({ component: 'cron', err }, 'scheduler error'));
  }

  #schedule(pass: () => unknown): ScheduledTask {
    const { schedule } = this.#o.poll;
    const timezone = cronZone(schedule);
    let task: ScheduledTask;
    try {
      task = cron.schedule(schedule, pass, { name: 'ecs-action-watch poll', noOverlap: true, logger: cronLogger(this.#o.logger), timezone });
    } catch (err) {
      // The file's check asks node-cron in UTC: a schedule that names only times its zone skips (02:30 on the
      // last Sunday of March in Europe/Berlin) is valid there and fails here, which node-cron says without
      // naming the setting or the zone.
      throw new Error(
        `poll.schedule ${quoted(schedule)} has no time in ${timezone}, the zone it is read in, within 100 years (node-cron: ${(err as Error).message}): ` +
          'write one that names a time the zone has, or run the daemon with TZ=UTC and write the hours in UTC',
        { cause: err },
      );
    }
    task.on('execution:overlap', () => this.#overrun.skipped());
    // Handled here, node-cron's own warning is not given: it would blame the event loop for each tick a step of the clock passed over.
    task.on('execution:missed', () => {
      if (task !== this.#task) return;
      // The schedule goes on: the pass stuck() waits for is its next one, which may be an hour off.
      if (this.#pass === null) this.#nextPassDueAt = this.#nextPassDue();
      if (this.#lookAtClock() || this.#missed++ > 0) return;
      this.#o.logger.warn(
        { component: 'cron', schedule: this.#o.poll.schedule },
        'poll passes were missed, node-cron finding their time already past: the event loop was held up (blocking work, no CPU to be had), ' +
          'or TZ has daylight saving time and the hour its autumn change repeats went by (see README, poll.schedule); said again once a pass has run',
      );
    });
    return task;
  }

  /**
   * This host's time now, once a step of its clock since the last look has been allowed for: what to
   * compare with a time the state keeps (the outbox's retries and delivery.maxAge too).
   */
  now(): number {
    return this.#now();
  }

  /** See HostClock.surelyPassedSince: an age counted from a time the state keeps counts from no earlier. */
  surelyPassedSince(now: number): number {
    return this.#hostClock.surelyPassedSince(now);
  }

  #now(): number {
    this.#lookAtClock();
    return Date.now();
  }

  /**
   * True when this host's clock stepped since the last look (every 5 s, and before each judgement): it is
   * allowed for (hostClock.ts), and the passes are scheduled afresh from the new time.
   */
  #lookAtClock(): boolean {
    if (this.#stopping.signal.aborted || this.#hostClock.look() === null) return false;
    if (this.#task && this.#scheduledPass) {
      void this.#task.destroy();
      this.#task = this.#schedule(this.#scheduledPass);
      if (this.#pass === null) this.#nextPassDueAt = this.#nextPassDue();
    }
    return true;
  }

  /**
   * When the schedule's next pass is due, by node-cron's own reckoning (its heartbeat and getNextRun()
   * ask the same matcher), on the monotonic clock that stuck() reads. A matcher that throws has ended
   * node-cron's heartbeat too: due now.
   */
  #nextPassDue(): number | null {
    if (this.#task === null || this.#stopping.signal.aborted) return null;
    const now = performance.now();
    try {
      const next = this.#task.getNextRun();
      return next === null ? null : now + Math.max(0, next.getTime() - Date.now());
    } catch {
      return now;
    }
  }

  /** One pass: every pending watch polled once (with retries), concurrently up to the limit; what each poll found. */
  pollOnce(): Promise<WatchStatus[]> {
    // A pass that keeps nothing of its polls is waited for, and then one that does is run, unless the engine
    // began to close meanwhile: close() waits for the pass it found, not for one begun after it.
    if (this.#pass?.keepsStatuses === false) {
      return this.#pass.promise.catch(() => undefined).then(() => (this.#stopping.signal.aborted ? [] : this.pollOnce()));
    }
    return this.#startPass(true);
  }

  /**
   * The pass in flight, or a new one: a pass still running when the next is due is joined, not doubled. It
   * keeps what each poll found only for a caller that reads it (`check`, `wait`, `demo`); the
   * daemon's scheduled passes keep nothing, as the statuses of 10,000 polls and their reasons, held until the
   * pass ends, outlived the young generation: half of what the collector copied into the old one.
   */
  #startPass(keepsStatuses: boolean): Promise<WatchStatus[]> {
    if (this.#pass === null) {
      const promise = this.#runPass(keepsStatuses).finally(() => {
        this.#pass = null;
        this.#passStartedAt = null;
        this.#passHoldsLabels = false;
        this.#nextPassDueAt = this.#nextPassDue();
      });
      this.#pass = { promise, keepsStatuses };
    }
    return this.#pass.promise;
  }

  /** True once every watch has a verdict. */
  allDone(): boolean {
    return this.watches().every((t) => this.#o.store.get(this.#keyOf(t))?.verdict);
  }

  /**
   * True once every watch has a verdict, every notification is settled (those of watches the file no longer
   * lists too: the outbox retries them all the same), and each batch has sent its final digest.
   */
  allSettled(): boolean {
    return this.#o.store.deliveryCounts().pending === 0 && this.allDone() && this.#batches.settled(this.#batchMembers(this.#targets));
  }

  /**
   * The notifications given up: those about a watch or batch of the file, whenever it was, and those about
   * any other since `since` (ms since the epoch; the daemon's start), such as a watch removed while its
   * notification was retried.
   */
  givenUp(since: number): DurableDelivery[] {
    const inFile = new Set(this.watches().map((t) => this.#keyOf(t)));
    const labels = new Set(this.#batchMembers(this.#targets).keys());
    const counts = (d: DurableDelivery) =>
      d.delivery.status === 'given_up' && ((d.about === 'digest' ? labels.has(d.batch.label) : inFile.has(d.key)) || Date.parse(d.delivery.updatedAt) >= since);
    const store = this.#o.store;
    return [...store.entries().flatMap(([key, record]) => watchDeliveries(key, record)), ...store.batches().flatMap(batchDeliveries)].filter(counts);
  }

  /**
   * Stops the schedule, lets the pass in flight finish (and save) until `drain` is aborted, then cancels
   * its polls, which record nothing. Idempotent.
   */
  close(drain: AbortSignal = AbortSignal.abort()): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopping.abort();
      this.#o.client.stopWaiting();
      clearInterval(this.#clockTimer ?? undefined);
      await this.#task?.destroy();
      const pass = this.#pass?.promise.catch(() => undefined);
      await Promise.race([pass, whenAborted(drain)]);
      this.#closed.abort();
      await pass;
    })();
    return this.#closing;
  }

  /**
   * Why the poll loop counts as stuck (stuck.ts), or undefined: /healthz answers 503 with it, so that a daemon
   * that polls nothing is restarted. The log is told once when it begins and once when it ends.
   */
  stuck(): string | undefined {
    this.#ran();
    const signs = {
      passStartedAt: this.#passStartedAt,
      lastSignAt: Math.max(this.#lastPollEndedAt, this.#o.client.lastRequestEndedAt(), this.#wokeAt),
      nextPassDueAt: this.#stopping.signal.aborted || this.#nextPassDueAt === null ? null : Math.max(this.#nextPassDueAt, this.#wokeAt),
    };
    const reason = stuckLoop(signs, performance.now(), this.#o.stuckAfterMs);
    if ((reason !== undefined) === this.#stuckSaid) return reason;
    this.#stuckSaid = reason !== undefined;
    if (reason === undefined) this.#o.logger.info('the poll loop moves again: /healthz answers 200');
    else this.#o.logger.error({ stuckAfterMs: this.#o.stuckAfterMs }, `the poll loop is stuck: ${reason}; /healthz answers 503 until it moves again`);
    return reason;
  }

  /**
   * This process goes: seen last so long ago that the look at the clocks, due every CLOCK_CHECK_MS, did not
   * come, it was held (SIGSTOP, a frozen cgroup) while its clocks went on, and every timer due meanwhile fires
   * now, node-cron's maybe after the look, a probe that came meanwhile (/healthz, a scrape) maybe before
   * either: the pass it missed is no lost timer.
   */
  #ran(): void {
    const now = performance.now();
    if (this.#clockTimer !== null && !this.#stopping.signal.aborted && now - this.#ranAt >= CLOCK_CHECK_MS + CLOCK_STEP_MS) this.#wokeAt = now;
    this.#ranAt = now;
  }

  /** One pass; what each poll found, when it `keepsStatuses` (else an empty list). */
  async #runPass(keepsStatuses: boolean): Promise<WatchStatus[]> {
    const started = performance.now();
    this.#passStartedAt = started;
    this.#reloadedInPass = false;
    this.#passHoldsLabels = true;
    this.#missed = 0;
    // Before auto-tracking's pass, which times a server's absence on this host's clock.
    this.#lookAtClock();
    const inFile = this.#targets;
    // With no entry left, the daemon's pass still forgets what the entries tracked: tracking them again
    // begins afresh.
    if ((this.#track.length > 0 || (this.#ownsTracking && this.#o.store.isTracking())) && !this.#stopping.signal.aborted) {
      await this.#discover();
      this.#refreshDiscovered();
    }
    const statuses = await this.#pollAll(this.watches(), keepsStatuses);
    await this.#askTheCloudItsTime();
    // A pass cut short by close() may have left a batch's watches unpolled: no digest from it.
    if (!this.#closed.signal.aborted) this.#batches.update(this.#batchMembers(inFile), this.#now());
    // A reload that landed during the pass is taken as one that came just after it, when it would have found
    // the verdicts the pass reached with the old entries: one whose watch left its batch is owed on its own
    // (else no digest would ever count it, and `run --until-done` would call it settled).
    this.#passHoldsLabels = false;
    if (this.#reloadedInPass) {
      const told = this.#toldInDigests();
      for (const t of this.#targets) this.#relabelled(t, this.#recordFor(t), told);
    }
    // Finished discovered watches are forgotten after the retention, as those removed from the file are; a
    // watch that a reload put back during the pass is in the file again, and keeps its record.
    if (this.#prune(this.#reloadedInPass ? [...inFile, ...this.#targets] : inFile)) this.#refreshDiscovered();
    const firstPassPolled = this.#firstPassPolled;
    this.#firstPassPolled = undefined;
    firstPassPolled?.();
    try {
      // The deliveries of this pass's verdicts reach the outbox only once this save has written them.
      await this.#o.store.save();
      this.#o.passSaved?.();
    } catch {
      // Said by the store's listener (app.ts), once while saves keep failing; tried again at the next pass,
      // or as the state closes when stopping.
    }
    this.#updateGauges();
    this.#reportOverrun(Math.round(performance.now() - started));
    return statuses;
  }

  /**
   * After a start that only the cloud's clock can judge (a boot, another host), a notification's age is
   * sure only from the start until the cloud answers (HostClock.surelyPassedSince): one still failing
   * would be given up a whole delivery.maxAge after the start, not after its outcome. With every watch
   * finished and nothing tracked no poll asks the cloud anything, so this pass asks, while one is owed.
   */
  async #askTheCloudItsTime(): Promise<void> {
    // An answer this pass had (auto-tracking's listings) may have judged it already.
    this.#lookAtClock();
    if (this.#hostClock.judged || this.#stopping.signal.aborted || this.#o.store.readOnly || this.#o.store.deliveryCounts().pending === 0) return;
    try {
      await this.#o.client.askTheTime(this.#closed.signal);
    } catch (err) {
      this.#o.logger.debug({ err }, "the cloud's clock could not be read; asked again at the next pass");
    }
    this.#lookAtClock();
  }

  #reportOverrun(passMs: number): void {
    const news = this.#overrun.passEnded(passMs);
    if (news?.kind === 'started') {
      const failed = news.failedPolls;
      // Polls that fail take their retries' backoff: a cloud that is down or refusing makes passes long,
      // and neither the schedule nor the concurrency is then what to change.
      const why = failed === 0
        ? 'slow the schedule or raise poll.concurrency'
        : `${failed} of its polls failed, each after its retries and their backoff (poll.retries), which made it long: look at why they fail (logged), not at the schedule`;
      this.#o.logger.warn(
        { passMs, skippedPasses: news.skipped, schedule: this.#o.poll.schedule, failedPolls: failed },
        `a poll pass outlasted poll.schedule: the passes due meanwhile are skipped, not made up; ${why} (said again only after passes fit again)`,
      );
    } else if (news?.kind === 'ended') {
      this.#o.logger.info({ passMs, schedule: this.#o.poll.schedule }, 'poll passes fit poll.schedule again');
    }
  }

  /**
   * Polls every target, `poll.concurrency` at a time, each worker taking the next: no promise waits per
   * target for the whole pass, which at ten thousand watches would outlive the young generation and
   * fill the old one with garbage at every pass. What each poll found, when `keep` (else an empty list).
   */
  async #pollAll(targets: readonly WatchTarget[], keep: boolean): Promise<WatchStatus[]> {
    const statuses = keep ? new Array<WatchStatus | null>(targets.length) : [];
    let next = 0;
    let removed = false;
    const worker = async () => {
      while (next < targets.length) {
        const at = next++;
        const target = targets[at]!;
        // A fault of ours in one poll fails that poll: a worker it ended would leave the watches after it
        // unpolled, and the pass would end (and the next begin) while the other workers' polls still ran.
        // A try rather than .catch(): no promise and closure more at every poll.
        let status: WatchStatus | null;
        const started = performance.now();
        try {
          status = await this.#pollWatch(target);
        } catch (err) {
          status = this.#pollThrew(target, err, started);
        }
        if (status === null) removed = true;
        else if (status.pollFailed) this.#overrun.pollFailed();
        if (keep) statuses[at] = status;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.poll.concurrency, targets.length) }, worker));
    return removed ? statuses.filter((s) => s !== null) : (statuses as WatchStatus[]);
  }

  /**
   * What a poll that threw found: a failed poll, said at error, and counted and kept as one (of kind
   * internal), or a daemon whose polls all throw would show none failing to EcsActionWatchPollsFailing, and
   * a watch whose polls throw none unanswered to EcsActionWatchWatchUnanswered nor to `check`.
   */
  #pollThrew(began: WatchTarget, err: unknown, started: number): WatchStatus {
    const target = this.#inForce(began) ?? began;
    this.#lastPollEndedAt = performance.now();
    this.#o.logger.error({ ...watchLogFields(target), err }, 'poll failed with a fault of ours; polled again at the next pass');
    this.#o.metrics.recordPoll('error', (this.#lastPollEndedAt - started) / 1000);
    const detail = `poll failed: ${err instanceof Error ? err.message : String(err)}`;
    const record = this.#recordFor(target);
    this.#failures.threw(record);
    const kept = { lastError: detail, failingSince: record.failingSince ?? new Date().toISOString(), daemonFailingSince: this.#keptFailingSince(record) };
    if (keepChanges(record, kept)) this.#o.store.touch(this.#keyOf(target));
    return { target, record, pollFailed: true, errorCause: 'internal', readError: null, state: 'pending', detail, notFound: false };
  }

  /**
   * Since when the record's polls have failed, as the deadline's patience past it counts: in this process,
   * or in `check`, which reads the daemon's state and polls once, in the daemon's, whose timeout it tells.
   */
  #failingSince(record: WatchRecord): number | null {
    const here = this.#failures.failingHereSince(record);
    if (here !== null || !this.#o.store.readOnly || record.daemonFailingSince === undefined) return here;
    return Date.parse(record.daemonFailingSince);
  }

  /** The record's daemonFailingSince after a poll here: this process's run of failed polls, the same text while it goes on. */
  #keptFailingSince(record: WatchRecord): string | undefined {
    const here = this.#failures.failingHereSince(record);
    if (here === null) return undefined;
    const kept = record.daemonFailingSince;
    return kept !== undefined && Date.parse(kept) === here ? kept : new Date(here).toISOString();
  }

  /** Auto-tracking's pass: new actions of the tracked servers become watches, polled in this same pass. */
  async #discover(): Promise<void> {
    const log = this.#o.logger.child({ component: 'track' });
    try {
      const { discovered } = await trackPass(this.#track, {
        client: this.#o.client,
        store: this.#o.store,
        logger: log,
        defaultDeadlineMs: this.#o.poll.deadline,
        read: (readLog, call) => this.#retrying({ log: readLog }, call),
        failed: (readLog, about, err) => this.#failures.failed(about, readLog, err),
        answered: (readLog, about) => this.#failures.answered(about, readLog),
        limit: (task) => this.#limit(task),
        cancelled: () => this.#stopping.signal.aborted,
        now: () => this.#now(),
      });
      this.#o.metrics.discovered.inc(discovered);
    } catch (err) {
      // A tracker's bug must not stop the watches it has nothing to do with.
      log.error({ err }, 'auto-tracking pass failed; the watches are polled all the same');
    }
  }

  /**
   * Forgets watches that are finished, notified, no longer in the file and older than the retention (unless
   * a digest still to be sent reads them), those taken out of the file before their outcome once as old (see
   * isExpired), and batches that neither a watch in the file nor a record kept names any more. True when it
   * forgot a watch.
   */
  #prune(targets: readonly WatchTarget[]): boolean {
    const { keys: inFile, batches } = this.#namesOf(targets);
    const now = this.#now();
    // After a start that only the cloud's clock can judge, the times the state keeps may be a setting of
    // this host's clock behind until it answers, which with nothing left to poll may be never: the ages count
    // from no earlier than the start, as delivery.maxAge's do (else one set forward while stopped forgets
    // every record out of the file, and one added back is notified again).
    const surely = this.#hostClock.surelyPassedSince(now);
    let forgot = false;
    // A batch outlives the records that name it: a watch its digest reported, left in the file without the
    // label, would otherwise be taken for one that left before the digest, and be notified on its own.
    let named: Set<string> | undefined;
    // A watch of a batch is told in its digest, which may come long after its verdict: the retention counts
    // from the last digest that reported it (else one added back, without its label, is notified again), of
    // whichever batch (one it has left since, for another whose digest has not reported it, too), and never
    // ends while such a digest is owed, which reads its record (reportedAt: Infinity). Not from a batch's
    // newest: a label used again run after run would keep every watch it ever had. Worked out once a pass,
    // and only for a record that its own times would let go (a later `from` only keeps it longer): most
    // passes forget nothing.
    let toldAt: Map<string, number> | undefined;
    const digestAt = (key: string): number => (toldAt ??= reportedAt(this.#o.store.batches())).get(key) ?? -Infinity;
    const expired = (record: WatchRecord, from: number) => isExpired(record, now, this.#o.retentionMs, from);
    for (const [key, record] of this.#o.store.records()) {
      // Auto-tracking's watches are polled until their outcome, in the file or not (discoveredTargets).
      const polled = inFile.has(key) || (record.verdict === null && 'discovered' in record && record.discovered !== undefined);
      const kept = polled || !expired(record, surely) || !expired(record, Math.max(surely, digestAt(key)));
      if (kept) {
        if (record.batch && !batches.has(record.batch)) (named ??= new Set(batches)).add(record.batch);
        continue;
      }
      this.#o.store.delete(key);
      forgot = true;
    }
    this.#batches.prune(named ?? batches, now, surely);
    return forgot;
  }

  /** The watches of the file that belong to a batch, by batch. */
  #batchMembers(targets: readonly WatchTarget[]): Map<string, Member[]> {
    const batches = new Map<string, Member[]>();
    for (const t of targets) {
      if (!t.batch) continue;
      const key = this.#keyOf(t);
      const record = this.#o.store.get(key);
      if (!record) continue;
      const members = batches.get(t.batch) ?? [];
      members.push({ key, record, batchWindowMs: t.batchWindowMs, notify: t.notify });
      batches.set(t.batch, members);
    }
    return batches;
  }

  #slotOf(target: WatchTarget): WatchSlot {
    let slot = this.#slots.get(target);
    if (slot === undefined) {
      // Its key made once: made anew at every poll it is a new string, which the state's map must hash again.
      slot = { key: watchKey(target), record: undefined, recordsVersion: -1, warningDueAt: undefined };
      this.#slots.set(target, slot);
    }
    return slot;
  }

  #keyOf(target: WatchTarget): string {
    return this.#slotOf(target).key;
  }

  /** The watch's record in the state, if it has one. */
  #recordOf(slot: WatchSlot): WatchRecord | undefined {
    const { store } = this.#o;
    if (slot.recordsVersion !== store.recordsVersion) {
      slot.record = store.get(slot.key);
      slot.recordsVersion = store.recordsVersion;
    }
    return slot.record;
  }

  /** The watch's record, made when the state has none. */
  #recordFor(target: WatchTarget, slot = this.#slotOf(target)): WatchRecord {
    const existing = this.#recordOf(slot);
    if (existing !== undefined) return existing;
    const record = kindOf(target).newRecord(target, new Date().toISOString());
    this.#o.store.set(slot.key, record);
    slot.record = record;
    slot.recordsVersion = this.#o.store.recordsVersion;
    return record;
  }

  /** What the poll of `began` found; null when a reload during the pass took the watch out, before or while it was polled. */
  async #pollWatch(began: WatchTarget): Promise<WatchStatus | null> {
    const target = this.#inForce(began);
    if (target === null) return null;
    const slot = this.#slotOf(target);
    const { key } = slot;
    const record = this.#recordFor(target, slot);
    if (record.verdict) {
      return { target, record, pollFailed: false, errorCause: null, readError: null, state: record.verdict.outcome, detail: record.verdict.reason, notFound: false };
    }
    if (this.#stopping.signal.aborted) return { target, record, pollFailed: false, errorCause: null, readError: null, state: 'pending', detail: 'stopping', notFound: false };
    const kind = kindOf(target);
    const poll = new WatchPoll(target, record, this.#pollServices);
    const started = performance.now();
    const stamped = kind.stamped(record);
    const polled = await kind.poll(poll);
    const hinted = polled.final && polled.outcome === 'not_found' ? await withNotFoundHint(kind, poll, polled) : polled;
    // Copied only when it spans lines: a steady poll copies nothing it does not keep (docs/performance.md).
    const result = LINE_BREAK.test(hinted.reason) ? { ...hinted, reason: oneLineReason(hinted.reason) } : hinted;
    this.#lastPollEndedAt = performance.now();
    const closed = this.#closed.signal;
    // A poll cut short by close() saw nothing about the watch: the kind recorded nothing, nor does the engine.
    // Nor does one that failed once stopping began: its retries were not made (#retry).
    if (closed.aborted || (result.pollFailed && this.#stopping.signal.aborted)) return { target, record, pollFailed: false, errorCause: null, readError: null, state: 'pending', detail: 'stopping', notFound: false };

    const { pollFailed } = result;
    const { failingSince } = record;
    this.#failures.ended(record, poll, result, failingSince);
    // failingSince is set by the first failed poll and cleared by the first answered one, which change
    // lastError too: it rides on that save, and a poll that fails (or is answered) again changes neither.
    // daemonFailingSince changes besides only at the first failed poll after a restart.
    const errorChanged = keepChanges(record, {
      lastError: result.readError ?? (pollFailed ? result.reason : null),
      failingSince: pollFailed ? (record.failingSince ?? new Date().toISOString()) : null,
      daemonFailingSince: this.#keptFailingSince(record),
    });
    this.#o.metrics.recordPoll(pollFailed ? 'error' : result.final ? 'finished' : result.notFound ? 'not_found' : 'pending', (this.#lastPollEndedAt - started) / 1000);
    // A poll that saw nothing new costs the state nothing: no serialisation at the save, no write.
    if (result.changed || errorChanged) this.#o.store.touch(key);
    if (result.changed) slot.warningDueAt = undefined;
    if (result.changed && kind.stamped(record) !== stamped) this.#keepStamped(key, kind, stamped);
    const errorCause = pollFailed ? this.#failures.causeOf(record) : null;

    // Whom it tells, and whether it warns, as the file says now: a reload may have come while it was polled.
    const decided = this.#inForce(target);
    if (decided === null) return null;
    if (!result.final) {
      // Only what this poll saw counts: a failed read says nothing of whether it still runs, and an end it saw
      // (a dead step's sign, a delete's server gone) that is being confirmed says it no longer does.
      if (!pollFailed && !result.notFound && !result.confirming) this.#warnIfSlow(decided, decided === target ? slot : this.#slotOf(decided), record, poll);
      if (this.#o.logger.isLevelEnabled('debug')) poll.log.debug({ reason: result.reason }, 'still pending');
      return { target: decided, record, pollFailed, errorCause, readError: result.readError, state: 'pending', detail: result.reason, notFound: result.notFound };
    }
    // A timeout by the deadline the reload changed is not one by the deadline in force: the next poll judges.
    if (result.outcome === 'timeout' && decided.deadlineMs !== target.deadlineMs) {
      return { target: decided, record, pollFailed, errorCause, readError: result.readError, state: 'pending', detail: result.reason, notFound: result.notFound };
    }
    // In the batch the pass began with, whose digest it reports at its end: a label the reload changed is
    // taken up after it (#relabelled), or the watch would be told on its own and in that digest.
    const told = this.#passHoldsLabels && decided.batch !== began.batch ? { ...decided, batch: began.batch, batchWindowMs: began.batchWindowMs } : decided;
    this.#conclude(told, slot, record, result.outcome, result.reason, poll.log);
    if (told !== target) this.#o.client.forget(target);
    return { target: decided, record, pollFailed, errorCause, readError: result.readError, state: result.outcome, detail: result.reason, notFound: result.notFound };
  }

  #conclude(target: WatchTarget, slot: WatchSlot, record: WatchRecord, outcome: Outcome, reason: string, log: Logger): void {
    const { key } = slot;
    const detectedAt = new Date().toISOString();
    record.verdict = { outcome, reason, detectedAt };
    // A watch of a batch is reported in the batch's digest, recorded at the end of this pass.
    record.batch = target.batch ?? null;
    this.#o.store.touch(key);
    if (!target.batch) this.#owe(target, key, record, outcome, detectedAt);
    // Only a watch auto-tracking started, whose entry is gone, can name notifiers the file no longer has
    // (`validate` refuses such a watch in the file): its outcome reaches no one, and that must not pass unsaid.
    if (!target.batch && target.notify?.length && !target.notify.some((name) => this.#o.notifiers.has(name))) {
      log.warn({ outcome, notify: target.notify }, 'watch finished, and none of the notifiers it names is configured any more (renamed or taken out, with the track entry that started it): nobody was told');
    }
    this.#o.metrics.verdicts.inc({ outcome, action: kindOf(record).progress(record)?.subject ?? 'unknown' });
    log.info({ outcome, reason, notifiers: Object.keys(record.deliveries), ...(target.batch ? { batch: target.batch } : {}) }, 'watch finished');
    // No notifier takes this outcome (and no batch reads it): nothing will ever be sent from the payload.
    this.#o.store.releaseIfSettled(key);
    // Polled no more: a watch that stays in the file keeps only its record.
    this.#o.client.forget(target);
    slot.warningDueAt = undefined;
  }

  /**
   * The early warning, once, while the watch runs past its warnAfter (the verdict of this poll, if any,
   * came first). A watch of a batch has none: the batch's partial digest (batchWindow) is its warning.
   */
  #warnIfSlow(target: WatchTarget, slot: WatchSlot, record: WatchRecord, poll: { readonly log: Logger }): void {
    if (record.warning || target.batch) return;
    slot.warningDueAt ??= this.#warningDue(target, record);
    // Timed from a start the cloud stamped: now as the cloud's clock has it, as that clock stood when the
    // start was seen. A setting of it since moved its Date, not the start: 10 min behind and put right, it
    // made a reboot that had run 10 min look 20 min old.
    const cloudNow = this.#o.client.clock.now() - cloudSetInAll(record);
    if (cloudNow < slot.warningDueAt) return;
    const { key } = slot;
    const progress = kindOf(record).progress(record);
    if (progress?.subject == null) return;
    const warnAfter = warnAfterFor(target.warnAfter, progress.subject, this.#o.poll.warnAfter);
    const reason = warnAfter === null ? null : slowness(progress, cloudNow, warnAfter);
    if (reason === null) return;
    const detectedAt = new Date().toISOString();
    record.warning = { reason, detectedAt, facts: kindOf(record).facts(record), deliveries: dictionary() };
    this.#o.store.touch(key);
    // No notifier takes it: nothing will ever be sent from what it showed.
    if (!this.#owe(target, key, record, 'slow', detectedAt)) this.#o.store.releaseIfSettled(key);
    poll.log.info({ reason, notifiers: Object.keys(record.warning.deliveries) }, 'still running past warnAfter: early warning');
  }

  /**
   * When the early warning is due by what the record holds (epoch ms on the cloud's clock as it stood when
   * the start it counts from was seen), Infinity for never. Not on this host's: how far the clocks are apart
   * is measured again every minute, and moves without a step of this host's clock (it drifts, or is set by
   * less than a step), which a due time kept on this host's clock would not follow: a warning held back by
   * as much.
   */
  #warningDue(target: WatchTarget, record: WatchRecord): number {
    const progress = kindOf(record).progress(record);
    if (progress?.subject == null || progress.startedAt === null) return Infinity;
    const warnAfter = warnAfterFor(target.warnAfter, progress.subject, this.#o.poll.warnAfter);
    return warnAfter === null ? Infinity : progress.startedAt + warnAfter;
  }

  /**
   * The cloud's own clock was set by `byMs` (HostClock), since `since` (this host's clock: the measure
   * before; `sinceMono` on the monotonic clock): each watch without an outcome whose start was seen reads
   * what was stamped before on the clock as it stood (its early warning, a finish seen late), in its record,
   * which a restart reads. Each setting is kept on its own: a step that started after one, read across the
   * next as if before both, was read a setting off ("running 1 h 3 min" a few minutes in, after a setting
   * back and one forward).
   */
  #cloudSet(byMs: number, since: number, sinceMono: number | undefined): void {
    this.#cloudSetKeys = [];
    const now = this.#o.client.clock.now();
    // What the cloud stamps from the setting on is on its clock as set. Set forward, all it stamped before
    // lies before its time as it stood now. Set back, it stamps again times below now as set: what it
    // stamped since the measure before (the setting may be as old) lies from that measure's time as set on,
    // and a step started in between, seen a minute later, would otherwise read as stamped before, an hour old.
    const at = byMs > 0 ? now - byMs : Math.min(now, since + now - Date.now());
    // One setting, and one list for every record that had the same before, shared by the records it moves:
    // made in the loop, 10,000 watches kept 10,000 copies (~40 B each of the time alone) as long as their records.
    const setting: CloudClockSetting = { ms: byMs, at: new Date(at).toISOString() };
    const lists = new Map<readonly CloudClockSetting[] | undefined, readonly CloudClockSetting[]>();
    const atMeasure = sinceMono !== undefined && this.#stampedAtMeasure.since === sinceMono ? this.#stampedAtMeasure.times : undefined;
    for (const [key, record] of this.#o.store.records()) {
      const startedAt = kindOf(record).progress(record)?.startedAt;
      if (record.verdict || startedAt == null) continue;
      const before = record.cloudClockSettings;
      const seen = byMs < 0 ? stampedAgain(record, at, startedAt, atMeasure?.get(key)) : [];
      if (seen.length > 0) {
        record.cloudClockSettings = withSetting(before, { ...setting, seenBefore: seen.map((t) => new Date(t).toISOString()) });
      } else {
        const after = lists.get(before) ?? withSetting(before, setting);
        lists.set(before, after);
        record.cloudClockSettings = after;
      }
      this.#o.store.touch(key);
      this.#cloudSetKeys.push(key);
    }
    // Set back, auto-tracking's lines move back with it, or what the cloud stamps meanwhile is taken for older than tracking.
    trackCloudClockSet(this.#o.store, byMs, byMs < 0);
  }

  /**
   * A poll replaced the document of `key`'s record, which held `before`: the times it held are kept as they
   * were at the cloud clock's last measure, the first change since (#stampedAtMeasure).
   */
  #keepStamped(key: string, kind: WatchKindModule, before: unknown): void {
    const since = this.#o.client.clock.sampledMono;
    // No measure yet, or a cloud whose answers carry no Date: #cloudSet reads these times only against a
    // measure, and kept they would never be dropped, one entry for every watch a poll ever changed.
    if (since === undefined) return;
    if (this.#stampedAtMeasure.since !== since) this.#stampedAtMeasure = { since, times: new Map() };
    const { times } = this.#stampedAtMeasure;
    if (!times.has(key)) times.set(key, kind.cloudTimes(before));
  }

  /**
   * The last setting of the cloud's clock, `byMs` forward, was this machine held still (HostClock): the
   * watches it moved count their early warning from their start as the cloud stamped it again, and read
   * their times by the settings before it, which stand; auto-tracking's handled starts move back.
   */
  #heldStill(byMs: number): void {
    const lists = new Map<readonly CloudClockSetting[], readonly CloudClockSetting[] | undefined>();
    for (const key of this.#cloudSetKeys) {
      const record = this.#o.store.get(key);
      const settings = record?.cloudClockSettings;
      if (record === undefined || settings === undefined || settings.at(-1)?.ms !== byMs || record.verdict) continue;
      const left = lists.has(settings) ? lists.get(settings) : settings.length > 1 ? settings.slice(0, -1) : undefined;
      lists.set(settings, left);
      if (left === undefined) delete record.cloudClockSettings;
      else record.cloudClockSettings = left;
      this.#o.store.touch(key);
    }
    this.#cloudSetKeys = [];
    trackCloudClockSet(this.#o.store, -byMs, false);
  }

  /** Owes `event` to each notifier of the watch that takes it and does not have it yet; whether any was added. */
  #owe(target: WatchTarget, key: string, record: WatchRecord, event: NotifyEvent, at: string): boolean {
    const about = event === 'slow' ? 'slow' : 'verdict';
    const owed = about === 'slow' ? record.warning?.deliveries : record.deliveries;
    let added = false;
    for (const [name, notifier] of this.#o.notifiers) {
      if (target.notify && !target.notify.includes(name)) continue;
      if (!notifier.accepts(event) || owed?.[name]) continue;
      this.#o.store.addDelivery(key, name, pendingDelivery(deliveryId(key, event, name), at), about);
      added = true;
    }
    // Saved now rather than at the end of the pass, so that the outbox can send it before the pass is
    // over; saves coalesce, and one that fails is reported by the pass's own save.
    if (added) this.#o.store.save().catch(() => undefined);
    return added;
  }

  /**
   * Transient faults (network, timeouts, 429, 5xx, garbage) are retried with jittered backoff; others are
   * not. The first attempt is made on its own: nearly every read succeeds at once, and the retry machinery
   * (its options, its signal listener, its promises) is entered only once one has failed. That attempt is
   * waited on by a catch handler rather than in an async function: a promise and a closure at every poll
   * instead of an async function's frame, promise and await (256 bytes less a call in a micro benchmark).
   * `read` reports a failure by rejecting, as the client's methods do.
   */
  #retrying<T>(about: { readonly log: Logger }, read: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.#closed.signal;
    return read(signal).catch((err: unknown) => {
      if (!signal.aborted && (this.#o.poll.retries === 0 || !(err instanceof ApiError && err.retryable))) throw err;
      return this.#retry(about, read, err);
    });
  }

  /**
   * What #retrying does once the first attempt failed with `failure`, which counts as attempt 1. Stopping
   * ends the waits between attempts (a backoff, a Retry-After), and p-retry then takes no attempt's answer,
   * even one in flight that comes within the drain: the poll fails, and a poll that fails once stopping
   * began records nothing (#pollWatch). The next start polls it again.
   */
  #retry<T>(about: { readonly log: Logger }, read: (signal: AbortSignal) => Promise<T>, failure: unknown): Promise<T> {
    const signal = this.#closed.signal;
    const waits = this.#noMoreWaits;
    return pRetry((attempt) => (attempt === 1 ? Promise.reject(failure as Error) : read(signal)), {
      retries: this.#o.poll.retries,
      minTimeout: 500,
      maxTimeout: 10_000,
      randomize: true,
      signal: waits,
      shouldRetry: ({ error }) => error instanceof ApiError && error.retryable,
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft, retryDelay }) => {
        if (!(error instanceof ApiError && error.retryable) || retriesLeft === 0) return;
        about.log.debug({ error: error.message, attempt: attemptNumber, retryInMs: retryDelay }, 'transient API error; retrying');
        const extra = (error.retryAfterMs ?? 0) - retryDelay;
        // p-retry's own delay follows; wait the rest of what the API asked for in Retry-After.
        if (extra > 0) await sleep(Math.min(extra, 60_000), undefined, { signal: waits });
      },
    });
  }

  #updateGauges(): void {
    const counts = new Map<string, number>([['pending', 0], ...OUTCOMES.map((o) => [o, 0] as const)]);
    // One unpollable watch among thousands hardly moves the share of failed polls: the oldest failing
    // run is reported on its own. Watches that finished or left the file are not failing, whatever their
    // records say.
    let longest: number | null = null;
    for (const t of this.watches()) {
      const record = this.#recordOf(this.#slotOf(t));
      const state = record?.verdict?.outcome ?? 'pending';
      counts.set(state, (counts.get(state) ?? 0) + 1);
      if (state !== 'pending' || record?.failingSince == null || !this.#failures.failingHere(record)) continue;
      const since = Date.parse(record.failingSince);
      longest = Math.min(since, longest ?? since);
    }
    for (const [state, count] of counts) this.#o.metrics.watches.set({ state }, count);
    this.#o.metrics.recordFailingSince(longest);
    const tracked = Object.values(this.#o.store.tracking.servers);
    const ended = tracked.filter((s) => s.endedAt !== null).length;
    this.#o.metrics.trackedServers.set({ state: 'tracking' }, tracked.length - ended);
    this.#o.metrics.trackedServers.set({ state: 'ended' }, ended);
  }
}

/** The keys of a list of targets, and their batches' labels (WatchEngine.#namesOf). */
interface TargetNames {
  readonly targets: readonly WatchTarget[];
  readonly keys: ReadonlySet<string>;
  readonly batches: ReadonlySet<string>;
}

/**
 * How many settings of the cloud's clock a record keeps apart: answers that come by turns from controllers
 * whose clocks differ set it at every turn (hostClock.ts #cloudMoved), for as long as the action runs.
 */
const KEPT_CLOUD_SETTINGS = 8;

/** `settings` and `setting` after them; past KEPT_CLOUD_SETTINGS, the two oldest as one: a time stamped between them is read as stamped before both. */
function withSetting(settings: readonly CloudClockSetting[] | undefined, setting: CloudClockSetting): readonly CloudClockSetting[] {
  const all = [...(settings ?? []), setting];
  if (all.length <= KEPT_CLOUD_SETTINGS) return all;
  const [oldest, next, ...rest] = all;
  return [{ ...next!, ms: oldest!.ms + next!.ms }, ...rest];
}

/**
 * The times a watch had seen from `at` on when the measure before a setting back was taken (`atMeasure`,
 * where its document changed since; else all it holds), which the cloud's clock, set back since, stamps
 * again: stamped before the setting, but for those more than a step before the start of what the watch
 * follows (both on its clock as the settings before this one left it), which nothing of it can be. Those
 * seen since (a step started between the setting and the measure that found it) were stamped after it, on
 * the clock as set; across a stop, whose measure's times are not kept, the start alone tells them.
 */
function stampedAgain(record: WatchRecord, at: number, startedAt: number, atMeasure: readonly number[] | undefined): number[] {
  const { cloudSettings } = cloudSetting(record);
  const start = onCloudClockAsSet(cloudSettings, startedAt);
  const kind = kindOf(record);
  const times = atMeasure ?? kind.cloudTimes(kind.stamped(record));
  return [...new Set(times.filter((t) => t >= at && onCloudClockAsSet(cloudSettings, t) >= start - CLOCK_STEP_MS))];
}

/** What the engine keeps of a watch (WatchEngine.#slots). */
interface WatchSlot {
  /** Its key in the state. */
  readonly key: string;
  /** Its record, as the state had it at `recordsVersion`. */
  record: WatchRecord | undefined;
  recordsVersion: number;
  /**
   * When its early warning is due (epoch ms on the cloud's clock as it stood when the start was seen;
   * Infinity for never; undefined: to be worked out), worked out from its record and kept while its polls
   * change nothing: working it out reads the action's times and events, and nearly every poll of a long
   * action finds them as they were.
   */
  warningDueAt: number | undefined;
}

/** What a poll uses of its engine. */
interface PollServices {
  client: EcsClient;
  logger: Logger;
  /** The engine's close() cut polls in flight short. */
  closed: AbortSignal;
  now(): number;
  read<V>(poll: WatchPoll, call: (signal: AbortSignal) => Promise<V>): Promise<V>;
  failed(poll: WatchPoll, err: unknown): string;
  failingSince(record: WatchRecord): number | null;
}

/**
 * A not_found verdict with what the kind's lists suggest the unknown id was meant to be (its notFoundHint).
 * Read once, when the verdict is already reached: a list that cannot be read (the server gone too, or a
 * policy that refuses it) leaves the verdict as it was, and is no failed poll.
 */
async function withNotFoundHint(kind: WatchKindModule, poll: WatchPoll, result: Extract<PollResult, { final: true }>): Promise<PollResult> {
  const { notFoundHint } = kind;
  if (notFoundHint === undefined) return result;
  try {
    const hint = await poll.read((signal) => notFoundHint(poll.target, poll.client, signal));
    return hint === '' ? result : { ...result, reason: `${result.reason}; ${hint}` };
  } catch (err) {
    poll.log.debug({ err }, 'what the id not found was meant to be could not be read');
    return result;
  }
}

/**
 * A reason is one line (a notification's `reason`, a mail's Reason:, a log field, a row of `check`), while
 * the API's texts quoted in it (a server's fault message, an event's details, a job's fail_reason) may span
 * lines: a libvirt error often does.
 */
function oneLineReason(reason: string): string {
  return reason.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ');
}

const LINE_BREAK = /[\r\n\u2028\u2029]/;

/** One poll of one watch, as its kind sees it: one object per poll, its methods shared by all. */
class WatchPoll implements PollContext {
  readonly target: WatchTarget;
  readonly record: WatchRecord;
  readonly #services: PollServices;
  #log: Logger | undefined;

  constructor(target: WatchTarget, record: WatchRecord, services: PollServices) {
    this.target = target;
    this.record = record;
    this.#services = services;
  }

  get client(): EcsClient {
    return this.#services.client;
  }

  /** Made at the first use: a child logger costs its bindings' redaction, and most polls log nothing. */
  get log(): Logger {
    return (this.#log ??= this.#services.logger.child(watchLogFields(this.target)));
  }

  read<V>(call: (signal: AbortSignal) => Promise<V>): Promise<V> {
    return this.#services.read(this, call);
  }

  failed(err: unknown): string {
    return this.#services.failed(this, err);
  }

  cancelled(): boolean {
    return this.#services.closed.aborted;
  }

  now(): number {
    return this.#services.now();
  }

  failingSince(): number | null {
    return this.#services.failingSince(this.record);
  }
}

/** node-cron's messages as our log lines; its warning at every tick a running pass skips is reported by PassOverrun instead. */
function cronLogger(logger: Logger) {
  return {
    info: (m: string) => logger.debug({ component: 'cron' }, m),
    warn: (m: string) => (m.startsWith('task still running') ? logger.debug({ component: 'cron' }, m) : logger.warn({ component: 'cron' }, m)),
    error: (m: string | Error, err?: Error) => logger.error({ component: 'cron', err: err ?? m }, 'scheduler error'),
    debug: (m: string | Error) => logger.trace({ component: 'cron' }, String(m)),
  };
}
