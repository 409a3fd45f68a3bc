// Early warnings: is what a watch follows running for longer than it should? Pure.
import type { WarnAfterTable } from '../config/warnAfter.ts';
import { formatDuration } from './format.ts';
import type { Progress } from './kinds/types.ts';

/** The watch's own `warnAfter` (null: off), else the table's entry for the type, else its `other`. */
export function warnAfterFor(own: number | null | undefined, type: string, table: WarnAfterTable): number | null {
  if (own !== undefined) return own;
  const byType = table.byAction[type];
  return byType === undefined ? table.other : byType;
}

/**
 * Why it counts as slow at `now`, or null while it does not. Timed from its own start as the API tells it
 * (an action's `start_time`, UTC; a job's `begin_time`), not from when tracking began: an action watched
 * late is no slower for it. Nothing is said on a guess: without a start, no warning.
 */
export function slowness(progress: Progress, now: number, warnAfterMs: number): string | null {
  if (progress.subject === null || progress.startedAt === null) return null;
  const running = now - progress.startedAt;
  if (running < warnAfterMs) return null;
  const at = progress.running.length ? `, running ${progress.running.join(', ')}` : '';
  const done = progress.total ? `; ${progress.done}/${progress.total} ${progress.unit} done${at}` : '';
  return `${progress.subject} still running ${formatDuration(running)} after it started (warnAfter ${formatDuration(warnAfterMs)})${done}`;
}
