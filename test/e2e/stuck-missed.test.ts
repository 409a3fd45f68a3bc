// node-cron skips a tick it finds more than a second late (the event loop held up at that moment): the
// schedule goes on, and its next pass is what /healthz is to wait for.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Harness } from './harness.ts';

let h: Harness;

beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

it('is not stuck after a tick node-cron found late and skipped, while the next one is not due yet', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'], now: new Date('2026-01-05T10:00:30Z') });
  const app = await h.app(h.yaml([], { poll: '  schedule: "0 * * * *"' }));
  await app.engine.start();
  await vi.advanceTimersByTimeAsync(59 * 60_000 + 29_000);
  // The event loop is held up for 3 s across 11:00:00: the tick comes late, and node-cron skips it.
  vi.setSystemTime(Date.now() + 3000);
  await vi.advanceTimersByTimeAsync(2000);
  expect(h.logs.text).toContain('poll passes were missed');
  // The next pass is due at 12:00.
  await vi.advanceTimersByTimeAsync(30 * 60_000);
  expect(app.engine.stuck()).toBeUndefined();
});
