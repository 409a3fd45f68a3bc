import { describe, expect, it } from 'vitest';
import { oneLine } from '../../src/net/oneLine.ts';

describe('oneLine', () => {
  it('collapses whitespace and cuts to the characters allowed, the ellipsis included', () => {
    expect(oneLine('  No valid host\n\twas found.  ')).toBe('No valid host was found.');
    expect(oneLine('x'.repeat(10), 5)).toBe('xxxx…');
  });

  // An API's message cut so (a poll error, a notification's reason) went out with half a character: a
  // webhook body with a lone \ud83d escape, which strict JSON readers (Rust's serde_json) refuse.
  it('never cuts between the two halves of a character outside the BMP', () => {
    const cut = oneLine(`${'x'.repeat(298)}😀 and more`);
    expect(cut).toBe(`${'x'.repeat(298)}…`);
    expect(cut.isWellFormed()).toBe(true);
  });
});
