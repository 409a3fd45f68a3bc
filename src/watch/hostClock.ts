// What the engine does about a step of this host's clock (clockSteps.ts finds it): a setting of the clock
// moves the times the state keeps (and the cloud clock's measure) with it, so that every span counts only
// the time that passed; time that passed (the machine slept, or was held still as a paused VM is) stays.
// The boot clock tells a sleep at once; the cloud's clock, by the `Date` of the first answer after the
// step, tells the rest, and has the last word.
import type { Logger } from 'pino';
import type { CloudClock } from '../cloud/cloudClock.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { StateStore } from '../state/store.ts';
import { CLOCK_STEP_MS, ClockSteps, type BootClock, type ClockStep } from './clockSteps.ts';
import { formatDuration } from './format.ts';

/** How far apart the cloud clock's measures may be and mean the same: the `Date`'s whole seconds, and an answer's time on the way. */
const MEASURE_SLACK_MS = 5000;

/**
 * How much of a step (or of the steps since `before`) was this host's clock set, by the cloud's word: the
 * cloud clock's measure (how far it is ahead of this host's) before less the one after, from the `Date` of
 * its answers. The boot clock cannot tell a machine held still (a VM paused: its clocks, boot clock
 * included, stop, and its time is put right after) from a clock set; the cloud's clock, which went on,
 * can. Its measures are good to a second or two: within 5 s of the boot clock's `bootSetMs`, counted to
 * the hundredth of a second, that one stands, and within 5 s of none, none.
 */
function settingByCloud(bootSetMs: number, before: number, after: number): number {
  const setMs = before - after;
  if (Math.abs(setMs - bootSetMs) < MEASURE_SLACK_MS) return bootSetMs;
  return Math.abs(setMs) < MEASURE_SLACK_MS ? 0 : setMs;
}

export interface HostClockOptions {
  cloud: CloudClock;
  store: Pick<StateStore, 'moveTimes' | 'save'>;
  logger: Logger;
  metrics: Pick<Metrics, 'hostClockSteps'>;
  /** The times the state keeps were moved: what was worked out from them is to be worked out again. */
  onMoved: () => void;
  bootClock?: BootClock | undefined;
}

export class HostClock {
  readonly #o: HostClockOptions;
  readonly #steps: ClockSteps;
  /** The cloud clock's measure before the steps not yet judged by it (undefined: none known). */
  #before: number | undefined;
  /** What the boot clock judged a setting of the clock since `#before`, and moved the times by. */
  #appliedMs = 0;
  /** A step waits for the cloud's judgement: no answer has come since. */
  #open = false;
  /** How far this host's clock moved in the steps that wait for it: counted once judged. */
  #openMovedMs = 0;
  /** When the last look was (the monotonic clock). */
  #lookedAt = performance.now();
  /** When the look before the last step was: an answer that came before it is no answer since the step. */
  #stepLookedAfter = 0;

  constructor(options: HostClockOptions) {
    this.#o = options;
    this.#steps = new ClockSteps(options.bootClock);
  }

  /**
   * The step of this host's clock since the last look, once it is allowed for, or null. Cheap while the
   * clock keeps time: looked at every 5 s and before each judgement.
   */
  look(): ClockStep | null {
    const previousLook = this.#lookedAt;
    this.#lookedAt = performance.now();
    const found = this.#steps.look();
    if (found === null) {
      if (this.#open) this.#judgeByCloud();
      else this.#before = this.#o.cloud.measuredMs;
      return null;
    }
    this.#stepLookedAfter = previousLook;
    const after = this.#before === undefined ? undefined : this.#o.cloud.sinceStep(previousLook);
    const setMs = after === undefined ? found.setMs : settingByCloud(this.#appliedMs + found.setMs, this.#before!, after) - this.#appliedMs;
    const step = { movedMs: found.movedMs, sleptMs: found.movedMs - setMs, setMs };
    this.#move(setMs, after);
    if (after === undefined && this.#before !== undefined) {
      this.#appliedMs += setMs;
      this.#openMovedMs += found.movedMs;
      this.#open = true;
    } else {
      this.#count(step);
    }
    this.#o.logger.warn({ movedMs: Math.round(step.movedMs), sleptMs: Math.round(step.sleptMs), setMs: Math.round(step.setMs) }, stepMessage(step));
    return step;
  }

  /** The first answer since a step the boot clock judged: the cloud's clock says how much of it was a setting. */
  #judgeByCloud(): void {
    const after = this.#o.cloud.sinceStep(this.#stepLookedAfter);
    if (after === undefined) return;
    const judgedMs = this.#appliedMs;
    const setMs = settingByCloud(judgedMs, this.#before!, after);
    this.#count({ movedMs: this.#openMovedMs, sleptMs: this.#openMovedMs - setMs, setMs });
    this.#move(setMs - judgedMs, after);
    if (setMs !== judgedMs) this.#o.logger.warn({ setMs: Math.round(setMs), judgedMs: Math.round(judgedMs) }, revisionMessage(setMs, judgedMs));
  }

  /**
   * Moves the state's times by `byMs`, and the cloud clock's measure: to `after`, the measure of an answer
   * since the step, or else by as much as this host's clock was set.
   */
  #move(byMs: number, after: number | undefined): void {
    if (byMs !== 0) {
      this.#o.store.moveTimes(byMs);
      // Saved now rather than at the end of the pass: a restart reads what it finds, not knowing of the step.
      // One that fails is reported by the pass's own save.
      this.#o.store.save().catch(() => undefined);
      this.#o.onMoved();
    }
    if (after === undefined) {
      if (byMs !== 0) this.#o.cloud.hostSet(byMs);
      return;
    }
    this.#o.cloud.retake(after);
    this.#before = after;
    this.#appliedMs = 0;
    this.#openMovedMs = 0;
    this.#open = false;
  }

  /** A step judged for good, by the cloud's clock or (with no measure of it) by the boot clock alone. */
  #count({ sleptMs, setMs }: ClockStep): void {
    if (Math.abs(setMs) >= CLOCK_STEP_MS / 2) this.#o.metrics.hostClockSteps.inc({ kind: 'set' });
    if (sleptMs >= CLOCK_STEP_MS / 2) this.#o.metrics.hostClockSteps.inc({ kind: 'passed' });
  }
}

const SCHEDULE = 'the poll schedule starts again from the new time';
const COUNTS = 'deadlines, early warnings, batch windows and delivery.maxAge';
const direction = (ms: number) => `${ms < 0 ? 'back' : 'forward'} ${formatDuration(Math.abs(ms))}`;

/** What a step of this host's clock means for the watches, said once at warn. */
function stepMessage({ movedMs, sleptMs, setMs }: ClockStep): string {
  const set = `this host's clock was set ${direction(setMs)}: the times the state keeps moved with it, so that ${COUNTS} count only the time that passed`;
  // Within what the clocks can tell, no time passed.
  if (Math.abs(sleptMs) < CLOCK_STEP_MS / 2) return `${set}; ${SCHEDULE}`;
  const held = '(the machine slept, or was held still as a paused VM is)';
  if (setMs === 0) return `this host's clock jumped forward ${formatDuration(movedMs)} with the time that passed ${held}: ${SCHEDULE}; ${COUNTS} count it as time passed`;
  return (
    `this host's clock moved ${direction(movedMs)}: ${formatDuration(sleptMs)} of time that passed ${held}, and the clock set ${direction(setMs)}; ` +
    `${SCHEDULE}; ${COUNTS} count the ${formatDuration(sleptMs)} as time passed, and the times the state keeps moved with the setting`
  );
}

/** The cloud's clock judged a step otherwise than the boot clock did. */
function revisionMessage(setMs: number, judgedMs: number): string {
  const judged = judgedMs === 0 ? 'not set' : `set ${direction(judgedMs)}`;
  const found = setMs === 0 ? 'the time was passing (the machine held still, as a paused VM is), not a setting of the clock' : `it was set ${direction(setMs)}`;
  return `the cloud's clock, by the Date of its first answer since this host's clock stepped, says ${found}, where this machine's boot clock said ${judged}: the times the state keeps are moved by ${formatDuration(Math.abs(setMs - judgedMs))} ${setMs < judgedMs ? 'back' : 'forward'} to match`;
}
