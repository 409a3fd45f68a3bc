import type { BatchRecord, DeliveryRecord, WatchRecord } from './types.ts';

/**
 * Whether a record may be forgotten: its watch is finished, every notification (its verdict's and its
 * early warning's) is settled, and the last of those happened `retentionMs` ago, counted from no earlier
 * than `from`. A watch of a batch is told in its batch's digest, which may come long after its verdict (the
 * batch waits for its slowest watch): `from` is then no earlier than that batch's lastDigestAt. The caller
 * checks that the watch is no longer polled (in the file, or started by auto-tracking and unfinished): a
 * watch still listed keeps its record, or it would be tracked and notified again.
 *
 * One no longer polled before its outcome has none to come, and nothing to tell but its early warning: it
 * counts from when tracking began, or from that warning. Kept for good, every watch a pipeline adds and
 * takes out again before the daemon saw it end would stay in the state as long as the daemon runs.
 */
export function isExpired(record: WatchRecord, now: number, retentionMs: number, from = -Infinity): boolean {
  const warnings = Object.values(record.warning?.deliveries ?? {});
  if (record.verdict === null) {
    const since = Math.max(Date.parse(record.trackingSince), record.warning ? Date.parse(record.warning.detectedAt) : -Infinity, from);
    return settledSince(since, warnings, now, retentionMs);
  }
  const deliveries = [...Object.values(record.deliveries), ...warnings];
  return settledSince(Math.max(Date.parse(record.verdict.detectedAt), from), deliveries, now, retentionMs);
}

/**
 * The same for a batch's record: every digest's deliveries settled `retentionMs` ago, counted from no
 * earlier than `from`. The caller checks that no watch in the file carries its label: as long as one does,
 * its digests must not be sent again.
 */
export function isBatchExpired(batch: BatchRecord, now: number, retentionMs: number, from = -Infinity): boolean {
  return now - Math.max(lastDigestAt(batch), from) >= retentionMs;
}

/** When the batch's last digest was recorded or settled (its last delivery's); Infinity while one is owed, -Infinity for none. */
export function lastDigestAt(batch: BatchRecord | undefined): number {
  const last = batch?.digests.at(-1);
  if (batch === undefined || last === undefined) return -Infinity;
  return settledAt(Date.parse(last.detectedAt), batch.digests.flatMap((d) => Object.values(d.deliveries)));
}

function settledSince(since: number, deliveries: DeliveryRecord[], now: number, retentionMs: number): boolean {
  return now - settledAt(since, deliveries) >= retentionMs;
}

function settledAt(since: number, deliveries: DeliveryRecord[]): number {
  let last = since;
  for (const delivery of deliveries) {
    if (delivery.status === 'pending') return Infinity;
    last = Math.max(last, Date.parse(delivery.updatedAt));
  }
  return last;
}
