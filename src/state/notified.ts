import type { Outcome } from '../model.ts';
import type { BatchRecord, DeliveryRecord, DeliveryStatus, DigestRecord, WatchRecord } from './types.ts';
import { digestMember } from './digestMember.ts';

/** One notifier's delivery of a verdict, as the daemon's state has it. */
export interface NotifierDelivery {
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  /** When the next attempt is due; null once none is. */
  nextAttemptAt: string | null;
  updatedAt: string;
  /** Pending, owed to a notifier a reload took out of the file: since when it waits for it (DeliveryRecord's). */
  heldSince?: string;
}

/**
 * What the daemon decided of a watch and whom it has told, from its state: the question an operator asks
 * when a receiver says nothing came. A watch of a batch is told in its batch's digest, whose deliveries
 * these are; until the digest is recorded it has none.
 */
export interface Notified {
  outcome: Outcome;
  detectedAt: string;
  /** The batch whose digest tells it; null: told on its own. */
  batch: string | null;
  /** Keyed by notifier name. */
  deliveries: Record<string, NotifierDelivery>;
}

/** The state's verdict of the watch at `key` and its deliveries; null while the daemon has decided none. */
export function notifiedOf(key: string, record: WatchRecord, batchOf: (label: string) => BatchRecord | undefined): Notified | null {
  if (record.verdict === null) return null;
  const batch = record.batch ?? null;
  const deliveries = batch === null ? record.deliveries : digestTelling(key, batchOf(batch))?.deliveries ?? {};
  return {
    outcome: record.verdict.outcome,
    detectedAt: record.verdict.detectedAt,
    batch,
    deliveries: notifierDeliveries(deliveries),
  };
}

/** The deliveries of a digest, as the daemon's state has them. */
export function digestDeliveries(digest: DigestRecord): Record<string, NotifierDelivery> {
  return notifierDeliveries(digest.deliveries);
}

/** The deliveries of the watch's early warning (`ecs.action.slow`), as the daemon's state has them; none before it warned. */
export function warningDeliveries(record: WatchRecord): Record<string, NotifierDelivery> {
  return notifierDeliveries(record.warning?.deliveries ?? {});
}

/** The deliveries of the watch's own notification of its outcome: none for one told only in its batch's digest. */
export function ownDeliveries(record: WatchRecord): Record<string, NotifierDelivery> {
  return notifierDeliveries(record.deliveries);
}

function notifierDeliveries(deliveries: Record<string, DeliveryRecord>): Record<string, NotifierDelivery> {
  return Object.fromEntries(Object.entries(deliveries).map(([notifier, d]) => [notifier, notifierDelivery(d)]));
}

/** The last digest of the batch that reports the watch's outcome (a partial one lists it while it is pending). */
function digestTelling(key: string, batch: BatchRecord | undefined) {
  return batch?.digests.findLast((digest) => (digestMember(digest, key)?.outcome ?? null) !== null);
}

function notifierDelivery({ status, attempts, lastError, nextAttemptAt, updatedAt, heldSince }: DeliveryRecord): NotifierDelivery {
  return { status, attempts, lastError, nextAttemptAt: status === 'pending' ? nextAttemptAt : null, updatedAt, ...(status === 'pending' && heldSince !== undefined ? { heldSince } : {}) };
}

/**
 * Whether the watch's outcome waits for its batch's final digest: no final digest of the batch its record
 * names reports it yet.
 */
export function digestAwaited(key: string, record: WatchRecord, batchOf: (label: string) => BatchRecord | undefined): boolean {
  if (record.verdict === null || !record.batch) return false;
  return !(batchOf(record.batch)?.digests.some((digest) => digest.final && digestMember(digest, key) !== undefined) ?? false);
}

/**
 * The whole of a watch's notifications in a word, worst first: `given up` when any notifier was given up,
 * `sending` while any is owed, `sent` once all are delivered; `in digest` while its batch's final digest is
 * to come (`awaited`: digestAwaited), `no notifier` for a verdict no notifier was to hear of, alone or in
 * that digest once recorded (every notifier's `on:` left out what it counts): said to wait for it, it
 * would wait for good.
 */
export function notifiedWord(n: Notified, awaited: boolean): string {
  const statuses = Object.values(n.deliveries).map((d) => d.status);
  if (statuses.length === 0) return awaited ? 'in digest' : 'no notifier';
  if (statuses.includes('given_up')) return 'given up';
  return statuses.includes('pending') ? 'sending' : 'sent';
}
