// What the log says of polls that fail, through the whole daemon against the simulator: an outage of
// the cloud is told once a watch when it begins and once when it ends, not once a watch a pass, which at
// thousands of watches buried everything else in the log.
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { Harness, quickAction } from './harness.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { RateLimiter } from '../../src/cloud/rateLimiter.ts';

const NO_RETRIES = '  schedule: "* * * * * *"\n  retries: 0';

let h: Harness;
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

/** The log's lines with `msg` starting with `msg`, by request id. */
function told(msg: string): Map<string, Array<Record<string, unknown>>> {
  const byRequest = new Map<string, Array<Record<string, unknown>>>();
  for (const line of h.logs.lines()) {
    if (!String(line['msg']).startsWith(msg)) continue;
    const id = String(line['requestId']);
    byRequest.set(id, [...(byRequest.get(id) ?? []), line]);
  }
  return byRequest;
}

/**
 * The harness, with this process's Date faked, and one reboot that never finishes, watched as `w` (with
 * `extra` lines) under `poll` (by default no retries within a poll, every second; null: the file's defaults): its app.
 */
async function watchingOne({ poll = NO_RETRIES, extra }: { poll?: string | null; extra?: string } = {}) {
  vi.useFakeTimers({ toFake: ['Date'] });
  h = await Harness.start();
  const action = quickAction({ neverFinishes: true });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([{ ...action, name: 'w', ...(extra === undefined ? {} : { extra }) }], poll === null ? {} : { poll }));
  return { action, app };
}

it('says `poll failed` at warn once a watch while the same failure goes on, at debug after that, and when a poll is answered again', async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  h = await Harness.start();
  const watches = [quickAction({ neverFinishes: true }), quickAction({ neverFinishes: true })];
  for (const action of watches) h.simulator.addAction(action);
  const app = await h.app(h.yaml(watches.map((a, i) => ({ ...a, name: `w${i}` })), { poll: NO_RETRIES }));
  const ids = watches.map((a) => a.requestId);

  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 6 });
  for (let pass = 0; pass < 3; pass++) expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([true, true]);
  const failed = told('poll failed');
  for (const id of ids) {
    expect(failed.get(id)?.map((l) => [l['level'], l['msg']])).toEqual([
      [40, 'poll failed'],
      [20, 'poll failed again'],
      [20, 'poll failed again'],
    ]);
    expect(failed.get(id)?.every((l) => String(l['error']).includes('503'))).toBe(true);
  }
  const failingSince = app.store.entries().map(([, record]) => record.failingSince);
  expect(failingSince.every((since) => since !== null)).toBe(true);

  // A failure of another kind is told at once, though the watch never answered in between.
  h.simulator.injectFault({ kind: 'garbage' }, { route: 'action', times: 2 });
  await app.engine.pollOnce();
  for (const id of ids) expect(told('poll failed').get(id)?.filter((l) => l['level'] === 40)).toHaveLength(2);

  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false, false]);
  const answered = told('poll answered again');
  for (const [i, id] of ids.entries()) {
    expect(answered.get(id)?.map((l) => [l['level'], l['failingSince']])).toEqual([[30, failingSince[i]]]);
  }
  await app.engine.pollOnce();
  expect(told('poll answered again').get(ids[0]!)).toHaveLength(1);

  // Once answered, the next failure is a new one.
  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 2 });
  await app.engine.pollOnce();
  for (const id of ids) expect(told('poll failed').get(id)?.filter((l) => l['level'] === 40)).toHaveLength(3);
});

it('saves when a watch\'s failed polls began, the first one\'s time, however many fail after it, and forgets it once one is answered', async () => {
  const { app } = await watchingOne();
  const onDisk = () => {
    const state = stateOnDisk(join(h.dir, 'state', 'state.json')) as { watches: Record<string, { failingSince: string | null; lastError: string | null }> };
    return Object.values(state.watches)[0]!;
  };
  // Answered first: the record is on disk, and a failed poll after it changes only its failure's fields.
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false]);
  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 3 });
  const began = new Date().toISOString();
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([true]);
  expect(onDisk()).toMatchObject({ failingSince: began, lastError: expect.stringContaining('503') });
  for (let pass = 0; pass < 2; pass++) {
    vi.setSystemTime(Date.now() + 60_000);
    expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([true]);
  }
  expect(onDisk().failingSince).toBe(began);
  expect(app.store.entries()[0]![1].failingSince).toBe(began);
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false]);
  expect(onDisk()).toMatchObject({ failingSince: null, lastError: null });
});

it('keeps a failing watch failing when close() cuts its next poll short: the cut poll saw nothing, and is no answer', async () => {
  const { app } = await watchingOne();
  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 1 });
  const began = new Date().toISOString();
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([true]);
  vi.setSystemTime(Date.now() + 60_000);
  // Still reading the action when close() comes, with no time to drain.
  h.simulator.injectFault({ kind: 'slow', delayMs: 2000 }, { route: 'action', times: 1 });
  const pass = app.engine.pollOnce();
  await vi.waitUntil(() => h.simulator.requests.filter((r) => r.route === 'action').length === 2, { timeout: 10_000, interval: 10 });
  await app.engine.close(AbortSignal.abort());
  expect((await pass).map((s) => [s.pollFailed, s.detail])).toEqual([[false, 'stopping']]);
  expect(app.store.entries()[0]![1].failingSince).toBe(began);
  expect(told('poll answered again').size).toBe(0);
});

it('tries a transient error again within the poll, up to poll.retries: two 503s in a row are no failed poll', async () => {
  const { action, app } = await watchingOne({ poll: null });
  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 2 });
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false]);
  expect(told('poll failed').size).toBe(0);
  expect(told('transient API error; retrying').get(action.requestId)).toHaveLength(2);
});

it('gives no early warning on a poll that failed, which says nothing of whether the action still runs; the next answered one does', async () => {
  const { app } = await watchingOne({ extra: '    warnAfter: 10s' });
  const warning = () => app.store.entries()[0]![1].warning;
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false]);
  vi.setSystemTime(Date.now() + 20_000);
  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 1 });
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([true]);
  expect(warning() ?? null).toBeNull();
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false]);
  expect(warning()?.reason).toMatch(/still running .* after it started \(warnAfter 10 s\)/);
});

it('says a poll that failed is tried again on the next schedule when the engine polls on one, and not in a pass of its own (`check`)', async () => {
  h = await Harness.start();
  const action = quickAction({ neverFinishes: true });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([{ ...action, name: 'w' }], { poll: NO_RETRIES }));
  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 1 });
  await app.engine.pollOnce();
  h.simulator.injectFault({ kind: 'garbage' }, { route: 'action', times: 1 });
  // The first scheduled pass runs at once.
  await app.engine.start();
  expect(told('poll failed').get(action.requestId)?.map((l) => [l['level'], l['msg']])).toEqual([
    [40, 'poll failed'],
    [40, 'poll failed; trying again on the next schedule'],
  ]);
});

it('tells no end of a failure it did not tell of: a poll answered after answered ones is silent, and makes no logger for it', async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  h = await Harness.start();
  const action = quickAction({ neverFinishes: true });
  h.simulator.addAction(action);
  // At debug, every poll writes `still pending`.
  h.logger.level = 'info';
  const app = await h.app(h.yaml([{ ...action, name: 'steady' }], { poll: NO_RETRIES }));
  // A poll's logger is a pino child, with its bindings redacted: made only for a line to write.
  const children = vi.spyOn(h.logger, 'child');
  for (let pass = 0; pass < 3; pass++) await app.engine.pollOnce();
  expect(told('poll')).toEqual(new Map());
  expect(children).not.toHaveBeenCalled();
});

/**
 * Auto-tracking of one server, past its first listing, polled `passes` more times after `faults` were
 * injected on its listing of actions: what the log said of those listings.
 */
async function trackedListings(faults: Array<{ kind: 'server-error' | 'not-found'; times?: number }>, passes: number) {
  vi.useFakeTimers({ toFake: ['Date'] });
  h = await Harness.start();
  const action = quickAction({ neverFinishes: true });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([], { poll: NO_RETRIES, track: `  - servers: [${action.serverId}]` }));
  await app.engine.pollOnce();
  for (const { kind, times } of faults) h.simulator.injectFault({ kind }, { route: 'actions', times });
  for (let pass = 0; pass < passes; pass++) await app.engine.pollOnce();
  const aboutServer = h.logs.lines().filter((l) => l['track'] === 'server' && String(l['msg']).startsWith('poll '));
  return { serverId: action.serverId, said: aboutServer.map((l) => [l['level'], l['msg'], l['serverId']]) };
}

it('says so of a tracked server\'s listing too: warn when its failures begin, debug while they go on, info when it is answered again', async () => {
  const { serverId, said } = await trackedListings([{ kind: 'server-error', times: 3 }], 4);
  expect(said).toEqual([
    [40, 'poll failed', serverId],
    [20, 'poll failed again', serverId],
    [20, 'poll failed again', serverId],
    [30, 'poll answered again', serverId],
  ]);
});

it('takes Nova\'s own 404 for a tracked server as an answer: the failure told before it has ended', async () => {
  const { serverId, said } = await trackedListings([{ kind: 'server-error', times: 2 }, { kind: 'not-found' }, { kind: 'server-error' }], 4);
  expect(said).toEqual([
    [40, 'poll failed', serverId],
    [20, 'poll failed again', serverId],
    [30, 'poll answered again', serverId],
    [40, 'poll failed', serverId],
  ]);
});

it('warns when an action once seen answers Nova\'s 404, which is never an outcome, and says when it is found again', async () => {
  h = await Harness.start();
  const action = quickAction({ neverFinishes: true });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([action], { poll: NO_RETRIES }));
  expect((await app.engine.pollOnce()).map((s) => [s.state, s.pollFailed])).toEqual([['pending', false]]);

  h.simulator.injectFault({ kind: 'not-found' }, { route: 'action', times: 2 });
  for (let pass = 0; pass < 2; pass++) expect((await app.engine.pollOnce()).map((s) => [s.state, s.pollFailed])).toEqual([['pending', true]]);
  expect(told('poll failed').get(action.requestId)?.map((l) => [l['level'], l['reason']])).toEqual([
    [40, expect.stringMatching(/^the action is no longer found \(.*\) although it was before$/)],
  ]);
  await app.engine.pollOnce();
  expect(told('poll answered again').get(action.requestId)).toHaveLength(1);
});

it('waits past the deadline for an action once seen that answers Nova\'s 404 across it, as for any failed poll, and gives it the verdict of its own times: a build failed in 3 min of a 10 min deadline, its action 404 from 10 s to 17 min', async () => {
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  h = await Harness.start();
  const build = quickAction({
    action: 'create',
    steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 3 * 60_000 }],
    fault: { message: 'No valid host was found.' },
  });
  h.simulator.addAction(build);
  const app = await h.app(h.yaml([{ ...build, name: 'w', extra: '    deadline: 10m' }], { poll: NO_RETRIES }));
  expect((await app.engine.pollOnce()).map((s) => [s.state, s.pollFailed])).toEqual([['pending', false]]);
  // A pass every 10 s, each reading the action once.
  const passes = (17 * 60_000) / 10_000;
  h.simulator.injectFault({ kind: 'not-found' }, { route: 'action', times: passes });
  for (let pass = 0; pass < passes; pass++) {
    vi.advanceTimersByTime(10_000);
    expect((await app.engine.pollOnce()).map((s) => [s.state, s.pollFailed])).toEqual([['pending', true]]);
  }
  expect(h.simulator.pendingFaults).toBe(0);
  await app.engine.pollOnce();
  expect(app.store.entries()[0]![1].verdict).toMatchObject({ outcome: 'failure', reason: expect.stringMatching(/^create failed: server ERROR: No valid host was found\./) });
});

it('... and a delete whose action answers 404 across its deadline, its server seen there past it and gone after: a timeout, not a success', async () => {
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  h = await Harness.start();
  const deletion = quickAction({ action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 7 * 60_000 }] });
  h.simulator.addAction(deletion);
  const app = await h.app(h.yaml([{ ...deletion, name: 'w', extra: '    deadline: 6m' }], { poll: NO_RETRIES }));
  expect((await app.engine.pollOnce()).map((s) => s.state)).toEqual(['pending']);
  h.simulator.injectFault({ kind: 'not-found' }, { route: 'action', times: 1000 });
  const tracked = Date.now();
  while (app.store.entries()[0]![1].verdict === null && Date.now() - tracked < 30 * 60_000) {
    vi.advanceTimersByTime(10_000);
    await app.engine.pollOnce();
  }
  expect(app.store.entries()[0]![1].verdict?.outcome).toBe('timeout');
});

it('... and a stop whose action answers 404 from its start, its server first seen gone 10 s before the deadline: the failure once it has stayed gone, not a timeout', async () => {
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  h = await Harness.start();
  const stop = quickAction({ action: 'stop', steps: [{ event: 'compute_stop_instance', durationMs: 7 * 60_000 }], deletesServer: true });
  h.simulator.addAction(stop);
  const app = await h.app(h.yaml([{ ...stop, name: 'w', extra: '    deadline: 7m10s' }], { poll: NO_RETRIES }));
  expect((await app.engine.pollOnce()).map((s) => s.state)).toEqual(['pending']);
  h.simulator.injectFault({ kind: 'not-found' }, { route: 'action', times: 1000 });
  const tracked = Date.now();
  while (app.store.entries()[0]![1].verdict === null && Date.now() - tracked < 30 * 60_000) {
    vi.advanceTimersByTime(5000);
    await app.engine.pollOnce();
  }
  expect(app.store.entries()[0]![1].verdict).toMatchObject({ outcome: 'failure', reason: expect.stringMatching(/^stop failed: server deleted \(not found for \d+ polls over 2\d s\)/) });
});

it('waits out a 429\'s pause that the parts before a reload met: one limiter for every app of the process', async () => {
  h = await Harness.start();
  const action = quickAction({ neverFinishes: true });
  h.simulator.addAction(action);
  // A fixed microversion: the action's reads are the only requests.
  const yaml = h.yaml([{ ...action, name: 'w' }], { poll: NO_RETRIES, cloud: '  microversion: "2.60"' });
  const limiter = new RateLimiter(undefined, h.logger);
  try {
    h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 1 }, { route: 'action', times: 1 });
    const before = await h.app(yaml, { limiter });
    expect((await before.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([true]);
    await before.close();
    // The parts a reload that rebuilds them starts, as the daemon starts them: with its limiter.
    const after = await h.app(yaml, { limiter });
    expect((await after.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false]);
    const [refused, next] = h.simulator.requests.filter((r) => r.route === 'action');
    expect(refused!.status).toBe(429);
    expect(next!.at - refused!.at).toBeGreaterThanOrEqual(1000);
  } finally {
    limiter.close();
  }
});

it('stops at once while a poll waits out a Retry-After, sending no retry, and records nothing of that poll: the drain is for requests sent', async () => {
  const { app } = await watchingOne({ poll: '  schedule: "* * * * * *"\n  retries: 3' });
  h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 3600 }, { route: 'action', times: 1 });
  const pass = app.engine.pollOnce();
  await vi.waitUntil(() => h.simulator.requests.some((r) => r.route === 'action' && r.status === 429), { timeout: 10_000, interval: 10 });
  // A drain that would last longer than the test: the stop must not wait for the poll's minute of Retry-After.
  const stopped = app.engine.close(AbortSignal.timeout(600_000)).then(() => 'stopped');
  expect(await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting'))])).toBe('stopped');
  expect((await pass).map((s) => [s.pollFailed, s.detail])).toEqual([[false, 'stopping']]);
  expect(h.simulator.requests.filter((r) => r.route === 'action')).toHaveLength(1);
  expect(app.store.entries()[0]![1]).toMatchObject({ lastError: null, failingSince: null });
});

it('stops at once while polls wait for the rate limit after a 429, sending none of them', async () => {
  h = await Harness.start();
  const [first, second] = [0, 1].map(() => quickAction({ neverFinishes: true }));
  for (const a of [first!, second!]) h.simulator.addAction(a);
  const yaml = h.yaml([{ ...first!, name: 'first' }, { ...second!, name: 'second' }], { poll: `${NO_RETRIES}\n  concurrency: 1`, cloud: '  microversion: "2.60"' });
  const app = await h.app(yaml);
  h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 3600 }, { route: 'action', times: 1 });
  const pass = app.engine.pollOnce();
  // The 429 read by the client, not only answered by the cloud: a stop before it reads it cuts the first
  // poll off as well (a loaded machine's run).
  await vi.waitUntil(() => h.logs.text.includes('the cloud throttles our requests (429)'), { timeout: 10_000, interval: 10 });
  // The second poll now waits out the cloud's pause (a minute at most) in the limiter: the stop does not.
  const stopped = app.engine.close(AbortSignal.timeout(600_000)).then(() => 'stopped');
  expect(await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting'))])).toBe('stopped');
  expect((await pass).map((s) => [s.target.name, s.pollFailed, s.detail])).toEqual([['first', true, expect.stringMatching(/429/)], ['second', false, 'stopping']]);
  expect(h.simulator.requests.filter((r) => r.route === 'action')).toHaveLength(1);
});

it('records nothing of a tracked server\'s listing that stopping cut short: its retry is not sent, and it shows no error', async () => {
  h = await Harness.start();
  const action = quickAction({ neverFinishes: true });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([], { track: `  - servers: [${action.serverId}]`, poll: '  schedule: "* * * * * *"\n  retries: 3' }));
  h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 3600 }, { route: 'actions', times: 1 });
  const pass = app.engine.pollOnce();
  await vi.waitUntil(() => h.simulator.requests.some((r) => r.route === 'actions' && r.status === 429), { timeout: 10_000, interval: 10 });
  const stopped = app.engine.close(AbortSignal.timeout(600_000)).then(() => 'stopped');
  expect(await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting'))])).toBe('stopped');
  await pass;
  expect(h.simulator.requests.filter((r) => r.route === 'actions')).toHaveLength(1);
  expect(Object.values(app.store.tracking.servers).map((s) => s.lastError)).toEqual([null]);
});

it('ends a watch the cloud did not answer for until 15 min past its deadline as a timeout that says whether it finished is not known, not that it did not finish: a reboot done in 10 min of a 30 min deadline, the API down for an hour from its first minute', async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  h = await Harness.start();
  const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 10 * 60_000, taskState: 'rebooting' }] });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([{ ...action, name: 'w', extra: '    deadline: 30m' }], { poll: NO_RETRIES }));
  const tracked = Date.now();
  expect((await app.engine.pollOnce()).map((s) => s.pollFailed)).toEqual([false]);
  // Down from the first minute: every poll meets a 503, each pass a minute apart.
  h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 100 });
  let verdict = app.store.entries()[0]![1].verdict;
  while (verdict === null && Date.now() - tracked < 60 * 60_000) {
    vi.setSystemTime(Date.now() + 60_000);
    await app.engine.pollOnce();
    verdict = app.store.entries()[0]![1].verdict;
  }
  expect(verdict?.outcome).toBe('timeout');
  expect(verdict?.reason).toMatch(/^not known to have finished within 30 min: no poll could read it for the last 44 min, to 15 min past the deadline; last poll failed: GET \S+ → 503 serviceUnavailable/);
});
