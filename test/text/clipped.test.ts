import { describe, expect, it } from 'vitest';
import { clipped } from '../../src/text/clipped.ts';

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
