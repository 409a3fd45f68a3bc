import type { Logger } from '../observability/logger.ts';
import { CLOCK_STEP_MS } from '../watch/clockSteps.ts';
import { clockApart } from '../watch/format.ts';

/** One answer's `Date` a minute is enough to follow a clock that drifts, and costs a poll nothing. */
const SAMPLE_EVERY_MS = 60_000;
/**
 * From this far apart the clocks are told of and allowed for. Below, the difference is left alone: the
 * header counts whole seconds and an answer takes its time to come, so a measure is good to a second or
 * two, and a deadline or a warnAfter is minutes; a verdict that moved with every measure would differ
 * between two daemons watching the same action.
 */
export const CLOCKS_APART_MS = 30_000;
/**
 * Clocks allowed for as apart agree again only below this, and only when two measures in a row (two
 * minutes) are: a measure is good to a second or two, and clocks about 30 s apart would otherwise be apart
 * and agreeing by turns, a measure a minute, said so each time, with the verdicts moving 30 s to and fro;
 * so would answers that come by turns from two controllers 20 s and 40 s ahead, whose 20 s between is less
 * than the step of a clock (30 s) by which hostClock.ts finds clocks that answer by turns.
 */
const AGREE_AGAIN_MS = CLOCKS_APART_MS - 5000;

/**
 * How far the cloud's clock is ahead of this host's (behind: negative), from the `Date` header of the
 * API's answers, which every origin server sends (RFC 9110 6.6.1). The cloud stamps an action's and a
 * job's times, the host when tracking began and what time it is now: a deadline or an early warning that
 * compares the two would be off by as much as the clocks are (a host 10 min behind judged a reboot done in
 * a minute as ended 11 min after tracking began). Said in the log when the clocks are 30 s apart or more,
 * and again once they agree.
 */
export class CloudClock {
  /** Which cloud's clock (its API's origin): a measure kept in the state is of this one only. */
  readonly name: string;
  readonly #log: Logger;
  #nextSampleAt = -Infinity;
  #measuredMs: number | undefined;
  /** The measure before the last, on this host's clock as it now is (hostSet): see AGREE_AGAIN_MS. */
  #priorMs: number | undefined;
  /** The clocks are allowed for as apart: not `#aheadMs !== 0`, which a measure of 0 while apart gives. */
  #apart = false;
  #aheadMs = 0;
  /** Whether the log last said the clocks are apart: it says so, and that they agree again, once each. */
  #saidApart = false;
  /**
   * The last answer's Date, when it came (this host's clock and the monotonic one), and the first less the
   * second then: kept at every answer (parsed only when asked), so that a step of this host's clock can be
   * judged by the first answer after it.
   */
  #lastDate: string | undefined;
  #lastAt = 0;
  #lastMono = 0;
  #lastOn = 0;
  /** When the answer the last sample took came (the monotonic clock): retake() of the same one replaces it. */
  #sampledMono: number | undefined;
  /** Measures the answers go between by turns, and how near a measure is to be one of them (byTurns). */
  #turns: { readonly measures: readonly number[]; readonly slackMs: number } | undefined;

  constructor(log: Logger, name: string) {
    this.#log = log;
    this.name = name;
  }

  /**
   * An answer's `Date` header, and this host's time when the answer came. `now` takes it as a measure
   * whenever the last was: a refusal (401) may be a signature the cloud's clock, set since, finds expired.
   */
  observe(date: string | string[] | undefined, receivedAt: number, now = false): void {
    if (typeof date !== 'string') return;
    // Timed on the monotonic clock: this host's clock set back an hour must not hold the next measure back an hour.
    const mono = performance.now();
    this.#lastDate = date;
    this.#lastAt = receivedAt;
    this.#lastMono = mono;
    this.#lastOn = receivedAt - mono;
    if (!now && mono < this.#nextSampleAt) return;
    const measured = measureOf(date, receivedAt);
    if (measured === undefined) return;
    this.#nextSampleAt = mono + SAMPLE_EVERY_MS;
    this.#sampledMono = mono;
    this.#take(measured);
  }

  /**
   * What the last answer measures, when it came after `sinceMono` (the monotonic time of the last look
   * before a step) and on this host's clock as it is now, after the step: undefined if none has, or its
   * Date is no date. Both, because a sleep moves this host's clock from the monotonic one as a setting
   * does: set back 30 s and then asleep 30 s, the clock is as far from the monotonic one as before either.
   */
  sinceStep(sinceMono: number): number | undefined {
    if (this.#lastDate === undefined || this.#lastMono <= sinceMono) return undefined;
    if (Math.abs(Date.now() - performance.now() - this.#lastOn) >= CLOCK_STEP_MS / 2) return undefined;
    return measureOf(this.#lastDate, this.#lastAt);
  }

  /**
   * Takes a measure sinceStep() gave, after a step of this host's clock (hostSet() first), as the one in
   * force. The last answer may have been sampled already, before the step was seen: then it replaces that
   * measure, and is compared with the one before, which was taken before the step and moved with it.
   */
  retake(measured: number): void {
    this.#nextSampleAt = performance.now() + SAMPLE_EVERY_MS;
    const sampled = this.#sampledMono === this.#lastMono;
    this.#sampledMono = this.#lastMono;
    this.#take(measured, true, sampled ? this.#priorMs : this.#measuredMs);
  }

  /**
   * This host's clock was set by `setMs` (ClockSteps), the cloud's not: the measures move by as much now,
   * rather than at the next sample, so that no verdict in between reads the cloud's times a step off, and
   * the next answer is measured at once. The one before the last moves too: a host put right into agreement
   * with the cloud agrees at once, not a measure later. Not said: the next answer tells.
   */
  hostSet(setMs: number): void {
    this.#nextSampleAt = -Infinity;
    if (this.#measuredMs !== undefined) this.#take(this.#measuredMs - setMs, false, this.#priorMs === undefined ? undefined : this.#priorMs - setMs);
  }

  /**
   * The answers come from two clocks by turns, measured `measures` (HostClock found them, and said so): a
   * move between them is not said, apart or agreeing again at every other measure.
   */
  byTurns(measures: readonly number[], slackMs: number): void {
    this.#turns = { measures, slackMs };
  }

  #take(measured: number, say = true, previous = this.#measuredMs): void {
    this.#priorMs = previous;
    this.#measuredMs = measured;
    const agrees = (ms: number) => Math.abs(ms) < AGREE_AGAIN_MS;
    // With no measure before it (the first one, moved by hostSet() or taken again by retake()), it says so alone.
    const apart = this.#apart ? !(agrees(measured) && agrees(previous ?? measured)) : Math.abs(measured) >= CLOCKS_APART_MS;
    this.#apart = apart;
    // Apart, a measure below 25 s is allowed for as it is too, not held at the last one above: it is the best
    // word on the clock that answered, and answers by turns from two clocks then move the verdicts by as much
    // as those differ, no more.
    this.#aheadMs = apart ? measured : 0;
    const turns = this.#turns;
    const turn = (measure: number) => turns !== undefined && turns.measures.some((m) => Math.abs(measure - m) < turns.slackMs);
    if (previous !== undefined && turn(previous) && turn(measured)) {
      this.#saidApart = apart;
      return;
    }
    if (!say || apart === this.#saidApart) return;
    // Apart by the measure before alone, which hostSet() moved as the boot clock judged a step, and the cloud's
    // first answer since may judge it no setting (a VM held still): nothing to tell until a measure says so.
    if (apart && agrees(measured)) return;
    this.#saidApart = apart;
    if (apart) {
      this.#log.warn(
        { cloudClockAheadS: Math.round(measured / 1000) },
        `the cloud's clock is ${clockApart(measured)} this host's (the Date of its answers): ` +
          "deadlines and early warnings allow for it; set this host's time right (NTP), or the cloud's",
      );
    } else {
      this.#log.info({ cloudClockAheadS: Math.round(measured / 1000) }, "the cloud's clock and this host's agree again");
    }
  }

  /** What to take from a time the cloud stamped to read it on this host's clock: 0 while the clocks are within 30 s (once apart, 25 s two measures in a row). */
  get aheadMs(): number {
    return this.#aheadMs;
  }

  /** The time now on the cloud's clock, as far as it is allowed for: to compare with a time the cloud stamped. */
  now(): number {
    return Date.now() + this.#aheadMs;
  }

  /** When the answer the last measure is of came (the monotonic clock); undefined before the first. */
  get sampledMono(): number | undefined {
    return this.#sampledMono;
  }

  /** The last measure, whether or not it is allowed for; undefined before the first answer with a `Date`. */
  get measuredMs(): number | undefined {
    return this.#measuredMs;
  }
}

/** How far the cloud's clock is ahead of this host's by one answer's `Date`. The header drops the milliseconds: the middle of its second is the best guess. */
function measureOf(date: string, receivedAt: number): number | undefined {
  const stamped = Date.parse(date);
  return Number.isNaN(stamped) ? undefined : stamped + 500 - receivedAt;
}
