import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/watch/format.ts';

describe('formatDuration', () => {
  // Also the give-up line's "still failing ... after the outcome": a short delivery.maxAge is no "0 min".
  it('says a duration in the largest unit that keeps it exact enough', () => {
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(20_000)).toBe('20 s');
    expect(formatDuration(59_000)).toBe('59 s');
    expect(formatDuration(90_000)).toBe('1 min 30 s');
    expect(formatDuration(24 * 3_600_000)).toBe('24 h');
    expect(formatDuration(90 * 60_000)).toBe('1 h 30 min');
  });
});
