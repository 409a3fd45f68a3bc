import type { BatchRecord, DeliveryRecord, DigestRecord, WatchRecord } from './types.ts';

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

/**
 * For each watch the digests of `batches` report, when the last of those was recorded or settled; Infinity
 * while one is owed. A label used again run after run has a digest within every retention: counted from its
 * newest, no watch it ever reported would be forgotten.
 */
export function reportedAt(batches: Iterable<BatchRecord>): Map<string, number> {
  const at = new Map<string, number>();
  for (const batch of batches) {
    for (const digest of batch.digests) {
      const told = digestSettledAt(digest);
      for (const { key } of digest.members) at.set(key, Math.max(at.get(key) ?? -Infinity, told));
    }
  }
  return at;
}

/**
 * The batch's digests that are still needed: those of its last round that a final digest reported and after,
 * for the next round's number; every other one that a record kept reports (it tells that the watch was
 * reported), or that was settled less than `retentionMs` ago (counted from no earlier than `from`); and
 * those of a round with a digest still owed (a partial one is not sent once its round's final is recorded).
 */
export function digestsKept(batch: BatchRecord, recorded: (key: string) => boolean, now: number, retentionMs: number, from = -Infinity): DigestRecord[] {
  const lastRound = Math.max(0, ...batch.digests.filter((d) => d.final).map((d) => d.round));
  const owed = new Set(batch.digests.filter((d) => digestSettledAt(d) === Infinity).map((d) => d.round));
  return batch.digests.filter((d) => d.round >= lastRound || owed.has(d.round) || now - Math.max(digestSettledAt(d), from) < retentionMs || d.members.some((m) => recorded(m.key)));
}

function digestSettledAt(digest: DigestRecord): number {
  return settledAt(Date.parse(digest.detectedAt), Object.values(digest.deliveries));
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
