// What the engine does about a step of this host's clock (clockSteps.ts finds it): a setting of the clock
// moves the times the state keeps (and the cloud clock's measure) with it, so that every span counts only
// the time that passed; time that passed (the machine slept, or was held still as a paused VM is) stays.
// The boot clock tells a sleep at once; the cloud's clock, by the `Date` of the first answer after the
// step, tells the rest, and has the last word.
//
// The same holds across a restart: the state records how its clock stood (the boot clock then, the cloud's
// measure), so that a clock set while the daemon was stopped, or a state brought from a host whose clock is
// apart (a pod rescheduled on another node), is told from the time that passed meanwhile.
import type { Logger } from '../observability/logger.ts';
import type { CloudClock } from '../cloud/cloudClock.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { StateStore } from '../state/store.ts';
import type { ClockRecord } from '../state/types.ts';
import { CLOCK_STEP_MS, ClockSteps, bootClock, thisBootId, type BootClock, type ClockStep } from './clockSteps.ts';
import { formatDuration } from './format.ts';

/** How far apart the cloud clock's measures may be and mean the same: the `Date`'s whole seconds, and an answer's time on the way. */
const MEASURE_SLACK_MS = 5000;
/** How many clocks the cloud's answers may be found to come from by turns: an HA control plane's controllers. */
const MAX_CLOUD_CLOCKS = 8;

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
  store: Pick<StateStore, 'moveTimes' | 'save' | 'clock' | 'setClock' | 'records'>;
  logger: Logger;
  metrics: Pick<Metrics, 'hostClockSteps'>;
  /** The times the state keeps were moved by `byMs` (those from `since` on): what was worked out from them is to be worked out again. */
  onMoved: (byMs: number, since?: number) => void;
  /**
   * The cloud's own clock was set by `byMs`, this host's keeping time, after `since` (this host's clock: when
   * the answer of the measure before came; `sinceMono`, the same on the monotonic clock, undefined when it
   * came before this start): a time it stamped before is on its clock as it stood then.
   */
  onCloudSet: (byMs: number, since: number, sinceMono: number | undefined) => void;
  /** What the last onCloudSet told of, `byMs` forward, was this machine held still, its clock now put right: taken back. */
  onHeldStill: (byMs: number) => void;
  bootClock?: BootClock | undefined;
  /** The boot `bootClock` counts from (clockSteps.ts); by default this machine's. */
  bootId?: string | null | undefined;
}

/**
 * How long after the cloud's measure moved forward a setting of this host's clock as far forward is taken
 * for a hold put right (a paused VM's agent sets its time on resuming; chrony steps it at its next update,
 * at most about 17 min apart by default). Later, the two are unrelated settings, each taken as such: a
 * match of their sizes by chance (two clocks fed by one wrong source, put right at different times) would
 * otherwise count the setting as time passed, and fire deadlines early by as much.
 */
const PUT_RIGHT_WITHIN_MS = 30 * 60_000;

interface HeldStill {
  byMs: number;
  since: number;
  known: ReadonlySet<string>;
  /** When the move was seen (performance.now(), which runs once the machine goes on). */
  seenAt: number;
}

export class HostClock {
  readonly #o: HostClockOptions;
  readonly #steps: ClockSteps;
  readonly #boot: BootClock;
  readonly #bootId: string | null;
  /** The steps that wait for the cloud's judgement began with a start of the daemon: the time it was stopped. */
  #sinceStart = false;
  /** That start could be judged by the cloud's clock alone (after a boot, or on another host): see `judged`. */
  #startUnjudged = false;
  /** The boot clock at this start: see surelyPassedSince. */
  #startedOnBoot: number;
  /** The cloud clock's measure as the state last recorded it. */
  #recordedAheadMs: number | undefined;
  /** The state was recorded while a setting its boot clock found waited for the cloud's word, which the next answer gives. */
  #setUnjudgedAtStart = false;
  /** The cloud clock's measure before the steps not yet judged by it (undefined: none known). */
  #before: number | undefined;
  /** When a look first saw the measure `#before` holds, while it keeps time (this host's clock). */
  #beforeSeenAt = -Infinity;
  /** When the answer `#before` measures came (this host's clock): a setting of the cloud's clock that the next measure finds came after. */
  #beforeTakenAt = -Infinity;
  /** The same on the monotonic clock (CloudClock.sampledMono); undefined for a measure the state kept across a stop. */
  #beforeSampled: number | undefined;
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
  /** The measures the cloud's clock moved from by a step, this host's keeping time, latest first (#cloudMoved). */
  readonly #cloudClocks: number[] = [];
  /** The cloud's answers were found to come from several clocks by turns, and said so (#cloudMoved). */
  #cloudByTurns = false;
  /**
   * The cloud's measure moved forward `byMs` with no step of this host's clock: its clock set, or this
   * machine held still and its clock not put right yet, which a setting of this host's clock as far forward
   * says (#putRight). `since`: when the measure before was first seen, before any hold; `known`: the watches
   * the state kept when the move was seen.
   */
  #heldStill: HeldStill | undefined;

  constructor(options: HostClockOptions) {
    this.#o = options;
    this.#boot = options.bootClock ?? bootClock;
    this.#steps = new ClockSteps(this.#boot);
    this.#startedOnBoot = this.#boot();
    this.#bootId = options.bootId === undefined ? thisBootId() : options.bootId;
    this.#resume(options.store.clock);
  }

  /**
   * What the clock the state's times were kept on says of this host's clock now: one set while the daemon
   * was stopped (or a state kept on another host's clock) moves them as a step does while it runs. The
   * boot clock tells at once within the same boot; the cloud's clock, measured before the stop, by its first
   * answer since, and has the last word. The boot clock's word counts from 30 s, as for a step while
   * running; the cloud's from 5 s, as its measures go (settingByCloud), so that drift over a long stop is
   * put right too.
   */
  #resume(saved: ClockRecord | null): void {
    if (saved?.cloud && saved.cloud.name === this.#o.cloud.name) {
      this.#before = saved.cloud.aheadMs;
      // Still the measure when it was recorded: a setting since came later.
      this.#beforeTakenAt = Date.parse(saved.at);
      this.#recordedAheadMs = saved.cloud.aheadMs;
      this.#open = true;
      this.#sinceStart = true;
      this.#stepLookedAfter = -Infinity;
      this.#setUnjudgedAtStart = saved.unjudgedSetMs !== undefined;
    }
    const boot = saved?.boot;
    const sameBoot = saved != null && boot != null && boot.id === this.#bootId;
    // A start of this boot still waiting for the cloud's word: it goes on, from then.
    const unjudgedBefore = sameBoot ? saved.unjudgedStart : undefined;
    this.#startUnjudged = this.#sinceStart && (!sameBoot || unjudgedBefore !== undefined);
    if (this.#startUnjudged && unjudgedBefore !== undefined) this.#startedOnBoot = unjudgedBefore;
    const setMs = sameBoot ? Date.now() - Date.parse(saved.at) - (this.#boot() - boot.ms) : 0;
    if (Math.abs(setMs) >= CLOCK_STEP_MS) {
      if (this.#open) this.#appliedMs = setMs;
      else this.#count({ movedMs: setMs, sleptMs: 0, setMs });
      this.#move(setMs, undefined);
      this.#o.logger.warn({ setMs: Math.round(setMs) }, `while the daemon was stopped, ${setting(setMs)} (its boot clock says so)${MOVED}`);
    } else if (this.#bootId !== null && !sameBoot) {
      this.#record();
    }
  }

  /**
   * False from a start that only the cloud's clock can judge (after a boot, or on another host) until its
   * first answer: a time the state keeps may be off by a setting of this host's clock while stopped.
   */
  get judged(): boolean {
    return !this.#startUnjudged;
  }

  /**
   * The earliest time (epoch ms, on this host's clock as it is at `now`) since which the time surely
   * passed: any (-Infinity) once judged; until then this start, the boot clock counting the time since,
   * which no setting of the clock moves. An age counted from a time the state keeps counts from no
   * earlier, so that a setting while stopped does not make it older than it is, and it still grows should
   * the cloud never answer.
   */
  surelyPassedSince(now: number): number {
    return this.#startUnjudged ? now - (this.#boot() - this.#startedOnBoot) : -Infinity;
  }

  /**
   * The step of this host's clock since the last look, once it is allowed for, or null. Cheap while the
   * clock keeps time: looked at every 5 s and before each judgement.
   */
  look(): ClockStep | null {
    const previousLook = this.#lookedAt;
    this.#lookedAt = performance.now();
    // Past its while, no setting puts a hold right any more, and the watches it knew need not be kept.
    if (this.#heldStill !== undefined && this.#lookedAt - this.#heldStill.seenAt > PUT_RIGHT_WITHIN_MS) this.#heldStill = undefined;
    const found = this.#steps.look();
    if (found === null) {
      if (this.#open) {
        this.#judgeByCloud();
        return null;
      }
      const measured = this.#o.cloud.measuredMs;
      // Less than a step is this host's clock drifting or set by as little, or the measure's own error: followed.
      if (measured !== undefined && this.#before !== undefined && Math.abs(measured - this.#before) >= CLOCK_STEP_MS) this.#cloudMoved(this.#before, measured);
      if (measured !== this.#before) this.#beforeSeenAt = Date.now();
      this.#before = measured;
      this.#taken();
      if (this.#drifted(measured)) this.#record();
      return null;
    }
    this.#stepLookedAfter = previousLook;
    const held = this.#heldStill;
    this.#heldStill = undefined;
    const after = this.#before === undefined ? undefined : this.#o.cloud.sinceStep(previousLook);
    const setMs = after === undefined ? found.setMs : settingByCloud(this.#appliedMs + found.setMs, this.#before!, after) - this.#appliedMs;
    if (held !== undefined && !this.#open && Math.abs(setMs - held.byMs) < MEASURE_SLACK_MS) return this.#putRight(found, setMs, held, after);
    const step = { movedMs: found.movedMs, sleptMs: found.movedMs - setMs, setMs };
    // Waits for the cloud's word, which has a measure to compare with; the clock's record says so.
    const waits = after === undefined && this.#before !== undefined;
    if (waits) {
      this.#appliedMs += setMs;
      this.#openMovedMs += found.movedMs;
      this.#open = true;
    }
    this.#move(setMs, after);
    if (!waits) this.#count(step);
    this.#o.logger.warn({ movedMs: Math.round(step.movedMs), sleptMs: Math.round(step.sleptMs), setMs: Math.round(step.setMs) }, stepMessage(step));
    return step;
  }

  /** The first answer since a step the boot clock judged: the cloud's clock says how much of it was a setting. */
  #judgeByCloud(): void {
    const after = this.#o.cloud.sinceStep(this.#stepLookedAfter);
    if (after === undefined) return;
    const judgedMs = this.#appliedMs;
    const sinceStart = this.#sinceStart;
    // Within this boot the boot clock saw all the time stopped: where it found no step, the measure moved
    // by one is the cloud's clock set, as while running (look()), not this host's.
    if (sinceStart && !this.#startUnjudged && !this.#setUnjudgedAtStart && judgedMs === 0 && Math.abs(after - this.#before!) >= CLOCK_STEP_MS) {
      const cloudSetMs = after - this.#before!;
      const since = this.#beforeTakenAt;
      this.#move(0, after);
      this.#cloudSet(cloudSetMs, since, undefined, true);
      return;
    }
    const setMs = settingByCloud(judgedMs, this.#before!, after);
    // The time the daemon was stopped is no step: only a setting counts then.
    this.#count({ movedMs: this.#openMovedMs, sleptMs: sinceStart ? 0 : this.#openMovedMs - setMs, setMs });
    this.#move(setMs - judgedMs, after);
    if (setMs === judgedMs) return;
    const fields = { setMs: Math.round(setMs), judgedMs: Math.round(judgedMs) };
    if (sinceStart && judgedMs === 0) {
      this.#o.logger.warn(fields, `${setting(setMs)} while the daemon was stopped, or the state was kept on another host's clock ${clockOff(setMs)}: the cloud's clock says so (the Date of its first answer since the start, against its last before the stop; or it was itself set ${direction(-setMs)} meanwhile, which this host cannot tell apart)${MOVED}`);
    } else {
      this.#o.logger.warn(fields, revisionMessage(setMs, judgedMs, sinceStart ? 'the start' : "this host's clock stepped"));
    }
  }

  /**
   * The cloud's measure moved from `from` to `to` by a step or more, this host's clock keeping time: its
   * clock set (#cloudSet), or, back to a measure it moved from before, several clocks that answer by turns
   * (the controllers behind a load balancer, their clocks apart), whose answers would say it set to and fro
   * at every answer from another. Those are said once, and the moves between them after not at all; each
   * counts as a setting all the same, as the start of an action was seen on the clock of one or another.
   */
  #cloudMoved(from: number, to: number): void {
    this.#heldStill = undefined;
    const clocks = this.#cloudClocks;
    const known = (measure: number) => clocks.findIndex((clock) => Math.abs(clock - measure) < MEASURE_SLACK_MS);
    const back = known(to) !== -1;
    const between = this.#cloudByTurns && back && known(from) !== -1;
    // Latest first, each at its last measure (a controller's clock drifts too), a few at most.
    for (const measure of back ? [to, from] : [from]) {
      const at = known(measure);
      if (at !== -1) clocks.splice(at, 1);
      clocks.unshift(measure);
    }
    clocks.splice(MAX_CLOUD_CLOCKS);
    if (!back) {
      this.#cloudSet(to - from, this.#beforeTakenAt, this.#beforeSampled, false);
      if (to > from) this.#heldStill = { byMs: to - from, since: this.#beforeSeenAt, known: new Set(Array.from(this.#o.store.records(), ([key]) => key)), seenAt: performance.now() };
      return;
    }
    this.#o.onCloudSet(to - from, this.#beforeTakenAt, this.#beforeSampled);
    this.#o.cloud.byTurns(clocks, MEASURE_SLACK_MS);
    if (between || this.#cloudByTurns) return;
    this.#cloudByTurns = true;
    const apartMs = Math.max(...clocks) - Math.min(...clocks);
    this.#o.logger.warn(
      { cloudClocks: clocks.length, cloudClocksApartMs: Math.round(apartMs) },
      `the cloud's answers come from ${clocks.length} clocks up to ${formatDuration(apartMs)} apart by turns (the Date of its answers: controllers behind a load balancer whose clocks differ, most likely), not from one set to and fro: ` +
        "said once, not at each answer from another; the times the state keeps stay as they are, and the early warning of an action counts from its start on the clock that answered when it was seen. Have the cloud's operator set its controllers' clocks right (NTP)",
    );
  }

  /**
   * This host's clock set forward as far as the cloud's measure moved before with no step of it: this machine
   * was held still (a paused VM: its clocks stopped, and only the cloud's went on), and its time is put
   * right now. The time counts as passed, and the times the state keeps from before the hold were on the
   * clock as it now is: only those stamped since, on the clock behind, move with the setting (all of a watch
   * made since the move was seen: auto-tracking's count from an action's start, which may be before the
   * hold); and the cloud's clock was not set after all (#cloudSet's word is taken back). Counted on the
   * cloud's clock as set, a deadline past during the hold held a running action's timeout back by as long as
   * the hold, and its early warning too.
   */
  #putRight(found: ClockStep, setMs: number, held: HeldStill, after: number | undefined): ClockStep {
    this.#o.store.moveTimes(setMs, held.since, held.known);
    this.#o.onMoved(setMs, held.since);
    this.#o.onHeldStill(held.byMs);
    this.#o.cloud.hostSet(setMs);
    if (after !== undefined) this.#o.cloud.retake(after);
    this.#before = this.#o.cloud.measuredMs;
    this.#beforeSeenAt = Date.now();
    this.#taken();
    this.#record();
    this.#o.store.save().catch(() => undefined);
    const step = { movedMs: found.movedMs, sleptMs: found.movedMs, setMs: 0 };
    this.#count(step);
    this.#o.logger.warn(
      { movedMs: Math.round(found.movedMs), setMs: Math.round(setMs) },
      `this host's clock was set ${direction(setMs)}, as far as the cloud's clock had seemed to move: this machine was held still ${formatDuration(held.byMs)} (as a paused VM is) and its time is now put right, not the cloud's clock set: ${SCHEDULE}; ${COUNTS} count the hold as time passed, and the times the state keeps from before it stay as they are (those since moved with the setting)`,
    );
    return step;
  }

  /**
   * The cloud's measure moved by a step or more, this host's clock keeping time: its own clock was set (NTP
   * put right on its side, an answer from another controller whose clock differs). Nothing the state keeps
   * moves; an early warning counts from a start it stamped before on its clock as it stood then. `since`
   * (and `sinceMono`): when the answer of the measure before came, which the setting came after.
   */
  #cloudSet(byMs: number, since: number, sinceMono: number | undefined, whileStopped: boolean): void {
    this.#o.onCloudSet(byMs, since, sinceMono);
    const how = whileStopped
      ? " while the daemon was stopped (the Date of its first answer since the start, against its last before the stop), this host's keeping time by its boot clock"
      : " (the Date of its answers), this host's keeping time";
    // Its clocks, boot clock included, stop while it is held still: only the cloud's went on, as if set forward.
    const held = byMs > 0 ? `, or this machine was held still ${formatDuration(byMs)} (as a paused VM is) and its clock not put right` : '';
    this.#o.logger.warn({ cloudSetMs: Math.round(byMs) }, `the cloud's clock was set ${direction(byMs)}${how}${held}: ${CLOUD_SET}`);
  }

  /**
   * Moves the state's times by `byMs`, and the cloud clock's measures with them, as this host's clock was
   * set; then takes `after`, the measure of an answer since the step, if one came, as the one in force.
   */
  #move(byMs: number, after: number | undefined): void {
    if (byMs !== 0) {
      this.#o.store.moveTimes(byMs);
      this.#o.onMoved(byMs);
    }
    // Judged now: the record says so, or a restart in this boot would wait for the cloud's word again (on
    // this start, or on a setting found before the stop, which it would take for one of this host's clock).
    const judgedNow = after !== undefined && (this.#startUnjudged || (this.#open && this.#appliedMs !== 0));
    if (after === undefined && byMs === 0) return;
    // Moved first: the answer since is compared with the measures before the step (clocks agree again only
    // when two measures in a row do), on this host's clock as it now is.
    if (byMs !== 0) this.#o.cloud.hostSet(byMs);
    if (after !== undefined) {
      this.#o.cloud.retake(after);
      this.#before = after;
      this.#beforeSeenAt = Date.now();
      this.#taken();
      this.#appliedMs = 0;
      this.#openMovedMs = 0;
      this.#open = false;
      this.#sinceStart = false;
    }
    if (after !== undefined) this.#startUnjudged = false;
    if (byMs !== 0 || this.#drifted(after) || judgedNow) this.#record();
    // Saved now rather than at the end of the pass, with the clock's record: a restart reads what it finds,
    // not knowing of the step. One that fails is reported by the pass's own save.
    if (byMs !== 0) this.#o.store.save().catch(() => undefined);
  }

  /** Notes when the answer of the cloud clock's last measure, now `#before`, came. */
  #taken(): void {
    const sampled = this.#o.cloud.sampledMono;
    this.#beforeSampled = sampled;
    this.#beforeTakenAt = sampled === undefined ? Date.now() : Date.now() - (performance.now() - sampled);
  }

  /**
   * The cloud clock's measure is off the one recorded: kept as that clock drifts, not at every measure, so
   * that a pass that changed nothing writes nothing.
   */
  #drifted(measured: number | undefined): boolean {
    return measured !== undefined && !(Math.abs(measured - (this.#recordedAheadMs ?? Infinity)) < MEASURE_SLACK_MS);
  }

  /**
   * Records how the clock the state's times are on stands now: this host's time and the boot clock's, and
   * the cloud clock's measure (while a step waits for the cloud's word, the one before it, moved as the
   * times were). Saved with the next save.
   */
  #record(): void {
    const aheadMs = this.#open ? this.#before! - this.#appliedMs : this.#o.cloud.measuredMs;
    this.#recordedAheadMs = aheadMs;
    // Nothing that a start could compare with: no write.
    if (this.#bootId === null && aheadMs === undefined) return;
    this.#o.store.setClock({
      at: new Date().toISOString(),
      boot: this.#bootId === null ? null : { id: this.#bootId, ms: Math.round(this.#boot()) },
      cloud: aheadMs === undefined ? null : { name: this.#o.cloud.name, aheadMs: Math.round(aheadMs) },
      ...(this.#startUnjudged && this.#bootId !== null ? { unjudgedStart: Math.round(this.#startedOnBoot) } : {}),
      ...(this.#open && this.#appliedMs !== 0 ? { unjudgedSetMs: Math.round(this.#appliedMs) } : {}),
    });
  }

  /** A step judged for good, by the cloud's clock or (with no measure of it) by the boot clock alone. */
  #count({ sleptMs, setMs }: ClockStep): void {
    if (Math.abs(setMs) >= CLOCK_STEP_MS / 2) this.#o.metrics.hostClockSteps.inc({ kind: 'set' });
    if (sleptMs >= CLOCK_STEP_MS / 2) this.#o.metrics.hostClockSteps.inc({ kind: 'passed' });
  }
}

const SCHEDULE = 'the poll schedule starts again from the new time';
const COUNTS = 'deadlines, early warnings, batch windows and delivery.maxAge';
const MOVED = `: the times the state keeps moved with it, so that ${COUNTS} count only the time that passed`;
const CLOUD_SET = "the times the state keeps stay as they are, and the early warning of an action that started before counts from its start on the cloud's clock as it stood then";
const direction = (ms: number) => `${ms < 0 ? 'back' : 'forward'} ${formatDuration(Math.abs(ms))}`;
const setting = (ms: number) => `this host's clock was set ${direction(ms)}`;
const clockOff = (ms: number) => `${formatDuration(Math.abs(ms))} ${ms < 0 ? 'ahead of' : 'behind'} this one's`;

/** What a step of this host's clock means for the watches, said once at warn. */
function stepMessage({ movedMs, sleptMs, setMs }: ClockStep): string {
  const set = `${setting(setMs)}${MOVED}`;
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
function revisionMessage(setMs: number, judgedMs: number, since: string): string {
  const judged = judgedMs === 0 ? 'not set' : `set ${direction(judgedMs)}`;
  const found = setMs === 0 ? 'the time was passing (the machine held still, as a paused VM is), not a setting of the clock' : `it was set ${direction(setMs)}`;
  return `the cloud's clock, by the Date of its first answer since ${since}, says ${found}, where this machine's boot clock said ${judged}: the times the state keeps are moved by ${formatDuration(Math.abs(setMs - judgedMs))} ${setMs < judgedMs ? 'back' : 'forward'} to match`;
}
