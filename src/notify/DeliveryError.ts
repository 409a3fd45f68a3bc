/**
 * Why a delivery attempt failed, in the words an operator acts on: the `reason` label of
 * notifications_total (result retry and given_up), and so a closed set. Each reason but `other` also
 * decides whether another attempt may succeed (RETRIED): a notifier names the reason where it reads the
 * failure, and its retry follows, so that the label and the retry can never disagree.
 * - timeout: no answer within the notifier's timeout (or the receiver's own: an HTTP 408)
 * - connection: the receiver could not be reached or talked to: connection refused, reset or closed before an answer, DNS, TLS, a proxy
 * - throttled: the receiver asks to slow down (HTTP 429, or an answer with a Retry-After); the outbox pauses the notifier
 * - server: the receiver answered that it cannot take it now (HTTP 5xx, an SMTP 4xx or a 552 to a recipient)
 * - refused: the receiver refused it for good (HTTP 4xx: a login or signature refused, a wrong URL, the
 *   payload; a redirect; an SMTP 5xx; a login or TLS the server will not do): fix the notifier's settings or the receiver's
 * - template: the notifier's template failed for this notification: fix the template
 * - other: anything else (the notifier taken out of the file, an error nothing above describes)
 */
export const DELIVERY_REASONS = ['timeout', 'connection', 'throttled', 'server', 'refused', 'template', 'other'] as const;
export type DeliveryReason = (typeof DELIVERY_REASONS)[number];

/** A reason that decides the retry by itself: every one but `other`. */
export type DecidingReason = Exclude<DeliveryReason, 'other'>;

/** Whether another attempt may succeed after a failure for each reason; `other` says so each time. */
export const RETRIED = {
  timeout: true,
  connection: true,
  throttled: true,
  server: true,
  refused: false,
  template: false,
} as const satisfies Record<DecidingReason, boolean>;

/** Why it failed; `other` alone says whether another attempt may succeed, every other reason decides it. */
export type FailureReason = { reason: DecidingReason } | { reason: 'other'; retryable: boolean };

/**
 * Why one delivery attempt failed, and whether another attempt may succeed. The message is written for an
 * operator reading the log and must never carry a secret: it is built from our own words, status codes
 * and redacted addresses, and the underlying error is deliberately not attached as `cause`, because a
 * logger serializes causes and a library's message is not ours to vouch for.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  /** Why it failed: the `reason` label of notifications_total. */
  readonly reason: DeliveryReason;
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

  constructor(message: string, options: FailureReason & { retryAfterMs?: number | undefined; status?: number | undefined; owedTo?: readonly string[] | undefined }) {
    super(message);
    this.reason = options.reason;
    this.retryable = options.reason === 'other' ? options.retryable : RETRIED[options.reason];
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.owedTo = options.owedTo;
  }
}
