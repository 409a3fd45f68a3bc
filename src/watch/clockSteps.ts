// node-cron sleeps until the time of its next tick on this host's clock, and judges a tick missed by that
// clock: after the clock steps back an hour (an NTP step), no pass would run for that hour; after it jumps
// forward (a step, a VM resumed after hours), it warned of a "missed execution, possible blocking IO" for
// every tick in between. The engine compares that clock with the time it measures passing, so that it can
// say what happened once and schedule its passes afresh from the new time.
//
// A step is also told apart from a sleep. The state keeps times on this host's clock (when tracking began,
// when polls began to fail, when a notification was recorded), and a deadline is the time since one of
// them: a clock set forward 30 min (or set right after running 30 min slow) is no time passed, and would
// end a running action as `timeout`; a machine that slept 30 min did let that time pass.
import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';

/** How often the engine compares the clocks, besides before each judgement. */
export const CLOCK_CHECK_MS = 5_000;
/** This host's clock moved so much more (or less) than the time measured passing: it was set, or the machine slept. */
export const CLOCK_STEP_MS = 30_000;

/**
 * Milliseconds since boot, counting the time the machine slept and not moved by setting the clock: Linux's
 * CLOCK_BOOTTIME, which /proc/uptime reads. (performance.now() stops while the machine sleeps.) Where the
 * system's uptime is counted on the wall clock instead, every step reads as a sleep until the cloud's
 * clock says otherwise (hostClock.ts).
 */
export type BootClock = () => number;
export const bootClock: BootClock = () => uptime() * 1000;

/**
 * The boot the boot clock counts from (Linux's boot_id, new at every boot): a boot clock read before a
 * restart of the daemon is comparable with one read after only within the same boot. Null elsewhere.
 */
export function thisBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export interface ClockStep {
  /** How far this host's clock moved beyond the time measured passing (negative: back). */
  movedMs: number;
  /** Of which the machine slept: time that did pass. */
  sleptMs: number;
  /** The rest: the clock was set (forward, or back when negative); no time passed. */
  setMs: number;
}

export class ClockSteps {
  readonly #boot: BootClock;
  /** This host's clock less the monotonic one at the last look. */
  #offset: number;
  /** The boot clock less the monotonic one, which grows by the time slept, at its last read. */
  #sleepBase: number;
  #sleepReadAt: number;

  constructor(boot: BootClock = bootClock) {
    this.#boot = boot;
    this.#sleepReadAt = performance.now();
    this.#offset = Date.now() - this.#sleepReadAt;
    this.#sleepBase = this.#boot() - this.#sleepReadAt;
  }

  /**
   * The step of this host's clock since the last look, or null when it kept time. Two reads of the clocks:
   * cheap enough before every judgement. The boot clock (a file read) is read when the clock moved (a
   * second or more), and every CLOCK_CHECK_MS, so that short sleeps are not added up into a long one.
   */
  look(): ClockStep | null {
    const mono = performance.now();
    const offset = Date.now() - mono;
    const movedMs = offset - this.#offset;
    this.#offset = offset;
    const stepped = Math.abs(movedMs) >= CLOCK_STEP_MS;
    // A move short of a step (a short sleep) is let go here: the boot clock is read with it, or the time
    // slept would be counted again at a step soon after, which it would then seem set back by.
    if (!stepped && Math.abs(movedMs) < 1000 && mono - this.#sleepReadAt < CLOCK_CHECK_MS) return null;
    const sleepBase = this.#boot() - mono;
    const slept = sleepBase - this.#sleepBase;
    this.#sleepBase = sleepBase;
    this.#sleepReadAt = mono;
    if (!stepped) return null;
    // The boot clock counts hundredths of a second: a second either way is no setting of the clock.
    const setMs = Math.abs(movedMs - slept) < 1000 ? 0 : movedMs - slept;
    return { movedMs, sleptMs: movedMs - setMs, setMs };
  }
}
