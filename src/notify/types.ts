import type { Logger } from 'pino';
import type { Notification, Outcome } from '../model.ts';

/** What the dispatcher hands a notifier for one attempt of one delivery. */
export interface DeliveryAttempt {
  /** Stable for a (watch, outcome): webhook-id and the Message-ID derive from it, so receivers can drop redeliveries. */
  deliveryId: string;
  /** 1 for the first attempt; counts across restarts. */
  attempt: number;
  signal: AbortSignal;
}

/**
 * One configured destination. `send` makes exactly one attempt and either resolves (delivered) or
 * throws a DeliveryError saying whether another attempt may succeed; retries, backoff and persistence
 * belong to the dispatcher so that every notifier gets them the same way.
 */
export interface Notifier {
  readonly name: string;
  readonly type: string;
  /** The `on:` filter. */
  accepts(outcome: Outcome): boolean;
  send(notification: Notification, attempt: DeliveryAttempt): Promise<void>;
  close(): Promise<void>;
}

export interface NotifierDeps {
  logger: Logger;
}
