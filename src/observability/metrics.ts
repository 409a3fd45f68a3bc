// prom-client's metric classes and registry rather than its index, which also loads its
// Pushgateway (node:https and with it TLS, and zlib, at load), Summary and cluster aggregation: none used.
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import Registry from 'prom-client/lib/registry.js';
import { VERSION } from '../version.ts';
import type { StateFileKind } from '../state/store.ts';
import type { ThrottleState } from '../cloud/rateLimiter.ts';
import { registerProcessMetrics } from './processMetrics.ts';
import { DELIVERY_REASONS } from '../notify/DeliveryError.ts';
import { POLL_ERROR_KINDS } from '../watch/pollFailures.ts';

const PREFIX = 'ecs_action_watch_';

/** What the deliveries gauge reads at each scrape: the outbox's counts from the state. */
export type DeliveryCounts = { pending: number; delivered: number; givenUp: number; superseded: number };

/**
 * What the program's parts record: prom-client's metrics for the daemon (createMetrics), nothing for the
 * one-shot commands that serve no /metrics (./discardedMetrics.ts, which loads no prom-client).
 */
export interface Metrics {
  /**
   * A poll of a watch that took `seconds` (its retries included) and ended so: `error` when it failed after
   * its retries, answered otherwise. polls_total, last_successful_poll_timestamp_seconds and
   * poll_duration_seconds.
   */
  recordPoll(result: PollResultLabel, seconds: number): void;
  pollErrors: Pick<Counter<'kind'>, 'inc'>;
  verdicts: Pick<Counter<'outcome' | 'action'>, 'inc'>;
  watches: Pick<Gauge<'state'>, 'set'>;
  trackedServers: Pick<Gauge<'state'>, 'set'>;
  discovered: Pick<Counter, 'inc'>;
  /** Attempts by notifier and result, those that failed (retry, given_up) by reason too (DELIVERY_REASONS). */
  notifications: Pick<Counter<'notifier' | 'result' | 'reason'>, 'inc'>;
  /** Steps of this host's clock of 30 s or more, by what the daemon judged them (hostClock.ts). */
  hostClockSteps: Pick<Counter<'kind'>, 'inc'>;
  deliveryDuration: Pick<Histogram<'notifier'>, 'startTimer'>;
  /** The running app's outbox; replaced when a reload rebuilds the app. */
  setDeliverySource(source: () => DeliveryCounts): void;
  /** The running app's client's measure of the cloud's clock (ms ahead of this host's; undefined before one). */
  setCloudClockSource(source: () => number | undefined): void;
  /** The running app's engine: whether its poll loop is stuck (watch/stuck.ts). */
  setStuckSource(source: () => boolean): void;
  /** The running app's store: whether its last save failed, until one succeeds (state_unsaved). */
  setStateUnsavedSource(source: () => boolean): void;
  /** One durable write of the state, of `bytes`, to its journal or its snapshot. */
  recordStateWrite(bytes: number, file: StateFileKind): void;
  /** A save of the state that failed: what it held is not sent until a later one succeeds. */
  recordStateSaveFailure(): void;
  /** A compaction of the state's journal into its snapshot that failed: saves go on into the journal, which grows. */
  recordStateCompactionFailure(): void;
  /** A load of the watch file: the counter, and the gauges alerting rules read. */
  recordConfigLoad(ok: boolean): void;
  /**
   * When the pending watch whose polls have failed longest had its first failed poll (ms since the epoch),
   * or null when every pending watch's last poll was answered.
   */
  recordFailingSince(since: number | null): void;
}

/** polls_total's `result`: how a poll of a watch ended. */
export type PollResultLabel = 'pending' | 'finished' | 'not_found' | 'error';
const POLL_RESULTS: readonly PollResultLabel[] = ['pending', 'finished', 'not_found', 'error'];

/** The daemon's metrics, with the registry that /metrics serves. */
export type PrometheusMetrics = ReturnType<typeof createMetrics>;

/**
 * One registry per process object (not prom-client's global), so tests and embedders stay isolated.
 * Every metric is listed in the README's metrics reference; keep the two together.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) registerProcessMetrics(registry, PREFIX);
  const registers = [registry];
  let deliverySource: (() => DeliveryCounts) | null = null;
  let cloudClockSource: (() => number | undefined) | null = null;
  let stuckSource: (() => boolean) | null = null;
  let stateUnsavedSource: (() => boolean) | null = null;
  let throttleSource: (() => ThrottleState) | null = null;
  let lockWaitSource: (() => number) | null = null;
  let throttledCounted = 0;
  new Counter({
    name: `${PREFIX}cloud_throttled_total`,
    help: "Answers of the cloud that throttled a request (429, Huawei's APIGW.0308): each pauses every request and lowers the rate",
    registers,
    collect() {
      const answers = throttleSource?.().throttledAnswers ?? throttledCounted;
      if (answers > throttledCounted) this.inc(answers - throttledCounted);
      throttledCounted = answers;
    },
  });
  new Gauge({
    name: `${PREFIX}cloud_rate_slowed`,
    help: 'While requests to the cloud are paused after the cloud throttled one (429), or held back by the rate it lowered (within its last window): 1, else 0',
    registers,
    collect() {
      this.set(throttleSource?.().slowed ? 1 : 0);
    },
  });

  const buildInfo = new Gauge({
    name: `${PREFIX}build_info`,
    help: 'Always 1; the labels say which version runs on which Node.js',
    labelNames: ['version', 'node_version'] as const,
    registers,
  });
  buildInfo.set({ version: VERSION, node_version: process.versions.node }, 1);

  const configLoads = new Counter({
    name: `${PREFIX}config_loads_total`,
    help: 'Loads of the watch file (at start and on every change), by result (ok, invalid)',
    labelNames: ['result'] as const,
    registers,
  });
  const configLastLoadOk = new Gauge({
    name: `${PREFIX}config_last_reload_successful`,
    help: '1 when the last load of the watch file succeeded, 0 when it was invalid and the previous one is kept',
    registers,
  });
  const stateWrites = new Counter({
    name: `${PREFIX}state_writes_total`,
    help: 'Durable writes of the state, by file: journal (a line per save; a pass or a delivery that changed nothing writes none) or snapshot (a compaction)',
    labelNames: ['file'] as const,
    registers,
  });
  const stateWrittenBytes = new Counter({
    name: `${PREFIX}state_written_bytes_total`,
    help: 'Bytes of state written, by file: journal or snapshot',
    labelNames: ['file'] as const,
    registers,
  });
  const stateSaveFailures = new Counter({
    name: `${PREFIX}state_save_failures_total`,
    help: 'Saves of the state that failed (a full or read-only volume): the verdicts and deliveries they held wait, unsent, until a save succeeds',
    registers,
  });
  // Else a volume that stays full shows no failure between two passes, however far apart poll.schedule puts them.
  new Gauge({
    name: `${PREFIX}state_unsaved`,
    help: '1 from a save of the state that failed until one succeeds (also across a reload that rebuilds the parts), else 0: the verdicts and deliveries it held wait, unsent, and /readyz answers 503',
    registers,
    collect() {
      this.set(stateUnsavedSource?.() ? 1 : 0);
    },
  });
  const stateCompactionFailures = new Counter({
    name: `${PREFIX}state_compaction_failures_total`,
    help: "Compactions of the state's journal into its snapshot that failed (a full volume), at start or later: saves go on into the journal, which grows until one succeeds (tried again each minute)",
    registers,
  });
  let failingSince: number | null = null;
  // Computed at each scrape rather than at the end of a pass: a pass that never ends must not stop its age.
  new Gauge({
    name: `${PREFIX}longest_failing_watch_seconds`,
    help: 'How long every poll of the pending watch failing longest has failed, after their retries (0 when none fails); its warn logs name it',
    registers,
    collect() {
      this.set(failingSince === null ? 0 : Math.max(0, (Date.now() - failingSince) / 1000));
    },
  });
  new Gauge({
    name: `${PREFIX}poll_loop_stuck`,
    help: "1 while a poll pass has gone 10 minutes or more with no poll and no request to the cloud ending (a save of the state on a volume that hangs), or parts starting have had no answer from the state file's folder for 10 minutes, or a reload's parts have not stopped 10 minutes past shutdown.drainTimeout, else 0; /healthz answers 503 meanwhile",
    registers,
    collect() {
      this.set(stuckSource?.() ? 1 : 0);
    },
  });
  // Else a daemon that waits for good behind another's lock looks idle and well: it watches nothing.
  new Gauge({
    name: `${PREFIX}state_lock_wait_seconds`,
    help: 'How long the daemon has waited for the state lock another daemon holds and refreshes (0 while it holds it): it polls nothing meanwhile',
    registers,
    collect() {
      this.set(lockWaitSource?.() ?? 0);
    },
  });
  new Gauge({
    name: `${PREFIX}cloud_clock_ahead_seconds`,
    help: "How far the cloud's clock is ahead of this host's (negative: behind), from the Date of its answers, measured each minute to a second or two; from 30 s apart deadlines and early warnings allow for it",
    registers,
    collect() {
      const ahead = cloudClockSource?.();
      // Absent until measured (an unlabelled gauge starts at 0, which would read as clocks in step), and again
      // after a reload's new client, until it has measured.
      if (ahead === undefined) this.remove({});
      else this.set(Math.round(ahead / 1000));
    },
  });
  const configLastLoadTime = new Gauge({
    name: `${PREFIX}config_last_reload_success_timestamp_seconds`,
    help: 'When the watch file was last loaded successfully (Unix time)',
    registers,
  });

  const hostClockSteps = new Counter({
    name: `${PREFIX}host_clock_steps_total`,
    help: "Steps of this host's clock of 30 s or more: set (a setting of the clock, which the state's times moved with) or passed (time that passed while the machine slept or was held still)",
    labelNames: ['kind'] as const,
    registers,
  });
  // From 0, so that the first step is an increase a rule can see.
  for (const kind of ['set', 'passed'] as const) hostClockSteps.inc({ kind }, 0);

  // A poll is counted in plain numbers, which prom-client takes at each scrape: at 10,000 polls a second a
  // counter's inc() (which hashes its labels) and a gauge's setToCurrentTime() at every poll cost about
  // 1 µs a poll, a fiftieth of the poll.
  const pollsUncounted: Record<PollResultLabel, number> = { pending: 0, finished: 0, not_found: 0, error: 0 };
  let lastAnsweredAt = 0;
  new Counter({
    name: `${PREFIX}polls_total`,
    help: 'Polls of a watch, by result (pending, finished, not_found, error)',
    labelNames: ['result'] as const,
    registers,
    collect() {
      for (const result of POLL_RESULTS) {
        const polls = pollsUncounted[result];
        if (polls === 0) continue;
        pollsUncounted[result] = 0;
        this.inc({ result }, polls);
      }
    },
  });
  // 0 until a poll is answered, as an unlabelled gauge starts.
  new Gauge({
    name: `${PREFIX}last_successful_poll_timestamp_seconds`,
    help: 'When a poll last got an answer from the cloud (Unix time)',
    registers,
    collect() {
      if (lastAnsweredAt !== 0) this.set(lastAnsweredAt / 1000);
    },
  });
  const pollErrors = new Counter({
    name: `${PREFIX}poll_errors_total`,
    help: 'Polls that failed after their retries, by error kind (unauthorized, forbidden, network, timeout, server, rate_limited, bad_request, invalid_response, not_found, foreign_not_found, certificate, not_tls, unknown_host, proxy, redirect, gateway, endpoint, internal: a fault of ours, other)',
    labelNames: ['kind'] as const,
    registers,
  });
  // From 0, so that the first error of each kind is an increase the alert rules can see.
  for (const kind of POLL_ERROR_KINDS) pollErrors.inc({ kind }, 0);
  const pollDuration = new Histogram({
    name: `${PREFIX}poll_duration_seconds`,
    help: 'Duration of one poll of a watch, retries included',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });

  return {
    registry,
    recordPoll(result: PollResultLabel, seconds: number): void {
      pollsUncounted[result] += 1;
      if (result !== 'error') lastAnsweredAt = Date.now();
      pollDuration.observe(seconds);
    },
    pollErrors,
    verdicts: new Counter({
      name: `${PREFIX}verdicts_total`,
      help: 'Watches that reached an outcome, by outcome and Nova action (create, resize, ...; unknown when never read)',
      labelNames: ['outcome', 'action'] as const,
      registers,
    }),
    watches: new Gauge({
      name: `${PREFIX}watches`,
      help: 'Watches of the file and those auto-tracking (track:) started, by state (pending, success, failure, timeout, not_found)',
      labelNames: ['state'] as const,
      registers,
    }),
    trackedServers: new Gauge({
      name: `${PREFIX}tracked_servers`,
      help: 'Servers whose new actions become watches (track:), by state (tracking, ended: the server is gone)',
      labelNames: ['state'] as const,
      registers,
    }),
    discovered: new Counter({
      name: `${PREFIX}discovered_watches_total`,
      help: 'Watches that auto-tracking (track:) started for new actions',
      registers,
    }),
    notifications: new Counter({
      name: `${PREFIX}notifications_total`,
      help: `Notification attempts by notifier and result (delivered, retry, given_up), the failed ones by reason (${DELIVERY_REASONS.join(', ')}; delivered has none)`,
      labelNames: ['notifier', 'result', 'reason'] as const,
      registers,
    }),
    hostClockSteps,
    deliveryDuration: new Histogram({
      name: `${PREFIX}delivery_duration_seconds`,
      help: 'Duration of one delivery attempt sent, by notifier, whatever its result: one cut off by a stop too, which notifications_total does not count',
      labelNames: ['notifier'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    deliveries: new Gauge({
      name: `${PREFIX}deliveries`,
      help: 'Deliveries recorded in the state, by state (pending, delivered, given_up, superseded)',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const counts = deliverySource?.();
        if (!counts) return;
        this.set({ state: 'pending' }, counts.pending);
        this.set({ state: 'delivered' }, counts.delivered);
        this.set({ state: 'given_up' }, counts.givenUp);
        this.set({ state: 'superseded' }, counts.superseded);
      },
    }),
    setDeliverySource(source: () => DeliveryCounts): void {
      deliverySource = source;
    },
    setCloudClockSource(source: () => number | undefined): void {
      cloudClockSource = source;
    },
    setStuckSource(source: () => boolean): void {
      stuckSource = source;
    },
    setStateUnsavedSource(source: () => boolean): void {
      stateUnsavedSource = source;
    },
    /** The daemon's wait for the state lock, in seconds (state_lock_wait_seconds). */
    setLockWaitSource(source: () => number): void {
      lockWaitSource = source;
    },
    /** The daemon's rate limiter, kept across reloads (cloud_throttled_total, cloud_rate_slowed). */
    setThrottleSource(source: () => ThrottleState): void {
      throttleSource = source;
    },
    recordStateWrite(bytes: number, file: StateFileKind): void {
      stateWrites.inc({ file });
      stateWrittenBytes.inc({ file }, bytes);
    },
    recordStateSaveFailure(): void {
      stateSaveFailures.inc();
    },
    recordStateCompactionFailure(): void {
      stateCompactionFailures.inc();
    },
    recordConfigLoad(ok: boolean): void {
      configLoads.inc({ result: ok ? 'ok' : 'invalid' });
      configLastLoadOk.set(ok ? 1 : 0);
      if (ok) configLastLoadTime.setToCurrentTime();
    },
    recordFailingSince(since: number | null): void {
      failingSince = since;
    },
  };
}
