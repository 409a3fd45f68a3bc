// Is the poll loop stuck? /healthz answers while the event loop runs, which a pass that never ends does
// not stop: a save on a volume that hangs (an NFS server gone), or a promise of ours that never settles,
// leaves the daemon answering its probes while it polls nothing and notifies nothing. So does a schedule
// whose timer is lost between passes: cron libraries are reported to stop firing without a word after
// days (node-cron's heartbeat is a chain of timeouts that a throw ends). Pure.
import type { RateLimit } from '../cloud/rateLimiter.ts';
import { formatDuration } from './format.ts';

/** However fast the cloud and the schedule, a pass is given this long without a sign of work. */
export const STUCK_FLOOR_MS = 10 * 60_000;

/**
 * The longest a running pass may go without a sign of work (a poll ended, a request to the cloud ended)
 * when nothing is wrong: a request takes up to `cloud.timeout`, waits up to one window of the rate limit
 * (a 429 can bring it down to one request a window) and a minute of a 429's pause, and a retry's backoff
 * is seconds. Twice that, and never less than the floor: a restart for nothing costs the polls in flight.
 */
export function stuckAfterMs(cloudTimeoutMs: number, rateLimit: RateLimit | undefined): number {
  return Math.max(STUCK_FLOOR_MS, 2 * (cloudTimeoutMs + (rateLimit?.perMs ?? 1000) + 60_000));
}

export interface LoopSigns {
  /** When the pass in flight began (performance.now()); null while none runs. */
  passStartedAt: number | null;
  /** When a poll or a request to the cloud last ended; the pass's own start counts as a sign too. */
  lastSignAt: number;
  /** Between passes, when the schedule's next pass is due (performance.now()); null when none is (no schedule, or stopping). */
  nextPassDueAt: number | null;
}

/** Why the loop counts as stuck at `now` (performance.now()), or undefined while it does not. */
export function stuckLoop(signs: LoopSigns, now: number, limitMs: number): string | undefined {
  if (signs.passStartedAt === null) {
    const late = signs.nextPassDueAt === null ? 0 : now - signs.nextPassDueAt;
    if (late <= limitMs) return undefined;
    return `no poll pass has begun for ${formatDuration(late)} after one was due by poll.schedule (more than ${formatDuration(limitMs)}): the schedule's timer was lost, a fault of node-cron or ours`;
  }
  const quiet = now - Math.max(signs.lastSignAt, signs.passStartedAt);
  if (quiet <= limitMs) return undefined;
  return (
    `a poll pass has run for ${formatDuration(now - signs.passStartedAt)}, and no poll or request to the cloud has ended ` +
    `for ${formatDuration(quiet)} (more than ${formatDuration(limitMs)}): a save of the state that hangs (its volume), or a fault of ours`
  );
}
