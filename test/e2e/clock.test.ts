// A cloud whose clock is not this host's: the simulator stamps its actions and the Date of its answers on
// a clock 10 min ahead of (or behind) the daemon's, as a host without NTP would see a real cloud.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Harness, PROJECT, advance, newIds } from './harness.ts';
import { eventually } from '../eventually.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

async function cloudAhead(ms: number): Promise<Harness> {
  vi.useFakeTimers({ toFake: ['Date'] });
  h = await Harness.start({ now: () => Date.now() + ms });
  return h;
}

/** The simulator on a clock `aheadMs` ahead of this host's, with a reboot of one event lasting `durationMs`. */
async function rebootOnCloudAhead(aheadMs: number, durationMs: number): Promise<ReturnType<typeof newIds>> {
  await cloudAhead(aheadMs);
  const ids = newIds();
  h.simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs }] });
  return ids;
}

const bodies = () => h.hooks.received.map((r) => r.body as { type: string; outcome: string | null; reason: string });

describe("a cloud whose clock is not this host's", () => {
  it('judges a reboot done in 2 s a success, not a timeout, when the cloud is 10 min ahead, and says so in the log', async () => {
    const ids = await rebootOnCloudAhead(600_000, 2000);
    const app = await h.app(h.yaml([{ ...ids, name: 'web-01', extra: '    deadline: 5m' }]));
    // Before any answer, no measure: absent, not 0 (clocks in step).
    expect(await app.metrics.registry.getSingleMetricAsString('ecs_action_watch_cloud_clock_ahead_seconds')).not.toMatch(/^ecs_action_watch_cloud_clock_ahead_seconds /m);
    await advance(app, 6000);
    expect(bodies().map((b) => [b.type, b.outcome])).toEqual([['ecs.action.succeeded', 'success']]);
    const told = h.logs.lines().find((l) => String(l['msg']).startsWith("the cloud's clock is"));
    expect(told).toMatchObject({ level: 40, msg: expect.stringMatching(/^the cloud's clock is 10 min( \d s)? ahead of this host's/) as string });
    expect(await app.metrics.registry.getSingleMetricAsString('ecs_action_watch_cloud_clock_ahead_seconds')).toMatch(/^ecs_action_watch_cloud_clock_ahead_seconds 60\d$/m);
  });

  it('still ends as a timeout what finished past its deadline on the cloud\'s own clock', async () => {
    const ids = await rebootOnCloudAhead(600_000, 8000);
    const app = await h.app(h.yaml([{ ...ids, name: 'web-01', extra: '    deadline: 5s' }]));
    await advance(app, 12_000);
    expect(bodies().map((b) => b.outcome)).toEqual(['timeout']);
  });

  it('judges a finish seen before the deadline by when it was seen, however late its server read answers, when the cloud is 10 s ahead (not allowed for)', async () => {
    // Stamped 10 s ahead: the finish 1.5 s before the deadline reads as 8.5 s past it, and only the poll that
    // saw it tells it happened by then.
    const ids = await rebootOnCloudAhead(10_000, 8000);
    const app = await h.app(h.yaml([{ ...ids, name: 'web-01', extra: '    deadline: 9s' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    await advance(app, 7500);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 4 });
    await advance(app, 4000);
    expect(bodies().map((b) => [b.outcome, b.reason])).toEqual([['success', 'reboot: 1 event succeeded in 8 s, server ACTIVE']]);
    expect(h.logs.lines().filter((l) => l['msg'] === 'watch finished')).toEqual([expect.objectContaining({ outcome: 'success', reason: bodies()[0]!.reason })]);
  });

  it('... by when its read of the action answered, not when the reads after it in the same poll did (its server read answered 2 s later, past the deadline)', async () => {
    const ids = await rebootOnCloudAhead(10_000, 8000);
    const app = await h.app(h.yaml([{ ...ids, name: 'web-01', extra: '    deadline: 9s' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    await advance(app, 7500);
    h.simulator.injectFault({ kind: 'slow', delayMs: 100 }, { route: 'server' });
    // 8 s: the poll that sees the finish, 1 s before the deadline; its server read is answered at 10 s.
    vi.advanceTimersByTime(500);
    const poll = app.engine.pollOnce();
    await eventually(() => expect(h.simulator.requests.filter((r) => r.route === 'server')).toHaveLength(1));
    vi.advanceTimersByTime(2000);
    await poll;
    await app.outbox.flush();
    expect(bodies().map((b) => [b.outcome, b.reason])).toEqual([['success', 'reboot: 1 event succeeded in 8 s, server ACTIVE']]);
  });

  it('... and check, once the daemon has told it and let go of what its polls saw, shows the success it told, not a timeout', async () => {
    const ids = await rebootOnCloudAhead(10_000, 8000);
    const yaml = h.yaml([{ ...ids, name: 'web-01', extra: '    deadline: 9s' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const app = await h.app(yaml);
    await advance(app, 7500);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 4 });
    await advance(app, 4000);
    await eventually(() => expect(app.store.entries()[0]![1].deliveries).toMatchObject({ chat: { status: 'delivered' } }));
    await app.store.save();
    expect(bodies().map((b) => b.outcome)).toEqual(['success']);
    // Told, the daemon keeps no action and no memory of when its poll saw the finish: check has the cloud's stamps alone.
    expect(app.store.entries()[0]![1]).toMatchObject({ instanceAction: null, observed: undefined });
    const config = await h.writeConfig(yaml);
    const json = await h.cli(['check', '--json', '--config', config]);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ state: 'success', notified: expect.objectContaining({ outcome: 'success' }) as unknown })]);
    const table = await h.cli(['check', '--config', config]);
    expect(table.stdout).toMatch(/^web-01 .* success +\S+ +sent +-$/m);
  });

  it('... and so after a restart past the deadline, the daemon stopped while the server read failed', async () => {
    const ids = await rebootOnCloudAhead(10_000, 8000);
    const yaml = h.yaml([{ ...ids, name: 'web-01', extra: '    deadline: 9s' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const app = await h.app(yaml);
    await advance(app, 7500);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 2 });
    await advance(app, 1000);
    expect(app.store.entries()[0]![1]).toMatchObject({ lastError: expect.stringMatching(/\/servers\/\S+ → 503/) as string });
    await app.close();
    vi.advanceTimersByTime(5000);
    await advance(await h.app(yaml), 2000);
    expect(bodies().map((b) => [b.outcome, b.reason])).toEqual([['success', 'reboot: 1 event succeeded in 8 s, server ACTIVE']]);
  });

  it('check gives the age of an action by the cloud\'s clock, and says the clocks are apart', async () => {
    const ids = await rebootOnCloudAhead(600_000, 60_000);
    vi.setSystemTime(Date.now() + 5000);
    const r = await h.cli(['check', '--json', '--config', await h.writeConfig(h.yaml([{ ...ids, name: 'web-01' }]))]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ state: 'pending', ageSeconds: expect.toSatisfy((s: number) => s >= 4 && s <= 6) as number })]);
    expect(h.logs.lines().some((l) => String(l['msg']).startsWith("the cloud's clock is 10 min"))).toBe(true);
  });

  it('sends the early warning when the action has run its warnAfter, not at once, when the cloud is 10 min behind', async () => {
    const ids = await rebootOnCloudAhead(-600_000, 25_000);
    const app = await h.app(h.yaml([{ ...ids, name: 'web-01', extra: '    warnAfter: 10s' }]));
    await advance(app, 8000, 1000);
    expect(bodies()).toEqual([]);
    await advance(app, 4000, 1000);
    expect(bodies().map((b) => b.type)).toEqual(['ecs.action.slow']);
    expect(bodies()[0]!.reason).toMatch(/^reboot still running 1\d(\.\d)? s after it started \(warnAfter 10 s\)/);
  });
});
