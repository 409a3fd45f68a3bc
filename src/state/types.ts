import type { Dictionary } from '../data/dictionary.ts';
import type { InstanceAction, Outcome, ServerInfo } from '../model.ts';

export type DeliveryStatus = 'pending' | 'delivered' | 'given_up';

/** One (watch, outcome, notifier) delivery: a record first, a send second, so a crash loses nothing. */
export interface DeliveryRecord {
  /** Stable id: webhook-id and Message-ID derive from it, so a redelivery can be dropped by receivers. */
  id: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the delivery was recorded: it is retried until it is `delivery.maxAge` old. */
  createdAt: string;
  /** ISO time before which no further attempt is made (backoff, Retry-After). */
  nextAttemptAt: string | null;
  lastError: string | null;
  updatedAt: string;
}

export interface VerdictRecord {
  outcome: Outcome;
  reason: string;
  detectedAt: string;
}

/**
 * What earlier polls saw that one poll alone cannot show. Records written before it existed have none;
 * `memoryOf` (watch/memory.ts) reads them as "nothing seen yet".
 */
export interface ObservedMemory {
  /** The first of the API's own not-found answers for the action (ISO); null once it was found. */
  firstNotFoundAt: string | null;
  notFoundAnswers: number;
  /** The first poll, after the events finished, that found the server gone (ISO); null once it is back. */
  serverGoneSince: string | null;
  serverGoneAnswers: number;
  /** false once the API refused GET /os-migrations for these credentials; null until asked. */
  migrationsReadable: boolean | null;
}

/** Everything we must remember about one watch across restarts. */
export interface WatchRecord {
  projectId: string;
  serverId: string;
  requestId: string;
  name: string | null;
  /** When tracking began; the deadline and the not-found window count from here, across restarts. */
  trackingSince: string;
  /** Whether the API ever answered the action with 200: a later 404 is then not "not found". */
  everFound: boolean;
  observed?: ObservedMemory;
  lastError: string | null;
  instanceAction: InstanceAction | null;
  server: ServerInfo | null;
  verdict: VerdictRecord | null;
  /** Keyed by notifier name; a null-prototype Dictionary, since a notifier may be called `constructor`. */
  deliveries: Dictionary<DeliveryRecord>;
}

export interface StateFile {
  version: 1;
  watches: Record<string, WatchRecord>;
}
