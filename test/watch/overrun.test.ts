import { afterEach, describe, expect, it, vi } from 'vitest';
import cron from 'node-cron';
import { PassOverrun } from '../../src/watch/overrun.ts';

describe('PassOverrun', () => {
  it('tells once when passes start to outlast the schedule and once when they fit again', () => {
    const overrun = new PassOverrun();
    expect(overrun.passEnded(400)).toBeUndefined();
    overrun.skipped();
    overrun.skipped();
    expect(overrun.passEnded(2300)).toEqual({ kind: 'started', passMs: 2300, skipped: 2, failedPolls: 0 });
    for (let i = 0; i < 5; i++) {
      overrun.skipped();
      expect(overrun.passEnded(1500)).toBeUndefined();
    }
    expect(overrun.passEnded(600)).toEqual({ kind: 'ended', passMs: 600 });
    expect(overrun.passEnded(600)).toBeUndefined();
    overrun.skipped();
    expect(overrun.passEnded(1800)).toEqual({ kind: 'started', passMs: 1800, skipped: 1, failedPolls: 0 });
  });

  it('counts the polls of the pass that failed, which made it long: of that pass alone', () => {
    const overrun = new PassOverrun();
    overrun.pollFailed();
    expect(overrun.passEnded(400)).toBeUndefined();
    for (let i = 0; i < 3; i++) overrun.pollFailed();
    overrun.skipped();
    expect(overrun.passEnded(9000)).toEqual({ kind: 'started', passMs: 9000, skipped: 1, failedPolls: 3 });
  });
});

describe('node-cron, as the engine uses it', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('skips a tick while the pass runs, says so by execution:overlap, and only warns through our logger', async () => {
    vi.useFakeTimers();
    let release = () => {};
    let runs = 0;
    const warnings: string[] = [];
    const task = cron.schedule(
      '* * * * * *',
      () => {
        runs += 1;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      { noOverlap: true, logger: { info: () => {}, debug: () => {}, error: () => {}, warn: (m: string) => void warnings.push(m) } },
    );
    let overlaps = 0;
    task.on('execution:overlap', () => {
      overlaps += 1;
    });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(runs).toBe(1);
    expect(overlaps).toBeGreaterThanOrEqual(2);
    // The engine turns exactly this warning into a debug line and reports the overrun itself.
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((m) => m.startsWith('task still running'))).toBe(true);
    release();
    await task.destroy();
  });
});
