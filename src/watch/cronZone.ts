// node-cron (4.6) reads a schedule in the process's local zone, and in one with daylight saving time it
// fails at the autumn change: measured with TZ=Europe/Berlin on 2026-10-25, a schedule of every 15 s ran
// no pass from 01:59:45 CEST to 03:00 CET (two hours), spent 20 s of CPU looking for its next tick, then
// reported ticks missed. Its `timezone: 'UTC'` option did no better: the process's zone still counts. A
// schedule that names no hour, day or month means the same in every zone, so the process runs in UTC
// for it; one that names hours is read in the zone the process was given.

import { namesNoHourDayOrMonth } from '../config/fields.ts';

/**
 * The TZ that UTC replaced, while it does: a reload to a schedule that names hours puts it back. With what
 * {@link daylightSavingZone} said of the zone it named (for a TZ unset, the system's), which the process no
 * longer tells while TZ is UTC.
 */
let replaced: { tz: string | undefined; daylightSaving: DaylightSaving | null } | null = null;

/** A zone with daylight saving time, and the local hours its clocks repeat or skip at their changes. */
export interface DaylightSaving {
  zone: string;
  /** In the year from now, ascending: 2 for Europe/Berlin (02:00 to 03:00 CEST skipped, 02:00 to 03:00 CET repeated). */
  changedHours: number[];
}

/**
 * Sets the process's zone for `schedule` and returns the one to give node-cron, always by name: what it
 * reads with none given, it caches in the zone of that moment. A schedule run in UTC makes no `Intl` object
 * here (the bundle's node-cron makes none for UTC either, scripts/bundleRules.ts): the first one pages in
 * ICU's data, 7-8 MB of the daemon's resident memory.
 */
export function cronZone(schedule: string): string {
  if (namesNoHourDayOrMonth(schedule)) {
    if (replaced === null || process.env['TZ'] !== 'UTC') replaced = { tz: process.env['TZ'], daylightSaving: ownZoneDaylightSaving() };
    process.env['TZ'] = 'UTC';
    return 'UTC';
  }
  if (replaced !== null && process.env['TZ'] === 'UTC') {
    if (replaced.tz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = replaced.tz;
  }
  replaced = null;
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The zone a schedule that names hours would be read in (the process's, or the one UTC replaced for a
 * schedule that names none), when it has daylight saving time. Null for a zone without it.
 */
export function daylightSavingZone(): DaylightSaving | null {
  return replaced !== null && process.env['TZ'] === 'UTC' ? replaced.daylightSaving : ownZoneDaylightSaving();
}

/** The TZ a schedule that names hours is read in: the process's, or the one UTC replaced for a schedule that names none. */
export function givenZone(): string | undefined {
  return replaced !== null && process.env['TZ'] === 'UTC' ? replaced.tz : process.env['TZ'];
}

/** The process's own zone, when its offsets in January and July differ: by Date's offsets, which make no Intl object. */
function ownZoneDaylightSaving(): DaylightSaving | null {
  const year = new Date().getFullYear();
  if (new Date(year, 0, 1).getTimezoneOffset() === new Date(year, 6, 1).getTimezoneOffset()) return null;
  return { zone: process.env['TZ'] || "the system's zone", changedHours: changedHours() };
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
// A zone's clocks stay changed for months: looked at once a day, then minute by minute in the day that changed.
const CHANGE_LOOKED_FOR_EVERY_MS = 24 * HOUR_MS;

/**
 * The local hours the process's zone repeats or skips at its clock changes in the year from now. A change
 * at an instant skips (forward) or repeats (back) the local times between that instant on the clock before
 * and on the clock after: the hours of those are the ones in which node-cron misses passes.
 */
function changedHours(): number[] {
  const hours = new Set<number>();
  // On the minute, as the changes are: a change found seconds late would reach into the hour after it.
  const now = Date.now();
  const from = now - (now % MINUTE_MS);
  let offset = new Date(from).getTimezoneOffset();
  for (let at = from + CHANGE_LOOKED_FOR_EVERY_MS; at <= from + 366 * 24 * HOUR_MS; at += CHANGE_LOOKED_FOR_EVERY_MS) {
    const after = new Date(at).getTimezoneOffset();
    if (after === offset) continue;
    let change = at - CHANGE_LOOKED_FOR_EVERY_MS;
    while (new Date(change).getTimezoneOffset() !== after) change += MINUTE_MS;
    // Local time as epoch ms in UTC: getTimezoneOffset is how far UTC is ahead of the local clock.
    const localBefore = change - offset * MINUTE_MS;
    const localAfter = change - after * MINUTE_MS;
    const first = Math.min(localBefore, localAfter);
    const last = Math.max(localBefore, localAfter) - 1;
    for (let hour = first - (first % HOUR_MS); hour <= last; hour += HOUR_MS) hours.add(new Date(hour).getUTCHours());
    offset = after;
  }
  return [...hours].sort((a, b) => a - b);
}
