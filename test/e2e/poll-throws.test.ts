// A poll that throws is a fault of ours (the cloud's answers are checked, and reads catch their errors): it
// fails that watch's poll alone, and the pass goes on with the others and ends once they have. Stood in for
// here by one kind's poll made to throw for one watch.
import { describe, expect, it, vi } from 'vitest';
import { harnessOnFakeClock, quickAction } from './harness.ts';
import { instanceActionKind } from '../../src/watch/kinds/instanceAction.ts';

const env = harnessOnFakeClock({ role: 'admin' });
const chatOnly = () => ['  chat:', '    type: webhook', `    url: ${env.h.hooks.url}`].join('\n');
// One poll at a time.
const oneAtATime = '  schedule: "* * * * * *"\n  retries: 3\n  concurrency: 1';
const told = () => env.h.hooks.received.map((r) => (r.body as { type: string }).type);

describe('a poll that throws', () => {
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

  it('counts the poll that threw as failed, of kind internal: a daemon whose polls all throw shows its polls failing', async () => {
    const { bad, good } = failing();
    try {
      const app = await env.h.app(env.h.yaml(entries(bad, good), { notifiers: chatOnly(), poll: oneAtATime }));
      await app.engine.pollOnce();
      const text = await app.metrics.registry.metrics();
      const m = (series: string) => text.split('\n').find((l) => l.startsWith(`ecs_action_watch_${series} `))?.split(' ')[1];
      // What EcsActionWatchPollsFailing reads: the share of polls whose result is error.
      expect(m('polls_total{result="error"}')).toBe('1');
      expect(m('poll_errors_total{kind="internal"}')).toBe('1');
      expect(m('poll_duration_seconds_count')).toBe('2');
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('keeps the watch whose polls throw failing, with its error, as EcsActionWatchWatchUnanswered reads it, until a poll is answered', async () => {
    const { bad, good } = failing();
    try {
      const app = await env.h.app(env.h.yaml(entries(bad, good), { notifiers: chatOnly(), poll: oneAtATime }));
      const longestFailing = async () => Number((await app.metrics.registry.getSingleMetricAsString('ecs_action_watch_longest_failing_watch_seconds')).split('\n').at(-1)!.split(' ')[1]);
      const [status] = await app.engine.pollOnce();
      expect(status!.record).toMatchObject({ lastError: 'poll failed: a bug', failingSince: expect.any(String) });
      vi.setSystemTime(Date.now() + 60_000);
      await app.engine.pollOnce();
      expect(await longestFailing()).toBeGreaterThanOrEqual(60);
      vi.restoreAllMocks();
      await app.engine.pollOnce();
      expect(await longestFailing()).toBe(0);
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
      // A poll the first pass left behind has come back by now: its answer takes 300 ms, its server read a few.
      await new Promise((resolve) => setTimeout(resolve, 500));
      // The poll that finds the action finished reads the server once; a second poll of it at once, once more.
      const serverReads = env.h.simulator.requests.filter((r) => r.route === 'server' && r.path.includes(good.serverId));
      expect(serverReads).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
