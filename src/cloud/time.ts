// Nova (oslo) serialises datetimes without a zone and means UTC; `new Date()` would read such a string as
// local time, so the format is parsed by hand. A zone, when a deployment or proxy adds one, is honoured.
const NOVA_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/i;

/** Reads `2018-04-25T01:26:29.585618` (no zone) as UTC; also accepts a space for `T`, `Z` and `±hh:mm`. */
export function parseNovaTime(s: string): Date {
  const m = NOVA_TIME.exec(s.trim());
  if (m === null) throw new RangeError(`not a Nova timestamp: ${JSON.stringify(s)}`);
  const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms);
  const date = new Date(local);
  // Date.UTC rolls 2018-02-30 over into March; a round trip exposes such impossible dates.
  if (
    date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) ||
    date.getUTCHours() !== Number(h) || date.getUTCMinutes() !== Number(mi) || date.getUTCSeconds() !== Number(sec)
  ) {
    throw new RangeError(`not a valid date: ${JSON.stringify(s)}`);
  }
  if (sign === undefined) return date;
  const offsetMs = (Number(oh) * 60 + Number(om)) * 60_000;
  return new Date(sign === '+' ? local - offsetMs : local + offsetMs);
}

/** parseNovaTime in epoch ms; null for a time that is absent, empty or unreadable, which counts as unknown. */
export function novaTimeMs(text: string | null | undefined): number | null {
  if (typeof text !== 'string' || text.trim() === '') return null;
  try {
    return parseNovaTime(text).getTime();
  } catch {
    return null;
  }
}
