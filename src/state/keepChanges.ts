import { isDeepStrictEqual } from 'node:util';

/**
 * Sets the fields of `record` that differ from `found`; true when one did. A field that is equal keeps
 * its old value: records live as long as their watch, and replacing their documents with equal new ones
 * at every poll would age thousands of objects a second into the old generation, only to die there.
 */
export function keepChanges<R extends object>(record: R, found: Partial<R>): boolean {
  let changed = false;
  for (const field of Object.keys(found) as Array<keyof R>) {
    if (isDeepStrictEqual(record[field], found[field])) continue;
    record[field] = found[field] as R[keyof R];
    changed = true;
  }
  return changed;
}
