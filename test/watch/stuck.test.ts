import { describe, expect, it } from 'vitest';
import { STUCK_FLOOR_MS, stuckAfterMs, stuckLoop } from '../../src/watch/stuck.ts';

describe('stuckAfterMs', () => {
  it('is ten minutes for any cloud timeout and rate limit that cannot hold a request that long', () => {
    expect(stuckAfterMs(10_000, undefined)).toBe(STUCK_FLOOR_MS);
    expect(stuckAfterMs(500, { count: 50, perMs: 1000 })).toBe(STUCK_FLOOR_MS);
    expect(stuckAfterMs(60_000, { count: 600, perMs: 60_000 })).toBe(STUCK_FLOOR_MS);
  });

  it('grows with a rate limit whose window is long: after a 429 one request a window may be all that goes', () => {
    expect(stuckAfterMs(10_000, { count: 1000, perMs: 3_600_000 })).toBe(2 * (10_000 + 3_600_000 + 60_000));
  });

  it('grows with a cloud timeout that long', () => {
    expect(stuckAfterMs(600_000, undefined)).toBe(2 * (600_000 + 1000 + 60_000));
  });
});

describe('stuckLoop', () => {
  const limit = 600_000;

  it('is never stuck between passes: a schedule may be hours apart', () => {
    expect(stuckLoop({ passStartedAt: null, lastSignAt: 0 }, 10 * 3_600_000, limit)).toBeUndefined();
  });

  it('counts from the pass start, or from the last poll or request that ended, whichever came later', () => {
    expect(stuckLoop({ passStartedAt: 1000, lastSignAt: -Infinity }, 1000 + limit, limit)).toBeUndefined();
    expect(stuckLoop({ passStartedAt: 1000, lastSignAt: 5 * 60_000 }, 1000 + limit + 1, limit)).toBeUndefined();
    expect(stuckLoop({ passStartedAt: 1000, lastSignAt: -Infinity }, 1000 + limit + 1, limit)).toBeDefined();
  });

  it('says for how long the pass has run, how long nothing ended, the limit and the likely causes', () => {
    expect(stuckLoop({ passStartedAt: 0, lastSignAt: 120_000 }, 125 * 60_000, limit)).toBe(
      'a poll pass has run for 2 h 5 min, and no poll or request to the cloud has ended for 2 h 3 min (more than 10 min): ' +
        'a save of the state that hangs (its volume), or a fault of ours',
    );
  });
});
