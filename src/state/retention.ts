import type { WatchRecord } from './types.ts';

/**
 * Whether a record may be forgotten: its watch is finished, every notification is delivered or given up,
 * and the last of those happened `retentionMs` ago. The caller checks that the watch is no longer in the
 * file: a watch still listed keeps its record, or it would be tracked and notified again.
 */
export function isExpired(record: WatchRecord, now: number, retentionMs: number): boolean {
  if (record.verdict === null) return false;
  let last = Date.parse(record.verdict.detectedAt);
  for (const delivery of Object.values(record.deliveries)) {
    if (delivery.status === 'pending') return false;
    last = Math.max(last, Date.parse(delivery.updatedAt));
  }
  return now - last >= retentionMs;
}
