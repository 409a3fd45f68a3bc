// A reload that rebuilds the daemon's parts on a state volume in trouble. It waits for the old parts to stop;
// when their pass waits on a save that does not end (a volume that hangs), /healthz must still say the loop is
// stuck, or the pod is never restarted. On a full volume the new parts read the state (reads need no space)
// and have nothing unsaved of their own until their first save, which fails as the old parts' did: readiness
// and the metric the critical alert reads must not say all is well meanwhile.
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { StateStore } from '../../src/state/store.ts';
import { StateWriter } from '../../src/state/stateWriter.ts';
import { stateFailure } from '../../src/state/StateError.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { Harness, getText, quickAction } from './harness.ts';
import { eventually } from '../eventually.ts';

// `run` here is in the test's own process: without the daemon's V8 settings and full collections (inProcessV8.ts).
vi.mock('../../src/cli/daemonV8.ts', async (original) => (await import('./inProcessV8.ts')).inTestProcess(await original()));

let h: Harness;
let running: Promise<unknown> | undefined;
/** What stops this test's daemon, as SIGTERM would. */
let stop: AbortController;
/** Lets the saves held since the volume "hung" (or was full) end, so that the daemon can stop. */
const held: Array<() => void> = [];

beforeEach(async () => {
  stop = new AbortController();
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

it('answers 503 on /readyz and state_unsaved 1 after a reload that rebuilds the parts on a full volume, before the new parts\' first save has failed', async () => {
  const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3_600_000, taskState: 'rebooting' }] });
  h.simulator.addAction(action);
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  const file = (retries: number) => h.yaml([{ ...action, name: 'reboot' }], { poll: `  schedule: "* * * * * *"\n  retries: ${retries}`, http: `  port: ${port}\n  host: 127.0.0.1` });
  const path = join(h.dir, 'watch.yaml');
  await write(path, file(3));
  // The volume is full: every save of the first parts fails. The saves of the parts a reload starts are held
  // where they would fail too, so that what is told before their first one fails can be read.
  const realWrite = StateWriter.prototype.write;
  const writers: StateWriter[] = [];
  vi.spyOn(StateWriter.prototype, 'write').mockImplementation(function (this: StateWriter, change) {
    if (!writers.includes(this)) writers.push(this);
    if (writers[0] === this) return Promise.reject(stateFailure(this.path, 'cannot be written', Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })));
    return new Promise<void>((resolve, reject) => held.push(() => realWrite.call(this, change).then(resolve, reject)));
  });
  running = h.cli(['run', '--config', path], { signal: stop.signal });
  const unsaved = async () => /^ecs_action_watch_state_unsaved (\d)$/m.exec((await getText(`${base}/metrics`)).body)?.[1];
  await eventually(() => expect(h.logs.text).toContain('state could not be saved'), { timeout: 15_000 });
  expect((await getText(`${base}/readyz`)).status).toBe(503);
  expect(await unsaved()).toBe('1');

  // A change beyond the watch list: the parts are rebuilt.
  await write(path, file(2));
  await eventually(() => expect(h.logs.text).toContain('"msg":"watch file reloaded"'), { timeout: 15_000 });
  await eventually(() => expect(held.length).toBeGreaterThan(0));
  expect(await getText(`${base}/readyz`)).toEqual({ status: 503, body: expect.stringMatching(/^not ready: StateError: state file .*: cannot be written: no space left on device/) });
  expect(await unsaved()).toBe('1');

  // Room again: the new parts' save is written, and all is well.
  vi.restoreAllMocks();
  for (const end of held.splice(0)) end();
  await eventually(async () => expect((await getText(`${base}/readyz`)).status).toBe(200), { timeout: 15_000 });
  expect(await unsaved()).toBe('0');
  expect(h.logs.text).toContain('state saved again');
}, 60_000);
