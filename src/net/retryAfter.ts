/**
 * An answer's `Retry-After` as milliseconds: delay-seconds, or an HTTP date (RFC 9110 §10.2.3) counted
 * from the answer's own `Date`, the sender's clock, which may be minutes apart from this host's (counted
 * from ours, a gateway 10 minutes behind would get no pause at all, one 10 minutes ahead a pause 10 minutes
 * longer than it meant). Without a `Date` to go by, from this host's clock. Capped at the longest a timer waits.
 */
export function parseRetryAfter(headers: Readonly<Record<string, string | string[] | undefined>>): number | undefined {
  const ms = requested(headers);
  // No wait is longer anyway (the limiter's minute, delivery.maxDelay's 24 days at most), but messages show
  // the header's value: 400 digits are Infinity as a number, said as "retry after Infinity s" (and by
  // `check` as "InfinitydNaNh").
  return ms === undefined ? undefined : Math.min(ms, LONGEST_TIMER_MS);
}

/** The longest wait a timer holds (setTimeout fires at once past it). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

function requested(headers: Readonly<Record<string, string | string[] | undefined>>): number | undefined {
  const raw = first(headers['retry-after'])?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  // Every form of an HTTP date begins with the day's name. Date.parse reads a number too, "-5" as 1 May
  // 2001: a negative Retry-After, no request for a pause, was taken for a date long past, a pause of none.
  if (!/^[a-z]/i.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  const sent = Date.parse(first(headers['date']) ?? '');
  return Math.max(0, at - (Number.isNaN(sent) ? Date.now() : sent));
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
