// A daemon that cannot start its work because another holds the state lock: a Deployment's second replica on
// a ReadWriteMany volume, a RollingUpdate's new pod, a second host on the same NFS volume. It polls and
// notifies nothing while it waits, however long: an operator must be able to see it, and once the other
// stops, it takes over within seconds and delivers what the other still owed, once.
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, expect, vi } from 'vitest';
import { closedPort } from '../../scripts/closedPort.ts';
import { getText, itWithHarness as it, quickAction } from './harness.ts';
import { eventually } from '../eventually.ts';

// `run` here is in the test's own process: without the daemon's V8 settings and full collections (inProcessV8.ts).
vi.mock('../../src/cli/daemonV8.ts', async (original) => (await import('./inProcessV8.ts')).inTestProcess(await original()));

afterEach(() => {
  vi.restoreAllMocks();
});

/** The threshold of the PrometheusRule's alert on a wait for the state lock, in seconds. */
function lockWaitAlertAfter(): number {
  const rules = parse(readFileSync(new URL('../../deploy/kubernetes/prometheusrule.yaml', import.meta.url), 'utf8')) as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
  const rule = rules.spec.groups.flatMap((g) => g.rules).find((r) => r.alert === 'EcsActionWatchStateLockWaiting')!;
  return Number(/^max by \(namespace, job\) \(ecs_action_watch_state_lock_wait_seconds\) > (\d+)$/.exec(rule.expr.trim())![1]);
}

it('says on /metrics how long it has waited for a state lock a live daemon on another host keeps, for its alert, and takes over within seconds of its release', async ({ h }) => {
  const action = quickAction();
  h.simulator.addAction(action);
  const port = await closedPort();
  const base = `http://127.0.0.1:${port}`;
  await mkdir(join(h.dir, 'state'));
  const lock = join(h.dir, 'state', 'state.json.lock');
  writeFileSync(lock, `${JSON.stringify({ pid: 1, hostname: 'another-node', startedAt: new Date().toISOString(), instance: 'other' })}\n`);
  let refreshes = 0;
  const refreshing = setInterval(() => utimesSync(lock, new Date(), new Date(Date.now() + ++refreshes)), 500);
  const path = await h.writeConfig(h.yaml([{ ...action, name: 'reboot' }], { http: `  port: ${port}\n  host: 127.0.0.1` }));
  const stop = new AbortController();
  const running = h.cli(['run', '--config', path], { signal: stop.signal });
  const get = (what: string) => getText(`${base}${what}`);
  const waited = async () => Number(/^ecs_action_watch_state_lock_wait_seconds (\S+)$/m.exec((await get('/metrics')).body)?.[1]);
  try {
    await eventually(() => expect(h.logs.text).toContain('the state file is locked by pid 1 on host another-node'), { timeout: 15_000 });
    // Past the alert's threshold, by the monotonic clock the wait is timed on; the holder refreshes on.
    const real = performance.now.bind(performance);
    vi.spyOn(performance, 'now').mockImplementation(() => real() + (lockWaitAlertAfter() + 60) * 1000);
    expect(await waited()).toBeGreaterThan(lockWaitAlertAfter());
    // Its next look at the lock (within 2.5 s) finds it refreshed: the wait moves, and liveness holds.
    await eventually(async () => expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' }), { timeout: 15_000, interval: 200 });
    expect(await get('/readyz')).toEqual({ status: 503, body: 'not ready: starting (waiting for the state lock) or reloading\n' });
    vi.restoreAllMocks();

    // The other daemon stops: its lock is released.
    clearInterval(refreshing);
    await rm(lock);
    await eventually(() => expect(h.logs.text).toContain('"msg":"started"'), { timeout: 15_000, interval: 50 });
    expect(await waited()).toBe(0);
    await eventually(() => expect(h.hooks.received).toHaveLength(1), { timeout: 15_000 });
    // Said once at its start, not at each look.
    expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('the state file is locked by'))).toHaveLength(1);
  } finally {
    clearInterval(refreshing);
    stop.abort('SIGTERM');
    expect((await running).code).toBe(0);
  }
}, 60_000);

it('delivers, once it has taken over from a daemon that stopped, what that daemon still owed, and nothing it had delivered', async ({ h }) => {
  const action = quickAction();
  h.simulator.addAction(action);
  // The chat receiver is down while the first daemon runs: it stops owing it the outcome; the mail went.
  h.hooks.setAnswer({ status: 503 });
  const path = await h.writeConfig(h.yaml([{ ...action, name: 'reboot' }]));
  const stopFirst = new AbortController();
  const first = h.cli(['run', '--config', path], { signal: stopFirst.signal });
  await eventually(() => expect(h.mail.received).toHaveLength(1), { timeout: 15_000 });
  await eventually(() => expect(h.hooks.received.length).toBeGreaterThan(1), { timeout: 15_000 });
  // The second: a replica too many, waiting for the first one's lock (the same pid in this process, as pid 1
  // in two containers: only the lock's refresh tells it is alive).
  const stopSecond = new AbortController();
  const second = h.cli(['run', '--config', path, '--until-done'], { signal: stopSecond.signal });
  try {
    await eventually(() => expect(h.logs.text).toContain('the state file is locked by'), { timeout: 15_000 });
    stopFirst.abort('SIGTERM');
    expect((await first).code).toBe(0);
    const refusedBefore = h.hooks.received.length;
    h.hooks.setAnswer({ status: 204 });
    // It takes over, delivers what was owed, and has nothing else to do.
    expect((await second).code).toBe(0);
    expect(h.hooks.received.slice(refusedBefore).map((hook) => hook.status)).toEqual([204]);
    expect(new Set(h.hooks.received.map((hook) => hook.headers['webhook-id'])).size).toBe(1);
    expect(h.mail.received).toHaveLength(1);
  } finally {
    stopFirst.abort('SIGTERM');
    stopSecond.abort('SIGTERM');
    await Promise.allSettled([first, second]);
  }
}, 60_000);
