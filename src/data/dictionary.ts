// Mappings keyed by names that users choose (notifiers, headers) or that come from files (state records).
// A plain object answers `constructor` and `toString` from its prototype and turns an assignment to
// `__proto__` into a prototype change, so such names would silently vanish or collide. A null-prototype
// object keeps every name an ordinary key while staying what JSON.stringify and Object.entries expect.
import * as z from 'zod';

/** A mapping with no prototype: every key, `__proto__` included, is an own entry. */
export type Dictionary<V> = Record<string, V>;

export function dictionary<V>(entries: Iterable<readonly [string, V]> = []): Dictionary<V> {
  // Not Object.create(null): V8 keeps such an object in dictionary mode, a hash table of 185 bytes for one
  // key, and every watch record holds one (its deliveries). A literal given a null prototype stays a fast
  // object: 57 bytes.
  const out = Object.setPrototypeOf({}, null) as Dictionary<V>;
  for (const [key, value] of entries) out[key] = value;
  return out;
}

/** A YAML or JSON mapping: an object that is not null and not an array. */
export const isMapping = (input: unknown): input is Record<string, unknown> =>
  typeof input === 'object' && input !== null && !Array.isArray(input);

// The z.record each dictionary schema stands for: what its JSON Schema says (a preprocess has none).
const recordTwins = new WeakMap<object, z.ZodType>();

/** For JSON Schema generation: the `z.record` that `schema` validates like, if it is a dictionary schema. */
export function recordTwinOf(schema: object): z.ZodType | undefined {
  return recordTwins.get(schema);
}

/**
 * Like `z.record(key, value)`, whose output silently drops a `__proto__` key, but returns a Dictionary.
 * A key that fails `key` is reported as `invalid_key` at that key, as `z.record` does.
 */
export function dictionarySchema<V extends z.ZodType>(key: z.ZodType<string>, value: V) {
  const checkedKey = z.string().check((ctx) => {
    const result = key.safeParse(ctx.value);
    if (result.success) return;
    const first = result.error.issues[0];
    ctx.issues.push({ code: 'invalid_key', origin: 'map', input: ctx.value, issues: result.error.issues, ...(first ? { message: first.message } : {}) });
  });
  const schema = z
    .preprocess(
      // Object.entries keeps an own `__proto__` key, which JSON.parse and the yaml parser both create.
      (input) => (isMapping(input) ? new Map(Object.entries(input)) : input),
      z.map(checkedKey, value),
    )
    .transform((map) => dictionary(map));
  recordTwins.set(schema, z.record(key, value));
  return schema;
}
