// A step that died with its compute service (watch/deadStep.ts), judged through the simulator and the whole
// daemon while reads fail: the sign must last 20 s between two looks at the server, and a deadline may come
// between them.
import { describe, expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ActionScript, FaultSpec } from '../../src/simulator/index.ts';
import { Harness, PROJECT, advance, harnessOnFakeClock, newIds, quickAction, type WatchEntry } from './harness.ts';
import { eventually } from '../eventually.ts';

type Script = ActionScript & { requestId: string };

const env = harnessOnFakeClock();
const NO_RETRIES = '  schedule: "* * * * * *"\n  retries: 0';
const outcomes = () => env.h.hooks.received.map((r) => (r.body as { outcome: string }).outcome);
const reasons = () => env.h.hooks.received.map((r) => (r.body as { reason: string }).reason);
const recordOf = (app: App) => app.store.entries()[0]![1];
const serverReads = () => env.h.simulator.requests.filter((r) => r.route === 'server').length;
const warnings = () => env.h.logs.lines().filter((l) => l['level'] === 40);
const entry = (s: Script, extra?: string): WatchEntry => ({ requestId: s.requestId, serverId: s.serverId, name: s.action, ...(extra ? { extra } : {}) });
const DEAD = /^create failed: server ERROR; compute__do_build_and_run_instance never finished \(running 10 min \d+ s\) and the server has been ERROR with no task state for \d+ s: its compute service likely stopped during the step$/;

/**
 * A build whose nova-compute stopped a minute in: at its next start it set the server ERROR with no task
 * state (manager.py _init_instance), and the event stays open for good. The server is first looked at once
 * the event has run 10 min.
 */
function deadBuild(): Script {
  return {
    projectId: PROJECT,
    ...newIds(),
    action: 'create',
    steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 60_000, taskState: 'spawning', leftOpen: true }],
    finalStatus: 'ERROR',
  };
}

/**
 * The watch of a dead build, polled every 20 s until its first look at the server, at 10 min, has seen the
 * sign: the 10 min before it are a step running, which a poll every 5 s saw 120 times where 30 show it (20 s
 * apart, below the 30 s that is a step of the clock to the engine).
 */
async function signSeen(deadline = '6h', warnAfter?: string): Promise<{ app: App; build: Script }> {
  const { h } = env;
  const build = deadBuild();
  h.simulator.addAction(build);
  const app = await h.app(h.yaml([entry(build, `    deadline: ${deadline}${warnAfter ? `\n    warnAfter: ${warnAfter}` : ''}`)], { poll: NO_RETRIES }));
  await advance(app, 10 * 60_000, 20_000);
  expect(recordOf(app).observed).toMatchObject({ erroredSince: expect.any(String) });
  return { app, build };
}

/** One poll 5 s on; what it left the watch at. */
async function pollIn5s(app: App): Promise<string> {
  vi.advanceTimersByTime(5000);
  const [status] = await app.engine.pollOnce();
  await app.outbox.flush();
  return status!.detail;
}

describe('a dead step whose looks at the server fail', () => {
  it.each<[string, FaultSpec]>([
    ['503', { kind: 'unavailable' }],
    ['500', { kind: 'server-error' }],
    ['429', { kind: 'rate-limited', retryAfterSeconds: 1 }],
    ['a body that is not JSON', { kind: 'garbage' }],
    ['a connection reset', { kind: 'reset' }],
  ])('(%s) looks again at the next poll, and the sign seen before and after counts as lasting', async (_, fault) => {
    const { app } = await signSeen();
    const before = serverReads();
    env.h.simulator.injectFault(fault, { route: 'server' });
    expect(await pollIn5s(app)).toMatch(/^create: compute__do_build_and_run_instance running; the server showed the sign of a dead step 5 s ago, and looking at it again failed: GET \S+\/servers\/\S+ → /);
    expect(recordOf(app).lastError).toMatch(/^GET \S+\/servers\//);
    expect(warnings().at(-1)).toMatchObject({ msg: expect.stringMatching(/^poll failed/), error: expect.stringMatching(/\/servers\/\S+ → /) });
    expect(await pollIn5s(app)).toMatch(/^create: compute__do_build_and_run_instance running, server ERROR with no task state for 10 s \(a dead step once so for 20 s\)$/);
    // The next poll looked again, not the one 5 min on.
    expect(serverReads() - before).toBe(2);
    await advance(app, 10_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(DEAD);
  });

  it('a deadline that comes while the sign is confirmed: the failure once it has lasted, not a timeout', async () => {
    // Seen at 10 min, the deadline 10 s later.
    const { app } = await signSeen('610s');
    await advance(app, 30_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(DEAD);
  });

  it('... seen 1 s before it by a look whose read of the action list answered 2 s later: the sign was shown in time, and the failure once it has lasted', async () => {
    const { h } = env;
    const build = deadBuild();
    h.simulator.addAction(build);
    const app = await h.app(h.yaml([entry(build, '    deadline: 601s')], { poll: NO_RETRIES }));
    await advance(app, 10 * 60_000 - 5000, 5000);
    h.simulator.injectFault({ kind: 'slow', delayMs: 100 }, { route: 'actions' });
    // 10 min: the first look at the server, which shows the sign; the list read after it answers at 10 min 2 s.
    vi.advanceTimersByTime(5000);
    const poll = app.engine.pollOnce();
    await eventually(() => expect(h.simulator.requests.filter((r) => r.route === 'actions')).toHaveLength(1));
    vi.advanceTimersByTime(2000);
    await poll;
    await advance(app, 30_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(/^create failed: server ERROR; compute__do_build_and_run_instance never finished \(running 10 min \d+ s\) and the server has been ERROR with no task state for [\d.]+ s: its compute service likely stopped during the step$/);
  });

  it('... its looks failing across the deadline: the failure once one answers', async () => {
    const { app } = await signSeen('610s');
    const before = serverReads();
    env.h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 6 });
    await advance(app, 20_000, 5000);
    expect(outcomes()).toEqual([]);
    // Every poll looked.
    expect(serverReads() - before).toBe(4);
    expect(await pollIn5s(app)).toMatch(
      /^create: compute__do_build_and_run_instance running; the server showed the sign of a dead step 2\d s ago, and looking at it again failed: GET \S+ → 503 serviceUnavailable: .* \(past the deadline: the server showed the sign of a dead step in time, judged once the API answers, or a timeout in 9 min 55 s\)$/,
    );
    await advance(app, 10_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(DEAD);
  });

  it('... its looks failing for good: a timeout that says the server showed the sign in time, and that looking again failed', async () => {
    const { app } = await signSeen('610s');
    env.h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 1000 });
    await advance(app, 10 * 60_000, 10_000);
    expect(outcomes()).toEqual([]);
    await advance(app, 30_000, 10_000);
    expect(outcomes()).toEqual(['timeout']);
    expect(reasons()[0]).toMatch(
      /^not confirmed within 10 min 10 s and 10 min 10 s more: the server showed the sign of a dead step 10 min( \d+ s)? after tracking began, but create: compute__do_build_and_run_instance running; the server showed the sign of a dead step 10 min \d+ s ago, and looking at it again failed: GET \S+ → 503 /,
    );
  });

  it('its action\'s read failing across the deadline (the server readable): judged once the action answers', async () => {
    const { app } = await signSeen('610s');
    const before = serverReads();
    env.h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 4 });
    await advance(app, 20_000, 5000);
    // The server is looked at only beside the action read in the same poll.
    expect(serverReads()).toBe(before);
    expect(recordOf(app).lastError).toMatch(/os-instance-actions\/\S+ → 503/);
    await advance(app, 30_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(DEAD);
  });

  it('a server that a newer action set a task state on and left ERROR again between two looks is not the sign lasting', async () => {
    const { app, build } = await signSeen();
    env.h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 8 });
    await advance(app, 5000, 5000);
    // nova-api's rebuild of the ERROR server (compute/api.py allows it), which fails: ERROR again, no task state.
    env.h.simulator.addAction({
      projectId: PROJECT, serverId: build.serverId, action: 'rebuild', taskState: 'rebuilding',
      steps: [{ event: 'compute_rebuild_instance', durationMs: 10_000, result: 'Error' }], finalStatus: 'ERROR',
    });
    await advance(app, 2 * 60_000, 5000);
    expect(outcomes()).toEqual([]);
    expect(await pollIn5s(app)).toBe('create: compute__do_build_and_run_instance running');
  });
});

describe('a dead step whose server\'s action list the cloud\'s policy refuses', () => {
  it('its sign taken as the watched action\'s once it has lasted, as the server\'s state is where the events finished: a failure that says the list was refused, not a timeout that says "running"', async () => {
    const { h } = env;
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'actions', times: 100_000 });
    const { app } = await signSeen();
    await advance(app, 30_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(
      /^create failed: server ERROR; compute__do_build_and_run_instance never finished \(running 10 min \d+ s\) and the server has been ERROR with no task state for \d+ s: its compute service likely stopped during the step; whether the server's ERROR is a newer action's is not known: the action list is refused \(GET \S+\/os-instance-actions → 403 .*Policy doesn't allow os_compute_api:os-instance-actions:list to be performed\.\)$/,
    );
  });
});

describe('a long step whose server the cloud\'s policy refuses to show', () => {
  it('looks at it every 5 min, as when it answers, not at every poll, and says so once, at info', async () => {
    const { h } = env;
    const build = deadBuild();
    h.simulator.addAction(build);
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'server', times: 100_000 });
    const app = await h.app(h.yaml([entry(build)], { poll: NO_RETRIES }));
    await advance(app, 10 * 60_000 - 5000, 5000);
    expect(await pollIn5s(app)).toMatch(/^create: compute__do_build_and_run_instance running; looking at the server was refused: GET \S+\/servers\/\S+ → 403 /);
    expect(serverReads()).toBe(1);
    expect(await pollIn5s(app)).toBe('create: compute__do_build_and_run_instance running');
    // The looks at 10 min, 15 min and 20 min: one request a poll, not two, for the rest of the step.
    await advance(app, 10 * 60_000, 5000);
    expect(serverReads()).toBe(3);
    expect(warnings()).toEqual([]);
    const said = h.logs.lines().filter((l) => String(l['msg']).includes('refuses to show the server') && Number(l['level']) >= 30);
    expect(said).toEqual([expect.objectContaining({ level: 30, error: expect.stringMatching(/\/servers\/\S+ → 403 .*Policy doesn't allow os_compute_api:servers:show to be performed\.$/) })]);
    expect(outcomes()).toEqual([]);
  });

  it('counts no failed poll at each look, nor has a partial digest due at one say the last poll failed: a poll.schedule 2 min apart had a third of its polls counted failed, for the whole step', async () => {
    const { h } = env;
    const build = deadBuild();
    h.simulator.addAction(build);
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'server', times: 100_000 });
    const app = await h.app(h.yaml([entry(build, '    batch: fleet\n    batchWindow: 10m')], { poll: NO_RETRIES }));
    await advance(app, 10 * 60_000 - 5000, 5000);
    expect(await pollIn5s(app)).toMatch(/looking at the server was refused/);
    const metrics = await app.metrics.registry.metrics();
    expect(metrics).not.toMatch(/^ecs_action_watch_polls_total\{result="error"\}/m);
    expect(metrics).toMatch(/^ecs_action_watch_longest_failing_watch_seconds 0$/m);
    expect(recordOf(app)).toMatchObject({ lastError: null, failingSince: null });
    const partial = h.hooks.received.map((r) => r.body as { type: string; watches: Array<{ reason: string }> });
    expect(partial.map((d) => [d.type, d.watches.map((w) => w.reason)])).toEqual([
      ['ecs.batch.partial', ['pending: create, 0/1 events done, running compute__do_build_and_run_instance']],
    ]);
  });
});

describe('a dead step whose server answers 404 while the sign is confirmed', () => {
  it('a blip: the sign seen again after it counts from the first look', async () => {
    const { app } = await signSeen();
    env.h.simulator.injectFault({ kind: 'not-found' }, { route: 'server', times: 2 });
    await advance(app, 30_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(DEAD);
  });

  it('for good: each poll a failed one that says the server answers 404, warned of once, and past the deadline a timeout that says so', async () => {
    const { app } = await signSeen('610s');
    env.h.simulator.injectFault({ kind: 'not-found' }, { route: 'server', times: 1000 });
    expect(await pollIn5s(app)).toMatch(/^create: compute__do_build_and_run_instance running; the server showed the sign of a dead step 5 s ago, and now answers 404 \(1 time\)$/);
    expect(recordOf(app).lastError).toMatch(/answers 404/);
    await advance(app, 20_000, 5000);
    expect(warnings().map((l) => l['msg'])).toEqual(['the server answers 404 although the action is not a delete']);
    await advance(app, 10 * 60_000, 10_000);
    expect(outcomes()).toEqual(['timeout']);
    expect(reasons()[0]).toMatch(/^not confirmed within 10 min 10 s and 10 min 10 s more: the server showed the sign of a dead step 10 min( \d+ s)? after tracking began, but create: compute__do_build_and_run_instance running; the server showed the sign of a dead step 10 min \d+ s ago, and now answers 404 \(\d+ times\)$/);
  });
});

describe('wait, a dead step', () => {
  it('whose sign is still being confirmed at --timeout: a timeout that says so, not that the poll had no answer', async ({ onTestFinished }) => {
    // wait's timers are real: the simulator's clock puts the build's start 15 min back, and is then this host's.
    vi.useRealTimers();
    let shift = -15 * 60_000;
    const h = await Harness.start({ now: () => Date.now() + shift });
    onTestFinished(() => h.close());
    const build = deadBuild();
    h.simulator.addAction(build);
    shift = 0;
    // The poll due at --timeout gets 4 s, and wait waits them out, the sign still unconfirmed. No longer: with
    // cloud.timeout 10 s (the harness's default), wait's 20 s let the sign last its 20 s, and it ended in a
    // failure (exit 1), not the timeout this test is about.
    const path = await h.writeConfig(h.yaml([], { poll: NO_RETRIES, cloudTimeout: '2s' }));
    const r = await h.cli(['wait', '--config', path, '--server', build.serverId, '--request', build.requestId, '--timeout', '1s']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /^timeout: not finished 1 s after tracking began: create: compute__do_build_and_run_instance running, server ERROR with no task state for [\d.]+ s \(a dead step once so for 20 s\); so still 4 s \(twice cloud\.timeout\) past --timeout, when wait gives up\n$/,
    );
  });
});

describe('a delete whose event was left open', () => {
  it('its server seen gone before the deadline: success once it stays gone, not a timeout', async () => {
    const { h } = env;
    // nova-compute stopped during the delete, which its next start finished without ending the event (_init_instance).
    const del: Script = { projectId: PROJECT, ...newIds(), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 60_000, leftOpen: true }] };
    h.simulator.addAction(del);
    const app = await h.app(h.yaml([entry(del, '    deadline: 610s')], { poll: NO_RETRIES }));
    await advance(app, 10 * 60_000, 20_000);
    expect(recordOf(app).observed).toMatchObject({ serverGoneAnswers: 1 });
    await advance(app, 30_000, 5000);
    expect(outcomes()).toEqual(['success']);
    expect(reasons()[0]).toMatch(/^delete: server deleted \(not found for \d+ polls over 2\d s\); compute_terminate_instance never finished \(running 10 min \d+ s\): its compute service likely restarted during the delete, which finishes it without ending the event$/);
  });
});

describe('an early warning falling due while the end seen in time is confirmed past the deadline', () => {
  const types = () => env.h.hooks.received.map((r) => (r.body as { type: string }).type);

  it('a dead step: its failure alone, no "still running" first', async () => {
    // The sign seen at 10 min, the deadline at 10 min 10 s, the warning due at 10 min 12 s.
    const { app } = await signSeen('610s', '612s');
    await advance(app, 30_000, 5000);
    expect(types()).toEqual(['ecs.action.failed']);
    expect(reasons()[0]).toMatch(DEAD);
    expect(env.h.mail.received.map((m) => m.subject)).toEqual([expect.stringMatching(/^\[ecs-action-watch\] create failed: /)]);
  });

  it('a delete whose event was left open, its server seen gone: its success alone', async () => {
    const { h } = env;
    const del: Script = { projectId: PROJECT, ...newIds(), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 60_000, leftOpen: true }] };
    h.simulator.addAction(del);
    const app = await h.app(h.yaml([entry(del, '    deadline: 610s\n    warnAfter: 612s')], { poll: NO_RETRIES }));
    await advance(app, 10 * 60_000, 20_000);
    await advance(app, 30_000, 5000);
    expect(types()).toEqual(['ecs.action.succeeded']);
    expect(h.mail.received).toHaveLength(1);
  });
});

describe('a batch whose dead step is confirmed past its deadline', () => {
  it('its partial digest meanwhile says pending, and its one final digest waits for the failure, counted in round 1', async () => {
    const { h } = env;
    const build = deadBuild();
    const reboot = quickAction();
    h.simulator.addAction(build);
    h.simulator.addAction(reboot);
    // The sign seen at 10 min, the deadline at 10 min 10 s, the partial digest due at 10 min 12 s.
    const batch = '    batch: fleet\n    batchWindow: 612s';
    const app = await h.app(h.yaml([entry(build, `    deadline: 610s\n${batch}`), entry(reboot, batch)], { poll: NO_RETRIES }));
    await advance(app, 10 * 60_000, 20_000);
    await advance(app, 30_000, 5000);
    type Digest = { type: string; round: number; counts: Record<string, number>; watches: Array<{ outcome: string | null; reason: string }> };
    const digests = h.hooks.received.map((r) => r.body as Digest);
    expect(digests.map((d) => [d.type, d.round])).toEqual([['ecs.batch.partial', 1], ['ecs.batch.finished', 1]]);
    expect(digests[0]!.counts).toMatchObject({ pending: 1, success: 1, timeout: 0 });
    expect(digests[0]!.watches.find((w) => w.outcome === null)!.reason).toBe('pending: create, 0/1 events done, running compute__do_build_and_run_instance');
    expect(digests[1]!.counts).toEqual({ success: 1, failure: 1, timeout: 0, not_found: 0, pending: 0 });
    expect(digests[1]!.watches[0]!.reason).toMatch(DEAD);
    expect(app.engine.allSettled()).toBe(true);
  });
});

describe('a deadline edited while the sign seen in time is confirmed past it', () => {
  /** The watch file reloaded with the dead build's deadline set to `deadline`, 15 s past the old one. */
  async function editedPastDeadline(deadline: string): Promise<App> {
    const { app, build } = await signSeen('610s');
    await advance(app, 15_000, 5000);
    app.engine.setWatches(targetsOf(parseConfig(env.h.yaml([entry(build, `    deadline: ${deadline}`)], { poll: NO_RETRIES }), { env: env.h.env })));
    await advance(app, 30_000, 5000);
    return app;
  }

  it('shortened to before the sign was seen: a timeout that says when the server showed it, not that its events finished', async () => {
    await editedPastDeadline('5m');
    expect(outcomes()).toEqual(['timeout']);
    expect(reasons()).toEqual([expect.stringMatching(/^not finished within 5 min: the server showed the sign of a dead step 10 min( \d+ s)? after tracking began$/)]);
  });

  it('lengthened: the failure once the sign has lasted, not a timeout', async () => {
    await editedPastDeadline('1h');
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(DEAD);
  });
});

describe('a daemon stopped while the sign seen in time is confirmed past the deadline', () => {
  it('started again, reaches the failure, told once', async () => {
    const { h } = env;
    const { app, build } = await signSeen('610s');
    await advance(app, 15_000, 5000);
    expect(outcomes()).toEqual([]);
    await app.close();
    const again = await h.app(h.yaml([entry(build, '    deadline: 610s')], { poll: NO_RETRIES }));
    await advance(again, 30_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(DEAD);
    expect(h.mail.received.map((m) => m.subject)).toEqual([expect.stringMatching(/^\[ecs-action-watch\] create failed: /)]);
  });
});

describe('check beside a daemon whose looks at the server fail past the deadline, the sign seen in time', () => {
  /** What `check` says of the watch now, from the state the daemon saved: its LAST ERROR. */
  async function checkSays(build: Script): Promise<string> {
    const { h } = env;
    const path = await h.writeConfig(h.yaml([entry(build, '    deadline: 610s')], { poll: NO_RETRIES }));
    const r = await h.cli(['check', '--json', '--config', path]);
    expect(r.code).toBe(1);
    return (JSON.parse(r.stdout) as Array<{ lastError: string }>)[0]!.lastError;
  }
  const countdown = (said: string) => /or a timeout in ([^)]+)\)$/.exec(said)?.[1];

  it('tells the timeout the daemon will send, counted from when the daemon\'s looks began failing, not from the check', async () => {
    const { app, build } = await signSeen('610s');
    env.h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 1000 });
    // The looks fail from 10 min 5 s, 5 s before the deadline; 4 min 55 s past it, the daemon's next poll.
    await advance(app, 5 * 60_000, 5000);
    const daemon = await pollIn5s(app);
    await app.store.save();
    expect(countdown(daemon)).toBe('5 min 15 s');
    expect(countdown(await checkSays(build))).toBe('5 min 15 s');
  });

  it('... that while over before the daemon polls again: the timeout it will send', async () => {
    const { app, build } = await signSeen('610s');
    env.h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 1000 });
    await advance(app, 5 * 60_000, 5000);
    await app.close();
    vi.advanceTimersByTime(6 * 60_000);
    expect(await checkSays(build)).toMatch(/^not confirmed within 10 min 10 s and 10 min 10 s more: the server showed the sign of a dead step 10 min( \d+ s)? after tracking began, but /);
  });

  it('... a daemon started again meanwhile: from when the looks of the new one began failing', async () => {
    const { h } = env;
    const { app, build } = await signSeen('610s');
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 1000 });
    await advance(app, 3 * 60_000, 5000);
    await app.close();
    // Down 1 min; its first poll 4 min past the deadline fails, and the next.
    vi.advanceTimersByTime(60_000);
    const again = await h.app(h.yaml([entry(build, '    deadline: 610s')], { poll: NO_RETRIES }));
    await advance(again, 5000, 5000);
    const daemon = await pollIn5s(again);
    await again.store.save();
    expect(countdown(daemon)).toBe('10 min 5 s');
    expect(countdown(await checkSays(build))).toBe('10 min 5 s');
  });
});

describe('an action whose server the cloud\'s policy refuses to show once its events have finished', () => {
  it('is judged by its events once their finish has lasted a minute, its reason saying the server was not checked and which permission that needs, not a timeout 15 min past its deadline that names the 403', async () => {
    const { h } = env;
    const reboot = quickAction();
    h.simulator.addAction(reboot);
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'server', times: 100_000 });
    const app = await h.app(h.yaml([entry(reboot, '    deadline: 10m')], { poll: NO_RETRIES }));
    await advance(app, 30_000, 5000);
    expect(outcomes()).toEqual([]);
    expect(recordOf(app)).toMatchObject({ lastError: null, failingSince: null });
    await advance(app, 60_000, 5000);
    expect(outcomes()).toEqual(['success']);
    expect(reasons()[0]).toMatch(
      /^reboot: 1 event succeeded in \d+ ms, server not checked: showing it is refused \(GET \S+\/servers\/\S+ → 403 .*Policy doesn't allow os_compute_api:servers:show to be performed\.\), so an ERROR it was left in is not seen: grant these credentials the right to show a server \(Nova's os_compute_api:servers:show\)$/,
    );
    expect(warnings()).toEqual([]);
    const said = h.logs.lines().filter((l) => String(l['msg']).includes('refuses to show the server') && Number(l['level']) >= 30);
    expect(said.map((l) => [l['level'], l['msg']])).toEqual([[30, expect.stringMatching(/judging the action by its events alone once they have stayed finished for 1 min$/)]]);
  });

  it('a failed step: a failure as its events say, with the same note', async () => {
    const { h } = env;
    const reboot = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 300, taskState: 'rebooting', result: 'Error' }] });
    h.simulator.addAction(reboot);
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'server', times: 100_000 });
    const app = await h.app(h.yaml([entry(reboot)], { poll: NO_RETRIES }));
    await advance(app, 90_000, 5000);
    expect(outcomes()).toEqual(['failure']);
    expect(reasons()[0]).toMatch(/^reboot failed: compute_reboot_instance Error.*; server not checked: showing it is refused \(GET .* → 403 .*\), so an ERROR it was left in is not seen: grant these credentials the right to show a server \(Nova's os_compute_api:servers:show\)$/);
  });

  it('a firewall\'s HTML 403 in front of Nova stays a failed poll: not judged without the server', async () => {
    const { h } = env;
    const reboot = quickAction();
    h.simulator.addAction(reboot);
    h.simulator.injectFault({ kind: 'firewall-refused' }, { route: 'server', times: 100_000 });
    const app = await h.app(h.yaml([entry(reboot)], { poll: NO_RETRIES }));
    await advance(app, 3 * 60_000, 5000);
    expect(outcomes()).toEqual([]);
    expect(recordOf(app).lastError).toMatch(/403/);
  });
});
