// What the log says of delivery attempts that fail and will be retried, told per notifier (its receiver) as
// poll failures are per watch: a receiver down for delivery.maxAge with 1,000 notifications owed to it said
// `delivery failed; will retry` once a delivery an attempt, some 288,000 warn lines at a 5 min maxDelay.
// Give-ups are not told here: each is a notification lost, said at error on its own.
import type { Logger } from '../observability/logger.ts';
import type { DeliveryReason } from '../notify/DeliveryError.ts';
import { formatDuration } from '../watch/format.ts';

/** How often a run of failures still going on is summed up at warn: as often as a journal that cannot be compacted. */
const FAILING_SAID_EVERY_MS = 3_600_000;

/** A notifier's run of failed attempts, from the first until one of its deliveries is delivered. */
export interface FailureRun {
  /** When the run's first failed attempt ended (epoch ms). */
  since: number;
  /** Why its last attempt failed: the `reason` label of notifications_total. */
  reason: DeliveryReason;
  /** When it was last said at warn (epoch ms). */
  saidAt: number;
  /** Failed attempts since then. */
  unsaid: number;
  /** Failed attempts in the whole run. */
  failed: number;
  /** Set when a reload pointed the notifier at another receiver: its next failure is said at warn, as that receiver's first. */
  receiverChanged?: true;
}

/**
 * A reload pointed `notifier` at another receiver (movedNotifiers): its run goes on, so that a mended URL's
 * first delivery is said to end it, but the new receiver's first failure is said at warn, not at debug as
 * a repeat: an edit that did not mend it is seen.
 */
export function receiverChanged(runs: Map<string, FailureRun>, notifier: string): void {
  const run = runs.get(notifier);
  if (run !== undefined) run.receiverChanged = true;
}

/**
 * This host's clock was set by `byMs` (HostClock's onMoved): the runs' times (those from `since` on) move
 * with the state's, so that the hourly line comes an hour apart and says how long a run has failed by the
 * time that passed. Left on the clock as it stood, a setting back an hour held the line back an hour and
 * had it say an hour too little; forward, said it at once, an hour too long.
 */
export function moveRunTimes(runs: Map<string, FailureRun>, byMs: number, since = -Infinity): void {
  for (const run of runs.values()) {
    if (run.since >= since) run.since += byMs;
    if (run.saidAt >= since) run.saidAt += byMs;
  }
}

/** The lines of one attempt, carrying the delivery's watch (or batch) and ids. */
interface DeliveryLog {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

// Constant messages, the notifier and the numbers in fields, as every line of a notifier's is: a search finds each.
const WILL_RETRY = 'delivery failed; will retry';
const STILL_FAILING = 'notifier still failing: what is owed to it is retried, each notification until delivery.maxAge after the outcome, early warning or digest it tells';
const DELIVERS_AGAIN = 'notifier delivers again: what is owed to it follows at its retries, within delivery.maxDelay';

export class NotifierFailures {
  /** By notifier; kept by the owner of the outbox (the daemon's, across reloads), as receivers' pauses are. */
  readonly #runs: Map<string, FailureRun>;
  readonly #logger: Logger;
  readonly #maxAge: number;

  constructor(runs: Map<string, FailureRun>, logger: Logger, maxAge: number) {
    this.#runs = runs;
    this.#logger = logger;
    this.#maxAge = maxAge;
  }

  /**
   * An attempt of a delivery to `notifier` failed and will be retried. Said at warn, with the delivery's
   * fields, when the notifier's run of failures begins or its reason changes (a 503, then connections
   * refused); else at debug, and summed up at warn once each FAILING_SAID_EVERY_MS while the run goes on,
   * with `owed`, what is owed to the notifier.
   */
  failed(notifier: string, failure: { reason: DeliveryReason; error: string; now: number; owed: number }, log: DeliveryLog, fields: Record<string, unknown>): void {
    const { reason, error, now, owed } = failure;
    const run = this.#runs.get(notifier);
    if (run === undefined) {
      this.#runs.set(notifier, { since: now, reason, saidAt: now, unsaid: 0, failed: 1 });
      log.warn({ ...fields, owed }, WILL_RETRY);
      return;
    }
    const reasonBefore = run.reason;
    run.reason = reason;
    run.failed++;
    const failingSince = new Date(run.since).toISOString();
    if (reason !== reasonBefore || run.receiverChanged) {
      delete run.receiverChanged;
      run.saidAt = now;
      run.unsaid = 0;
      log.warn({ ...fields, owed, failingSince, reasonBefore }, WILL_RETRY);
      return;
    }
    log.debug({ ...fields, owed, failingSince }, 'delivery failed again');
    run.unsaid++;
    if (now - run.saidAt < FAILING_SAID_EVERY_MS) return;
    this.#logger.warn(
      { notifier, owed, failingSince, failingFor: formatDuration(now - run.since), failed: run.unsaid, reason, error, maxAge: formatDuration(this.#maxAge) },
      STILL_FAILING,
    );
    run.saidAt = now;
    run.unsaid = 0;
  }

  /** A delivery to `notifier` was delivered: the end of its run of failures, if one went on, said at info. */
  delivered(notifier: string, now: number, owed: number): void {
    const run = this.#runs.get(notifier);
    if (run === undefined) return;
    this.#runs.delete(notifier);
    this.#logger.info({ notifier, owed, failingSince: new Date(run.since).toISOString(), failedFor: formatDuration(now - run.since), failed: run.failed }, DELIVERS_AGAIN);
  }

  /**
   * Nothing is owed to `notifier` any more but it never delivered (each given up, at error): its run ends
   * unsaid, and the next failure, maybe days on, begins a run of its own rather than one failing since then.
   */
  nothingOwed(notifier: string): void {
    this.#runs.delete(notifier);
  }
}
