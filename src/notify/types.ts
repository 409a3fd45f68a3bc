import type { Logger } from '../observability/logger.ts';
import type { z } from 'zod';
import type { NotifyEvent, OutgoingNotification } from '../model.ts';

/** What the dispatcher hands a notifier for one attempt of one delivery. */
export interface DeliveryAttempt {
  /** Stable for a (watch, outcome), an early warning or a batch digest: webhook-id and the Message-ID derive from it, so receivers can drop redeliveries. */
  deliveryId: string;
  /** 1 for the first attempt; counts across restarts. */
  attempt: number;
  signal: AbortSignal;
  /** The recipients still owed (addresses), when an earlier attempt reached the others; undefined: every one. */
  owedTo?: readonly string[] | undefined;
  /**
   * What the dispatcher's own log lines about this delivery carry (the watch's name, request and server
   * ids, or the batch): a notifier's lines about the attempt carry them too, so that a search by request
   * id finds them.
   */
  about?: Readonly<Record<string, unknown>> | undefined;
}

/** What the receiver answered to a delivered notification, for people (`notify-test`) and logs. */
export interface DeliveryReceipt {
  /** The receiver's own words: `204 No Content`, `250 2.0.0 Ok: queued as 4B1F2`. */
  answer: string;
  /** Recipients the receiver refused while it took the message for others, each with its reply. */
  refused: string[];
}

/**
 * Sends the outbox runs at once to one notifier (one receiver) that sets no `sendsAtOnce` of its own (mail
 * sets smtp.connections): enough that a wave of thousands of verdicts goes out as fast as they are saved
 * (measured: 16 queued a 10,000-verdict wave for seconds, 64 kept up as well as 128 or 256), few enough
 * that a receiver is not hit by thousands of connections at once. Per notifier, so that a slow mail server
 * does not hold up the webhooks.
 */
export const SENDS_PER_NOTIFIER = 64;

/**
 * One configured destination. `send` makes exactly one attempt and either resolves (delivered) or
 * throws a DeliveryError saying whether another attempt may succeed; retries, backoff and persistence
 * belong to the dispatcher so that every notifier gets them the same way.
 */
export interface Notifier {
  readonly name: string;
  readonly type: string;
  /** The most of its sends the outbox runs at once; undefined: SENDS_PER_NOTIFIER. */
  readonly sendsAtOnce?: number;
  /** The `on:` filter: an outcome, or `slow` for early warnings. */
  accepts(event: NotifyEvent): boolean;
  send(notification: OutgoingNotification, attempt: DeliveryAttempt): Promise<DeliveryReceipt>;
  close(): Promise<void>;
}

export interface NotifierDeps {
  logger: Logger;
  /** Certificates to trust for HTTPS (cloud.tls.caFile and the defaults); undefined: Node's defaults. */
  ca?: readonly string[] | undefined;
  /** Config.variableSecrets: hidden in what a receiver answers, as the notifier's own secrets are. */
  secrets?: readonly string[] | undefined;
}

/** The schema of one notifier type's entry under `notifiers:`; its `type` literal selects it. */
export type NotifierConfigSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.core.$ZodLooseShape, z.core.$strict>;

/** Everything the program needs to know about one notifier type; the registry lists them. */
export interface NotifierType<S extends NotifierConfigSchema = NotifierConfigSchema> {
  /** Its entry in the watch file; the single place its keys and defaults are stated. */
  readonly schema: S;
  /** Keys of that entry holding secrets: the logger redacts them wherever they appear. */
  readonly secretKeys: readonly string[];
  readonly create: (name: string, config: z.output<S>, deps: NotifierDeps) => Notifier;
  /**
   * Where it sends (a webhook's URL, a mail server's host and port): a pause its receiver asked for (a 429)
   * is that receiver's, and ends when a reload points the notifier at another.
   */
  readonly receiver: (config: z.output<S>) => string;
  /**
   * What a valid entry asks for that works worse than its writer likely expects (`validate` and every load
   * say it with line:col, never refusing the file), each at a path inside the entry. Here, with the type,
   * so that src/config/warnings.ts names no type.
   */
  readonly warnings?: (config: z.output<S>) => NotifierWarning[];
}

/** A warning about one notifier's entry; `path` is inside the entry (`['smtp', 'port']`). */
export interface NotifierWarning {
  path: readonly (string | number)[];
  message: string;
}
