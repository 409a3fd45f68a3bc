import type { BatchRecord, DeliveryRecord, WatchRecord } from './types.ts';

/**
 * Whether a record may be forgotten: its watch is finished, every notification (its verdict's and its
 * early warning's) is settled, and the last of those happened `retentionMs` ago. The caller checks that the
 * watch is no longer in the file: a watch still listed keeps its record, or it would be tracked and
 * notified again.
 */
export function isExpired(record: WatchRecord, now: number, retentionMs: number): boolean {
  if (record.verdict === null) return false;
  const deliveries = [...Object.values(record.deliveries), ...Object.values(record.warning?.deliveries ?? {})];
  return settledSince(Date.parse(record.verdict.detectedAt), deliveries, now, retentionMs);
}

/**
 * The same for a batch's record: every digest's deliveries settled `retentionMs` ago. The caller checks
 * that no watch in the file carries its label: as long as one does, its digests must not be sent again.
 */
export function isBatchExpired(batch: BatchRecord, now: number, retentionMs: number): boolean {
  const last = batch.digests.at(-1);
  if (last === undefined) return true;
  return settledSince(Date.parse(last.detectedAt), batch.digests.flatMap((d) => Object.values(d.deliveries)), now, retentionMs);
}

function settledSince(since: number, deliveries: DeliveryRecord[], now: number, retentionMs: number): boolean {
  let last = since;
  for (const delivery of deliveries) {
    if (delivery.status === 'pending') return false;
    last = Math.max(last, Date.parse(delivery.updatedAt));
  }
  return now - last >= retentionMs;
}
