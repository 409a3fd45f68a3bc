import { readWatchFileOrThrow } from '../config/load.ts';
import { readSettled, type SettledText } from '../files/settledRead.ts';
import { formatDuration } from '../watch/format.ts';

/**
 * How long the watch file must go without a change before `run` reads it. Longer than the pauses of a
 * writer that works in pieces (a script writing line by line, `echo >>` after `echo >>`, a scp whose link
 * stalls for a few hundred ms); shorter than the 2 s between looks at the file, so that a reload comes no
 * later than it did without the wait: a write's mtime dates it, so a look that comes a second or more after
 * the last write reads at once. Measured, write to reload applied over 2 x 24 edits: 0.01-2.0 s (means 1.05
 * and 1.01 s) before, 1.0-2.0 s (means 1.32 and 1.19 s) with it; a start on a file written just before it
 * waits for the rest of its second (1.2-1.5 s to "started" against 0.5-0.6 s), on one saved earlier not.
 */
const SETTLE_MS = 1000;

/**
 * How long `run` waits for such a pause before it stops waiting: a file that never pauses (a log written to
 * it, a loop rewriting it) is then reported rather than waited on for ever, and read as it is at start.
 * A copy that runs longer (16 MiB, the most a watch file may hold, at under 550 KB/s) is reported too, and
 * read once it ends.
 */
const MAX_SETTLE_WAIT_MS = 30_000;

/** The watch file's text once it has stopped changing (see readSettled); one that cannot be read is a ConfigError. */
export function readSettledWatchFile(path: string, signal: AbortSignal): Promise<SettledText> {
  return readSettled(path, readWatchFileOrThrow, { settleMs: SETTLE_MS, maxWaitMs: MAX_SETTLE_WAIT_MS, signal });
}

/** What to say of a watch file that never went SETTLE_MS without a change within MAX_SETTLE_WAIT_MS. */
export function keptChanging(): string {
  return `kept changing for ${formatDuration(MAX_SETTLE_WAIT_MS)} without ${formatDuration(SETTLE_MS)} unchanged (is something writing to it all the time, such as a log?)`;
}
