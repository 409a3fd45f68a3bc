import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClockSteps } from '../../src/watch/clockSteps.ts';

afterEach(() => {
  vi.useRealTimers();
});

const MINUTE = 60_000;

/** Fake wall and monotonic clocks, and a boot clock that adds the time slept to the monotonic one, counting its reads. */
function clocks() {
  vi.useFakeTimers({ toFake: ['Date', 'performance'], now: new Date('2026-12-02T10:00:00.000Z') });
  const boot = { slept: 0, reads: 0 };
  const steps = new ClockSteps(() => {
    boot.reads++;
    return performance.now() + boot.slept;
  });
  return { steps, boot };
}

describe('ClockSteps', () => {
  it('sees nothing while the clock keeps time, and reads the boot clock only every 5 s', () => {
    const { steps, boot } = clocks();
    for (let i = 0; i < 100; i++) {
      vi.advanceTimersByTime(100);
      expect(steps.look()).toBeNull();
    }
    expect(boot.reads).toBe(1 + 2);
  });

  it('tells a clock set (forward or back) from a sleep, and both at once', () => {
    const { steps, boot } = clocks();
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    expect(steps.look()).toEqual({ movedMs: 30 * MINUTE, sleptMs: 0, setMs: 30 * MINUTE });
    vi.setSystemTime(Date.now() - 2 * MINUTE);
    expect(steps.look()).toEqual({ movedMs: -2 * MINUTE, sleptMs: 0, setMs: -2 * MINUTE });
    boot.slept += 60 * MINUTE;
    vi.setSystemTime(Date.now() + 60 * MINUTE);
    expect(steps.look()).toEqual({ movedMs: 60 * MINUTE, sleptMs: 60 * MINUTE, setMs: 0 });
    boot.slept += 60 * MINUTE;
    vi.setSystemTime(Date.now() + 50 * MINUTE);
    expect(steps.look()).toEqual({ movedMs: 50 * MINUTE, sleptMs: 60 * MINUTE, setMs: -10 * MINUTE });
  });

  it('takes the boot clock\'s hundredths of a second for no step, and sees no step below 30 s', () => {
    const { steps, boot } = clocks();
    boot.slept += 45_000 - 400;
    vi.setSystemTime(Date.now() + 45_000);
    expect(steps.look()).toEqual({ movedMs: 45_000, sleptMs: 45_000, setMs: 0 });
    vi.setSystemTime(Date.now() + 29_000);
    expect(steps.look()).toBeNull();
  });

  it('takes a sleep that comes within 5 s of a shorter one for time that passed, not partly for a clock set back', () => {
    const { steps, boot } = clocks();
    vi.advanceTimersByTime(5000);
    expect(steps.look()).toBeNull();
    // 20 s asleep, below a step; a second after waking, 40 s more.
    boot.slept += 20_000;
    vi.setSystemTime(Date.now() + 20_000);
    vi.advanceTimersByTime(1000);
    expect(steps.look()).toBeNull();
    boot.slept += 40_000;
    vi.setSystemTime(Date.now() + 40_000);
    vi.advanceTimersByTime(1000);
    expect(steps.look()).toEqual({ movedMs: 40_000, sleptMs: 40_000, setMs: 0 });
  });

  it('does not add up short sleeps, each below a step, into a step of the clock', () => {
    const { steps, boot } = clocks();
    for (let i = 0; i < 10; i++) {
      boot.slept += 20_000;
      vi.setSystemTime(Date.now() + 20_000);
      vi.advanceTimersByTime(5000);
      expect(steps.look()).toBeNull();
    }
    boot.slept += 40_000;
    vi.setSystemTime(Date.now() + 40_000);
    expect(steps.look()).toEqual({ movedMs: 40_000, sleptMs: 40_000, setMs: 0 });
  });
});
