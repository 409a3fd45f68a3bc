import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { StateStore } from '../state/store.ts';
import type { DeliveryRecord, WatchRecord } from '../state/types.ts';
import type { Notifier } from '../notify/types.ts';
import { DeliveryError } from '../notify/DeliveryError.ts';
import { nextDelay, type BackoffPolicy } from './backoff.ts';
import { notificationFor } from './notification.ts';

/** Sends in flight at once: thousands of verdicts at once must not open thousands of connections. */
const SEND_CONCURRENCY = 16;

interface Waiting {
  key: string;
  record: WatchRecord;
  name: string;
  delivery: DeliveryRecord;
  /** Epoch ms; 0 for a delivery never attempted. */
  notBefore: number;
}

export interface OutboxCounts {
  pending: number;
  delivered: number;
  givenUp: number;
}

/**
 * Sends the deliveries recorded in state. A delivery is written as `pending` before its first attempt
 * and its outcome after each one, so a crash or restart resumes it (at least once, with the same id)
 * and a delivered one is never sent again.
 */
export class Outbox {
  readonly #store: StateStore;
  readonly #notifiers: Map<string, Notifier>;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #policy: BackoffPolicy;
  readonly #inFlight = new Set<string>();
  readonly #limit = pLimit(SEND_CONCURRENCY);
  readonly #closed = new AbortController();
  #wake = new AbortController();
  #loop: Promise<void> | null = null;

  constructor(options: { store: StateStore; notifiers: Map<string, Notifier>; logger: Logger; metrics: Metrics; policy: BackoffPolicy }) {
    this.#store = options.store;
    this.#notifiers = options.notifiers;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#policy = options.policy;
  }

  /** Starts the background loop that sends due deliveries and sleeps until the next one is due. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** New deliveries were recorded: look now rather than at the next wake-up. */
  kick(): void {
    this.#wake.abort();
  }

  /** Attempts every delivery that is due now; resolves when those attempts are settled and saved. */
  async flush(now = Date.now()): Promise<void> {
    const due = [...this.#waiting()].filter((w) => w.notBefore <= now);
    // Claimed before queueing, so that an overlapping flush does not send the same delivery twice.
    for (const { delivery } of due) this.#inFlight.add(delivery.id);
    await Promise.all(
      due.map(({ key, record, name, delivery }) =>
        this.#limit(() => this.#attempt(key, record, name, delivery)).finally(() => this.#inFlight.delete(delivery.id)),
      ),
    );
    if (due.length) await this.#store.save();
  }

  counts(): OutboxCounts {
    const counts: OutboxCounts = { pending: 0, delivered: 0, givenUp: 0 };
    for (const [, record] of this.#store.entries()) {
      for (const d of Object.values(record.deliveries)) {
        if (d.status === 'pending') counts.pending++;
        else if (d.status === 'delivered') counts.delivered++;
        else counts.givenUp++;
      }
    }
    return counts;
  }

  /** Stops the loop; an attempt in flight is aborted and stays pending for the next start. */
  async close(): Promise<void> {
    this.#closed.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const closed = this.#closed.signal;
    while (!closed.aborted) {
      await this.flush().catch((err: unknown) => this.#logger.error({ err }, 'delivery pass failed; retrying'));
      const wait = this.#msUntilNextDue();
      this.#wake = new AbortController();
      const signal = AbortSignal.any([closed, this.#wake.signal]);
      await sleep(wait ?? 60_000, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Pending deliveries no attempt is working on, with the time before which none may start. */
  *#waiting(): Generator<Waiting> {
    for (const [key, record] of this.#store.entries()) {
      for (const [name, delivery] of Object.entries(record.deliveries)) {
        if (delivery.status !== 'pending' || this.#inFlight.has(delivery.id)) continue;
        yield { key, record, name, delivery, notBefore: delivery.nextAttemptAt ? Date.parse(delivery.nextAttemptAt) : 0 };
      }
    }
  }

  #msUntilNextDue(): number | null {
    let next: number | null = null;
    for (const { notBefore } of this.#waiting()) next = Math.min(next ?? notBefore, notBefore);
    return next === null ? null : Math.max(0, next - Date.now());
  }

  async #attempt(key: string, record: WatchRecord, name: string, delivery: DeliveryRecord): Promise<void> {
    const log = this.#logger.child({ requestId: record.requestId, serverId: record.serverId, projectId: record.projectId, notifier: name, deliveryId: delivery.id });
    if (this.#closed.signal.aborted) return;
    const notifier = this.#notifiers.get(name);
    delivery.attempts++;
    try {
      if (!notifier || !record.verdict) throw new DeliveryError(`notifier ${name} is no longer configured`, { retryable: false });
      const stopTimer = this.#metrics.deliveryDuration.startTimer({ notifier: name });
      await notifier
        .send(notificationFor(record, record.verdict), { deliveryId: delivery.id, attempt: delivery.attempts, signal: this.#closed.signal })
        .finally(stopTimer);
      this.#settle(delivery, 'delivered', null);
      this.#metrics.notifications.inc({ notifier: name, result: 'delivered' });
      log.info({ outcome: record.verdict.outcome, attempt: delivery.attempts }, 'notification delivered');
    } catch (err) {
      this.#failed(delivery, err, log, name);
    }
    this.#store.touch();
    // Not awaited: saves coalesce in the background, so one slow fsync does not hold up every send. A crash
    // before the save lands means a redelivery with the same id, which receivers drop; flush() awaits a save.
    this.#store.save().catch((err: unknown) => log.error({ err, key }, 'could not record the delivery; it will be attempted again'));
  }

  #failed(delivery: DeliveryRecord, err: unknown, log: Logger, name: string): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.#closed.signal.aborted) {
      // Shutting down is not the receiver's fault: the attempt does not count.
      delivery.attempts--;
      delivery.lastError = message;
      return;
    }
    const retryable = err instanceof DeliveryError ? err.retryable : true;
    if (!retryable || delivery.attempts >= this.#policy.attempts) {
      this.#settle(delivery, 'given_up', message);
      this.#metrics.notifications.inc({ notifier: name, result: 'given_up' });
      log.error({ attempt: delivery.attempts, error: message, retryable }, 'delivery given up');
      return;
    }
    const delay = nextDelay(this.#policy, delivery.attempts, err instanceof DeliveryError ? err.retryAfterMs : undefined);
    delivery.nextAttemptAt = new Date(Date.now() + delay).toISOString();
    delivery.lastError = message;
    delivery.updatedAt = new Date().toISOString();
    this.#metrics.notifications.inc({ notifier: name, result: 'retry' });
    log.warn({ attempt: delivery.attempts, error: message, retryInMs: Math.round(delay) }, 'delivery failed; will retry');
  }

  #settle(delivery: DeliveryRecord, status: 'delivered' | 'given_up', lastError: string | null): void {
    delivery.status = status;
    delivery.nextAttemptAt = null;
    delivery.lastError = lastError;
    delivery.updatedAt = new Date().toISOString();
  }
}
