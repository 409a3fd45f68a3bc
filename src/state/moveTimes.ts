// The times the state keeps that this host's clock stamped, moved by a step of that clock (ClockSteps: it
// was set, the machine did not sleep), in place: every span the daemon measures from one of them (a
// deadline, the not-found window, a batch window, delivery.maxAge, the retention) then counts only the time
// that passed. The times the API stamped (an action's start and events, a job's, auto-tracking's horizon and
// cursor) are the cloud's, and stay. `since` (epoch ms): only the times from then on move, those before it
// were on the clock as it is now (a machine held still: hostClock.ts).
import type { Dictionary } from '../data/dictionary.ts';
import { sharedObserved } from './observed.ts';
import type { BatchRecord, DeliveryRecord, TrackingState, WatchRecord } from './types.ts';

/** Moves one ISO time (or none: null) by the step, from `since` on; something that is no time stays as it is. */
interface Move {
  (iso: string): string;
  (iso: string | null): string | null;
}

function mover(byMs: number, since: number): Move {
  return ((iso: string | null) => {
    const at = iso === null ? NaN : Date.parse(iso);
    return Number.isNaN(at) || at < since ? iso : new Date(at + byMs).toISOString();
  }) as Move;
}

function moveDeliveries(deliveries: Dictionary<DeliveryRecord>, move: Move): void {
  for (const name in deliveries) {
    const d = deliveries[name]!;
    d.createdAt = move(d.createdAt);
    d.updatedAt = move(d.updatedAt);
    d.nextAttemptAt = move(d.nextAttemptAt);
  }
}

export function moveWatchTimes(record: WatchRecord, byMs: number, since = -Infinity): void {
  const move = mover(byMs, since);
  record.trackingSince = move(record.trackingSince);
  record.failingSince = move(record.failingSince);
  if (record.daemonFailingSince !== undefined) record.daemonFailingSince = move(record.daemonFailingSince);
  if (record.verdict) record.verdict.detectedAt = move(record.verdict.detectedAt);
  moveDeliveries(record.deliveries, move);
  if (record.warning) {
    record.warning.detectedAt = move(record.warning.detectedAt);
    moveDeliveries(record.warning.deliveries, move);
  }
  // Replaced, not changed in place: records share the memory of nothing out of the ordinary (observed.ts).
  if (record.kind === 'ecs-job') {
    record.observed = { ...record.observed, firstNotFoundAt: move(record.observed.firstNotFoundAt) };
    return;
  }
  const observed = record.observed;
  if (observed === undefined) return;
  record.observed = sharedObserved({
    ...observed,
    firstNotFoundAt: move(observed.firstNotFoundAt),
    serverGoneSince: move(observed.serverGoneSince),
    stallCheckedAt: move(observed.stallCheckedAt),
    erroredSince: move(observed.erroredSince),
    finishSeenAt: move(observed.finishSeenAt),
  });
}

export function moveBatchTimes(batch: BatchRecord, byMs: number, since = -Infinity): void {
  const move = mover(byMs, since);
  for (const digest of batch.digests) {
    digest.detectedAt = move(digest.detectedAt);
    for (const member of digest.members) member.detectedAt = move(member.detectedAt);
    moveDeliveries(digest.deliveries, move);
  }
}

export function moveTrackingTimes(tracking: TrackingState, byMs: number, since = -Infinity): void {
  const move = mover(byMs, since);
  for (const server of Object.values(tracking.servers)) {
    server.since = move(server.since);
    server.missingSince = move(server.missingSince);
    server.endedAt = move(server.endedAt);
  }
  for (const project of Object.values(tracking.projects)) project.since = move(project.since);
}
