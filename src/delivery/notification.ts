import { hash } from 'node:crypto';
import {
  BATCH_NOTIFICATION_TYPES, NOTIFICATION_TYPES, type BatchEntry, type BatchNotification, type Notification, type NotificationType,
  type NotificationWatch, type Outcome, type OutgoingNotification,
} from '../model.ts';
import type { DurableDelivery } from '../state/store.ts';
import type { DeliveryRecord, DigestMember, DigestRecord, VerdictRecord, WarningRecord, WatchRecord } from '../state/types.ts';
import { kindOf } from '../watch/kinds/index.ts';

/**
 * Stable across attempts, restarts and even a lost state file, so that webhook-id and Message-ID
 * let receivers drop a redelivery; the notifier's name keeps two mail notifiers' messages distinct.
 * `key` is the watch's state key (an action's `project/server/request`, as before kinds existed);
 * `outcome` the verdict's, or `slow` for the early warning.
 */
export function deliveryId(key: string, outcome: string, notifier: string): string {
  return digestOf(`${key}/${outcome}/${notifier}`);
}

/** The id of a batch digest's delivery: stable for the batch, its round and whether it is the final one. */
export function digestDeliveryId(label: string, round: number, final: boolean, notifier: string, memberKeys: readonly string[]): string {
  // Line breaks keep a batch apart from any watch, whose ids hash a slash-separated key. Its watches keep a
  // label used again (a nightly run, another daemon's) apart, where receivers drop a repeated id.
  return digestOf(`batch\n${label}\n${round}\n${final ? 'finished' : 'partial'}\n${notifier}\n${[...memberKeys].sort().join('\n')}`);
}

/**
 * The first 32 hex digits of the sha256, as a string of its own: a slice of the whole digest would keep it
 * alive, 112 bytes of heap for every delivery record instead of 48.
 */
function digestOf(text: string): string {
  return hash('sha256', text, 'buffer').toString('hex', 0, 16);
}

/** A delivery just owed, not attempted yet. */
export function pendingDelivery(id: string, at: string): DeliveryRecord {
  return { id, status: 'pending', attempts: 0, createdAt: at, nextAttemptAt: null, lastError: null, updatedAt: at };
}

/**
 * The contract's notification for a watch with a verdict; rebuilt from state for every attempt, from a record
 * that changes no more (a watch with a verdict is polled no more, nor renamed).
 */
export function notificationFor(record: WatchRecord, verdict: VerdictRecord): Notification {
  return announce(kindOf(record).facts(record), NOTIFICATION_TYPES[verdict.outcome], verdict.outcome, verdict);
}

/** The early warning: the watch's notification as it was when the warning was made, with outcome null. */
function slowNotificationFor(record: WatchRecord, warning: WarningRecord): Notification {
  return announce(warning.facts ?? kindOf(record).facts(record), NOTIFICATION_TYPES.slow, null, warning);
}

function announce(facts: NonNullable<WarningRecord['facts']>, type: NotificationType, outcome: Outcome | null, what: { reason: string; detectedAt: string }): Notification {
  return { type, outcome, ...facts, reason: what.reason, detectedAt: what.detectedAt };
}

/** A watch as its notifications name it. */
export function watchOf(record: WatchRecord): NotificationWatch {
  return kindOf(record).facts(record).watch;
}

/** Failures first, in the order people should read them; successes, the expected case, last. */
const ENTRY_ORDER: ReadonlyArray<Outcome | null> = ['failure', 'timeout', 'not_found', null, 'success'];

/**
 * A batch digest as notifiers send it: the counts and each watch as the digest's snapshot saw it; a watch
 * that did not succeed carries the full facts of its own notification, read from its record (`recordOf`),
 * whose verdict no longer changes.
 */
export function digestNotificationFor(label: string, digest: DigestRecord, recordOf: (key: string) => WatchRecord | undefined): BatchNotification {
  const counts: BatchNotification['counts'] = { success: 0, failure: 0, timeout: 0, not_found: 0, pending: 0 };
  for (const m of digest.members) counts[m.outcome ?? 'pending']++;
  const ordered = [...digest.members].sort((a, b) => ENTRY_ORDER.indexOf(a.outcome) - ENTRY_ORDER.indexOf(b.outcome));
  return {
    type: digest.final ? BATCH_NOTIFICATION_TYPES.finished : BATCH_NOTIFICATION_TYPES.partial,
    batch: label,
    round: digest.round,
    counts,
    watches: ordered.map((m) => entryOf(m, recordOf(m.key))),
    detectedAt: digest.detectedAt,
  };
}

function entryOf(member: DigestMember, record: WatchRecord | undefined): BatchEntry {
  const entry: BatchEntry = { watch: member.watch, outcome: member.outcome, reason: member.reason, detectedAt: member.detectedAt };
  if (member.outcome === null || member.outcome === 'success' || !record?.verdict) return entry;
  const { watch: _watch, ...facts } = kindOf(record).facts(record);
  // What it read is kept for the batch it belongs to when its outcome comes; one given this label after
  // its own notification (or another batch's digest) was settled had let it go by then.
  if (record.everFound && Object.values(facts).every((fact) => fact === null)) {
    return { ...entry, reason: `${member.reason} (${detailsGone(record)})` };
  }
  return { ...entry, ...facts };
}

/**
 * Said of a watch whose details are no longer kept, let go before it joined the batch once what told it then
 * was settled: its own notification, delivered or given up (a receiver told it did not hear of it), or
 * another batch's digest.
 */
function detailsGone(record: WatchRecord): string {
  const statuses = Object.values(record.deliveries).map((d) => d.status);
  const when = statuses.includes('delivered') ? ' once it had been notified' : statuses.includes('given_up') ? ' once its own notification was given up' : '';
  return `its details were let go${when}, before it joined this batch`;
}

/** What a delivery announces, rebuilt from state for every attempt. */
export function notificationOf(d: DurableDelivery, recordOf: (key: string) => WatchRecord | undefined): OutgoingNotification | null {
  switch (d.about) {
    case 'verdict':
      return d.record.verdict ? notificationFor(d.record, d.record.verdict) : null;
    case 'slow':
      return d.record.warning ? slowNotificationFor(d.record, d.record.warning) : null;
    case 'digest':
      return digestNotificationFor(d.batch.label, d.digest, recordOf);
  }
}
