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

  // A span measured as 59.97 s read "60 s" beside others' "1 min", and 999.6 ms "1000 ms".
  it('says a duration that rounds up to the next unit in that unit', () => {
    expect(formatDuration(999.6)).toBe('1 s');
    expect(formatDuration(59_960)).toBe('1 min');
    expect(formatDuration(59_940)).toBe('59.9 s');
  });

  // A deadline or delivery.maxAge written 7d or 24d (the longest) was said back as 168 h or 576 h.
  it('says a duration of two days or more in days and hours, rounded once, to the nearest hour', () => {
    expect(formatDuration(47 * 3_600_000 + 59 * 60_000)).toBe('47 h 59 min');
    expect(formatDuration(48 * 3_600_000 - 20_000)).toBe('2 d');
    expect(formatDuration(7 * 86_400_000)).toBe('7 d');
    expect(formatDuration(24 * 86_400_000)).toBe('24 d');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000 + 29 * 60_000)).toBe('3 d 4 h');
    expect(formatDuration(3 * 86_400_000 + 23 * 3_600_000 + 30 * 60_000)).toBe('4 d');
  });

  // Rounded twice, to seconds and then to minutes, half a minute less half a second read as a minute more.
  it('rounds a duration in hours once, to the nearest minute', () => {
    expect(formatDuration(3_600_000 + 29_500)).toBe('1 h');
    expect(formatDuration(3_600_000 + 30_000)).toBe('1 h 1 min');
    expect(formatDuration(2 * 3_600_000 + 89_500)).toBe('2 h 1 min');
  });
});
