import type { Logger } from './observability/logger.ts';
import type { Config, TrackSpec } from './config/schema.ts';
import { createEcsClient, type EcsClient } from './cloud/client.ts';
import { createNotifiers } from './notify/registry.ts';
import type { Notifier } from './notify/types.ts';
import { StateStore } from './state/store.ts';
import type { StateError } from './state/StateError.ts';
import { acquireStateLock, type LockTiming } from './state/lock.ts';
import { Outbox } from './delivery/outbox.ts';
import { moveRunTimes, type FailureRun } from './delivery/notifierFailures.ts';
import { WatchEngine } from './watch/engine.ts';
import { stuckAfterMs } from './watch/stuck.ts';
import type { BootClock } from './watch/clockSteps.ts';
import type { WatchTarget } from './watch/kinds/types.ts';
import type { Metrics } from './observability/metrics.ts';
import { Releasers } from './lifecycle/releasers.ts';
import { trustedCertificates } from './net/tls.ts';
import type { RateLimiter } from './cloud/rateLimiter.ts';
import type { RefusedCredentials } from './cloud/auth/refusedBackoff.ts';
import type { KeptTokens } from './cloud/auth/types.ts';

/** How often a compaction of the state that goes on failing is said again at error. */
const COMPACTION_FAILURE_REPEATED_MS = 60 * 60_000;

export interface CloseOptions {
  /** How long polls and deliveries in flight may take to finish; default `shutdown.drainTimeout`, 0 to cut them off. */
  drainMs?: number;
  /** `reload`: parts start again at once, and take up what was cut off; default `stop`, which outranks a `reload` of an earlier call. */
  for?: 'stop' | 'reload';
}

export interface App {
  config: Config;
  client: EcsClient;
  notifiers: Map<string, Notifier>;
  store: StateStore;
  outbox: Outbox;
  engine: WatchEngine;
  metrics: Metrics;
  /** Aborted when another process took the state lock over: the app must be closed. */
  lockLost: AbortSignal;
  /**
   * Idempotent. Lets work in flight finish within the drain budget, then releases every part in the reverse
   * order of creation (the state is saved and unlocked last); rejects with the first failure. A later call
   * with `drainMs: 0` cuts a running drain short.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface AppOptions {
  logger: Logger;
  metrics?: Metrics;
  /**
   * `file` (default): the daemon's state file, locked. `read-only`: read it for context, never write or
   * lock it (`check`). `memory`: start from nothing, keep nothing (`wait`, which leaves the daemon's alone).
   */
  state?: 'file' | 'read-only' | 'memory';
  /** Aborts waiting for the state lock. */
  signal?: AbortSignal;
  lockTiming?: LockTiming;
  /** Called at each look at the state lock while another holds it (acquireStateLock's `looked`). */
  lockLooked?: () => void;
  /**
   * Notifiers a reload took out of the file while this process ran: what is owed to them is kept until
   * `delivery.maxAge` in case they come back (a file read half-written). One missing at start was taken
   * out between runs, on purpose: what is owed to it is given up at once.
   */
  reloadedAway?: ReadonlySet<string>;
  /** Notifiers a reload changed (registry.ts, retunedNotifiers): what is owed to them is tried at once. */
  retunedNotifiers?: ReadonlySet<string>;
  /** The daemon's receivers' pauses (Outbox's `throttled`), kept across reloads that rebuild the parts. */
  throttledReceivers?: Map<string, number>;
  /** The daemon's notifiers' runs of failed deliveries (Outbox's `failing`), kept across reloads that rebuild the parts. */
  failingReceivers?: Map<string, FailureRun>;
  /** The watches to poll, when not the file's own (a reload's, with the deadlines the daemon holds back). */
  watches?: WatchTarget[];
  /** The `track:` entries to follow, when not the file's own (a reload's, which the daemon holds back). */
  track?: readonly TrackSpec[];
  /** See EngineOptions. */
  bootClock?: BootClock;
  bootId?: string | null;
  firstPassPolled?: () => void;
  /**
   * The daemon's limiter of requests to the cloud, kept across reloads that rebuild the parts: the new
   * client then knows what the old one sent in the last window and a 429's pause. Set here to the file's
   * `poll.rateLimit`; absent, the client makes its own.
   */
  limiter?: RateLimiter;
  /** See RefusedCredentials: the daemon's, kept across reloads that rebuild the parts and leave `cloud` as it was. */
  refusedCredentials?: RefusedCredentials;
  /** See KeptTokens: the daemon's, kept across reloads that rebuild the parts. */
  keptTokens?: KeptTokens;
  /** Why the last save of the parts a reload stopped failed, if it did: see StateStore.open. */
  unsaved?: StateError | null;
}

/** The watches of a file as the engine needs them, each with its deadline and batch window resolved. */
export function targetsOf(config: Config): WatchTarget[] {
  return config.watches.map(({ deadline, batchWindow, ...watch }) => ({
    ...watch,
    deadlineMs: deadline ?? config.poll.deadline,
    batchWindowMs: batchWindow ?? config.poll.batchWindow,
  }));
}

/** Wires the parts together; nothing polls or sends until `engine.start()` / `outbox.start()`. */
export async function createApp(config: Config, options: AppOptions): Promise<App> {
  const { logger } = options;
  const stateMode = options.state ?? 'file';
  // prom-client is loaded for the daemon only: `check` and `wait` pass metrics that record nothing.
  const metrics = options.metrics ?? (await import('./observability/metrics.ts')).createMetrics();
  const releasers = new Releasers();
  const cutDrain = new AbortController();
  let drain: AbortSignal | null = null;
  let closingFor: CloseOptions['for'];
  const close = (closeOptions: CloseOptions = {}) => {
    const drainMs = closeOptions.drainMs ?? config.shutdown.drainTimeout;
    if (drainMs <= 0) cutDrain.abort();
    drain ??= AbortSignal.any([cutDrain.signal, AbortSignal.timeout(Math.max(drainMs, 0))]);
    // A stop that comes while a reload closes the parts: no parts of the reload's take up what they cut off.
    closingFor = closeOptions.for === 'reload' ? (closingFor ?? 'reload') : 'stop';
    return releasers.release();
  };
  const draining = () => drain ?? AbortSignal.abort();
  try {
    const lock = stateMode === 'file' ? await acquireStateLock(config.state.path, { logger, signal: options.signal, timing: options.lockTiming, looked: options.lockLooked }) : undefined;
    if (lock) releasers.add(() => lock.release());
    // Given the lock, whose loss fences it.
    const store = stateMode === 'memory' ? StateStore.inMemory() : await StateStore.open(config.state.path, { readOnly: stateMode === 'read-only', lock, unsaved: options.unsaved });
    const lockLost = lock?.lost ?? new AbortController().signal;
    for (const { key, problems } of store.setAside) {
      logger.error(
        { state: config.state.path, watchKey: key, problems, keptIn: store.setAsidePath },
        `state record ${key} is unusable and was set aside; it begins afresh (a watch from now, a tracked server from its next listing)`,
      );
    }
    for (const torn of store.torn) {
      logger.warn({ state: config.state.path, journal: torn.path, line: torn.line, bytes: torn.bytes }, 'state journal ended in a line cut short by a crash: left out, everything before it kept');
    }
    if (store.compactionDeferred) {
      metrics.recordStateCompactionFailure();
      logger.warn({ err: store.compactionDeferred }, 'state could not be compacted at start for want of space (a journal found there, or records set aside): saves go on into the journal, which is compacted later');
    }
    // The final save and compaction, once engine and outbox have stopped changing the state.
    releasers.add(async () => {
      const uncompacted = await store.close();
      // Nothing is lost, and the stop is clean: the journal holds every change, and a start reads it.
      if (uncompacted !== null) {
        logger.warn(
          { err: uncompacted },
          'state could not be compacted at the stop for want of space: its journal, left beside it, holds every change, which the next start reads (and compacts once there is room)',
        );
      }
    });
    // The private CA signs the identity endpoint and webhook receivers of a company as much as its cloud.
    const ca = trustedCertificates(config.cloud.tls.ca);
    options.limiter?.setLimit(config.poll.rateLimit);
    const client = createEcsClient(config.cloud, { logger, rateLimit: config.poll.rateLimit, limiter: options.limiter, connections: config.poll.concurrency, ca, refusedCredentials: options.refusedCredentials, keptTokens: options.keptTokens });
    releasers.add(() => client.close());
    const notifiers = createNotifiers(config.notifiers, { logger, ca, secrets: config.variableSecrets });
    releasers.add(async () => {
      await Promise.all([...notifiers.values()].map((n) => n.close()));
    });
    // The outbox's runs of failures, which the engine's clock moves as it moves the state's times.
    const failing = options.failingReceivers ?? new Map<string, FailureRun>();
    // Made before the outbox, whose clock it is, and released before it (no timer runs before start()):
    // the outbox sends what the engine's last polls found.
    const engine = new WatchEngine({
      client,
      store,
      notifiers,
      logger,
      metrics,
      poll: config.poll,
      retentionMs: config.state.retention,
      stuckAfterMs: stuckAfterMs(config.cloud.timeout, config.poll.rateLimit),
      bootClock: options.bootClock,
      bootId: options.bootId,
      firstPassPolled: options.firstPassPolled,
      onTimesMoved: (byMs, since) => moveRunTimes(failing, byMs, since),
      passSaved: () => outbox.outrunMayHaveCome(),
    });
    const outbox = new Outbox({ store, notifiers, logger, metrics, policy: config.delivery, reloadedAway: options.reloadedAway, retuned: options.retunedNotifiers, throttled: options.throttledReceivers, failing, now: () => engine.now(), surelyPassedSince: (now) => engine.surelyPassedSince(now) });
    releasers.add(() => outbox.close(draining(), { for: () => closingFor ?? 'stop' }));
    metrics.setDeliverySource(() => outbox.counts());
    metrics.setCloudClockSource(() => client.clock.measuredMs);
    metrics.setStuckSource(() => engine.stuck() !== undefined);
    metrics.setStateUnsavedSource(() => store.saveFailure !== null);
    store.onWrite((bytes, file) => metrics.recordStateWrite(bytes, file));
    // A full volume is one condition, not one a pass: said once, and again when it ends (/readyz,
    // state_unsaved and state_save_failures_total say it meanwhile).
    store.onSaveFailed((err, first) => {
      metrics.recordStateSaveFailure();
      if (first) logger.error({ err }, 'state could not be saved: no new verdict or delivery is recorded, nor sent, until a save succeeds (deliveries saved before go on); saves are tried again at each pass and delivery');
      else logger.debug({ err }, 'state could not be saved again');
    });
    store.onSavedAgain(() => logger.info('state saved again: what waited for it is recorded and sent'));
    store.onRewritten((removed) =>
      logger.warn(
        { state: store.path, removed },
        `${removed.join(' and ')} removed while the daemon ran, by someone else (a cleanup job that removes files untouched for days, such as systemd-tmpfiles or a find -mtime -delete?): ` +
          'the whole state was written again, nothing lost; keep such jobs out of the state folder',
      ),
    );
    // A compaction that fails for want of space is tried again each minute while saves go on: said at error
    // once, and once an hour while it lasts (the journal grows towards what a start can read), not each minute.
    let compactionFailureSaidAt: number | null = null;
    store.onCompactionFailed((err) => {
      metrics.recordStateCompactionFailure();
      const now = performance.now();
      if (compactionFailureSaidAt !== null && now - compactionFailureSaidAt < COMPACTION_FAILURE_REPEATED_MS) {
        logger.debug({ err }, 'state journal could not be compacted again');
        return;
      }
      compactionFailureSaidAt = now;
      logger.error({ err }, 'state journal could not be compacted; saves go on into the journal, compaction is tried again each minute (said again each hour while it fails)');
    });
    store.onCompacted(() => {
      if (compactionFailureSaidAt === null) return;
      compactionFailureSaidAt = null;
      logger.info('state journal compacted again');
    });
    releasers.add(() => engine.close(draining()));
    engine.setWatches(options.watches ?? targetsOf(config));
    engine.setTracking(options.track ?? config.track, stateMode === 'file');
    return { config, client, notifiers, store, outbox, engine, metrics, lockLost, close };
  } catch (err) {
    await close({ drainMs: 0 }).catch((closeErr: unknown) => logger.error({ err: closeErr }, 'error while releasing after a failed start'));
    throw err;
  }
}
