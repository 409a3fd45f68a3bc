// What a one-shot command says of a 429's pause (RateLimiter.onPause), and of a wait for poll.rateLimit
// (RateLimiter.onHold). It logs at error, and the limiter's word on a 429 is a warning: without this,
// `check` against a cloud that answers Retry-After: 3600 was silent for 14 minutes, its requests waiting
// out one pause of a minute after another.
import type { RateLimit, ThrottlePause } from '../cloud/rateLimiter.ts';
import { rateText } from '../config/fields.ts';
import { formatAge } from './table.ts';

/**
 * A shorter pause is the limiter slowing down, which a command's time shows well enough; from this long on,
 * someone waiting on the command takes it for a hang.
 */
export const NOTICEABLE_PAUSE_MS = 5000;

/** The seconds left counted up, as a countdown shows them: 1s until the last millisecond, never 0s. */
const countedUp = (remainingMs: number): string => formatAge(Math.max(1, Math.ceil(remainingMs / 1000)) * 1000);

/**
 * `the cloud throttles requests (429, Retry-After 1h00m): asking again in 1m00s`: the Retry-After when the
 * cloud sent one, since a pause shorter than it (the limiter's longest is a minute) is ours, not its.
 */
export function throttleText({ retryAfterMs }: Pick<ThrottlePause, 'retryAfterMs'>, remainingMs: number): string {
  const asked = retryAfterMs === undefined ? '' : `, Retry-After ${formatAge(retryAfterMs)}`;
  return `the cloud throttles requests (429${asked}): asking again in ${countedUp(remainingMs)}`;
}

/** `requests wait their turn under poll.rateLimit (600/m): the next goes in 58s`. */
export function holdText(limit: RateLimit, remainingMs: number): string {
  return `requests wait their turn under poll.rateLimit (${rateText(limit)}): the next goes in ${countedUp(remainingMs)}`;
}
