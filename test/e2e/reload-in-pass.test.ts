// Reloads (an edit, `add`, `remove`) that land while a poll pass is in flight, and watches a reload took out
// while their notification is still owed: what the engine does next follows the watch list as the reload left
// it, and nothing is told twice or left untold.
import { describe, expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { watchKey } from '../../src/state/store.ts';
import { advance, harnessOnFakeClock, quickAction, type WatchEntry } from './harness.ts';
import type { ActionScript } from '../../src/simulator/index.ts';

type Body = { type: string; watch?: { requestId: string }; watches?: Array<{ watch: { requestId: string } }> };

const env = harnessOnFakeClock({ role: 'admin' });
const entry = (s: ActionScript & { requestId: string }, name: string, extra?: string): WatchEntry => ({ requestId: s.requestId, serverId: s.serverId, name, ...(extra ? { extra } : {}) });

function reload(app: App, yaml: string): void {
  app.engine.setWatches(targetsOf(parseConfig(yaml, { env: env.h.env })));
}

/** Every webhook the receiver took that tells of `requestId`: on its own, or as an entry of a digest. */
function toldOf(requestId: string): string[] {
  const told: string[] = [];
  for (const r of env.h.hooks.received) {
    const body = r.body as Body;
    if (body.watch?.requestId === requestId) told.push(body.type);
    if (body.watches?.some((w) => w.watch.requestId === requestId)) told.push(body.type);
  }
  return told;
}

/**
 * Two watches of batch `fleet`: `leaving`, finished (its verdict kept for the digest), and `last`, whose
 * action runs `lastMs`; `leave()` reloads the file with `leaving` taken out of the batch.
 */
async function batchOfTwo(lastMs: number) {
  const leaving = quickAction();
  const last = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: lastMs }] });
  for (const s of [leaving, last]) env.h.simulator.addAction(s);
  const app = await env.h.app(env.h.yaml([entry(leaving, 'leaving', '    batch: fleet'), entry(last, 'last', '    batch: fleet')]));
  await advance(app, 2000);
  expect(app.store.get(watchKey(leaving))!.verdict?.outcome).toBe('success');
  const leave = () => reload(app, env.h.yaml([entry(leaving, 'leaving'), entry(last, 'last', '    batch: fleet')]));
  return { app, leaving, last, leave };
}

describe('a reload during a poll pass', () => {
  it('reports a watch that leaves its batch as the pass ends it once: in the digest, not on its own too', async () => {
    const { app, leaving, last, leave } = await batchOfTwo(4000);
    expect(app.store.get(watchKey(last))!.verdict).toBeNull();
    expect(env.h.hooks.received).toHaveLength(0);

    vi.setSystemTime(Date.now() + 4000); // last's action has finished: this pass ends the batch
    const pass = app.engine.pollOnce();
    // The edit takes leaving out of the batch while the pass is in flight.
    leave();
    await pass;
    await advance(app, 3000);

    expect(toldOf(leaving.requestId)).toEqual(['ecs.batch.finished']);
    expect(toldOf(last.requestId)).toEqual(['ecs.batch.finished']);
  });

  it('notifies on its own at once a watch taken out of its batch while the pass saves, after it recorded its digests', async () => {
    const { app, leaving, leave } = await batchOfTwo(60_000);

    // The edit lands while the pass's last save runs: the pass has reported its batches by then.
    const save = app.store.save.bind(app.store);
    let edited = false;
    app.store.save = () => {
      if (!edited) leave();
      edited = true;
      return save();
    };
    await app.engine.pollOnce();
    expect(edited).toBe(true);
    await advance(app, 3000);
    expect(toldOf(leaving.requestId)).toEqual(['ecs.action.succeeded']);
  });

  it('keeps the record of a finished watch that a reload puts back in the file while the pass that would forget it runs', async () => {
    const back = quickAction();
    const other = quickAction();
    for (const s of [back, other]) env.h.simulator.addAction(s);
    const withRetention = (yaml: string) => yaml.replace(/( {2}path: .*state\.json)/, '$1\n  retention: 1d');
    const both = withRetention(env.h.yaml([entry(back, 'back'), entry(other, 'other')]));
    const app = await env.h.app(both);
    await advance(app, 2000);
    expect(toldOf(back.requestId)).toEqual(['ecs.action.succeeded']);

    // `remove` takes it out of the file; it stays in the state for state.retention.
    reload(app, withRetention(env.h.yaml([entry(other, 'other')])));
    await advance(app, 1000);
    expect(app.store.get(watchKey(back))?.verdict?.outcome).toBe('success');

    // A day later, `add` puts it back while a pass is in flight: the pass began with the list that lacked it.
    vi.setSystemTime(Date.now() + 86_400_000);
    const pass = app.engine.pollOnce();
    reload(app, both);
    await pass;
    // A watch in the file keeps its record (README, State: Retention), or it is tracked and notified again.
    expect(app.store.get(watchKey(back))?.verdict?.outcome).toBe('success');
    await advance(app, 3000);
    expect(toldOf(back.requestId)).toEqual(['ecs.action.succeeded']);
  });
});

describe('a reload during a poll pass, for the polls still to come in it', () => {
  // One poll at a time: the first is in flight as pollOnce() returns, the others wait their turn.
  const oneAtATime = { poll: '  schedule: "* * * * * *"\n  retries: 3\n  concurrency: 1' };
  const actionRequests = (s: { requestId: string }) => env.h.simulator.requests.filter((r) => r.route === 'action' && r.path.includes(s.requestId));

  it('neither polls nor tells of a watch the reload took out', async () => {
    const first = quickAction({ neverFinishes: true });
    const removed = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    for (const s of [first, removed]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(first, 'first'), entry(removed, 'removed')], oneAtATime));
    const pass = app.engine.pollOnce();
    reload(app, env.h.yaml([entry(first, 'first')], oneAtATime));
    await pass;
    await app.outbox.flush();
    expect(actionRequests(removed)).toEqual([]);
    expect(app.store.get(watchKey(removed))?.verdict ?? null).toBeNull();
    expect(toldOf(removed.requestId)).toEqual([]);
  });

  it('judges a watch by the deadline the reload gave it', async () => {
    const first = quickAction({ neverFinishes: true });
    const longer = quickAction({ neverFinishes: true });
    for (const s of [first, longer]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(first, 'first'), entry(longer, 'longer', '    deadline: 1s')], oneAtATime));
    vi.setSystemTime(Date.now() + 5000);
    const pass = app.engine.pollOnce();
    reload(app, env.h.yaml([entry(first, 'first'), entry(longer, 'longer', '    deadline: 2h')], oneAtATime));
    await pass;
    expect(actionRequests(longer)).toHaveLength(1);
    expect(app.store.get(watchKey(longer))!.verdict).toBeNull();
  });

  it('leaves to the next poll a timeout that the poll in flight at the reload reached by the deadline the reload lengthened', async () => {
    const longer = quickAction({ neverFinishes: true });
    env.h.simulator.addAction(longer);
    env.h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { pathIncludes: longer.requestId });
    const app = await env.h.app(env.h.yaml([entry(longer, 'longer', '    deadline: 1s')], oneAtATime));
    vi.setSystemTime(Date.now() + 5000);
    const pass = app.engine.pollOnce();
    reload(app, env.h.yaml([entry(longer, 'longer', '    deadline: 2h')], oneAtATime));
    expect((await pass).map((s) => s.state)).toEqual(['pending']);
    expect(app.store.get(watchKey(longer))!.verdict).toBeNull();
    await app.engine.pollOnce();
    expect(app.store.get(watchKey(longer))!.verdict).toBeNull();
  });

  it('reports a watch that the reload took out of its batch while its last poll was in flight once: in the digest', async () => {
    const done = quickAction();
    const moving = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 4000 }] });
    for (const s of [done, moving]) env.h.simulator.addAction(s);
    const inBatch = (extra = '    batch: fleet') => env.h.yaml([entry(done, 'done', '    batch: fleet'), entry(moving, 'moving', extra)], oneAtATime);
    const app = await env.h.app(inBatch());
    await advance(app, 2000);
    expect(app.store.get(watchKey(moving))!.verdict).toBeNull();
    vi.setSystemTime(Date.now() + 4000);
    // Its last poll, which finds it finished, waits at the cloud while the edit takes it out of the batch.
    env.h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { pathIncludes: moving.requestId });
    const pass = app.engine.pollOnce();
    reload(app, inBatch(''));
    await pass;
    await advance(app, 3000);
    expect(toldOf(moving.requestId)).toEqual(['ecs.batch.finished']);
  });

  it('tells whom the file names once the poll in flight at the reload comes back', async () => {
    const silenced = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    env.h.simulator.addAction(silenced);
    env.h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { pathIncludes: silenced.requestId });
    const app = await env.h.app(env.h.yaml([entry(silenced, 'silenced')], oneAtATime));
    const pass = app.engine.pollOnce();
    reload(app, env.h.yaml([entry(silenced, 'silenced', '    notify: []')], oneAtATime));
    await pass;
    await app.outbox.flush();
    expect(app.store.get(watchKey(silenced))!.verdict?.outcome).toBe('success');
    expect(app.store.get(watchKey(silenced))!.deliveries).toEqual({});
    expect(toldOf(silenced.requestId)).toEqual([]);
  });
});

describe('a watch a reload took out while its notification is still retried', () => {
  const removedAndStaying = () => {
    const removed = quickAction();
    const staying = quickAction();
    for (const s of [removed, staying]) env.h.simulator.addAction(s);
    // removed's receiver is down; staying's answers.
    const notifiers = ['  chat:', '    type: webhook', `    url: ${env.h.hooks.url}`, '  down:', '    type: webhook', '    url: http://127.0.0.1:9/down'].join('\n');
    const yaml = (watches: WatchEntry[]) => env.h.yaml(watches, { notifiers }).replace('delivery:\n', 'delivery:\n  maxAge: 5s\n');
    return { removed, yaml, both: yaml([entry(removed, 'removed', '    notify: [down]'), entry(staying, 'staying', '    notify: [chat]')]), after: yaml([entry(staying, 'staying', '    notify: [chat]')]) };
  };

  it('is not settled until that notification is given up, which counts as one given up since the start (run --until-done exits 3)', async () => {
    const { removed, both, after } = removedAndStaying();
    const startedAt = Date.now();
    const app = await env.h.app(both);
    await advance(app, 2000);
    expect(app.store.get(watchKey(removed))!.deliveries['down']).toMatchObject({ status: 'pending' });
    expect(app.engine.allSettled()).toBe(false);

    // `remove` while `run --until-done` waits: the notification is still owed, being retried.
    reload(app, after);
    await advance(app, 1000);
    expect(app.store.get(watchKey(removed))!.deliveries['down']).toMatchObject({ status: 'pending' });
    // run --until-done exits once this is true: "every notification is delivered or given up" (CONTRACT.md).
    expect(app.engine.allSettled()).toBe(false);

    await advance(app, 6000);
    expect(app.store.get(watchKey(removed))!.deliveries['down']).toMatchObject({ status: 'given_up' });
    expect(app.engine.allSettled()).toBe(true);
    expect(app.engine.givenUp(startedAt)).toHaveLength(1);
    // One given up before a later start is that run's news, not this one's: the file no longer names it.
    expect(app.engine.givenUp(Date.now() + 1)).toEqual([]);
  });
});

const chatOnly = () => ['  chat:', '    type: webhook', `    url: ${env.h.hooks.url}`].join('\n');
// One poll at a time: the first is in flight as pollOnce() returns.
const oneAtATime = '  schedule: "* * * * * *"\n  retries: 3\n  concurrency: 1';
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
