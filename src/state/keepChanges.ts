import { isDeepStrictEqual } from 'node:util';

/**
 * Sets the fields of `record` that differ from `found`; true when one did. A field that is equal keeps
 * its old value: records live as long as their watch, and replacing their documents with equal new ones
 * at every poll would age thousands of objects a second into the old generation, only to die there.
 */
export function keepChanges<R extends object>(record: R, found: Partial<R>): boolean {
  let changed = false;
  for (const field in found) {
    if (equal(record[field], found[field])) continue;
    record[field] = found[field] as R[typeof field];
    changed = true;
  }
  return changed;
}

/**
 * isDeepStrictEqual, without its allocations for what a poll compares most: the same document (a client
 * returns the one it had when the answer did not change) and small records of plain values (what earlier
 * polls saw), compared field by field.
 */
function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!isPlainRecord(a) || !isPlainRecord(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return isDeepStrictEqual(a, b);
  let fields = 0;
  for (const key in a) {
    const value = a[key];
    if (typeof value === 'object' && value !== null) return isDeepStrictEqual(a, b);
    if (!Object.hasOwn(b, key) || !Object.is(value, b[key])) return false;
    fields++;
  }
  for (const key in b) if (Object.hasOwn(b, key) && --fields < 0) return false;
  return fields === 0;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
