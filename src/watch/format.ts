// Below two days, hours read as well (25 h: a day's maxAge and an hour more).
const DAYS_FROM_HOURS = 48;

/** Durations for people: 850 ms, 12.3 s, 4 min 5 s, 2 h 10 min, 7 d 3 h. */
export function formatDuration(ms: number): string {
  // The bounds are where rounding reaches the next unit, which says it better (`1 min`, not `60 s`).
  if (ms < 999.5) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    const s = totalSeconds % 60;
    return `${Math.floor(totalSeconds / 60)} min${s ? ` ${s} s` : ''}`;
  }
  // From the milliseconds, not from the seconds already rounded: 1 h 0 min 29.5 s is 1 h, not 1 h 1 min.
  const totalMinutes = Math.round(ms / 60_000);
  if (totalMinutes < DAYS_FROM_HOURS * 60) {
    const m = totalMinutes % 60;
    return `${Math.floor(totalMinutes / 60)} h${m ? ` ${m} min` : ''}`;
  }
  // In days, as a delivery.maxAge or deadline of 7d is written, to the hour: 168 h made the reader divide.
  const totalHours = Math.round(ms / 3_600_000);
  const h = totalHours % 24;
  return `${Math.floor(totalHours / 24)} d${h ? ` ${h} h` : ''}`;
}

/** `10 min ahead of`, `7 min behind`: how one clock stands to another that it is `aheadMs` ahead of (negative: behind). */
export function clockApart(aheadMs: number): string {
  return `${formatDuration(Math.abs(aheadMs))} ${aheadMs > 0 ? 'ahead of' : 'behind'}`;
}

/** The last non-empty line of a Python traceback is the exception: the part people need first. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? '';
}
