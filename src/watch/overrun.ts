/**
 * Whether passes outlast `poll.schedule`. node-cron skips a tick that comes while a pass runs and would
 * warn at every one (each second at ten thousand watches on a one-second schedule); an operator needs
 * to hear it once when it starts and once when it stops.
 */
export type OverrunNews =
  /** `failedPolls`: of the pass that ended, which failed after their retries, whose backoff made it long. */
  | { readonly kind: 'started'; readonly passMs: number; readonly skipped: number; readonly failedPolls: number }
  | { readonly kind: 'ended'; readonly passMs: number };

export class PassOverrun {
  #skipped = 0;
  #failedPolls = 0;
  #reported = false;

  /** A scheduled pass was skipped because the last one still ran. */
  skipped(): void {
    this.#skipped += 1;
  }

  /** A poll of the pass in flight failed, after its retries. */
  pollFailed(): void {
    this.#failedPolls += 1;
  }

  /** A pass ended after `passMs`: what, if anything, the operator should now be told. */
  passEnded(passMs: number): OverrunNews | undefined {
    const skipped = this.#skipped;
    const failedPolls = this.#failedPolls;
    this.#skipped = 0;
    this.#failedPolls = 0;
    if (skipped > 0 && !this.#reported) {
      this.#reported = true;
      return { kind: 'started', passMs, skipped, failedPolls };
    }
    if (skipped === 0 && this.#reported) {
      this.#reported = false;
      return { kind: 'ended', passMs };
    }
    return undefined;
  }
}
