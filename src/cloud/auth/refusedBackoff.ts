// How long an auth method holds off after the cloud refused its credentials, for every method that must
// never be what locks an account or a key: identity services lock an account after a few failed logins
// (IAM: 5 within 15 minutes), and Huawei's API gateway an access key after more than five refused
// signatures in a row, for every tool that uses it.

import { createHash } from 'node:crypto';
import type { ApiError } from '../ApiError.ts';

/** After refused credentials the next attempt waits this long, doubling up to the maximum. */
export const REFUSED_BACKOFF_MS = { first: 5 * 60_000, max: 60 * 60_000 };

/** The wait after the `attempts`-th failure in a row (from 1): `first`, doubling at each, up to `max`. */
export function doublingDelay({ first, max }: { first: number; max: number }, attempts: number): number {
  return Math.min(first * 2 ** (attempts - 1), max);
}

/** A refusal of credentials as an auth method holds off after it: see RefusedCredentials. */
export interface CredentialRefusal {
  /** What a request held back fails with. */
  readonly error: ApiError;
  /** Refusals in a row of the same credentials. */
  readonly attempts: number;
  /** When they may be tried again: performance.now(), as the process that keeps it is the one that reads it. */
  readonly retryAt: number;
}

/**
 * Refusals kept by their owner across the auth methods it makes (the daemon's, across reloads that rebuild
 * the parts), by a digest of the credentials refused: a method made anew with the same ones holds off as
 * the one before it did, rather than trying them at once at its first request. Other credentials (a key
 * file rotated) are tried at once.
 */
export type RefusedCredentials = Map<string, CredentialRefusal>;

/** The key of `values` (credentials as last read) in RefusedCredentials: a digest, never the secrets themselves. */
export function credentialsDigest(values: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(values)).digest('hex');
}
