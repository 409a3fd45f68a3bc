import { createHash } from 'node:crypto';
import { NOTIFICATION_TYPES, type Notification } from '../model.ts';
import type { VerdictRecord, WatchRecord } from '../state/types.ts';

/**
 * Stable across attempts, restarts and even a lost state file, so that webhook-id and Message-ID
 * let receivers drop a redelivery; the notifier's name keeps two mail notifiers' messages distinct.
 */
export function deliveryId(record: Pick<WatchRecord, 'projectId' | 'serverId' | 'requestId'>, outcome: string, notifier: string): string {
  return createHash('sha256')
    .update(`${record.projectId}/${record.serverId}/${record.requestId}/${outcome}/${notifier}`)
    .digest('hex')
    .slice(0, 32);
}

/** The contract's notification for a watch with a verdict; rebuilt from state for every attempt. */
export function notificationFor(record: WatchRecord, verdict: VerdictRecord): Notification {
  return {
    type: NOTIFICATION_TYPES[verdict.outcome],
    outcome: verdict.outcome,
    watch: { name: record.name, projectId: record.projectId, serverId: record.serverId, requestId: record.requestId },
    instanceAction: record.instanceAction,
    server: record.server,
    reason: verdict.reason,
    detectedAt: verdict.detectedAt,
  };
}
