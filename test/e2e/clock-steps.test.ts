// This host's clock stepped while the daemon runs (an NTP step, a VM resumed after hours): the real engine
// and node-cron on vitest's fake timers, whose setSystemTime moves the wall clock and leaves the monotonic
// one (performance.now(), the timers) as it was, as a step does.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Harness } from './harness.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

const HOUR = 3_600_000;

/** A daemon with no watches on a schedule of every 15 s, counting its passes. */
async function daemon(): Promise<{ passes: () => number }> {
  h = await Harness.start();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'], now: new Date('2026-12-02T10:00:00.500Z') });
  const app = await h.app(h.yaml([], { poll: '  schedule: "*/15 * * * * *"' }));
  let passes = 0;
  app.engine.start(() => void passes++);
  await vi.advanceTimersByTimeAsync(60_000);
  return { passes: () => passes };
}

const warnings = () => h.logs.lines().filter((l) => l['level'] === 40).map((l) => String(l['msg']));

describe("this host's clock stepped while the daemon runs", () => {
  it('polls on every 15 s after the clock steps back an hour, and says so once', async () => {
    const { passes } = await daemon();
    vi.setSystemTime(Date.now() - HOUR);
    const before = passes();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(passes() - before).toBeGreaterThanOrEqual(19);
    expect(warnings()).toEqual([expect.stringMatching(/^this host's clock stepped back 1 h: the poll schedule starts again from the new time/)]);
  });

  it('says once that the clock jumped forward an hour, not that 240 passes were missed for blocking IO', async () => {
    const { passes } = await daemon();
    vi.setSystemTime(Date.now() + HOUR);
    const before = passes();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(passes() - before).toBeGreaterThanOrEqual(3);
    expect(warnings()).toEqual([expect.stringMatching(/^this host's clock jumped forward 1 h more than the time this process measured passing/)]);
  });

  it('still warns of a pass missed while the event loop was held up, the clock keeping time', async () => {
    h = await Harness.start();
    const app = await h.app(h.yaml([], { poll: '  schedule: "* * * * * *"' }));
    let passes = 0;
    app.engine.start(() => void passes++);
    await vi.waitFor(() => expect(passes).toBeGreaterThan(1), { timeout: 3000 });
    const heldUntil = performance.now() + 2500;
    while (performance.now() < heldUntil); // blocking work, as a stuck synchronous call would be
    await vi.waitFor(() => expect(warnings()).toEqual([expect.stringMatching(/^poll passes were missed, node-cron finding their time already past: the event loop was held up/)]), { timeout: 3000 });
    expect(warnings().some((m) => m.startsWith("this host's clock"))).toBe(false);
  });
});

describe('a daylight-saving change, TZ=Europe/Berlin', () => {
  const zone = process.env['TZ'];
  afterEach(() => {
    if (zone === undefined) delete process.env['TZ'];
    else process.env['TZ'] = zone;
  });

  /** The times of the passes of `schedule` from 00:00 to 04:00 UTC on 2026-10-25, whose 02:00-03:00 local comes twice. */
  async function passesOverTheChange(schedule: string): Promise<number[]> {
    process.env['TZ'] = 'Europe/Berlin';
    h = await Harness.start();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'], now: new Date('2026-10-24T23:59:00.500Z') });
    const app = await h.app(h.yaml([], { poll: `  schedule: "${schedule}"` }));
    const passes: number[] = [];
    app.engine.start(() => void passes.push(Date.now()));
    await vi.advanceTimersByTimeAsync(4 * HOUR);
    return passes.slice(1);
  }

  it('polls every 15 s through the autumn change, not two hours without a pass', async () => {
    const passes = await passesOverTheChange('*/15 * * * * *');
    expect(passes).toHaveLength(4 * 240);
    expect(new Set(passes.slice(1).map((at, i) => at - passes[i]!))).toEqual(new Set([15_000]));
    expect(warnings()).toEqual([]);
  });

  it('reads a schedule that names hours in local time', async () => {
    const passes = await passesOverTheChange('0 30 4 * * *');
    expect(passes.map((at) => new Date(at).toISOString())).toEqual(['2026-10-25T03:30:00.000Z']);
  });
});
