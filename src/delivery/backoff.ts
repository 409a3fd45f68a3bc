export interface BackoffPolicy {
  attempts: number;
  minDelay: number;
  maxDelay: number;
}

/**
 * Delay before attempt `attempt + 1`: exponential with full jitter in its upper half, so that many
 * deliveries failing together do not retry together; a receiver's Retry-After wins when longer.
 * The delay is recorded in state as a time, not slept in memory, so it survives a restart.
 */
export function nextDelay(policy: BackoffPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  const exponential = Math.min(policy.maxDelay, policy.minDelay * 2 ** Math.max(0, attempt - 1));
  const jittered = exponential / 2 + (random() * exponential) / 2;
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, policy.maxDelay));
}
