// node-cron sleeps until the time of its next tick on this host's clock, and judges a tick missed by that
// clock: after the clock steps back an hour (an NTP step), no pass would run for that hour; after it jumps
// forward (a step, a VM resumed after hours), it warned of a "missed execution, possible blocking IO" for
// every tick in between. The engine compares that clock with the time it measures passing, so that it can
// say what happened once and schedule its passes afresh from the new time.

/** How often the two clocks are compared. */
export const CLOCK_CHECK_MS = 5_000;
/** This host's clock moved so much more (or less) than the time measured passing: it was set, or the machine slept. */
export const CLOCK_STEP_MS = 30_000;

export class ClockSteps {
  #offset = Date.now() - performance.now();

  /** How far this host's clock was stepped since the last look (ms; negative: back), or null when it kept time. */
  look(): number | null {
    const offset = Date.now() - performance.now();
    const moved = offset - this.#offset;
    this.#offset = offset;
    return Math.abs(moved) >= CLOCK_STEP_MS ? moved : null;
  }
}
