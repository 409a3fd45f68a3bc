// `wait` as a CI job runs it: stderr no terminal, and a log that must not stay silent for minutes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Capture, Harness, quickAction } from './harness.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  const h = await Harness.start(options);
  cleanups.push(() => h.close());
  return h;
}

/** Waits for what runs on real sockets and the schedule (a pass, an answer), by the real clock: Date may be fake. */
async function until(done: () => boolean, what: string): Promise<void> {
  const giveUpAt = performance.now() + 10_000;
  while (!done()) {
    if (performance.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('wait without a terminal', () => {
  it('writes a line at each change and the last one again each minute without one; stdout keeps the result', async () => {
    // The fake clock moves on with real time (the simulator and the polls need it) and jumps when told.
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'], shouldAdvanceTime: true });
    const h = await harness();
    const action = quickAction({
      action: 'create',
      steps: [
        { event: 'conductor_schedule_and_build_instances', durationMs: 1500 },
        { event: 'compute__do_build_and_run_instance', durationMs: 5 * 60_000 },
      ],
    });
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([], { poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    const stderr = new Capture();
    const running = h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '1h30m'], { stderr });
    const lines = () => stderr.text.split('\n').filter(Boolean);
    const building = 'ecs-action-watch wait: create: 1/2 events done, compute__do_build_and_run_instance running';

    await until(() => lines().length === 2, 'the second step');
    expect(lines()).toEqual([
      expect.stringMatching(/^ecs-action-watch wait: create: 0\/1 events done, conductor_schedule_and_build_instances running · \ds$/),
      expect.stringMatching(new RegExp(`^${building} · \\ds$`)),
    ]);
    // Minutes in which the polls see nothing new: the same line once a minute.
    vi.advanceTimersByTime(60_000);
    vi.advanceTimersByTime(60_000);
    expect(lines().slice(2)).toEqual([expect.stringMatching(new RegExp(`^${building} · 1m0\\ds$`)), expect.stringMatching(new RegExp(`^${building} · 2m0\\ds$`))]);

    // Three polls fail: a line at the first only, then one when the polls answer again.
    h.simulator.injectFault({ kind: 'server-error' }, { pathIncludes: action.requestId, times: 3 });
    await until(() => h.simulator.pendingFaults === 0 && lines().length === 6, 'the polls failing, then answering again');
    expect(lines()[4]).toMatch(new RegExp(`^${building}; last poll failed: GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/\\w+/servers/${action.serverId}/os-instance-actions/${action.requestId} → 500 .* · 2m\\d\\ds$`));
    expect(lines()[5]).toMatch(new RegExp(`^${building} · 2m\\d\\ds$`));

    // The minute counts from the last line.
    vi.advanceTimersByTime(59_000);
    expect(lines()).toHaveLength(6);
    vi.advanceTimersByTime(1000);
    expect(lines()[6]).toMatch(new RegExp(`^${building} · 3m\\d\\ds$`));
    vi.advanceTimersByTime(3 * 60_000);
    const r = await running;
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: create: 2 events succeeded in /) });
    expect(lines().slice(7, 10)).toEqual(['4m', '5m', '6m'].map((m) => expect.stringMatching(new RegExp(`^${building} · ${m}\\d\\ds$`))));
    expect(lines().every((l) => l.startsWith('ecs-action-watch wait: '))).toBe(true);
  });
});
