// A notification cannot be taken back: a verdict or an early warning is sent once, to the notifiers the
// watch names then, alone or in its batch's digest as the watch says then, and a timeout ends the watch for
// good. A reload that changes what a watch says may come from a file read half-written (a writer that
// paused for longer than the daemon waits): the watch it cut lost its later keys, `notify:` (every notifier),
// `batch:` (notified alone), `warnAfter:`, `deadline:` (poll.deadline's), and the watches after it are
// missing (their batch's digest would go out without them). So a watch the last file that held still listed
// keeps what that file said, and stays polled if the reloaded file lacks it, until the reloaded file, too,
// has held still until the next look at it. Two changes count at once: a longer deadline, as the worst it does is wait a check longer; and a
// `notify:` whose kept names the reloaded file's notifiers lack (a notifier renamed), as kept, it would have
// the watch notify nobody.
import type { WatchTarget } from './kinds/types.ts';
import { watchKey } from './kinds/index.ts';
import { formatDuration } from './format.ts';

/** A watch whose reloaded settings, or whose leaving, are held back. */
export interface HeldTarget {
  /** As the reloaded file says, in force once that file holds still; null: the file left it out. */
  reloaded: WatchTarget | null;
  /** As the last file that held still says, in force meanwhile (but for what counts at once). */
  kept: WatchTarget;
  /** The fields held back, as WatchTarget names them. */
  fields: string[];
}

/**
 * The fields in which two targets of the same watch differ. A field left out and one set to undefined are
 * the same (both mean the default); `notify`, the only list, is compared name by name, in order.
 */
export function changedFields(kept: WatchTarget, reloaded: WatchTarget): string[] {
  const a = byName(kept);
  const b = byName(reloaded);
  const changed: string[] = [];
  for (const field in a) if (!sameValue(a[field], b[field])) changed.push(field);
  for (const field in b) if (!(field in a) && b[field] !== undefined) changed.push(field);
  return changed;
}

/** A target's fields by name, as `for...in` and the field lists reach them. */
function byName(target: WatchTarget): Readonly<Record<string, unknown>> {
  return target as unknown as Record<string, unknown>;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, i) => value === b[i]);
  return a === b;
}

/** The watch file's names of the fields WatchTarget resolves. */
const FILE_KEYS: Record<string, string> = { deadlineMs: 'deadline', batchWindowMs: 'batchWindow' };

/**
 * What is held of a watch, for the log, as the watch file writes it: the keys, and their values in force and
 * waiting (durations for people, `off` for a warnAfter turned off; a key left out, its default, is left out).
 */
export function describeHeld({ kept, reloaded, fields }: HeldTarget): { held: string[]; kept: Record<string, unknown> | 'listed'; reloaded: Record<string, unknown> | 'left out' } {
  if (reloaded === null) return { held: ['the watch'], kept: 'listed', reloaded: 'left out' };
  return { held: fields.map((field) => FILE_KEYS[field] ?? field), kept: asInFile(kept, fields), reloaded: asInFile(reloaded, fields) };
}

function asInFile(target: WatchTarget, fields: readonly string[]): Record<string, unknown> {
  const values = byName(target);
  const shown: Record<string, unknown> = {};
  for (const field of fields) shown[FILE_KEYS[field] ?? field] = shownValue(field, values[field]);
  return shown;
}

function shownValue(field: string, value: unknown): unknown {
  // Every number a watch holds is a duration.
  if (typeof value === 'number') return formatDuration(value);
  return field === 'warnAfter' && value === null ? 'off' : value;
}

function countsAtOnce(field: string, kept: WatchTarget, reloaded: WatchTarget, notifiers: ReadonlySet<string>): boolean {
  if (field === 'deadlineMs') return reloaded.deadlineMs > kept.deadlineMs;
  if (field === 'notify') return kept.notify?.some((name) => !notifiers.has(name)) ?? false;
  return false;
}

export class TargetHold {
  /**
   * The watches of the last file that held still. Kept as they are (the engine holds the same objects) and
   * looked up only at a reload: a map of them by key kept between reloads would cost a key string per watch
   * for as long as the daemon runs.
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
   * The reloaded `targets` as the engine is to poll them, `notifiers` being the reloaded file's. One that the
   * last file that held still listed with other settings keeps that file's target (the same object, or a
   * copy with what counts at once), and is listed in `held`. One that file did not list (a new one), listed
   * the same, or changed only in what counts at once, is passed through as it is. One that file listed and
   * the reloaded one lacks is polled on as that file said, and listed in `held` with no `reloaded`.
   */
  apply(targets: readonly WatchTarget[], notifiers: ReadonlySet<string>): { targets: WatchTarget[]; held: HeldTarget[] } {
    const confirmed = new Map(this.#confirmed.map((t) => [watchKey(t), t]));
    const held: HeldTarget[] = [];
    const polled = targets.map((reloaded) => {
      const key = watchKey(reloaded);
      const kept = confirmed.get(key);
      // What is left in the map afterwards, the reloaded file lacks.
      confirmed.delete(key);
      if (kept === undefined) return reloaded;
      const changed = changedFields(kept, reloaded);
      const atOnce = changed.filter((field) => countsAtOnce(field, kept, reloaded, notifiers));
      if (atOnce.length === changed.length) return reloaded;
      held.push({ reloaded, kept, fields: changed.filter((field) => !atOnce.includes(field)) });
      if (atOnce.length === 0) return kept;
      const values = byName(reloaded);
      return { ...kept, ...Object.fromEntries(atOnce.map((field) => [field, values[field]])) } as WatchTarget;
    });
    for (const kept of confirmed.values()) {
      polled.push(kept);
      held.push({ reloaded: null, kept, fields: [] });
    }
    return { targets: polled, held };
  }

  /** The file that `targets` came from was found unchanged at a later look: its settings are in force. */
  confirm(targets: readonly WatchTarget[]): void {
    this.#confirmed = targets;
  }
}
