// A reload that rebuilds the daemon's parts waits for the old ones to stop; when their pass waits on a save
// that does not end (a volume that hangs), /healthz must still say the loop is stuck, or the pod is never
// restarted.
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { StateStore } from '../../src/state/store.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { Harness, quickAction } from './harness.ts';
import { eventually } from '../eventually.ts';

// `run` here is in the test's own process: without the daemon's V8 settings and full collections (inProcessV8.ts).
vi.mock('../../src/cli/daemonV8.ts', async (original) => (await import('./inProcessV8.ts')).inTestProcess(await original()));

let h: Harness;
let running: Promise<unknown> | undefined;
const stop = new AbortController();
/** Lets the saves held since the volume "hung" end, so that the daemon can stop. */
const held: Array<() => void> = [];

beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const end of held.splice(0)) end();
  stop.abort('SIGTERM');
  await running;
  await h.close();
});

/** Writes the watch file as a settled one (a few seconds old), which the daemon takes at its next look. */
async function write(path: string, yaml: string): Promise<void> {
  await writeFile(path, yaml);
  const saved = new Date(Date.now() - 5000);
  await utimes(path, saved, saved);
}

it('answers 503 on /healthz while a reload waits for parts whose pass waits on a save that does not end', async () => {
  const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3_600_000, taskState: 'rebooting' }] });
  h.simulator.addAction(action);
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  const file = (watches: (typeof action)[], retries: number) =>
    `${h.yaml(watches.map((w) => ({ ...w, name: 'reboot' })), { poll: `  schedule: "* * * * * *"\n  retries: ${retries}`, http: `  port: ${port}\n  host: 127.0.0.1` })}\nshutdown:\n  drainTimeout: 1s\n`;
  const path = join(h.dir, 'watch.yaml');
  await write(path, file([], 3));
  running = h.cli(['run', '--config', path], { signal: stop.signal });
  await eventually(() => expect(h.logs.text).toContain('"msg":"started"'), { timeout: 15_000 });
  // The volume hangs from now on: no save ends.
  vi.spyOn(StateStore.prototype, 'save').mockImplementation(() => new Promise<void>((resolve) => held.push(resolve)));
  await write(path, file([action], 3));
  await eventually(() => expect(h.logs.text).toContain('new execution blocked by overlap prevention'), { timeout: 15_000 });
  // A change beyond the watch list: the parts are rebuilt, and the old ones wait for their pass.
  await write(path, file([action], 2));
  await eventually(async () => expect((await request(`${base}/readyz`)).statusCode).toBe(503), { timeout: 15_000 });

  // Eleven minutes on (the monotonic clock the loop's signs are timed on), nothing has moved.
  const real = performance.now.bind(performance);
  vi.spyOn(performance, 'now').mockImplementation(() => real() + 11 * 60_000);
  const healthz = await request(`${base}/healthz`);
  expect({ status: healthz.statusCode, body: await healthz.body.text() }).toMatchObject({ status: 503, body: expect.stringMatching(/^stuck: /) });
  expect(await (await request(`${base}/metrics`)).body.text()).toMatch(/^ecs_action_watch_poll_loop_stuck 1$/m);
}, 60_000);
