// Found in a review of the engine: each test failed on the code before its fix.
import { describe, expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { watchKey } from '../../src/state/store.ts';
import { harnessOnFakeClock, quickAction } from './harness.ts';
import { instanceActionKind } from '../../src/watch/kinds/instanceAction.ts';

const env = harnessOnFakeClock({ role: 'admin' });
const chatOnly = () => ['  chat:', '    type: webhook', `    url: ${env.h.hooks.url}`].join('\n');
// One poll at a time: the first is in flight as pollOnce() returns.
const oneAtATime = '  schedule: "* * * * * *"\n  retries: 3\n  concurrency: 1';

function reload(app: App, yaml: string): void {
  app.engine.setWatches(targetsOf(parseConfig(yaml, { env: env.h.env })));
}

const told = () => env.h.hooks.received.map((r) => (r.body as { type: string }).type);

describe('an early warning reached by the poll in flight when a reload lands', () => {
  const running = () => {
    const s = quickAction({ neverFinishes: true });
    env.h.simulator.addAction(s);
    // Its poll waits at the cloud while the reload lands.
    env.h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { pathIncludes: s.requestId });
    const yaml = (extra: string) => env.h.yaml([{ requestId: s.requestId, serverId: s.serverId, name: 'web-01', extra }], { notifiers: chatOnly(), poll: oneAtATime });
    return { s, yaml };
  };

  it('is not owed for a watch the reload took out', async () => {
    const { s, yaml } = running();
    const app = await env.h.app(yaml('    warnAfter: 1s'));
    vi.setSystemTime(Date.now() + 5000);
    const pass = app.engine.pollOnce();
    reload(app, env.h.yaml([], { notifiers: chatOnly(), poll: oneAtATime }));
    await pass;
    await app.outbox.flush();
    expect(app.store.get(watchKey(s))?.warning ?? null).toBeNull();
    expect(told()).toEqual([]);
  });

  it('is not owed for a watch the reload gave warnAfter: off', async () => {
    const { s, yaml } = running();
    const app = await env.h.app(yaml('    warnAfter: 1s'));
    vi.setSystemTime(Date.now() + 5000);
    const pass = app.engine.pollOnce();
    reload(app, yaml('    warnAfter: off'));
    await pass;
    await app.outbox.flush();
    expect(app.store.get(watchKey(s))!.warning ?? null).toBeNull();
    expect(told()).toEqual([]);
  });
});

describe('a poll that throws (a fault of ours, in one kind\'s code)', () => {
  const failing = () => {
    const bad = quickAction({ neverFinishes: true });
    const good = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    for (const s of [bad, good]) env.h.simulator.addAction(s);
    const poll = instanceActionKind.poll.bind(instanceActionKind);
    vi.spyOn(instanceActionKind, 'poll').mockImplementation((p) => (p.target.requestId === bad.requestId ? Promise.reject(new TypeError('a bug')) : poll(p)));
    return { bad, good };
  };
  const entries = (bad: { requestId: string; serverId: string }, good: { requestId: string; serverId: string }) => [
    { requestId: bad.requestId, serverId: bad.serverId, name: 'bad' },
    { requestId: good.requestId, serverId: good.serverId, name: 'good' },
  ];

  it('fails that watch\'s poll alone: the pass polls the others, and ends', async () => {
    const { bad, good } = failing();
    try {
      const app = await env.h.app(env.h.yaml(entries(bad, good), { notifiers: chatOnly(), poll: oneAtATime }));
      const statuses = await app.engine.pollOnce();
      expect(statuses.map((s) => [s.target.name, s.state, s.pollFailed])).toEqual([['bad', 'pending', true], ['good', 'success', false]]);
      await app.outbox.flush();
      expect(told()).toEqual(['ecs.action.succeeded']);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('ends the pass only once its other polls have ended: the next pass polls no watch a second time at once', async () => {
    const { bad, good } = failing();
    try {
      // The good watch's poll waits at the cloud while the bad one's throws.
      env.h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { pathIncludes: good.requestId });
      const app = await env.h.app(env.h.yaml(entries(bad, good), { notifiers: chatOnly(), poll: '  schedule: "* * * * * *"\n  retries: 3\n  concurrency: 2' }));
      await app.engine.pollOnce().catch(() => []);
      await app.engine.pollOnce().catch(() => []);
      // A poll the first pass left behind has come back by now.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // The poll that finds the action finished reads the server once; a second poll of it at once, once more.
      const serverReads = env.h.simulator.requests.filter((r) => r.route === 'server' && r.path.includes(good.serverId));
      expect(serverReads).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
