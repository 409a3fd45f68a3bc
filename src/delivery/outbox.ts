import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from '../observability/logger.ts';
import type { DeliveryCounts, Metrics } from '../observability/metrics.ts';
import { batchDeliveries, watchDeliveries, type DurableDelivery, type StateStore } from '../state/store.ts';
import type { BatchRecord, DeliveryRecord, DigestRecord } from '../state/types.ts';
import { SENDS_PER_NOTIFIER, type Notifier } from '../notify/types.ts';
import { DELIVERY_REASONS, DeliveryError, type DeliveryReason } from '../notify/DeliveryError.ts';
import { whenAborted } from '../lifecycle/abort.ts';
import { retryAt, type DeliveryPolicy } from './backoff.ts';
import { notificationOf } from './notification.ts';
import { NotifierFailures, type FailureRun } from './notifierFailures.ts';
import { watchLogFields } from '../watch/kinds/index.ts';
import { formatDuration } from '../watch/format.ts';

/** The loop's sleep when nothing is queued: it is woken by new deliveries anyway. */
const IDLE_MS = 60_000;

/** What becomes of the notifications a close cut off, by why the outbox closes. */
const CUT_OFF = {
  stop: 'stopping with notifications in flight (shutdown.drainTimeout ran out): cut off, they stay owed and are sent after the next start',
  reload: 'reloading with notifications in flight (shutdown.drainTimeout ran out): cut off, they stay owed and are sent again by the parts the reload starts, as they start',
} as const;

/**
 * Sends the deliveries the state store has on disk, and nothing else: it is fed by `store.onDurable`,
 * with the pending deliveries read at start and then each one once the save that wrote it has
 * completed. A crash can therefore never follow a send whose verdict the restarted daemon would not know.
 * Each attempt's result is recorded in state, so a restart resumes the backoff (at least once, with the
 * same id), and a delivered one is never sent again. Settled deliveries leave the queue: a finished
 * watch costs nothing here.
 */
export class Outbox {
  readonly #store: StateStore;
  readonly #notifiers: Map<string, Notifier>;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #policy: DeliveryPolicy;
  readonly #reloadedAway: ReadonlySet<string>;
  /** This host's time, once a step of its clock is allowed for: retries and delivery.maxAge count from times the state keeps. */
  readonly #now: () => number;
  readonly #surelyPassedSince: (now: number) => number;
  /** Pending deliveries by delivery id. */
  readonly #queue = new Map<string, DurableDelivery>();
  /** How many of the queue's are owed to each notifier. */
  readonly #owedBy = new Map<string, number>();
  readonly #failures: NotifierFailures;
  /** Ids an attempt has claimed: queued for a send slot or sending. */
  readonly #claimed = new Set<string>();
  readonly #attempts = new Set<Promise<void>>();
  /** The send slots of each notifier. */
  readonly #limits = new Map<string, LimitFunction>();
  /** Aborted when closing begins: no new attempt starts. */
  readonly #stopping = new AbortController();
  /** Aborted when the drain budget is spent: attempts in flight are cancelled. */
  readonly #cancel = new AbortController();
  #wake = new AbortController();
  /**
   * When the loop's sleep ends (epoch ms). An attempt that ends with a retry due before then wakes it: the
   * loop planned its sleep while that delivery was in flight, and did not count it.
   */
  #wakesAt = Infinity;
  #loop: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  /** Notifiers holdFor marked: these parts still have them, and what they hand over before they close keeps the mark. */
  readonly #holding = new Set<string>();
  /** Early warnings and partial digests wait while this is set: see start(). */
  #warningsHeld = false;
  /**
   * Notifiers whose receiver throttles (a 429, or an answer with Retry-After), and until when (epoch ms): none
   * of their deliveries is attempted before then, and after it one at a time (`#probes`) until one is not
   * throttled. Each delivery retried on its own at its Retry-After came back with the others in one burst,
   * which the receiver throttled again: n²/2k requests for n notifications to one that takes k per window.
   */
  readonly #throttled: Map<string, number>;
  /** The delivery id of the one attempt a throttled notifier has in flight, once its pause is over. */
  readonly #probes = new Map<string, string>();
  /** Notifiers not in the file whose owed deliveries were said to wait for them: said once by these parts. */
  readonly #waitingSaid = new Set<string>();
  /** Notifiers whose series of notifications_total are there at 0. */
  readonly #countedFromZero = new Set<string>();

  /** `reloadedAway`: see AppOptions. */
  constructor(options: {
    store: StateStore;
    notifiers: Map<string, Notifier>;
    logger: Logger;
    metrics: Metrics;
    policy: DeliveryPolicy;
    reloadedAway?: ReadonlySet<string> | undefined;
    /** Notifiers a reload changed: what is owed to them is due at once, whatever their backoff. */
    retuned?: ReadonlySet<string> | undefined;
    /**
     * Receivers' pauses (see #throttled), kept by their owner across outboxes (the daemon's, across reloads
     * that rebuild the parts): a new outbox would otherwise send everything owed to a receiver that throttles.
     */
    throttled?: Map<string, number> | undefined;
    /** Notifiers' runs of failed attempts (see NotifierFailures), kept by their owner across outboxes as `throttled` is. */
    failing?: Map<string, FailureRun> | undefined;
    /** Default Date.now; the engine's now(), which moves the state's times with a setting of the clock first. */
    now?: () => number;
    /** The earliest time from which the time since is sure to have passed (the engine's surelyPassedSince()); default: any. */
    surelyPassedSince?: (now: number) => number;
  }) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#surelyPassedSince = options.surelyPassedSince ?? (() => -Infinity);
    this.#reloadedAway = options.reloadedAway ?? new Set();
    this.#notifiers = options.notifiers;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#policy = options.policy;
    // Each notifier's series from 0, before its first attempt: a labelled series that appears only at its
    // first increase is a step increase() cannot see, and after a restart (the same instance, counters
    // back to nothing) a first give-up at 1 looks like the value the series had before: no alert.
    // A failure's series by each reason too: a first timeout after a run of refusals is an increase as well.
    for (const notifier of this.#notifiers.keys()) this.#countFromZero(notifier);
    this.#throttled = options.throttled ?? new Map();
    this.#failures = new NotifierFailures(options.failing ?? new Map(), this.#logger, this.#policy.maxAge);
    // `retuned` for the deliveries the state holds at the start, which onDurable hands over at once; none later.
    let retuned = options.retuned;
    this.#store.onDurable((deliveries) => this.#enqueue(deliveries, retuned));
    retuned = undefined;
  }

  /**
   * Starts the background loop that sends due deliveries and sleeps until the next one is due. Early
   * warnings wait for `firstPass`, the engine's first poll of every watch: one owed from before a restart
   * may be about an action that finished while the daemon was stopped, and the outcome that pass finds
   * supersedes it, where sent at once it would come just before that outcome. So do partial digests, a
   * batch's warning, for a batch that finished meanwhile and the final digest that pass records.
   */
  start(firstPass?: Promise<unknown>): void {
    if (this.#loop) return;
    if (firstPass) {
      this.#warningsHeld = true;
      const release = () => {
        this.#warningsHeld = false;
        this.#wake.abort();
      };
      firstPass.then(release, release);
    }
    this.#loop = this.#run();
    this.#sayWaiting(this.#queue.values());
  }

  /**
   * A verdict or digest may have been saved that outruns an early warning or partial digest owed (see
   * #droppedAsOutrun): the loop looks now, not at that one's retry.
   */
  outrunMayHaveCome(): void {
    this.#wake.abort();
  }

  /** Deliveries waiting to be sent (on disk, not settled). */
  get pending(): number {
    return this.#queue.size;
  }

  /** For the deliveries gauge: every delivery in the state by status. */
  counts(): DeliveryCounts {
    return this.#store.deliveryCounts();
  }

  /** Attempts every queued delivery that is due now; resolves when those attempts are settled and saved. */
  async flush(now = this.#now()): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    const started = this.#startDue(this.#queue.values(), now);
    await Promise.all(started);
    if (started.length) await this.#store.save();
  }

  /** Starts an attempt, through the send slots, of each delivery of `deliveries` that is due and unclaimed. */
  #startDue(deliveries: Iterable<DurableDelivery>, now: number): Promise<void>[] {
    const due: DurableDelivery[] = [];
    for (const d of deliveries) {
      // Dropped now, not at its next retry (delivery.maxDelay away, or delivery.maxAge for one that waits for its
      // notifier): `run --until-done` waited that long for nothing.
      if (this.#claimed.has(d.delivery.id) || this.#droppedAsOutrun(d) || this.#held(d) || this.#dueAt(d, now) > now) continue;
      // A throttled receiver's pause is over: this one tries it, the others wait for its answer.
      if (this.#throttled.has(d.notifier)) {
        if (this.#probes.has(d.notifier)) continue;
        this.#probes.set(d.notifier, d.delivery.id);
      }
      // Claimed before queueing, so that an overlapping flush does not send the same delivery twice.
      this.#claimed.add(d.delivery.id);
      due.push(d);
    }
    return due.map((d) => this.#track(this.#slotsOf(d.notifier)(() => this.#attempt(d)).finally(() => this.#released(d))));
  }

  /**
   * An attempt has ended: its delivery may be attempted again, and if it is to be retried before the loop
   * wakes, the loop wakes now; so it does when the attempt was a throttled receiver's probe, whose answer
   * lets the others go or sets the next pause.
   */
  #released(owed: DurableDelivery): void {
    const { delivery } = owed;
    this.#claimed.delete(delivery.id);
    const probe = this.#probes.get(owed.notifier) === delivery.id;
    if (probe) this.#probes.delete(owed.notifier);
    if (probe || (this.#queue.has(delivery.id) && this.#dueAt(owed, this.#now()) < this.#wakesAt)) this.#wake.abort();
  }

  #slotsOf(notifier: string): LimitFunction {
    let limit = this.#limits.get(notifier);
    if (!limit) this.#limits.set(notifier, (limit = pLimit(this.#notifiers.get(notifier)?.sendsAtOnce ?? SENDS_PER_NOTIFIER)));
    return limit;
  }

  /**
   * Stops starting attempts, lets those in flight finish until `drain` is aborted, then cancels them:
   * a cancelled attempt does not count and stays pending for the parts that start next: a restart's, or,
   * `for` a reload, those the reload starts at once; asked once the drain has ended, as a stop may come
   * meanwhile. Idempotent.
   */
  close(drain: AbortSignal = AbortSignal.abort(), { for: why = () => 'stop' }: { for?: () => 'stop' | 'reload' } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopping.abort();
      const inFlight = Promise.allSettled([...this.#attempts]);
      await Promise.race([inFlight, whenAborted(drain)]);
      // Said, as an operator who stops the daemon while a receiver hangs would otherwise read only `stopped`.
      if (this.#attempts.size > 0) this.#logger.warn({ inFlight: this.#attempts.size, owed: this.#queue.size }, CUT_OFF[why()]);
      this.#cancel.abort();
      await inFlight;
      await this.#loop;
    })();
    return this.#closing;
  }

  /**
   * Marks held what is owed to `names`, the notifiers a reload takes out, for the final save of these parts
   * before they let the state lock go: marked by the next parts alone, the mark reached the disk after they
   * said the file was in effect, and a SIGKILL before then restarted without it and gave the delivery up.
   */
  holdFor(names: ReadonlySet<string>): void {
    if (names.size === 0) return;
    for (const name of names) this.#holding.add(name);
    const owed = [...this.#store.records()].flatMap(([key, record]) => watchDeliveries(key, record)).concat(this.#store.batches().flatMap(batchDeliveries));
    for (const d of owed) if (d.delivery.status === 'pending' && names.has(d.notifier)) this.#hold(d);
  }

  /** Marks `d` held from now, for the state to say so; false when it already was. */
  #hold(d: DurableDelivery): boolean {
    if (d.delivery.heldSince !== undefined) return false;
    d.delivery.heldSince = new Date(this.#now()).toISOString();
    this.#touch(d);
    return true;
  }

  #enqueue(deliveries: DurableDelivery[], retuned: ReadonlySet<string> | undefined): void {
    const pending = deliveries.filter((d) => d.delivery.status === 'pending');
    let held = false;
    for (const d of pending) {
      if (!this.#queue.has(d.delivery.id)) this.#owedBy.set(d.notifier, this.#owed(d.notifier) + 1);
      this.#queue.set(d.delivery.id, d);
      // Owed to a notifier the file no longer has (held by a reload before a restart): given up at
      // delivery.maxAge, in a process long past the hour the alert's other arm reads.
      if (!this.#notifiers.has(d.notifier)) this.#countFromZero(d.notifier);
      // Its notifier back, it is one as any other from now, for `check` too, not from its next attempt (as
      // far off as delivery.maxDelay): a reload put the notifier back, or went back to the running file when
      // the parts of one that took it out could not start (they had marked it, and said why it waited).
      if (d.delivery.heldSince !== undefined && this.#notifiers.has(d.notifier) && !this.#holding.has(d.notifier)) {
        delete d.delivery.heldSince;
        if (d.delivery.lastError === heldError(d.notifier)) d.delivery.lastError = null;
        this.#touch(d);
      }
      // Held from the reload on, though not attempted before a restart (a retry not yet due): the state says so.
      if (this.#reloadedAway.has(d.notifier) && this.#hold(d)) held = true;
      // What `check` lists it with: the receiver's last answer is not why it is not sent.
      if (this.#waitsForNotifier(d) && d.delivery.lastError !== heldError(d.notifier)) {
        d.delivery.lastError = heldError(d.notifier);
        this.#touch(d);
      }
      if (retuned?.has(d.notifier) && d.delivery.nextAttemptAt !== null) {
        d.delivery.nextAttemptAt = null;
        this.#touch(d);
      }
    }
    // Saved now, not at the end of the first pass (minutes, with a cloud slow to answer): a crash before then
    // would restart without the mark, and give up at once what a half-written file took out.
    if (held) this.#store.save().catch((err: unknown) => this.#logger.debug({ err }, 'could not record the held deliveries; they are recorded at the next save'));
    if (this.#loop) this.#sayWaiting(pending);
    // While the loop runs, each save's new deliveries start here at once rather than when the loop next goes
    // through its whole queue: thousands of verdicts in one pass reach the receivers save by save.
    if (this.#loop && !this.#stopping.signal.aborted) {
      for (const attempt of this.#startDue(pending, this.#now())) {
        attempt.catch((err: unknown) => this.#logger.error({ err }, 'delivery attempt failed; retrying'));
      }
    }
    this.#wake.abort();
  }

  /** `notifier`'s series of notifications_total at 0, once: see the constructor. */
  #countFromZero(notifier: string): void {
    if (this.#countedFromZero.has(notifier)) return;
    this.#countedFromZero.add(notifier);
    this.#metrics.notifications.inc({ notifier, result: 'delivered' }, 0);
    for (const result of ['retry', 'given_up'] as const) {
      for (const reason of DELIVERY_REASONS) this.#metrics.notifications.inc({ notifier, result, reason }, 0);
    }
  }

  /**
   * Owed to a notifier a reload took out of the file, and not put back since: nothing can be tried, and a
   * retry counted at each backoff had EcsActionWatchNotificationsFailing fire for a notifier the file no
   * longer has, its description suggesting a notify-test of it. It waits, untried, until delivery.maxAge.
   */
  #waitsForNotifier(owed: DurableDelivery): boolean {
    return owed.delivery.heldSince !== undefined && !this.#notifiers.has(owed.notifier);
  }

  /**
   * Of `deliveries`, those waiting for a notifier not yet said: said once per notifier, by parts that run (not
   * `check`'s), where a line at every backoff would say it 288 times a day.
   */
  #sayWaiting(deliveries: Iterable<DurableDelivery>): void {
    const now = this.#now();
    const waiting = new Map<string, { owed: number; givenUpFrom: number }>();
    for (const d of deliveries) {
      if (!this.#waitsForNotifier(d) || this.#waitingSaid.has(d.notifier)) continue;
      const at = this.#ageFrom(d.delivery, now) + this.#policy.maxAge;
      const seen = waiting.get(d.notifier);
      waiting.set(d.notifier, { owed: (seen?.owed ?? 0) + 1, givenUpFrom: Math.min(seen?.givenUpFrom ?? Infinity, at) });
    }
    for (const [notifier, { owed, givenUpFrom }] of waiting) {
      this.#waitingSaid.add(notifier);
      this.#logger.warn(
        { notifier, owed, givenUpFrom: new Date(givenUpFrom).toISOString() },
        `notifications owed to notifier ${notifier} wait for it: the watch file no longer has it. They are not tried meanwhile, and kept until delivery.maxAge (${formatDuration(this.#policy.maxAge)}) after the outcome, early warning or digest each tells, in case it comes back (a file read half-written, a notifier renamed back), sent at once if it does; else given up then`,
      );
    }
  }

  #track(attempt: Promise<void>): Promise<void> {
    this.#attempts.add(attempt);
    return attempt.finally(() => this.#attempts.delete(attempt));
  }

  /**
   * Starts what is due and sleeps until the next delivery is due, without waiting for the attempts it
   * started: a retry due in a second is not held up by a mail server that takes its whole timeout.
   */
  async #run(): Promise<void> {
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      this.#wake = new AbortController();
      // Not awaited: flush() claims what is due before its first await, which is all the next line needs.
      this.flush().catch((err: unknown) => this.#logger.error({ err }, 'delivery pass failed; retrying'));
      // At most IDLE_MS: one waiting for its notifier is due only at delivery.maxAge, which may be more than a timer holds.
      const wait = Math.min(this.#msUntilNextDue() ?? IDLE_MS, IDLE_MS);
      this.#wakesAt = this.#now() + wait;
      await sleep(wait, undefined, { signal: AbortSignal.any([stopping, this.#wake.signal]) }).catch(() => undefined);
    }
  }

  #msUntilNextDue(): number | null {
    const now = this.#now();
    let next: number | null = null;
    for (const owed of this.#queue.values()) {
      // A throttled receiver's probe in flight: the others to it wait for its answer, which wakes the loop.
      if (this.#claimed.has(owed.delivery.id) || this.#held(owed) || this.#probes.has(owed.notifier)) continue;
      const at = this.#dueAt(owed, now);
      next = next === null ? at : Math.min(next, at);
    }
    return next === null ? null : Math.max(0, next - now);
  }

  #held(owed: DurableDelivery): boolean {
    return this.#warningsHeld && (owed.about === 'slow' || (owed.about === 'digest' && !owed.digest.final));
  }

  /**
   * Epoch ms before which no attempt of `owed` may start: its own retry's time, or its receiver's pause; for
   * one waiting for its notifier, the time it is given up.
   */
  #dueAt(owed: DurableDelivery, now: number): number {
    if (this.#waitsForNotifier(owed)) return this.#ageFrom(owed.delivery, now) + this.#policy.maxAge;
    return Math.max(this.#planned(notBefore(owed.delivery), now), this.#planned(this.#throttled.get(owed.notifier) ?? 0, now));
  }

  /**
   * `at`, a time planned for a retry or a pause, or `now` when it is more than delivery.maxDelay ahead (a
   * Retry-After is capped there too): one further ahead was planned before this host's clock stepped back,
   * and would otherwise wait as long as the step on top of its delay. It is due.
   */
  #planned(at: number, now: number): number {
    return at - now > this.#policy.maxDelay ? now : at;
  }

  async #attempt(owed: DurableDelivery): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    // Claimed before what outruns it was recorded.
    if (this.#droppedAsOutrun(owed)) return;
    const { notifier: name, delivery } = owed;
    // Claimed before its receiver throttled another, it waited for a send slot: it waits for the pause now.
    const probe = this.#probes.get(name) === delivery.id;
    if (this.#throttled.has(name) && !probe) return;
    // Fields, not a child logger: a child's bindings cost a redaction pass of their own, at every attempt.
    const about = logContext(owed);
    const log = logFor(this.#logger, { ...about, notifier: name, deliveryId: delivery.id });
    const notifier = this.#notifiers.get(name);
    if (this.#waitsForNotifier(owed)) {
      // Due only at delivery.maxAge (#dueAt): a file read half-written must not cost the notification, nor a
      // restart before the file is whole again, but a notifier gone this long was taken out on purpose.
      this.#giveUp(delivery, heldError(name), log, name, 'other', { attempt: delivery.attempts, why: `its notifier was taken out of the watch file and not put back within delivery.maxAge (${formatDuration(this.#policy.maxAge)}) after ${OWED_SINCE[owed.about]}` });
      this.#recorded(owed, log);
      return;
    }
    const notification = notificationOf(owed, (k) => this.#store.get(k));
    delivery.attempts++;
    try {
      // Missing since a start, and not held from a reload before it, it was taken out on purpose.
      if (!notifier) throw new DeliveryError(`notifier ${name} is no longer configured`, { reason: 'other', retryable: false });
      if (!notification) throw new DeliveryError('what it notifies is no longer in the state', { reason: 'other', retryable: false });
      const stopTimer = this.#metrics.deliveryDuration.startTimer({ notifier: name });
      await notifier
        .send(notification, { deliveryId: delivery.id, attempt: delivery.attempts, signal: this.#cancel.signal, owedTo: delivery.owedTo, about })
        .finally(stopTimer);
      this.#settle(delivery, 'delivered', null);
      this.#metrics.notifications.inc({ notifier: name, result: 'delivered' });
      log.info({ type: notification.type, attempt: delivery.attempts }, 'notification delivered');
      this.#failures.delivered(name, this.#now(), this.#owed(name));
      if (probe) this.#throttlingEnded(name, log);
    } catch (err) {
      const next = this.#failed(owed, err, log);
      // Only an answer of the receiver's ends its pause: not a probe cut off by a stop, given up at
      // delivery.maxAge, or failing before it was sent (the next delivery to it probes then).
      if (isThrottling(err)) {
        if (next !== null) this.#throttledUntil(name, next, log);
      } else if (probe && err instanceof DeliveryError && err.status !== undefined && !this.#cancel.signal.aborted) {
        this.#throttlingEnded(name, log);
      }
    }
    this.#recorded(owed, log);
  }

  /**
   * Settles `owed` as superseded when what it announces is outrun, and says why: an early warning once the
   * action has its outcome, a partial digest once its batch has finished or its running watches ended
   * elsewhere (#outrunBy). Told after that, either would only confuse. True when it did.
   */
  #droppedAsOutrun(owed: DurableDelivery): boolean {
    const outcome = owed.about === 'slow' ? owed.record.verdict?.outcome : undefined;
    const said = outcome !== undefined ? 'early warning not sent: the action finished first'
      : owed.about === 'digest' && !owed.digest.final ? this.#outrunBy(owed.batch, owed.digest)
      : undefined;
    if (said === undefined) return false;
    this.#settle(owed.delivery, 'superseded', null);
    const log = logFor(this.#logger, { ...logContext(owed), notifier: owed.notifier, deliveryId: owed.delivery.id });
    log.info(outcome === undefined ? {} : { outcome }, said);
    this.#recorded(owed, log);
    return true;
  }

  /**
   * What outran a partial digest since it was recorded, as its log line says it; undefined while nothing has.
   * Its round's final digest; or, its label renamed since (its watches moved to another batch or out of any),
   * which gives that round none, every watch it said was running has its outcome, told elsewhere: said as a
   * batch that finished, an operator would look for a final digest of this label that never comes. One still
   * in this batch waits for the final.
   */
  #outrunBy(batch: BatchRecord, digest: DigestRecord): string | undefined {
    if (this.#store.getBatch(batch.label)?.digests.some((d) => d.final && d.round === digest.round)) return 'partial digest not sent: its batch finished first';
    const endedElsewhere = runningIn(digest).every((key) => {
      const record = this.#store.get(key);
      return record !== undefined && record.verdict !== null && record.batch !== batch.label;
    });
    return endedElsewhere ? 'partial digest not sent: every watch it said was running has ended since, moved to another batch or out of any, and is told there or on its own' : undefined;
  }

  /** An attempt's end is to be saved, and what it settled let go. */
  #recorded(owed: DurableDelivery, log: AttemptLog): void {
    const { key } = owed;
    this.#touch(owed);
    if (owed.about === 'digest') this.#store.releaseBatchIfSettled(owed.batch.label);
    else this.#store.releaseIfSettled(key);
    // Not awaited: saves coalesce in the background, so one slow fsync does not hold up every send. A crash
    // before the save lands means a redelivery with the same id, which receivers drop; flush() awaits a save.
    // A retry due before it lands (a mail's, to those put off: owedTo) does not wait for it either: a crash
    // before then sends to every recipient again whether the retry went or not, and each recipient risks a
    // second copy only until the first save after the attempt that reached it lands, in either order.
    // The store's listener (app.ts) says a failing save, once while saves keep failing.
    this.#store.save().catch((err: unknown) => log.debug({ err, key }, 'could not record the delivery; it will be attempted again'));
  }

  /** Marks what holds the delivery changed, for the next save. */
  #touch(owed: DurableDelivery): void {
    if (owed.about === 'digest') this.#store.touchBatch(owed.batch.label);
    else this.#store.touch(owed.key);
  }

  /** Every delivery to `name` waits until `until` (epoch ms), and then for one attempt's answer. */
  #throttledUntil(name: string, until: number, log: AttemptLog): void {
    const before = this.#throttled.get(name);
    if (before !== undefined && before >= until) return;
    this.#throttled.set(name, until);
    if (before === undefined) {
      log.warn({ pausedUntil: new Date(until).toISOString() }, 'the receiver throttles notifications: none goes to it before then, and after that one at a time until one is taken');
    }
  }

  /** The probe was answered without throttling: every delivery to `name` may go again. */
  #throttlingEnded(name: string, log: AttemptLog): void {
    if (!this.#throttled.delete(name)) return;
    log.info({}, 'the receiver takes notifications again');
  }

  /** When the delivery is to be attempted again (epoch ms), or null when it is not (given up, or cut off by a stop). */
  #failed({ delivery, notifier: name, about }: DurableDelivery, err: unknown, log: AttemptLog): number | null {
    const message = err instanceof Error ? err.message : String(err);
    const now = this.#now();
    // Kept for every later attempt: one that fails as a whole (a server that is down) owes the same ones. Kept
    // too when the answer saying so came as the drain ran out: the others have the message.
    if (err instanceof DeliveryError && err.owedTo) delivery.owedTo = [...err.owedTo];
    if (this.#cancel.signal.aborted) {
      // Shutting down is not the receiver's fault: the attempt does not count.
      delivery.attempts--;
      delivery.lastError = message;
      delivery.updatedAt = new Date(now).toISOString();
      return null;
    }
    const retryable = err instanceof DeliveryError ? err.retryable : true;
    const reason = err instanceof DeliveryError ? err.reason : 'other';
    const retryAfterMs = err instanceof DeliveryError ? err.retryAfterMs : undefined;
    const createdAt = Date.parse(delivery.createdAt);
    const ageFrom = this.#ageFrom(delivery, now);
    const next = retryable ? retryAt(this.#policy, ageFrom, now, delivery.attempts, retryAfterMs) : null;
    if (next === null) {
      const since = ageFrom > createdAt ? "the daemon started (how long before is not known: the cloud has not answered since to tell a setting of this host's clock while stopped)" : OWED_SINCE[about];
      const why = retryable ? `still failing ${formatDuration(now - ageFrom)} after ${since} (delivery.maxAge)` : 'another attempt would fail the same way';
      this.#giveUp(delivery, message, log, name, reason, { attempt: delivery.attempts, retryable, why });
      return null;
    }
    delivery.nextAttemptAt = new Date(next).toISOString();
    delivery.lastError = message;
    delivery.updatedAt = new Date(now).toISOString();
    this.#metrics.notifications.inc({ notifier: name, result: 'retry', reason });
    this.#failures.failed(name, { reason, error: message, now, owed: this.#owed(name) }, log, { attempt: delivery.attempts, error: message, reason, retryInMs: Math.round(next - now) });
    return next;
  }

  /**
   * From when `delivery`'s age counts toward delivery.maxAge: its outcome, or, after a start that only the
   * cloud's clock can judge, until its first answer, the start (the time before it may be a setting of this
   * host's clock while the daemon was stopped, and a delivery is not given up for it).
   */
  #ageFrom(delivery: DeliveryRecord, now: number): number {
    return Math.max(Date.parse(delivery.createdAt), this.#surelyPassedSince(now));
  }

  #giveUp(delivery: DeliveryRecord, message: string, log: AttemptLog, name: string, reason: DeliveryReason, fields: Record<string, unknown>): void {
    this.#settle(delivery, 'given_up', message);
    this.#metrics.notifications.inc({ notifier: name, result: 'given_up', reason });
    log.error({ ...fields, error: message, reason }, 'delivery given up');
  }

  #settle(delivery: DeliveryRecord, status: Exclude<DeliveryRecord['status'], 'pending'>, lastError: string | null): void {
    delivery.status = status;
    // Marked by holdFor while its attempt was in flight: it was not held.
    if (status === 'delivered') delete delivery.heldSince;
    delivery.nextAttemptAt = null;
    delivery.lastError = lastError;
    delivery.updatedAt = new Date().toISOString();
    const notifier = this.#queue.get(delivery.id)?.notifier;
    if (notifier === undefined || !this.#queue.delete(delivery.id)) return;
    const owed = this.#owed(notifier) - 1;
    if (owed > 0) {
      this.#owedBy.set(notifier, owed);
      return;
    }
    this.#owedBy.delete(notifier);
    if (status !== 'delivered') this.#failures.nothingOwed(notifier);
  }

  /** How many deliveries are owed to `notifier`. */
  #owed(notifier: string): number {
    return this.#owedBy.get(notifier) ?? 0;
  }
}

type Level = 'debug' | 'info' | 'warn' | 'error';
/** The log lines of one attempt, each carrying what the attempt is about. */
type AttemptLog = Record<Level, (fields: Record<string, unknown>, message: string) => void>;

function logFor(logger: Logger, about: Record<string, unknown>): AttemptLog {
  const at = (level: Level) => (fields: Record<string, unknown>, message: string) => logger[level]({ ...about, ...fields }, message);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** What the log lines of a delivery's attempts say it is about. */
function logContext(owed: DurableDelivery): Record<string, string | number> {
  if (owed.about === 'digest') return { batch: owed.batch.label, round: owed.digest.round };
  return { ...watchLogFields(owed.record), ...(owed.about === 'slow' ? { about: 'slow' } : {}) };
}

/**
 * An answer that asks the sender to slow down, rather than one about this notification, as the notifier
 * read it: a 429, or any that asks for a pause (a 503 with Retry-After); `Retry-After: 0` asks for none.
 */
function isThrottling(err: unknown): boolean {
  return err instanceof DeliveryError && err.reason === 'throttled';
}

/**
 * What a delivery's age counts from, as a give-up says it: an early warning or a digest has no outcome of its
 * own (a warning given up is of an action still running).
 */
const OWED_SINCE: Record<DurableDelivery['about'], string> = { verdict: 'the outcome', slow: 'the early warning', digest: 'the digest' };

/** Why a delivery owed to `notifier`, which a reload took out of the file, is not sent. */
function heldError(notifier: string): string {
  return `notifier ${notifier} was taken out of the watch file; kept until delivery.maxAge in case it comes back`;
}

/** Each partial digest's watches it said were running, made once a digest: each flush asks of those owed. */
const running = new WeakMap<DigestRecord, readonly string[]>();

function runningIn(digest: DigestRecord): readonly string[] {
  let keys = running.get(digest);
  if (keys === undefined) running.set(digest, (keys = digest.members.filter((m) => m.outcome === null).map((m) => m.key)));
  return keys;
}

/** Epoch ms before which no attempt may start; 0 for a delivery never attempted. */
function notBefore(delivery: DeliveryRecord): number {
  return delivery.nextAttemptAt ? Date.parse(delivery.nextAttemptAt) : 0;
}
