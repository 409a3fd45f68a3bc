// When a batch's digest is due, and what it says. Pure: the state and the file's watches in, a decision out.
import type { Outcome } from '../model.ts';
import type { BatchRecord, WatchRecord } from '../state/types.ts';

/** One watch of the file that carries the batch's label, with its state. */
export interface Member {
  key: string;
  record: WatchRecord;
  /** Its `batchWindow` (or poll.batchWindow); undefined: none. */
  batchWindowMs: number | undefined;
  /** Its notifiers; undefined: every notifier. */
  notify: string[] | undefined;
}

/** A digest to record now: of which round, final or partial, about which watches. */
export interface DueDigest {
  round: number;
  final: boolean;
  members: Member[];
}

/** Keys of the watches that a final digest of the batch has already reported. */
export function reportedKeys(batch: BatchRecord | undefined): Set<string> {
  return new Set((batch?.digests ?? []).filter((d) => d.final).flatMap((d) => d.members.map((m) => m.key)));
}

/** For each watch a final digest of `batches` reported, the batch of the last (latest recorded) of those. */
export function lastReported(batches: Iterable<BatchRecord>): Map<string, string> {
  const last = new Map<string, { label: string; at: number }>();
  for (const batch of batches) {
    for (const digest of batch.digests) {
      if (!digest.final) continue;
      const at = Date.parse(digest.detectedAt);
      for (const { key } of digest.members) if (at >= (last.get(key)?.at ?? -Infinity)) last.set(key, { label: batch.label, at });
    }
  }
  return new Map([...last].map(([key, { label }]) => [key, label]));
}

/**
 * The digest due for one batch at `now`, or null. A round is the batch's watches that no final digest has
 * reported yet: its final digest is due once each of them has a verdict; its partial digest, once and only
 * while it is unfinished, when the earliest of them has been tracked for the shortest `batchWindow` among
 * them. A watch that joins after a final digest opens the next round, with digests of its own.
 */
export function dueDigest(batch: BatchRecord | undefined, members: readonly Member[], now: number): DueDigest | null {
  const reported = reportedKeys(batch);
  const open = members.filter((m) => !reported.has(m.key));
  if (open.length === 0) return null;
  const digests = batch?.digests ?? [];
  const round = 1 + Math.max(0, ...digests.filter((d) => d.final).map((d) => d.round));
  if (open.every((m) => m.record.verdict !== null)) return { round, final: true, members: open };
  if (digests.some((d) => d.round === round)) return null;
  const windows = open.map((m) => m.batchWindowMs).filter((w): w is number => w !== undefined);
  if (windows.length === 0) return null;
  const since = Math.min(...open.map((m) => Date.parse(m.record.trackingSince)));
  return now - since >= Math.min(...windows) ? { round, final: false, members: open } : null;
}

/**
 * Whether a notifier with this filter wants the digest: a final one when it counts an outcome the notifier
 * is told about; a partial one also when the notifier takes early warnings (`slow`), which it is one of.
 */
export function wantsDigest(accepts: (event: Outcome | 'slow') => boolean, due: DueDigest): boolean {
  if (!due.final && accepts('slow')) return true;
  return due.members.some((m) => m.record.verdict !== null && accepts(m.record.verdict.outcome));
}
