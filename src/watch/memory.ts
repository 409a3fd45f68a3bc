import { NOTHING_OBSERVED, sharedObserved } from '../state/observed.ts';
import type { ObservedMemory, WatchRecord } from '../state/types.ts';
import { deadStepSign, failedStepSign } from './deadStep.ts';
import { eventsFinished, sameFinish } from './eventsFinished.ts';
import { rememberLookup } from './judgement.ts';
import type { InstanceAction, ServerInfo } from '../model.ts';
import type { MigrationsObservation, Observations, ServerObservation } from './verdict.ts';

/** What the verdict needs from earlier polls: the record's `everFound` and its `observed` memory. */
export interface WatchMemory extends ObservedMemory {
  everFound: boolean;
}

/** A refusal of GET /os-migrations that may be a blip (not Nova's policy) counts once it is this many in a row. */
const MIGRATIONS_REFUSED_MIN_ANSWERS = 2;

/** A record's memory; one written by a version without `observed` has seen nothing of this kind yet. */
export function memoryOf(record: Pick<WatchRecord, 'everFound' | 'observed'>): WatchMemory {
  return { ...NOTHING_OBSERVED, ...record.observed, everFound: record.everFound };
}

/** Splits a memory back into the record's two fields; a memory of nothing out of the ordinary is the shared one. */
export function toRecordFields(memory: WatchMemory): Pick<WatchRecord, 'everFound'> & { observed: ObservedMemory } {
  const { everFound, ...observed } = memory;
  return { everFound, observed: sharedObserved(observed) };
}

/**
 * The memory after one poll's answers. Pure, and computed from the memory as it was before the poll,
 * so that a poll reading the action twice still counts one answer. A poll that changes nothing (nearly
 * every one) gets the memory given back, not a copy. `lastAction`: the action as the poll before found it;
 * `actionReadAt` and `serverReadAt`: when this poll read the action and the server it judges (`now` when not given).
 */
export function remember(
  previous: WatchMemory,
  seen: Observations & { lastAction: InstanceAction | null; actionReadAt?: number; serverReadAt?: number | undefined },
  now: number,
): WatchMemory {
  const looked = rememberLookup(previous, seen.action.kind, now);
  const server = serverSeen(seen.server);
  const serverAt = seen.serverReadAt ?? now;
  const serverGoneSince = server === 'gone' ? (previous.serverGoneSince ?? new Date(serverAt).toISOString()) : server === 'found' ? null : previous.serverGoneSince;
  const serverGoneAnswers = server === 'gone' ? previous.serverGoneAnswers + 1 : server === 'found' ? 0 : previous.serverGoneAnswers;
  const { migrationsReadable, migrationsRefusedAnswers } = rememberMigrations(previous, seen.migrations);
  const { stallCheckedAt, erroredSince } = rememberStall(previous, seen, serverAt);
  const finishSeenAt = rememberFinish(previous, seen, seen.actionReadAt ?? now);
  const same = serverGoneSince === previous.serverGoneSince && serverGoneAnswers === previous.serverGoneAnswers &&
    migrationsReadable === previous.migrationsReadable && migrationsRefusedAnswers === previous.migrationsRefusedAnswers &&
    stallCheckedAt === previous.stallCheckedAt && erroredSince === previous.erroredSince && finishSeenAt === previous.finishSeenAt;
  return same ? looked : { ...looked, serverGoneSince, serverGoneAnswers, migrationsReadable, migrationsRefusedAnswers, stallCheckedAt, erroredSince, finishSeenAt };
}

/**
 * Since when the action's events have been seen finished as they finish now: a later step, or a finish
 * that moved (a retried step, an `updated_at` with hidden events), is seen from now.
 */
function rememberFinish(previous: WatchMemory, seen: Observations & { lastAction: InstanceAction | null }, now: number): string | null {
  if (seen.action.kind !== 'found') return previous.finishSeenAt;
  if (!eventsFinished(seen.action.action)) return null;
  return previous.finishSeenAt !== null && sameFinish(seen.lastAction, seen.action.action) ? previous.finishSeenAt : new Date(now).toISOString();
}

/**
 * A look at the server while an event runs, or before the first has started (verdict.ts judgeRunning):
 * when it was, and since when the server has shown the sign of a step that died with its compute service
 * (deadStep.ts; `erroredSince`, after the sign of most steps). Events all finished, the sign is no longer
 * one beside a running step; `erroredSince` then tells since when a failed step has left the server ERROR
 * with its task state (failedStepSign).
 */
function rememberStall(previous: WatchMemory, seen: Observations, now: number): Pick<WatchMemory, 'stallCheckedAt' | 'erroredSince'> {
  const action = seen.action.kind === 'found' ? seen.action.action : undefined;
  // An action with no event yet waits on its first step (eventsFinished.ts).
  const running = action !== undefined && !eventsFinished(action);
  if (!running) {
    const left = action !== undefined && seen.server.kind === 'found' && failedStepSign(action, seen.server.server.info) !== null;
    const erroredSince = left ? (previous.erroredSince ?? new Date(now).toISOString()) : action?.events === undefined ? previous.erroredSince : null;
    return { stallCheckedAt: previous.stallCheckedAt, erroredSince };
  }
  // A look refused (a policy) is one made: made again at every poll, it would be for the rest of the step.
  if (seen.server.kind === 'error' && seen.server.refused === true) return { stallCheckedAt: new Date(now).toISOString(), erroredSince: previous.erroredSince };
  if (serverSeen(seen.server) !== 'found' || seen.server.kind !== 'found') return previous;
  const errored = seen.action.kind === 'found' && deadStepSign(seen.action.action, seen.server.server.info) !== null;
  return { stallCheckedAt: new Date(now).toISOString(), erroredSince: errored ? (previous.erroredSince ?? new Date(now).toISOString()) : null };
}

/**
 * What a read of the server saw of it: a server in a down cell (2.69's stub, status UNKNOWN) shows nothing of
 * its state, as a failed read does, and what earlier looks saw of it (its sign, its 404) stands.
 */
function serverSeen(server: ServerObservation): ServerObservation['kind'] {
  return server.kind === 'found' && inDownCell(server.server.info) ? 'error' : server.kind;
}

/** From 2.69 a server in a cell nova-api cannot reach is a stub with status UNKNOWN and no task state. */
export function inDownCell(info: ServerInfo): boolean {
  return info.status === 'UNKNOWN';
}

/**
 * An answer makes the migration records readable again. Nova's policy refusal stands at once; any other
 * refusal (an HTML page from a firewall or gateway, a 404 or 400 from something in front of Nova) may be
 * a blip, and counts only when the next ask is refused too.
 */
export function rememberMigrations(previous: WatchMemory, seen: MigrationsObservation): Pick<WatchMemory, 'migrationsReadable' | 'migrationsRefusedAnswers'> {
  if (seen.kind === 'read') return { migrationsReadable: true, migrationsRefusedAnswers: 0 };
  if (seen.kind !== 'refused') return previous;
  const answers = previous.migrationsRefusedAnswers + 1;
  const counts = seen.byPolicy || answers >= MIGRATIONS_REFUSED_MIN_ANSWERS;
  return { migrationsReadable: counts ? false : previous.migrationsReadable, migrationsRefusedAnswers: answers };
}
