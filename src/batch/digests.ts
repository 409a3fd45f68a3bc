import type { Logger } from '../observability/logger.ts';
import { dictionary } from '../data/dictionary.ts';
import { digestDeliveryId, pendingDelivery, watchOf } from '../delivery/notification.ts';
import type { Notifier } from '../notify/types.ts';
import { digestsKept, isBatchExpired } from '../state/retention.ts';
import type { StateStore } from '../state/store.ts';
import type { DigestMember, DigestRecord, WatchRecord } from '../state/types.ts';
import { kindOf } from '../watch/kinds/index.ts';
import { dueDigest, reportedKeys, wantsDigest, type DueDigest, type Member } from './plan.ts';

export interface BatchDigestOptions {
  store: StateStore;
  notifiers: Map<string, Notifier>;
  logger: Logger;
  retentionMs: number;
}

/**
 * The digests of the batches (`batch:` labels) in the file. Called by the engine after each pass, before
 * its save: a digest and its deliveries are recorded in the state together and reach the outbox only once
 * that save has written them, exactly like a watch's verdict, so that each notifier gets each digest once,
 * however the process ends.
 */
export class BatchDigests {
  readonly #o: BatchDigestOptions;

  constructor(options: BatchDigestOptions) {
    this.#o = options;
  }

  /** Records every digest that has become due. */
  update(batches: ReadonlyMap<string, Member[]>, now: number): void {
    for (const [label, members] of batches) {
      const due = dueDigest(this.#o.store.getBatch(label), members, now);
      if (due) this.#record(label, due, now);
    }
  }

  /** True once each of these batches has reported every watch it has in a final digest, and its deliveries are settled. */
  settled(batches: ReadonlyMap<string, Member[]>): boolean {
    return [...batches].every(([label, members]) => {
      const batch = this.#o.store.getBatch(label);
      const reported = reportedKeys(batch);
      return members.every((m) => reported.has(m.key)) && !this.#deliveries(label).some((d) => d.status === 'pending');
    });
  }

  /** Whether a final digest of the batch has reported the watch at `key`. */
  reported(label: string, key: string): boolean {
    return reportedKeys(this.#o.store.getBatch(label)).has(key);
  }

  /**
   * Forgets batches not in `labelsInFile` (the file's, and those records kept name), once settled for
   * `retentionMs`, counted from no earlier than `from` (see isBatchExpired); of the others, the digests of
   * earlier rounds whose watches are all forgotten (digestsKept).
   */
  prune(labelsInFile: ReadonlySet<string>, now: number, from = -Infinity): void {
    const { store, retentionMs } = this.#o;
    for (const batch of store.batches()) {
      if (!labelsInFile.has(batch.label)) {
        if (isBatchExpired(batch, now, retentionMs, from)) store.deleteBatch(batch.label);
        continue;
      }
      const kept = digestsKept(batch, (key) => store.get(key) !== undefined, now, retentionMs, from);
      if (kept.length === batch.digests.length) continue;
      // In place: the deliveries the outbox holds name this record.
      batch.digests = kept;
      store.touchBatch(batch.label);
    }
  }

  #deliveries(label: string) {
    return (this.#o.store.getBatch(label)?.digests ?? []).flatMap((d) => Object.values(d.deliveries));
  }

  #record(label: string, due: DueDigest, now: number): void {
    const at = new Date(now).toISOString();
    const batch = this.#o.store.getBatch(label) ?? { label, digests: [] };
    const digest: DigestRecord = { round: due.round, final: due.final, detectedAt: at, members: due.members.map(snapshot), deliveries: dictionary() };
    batch.digests.push(digest);
    this.#o.store.setBatch(batch);
    // The notifiers any of its watches names (all, for a watch that names none).
    const named = due.members.some((m) => m.notify === undefined) ? null : new Set(due.members.flatMap((m) => m.notify ?? []));
    const memberKeys = due.members.map((m) => m.key);
    for (const [name, notifier] of this.#o.notifiers) {
      if ((named && !named.has(name)) || !wantsDigest((event) => notifier.accepts(event), due)) continue;
      this.#o.store.addDigestDelivery(label, digest, name, pendingDelivery(digestDeliveryId(label, due.round, due.final, name, memberKeys), at));
    }
    const counts: Record<string, number> = {};
    for (const m of digest.members) counts[m.outcome ?? 'pending'] = (counts[m.outcome ?? 'pending'] ?? 0) + 1;
    this.#o.logger.info(
      { batch: label, round: due.round, watches: digest.members.length, counts, notifiers: Object.keys(digest.deliveries) },
      due.final ? 'batch finished' : 'batch unfinished after its batchWindow: partial digest',
    );
  }
}

/** A watch as the digest reports it: its outcome, or for one still pending where it stands. */
function snapshot({ key, record }: Member): DigestMember {
  const { verdict } = record;
  return {
    key,
    watch: watchOf(record),
    outcome: verdict?.outcome ?? null,
    reason: verdict?.reason ?? pendingReason(record),
    detectedAt: verdict?.detectedAt ?? null,
  };
}

function pendingReason(record: WatchRecord): string {
  if (record.lastError) return `pending; last poll failed: ${record.lastError}`;
  const progress = kindOf(record).progress(record);
  if (progress === null) return 'pending: not seen in the API yet';
  const done = progress.total ? `, ${progress.done}/${progress.total} ${progress.unit} done` : '';
  const at = progress.running.length ? `, running ${progress.running.join(', ')}` : '';
  return `pending: ${progress.subject ?? 'started'}${done}${at}`;
}
