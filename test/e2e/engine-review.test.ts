// Found in a review of the engine: each test failed on the code before its fix.
import { describe, expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { watchKey } from '../../src/state/store.ts';
import { harnessOnFakeClock, quickAction } from './harness.ts';

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
