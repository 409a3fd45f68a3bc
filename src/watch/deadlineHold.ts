// A timeout cannot be taken back: it is notified once, and the watch is never polled again. A reload
// that shortens a watch's deadline may come from a file read half-written (a writer that paused for longer
// than the daemon waits), whose last watch lost its `deadline:` to poll.deadline's default. So a shortened
// deadline counts only once the file has held still until the next look at it; until then the watch keeps
// the deadline it had. A longer one counts at once: the worst it does is wait a check longer.
import type { WatchTarget } from './kinds/types.ts';
import { watchKey } from './kinds/index.ts';

/** A watch whose reloaded deadline is held back, and the two deadlines. */
export interface HeldDeadline {
  target: WatchTarget;
  /** The deadline in force, from the last file that held. */
  keptMs: number;
  /** The reloaded file's, in force once that file holds. */
  reloadedMs: number;
}

export class DeadlineHold {
  /**
   * The watches of the last file that held still. Kept as they are (the engine holds the same objects) and
   * looked up only at a reload: a map of their deadlines kept between reloads would cost a key string per
   * watch for as long as the daemon runs.
   */
  #confirmed: readonly WatchTarget[];

  get confirmed(): readonly WatchTarget[] {
    return this.#confirmed;
  }

  /** `targets`: the watches of a file read at start, trusted as they are. */
  constructor(targets: readonly WatchTarget[]) {
    this.#confirmed = targets;
  }

  /**
   * The reloaded `targets` as the engine is to poll them: each whose deadline is shorter than it was in the
   * last file that held keeps that one, and is listed in `held`. A watch that file did not list (a new one)
   * has nothing to keep.
   */
  apply(targets: readonly WatchTarget[]): { targets: WatchTarget[]; held: HeldDeadline[] } {
    const confirmed = new Map(this.#confirmed.map((t) => [watchKey(t), t.deadlineMs]));
    const held: HeldDeadline[] = [];
    const polled = targets.map((target) => {
      const keptMs = confirmed.get(watchKey(target));
      if (keptMs === undefined || target.deadlineMs >= keptMs) return target;
      held.push({ target, keptMs, reloadedMs: target.deadlineMs });
      return { ...target, deadlineMs: keptMs };
    });
    return { targets: polled, held };
  }

  /** The file that `targets` came from was found unchanged at a later look: its deadlines are in force. */
  confirm(targets: readonly WatchTarget[]): void {
    this.#confirmed = targets;
  }
}
