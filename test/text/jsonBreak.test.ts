import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonBreak } from '../../src/text/jsonBreak.ts';

describe('jsonBreak', () => {
  it('finds no break in what JSON.parse reads, and one in what it refuses', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.string({ maxLength: 3 }), (json, cut, insert) => {
        expect(jsonBreak(json)).toBeNull();
        const at = cut % (json.length + 1);
        const edited = json.slice(0, at) + insert + json.slice(at);
        let parses = true;
        try {
          JSON.parse(edited);
        } catch {
          parses = false;
        }
        expect(jsonBreak(edited) === null).toBe(parses);
      }),
    );
  });

  it('says the line and column of the first character that cannot continue the JSON, past its end when it ends short', () => {
    const inside = { endsShort: false };
    expect(jsonBreak('{"a": [1, 2,]}')).toEqual({ line: 1, column: 13, ...inside });
    expect(jsonBreak('{\n  "a": tru\n}')).toEqual({ line: 2, column: 8, ...inside });
    expect(jsonBreak("{\n\n'a': 1}")).toEqual({ line: 3, column: 1, ...inside });
    expect(jsonBreak('{"a": "b\\x"}')).toEqual({ line: 1, column: 9, ...inside });
    expect(jsonBreak('{"a": 1}\n}')).toEqual({ line: 2, column: 1, ...inside });
    expect(jsonBreak('\ufeff{}')).toEqual({ line: 1, column: 1, ...inside });
    expect(jsonBreak('{"a": {"b": 1}')).toEqual({ line: 1, column: 15, endsShort: true });
    expect(jsonBreak('{"a": [1,\n')).toEqual({ line: 2, column: 1, endsShort: true });
  });

  it('reads a file nested far deeper than a stack of calls would hold', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(jsonBreak(deep)).toBeNull();
    expect(jsonBreak(`${deep.slice(0, -1)},]`)).toEqual({ line: 1, column: 400_001, endsShort: false });
  });
});
