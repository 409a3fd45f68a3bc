// Each numbered trap of issue 5 (the verdict half) played through the simulator against the whole
// daemon: engine, client, state and notifiers, with the clock moved by fake Date.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../../src/app.ts';
import { liveMigrationScript, type ActionScript, type SimulatorOptions } from '../../src/simulator/index.ts';
import { Harness, PROJECT, advance, newIds, type WatchEntry } from './harness.ts';
import { eventually } from '../eventually.ts';

type Script = ActionScript & { requestId: string };
const script = (s: Omit<ActionScript, 'projectId' | 'serverId' | 'requestId'> & Partial<ActionScript>): Script => ({ projectId: PROJECT, ...newIds(), ...s });
const entry = (s: Script, extra?: string): WatchEntry => ({ requestId: s.requestId, serverId: s.serverId, name: s.action, ...(extra ? { extra } : {}) });

const NO_RETRIES = '  schedule: "* * * * * *"\n  retries: 0';
const outcomes = (h: Harness) => h.hooks.received.map((r) => (r.body as { outcome: string }).outcome);
const reasons = (h: Harness) => h.hooks.received.map((r) => (r.body as { reason: string }).reason);
const recordOf = (app: App) => app.store.entries()[0]![1];

let h: Harness;
async function harness(options: SimulatorOptions = {}, clocks: Array<'Date' | 'performance'> = ['Date']): Promise<Harness> {
  vi.useFakeTimers({ toFake: clocks });
  h = await Harness.start(options);
  return h;
}
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

describe('trap 1: a gone server settles only a delete', () => {
  it('a create whose server is deleted during the build is a failure "server deleted", not a success', async () => {
    await harness();
    // Nova catches InstanceNotFound inside _do_build_and_run_instance: the event ends Success, the server is gone.
    const create = script({ action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 2000, taskState: 'spawning' }], deletesServer: true });
    h.simulator.addAction(create);
    const app = await h.app(h.yaml([entry(create)]));
    await advance(app, 10_000);
    expect(outcomes(h)).toEqual([]);
    expect(recordOf(app).lastError).toMatch(/server answers 404/);
    await advance(app, 20_000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^create failed: server deleted \(not found for \d+ polls over \d+ s after 1 event finished\)$/);
    expect(h.logs.lines().some((l) => l['level'] === 40 && String(l['msg']).includes('the server answers 404'))).toBe(true);
  });

  it('a create whose server a delete took during the build names that delete, and when it started', async () => {
    await harness();
    const create = script({ action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 2000, taskState: 'spawning' }] });
    h.simulator.addAction(create);
    const app = await h.app(h.yaml([entry(create)]));
    vi.advanceTimersByTime(500);
    const del = h.simulator.addAction(script({ ...create, action: 'delete', requestId: newIds().requestId, steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] }));
    await advance(app, 30_000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(new RegExp(`^create failed: server deleted \\(not found for \\d+ polls over \\d+ s after 1 event finished\\); by delete ${del}, started 1\\.5 s before its last event finished$`));
  });

  it('a resize whose server blips 404 between two steps is judged only after its last step', async () => {
    await harness();
    const resize = script({
      action: 'resize',
      gapMs: 3000,
      steps: [
        { event: 'compute_prep_resize', durationMs: 1000, taskState: 'resize_prep' },
        { event: 'compute_resize_instance', durationMs: 1000, taskState: 'resize_migrating' },
      ],
    });
    h.simulator.addAction(resize);
    h.simulator.injectFault({ kind: 'not-found' }, { route: 'server', times: 1 });
    const app = await h.app(h.yaml([entry(resize)]));
    await advance(app, 15_000);
    expect(h.simulator.pendingFaults).toBe(0);
    expect(outcomes(h)).toEqual(['success']);
    const action = (h.hooks.received[0]!.body as { instanceAction: { events: unknown[] } }).instanceAction;
    expect(action.events).toHaveLength(2);
  });
});

describe('trap 2: the deadline is judged by the action\'s own times', () => {
  /** Tracks a reboot taking `durationMs` for a second, stops for an hour, and polls it once more. */
  async function afterDowntime(durationMs: number): Promise<void> {
    await harness();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs, taskState: 'rebooting' }] });
    h.simulator.addAction(reboot);
    const yaml = h.yaml([entry(reboot, '    deadline: 30s')]);
    const first = await h.app(yaml);
    await advance(first, 1000);
    await first.close();
    vi.setSystemTime(Date.now() + 60 * 60_000);
    await advance(await h.app(yaml), 1000);
  }

  it('an action that finished before its deadline, first polled after it (downtime), gets its real verdict', async () => {
    await afterDowntime(5000);
    expect(outcomes(h)).toEqual(['success']);
  });

  it('an action whose last event finished after its deadline is a timeout, also when seen late', async () => {
    await afterDowntime(45_000);
    expect(outcomes(h)).toEqual(['timeout']);
    expect(reasons(h)[0]).toMatch(/^not finished within 30 s: its events finished 4\d s after tracking began/);
  });

  it('restarted into an outage long past the deadline, with polls that failed before the stop, it waits for the API and gets its real verdict', async () => {
    await harness();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 5000, taskState: 'rebooting' }] });
    h.simulator.addAction(reboot);
    const yaml = h.yaml([entry(reboot, '    deadline: 30s')], { poll: NO_RETRIES });
    const first = await h.app(yaml);
    await advance(first, 1000);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 1 });
    await advance(first, 500);
    expect(recordOf(first).failingSince).not.toBeNull();
    await first.close();

    // An hour on, the failure of before the stop gives the deadline's patience (30 s here) no head start.
    vi.setSystemTime(Date.now() + 60 * 60_000);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 2 });
    const second = await h.app(yaml);
    await advance(second, 1000);
    expect([outcomes(h), reasons(h)]).toEqual([[], []]);
    await advance(second, 2000);
    expect(outcomes(h)).toEqual(['success']);
  });
});

describe('trap 4: no poll without a version header while `auto` is unresolved', () => {
  it('a version document that fails at start is asked again before the first poll: a finished delete is a success, not not_found', async () => {
    await harness({ role: 'member' });
    const del = script({ action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 500, taskState: 'deleting' }] });
    h.simulator.addAction(del);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'versions' });
    const app = await h.app(h.yaml([entry(del)]));
    await advance(app, 3 * 60_000, 10_000);
    expect(outcomes(h)).toEqual(['success']);
    const polls = h.simulator.requests.filter((r) => r.route !== 'versions');
    expect(polls.length).toBeGreaterThan(0);
    for (const r of polls) expect(r.headers['x-openstack-nova-api-version']).toBe('2.84');
  });

  it('while discovery keeps failing no request goes out, and the watch waits', async () => {
    // The next round is due 5 s after a failed one by the monotonic clock.
    await harness({ role: 'member' }, ['Date', 'performance']);
    const del = script({ action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 500 }] });
    h.simulator.addAction(del);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'versions', times: 3 });
    const app = await h.app(h.yaml([entry(del)], { poll: NO_RETRIES }));
    await advance(app, 1000);
    expect(h.simulator.requests.map((r) => r.route)).toEqual(['versions', 'versions', 'versions']);
    expect(recordOf(app).lastError).toMatch(/\/v2\.1\/ → 503/);
    await advance(app, 3 * 60_000, 10_000);
    expect(outcomes(h)).toEqual(['success']);
  });

  it('a stop ends the wait between two discovery attempts: nothing more is asked while the pass drains', async () => {
    h = await Harness.start();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 500 }] });
    h.simulator.addAction(reboot);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'versions', times: 3 });
    // The drain that shutdown.drainTimeout allows (10 s): as long as a systemd stop or a pod's grace gives it.
    const app = await h.app(h.yaml([entry(reboot)], { poll: NO_RETRIES }));
    const pass = app.engine.pollOnce();
    await eventually(() => expect(h.simulator.requests).toHaveLength(1));
    await app.close();
    await pass;
    expect(h.simulator.requests.map((r) => r.route)).toEqual(['versions']);
    expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('compute microversion discovery failed'))).toEqual([]);
  });
});

describe('trap 5: only the API\'s own 404 is "not found"', () => {
  it('a gateway\'s 404 (APIGW.0101) for minutes is a logged poll error, never not_found', async () => {
    await harness();
    const ids = newIds();
    h.simulator.injectFault({ kind: 'gateway-not-found' }, { route: 'action', times: 1000 });
    const app = await h.app(h.yaml([{ ...ids, name: 'behind a gateway' }]));
    const [status] = await app.engine.pollOnce();
    expect(status).toMatchObject({ pollFailed: true, state: 'pending' });
    await advance(app, 5 * 60_000, 10_000);
    expect(outcomes(h)).toEqual([]);
    const warning = h.logs.lines().find((l) => l['level'] === 40 && String(l['error']).includes('APIGW.0101'));
    expect(warning?.['error']).toContain('The API does not exist or has not been published in the environment');
    expect(String(warning?.['msg'])).toContain('check cloud.endpoint');
  });

  it('so is the router\'s 404 for a wrong path, while Nova\'s own 404 ends as not_found', async () => {
    await harness();
    const wrongPath = newIds();
    const ghost = newIds();
    h.simulator.injectFault({ kind: 'router-not-found' }, { pathIncludes: wrongPath.requestId, times: 1000 });
    const app = await h.app(h.yaml([{ ...wrongPath, name: 'wrong path' }, { ...ghost, name: 'ghost' }]));
    await advance(app, 3 * 60_000, 10_000);
    expect(h.hooks.received.map((r) => (r.body as { watch: { name: string } }).watch.name)).toEqual(['ghost']);
    expect(outcomes(h)).toEqual(['not_found']);
  });
});

describe('a refusal that is an HTML page', () => {
  it('is a poll error of kind gateway that points at what is in front of the API, not at cloud.auth', async () => {
    await harness();
    const ids = newIds();
    h.simulator.injectFault({ kind: 'firewall-refused' }, { route: 'action', times: 1000 });
    const app = await h.app(h.yaml([{ ...ids, name: 'behind a firewall' }]));
    const [status] = await app.engine.pollOnce();
    expect(status).toMatchObject({ pollFailed: true, state: 'pending', errorCause: 'gateway' });
    const warning = h.logs.lines().find((l) => l['level'] === 40 && String(l['error']).includes('403'));
    expect(warning?.['error']).toContain('403 Forbidden: an HTML page ("Access Denied"), not the API\'s answer: something in front of the API (a firewall, gateway or proxy) refused the request');
    expect(String(warning?.['msg'])).toContain('check with whoever runs the firewall, gateway or proxy in front of it');
    expect(String(warning?.['msg'])).not.toContain('(check cloud.auth');
    expect(await app.metrics.registry.getSingleMetricAsString('ecs_action_watch_poll_errors_total')).toContain('ecs_action_watch_poll_errors_total{kind="gateway"} 1');
  });
});

describe('trap 6: events []', () => {
  it('a delete recorded without events (a local delete) whose server is gone is a success; a reboot without events waits', async () => {
    await harness();
    const local = script({ action: 'delete', steps: [] });
    const reboot = script({ action: 'reboot', steps: [], firstStepAfterMs: 600_000 });
    h.simulator.addAction(local);
    h.simulator.addAction(reboot);
    const app = await h.app(h.yaml([entry(local), entry(reboot)]));
    await advance(app, 5000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/^delete: recorded without events \(a local delete\), server deleted$/);
    expect(app.engine.allDone()).toBe(false);
  });

  it('an attach_interface that nova-api refused after recording it, no event 10 min on, is a failure rather than a timeout', async () => {
    await harness();
    const attach = script({ action: 'attach_interface', taskState: null, steps: [] });
    h.simulator.addAction(attach);
    const app = await h.app(h.yaml([entry(attach)]));
    await advance(app, 9 * 60_000, 30_000);
    expect(outcomes(h)).toEqual([]);
    expect(recordOf(app).lastError).toBeNull();
    await advance(app, 90_000, 30_000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^attach_interface failed: no event started in 10 min: nova-api refused it before calling nova-compute/);
  });
});

describe('trap 7: a rolled-back live migration', () => {
  const rolledBack = (): Script => liveMigrationScript({ projectId: PROJECT, ...newIds() }, 'failed');

  it('is a failure for an admin, from its os-migrations record', async () => {
    await harness({ role: 'admin' });
    const lm = rolledBack();
    h.simulator.addAction(lm);
    const app = await h.app(h.yaml([entry(lm)]));
    await advance(app, 15_000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^live-migration failed: migration \d+ failed \(compute-1 → compute-2\): rolled back$/);
    expect((h.hooks.received[0]!.body as { server: { status: string } }).server.status).toBe('ACTIVE');
  });

  it('is a failure for a project member at 2.62+, from the hostIds, asking os-migrations only once', async () => {
    await harness({ role: 'member' });
    const lm = rolledBack();
    h.simulator.addAction(lm);
    const app = await h.app(h.yaml([entry(lm)]));
    await advance(app, 15_000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/rolled back: the server is still on the host compute_live_migration ran on/);
    expect(h.simulator.requests.filter((r) => r.route === 'migrations').map((r) => r.status)).toEqual([403]);
  });

  it('is a success that says it cannot be verified, for a member at 2.60, once no rollback event has come for a minute after the server was saved', async () => {
    await harness({ role: 'member' });
    const lm = rolledBack();
    h.simulator.addAction(lm);
    const app = await h.app(h.yaml([entry(lm)], { cloud: '  microversion: "2.60"' }));
    await advance(app, 15_000);
    expect(outcomes(h)).toEqual([]);
    await advance(app, 60_000, 5_000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/result not verifiable without os-migrations \(admin\) or a comparable event hostId/);
  });

  it('is judged without os-migrations when a firewall refuses that path with its page twice in a row, as when the policy refuses it', async () => {
    await harness({ role: 'admin' });
    const lm = rolledBack();
    h.simulator.addAction(lm);
    h.simulator.injectFault({ kind: 'firewall-refused' }, { route: 'migrations', times: 1000 });
    const app = await h.app(h.yaml([entry(lm)], { cloud: '  microversion: "2.60"' }));
    await advance(app, 75_000, 5_000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/result not verifiable without os-migrations \(admin\) or a comparable event hostId/);
    // The second refusal counts; asked once more after the minute the rollback event is waited for.
    expect(h.simulator.requests.filter((r) => r.route === 'migrations').map((r) => r.status)).toEqual([403, 403, 403]);
  });

  it('is judged without os-migrations when a gateway answers that path with a page of its own at 200, twice in a row', async () => {
    await harness({ role: 'admin' });
    const lm = rolledBack();
    h.simulator.addAction(lm);
    const page = '<!DOCTYPE html><html><head><title>Cloud Portal</title></head><body>Welcome</body></html>';
    h.simulator.injectFault({ kind: 'garbage', body: page }, { route: 'migrations', times: 1000 });
    const app = await h.app(h.yaml([entry(lm)], { cloud: '  microversion: "2.60"' }));
    await advance(app, 75_000, 5_000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/result not verifiable without os-migrations \(admin\) or a comparable event hostId/);
    expect(h.simulator.requests.filter((r) => r.route === 'migrations').map((r) => r.status)).toEqual([200, 200, 200]);
    expect(h.logs.lines().some((l) => String(l['error']).includes('200 OK: an HTML page ("Cloud Portal"), not the API\'s answer: something in front of the API (a firewall, gateway or proxy) answered in its place'))).toBe(true);
  });

  it('is a failure from its record when a firewall\'s page refused os-migrations once: a blip is a failed poll, not a verdict', async () => {
    await harness({ role: 'admin' });
    const lm = rolledBack();
    h.simulator.addAction(lm);
    h.simulator.injectFault({ kind: 'firewall-refused' }, { route: 'migrations' });
    const app = await h.app(h.yaml([entry(lm)], { cloud: '  microversion: "2.60"' }));
    await advance(app, 15_000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^live-migration failed: migration \d+ failed \(compute-1 → compute-2\): rolled back$/);
    // Then read until the rollback has marked the record failed.
    const [first, ...then] = h.simulator.requests.filter((r) => r.route === 'migrations').map((r) => r.status);
    expect([first, new Set(then)]).toEqual([403, new Set([200])]);
    expect(h.logs.lines().some((l) => l['level'] === 40 && String(l['error']).includes('an HTML page ("Access Denied")'))).toBe(true);
  });

  it('a completed one is a success, only once its record says so', async () => {
    await harness({ role: 'admin' });
    const lm = liveMigrationScript({ projectId: PROJECT, ...newIds() }, 'completed', { statusLagMs: 3000 });
    h.simulator.addAction(lm);
    const app = await h.app(h.yaml([entry(lm)]));
    await advance(app, 5000);
    // task_state cleared at 3.8 s, the record completes at 6.8 s.
    expect(outcomes(h)).toEqual([]);
    await advance(app, 5000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/migration \d+ completed \(compute-1 → compute-2\)$/);
    // At the contract's path, which a gateway passing only what it publishes serves, not the one with the project.
    const read = h.simulator.requests.filter((r) => r.route === 'migrations').map((r) => r.path);
    expect(new Set(read)).toEqual(new Set([`/v2.1/os-migrations?instance_uuid=${lm.serverId}`]));
  });

  it('one whose record stays queued after the server lost its task state is abandoned: a failure a minute on, not a wait to the deadline', async () => {
    await harness({ role: 'admin' });
    // nova compute/manager.py _reset_live_migration, its source nova-compute started again while the migration
    // was queued: task_state None, the record left queued for good.
    const lm = liveMigrationScript({ projectId: PROJECT, ...newIds() }, 'queued');
    h.simulator.addAction(lm);
    const app = await h.app(h.yaml([entry(lm)]));
    await advance(app, 30_000, 5000);
    expect(outcomes(h)).toEqual([]);
    await advance(app, 40_000, 5000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^live-migration failed: migration \d+ queued \(compute-1 → compute-2\): abandoned, the server has had no task state for 1 min/);
  });

  it('an aborted one, its record cancelled, is a failure as one rolled back', async () => {
    await harness({ role: 'admin' });
    // nova compute/manager.py live_migration_abort of a queued migration: task_state None, record cancelled,
    // compute_live_migration Success (it had handed the job to a thread), the server still on its source.
    const lm = liveMigrationScript({ projectId: PROJECT, ...newIds() }, 'cancelled');
    h.simulator.addAction(lm);
    const app = await h.app(h.yaml([entry(lm)]));
    await advance(app, 15_000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^live-migration failed: migration \d+ cancelled \(compute-1 → compute-2\): rolled back$/);
  });

  it('one whose destination nova-compute stopped in pre_live_migration is a failure once rolled back, not a timeout at the deadline', async () => {
    await harness({ role: 'member' });
    // nova compute/manager.py _do_pre_live_migration_from_source: the call to the destination's
    // pre_live_migration fails (its service gone, the call monitor's timeout), and _cleanup_pre_live_migration
    // rolls the migration back on the source: task_state None, the server ACTIVE there, the record error. Only
    // the destination's service finishes its event: compute_pre_live_migration stays open for good.
    const lm = script({
      ...liveMigrationScript({ projectId: PROJECT, ...newIds() }, 'error'),
      steps: [
        { event: 'conductor_live_migrate_instance', durationMs: 500, host: 'controller-1' },
        { event: 'compute_check_can_live_migrate_destination', durationMs: 500, host: 'compute-2' },
        { event: 'compute_check_can_live_migrate_source', durationMs: 300, host: 'compute-1' },
        { event: 'compute_live_migration', durationMs: 200, host: 'compute-1' },
        { event: 'compute_pre_live_migration', durationMs: 90_000, host: 'compute-2', leftOpen: true },
      ],
      taskStateClearsAfterMs: 0,
    });
    h.simulator.addAction(lm);
    // At 2.60 a member sees neither the record nor a hostId: the server's task state is what tells.
    const app = await h.app(h.yaml([entry(lm)], { cloud: '  microversion: "2.60"' }));
    await advance(app, 12 * 60_000, 5000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(
      /^live-migration failed: compute_pre_live_migration never finished \(running 10 min \d+ s\) and the server has been ACTIVE with no task state \(a running live migration keeps one; Nova clears it as it rolls one back\) for 2\d s: its compute service likely stopped during the step$/,
    );
  });

  it('is judged by its own record, not that of a later live migration of the server, when first seen after both', async () => {
    await harness({ role: 'admin' });
    const serverId = crypto.randomUUID();
    const failed = liveMigrationScript({ projectId: PROJECT, serverId, requestId: `req-${crypto.randomUUID()}` }, 'failed');
    h.simulator.addAction(failed);
    vi.setSystemTime(Date.now() + 10_000);
    // The operator tried again, and the second one went through: os-migrations lists both records.
    h.simulator.addAction(liveMigrationScript({ projectId: PROJECT, serverId }, 'completed'));
    vi.setSystemTime(Date.now() + 10_000);
    const app = await h.app(h.yaml([entry(failed)]));
    await advance(app, 3000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^live-migration failed: migration \d+ failed \(compute-1 → compute-2\): rolled back$/);
  });
});

describe('a transient error within a poll', () => {
  it('is retried up to poll.retries times before the poll counts as failed', async () => {
    await harness();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 300 }] });
    h.simulator.addAction(reboot);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 1 });
    const app = await h.app(h.yaml([entry(reboot)], { poll: '  schedule: "* * * * * *"\n  retries: 1' }));
    vi.setSystemTime(Date.now() + 1000);
    const [status] = await app.engine.pollOnce();
    expect(h.simulator.pendingFaults).toBe(0);
    expect(status).toMatchObject({ pollFailed: false, state: 'success' });
    expect(recordOf(app).lastError).toBeNull();
  });
});

describe('trap 8: the not-found grace counts from the first 404', () => {
  it('after downtime, one 404 does not end a watch whose action appears a minute later', async () => {
    await harness();
    const create = script({ action: 'create', visibleAfterMs: 11 * 60_000, steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 2000 }] });
    h.simulator.addAction(create);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action' });
    const yaml = h.yaml([entry(create)], { poll: NO_RETRIES });
    const first = await h.app(yaml);
    await advance(first, 500);
    expect(recordOf(first).lastError).toMatch(/503/);
    await first.close();

    vi.setSystemTime(Date.now() + 10 * 60_000);
    const second = await h.app(yaml);
    await advance(second, 90_000, 10_000);
    expect(outcomes(h)).toEqual(['success']);
  });
});

describe('a create the scheduler holds up past the not-found grace', () => {
  it('waits while its server shows BUILD (task_state scheduling) and no action, then ends with its own outcome', async () => {
    await harness();
    // A wave of creates backs the scheduler up: the create's action is recorded only after 5 min.
    const create = script({ action: 'create', visibleAfterMs: 5 * 60_000, steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 2000, taskState: 'spawning' }] });
    h.simulator.addAction(create);
    const app = await h.app(h.yaml([entry(create)], { poll: NO_RETRIES }));
    await advance(app, 4 * 60_000, 10_000);
    expect(outcomes(h)).toEqual([]);
    expect((await app.engine.pollOnce())[0]?.detail).toMatch(/the server is BUILD \(task_state scheduling\) with no action recorded/);
    await advance(app, 2 * 60_000, 10_000);
    expect(outcomes(h)).toEqual(['success']);
  });

  it('... with the server\'s action list refused by the cloud\'s policy: waits all the same while the server shows it is being scheduled, not not_found at two minutes', async () => {
    await harness();
    const create = script({ action: 'create', visibleAfterMs: 5 * 60_000, steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 2000, taskState: 'spawning' }] });
    h.simulator.addAction(create);
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'actions', times: 100_000 });
    const app = await h.app(h.yaml([entry(create)], { poll: NO_RETRIES }));
    await advance(app, 4 * 60_000, 10_000);
    expect(outcomes(h)).toEqual([]);
    expect((await app.engine.pollOnce())[0]?.detail).toMatch(
      /^not visible yet \(404: .*\): the server is BUILD \(task_state scheduling\), and Nova records its create once the scheduler has placed it; whether an action is recorded for it is not known: the action list is refused \(GET \S+ → 403 .*os_compute_api:os-instance-actions:list.*\)$/,
    );
    await advance(app, 2 * 60_000, 10_000);
    expect(outcomes(h)).toEqual(['success']);
  });

  it('waits too for a request id that is not the create\'s, and is not_found once the server lists an action that is not it', async () => {
    await harness();
    const create = script({ action: 'create', visibleAfterMs: 5 * 60_000, steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 2000 }] });
    h.simulator.addAction(create);
    const other = { requestId: `req-${crypto.randomUUID()}`, serverId: create.serverId, name: 'typo' };
    const app = await h.app(h.yaml([other], { poll: NO_RETRIES }));
    await advance(app, 4 * 60_000, 10_000);
    expect(outcomes(h)).toEqual([]);
    await advance(app, 2 * 60_000, 10_000);
    expect(outcomes(h)).toEqual(['not_found']);
  });
});

describe('trap 9: the server is read before the action that judges it', () => {
  it('a step that starts and fails between the action read and the server read is not missed', async () => {
    await harness();
    // A resize whose second step fails and rolls back: Error event, server ACTIVE (InstanceFaultRollback).
    const resize = script({
      action: 'resize',
      gapMs: 1000,
      steps: [
        { event: 'compute_prep_resize', durationMs: 1000, taskState: 'resize_prep' },
        { event: 'compute_resize_instance', durationMs: 1000, taskState: 'resize_migrating', result: 'Error', details: 'Disk too small' },
      ],
      finalStatus: 'ACTIVE',
    });
    h.simulator.addAction(resize);
    const app = await h.app(h.yaml([entry(resize)]));
    vi.setSystemTime(Date.now() + 1500);
    // The first step has ended; hold the server read until the clock has passed the second step.
    h.simulator.injectFault({ kind: 'slow', delayMs: 1000 }, { route: 'server' });
    const pass = app.engine.pollOnce();
    while (!h.simulator.requests.some((r) => r.route === 'server')) await sleep(5);
    vi.setSystemTime(Date.now() + 5000);
    await pass;
    await app.store.save();
    await app.outbox.flush();
    await advance(app, 3000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/^resize failed: compute_resize_instance Error$/);
  });
});

describe('trap 10: a newer action owns the server\'s state', () => {
  /** A resize, then on the same server a reboot that fails and leaves it ERROR, both over when the watch starts. */
  function resizeThenFailedReboot() {
    const resize = script({
      action: 'resize',
      steps: [{ event: 'compute_prep_resize', durationMs: 1000 }, { event: 'compute_finish_resize', durationMs: 1000 }],
      migration: { destHost: 'compute-2' },
    });
    h.simulator.addAction(resize);
    vi.setSystemTime(Date.now() + 10_000);
    h.simulator.addAction({ projectId: PROJECT, serverId: resize.serverId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }], fault: { message: 'libvirtError: internal error' } });
    vi.setSystemTime(Date.now() + 10_000);
    return { resize };
  }

  it('a resize followed by a failing reboot is a success; the ERROR is the reboot\'s', async () => {
    await harness({ role: 'admin' });
    const { resize } = resizeThenFailedReboot();
    const app = await h.app(h.yaml([entry(resize)]));
    await advance(app, 3000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/the server's ERROR belongs to a newer action \(reboot req-/);
    expect(reasons(h)[0]).toMatch(/migration \d+ finished/);
  });

  it('with the action list refused by the cloud\'s policy, the ERROR is taken as the watched action\'s, and the reason says why', async () => {
    await harness({ role: 'admin' });
    const { resize } = resizeThenFailedReboot();
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'actions', times: 1000 });
    const app = await h.app(h.yaml([entry(resize)]));
    await advance(app, 3000);
    expect(outcomes(h)).toEqual(['failure']);
    expect(reasons(h)[0]).toMatch(/whether the server's ERROR is a newer action's is not known: the action list is refused \(.*403.*Policy doesn't allow os_compute_api:os-instance-actions:list/);
  });

  it('with the action list failing past the deadline, a finished action ends as a timeout that says so, not pending for good', async () => {
    await harness({ role: 'admin' });
    const { resize } = resizeThenFailedReboot();
    h.simulator.injectFault({ kind: 'server-error' }, { route: 'actions', times: 100_000 });
    const app = await h.app(h.yaml([entry(resize, '    deadline: 30s')], { poll: NO_RETRIES }));
    await advance(app, 70_000, 5000);
    expect(outcomes(h)).toEqual(['timeout']);
    expect(reasons(h)[0]).toMatch(/^not confirmed within 30 s and 30 s more: its events finished \d+ s before tracking began, but resize: events finished; the action list read failed: .*500/);
  });

  it('a reboot whose server a later delete is still deleting is a success, not a timeout', async () => {
    await harness();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }] });
    h.simulator.addAction(reboot);
    vi.setSystemTime(Date.now() + 5000);
    h.simulator.addAction({ projectId: PROJECT, serverId: reboot.serverId, action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 600_000 }] });
    const app = await h.app(h.yaml([entry(reboot, '    deadline: 30s')]));
    await advance(app, 40_000, 5000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/DELETED|task_state deleting belongs to a newer action \(delete req-/);
  });

  it('a failed build whose server a later delete is still deleting is a failure: the ERROR is older than the delete', async () => {
    await harness();
    // Nova ends the build event Success and sets ERROR; a delete keeps vm_state while it runs.
    const create = script({ action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000 }], fault: { message: 'Build of instance aborted' } });
    h.simulator.addAction(create);
    vi.setSystemTime(Date.now() + 5000);
    h.simulator.addAction({ projectId: PROJECT, serverId: create.serverId, action: 'delete', status: 'ERROR', vmState: 'error', steps: [{ event: 'compute_terminate_instance', durationMs: 600_000 }] });
    const app = await h.app(h.yaml([entry(create)]));
    await advance(app, 3000);
    expect(outcomes(h)).toEqual(['failure']);
    // Nova would still show the build's fault; the simulator shows none while an action runs.
    expect(reasons(h)[0]).toMatch(/^create failed: server ERROR; its task_state deleting belongs to a newer action \(delete req-/);
  });
});

describe('an action that sets no server state', () => {
  it('a lock of a server a failed build left ERROR is a success: the ERROR is not the lock\'s', async () => {
    await harness();
    const create = script({ action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000 }], fault: { message: 'Build of instance aborted' } });
    h.simulator.addAction(create);
    vi.setSystemTime(Date.now() + 5000);
    const lock = script({ serverId: create.serverId, action: 'lock', status: 'ERROR', vmState: 'error', taskState: null, finalStatus: 'ERROR', steps: [{ event: 'api_lock', durationMs: 100 }] });
    h.simulator.addAction(lock);
    const app = await h.app(h.yaml([entry(lock)]));
    await advance(app, 3000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/^lock: 1 event succeeded in 100 ms, server ERROR; the server's ERROR is not the lock's, which sets no state$/);
  });

  it('a detach whose event succeeded is a success when a later delete has taken its server, not "server deleted"', async () => {
    await harness();
    const detach = script({ action: 'detach_volume', taskState: null, steps: [{ event: 'compute_detach_volume', durationMs: 1000 }] });
    h.simulator.addAction(detach);
    vi.setSystemTime(Date.now() + 5000);
    h.simulator.addAction(script({ serverId: detach.serverId, action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 500 }] }));
    vi.setSystemTime(Date.now() + 5000);
    const app = await h.app(h.yaml([entry(detach)]));
    await advance(app, 3000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/^detach_volume: 1 event succeeded in 1 s, server deleted$/);
  });
});

describe('a confirmResize, which sets no task state', () => {
  it('below 2.51, its events hidden, is a success only once its step has moved the server out of VERIFY_RESIZE', async () => {
    await harness({ role: 'member' });
    // compute/api.py confirm_resize marks only the migration confirming; manager.py _confirm_resize sets ACTIVE.
    const confirm = script({ action: 'confirmResize', steps: [{ event: 'compute_confirm_resize', durationMs: 20_000 }] });
    h.simulator.addAction(confirm);
    const app = await h.app(h.yaml([entry(confirm)], { cloud: '  microversion: "2.50"' }));
    await advance(app, 10_000);
    expect(outcomes(h)).toEqual([]);
    expect(recordOf(app).lastError).toBeNull();
    await advance(app, 12_000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/^confirmResize: finished \(events not visible at this microversion\)/);
  });
});

describe('check after the daemon', () => {
  it('shows a watch the daemon finished long ago with its real verdict, not timeout', async () => {
    await harness();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }] });
    h.simulator.addAction(reboot);
    const path = await h.writeConfig(h.yaml([entry(reboot, '    deadline: 30s')]));
    const daemon = await h.app(h.yaml([entry(reboot, '    deadline: 30s')]));
    await advance(daemon, 5000);
    expect(outcomes(h)).toEqual(['success']);
    await daemon.close();

    vi.setSystemTime(Date.now() + 24 * 60 * 60_000);
    const r = await h.cli(['check', '--json', '--config', path]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ state: 'success', pollFailed: false })]);
  });

  it.each([
    ['not a state file', (path: string) => writeFile(path, 'not json\n'), /is not valid JSON/],
    ['a folder where the file should be', (path: string) => mkdir(path), /is a directory, not a regular file/],
  ])('polls without a state it cannot use (%s), saying so, with the exit status of its polls', async (_, spoil, said) => {
    await harness();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }] });
    h.simulator.addAction(reboot);
    const path = await h.writeConfig(h.yaml([entry(reboot)]));
    const statePath = join(h.dir, 'state', 'state.json');
    await mkdir(dirname(statePath), { recursive: true });
    await spoil(statePath);
    vi.setSystemTime(Date.now() + 5000);
    const r = await h.cli(['check', '--json', '--config', path]);
    expect(r.stderr).toMatch(said);
    expect(r.stderr).toMatch(/checking without the daemon's state: ages count from this check/);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ state: 'success', pollFailed: false })]);
    expect(r.code).toBe(0);
  });
});

describe('an action found, then not found when read again within the same poll', () => {
  it('counts as seen: its document is kept, and the 404s that follow are never a not_found', async () => {
    await harness();
    const reboot = script({ action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 300, taskState: 'rebooting' }] });
    h.simulator.addAction(reboot);
    vi.setSystemTime(Date.now() + 5000);
    // The poll's first read finds it finished; the re-read after the server, and every read after, is Nova's 404.
    h.simulator.injectFault({ kind: 'not-found' }, { route: 'action', after: 1, times: 10_000 });
    const app = await h.app(h.yaml([entry(reboot)], { poll: NO_RETRIES }));
    const [status] = await app.engine.pollOnce();
    expect(h.simulator.requests.filter((r) => r.route === 'action').map((r) => r.status)).toEqual([200, 404]);
    // Not a "not found" poll (polls_total, check's hint): this poll found it.
    expect(status?.notFound).toBe(false);
    expect(recordOf(app)).toMatchObject({ everFound: true, instanceAction: { request_id: reboot.requestId } });

    // Past the two minutes of 404s that make a not_found of an action never seen.
    await advance(app, 150_000, 5000);
    expect(h.hooks.received).toEqual([]);
    expect(recordOf(app).verdict).toBeNull();
  });
});

describe('a resize across cells', () => {
  it('is a success once its server is resized, though the conductor\'s two events copied into the target cell stay open', async () => {
    await harness({ role: 'admin' });
    // conductor/tasks/cross_cell_migrate.py TargetDBSetupTask copies the action's events into the target cell while
    // conductor_migrate_server and cold_migrate run; the conductor finishes them in the source cell only, and the
    // API reads the target cell once the instance mapping points there (FinishResizeAtDestTask).
    const resize = script({
      action: 'resize',
      steps: [
        { event: 'conductor_migrate_server', durationMs: 500, leftOpen: true },
        { event: 'cold_migrate', durationMs: 500, leftOpen: true },
        { event: 'compute_prep_snapshot_based_resize_at_dest', durationMs: 1000 },
        { event: 'compute_finish_snapshot_based_resize_at_dest', durationMs: 1000, taskState: 'resize_finish' },
      ],
      migration: { destHost: 'compute-2' },
    });
    h.simulator.addAction(resize);
    const app = await h.app(h.yaml([entry(resize, '    deadline: 30m')]));
    await advance(app, 15_000);
    expect(outcomes(h)).toEqual(['success']);
    expect(reasons(h)[0]).toMatch(/^resize: 2 events succeeded in \d+ s, server VERIFY_RESIZE; migration \d+ finished \(compute-1 → compute-2\)$/);
  });
});
