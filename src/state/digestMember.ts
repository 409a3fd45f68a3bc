import type { DigestMember, DigestRecord } from './types.ts';

/**
 * Each digest's members by key, made at the first ask of a digest (its members never change once it is
 * recorded): a batch's release, and `check`, ask of each of its thousands of watches, which a walk of the
 * members made quadratic in the batch's size.
 */
const byKey = new WeakMap<DigestRecord, ReadonlyMap<string, DigestMember>>();

/** The digest's member for the watch at `key`; undefined when it does not list it. */
export function digestMember(digest: DigestRecord, key: string): DigestMember | undefined {
  let members = byKey.get(digest);
  if (members === undefined) byKey.set(digest, (members = new Map(digest.members.map((m) => [m.key, m]))));
  return members.get(key);
}
