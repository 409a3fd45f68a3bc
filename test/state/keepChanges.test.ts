import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepChanges } from '../../src/state/keepChanges.ts';

// Small records of plain values, as a poll's memory is, and documents nested in them.
const value = fc.oneof(fc.constantFrom(null, undefined, 0, -0, 1, NaN, '', 'a', true, false), fc.string({ maxLength: 3 }));
const flat = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), value, { maxKeys: 4 });
const nested = fc.oneof(flat, fc.record({ a: flat, b: fc.array(value, { maxLength: 2 }) }), value);

describe('keepChanges', () => {
  it('sees a change exactly when isDeepStrictEqual does, and keeps the old value when there is none', () => {
    fc.assert(
      fc.property(nested, nested, (before, after) => {
        const record: { field: unknown } = { field: before };
        const changed = keepChanges(record, { field: after });
        expect(changed).toBe(!isDeepStrictEqual(before, after));
        expect(record.field).toBe(changed ? after : before);
      }),
      { numRuns: 2000 },
    );
  });

  it('tells a record missing a key from one holding undefined under it', () => {
    const record: { field: object } = { field: { a: 1 } };
    expect(keepChanges(record, { field: { a: 1, b: undefined } })).toBe(true);
    expect(keepChanges(record, { field: { a: 1 } })).toBe(true);
    expect(keepChanges(record, { field: { a: 1 } })).toBe(false);
  });
});
