// How long an auth method holds off after the cloud refused its credentials, for every method that must
// never be what locks an account or a key: identity services lock an account after a few failed logins
// (IAM: 5 within 15 minutes), and Huawei's API gateway an access key after more than five refused
// signatures in a row, for every tool that uses it.

/** After refused credentials the next attempt waits this long, doubling up to the maximum. */
export const REFUSED_BACKOFF_MS = { first: 5 * 60_000, max: 60 * 60_000 };

/** The wait after the `attempts`-th failure in a row (from 1): `first`, doubling at each, up to `max`. */
export function doublingDelay({ first, max }: { first: number; max: number }, attempts: number): number {
  return Math.min(first * 2 ** (attempts - 1), max);
}
