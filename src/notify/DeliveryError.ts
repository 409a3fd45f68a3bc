/**
 * Why one delivery attempt failed, and whether another attempt may succeed. The message is written for an
 * operator reading the log and must never carry a secret: it is built from our own words, status codes
 * and redacted addresses, and the underlying error is deliberately not attached as `cause`, because a
 * logger serializes causes and a library's message is not ours to vouch for.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  /** False when the same request would fail the same way (a 400, a 550): retrying only delays the give-up. */
  readonly retryable: boolean;
  /** The receiver's own wish (Retry-After); the dispatcher may honour or cap it. */
  readonly retryAfterMs: number | undefined;
  /** The HTTP status or SMTP reply code, when the receiver answered at all. */
  readonly status: number | undefined;
  /**
   * The recipients the next attempt is for, when this one reached the others (a mail server that put some
   * off with a 4xx): sending it again to all would duplicate it for those that have it. Undefined: all.
   */
  readonly owedTo: readonly string[] | undefined;

  constructor(message: string, options: { retryable: boolean; retryAfterMs?: number | undefined; status?: number | undefined; owedTo?: readonly string[] | undefined }) {
    super(message);
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.owedTo = options.owedTo;
  }
}
