export interface BackoffPolicy {
  minDelay: number;
  maxDelay: number;
}

/** How long a delivery is retried, and how far apart; `delivery` in the watch file. */
export interface DeliveryPolicy extends BackoffPolicy {
  /** A delivery still failing this long after it was recorded is given up. */
  maxAge: number;
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

/**
 * When to try a failed delivery again, or null to give it up: retries continue until the delivery is
 * `maxAge` old, and the last one falls on that age rather than past it.
 */
export function retryAt(policy: DeliveryPolicy, createdAt: number, now: number, attempt: number, retryAfterMs?: number, random = Math.random): number | null {
  const giveUpAt = createdAt + policy.maxAge;
  if (now >= giveUpAt) return null;
  return Math.min(now + nextDelay(policy, attempt, retryAfterMs, random), giveUpAt);
}
