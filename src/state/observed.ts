// What polls of a running action have seen is, for nearly every watch, nothing out of the ordinary: the
// action found, the server never gone, the migrations never asked for. Records that remember only that share
// one frozen object rather than hold 10,000 equal ones (120 B each, docs/performance.md, Memory).
import type { ObservedMemory } from './types.ts';

/** The memory of a watch whose polls have seen nothing out of the ordinary: shared, and so frozen. */
export const NOTHING_OBSERVED: Readonly<ObservedMemory> = Object.freeze({
  firstNotFoundAt: null,
  notFoundAnswers: 0,
  serverGoneSince: null,
  serverGoneAnswers: 0,
  migrationsReadable: null,
  migrationsRefusedAnswers: 0,
  stallCheckedAt: null,
  erroredSince: null,
  finishSeenAt: null,
});

const FIELDS = Object.keys(NOTHING_OBSERVED) as (keyof ObservedMemory)[];

/** `observed`, or the shared object when it holds just what that does. Nothing may change the result in place. */
export function sharedObserved(observed: ObservedMemory): ObservedMemory {
  return FIELDS.every((field) => observed[field] === NOTHING_OBSERVED[field]) ? NOTHING_OBSERVED : observed;
}
