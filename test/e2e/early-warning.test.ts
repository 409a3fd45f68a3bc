// An early warning is one message: every attempt under its webhook-id carries what it said when it was made.
import { expect, it } from 'vitest';
import { targetsOf } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { PROJECT, advance, harnessOnFakeClock, newIds } from './harness.ts';

const env = harnessOnFakeClock();

it('retries an early warning with the body it was made with, though the action moved on and the watch was renamed before the receiver took it', async () => {
  const { h } = env;
  const ids = newIds();
  h.simulator.addAction({
    projectId: PROJECT,
    ...ids,
    action: 'resize',
    steps: [
      { event: 'compute_prep_resize', durationMs: 3000 },
      { event: 'compute_resize_instance', durationMs: 60_000 },
    ],
  });
  const notifiers = ['  chat:', '    type: webhook', `    url: ${h.hooks.url}`].join('\n');
  const yaml = (name: string) => h.yaml([{ ...ids, name, extra: '    warnAfter: 2s' }], { notifiers });
  const app = await h.app(yaml('resize web-01'));
  const warnings = () => h.hooks.received.filter((r) => (r.body as { type: string }).type === 'ecs.action.slow');
  // Down when the warning is made, 2 s into the first step.
  h.hooks.setAnswer({ status: 503 });
  await advance(app, 2500);
  expect(warnings().length).toBeGreaterThan(0);
  const made = warnings()[0]!;
  expect(made.body).toMatchObject({
    watch: { name: 'resize web-01' },
    instanceAction: { events: [expect.objectContaining({ event: 'compute_prep_resize', finish_time: null })] },
    reason: expect.stringMatching(/^resize still running 2(\.\d)? s after it started \(warnAfter 2 s\); 0\/1 events done, running compute_prep_resize$/) as string,
  });
  // While it is retried, the first step ends and the second begins, and the file renames the watch.
  const renamed = yaml('resize web-01 (db tier)');
  app.engine.setWatches(targetsOf(parseConfig(renamed, { env: h.env })));
  await advance(app, 2000);
  const key = app.store.entries()[0]![0];
  expect(app.store.get(key)).toMatchObject({ name: 'resize web-01 (db tier)', instanceAction: { events: [{}, {}] } });
  const beforeRestart = warnings().length;
  // Still owed after a restart, which reads it from the state file.
  await app.close();
  h.hooks.setAnswer({ status: 204 });
  const again = await h.app(renamed);
  await advance(again, 1000);
  const sent = warnings();
  expect(sent.map((r) => r.status)).toEqual([...sent.slice(0, -1).map(() => 503), 204]);
  expect(beforeRestart).toBeGreaterThan(2);
  // Once delivered, what it showed is let go, as an outcome's payload is.
  expect(again.store.get(key)?.warning).toEqual({ reason: (made.body as { reason: string }).reason, detectedAt: expect.any(String) as string, deliveries: { chat: expect.objectContaining({ status: 'delivered' }) as object } });
  expect(new Set(sent.map((r) => r.headers['webhook-id']))).toEqual(new Set([made.headers['webhook-id']]));
  // The receiver keeps whichever attempt reached it first: each says the same.
  for (const attempt of sent) expect(attempt.body).toEqual(made.body);
});
