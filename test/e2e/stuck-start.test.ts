// A daemon restarted for a poll loop stuck on a volume that hangs (the liveness probe's restart) starts its
// parts on that same volume: the first look at the state lock, or the first read of the state, hangs as the
// save did. So does a reload's final save of the running parts, on a volume that hung between passes. No
// pass runs to be found stuck: /healthz must say so all the same, or the pod is never restarted, polls
// nothing, and the alert on poll_loop_stuck clears (or never fires).
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, vi } from 'vitest';
import { closedPort } from '../../scripts/closedPort.ts';
import { StateStore } from '../../src/state/store.ts';
import { getText, itWithHarness as it, quickAction } from './harness.ts';
import { eventually } from '../eventually.ts';

// `run` here is in the test's own process: without the daemon's V8 settings and full collections (inProcessV8.ts).
vi.mock('../../src/cli/daemonV8.ts', async (original) => (await import('./inProcessV8.ts')).inTestProcess(await original()));

afterEach(() => {
  vi.restoreAllMocks();
});

it('answers 503 on /healthz, says the loop is stuck, and sets poll_loop_stuck, once the start of its parts has not moved for ten minutes (a state volume that hangs)', async ({ h }) => {
  const action = quickAction();
  h.simulator.addAction(action);
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  await mkdir(join(h.dir, 'state'));
  // A volume that hangs, as the kernel has it: a named pipe in the lock's place, open for writing with nothing
  // written, whose read blocks as on a hung mount until the pipe is written or closed.
  const lock = join(h.dir, 'state', 'state.json.lock');
  execFileSync('mkfifo', [lock]);
  const pipe = openSync(lock, constants.O_RDWR | constants.O_NONBLOCK);
  const readersOfThePipe = () => readdirSync('/proc/self/fd').filter((fd) => linkOf(`/proc/self/fd/${fd}`) === lock).length - 1;
  const path = await h.writeConfig(h.yaml([{ ...action, name: 'reboot' }], { http: `  port: ${port}\n  host: 127.0.0.1` }));
  const stop = new AbortController();
  const running = h.cli(['run', '--config', path], { signal: stop.signal });
  try {
    await eventually(() => expect(readersOfThePipe()).toBe(1), { timeout: 15_000 });
    const health = () => getText(`${base}/healthz`);
    const stuckGauge = async () => /^ecs_action_watch_poll_loop_stuck (\d)$/m.exec((await getText(`${base}/metrics`)).body)?.[1];
    expect(await health()).toEqual({ status: 200, body: 'ok\n' });

    // Nine minutes on (the monotonic clock the loop's signs are timed on): not yet.
    const real = performance.now.bind(performance);
    const later = vi.spyOn(performance, 'now').mockImplementation(() => real() + 9 * 60_000);
    expect(await health()).toEqual({ status: 200, body: 'ok\n' });
    expect(await stuckGauge()).toBe('0');
    // Eleven minutes on, the start has not moved.
    later.mockImplementation(() => real() + 11 * 60_000);
    expect(await health()).toMatchObject({ status: 503, body: expect.stringMatching(/^stuck: the daemon's parts have been starting for 11 min( \d+ s)?, and its state file's folder has not answered for 11 min/) });
    expect(await stuckGauge()).toBe('1');
    expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('the poll loop is stuck: the daemon\'s parts have been starting'))).toMatchObject([{ level: 'error' }]);
  } finally {
    stop.abort('SIGTERM');
    // The volume answers again (an empty lock file): the start sees the stop, and ends.
    closeSync(pipe);
    expect((await running).code).toBe(0);
  }
}, 60_000);

it('says at error that the start of its parts is stuck with no probe or scrape to ask (http.port 0, a systemd host unscraped): the log is all there is', async ({ h }) => {
  const action = quickAction();
  h.simulator.addAction(action);
  await mkdir(join(h.dir, 'state'));
  const lock = join(h.dir, 'state', 'state.json.lock');
  execFileSync('mkfifo', [lock]);
  const pipe = openSync(lock, constants.O_RDWR | constants.O_NONBLOCK);
  const readersOfThePipe = () => readdirSync('/proc/self/fd').filter((fd) => linkOf(`/proc/self/fd/${fd}`) === lock).length - 1;
  const path = await h.writeConfig(h.yaml([{ ...action, name: 'reboot' }], { http: '  port: 0' }));
  const stop = new AbortController();
  const running = h.cli(['run', '--config', path], { signal: stop.signal });
  try {
    await eventually(() => expect(readersOfThePipe()).toBe(1), { timeout: 15_000 });
    const real = performance.now.bind(performance);
    vi.spyOn(performance, 'now').mockImplementation(() => real() + 11 * 60_000);
    const stuck = () => h.logs.lines().filter((l) => String(l['msg']).startsWith("the poll loop is stuck: the daemon's parts have been starting"));
    await eventually(() => expect(stuck()).toMatchObject([{ level: 'error' }]), { timeout: 15_000, interval: 200 });
  } finally {
    stop.abort('SIGTERM');
    closeSync(pipe);
    expect((await running).code).toBe(0);
  }
}, 60_000);

it('answers 200 on /healthz however long the start waits for a state lock another daemon holds and refreshes: each look at it is a move', async ({ h }) => {
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  await mkdir(join(h.dir, 'state'));
  // A daemon on another host (a node cut off, its pod still running on a shared volume): its lock cannot be
  // judged from here, and is waited for while it is refreshed.
  const lock = join(h.dir, 'state', 'state.json.lock');
  writeFileSync(lock, `${JSON.stringify({ pid: 1, hostname: 'another-node', startedAt: new Date().toISOString(), instance: 'other' })}\n`);
  let refreshes = 0;
  const refresh = () => utimesSync(lock, new Date(), new Date(Date.now() + ++refreshes));
  const path = await h.writeConfig(h.yaml([], { http: `  port: ${port}\n  host: 127.0.0.1` }));
  const stop = new AbortController();
  const running = h.cli(['run', '--config', path], { signal: stop.signal });
  try {
    await eventually(() => expect(h.logs.text).toContain('the state file is locked by'), { timeout: 15_000 });
    const real = performance.now.bind(performance);
    vi.spyOn(performance, 'now').mockImplementation(() => real() + 11 * 60_000);
    // Its next look (every 2.5 s at most) finds it refreshed: the wait moves.
    await eventually(
      async () => {
        refresh();
        expect(await getText(`${base}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(h.logs.text).not.toContain('"msg":"started"');
  } finally {
    stop.abort('SIGTERM');
    expect((await running).code).toBe(0);
  }
}, 60_000);

it('answers 503 on /healthz once a reload has waited ten minutes for its running parts to stop, their final save hanging where no pass runs (a volume that hangs between passes)', async ({ h }) => {
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  const http = `  port: ${port}\n  host: 127.0.0.1`;
  // A pass a year: the first, at the start, is over long before the volume hangs.
  const file = (retries: number) => h.yaml([], { poll: `  schedule: "0 0 1 1 *"\n  retries: ${retries}`, http });
  const path = await h.writeConfig(file(3));
  const stop = new AbortController();
  const running = h.cli(['run', '--config', path], { signal: stop.signal });
  const held: Array<() => void> = [];
  try {
    await eventually(() => expect(h.logs.text).toContain('"msg":"started"'), { timeout: 15_000 });
    // The volume hangs from now on: no save ends, the parts' final one neither.
    vi.spyOn(StateStore.prototype, 'save').mockImplementation(() => new Promise<void>((resolve) => held.push(resolve)));
    // A change beyond the watch list: the running parts stop, to be rebuilt.
    await writeFile(path, file(2));
    await eventually(async () => expect((await getText(`${base}/readyz`)).status).toBe(503), { timeout: 15_000 });
    await eventually(() => expect(held).not.toHaveLength(0), { timeout: 15_000 });
    const health = () => getText(`${base}/healthz`);
    expect(await health()).toEqual({ status: 200, body: 'ok\n' });

    const real = performance.now.bind(performance);
    vi.spyOn(performance, 'now').mockImplementation(() => real() + 11 * 60_000);
    expect(await health()).toMatchObject({ status: 503, body: expect.stringMatching(/^stuck: the daemon's running parts have been stopping for a reload for 11 min/) });
    expect((await getText(`${base}/metrics`)).body).toMatch(/^ecs_action_watch_poll_loop_stuck 1$/m);
  } finally {
    for (const end of held.splice(0)) end();
    vi.restoreAllMocks();
    stop.abort('SIGTERM');
    expect((await running).code).toBe(0);
  }
}, 60_000);

/** Where a descriptor of ours points, or '' for one closed meanwhile. */
function linkOf(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '';
  }
}
