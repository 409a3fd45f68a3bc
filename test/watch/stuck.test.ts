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

  it('is not stuck between passes until the next is overdue by more than the limit: a schedule may be hours apart', () => {
    const hours10 = 10 * 3_600_000;
    expect(stuckLoop({ passStartedAt: null, lastSignAt: 0, nextPassDueAt: hours10 }, hours10, limit)).toBeUndefined();
    expect(stuckLoop({ passStartedAt: null, lastSignAt: 0, nextPassDueAt: hours10 }, hours10 + limit, limit)).toBeUndefined();
    expect(stuckLoop({ passStartedAt: null, lastSignAt: 0, nextPassDueAt: hours10 }, hours10 + limit + 1, limit)).toBe(
      "no poll pass has begun for 10 min after one was due by poll.schedule (more than 10 min): the schedule's timer was lost, a fault of node-cron or ours",
    );
    // No schedule (a pass run by hand), or one stopping: nothing is due.
    expect(stuckLoop({ passStartedAt: null, lastSignAt: 0, nextPassDueAt: null }, hours10, limit)).toBeUndefined();
  });

  it('judges a pass in flight by its signs, however overdue the pass it stands for', () => {
    expect(stuckLoop({ passStartedAt: 2 * limit, lastSignAt: -Infinity, nextPassDueAt: 0 }, 2 * limit + 1000, limit)).toBeUndefined();
  });

  it('counts from the pass start, or from the last poll or request that ended, whichever came later', () => {
    expect(stuckLoop({ passStartedAt: 1000, lastSignAt: -Infinity, nextPassDueAt: null }, 1000 + limit, limit)).toBeUndefined();
    expect(stuckLoop({ passStartedAt: 1000, lastSignAt: 5 * 60_000, nextPassDueAt: null }, 1000 + limit + 1, limit)).toBeUndefined();
    expect(stuckLoop({ passStartedAt: 1000, lastSignAt: -Infinity, nextPassDueAt: null }, 1000 + limit + 1, limit)).toBeDefined();
  });

  it('says for how long the pass has run, how long nothing ended, the limit and the likely causes', () => {
    expect(stuckLoop({ passStartedAt: 0, lastSignAt: 120_000, nextPassDueAt: null }, 125 * 60_000, limit)).toBe(
      'a poll pass has run for 2 h 5 min, and no poll or request to the cloud has ended for 2 h 3 min (more than 10 min): ' +
        'a save of the state that hangs (its volume), or a fault of ours',
    );
  });
});
