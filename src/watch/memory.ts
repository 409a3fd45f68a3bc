import type { ObservedMemory, WatchRecord } from '../state/types.ts';
import { rememberLookup } from './judgement.ts';
import type { Observations } from './verdict.ts';

/** What the verdict needs from earlier polls: the record's `everFound` and its `observed` memory. */
export interface WatchMemory extends ObservedMemory {
  everFound: boolean;
}

const NOTHING_OBSERVED: ObservedMemory = {
  firstNotFoundAt: null,
  notFoundAnswers: 0,
  serverGoneSince: null,
  serverGoneAnswers: 0,
  migrationsReadable: null,
};

/** A record's memory; one written by a version without `observed` has seen nothing of this kind yet. */
export function memoryOf(record: Pick<WatchRecord, 'everFound' | 'observed'>): WatchMemory {
  return { ...NOTHING_OBSERVED, ...record.observed, everFound: record.everFound };
}

/** Splits a memory back into the record's two fields. */
export function toRecordFields(memory: WatchMemory): Pick<WatchRecord, 'everFound'> & { observed: ObservedMemory } {
  const { everFound, ...observed } = memory;
  return { everFound, observed };
}

/**
 * The memory after one poll's answers. Pure, and computed from the memory as it was before the poll,
 * so that a poll reading the action twice still counts one answer.
 */
export function remember(previous: WatchMemory, seen: Observations, now: number): WatchMemory {
  const looked = rememberLookup(previous, seen.action.kind, now);
  // Never the memory given: a poll judges each of its reads against the memory from before the poll.
  const next = looked === previous ? { ...previous } : looked;
  if (seen.server.kind === 'gone') {
    next.serverGoneSince = previous.serverGoneSince ?? new Date(now).toISOString();
    next.serverGoneAnswers = previous.serverGoneAnswers + 1;
  } else if (seen.server.kind === 'found') {
    next.serverGoneSince = null;
    next.serverGoneAnswers = 0;
  }
  if (seen.migrations.kind === 'refused') next.migrationsReadable = false;
  else if (seen.migrations.kind === 'read') next.migrationsReadable = true;
  return next;
}
