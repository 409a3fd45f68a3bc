// How many requests may go to the cloud, shared by everything that talks to it: polls, version documents
// and identity tokens. A request counts against the window from the moment it is sent until `perMs`
// after its answer came back, so that however long it travelled, the cloud cannot have seen more than
// `count` requests in any window of `perMs`: a limit counted by start times alone is exceeded at the
// far end as soon as one request takes longer on the way than the next. On a 429 (Huawei's gateway says
// APIGW.0308) every request waits for a pause of its own, 1 s doubling while 429s go on, or for the
// Retry-After the cloud asked for when it is longer, and the rate is halved; it grows back by a quarter
// per window without one. A 429 is news only for a request sent after the last one was taken in: those
// already in flight then (a whole burst of them) say again what was decided, and neither halve the rate
// nor double the pause once more. Nor does a 429 to a request sent in the first window after a pause
// halve the rate: that window has not yet shown the cloud the rate in force (the cloud may still be
// holding its own penalty), and the pause doubles instead.
import type { Logger } from '../observability/logger.ts';
import { listenForAbort } from '../lifecycle/abort.ts';

export interface RateLimit {
  count: number;
  perMs: number;
}

/** What an answer says about the rate: whether the cloud throttled it, and for how long it asked. */
export interface RateFeedback {
  throttled: boolean;
  retryAfterMs?: number | undefined;
  /**
   * It never reached the cloud (DNS failed, the connection was refused or timed out, the auth method held it back): it
   * counts in no window. A cloud that refused connections for minutes, each poll tried five times, left an
   * hour's window (`1000/h`) full of requests it never got, and no poll went for the rest of the hour.
   */
  unsent?: boolean | undefined;
}

/** The first pause after a 429 (its Retry-After when longer); doubled for each 429 in a row. */
const FIRST_PAUSE_MS = 1000;
/**
 * The longest pause, a Retry-After's too: the cloud is asked again then, and the rate, halved at each 429,
 * keeps the asking down. A pause of many minutes would keep every request from ending, and /healthz would
 * call the poll loop stuck (stuck.ts, 10 min) and have the daemon restarted.
 */
const MAX_PAUSE_MS = 60_000;
/**
 * A 429 to a request sent before the pause began that lengthens it this much is told as a pause begun:
 * the first may have asked for a second, and one a moment later for a minute. Less is a burst's answers
 * coming in one after another, each a few milliseconds later than the last.
 */
const LENGTHENED_MS = 1000;

/**
 * Answers are also counted a second at a time for this many seconds, the longest window a limit has (N/h),
 * with or without a limit: a reload that sets one where there was none, or lengthens the window (50/s made
 * 500/m), counts those sent in its window that the limiter did not keep.
 */
const HISTORY_S = 3600;

/**
 * How long a throttling said at warn goes without another warn line while it lasts. A cloud whose quota lies
 * below poll.rateLimit throttles the rate again each time it has grown back to the quota: under load, every
 * few seconds, for as long as the load lasts (cloud_rate_slowed and its alert say so meanwhile).
 */
const THROTTLING_RESAID_MS = 3_600_000;

/** A pause a 429 began: how long every request waits from now, and the Retry-After the cloud sent, if it sent one. */
export interface ThrottlePause {
  forMs: number;
  retryAfterMs: number | undefined;
}

/** A wait for the configured limit itself, its window full: how long until the next request may go. */
export interface LimitHold {
  forMs: number;
}

/** What /metrics says of the limiter: the cloud's 429s so far, and whether a 429 holds requests back now. */
export interface ThrottleState {
  throttledAnswers: number;
  slowed: boolean;
}

export class RateLimiter {
  #ceiling: number;
  #perMs: number;
  readonly #logger: Logger;
  /** Monotonic: a wall clock set back must not stall every request. */
  readonly #now: () => number;
  /** Requests allowed per window now: the ceiling, or less after a 429. */
  #allowed: number;
  /** Requests sent and not yet answered. */
  #inFlight = 0;
  /** When each answer of the last window came back, oldest first. */
  #answered: number[] = [];
  /** How many answers came back in each second of the last HISTORY_S, by the second's number modulo HISTORY_S. */
  readonly #history = new Uint32Array(HISTORY_S);
  /** The newest second #history counts; the slots of those after it are stale. */
  #historySecond = -Infinity;
  #pausedUntil = 0;
  #throttledInARow = 0;
  /** When the last 429 that was news came: a 429 to a request sent before it is not. */
  #decidedAt = -Infinity;
  /** From when a request sent has met the rate in force for a whole window after a pause: a 429 to it may halve it. */
  #ratedFrom = -Infinity;
  #lastGrowth = 0;
  /** When the throttling was last said at warn; null before, and again once the rate is back to its limit. */
  #throttlingSaidAt: number | null = null;
  #lastEnded = -Infinity;
  /** When the last request that had to wait was let go, the rate being below the ceiling. */
  #heldAt = -Infinity;
  #throttledAnswers = 0;
  readonly #pauseListeners: Array<(pause: ThrottlePause) => void> = [];
  readonly #holdListeners: Array<(hold: LimitHold) => void> = [];
  /** The requests waiting now began to wait for the configured limit, and were told of: told again once none waits. */
  #holdTold = false;
  /** Waiting callers, each granted with the time it was granted at. */
  readonly #queue: Array<(at: number) => void> = [];
  #wakeup: NodeJS.Timeout | undefined;

  /** `limit` undefined: no ceiling, but 429s still slow it down. */
  constructor(limit: RateLimit | undefined, logger: Logger, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#ceiling = limit?.count ?? Infinity;
    this.#perMs = limit?.perMs ?? 1000;
    this.#allowed = this.#ceiling;
    this.#logger = logger;
  }

  /**
   * The 429s so far, and whether requests are paused after one, or held back (in the last window) by the
   * rate it lowered. A lowered rate that lets every request go at once slows nothing: it grows back only in
   * windows with answers, so with passes minutes apart it stayed below the limit for most of an hour.
   */
  throttleState(): ThrottleState {
    const now = this.#now();
    const held = this.#allowed < this.#ceiling && (this.#queue.length > 0 || now - this.#heldAt < this.#perMs);
    return { throttledAnswers: this.#throttledAnswers, slowed: now < this.#pausedUntil || held };
  }

  /**
   * Calls `listener` whenever a 429 begins a pause, or lengthens it by LENGTHENED_MS or more, not when one to
   * a request sent before it lengthens it by less: a one-shot command says why it waits, which its log level
   * (error) would not.
   */
  onPause(listener: (pause: ThrottlePause) => void): void {
    this.#pauseListeners.push(listener);
  }

  /**
   * Calls `listener` when requests begin to wait for the configured limit (its window full, not a 429's
   * pause nor a rate a 429 lowered, which onPause tells of), once until none waits: a one-shot command
   * under `poll.rateLimit: 600/m` sat silent for the rest of each minute.
   */
  onHold(listener: (hold: LimitHold) => void): void {
    this.#holdListeners.push(listener);
  }

  /** When the last request ended, answered or failed (on the limiter's clock); -Infinity before the first. */
  get lastEndedAt(): number {
    return this.#lastEnded;
  }

  /**
   * A slot at once, when one is free and no one waits: what must be called with the answer once it is in
   * (or with `{ throttled: false }` when the request failed without one). Undefined when the caller must
   * wait in `acquire`.
   */
  tryAcquire(): ((feedback: RateFeedback) => void) | undefined {
    const now = this.#now();
    if (this.#queue.length > 0 || !this.#free(now)) return undefined;
    this.#inFlight++;
    return this.#releaser(now);
  }

  /**
   * Waits for a free slot (first come, first served) and returns what `tryAcquire` returns. Rejects with
   * the reason of the first of `signals` to abort while it waits.
   */
  async acquire(signals: readonly (AbortSignal | undefined)[] = []): Promise<(feedback: RateFeedback) => void> {
    for (const signal of signals) signal?.throwIfAborted();
    const now = this.tryAcquire();
    if (now !== undefined) return now;
    const sentAt = await new Promise<number>((resolve, reject) => {
      const asked = this.#now();
      // Called by #pump, which has counted the request in flight.
      const grant = (at: number) => {
        if (at > asked && this.#allowed < this.#ceiling) this.#heldAt = at;
        stopListening();
        resolve(at);
      };
      const stopListening = listenForAbort(signals, (reason) => {
        const at = this.#queue.indexOf(grant);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(reason);
      });
      this.#queue.push(grant);
      this.#pump();
    });
    return this.#releaser(sentAt);
  }

  #releaser(sentAt: number): (feedback: RateFeedback) => void {
    let released = false;
    return (feedback) => {
      if (released) return;
      released = true;
      this.#release(feedback, sentAt);
    };
  }

  /**
   * A reload's `poll.rateLimit`, in place: what was sent in the last window and a 429's pause stay counted,
   * as the cloud still counts them; a rate lowered by 429s stays as low, under the new ceiling.
   */
  setLimit(limit: RateLimit | undefined): void {
    const throttled = this.#allowed < this.#ceiling;
    // Unlimited, the answers were not kept, and a shorter window forgot the older ones: #history has them.
    if (limit !== undefined && (this.#allowed === Infinity || limit.perMs > this.#perMs)) this.#answered = this.#answeredWithin(limit);
    this.#ceiling = limit?.count ?? Infinity;
    this.#perMs = limit?.perMs ?? 1000;
    this.#allowed = throttled ? Math.min(this.#allowed, this.#ceiling) : this.#ceiling;
    // At its limit, as after growing back to it: a throttling from now on is another, said at warn.
    if (this.#allowed === this.#ceiling) this.#throttlingSaidAt = null;
    if (this.#queue.length > 0) this.#pump();
  }

  /** Cancels the pending wake-up; waiting callers are left to their signals. */
  close(): void {
    clearTimeout(this.#wakeup);
  }

  #free(now: number): boolean {
    if (now < this.#pausedUntil) return false;
    if (this.#allowed === Infinity) return true;
    this.#forget(now);
    return this.#inFlight + this.#answered.length < this.#allowed;
  }

  #forget(now: number): void {
    let old = 0;
    while (old < this.#answered.length && this.#answered[old]! <= now - this.#perMs) old++;
    if (old > 0) this.#answered.splice(0, old);
  }

  #release({ throttled, retryAfterMs, unsent }: RateFeedback, sentAt: number): void {
    const now = this.#now();
    this.#lastEnded = now;
    this.#inFlight--;
    if (!unsent) {
      if (this.#allowed !== Infinity || this.#ceiling !== Infinity) this.#answered.push(now);
      this.#count(now);
      if (throttled) this.#throttled(now, retryAfterMs, sentAt);
      else this.#grow(now, sentAt);
    }
    // With no one waiting there is nothing to grant, nor a wake-up to move.
    if (this.#queue.length > 0) this.#pump();
  }

  #count(now: number): void {
    const second = Math.floor(now / 1000);
    for (let s = Math.max(0, this.#historySecond + 1, second - HISTORY_S + 1); s <= second; s++) this.#history[s % HISTORY_S] = 0;
    this.#historySecond = Math.max(this.#historySecond, second);
    this.#history[second % HISTORY_S]!++;
  }

  /**
   * The answers of the last `perMs` as #history counted them, each taken as come at the end of its second
   * (or with the last answer): no earlier than it came, so that none leaves the window before it has. The
   * newest `count` at most: older ones leave the window first, and never decide when there is room (an
   * hour unlimited at thousands a second would be millions).
   */
  #answeredWithin({ count, perMs }: RateLimit): number[] {
    const now = this.#now();
    const answered: number[] = [];
    const last = Math.min(Math.floor(now / 1000), this.#historySecond);
    const first = Math.max(0, Math.floor((now - perMs) / 1000), last - HISTORY_S + 1);
    for (let s = last; s >= first && answered.length < count; s--) {
      const at = Math.min((s + 1) * 1000, this.#lastEnded);
      for (let n = Math.min(this.#history[s % HISTORY_S]!, count - answered.length); n > 0; n--) answered.push(at);
    }
    return answered.reverse();
  }

  #throttled(now: number, retryAfterMs: number | undefined, sentAt: number): void {
    this.#throttledAnswers++;
    const news = sentAt > this.#decidedAt;
    if (news) this.#throttledInARow++;
    // Retry-After is the least the cloud asks for. While 429s go on the pause doubles all the same: each comes
    // in the first window after a pause, which keeps the rate, and a cloud refusing every request with
    // Retry-After: 1 would be sent half the limit each second for as long as it refused.
    const own = FIRST_PAUSE_MS * 2 ** (this.#throttledInARow - 1);
    const begins = now >= this.#pausedUntil;
    const forMs = Math.min(Math.max(retryAfterMs ?? 0, own), MAX_PAUSE_MS);
    const lengthens = !begins && now + forMs - this.#pausedUntil >= LENGTHENED_MS;
    this.#pausedUntil = Math.max(this.#pausedUntil, now + forMs);
    this.#lastGrowth = this.#pausedUntil;
    // The pause as decided, not `#pausedUntil - now`: performance.now() has fractions of a millisecond, and
    // (now + 60000) - now can come back as 60000.00000000001, which `check` counted up to "1m01s".
    if (begins || lengthens) for (const listener of this.#pauseListeners) listener({ forMs, retryAfterMs });
    if (!news) return;
    const rated = sentAt >= this.#ratedFrom;
    this.#decidedAt = now;
    this.#ratedFrom = this.#pausedUntil + this.#perMs;
    if (!rated) return;
    this.#forget(now);
    const sent = this.#answered.length + this.#inFlight;
    const allowed = Math.max(1, Math.floor(Math.min(this.#allowed, sent) / 2));
    if (allowed < this.#allowed) {
      const fields = { pauseMs: this.#pausedUntil - now, requestsPerWindow: allowed, windowMs: this.#perMs };
      const said = this.#throttlingSaidAt !== null && now - this.#throttlingSaidAt < THROTTLING_RESAID_MS;
      if (said) this.#logger.debug(fields, 'the cloud throttles our requests again (429)');
      else {
        this.#throttlingSaidAt = now;
        this.#logger.warn(fields, 'the cloud throttles our requests (429): pausing, then sending fewer until it stops');
      }
      this.#allowed = allowed;
    }
  }

  #grow(now: number, sentAt: number): void {
    if (now < this.#pausedUntil) return;
    // An answer to a request sent before the last 429 that was news says nothing of the 429s having
    // stopped, however late it comes: a slow one reset the doubling while the cloud went on refusing.
    if (sentAt > this.#decidedAt) this.#throttledInARow = 0;
    if (this.#allowed >= this.#ceiling || now - this.#lastGrowth < this.#perMs) return;
    this.#lastGrowth = now;
    const next = this.#allowed + Math.max(1, Math.ceil(this.#allowed / 4));
    // Without a configured ceiling, a rate that doubled since the 429 is the cloud's to limit again.
    this.#allowed = this.#ceiling === Infinity && next >= this.#answered.length * 2 + 2 ? Infinity : Math.min(next, this.#ceiling);
    if (this.#allowed !== this.#ceiling) return;
    this.#throttlingSaidAt = null;
    this.#logger.info({ windowMs: this.#perMs }, 'request rate back to its limit after throttling');
  }

  /** Grants queued requests while there is room, then sleeps until room is due. */
  #pump(): void {
    clearTimeout(this.#wakeup);
    this.#wakeup = undefined;
    const now = this.#now();
    while (this.#queue.length > 0 && this.#free(now)) {
      this.#inFlight++;
      this.#queue.shift()!(now);
    }
    if (this.#queue.length === 0) {
      this.#holdTold = false;
      return;
    }
    // Room comes when the pause ends, when the oldest answer leaves the window, or with an answer (which pumps).
    const at = now < this.#pausedUntil ? this.#pausedUntil : this.#answered.length > 0 ? this.#answered[0]! + this.#perMs : undefined;
    if (at === undefined) return;
    if (!this.#holdTold && now >= this.#pausedUntil && this.#allowed === this.#ceiling) {
      this.#holdTold = true;
      for (const listener of this.#holdListeners) listener({ forMs: at - now });
    }
    this.#wakeup = setTimeout(() => this.#pump(), Math.max(1, at - now + 1));
  }
}
