import { describe, expect, it } from 'vitest';
import { DeadlineHold } from '../../src/watch/deadlineHold.ts';
import type { WatchTarget } from '../../src/watch/kinds/types.ts';

const HOUR = 3_600_000;

function watch(requestId: string, deadlineMs: number): WatchTarget {
  return { projectId: 'p', serverId: `srv-${requestId}`, requestId, deadlineMs };
}

describe('DeadlineHold', () => {
  it('keeps the deadline a reload shortened until that file is confirmed, and lets a longer one through at once', () => {
    const hold = new DeadlineHold([watch('a', 12 * HOUR), watch('b', HOUR)]);
    const reloaded = [watch('a', 6 * HOUR), watch('b', 2 * HOUR)];
    const { targets, held } = hold.apply(reloaded);
    expect(targets.map((t) => t.deadlineMs)).toEqual([12 * HOUR, 2 * HOUR]);
    expect(held).toEqual([{ target: reloaded[0], keptMs: 12 * HOUR, reloadedMs: 6 * HOUR }]);
    hold.confirm(reloaded);
    expect(hold.apply(reloaded)).toEqual({ targets: reloaded, held: [] });
  });

  it('measures against the last confirmed file, not the last reloaded one: a watch left out and back keeps its deadline', () => {
    const hold = new DeadlineHold([watch('a', 12 * HOUR)]);
    // A cut read without the watch, then one with it but without its deadline, neither confirmed.
    expect(hold.apply([]).held).toEqual([]);
    expect(hold.apply([watch('a', 6 * HOUR)]).targets[0]!.deadlineMs).toBe(12 * HOUR);
  });

  it('holds nothing for a watch no confirmed file listed', () => {
    const hold = new DeadlineHold([]);
    const added = [watch('new', 60_000)];
    expect(hold.apply(added)).toEqual({ targets: added, held: [] });
  });
});
