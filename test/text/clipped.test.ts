import { describe, expect, it } from 'vitest';
import { clipped, quoted } from '../../src/text/clipped.ts';

describe('clipped', () => {
  it('leaves text of the length allowed as it is', () => {
    expect(clipped('x'.repeat(80))).toBe('x'.repeat(80));
    expect(clipped('')).toBe('');
  });

  it('cuts longer text and says how long it was, unless told not to', () => {
    expect(clipped('abcdefghij', 4)).toBe('abcd… (10 characters)');
    expect(clipped('abcdefghij', 4, false)).toBe('abcd…');
  });

  it('never cuts between the two halves of a character outside the BMP', () => {
    expect(clipped('abc😀def', 4)).toBe('abc… (8 characters)');
    expect(clipped('abcd😀ef', 5, false)).toBe('abcd…');
    expect(clipped('abcd😀ef', 6, false)).toBe('abcd😀…');
  });
});

describe('quoted', () => {
  it('escapes what a terminal acts on or shows as nothing, as JSON escapes it in a path, and counts the text as it was', () => {
    expect(quoted('a\nb\tc\r')).toBe("'a\\nb\\tc\\r'");
    expect(quoted('\u001b[2J\u0000')).toBe("'\\u001b[2J\\u0000'");
    expect(quoted('timeout\uFEFF\u200B\u2028')).toBe("'timeout\\ufeff\\u200b\\u2028'");
    expect(quoted('\u00a0 retries\u3000x y')).toBe("'\\u00a0 retries\\u3000x y'");
    expect(clipped('\n'.repeat(10), 4)).toBe('\\n\\n\\n\\n… (10 characters)');
  });

  it('leaves other text as it is', () => {
    expect(quoted('Zürich 😀 ops-mail')).toBe("'Zürich 😀 ops-mail'");
  });
});
