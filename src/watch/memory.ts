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
 * so that a poll reading the action twice still counts one answer. A poll that changes nothing (nearly
 * every one) gets the memory given back, not a copy.
 */
export function remember(previous: WatchMemory, seen: Observations, now: number): WatchMemory {
  const looked = rememberLookup(previous, seen.action.kind, now);
  const server = seen.server.kind;
  const serverGoneSince = server === 'gone' ? (previous.serverGoneSince ?? new Date(now).toISOString()) : server === 'found' ? null : previous.serverGoneSince;
  const serverGoneAnswers = server === 'gone' ? previous.serverGoneAnswers + 1 : server === 'found' ? 0 : previous.serverGoneAnswers;
  const migrations = seen.migrations.kind;
  const migrationsReadable = migrations === 'refused' ? false : migrations === 'read' ? true : previous.migrationsReadable;
  const same = serverGoneSince === previous.serverGoneSince && serverGoneAnswers === previous.serverGoneAnswers && migrationsReadable === previous.migrationsReadable;
  return same ? looked : { ...looked, serverGoneSince, serverGoneAnswers, migrationsReadable };
}
