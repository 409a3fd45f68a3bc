import { createHash } from 'node:crypto';
import { NOTIFICATION_TYPES, type Notification } from '../model.ts';
import type { VerdictRecord, WatchRecord } from '../state/types.ts';
import { kindOf } from '../watch/kinds/index.ts';

/**
 * Stable across attempts, restarts and even a lost state file, so that webhook-id and Message-ID
 * let receivers drop a redelivery; the notifier's name keeps two mail notifiers' messages distinct.
 * `key` is the watch's state key (an action's `project/server/request`, as before kinds existed).
 */
export function deliveryId(key: string, outcome: string, notifier: string): string {
  return createHash('sha256').update(`${key}/${outcome}/${notifier}`).digest('hex').slice(0, 32);
}

/** The contract's notification for a watch with a verdict; rebuilt from state for every attempt. */
export function notificationFor(record: WatchRecord, verdict: VerdictRecord): Notification {
  return {
    type: NOTIFICATION_TYPES[verdict.outcome],
    outcome: verdict.outcome,
    ...kindOf(record).facts(record),
    reason: verdict.reason,
    detectedAt: verdict.detectedAt,
  };
}
