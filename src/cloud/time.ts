// Nova (oslo) serialises datetimes without a zone and means UTC; `new Date()` would read such a string as
// local time, so the format is read by hand. A zone, when a deployment or proxy adds one, is honoured.
// Read a character at a time and checked by the calendar's rules rather than by a regex and a Date's
// round trip: a digest's mail text writes five times a failed resize, and that way cost 1.4-3.6 µs a time
// against 0.3-0.6 now (docs/performance.md, "A digest through a template").

/** A time read and checked: `text` trimmed, which starts `YYYY-MM-DDThh:mm:ss` with these fields. */
interface NovaTime {
  text: string;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millis: number;
  /** What to add to the fields to have UTC: 0 without an offset (and for Z or +00:00). */
  offsetMs: number;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isDigit = (code: number) => code >= 48 && code <= 57;

/** The number written by the `count` digits at `at`, or -1 when any of them is not a digit (or is missing). */
function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - 48;
  }
  return value;
}

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/**
 * Reads `2018-04-25T01:26:29.585618` (no zone) as UTC; also a space or `t` for `T`, `Z` or `z`, `±hh:mm` and
 * `±hhmm`, surrounding white space, and a fraction of any length (cut, not rounded, to ms). Null for any
 * other text and for a date or time that does not exist (2018-02-30, 24:00:00, and years below 100, which
 * Date.UTC would read as 19xx).
 */
function readNovaTime(raw: string): NovaTime | null {
  const text = raw.trim();
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const separator = text[10];
  if (
    year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || text[4] !== '-' || text[7] !== '-' ||
    text[13] !== ':' || text[16] !== ':' || (separator !== 'T' && separator !== 't' && separator !== ' ')
  ) {
    return null;
  }
  let at = 19;
  let millis = 0;
  if (text[at] === '.') {
    const from = ++at;
    while (isDigit(text.charCodeAt(at))) at++;
    if (at === from) return null;
    for (let i = from; i < from + 3; i++) millis = millis * 10 + (i < at ? text.charCodeAt(i) - 48 : 0);
  }
  let offsetMs = 0;
  const zone = text[at];
  if (zone === 'Z' || zone === 'z') {
    at++;
  } else if (zone === '+' || zone === '-') {
    const colon = text[at + 3] === ':' ? 1 : 0;
    const hours = digitsAt(text, at + 1, 2);
    const minutes = digitsAt(text, at + 3 + colon, 2);
    if (hours < 0 || minutes < 0) return null;
    offsetMs = (zone === '+' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
    at += 5 + colon;
  }
  const exists =
    year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && hour < 24 && minute < 60 && second < 60;
  return at === text.length && exists ? { text, year, month, day, hour, minute, second, millis, offsetMs } : null;
}

const epochMs = (t: NovaTime) => Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second, t.millis) + t.offsetMs;

/** A Nova time in epoch ms; null for a time that is absent, empty, unreadable or impossible, which counts as unknown. */
export function novaTimeMs(text: string | null | undefined): number | null {
  if (typeof text !== 'string') return null;
  const time = readNovaTime(text);
  return time === null ? null : epochMs(time);
}

/** A Nova time as `Date#toISOString` writes it (UTC, ms); null for a time that is unreadable or impossible. */
export function novaTimeIso(text: string): string | null {
  const time = readNovaTime(text);
  if (time === null) return null;
  if (time.offsetMs !== 0) return new Date(epochMs(time)).toISOString();
  // The fields are UTC's and checked, so they are written as read, without a Date. Joined rather than
  // concatenated: V8 keeps a concatenation as a tree of parts, four times the bytes (216 against 48) for as
  // long as a template's view holds it, and a digest's view holds five for each failed resize.
  return [time.text.slice(0, 10), 'T', time.text.slice(11, 19), '.', String(time.millis).padStart(3, '0'), 'Z'].join('');
}
