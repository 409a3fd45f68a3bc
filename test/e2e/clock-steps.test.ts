// This host's clock stepped while the daemon runs (an NTP step, a VM resumed after hours): the real engine
// and node-cron on vitest's fake timers, whose setSystemTime moves the wall clock and leaves the monotonic
// one (performance.now(), the timers) as it was, as a step does.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { watchKey } from '../../src/state/store.ts';
import type { WatchRecord } from '../../src/state/types.ts';
import { Harness, PROJECT, newIds } from './harness.ts';
import { eventually } from '../eventually.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

/** Between the daemon and the cloud: passes every request on, and holds an answer back when asked to. */
interface HoldingProxy {
  url: string;
  /**
   * Holds the answer to the next request whose path has `path` in it: `came` once the cloud has given it,
   * passed on at `go()`, as an answer that came while the machine slept is read on waking.
   */
  holdNext(path: string): { came: Promise<void>; go: () => void };
  close(): Promise<void>;
}

async function holdingProxy(target: string): Promise<HoldingProxy> {
  let hold: { path: string; came: () => void; gone: Promise<void> } | undefined;
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const { host: _host, connection: _connection, ...headers } = req.headers;
      const method = req.method as Dispatcher.HttpMethod;
      const answer = await request(`${target}${req.url}`, { method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
      const body = await answer.body.text();
      const held = hold !== undefined && req.url!.includes(hold.path) ? hold : undefined;
      if (held !== undefined) {
        hold = undefined;
        held.came();
        await held.gone;
      }
      const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...passed } = answer.headers;
      res.writeHead(answer.statusCode, passed);
      res.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdNext(path) {
      const came = Promise.withResolvers<void>();
      const gone = Promise.withResolvers<void>();
      hold = { path, came: came.resolve, gone: gone.promise };
      return { came: came.promise, go: gone.resolve };
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** A pass every 5 s (pass()), where what a test checks is to the minute. */
const COARSE = 5000;

/**
 * The time the machine slept, for the engine's boot clock (Linux's CLOCK_BOOTTIME: the monotonic clock
 * and the sleeps), which tells a clock set from a machine that slept.
 */
let slept = 0;
const bootClock = () => performance.now() + slept;

/** A daemon with no watches on a schedule of every 15 s, counting its passes. */
async function daemon(): Promise<{ passes: () => number }> {
  h = await Harness.start();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'], now: new Date('2026-12-02T10:00:00.500Z') });
  slept = 0;
  const app = await h.app(h.yaml([], { poll: '  schedule: "*/15 * * * * *"' }), { bootClock });
  let passes = 0;
  app.engine.start(() => void passes++);
  await vi.advanceTimersByTimeAsync(60_000);
  return { passes: () => passes };
}

const warnings = () => h.logs.lines().filter((l) => l['level'] === 40).map((l) => String(l['msg']));
/** What the log said at error: a step or a daylight-saving change must not make the schedule look lost. */
const errors = () => h.logs.lines().filter((l) => l['level'] === 50).map((l) => String(l['msg']));

describe("this host's clock stepped while the daemon runs", () => {
  it('polls on every 15 s after the clock is set back an hour, and says so once', async () => {
    const { passes } = await daemon();
    vi.setSystemTime(Date.now() - HOUR);
    const before = passes();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(passes() - before).toBeGreaterThanOrEqual(19);
    expect(warnings()).toEqual([
      "this host's clock was set back 1 h: the times the state keeps moved with it, so that deadlines, early warnings, batch windows and delivery.maxAge count only the time that passed; the poll schedule starts again from the new time",
    ]);
    expect(errors()).toEqual([]);
  });

  it('says once that the clock was set forward an hour, not that 240 passes were missed for blocking IO', async () => {
    const { passes } = await daemon();
    vi.setSystemTime(Date.now() + HOUR);
    const before = passes();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(passes() - before).toBeGreaterThanOrEqual(3);
    expect(warnings()).toEqual([expect.stringMatching(/^this host's clock was set forward 1 h: the times the state keeps moved with it/)]);
    expect(errors()).toEqual([]);
  });

  it('tells a machine that slept an hour from a clock set forward: the hour counts as time passed', async () => {
    const { passes } = await daemon();
    slept += HOUR;
    vi.setSystemTime(Date.now() + HOUR);
    const before = passes();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(passes() - before).toBeGreaterThanOrEqual(3);
    expect(warnings()).toEqual([
      "this host's clock jumped forward 1 h with the time that passed (the machine slept, or was held still as a paused VM is): the poll schedule starts again from the new time; deadlines, early warnings, batch windows and delivery.maxAge count it as time passed",
    ]);
  });

  it('still warns of a pass missed while the event loop was held up, the clock keeping time', async () => {
    h = await Harness.start();
    const app = await h.app(h.yaml([], { poll: '  schedule: "* * * * * *"' }));
    let passes = 0;
    app.engine.start(() => void passes++);
    await eventually(() => expect(passes).toBeGreaterThan(1));
    const heldUntil = performance.now() + 2500;
    while (performance.now() < heldUntil); // blocking work, as a stuck synchronous call would be
    await eventually(() => expect(warnings()).toEqual([expect.stringMatching(/^poll passes were missed, node-cron finding their time already past: the event loop was held up/)]));
    expect(warnings().some((m) => m.startsWith("this host's clock"))).toBe(false);
  });
});

describe("a deadline across a step of this host's clock, the cloud's clock not moved", () => {
  /** How far the cloud's clock is from this host's: a step of this host's clock alone moves it the other way. */
  let cloudAhead = 0;

  /** The watch file of the last rebootWatched(). */
  let watchFile = '';
  /** Between the daemon and the simulator, for a rebootWatched() `through` it; closed after each test. */
  let proxy: HoldingProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  /**
   * The simulator, on the cloud's clock (`o.cloudAhead` ahead of this host's), with a reboot of one event
   * lasting `durationMs`, and the daemon's parts watching it with `deadline` (and `o.warnAfter`).
   */
  async function rebootWatched(durationMs: number, deadline: string, bootId: string | null = null, poll?: string, o: { warnAfter?: string; cloudAhead?: number; through?: boolean; leftOpen?: boolean; firstStepAfterMs?: number } = {}): Promise<App> {
    cloudAhead = o.cloudAhead ?? 0;
    slept = 0;
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: new Date('2026-12-02T10:00:00.500Z') });
    h = await Harness.start({ now: () => Date.now() + cloudAhead });
    const ids = newIds();
    const firstStep = o.firstStepAfterMs === undefined ? {} : { firstStepAfterMs: o.firstStepAfterMs };
    h.simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', ...firstStep, steps: [{ event: 'compute_reboot_instance', durationMs, ...(o.leftOpen ? { leftOpen: true } : {}) }] });
    if (o.through) proxy = await holdingProxy(h.simulator.url);
    const endpoint = proxy?.url;
    watchFile = h.yaml([{ ...ids, name: 'web-01', extra: `    deadline: ${deadline}${o.warnAfter === undefined ? '' : `\n    warnAfter: ${o.warnAfter}`}` }], { endpoint });
    return h.app(poll === undefined ? watchFile : watchFile.replace(/^poll:\n( {2}.*\n)+/m, `poll:\n${poll}\n`), { bootClock, bootId });
  }

  /**
   * `ms` of time passing (both of this host's clocks, and the cloud's), a pass every `step` (the last one
   * at `ms`): a second where a test times something to the second, 5 s across a moment it times to the
   * minute, and a minute where time has only to pass with the watch polled (the run-up to a step of a
   * clock, the minutes between two checks), as a verdict, an early warning or a step found depends on the
   * time of the pass, not on the passes before it; the client measures the cloud's clock at the first
   * answer a minute after its last measure, so that a pass a minute measures it at each. Each pass costs
   * requests to the simulator and, past undici's keep-alive of 4 s, a connection.
   */
  async function pass(app: App, ms: number, step = 1000): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      vi.advanceTimersByTime(Math.min(step, ms - t));
      await app.engine.pollOnce();
      await app.store.save();
      await app.outbox.flush();
    }
  }

  /** This host's clock set by `ms`, the cloud's not. */
  function setHostClock(ms: number): void {
    vi.setSystemTime(Date.now() + ms);
    cloudAhead -= ms;
  }

  const outcomes = () => h.hooks.received.map((r) => (r.body as { outcome: string | null }).outcome);
  /** What the log adds to the cloud's clock set forward 10 min: the one thing this host cannot tell it from. */
  const heldStill = (setMs: number) => (setMs > 0 ? ', or this machine was held still 10 min (as a paused VM is) and its clock not put right' : '');

  it('judges a reboot done in 7 min a success within its 10 min deadline, though this host\'s clock was set forward 30 min meanwhile', async () => {
    const app = await rebootWatched(7 * MINUTE, '10m');
    await pass(app, 5 * MINUTE, MINUTE);
    setHostClock(30 * MINUTE);
    // The first pass since, 30 s on, finds it still running: a timeout, were the 30 min taken for time passed.
    await pass(app, 3 * MINUTE, 30_000);
    expect(outcomes()).toEqual(['success']);
    // The cloud's first answer since bears the boot clock out, and shows this host's clock 30 min off.
    expect(warnings()).toEqual([
      expect.stringMatching(/^this host's clock was set forward 30 min: the times the state keeps moved with it/),
      expect.stringMatching(/^the cloud's clock is 30 min( \d+ s)? behind this host's/),
    ]);
  });

  it('ends a reboot still running as a timeout at its deadline, not 30 min later, when this host\'s clock was set back 30 min', async () => {
    const app = await rebootWatched(HOUR, '10m');
    await pass(app, 5 * MINUTE, MINUTE);
    setHostClock(-30 * MINUTE);
    await pass(app, 4 * MINUTE, MINUTE);
    expect(outcomes()).toEqual([]);
    await pass(app, 2 * MINUTE, MINUTE);
    expect(outcomes()).toEqual(['timeout']);
  });

  it('ends a reboot whose polls fail from before its deadline as a timeout 10 min past it, not 30 min later, when this host\'s clock was set back 30 min meanwhile', async () => {
    // No retries within a poll: p-retry waits on real timers.
    const app = await rebootWatched(HOUR, '10m', null, '  schedule: "* * * * * *"\n  retries: 0');
    await pass(app, 9 * MINUTE, MINUTE);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 100_000 });
    // The first poll to fail 30 s before the deadline, and every one after.
    await pass(app, 3 * MINUTE, 30_000);
    setHostClock(-30 * MINUTE);
    // Past the deadline a poll that cannot read the action waits 10 min (the deadline, below 15 min) for an answer.
    await pass(app, 7 * MINUTE + 30_000, 30_000);
    expect(outcomes()).toEqual([]);
    await pass(app, MINUTE, 30_000);
    expect(outcomes()).toEqual(['timeout']);
  });

  it('reads a finish 18 s after this host\'s clock was set back on the cloud\'s clock as it now stands, before the next measure of it', async () => {
    const app = await rebootWatched(5 * MINUTE + 20_000, '10m');
    // The client measures the cloud's clock once a minute from its first answer (1 s, 61 s ... 301 s, a pass
    // at each): the step at 302 s and the finish come before the next measure.
    await pass(app, 1000);
    await pass(app, 5 * MINUTE, MINUTE);
    await pass(app, 1000);
    setHostClock(-30 * MINUTE);
    await pass(app, 30_000, COARSE);
    expect(outcomes()).toEqual(['success']);
  });

  it('ends a reboot still running as a timeout after the machine was held still 30 min past its deadline, as a paused VM is, by the cloud\'s clock', async () => {
    const app = await rebootWatched(HOUR, '10m');
    await pass(app, 5 * MINUTE, MINUTE);
    // Its clocks stopped, boot clock included, and its time was put right after: only the cloud's clock went on.
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    await pass(app, 2000);
    expect(outcomes()).toEqual(['timeout']);
    expect(warnings()).toEqual([
      expect.stringMatching(/^this host's clock was set forward 30 min: /),
      "the cloud's clock, by the Date of its first answer since this host's clock stepped, says the time was passing (the machine held still, as a paused VM is), not a setting of the clock, where this machine's boot clock said set forward 30 min: the times the state keeps are moved by 30 min back to match",
    ]);
  });

  it("counts the hold of a machine held still 20 min, its time put right 2 min after it goes on, as time passed: deadlines and early warnings as the cloud's clock has them, not 20 min late", async () => {
    const app = await rebootWatched(HOUR, '40m', null, undefined, { warnAfter: '15m' });
    // A server auto-tracking follows too, its actions' deadline 30 min.
    const { serverId } = newIds();
    h.simulator.addAction({ projectId: PROJECT, serverId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }] });
    app.engine.setTracking(parseConfig(`${watchFile}\ntrack:\n  - servers: [${serverId}]\n    deadline: 30m\n`, { env: h.env }).track);
    // The cloud's clock measured at 5 s, 65 s ... 245 s, a pass at each, and at 305 s, the first pass after
    // the hold, which sees its clock move before the reboot below is watched.
    await pass(app, 5000);
    await pass(app, 5 * MINUTE - 5000, MINUTE);
    // Its clocks stopped, boot clock included, and only the cloud's went on. 10 min into it a resize of the
    // tracked server began, which the API shows only 90 s after the machine goes on.
    cloudAhead += 10 * MINUTE;
    h.simulator.addAction({ projectId: PROJECT, serverId, action: 'resize', visibleAfterMs: 11 * MINUTE + 30_000, steps: [{ event: 'compute_resize_instance', durationMs: 10 * MINUTE }] });
    cloudAhead += 10 * MINUTE;
    await pass(app, 30_000, COARSE);
    // A reboot started and watched meanwhile, on the clock 20 min behind, its deadline 10 min.
    const later = newIds();
    h.simulator.addAction({ projectId: PROJECT, ...later, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 8 * MINUTE }] });
    const both = watchFile.replace('watches:\n', `watches:\n  - requestId: ${later.requestId}\n    serverId: ${later.serverId}\n    name: web-02\n    deadline: 10m\n`);
    app.engine.setWatches(targetsOf(parseConfig(both, { env: h.env })));
    // The resize is found at 90 s, before the setting.
    await pass(app, 90_000, 10_000);
    expect(h.hooks.received).toEqual([]);
    // Put right 2 min after it went on (chrony's next look, a hypervisor's agent): 27 min after the first reboot began.
    setHostClock(20 * MINUTE);
    await pass(app, 2000);
    const told = () => h.hooks.received.map((r) => r.body as { type: string; watch: { name: string } }).map((b) => `${b.watch.name} ${b.type}`);
    expect(told()).toEqual(['web-01 ecs.action.slow']);
    // A pass a minute: web-01's timeout is timed to the minute (not at 12 min, by 13), and the others finish.
    await pass(app, 10 * MINUTE, MINUTE);
    expect(told()).toEqual(['web-01 ecs.action.slow', 'web-02 ecs.action.succeeded', `resize sim-${serverId.slice(0, 8)} ecs.action.succeeded`]);
    await pass(app, 2 * MINUTE, MINUTE);
    expect(told()).toHaveLength(3);
    await pass(app, MINUTE, 30_000);
    expect(told().at(-1)).toBe('web-01 ecs.action.timed_out');
    expect(warnings()).toEqual([
      expect.stringMatching(/^the cloud's clock is 20 min ahead of this host's/),
      expect.stringMatching(/^the cloud's clock was set forward 20 min \(the Date of its answers\), this host's keeping time, or this machine was held still 20 min/),
      "this host's clock was set forward 20 min, as far as the cloud's clock had seemed to move: this machine was held still 20 min (as a paused VM is) and its time is now put right, not the cloud's clock set: the poll schedule starts again from the new time; deadlines, early warnings, batch windows and delivery.maxAge count the hold as time passed, and the times the state keeps from before it stay as they are (those since moved with the setting)",
    ]);
  });

  it('counts the hold as time in which the polls of a watch that failed since before it went on failing: its timeout at the first pass after its time is put right, not 20 min late, saying how long they failed', async () => {
    const app = await rebootWatched(HOUR, '3h', null, '  schedule: "* * * * * *"\n  retries: 0');
    // A second watch, every poll of which fails from the first (its server's cell down: 503), its deadline 10 min.
    const failing = newIds();
    h.simulator.addAction({ projectId: PROJECT, ...failing, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: HOUR }] });
    h.simulator.injectFault({ kind: 'unavailable' }, { pathIncludes: failing.requestId, times: 1_000_000 });
    const both = watchFile.replace('watches:\n', `watches:\n  - requestId: ${failing.requestId}\n    serverId: ${failing.serverId}\n    name: web-02\n    deadline: 10m\n`);
    app.engine.setWatches(targetsOf(parseConfig(both, { env: h.env })));
    // The first poll at 1 s, which the 27 min count from; then a pass every 30 s, failing as each does, the
    // cloud's clock measured at every other (1 s, 61 s ... 121 s; 210 s, 270 s; 330 s, 390 s).
    await pass(app, 1000);
    await pass(app, 3 * MINUTE - 1000, 30_000);
    // A real cloud's Date measures its clock a little otherwise at each sample (whole seconds, the answer's way).
    cloudAhead += 2000;
    await pass(app, 2 * MINUTE, 30_000);
    // Held still 20 min: its clocks stopped, the cloud's went on; put right 2 min after it went on.
    cloudAhead += 20 * MINUTE;
    await pass(app, 2 * MINUTE, 30_000);
    expect(h.hooks.received).toEqual([]);
    setHostClock(20 * MINUTE);
    await pass(app, 2000);
    const told = h.hooks.received.map((r) => r.body as { watch: { name: string }; reason: string });
    expect(told).toEqual([
      expect.objectContaining({
        watch: expect.objectContaining({ name: 'web-02' }),
        reason: expect.stringMatching(/^not known to have finished within 10 min: no poll could read it for the last 27 min( \d+ s)?, to 17 min( \d+ s)? past the deadline; last poll failed: /),
      }),
    ]);
  });

  it("takes this host's clock set forward as far as the cloud's had seemed to move, but 35 min after, for a setting of its own, not a hold put right", async () => {
    const app = await rebootWatched(2 * HOUR, '3h');
    await pass(app, 5 * MINUTE, MINUTE);
    cloudAhead += 20 * MINUTE;
    // Seen at the first pass, 6 min in; the setting 34 min later.
    await pass(app, 35 * MINUTE, MINUTE);
    setHostClock(20 * MINUTE);
    await pass(app, 2000);
    expect(warnings()).toEqual([
      expect.stringMatching(/^the cloud's clock is 20 min ahead of this host's/),
      expect.stringMatching(/^the cloud's clock was set forward 20 min \(the Date of its answers\)/),
      expect.stringMatching(/^this host's clock was set forward 20 min: the times the state keeps moved with it/),
    ]);
  });

  it('gives a resize that auto-tracking finds after the machine was held still 20 min, started meanwhile, its whole 30 min deadline: a success 20 min after it started, not a timeout at 10 min', async () => {
    slept = 0;
    cloudAhead = 0;
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: new Date('2026-12-02T10:00:00.500Z') });
    h = await Harness.start({ now: () => Date.now() + cloudAhead });
    const { serverId } = newIds();
    h.simulator.addAction({ projectId: PROJECT, serverId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }] });
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]\n    deadline: 30m` }), { bootClock });
    await pass(app, MINUTE, COARSE);
    // Its clocks stopped, boot clock included, and its time put right after: the resize started 15 min into it.
    vi.setSystemTime(Date.now() + 15 * MINUTE);
    const resize = h.simulator.addAction({ projectId: PROJECT, serverId, action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 20 * MINUTE }] });
    const startedAt = Date.now();
    vi.setSystemTime(Date.now() + 5 * MINUTE);
    await pass(app, 2000);
    const key = watchKey({ projectId: PROJECT, serverId, requestId: resize });
    expect(Date.parse(app.store.get(key)!.trackingSince)).toBeGreaterThanOrEqual(startedAt - 1000);
    // A pass a minute: a timeout 10 min after it started would come before its finish at 15 min.
    await pass(app, 16 * MINUTE, MINUTE);
    expect(outcomes()).toEqual(['success']);
  });

  it.each([
    { action: 'a reboot that finished 2 min into the sleep: a success', durationMs: 7 * MINUTE, outcome: 'success' },
    { action: 'a reboot still running: a timeout at once', durationMs: HOUR, outcome: 'timeout' },
  ])('judges by what the cloud shows after the machine slept 20 min past the deadline, not by an answer that came across the sleep, nor by its Date: $action', async ({ durationMs, outcome }) => {
    const app = await rebootWatched(durationMs, '10m', null, undefined, { through: true });
    await pass(app, 5 * MINUTE, MINUTE);
    // The answer to the poll in flight as the machine went to sleep, as the cloud gave it then, is read on waking.
    const held = proxy!.holdNext('/os-instance-actions/');
    const polled = app.engine.pollOnce();
    await held.came;
    vi.advanceTimersByTime(50);
    slept += 20 * MINUTE;
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    held.go();
    await polled;
    await pass(app, 2000);
    expect(outcomes()).toEqual([outcome]);
    expect(warnings()).toEqual([expect.stringMatching(/^this host's clock jumped forward 20 min with the time that passed/)]);
  });

  it.each([
    { way: 'back', setMs: -HOUR },
    { way: 'forward', setMs: HOUR },
  ])("sums up a webhook receiver still failing an hour into its failures, as failing 1 h, when this host's clock is set $way an hour half an hour in", async ({ setMs }) => {
    const app = await rebootWatched(2000, '10m');
    h.hooks.setAnswer({ status: 503 });
    await pass(app, 4000);
    await pass(app, 30 * MINUTE, MINUTE);
    setHostClock(setMs);
    // An attempt at least every 5 min (delivery.maxDelay): the hour's line by 65 min, the next not before 2 h.
    await pass(app, 40 * MINUTE, MINUTE);
    const summed = h.logs.lines().filter((l) => String(l['msg']).startsWith('notifier still failing')).map((l) => l['failingFor']);
    expect(summed).toEqual([expect.stringMatching(/^1 h( [1-5] min)?$/)]);
  });

  it('does not give up a notification as older than delivery.maxAge (24 h) when this host\'s clock is set a day forward between two attempts', async () => {
    const app = await rebootWatched(2000, '10m');
    h.hooks.setAnswer({ status: 503 });
    await pass(app, 4000);
    expect(h.hooks.received.length).toBeGreaterThan(0);
    // The outbox is the first to read the clock after the setting: no poll of the engine comes between.
    setHostClock(25 * HOUR);
    vi.advanceTimersByTime(1000);
    await app.outbox.flush();
    h.hooks.setAnswer({ status: 204 });
    await pass(app, 2000);
    expect(h.hooks.received.at(-1)).toMatchObject({ status: 204, body: { outcome: 'success' } });
    expect(h.logs.lines().some((l) => l['msg'] === 'delivery given up')).toBe(false);
  });

  describe('the daemon stopped meanwhile', () => {
    /**
     * The daemon stopped after `runMs` (a pass a minute: what its state records of the watch and the clocks),
     * started again `stoppedMs` later (time passing, the machine up) in the boot `bootId`, with `set()`
     * between, and run for `thenMs`, a pass every `step`: the app started again.
     */
    async function restarted(app: App, o: { runMs: number; stoppedMs: number; set: () => void; bootId: string; thenMs: number; step?: number }): Promise<App> {
      await pass(app, o.runMs, MINUTE);
      await app.close();
      vi.advanceTimersByTime(o.stoppedMs);
      o.set();
      const again = await h.app(watchFile, { bootClock, bootId: o.bootId });
      await pass(again, o.thenMs, o.step);
      return again;
    }

    it('judges a reboot done in 7 min a success within its 10 min deadline, though this host\'s clock was set forward 30 min while stopped: the boot clock says so at once', async () => {
      const app = await rebootWatched(7 * MINUTE, '10m', 'boot-1');
      await restarted(app, { runMs: 5 * MINUTE, stoppedMs: MINUTE, set: () => setHostClock(30 * MINUTE), bootId: 'boot-1', thenMs: 2 * MINUTE, step: 30_000 });
      expect(outcomes()).toEqual(['success']);
      expect(warnings()).toEqual([
        "while the daemon was stopped, this host's clock was set forward 30 min (its boot clock says so): the times the state keeps moved with it, so that deadlines, early warnings, batch windows and delivery.maxAge count only the time that passed",
        expect.stringMatching(/^the cloud's clock is 30 min( \d+ s)? behind this host's/),
      ]);
    });

    it('judges it so after a boot too, or on another host, by the cloud\'s clock against its measure before the stop', async () => {
      const app = await rebootWatched(7 * MINUTE, '10m', 'boot-1');
      await restarted(app, { runMs: 5 * MINUTE, stoppedMs: MINUTE, set: () => setHostClock(30 * MINUTE), bootId: 'boot-2', thenMs: 2 * MINUTE, step: 30_000 });
      expect(outcomes()).toEqual(['success']);
      expect(warnings()).toEqual([
        expect.stringMatching(/^the cloud's clock is 30 min( \d+ s)? behind this host's/),
        "this host's clock was set forward 30 min while the daemon was stopped, or the state was kept on another host's clock 30 min behind this one's: the cloud's clock says so (the Date of its first answer since the start, against its last before the stop; or it was itself set back 30 min meanwhile, which this host cannot tell apart): the times the state keeps moved with it, so that deadlines, early warnings, batch windows and delivery.maxAge count only the time that passed",
      ]);
    });

    it('ends a reboot still running as a timeout at its deadline, not 30 min later, when this host\'s clock was set back 30 min while stopped', async () => {
      const app = await rebootWatched(HOUR, '10m', 'boot-1');
      const again = await restarted(app, { runMs: 5 * MINUTE, stoppedMs: MINUTE, set: () => setHostClock(-30 * MINUTE), bootId: 'boot-2', thenMs: 3 * MINUTE, step: MINUTE });
      expect(outcomes()).toEqual([]);
      await pass(again, 2 * MINUTE, MINUTE);
      expect(outcomes()).toEqual(['timeout']);
    });

    it('gives up no notification as older than delivery.maxAge (24 h) when the clock was set a day forward while stopped, after a boot, before the cloud\'s first answer', async () => {
      const app = await rebootWatched(2000, '10m', 'boot-1');
      h.hooks.setAnswer({ status: 503 });
      await pass(app, 4000);
      await app.close();
      setHostClock(25 * HOUR);
      const again = await h.app(watchFile, { bootClock, bootId: 'boot-2' });
      // The outbox's first attempt comes before the engine's first poll: the receiver still down.
      const before = h.hooks.received.length;
      await again.outbox.flush();
      expect(h.hooks.received.length).toBeGreaterThan(before);
      h.hooks.setAnswer({ status: 204 });
      await pass(again, 2 * MINUTE);
      expect(h.hooks.received.at(-1)).toMatchObject({ status: 204, body: { outcome: 'success' } });
      expect(h.logs.lines().some((l) => l['msg'] === 'delivery given up')).toBe(false);
    });

    /** The webhook's delivery of the one watch's outcome, as `app`'s state has it. */
    const chat = (app: App) => app.store.entries()[0]![1].deliveries['chat']!;
    const givenUp = () => h.logs.lines().filter((l) => l['msg'] === 'delivery given up').map((l) => String(l['why']));

    it('gives a notification up as older than delivery.maxAge after a boot with every watch finished: with nothing to poll, the cloud is asked the time', async () => {
      const app = await rebootWatched(2000, '10m', 'boot-1');
      h.hooks.setAnswer({ status: 503 });
      await pass(app, 4000);
      await app.close();
      vi.advanceTimersByTime(25 * HOUR);
      const startedAt = Date.now();
      const again = await h.app(watchFile, { bootClock, bootId: 'boot-2' });
      await pass(again, 1000);
      expect(chat(again).status).toBe('given_up');
      expect(givenUp()).toEqual([expect.stringMatching(/^still failing 25 h after the outcome/)]);
      // What run --until-done waits for, and exits 3 on.
      expect(again.engine.allSettled()).toBe(true);
      expect(again.engine.givenUp(startedAt)).toHaveLength(1);
    });

    it('gives it up delivery.maxAge after the start when the cloud does not answer, the clock set a day forward while stopped after a boot: not at once, and not never', async () => {
      const app = await rebootWatched(2000, '10m', 'boot-1');
      h.hooks.setAnswer({ status: 503 });
      await pass(app, 4000);
      await app.close();
      setHostClock(25 * HOUR);
      h.simulator.injectFault({ kind: 'reset' }, { times: 1000 });
      const startedAt = Date.now();
      const again = await h.app(watchFile.replace('delivery:\n', 'delivery:\n  maxAge: 1m\n'), { bootClock, bootId: 'boot-2' });
      // Still pending at 50 s (a pass every 5 s, each of which would have given it up early), given up by 61 s.
      await pass(again, 50_000, COARSE);
      expect(chat(again).status).toBe('pending');
      await pass(again, 11_000);
      expect(chat(again).status).toBe('given_up');
      expect(givenUp()).toEqual([expect.stringMatching(/^still failing 1 min after the daemon started \(how long before is not known/)]);
      expect(again.engine.givenUp(startedAt)).toHaveLength(1);
      // Asked, it did not answer.
      expect(h.simulator.pendingFaults).toBeLessThan(1000);
    });

    it('forgets no finished watch taken out of the file before state.retention has passed, when the clock was set past it while stopped, after a boot, before the cloud\'s first answer', async () => {
      const withRetention = (yaml: string) => yaml.replace(/( {2}path: .*state\.json)/, '$1\n  retention: 1d');
      const app = await rebootWatched(2000, '10m', 'boot-1');
      await pass(app, 4000);
      expect(outcomes()).toEqual(['success']);
      await app.close();
      // Taken out of the file while stopped; with every watch finished and notified, nothing asks the cloud.
      setHostClock(2 * 24 * HOUR);
      const again = await h.app(withRetention(h.yaml([])), { bootClock, bootId: 'boot-2' });
      await pass(again, 2000);
      // Added back seconds (not two days) after it was notified: one the state still knows.
      again.engine.setWatches(targetsOf(parseConfig(withRetention(watchFile), { env: h.env })));
      await pass(again, 2000);
      expect(outcomes()).toEqual(['success']);
    });

    it.each([
      { way: 'forward', setMs: 10 * MINUTE },
      { way: 'back', setMs: -10 * MINUTE },
    ])("warns at its warnAfter and ends at its deadline, neither 10 min off, when the cloud's clock was set $way 10 min while stopped, this host's keeping time by its boot clock", async ({ way, setMs }) => {
      const app = await rebootWatched(HOUR, '20m', 'boot-1', undefined, { warnAfter: '15m' });
      const slow = () => h.hooks.received.map((r) => r.body as { type: string; reason: string }).filter((b) => b.type === 'ecs.action.slow').map((b) => b.reason);
      const again = await restarted(app, { runMs: 5 * MINUTE, stoppedMs: MINUTE, set: () => h.simulator.setClock(setMs), bootId: 'boot-1', thenMs: 8 * MINUTE + 50_000, step: MINUTE });
      expect(outcomes()).toEqual([]);
      await pass(again, 15_000, COARSE);
      expect(slow()).toEqual([expect.stringMatching(/^reboot still running 15 min( \d s)? after it started \(warnAfter 15 min\)/)]);
      await pass(again, 5 * MINUTE - 15_000, MINUTE);
      expect(outcomes()).toEqual([null]);
      await pass(again, 15_000, COARSE);
      expect(outcomes()).toEqual([null, 'timeout']);
      expect(warnings()).toEqual([
        expect.stringMatching(new RegExp(`^the cloud's clock is 10 min( \\d+ s)? ${setMs > 0 ? 'ahead of' : 'behind'} this host's`)),
        `the cloud's clock was set ${way} 10 min while the daemon was stopped (the Date of its first answer since the start, against its last before the stop), this host's keeping time by its boot clock${heldStill(setMs)}: the times the state keeps stay as they are, and the early warning of an action that started before counts from its start on the cloud's clock as it stood then`,
      ]);
    });

    it("tells a reboot whose step started after the cloud's clock was set an hour back while the daemon was stopped, and whose nova-compute stopped a minute in, failed once the step has run 10 min, not at once as 'running 1 h 1 min'", async () => {
      const app = await rebootWatched(MINUTE, '3h', 'boot-1', undefined, { leftOpen: true, firstStepAfterMs: 6 * MINUTE });
      await pass(app, 5 * MINUTE, MINUTE);
      await app.close();
      // Stopped at 5 min for 2 min: the clock set back at 5 min 30 s, the step started at 6 min, on the clock as
      // set, and seen at the start, before the measure that finds the setting.
      vi.advanceTimersByTime(30_000);
      h.simulator.setClock(-HOUR);
      vi.advanceTimersByTime(90_000);
      const again = await h.app(watchFile, { bootClock, bootId: 'boot-1' });
      await pass(again, 8 * MINUTE, COARSE);
      expect(outcomes()).toEqual([]);
      await pass(again, 3 * MINUTE, COARSE);
      expect(outcomes()).toEqual(['failure']);
      expect((h.hooks.received[0]!.body as { reason: string }).reason).toMatch(/compute_reboot_instance never finished \(running 1[01] min( \d+ s)?\)/);
    });

    it('counts the time it was stopped as time passed: a reboot still running 30 min later is a timeout at once', async () => {
      const app = await rebootWatched(HOUR, '10m', 'boot-1');
      await restarted(app, { runMs: 5 * MINUTE, stoppedMs: 30 * MINUTE, set: () => undefined, bootId: 'boot-2', thenMs: 1000 });
      expect(outcomes()).toEqual(['timeout']);
      expect(warnings()).toEqual([]);
    });
  });

  it('ends a reboot still running after the machine slept 30 min past its 10 min deadline as a timeout', async () => {
    const app = await rebootWatched(HOUR, '10m');
    await pass(app, 5 * MINUTE, MINUTE);
    slept += 30 * MINUTE;
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    await pass(app, 2000);
    expect(outcomes()).toEqual(['timeout']);
  });

  it("sends the early warning at its warnAfter on the cloud's clock when this host's clock, set back by less than a step, falls 30 s behind the cloud's", async () => {
    slept = 0;
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: new Date('2026-12-02T10:00:00.500Z') });
    // 15 s apart: not allowed for, until the setting below takes them 35 s apart with no step of this host's clock.
    cloudAhead = 15_000;
    h = await Harness.start({ now: () => Date.now() + cloudAhead });
    const ids = newIds();
    h.simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: HOUR }] });
    const app = await h.app(h.yaml([{ ...ids, name: 'web-01', extra: '    warnAfter: 2m' }]), { bootClock });
    // The cloud's clock measured at 1 s, and next at 65 s, after the setting; each pass would send the warning
    // early; the 8 s across its due time a pass a second.
    await pass(app, 1000);
    await pass(app, MINUTE - 1000, COARSE);
    setHostClock(-20_000);
    await pass(app, 55_000, COARSE);
    expect(h.hooks.received).toEqual([]);
    await pass(app, 8000);
    expect(h.hooks.received.map((r) => (r.body as { type: string }).type)).toEqual(['ecs.action.slow']);
    expect(warnings()).toEqual([expect.stringMatching(/^the cloud's clock is 3\d s ahead of this host's/)]);
  });

  describe("the cloud's own clock set, this host's keeping time", () => {
    const slow = () => h.hooks.received.map((r) => r.body as { type: string; reason: string; watch: { name: string } }).filter((b) => b.type === 'ecs.action.slow');
    const apart = (ms: number) => (ms === 0 ? [] : [expect.stringMatching(new RegExp(`^the cloud's clock is 10 min ${ms > 0 ? 'ahead of' : 'behind'} this host's`))]);

    // The client measures the cloud's clock once a minute from its first answer (a pass a minute: 60 s, 120 s
    // ... 1140 s): a setting at 18 min 50 s is seen at the pass at 19 min 50 s, with the warning 10 s off yet.
    it.each([
      { clock: '10 min behind, set right 5 min after the reboot started', aheadMs: -10 * MINUTE, setAt: 5 * MINUTE, setMs: 10 * MINUTE },
      { clock: '10 min ahead, set right 5 min after the reboot started', aheadMs: 10 * MINUTE, setAt: 5 * MINUTE, setMs: -10 * MINUTE },
      { clock: 'agreeing, set 10 min forward 70 s before the warning is due', aheadMs: 0, setAt: 18 * MINUTE + 50_000, setMs: 10 * MINUTE },
      { clock: 'agreeing, set 10 min back 70 s before the warning is due', aheadMs: 0, setAt: 18 * MINUTE + 50_000, setMs: -10 * MINUTE },
    ])("sends the early warning once, 20 min after the reboot started, not 10 min off, and ends it at its deadline: the cloud's clock $clock", async ({ aheadMs, setAt, setMs }) => {
      const app = await rebootWatched(2 * HOUR, '21m', null, undefined, { warnAfter: '20m', cloudAhead: aheadMs });
      await pass(app, setAt, MINUTE);
      h.simulator.setClock(setMs);
      await pass(app, 19 * MINUTE + 50_000 - setAt, MINUTE);
      expect(slow()).toEqual([]);
      await pass(app, 15_000, COARSE);
      expect(slow().map((b) => b.reason)).toEqual([expect.stringMatching(/^reboot still running 20 min( \d s)? after it started \(warnAfter 20 min\); 0\/1 events done/)]);
      await pass(app, 50_000, COARSE);
      expect(outcomes()).toEqual([null]);
      await pass(app, 10_000, COARSE);
      expect(outcomes()).toEqual([null, 'timeout']);
      expect(warnings()).toEqual([
        ...apart(aheadMs),
        ...apart(aheadMs + setMs),
        `the cloud's clock was set ${setMs > 0 ? 'forward' : 'back'} 10 min (the Date of its answers), this host's keeping time${heldStill(setMs)}: the times the state keeps stay as they are, and the early warning of an action that started before counts from its start on the cloud's clock as it stood then`,
      ]);
    });

    it.each([
      { way: 'forward', setMs: HOUR },
      { way: 'back', setMs: -HOUR },
    ])("check gives the age of a reboot by its start on the cloud's clock as it stood then, not an hour off, when that clock was set $way an hour while it ran", async ({ setMs }) => {
      const app = await rebootWatched(2 * HOUR, '3h');
      await pass(app, 5 * MINUTE, COARSE);
      h.simulator.setClock(setMs);
      await pass(app, 2 * MINUTE, COARSE);
      const r = await h.cli(['check', '--json', '--config', await h.writeConfig(watchFile)]);
      expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ state: 'pending', ageSeconds: expect.toSatisfy((s: number) => Math.abs(s - 7 * 60) <= 5) as number })]);
    });

    /**
     * A reboot whose step starts `firstStepAfterMs` in, the cloud's clock set by `setMs` 3 min in, and whose
     * nova-compute stops a minute into the step: no outcome for `quietMs` after the setting, a failure 2 min
     * later, once the step has run 10 min.
     */
    async function failsOnceRun10Min(setMs: number, quietMs: number, firstStepAfterMs?: number): Promise<void> {
      const app = await rebootWatched(MINUTE, '3h', null, undefined, { leftOpen: true, ...(firstStepAfterMs === undefined ? {} : { firstStepAfterMs }) });
      await pass(app, 3 * MINUTE, COARSE);
      h.simulator.setClock(setMs);
      await pass(app, quietMs, COARSE);
      expect(outcomes()).toEqual([]);
      await pass(app, 2 * MINUTE, COARSE);
      expect(outcomes()).toEqual(['failure']);
      expect((h.hooks.received[0]!.body as { reason: string }).reason).toMatch(/compute_reboot_instance never finished \(running 10 min( \d+ s)?\) and the server has been ACTIVE with no task state/);
    }

    it.each([
      { way: 'forward', setMs: HOUR, told: "at once 'running 1 h 3 min'" },
      { way: 'back', setMs: -HOUR, told: 'an hour late' },
    ])("tells a reboot whose nova-compute stopped a minute in failed once its step has run 10 min, and says so, not $told, when the cloud's clock was set an hour $way 3 min in", async ({ setMs }) => {
      await failsOnceRun10Min(setMs, 6 * MINUTE);
    });

    // Set at 3 min, seen by the measure a few seconds later (one is due each minute from the first answer);
    // the step starts at 5 min, on the clock as set.
    it.each([
      { way: 'an hour back', setMs: -HOUR, told: 'at once, "running 1 h 1 min"' },
      { way: '10 min forward', setMs: 10 * MINUTE, told: '10 min late' },
    ])("tells a reboot whose step started after the cloud's clock was set $way, and whose nova-compute stopped a minute in, failed once the step has run 10 min, not $told", async ({ setMs }) => {
      await failsOnceRun10Min(setMs, 11 * MINUTE, 5 * MINUTE);
    });

    // Set an hour back at 3 min; the step starts at 5 min, on the clock as set, which is set again at 8 min.
    it.each([
      { way: 'forward', secondMs: 10 * MINUTE },
      { way: 'back', secondMs: -10 * MINUTE },
    ])("tells a reboot whose step started between two settings of the cloud's clock, an hour back and then 10 min $way, and whose nova-compute stopped a minute in, failed once the step has run 10 min, not at once as 'running 1 h 3 min'", async ({ secondMs }) => {
      const app = await rebootWatched(MINUTE, '3h', null, undefined, { leftOpen: true, firstStepAfterMs: 5 * MINUTE });
      await pass(app, 3 * MINUTE, COARSE);
      h.simulator.setClock(-HOUR);
      await pass(app, 5 * MINUTE, COARSE);
      h.simulator.setClock(secondMs);
      await pass(app, 6 * MINUTE, COARSE);
      expect(outcomes()).toEqual([]);
      await pass(app, 2 * MINUTE, COARSE);
      expect(outcomes()).toEqual(['failure']);
      expect((h.hooks.received[0]!.body as { reason: string }).reason).toMatch(/compute_reboot_instance never finished \(running 10 min( \d+ s)?\)/);
    });

    // The measure is taken a minute apart (at 5 s, 65 s ...): the setting at 3 min 30 s is found at 4 min 5 s,
    // and the step, started at 3 min 40 s, was seen before that.
    it("tells a reboot whose step started 10 s after the cloud's clock was set an hour back, before the measure that found the setting, failed once the step has run 10 min, not at once as 'running 1 h 5 min'", async () => {
      const app = await rebootWatched(MINUTE, '3h', null, undefined, { leftOpen: true, firstStepAfterMs: 3 * MINUTE + 40_000 });
      await pass(app, 3 * MINUTE + 30_000, COARSE);
      h.simulator.setClock(-HOUR);
      await pass(app, 8 * MINUTE, COARSE);
      expect(outcomes()).toEqual([]);
      await pass(app, 5 * MINUTE, COARSE);
      expect(outcomes()).toEqual(['failure']);
      expect((h.hooks.received[0]!.body as { reason: string }).reason).toMatch(/compute_reboot_instance never finished \(running 1[01] min( \d+ s)?\)/);
    });

    // The measure is taken at 20 min 5 s and 21 min 5 s: the setting at 20 min 30 s is found at the second,
    // and the step, started at 20 min 40 s, on the clock as set 10 min before the action's start, was seen before.
    it("tells a reboot whose step started 10 s after the cloud's clock was set 10 min back, 20 min after the reboot, and before the measure that found the setting, failed once the step has run 10 min, not 5 min in as 'running 15 min 20 s'", async () => {
      const app = await rebootWatched(MINUTE, '3h', null, undefined, { leftOpen: true, firstStepAfterMs: 20 * MINUTE + 40_000 });
      await pass(app, 20 * MINUTE + 30_000, COARSE);
      h.simulator.setClock(-10 * MINUTE);
      await pass(app, 9 * MINUTE, COARSE);
      expect(outcomes()).toEqual([]);
      await pass(app, 3 * MINUTE, COARSE);
      expect(outcomes()).toEqual(['failure']);
      expect((h.hooks.received[0]!.body as { reason: string }).reason).toMatch(/compute_reboot_instance never finished \(running 1[01] min( \d+ s)?\)/);
    });

    it("says once that the cloud's clock is apart, not apart and agreeing again by turns every minute, when its answers come by turns from two controllers 20 s and 40 s ahead", async () => {
      const app = await rebootWatched(2 * HOUR, '3h', null, undefined, { cloudAhead: 20_000 });
      // Measured at the first answer and a minute after each (60 s, 120 s ..., a pass a minute): each from the other controller.
      for (let minute = 0; minute < 20; minute++) {
        cloudAhead = minute % 2 === 0 ? 20_000 : 40_000;
        await pass(app, MINUTE, MINUTE);
      }
      const told = h.logs.lines().filter((l) => String(l['msg']).startsWith("the cloud's"));
      expect(told.map((l) => [l['level'], l['msg']])).toEqual([[40, expect.stringMatching(/^the cloud's clock is 4\d s ahead of this host's/)]]);
    });

    it("tells a reboot whose step started after the cloud's clock was set an hour back, and whose nova-compute stopped a minute in, failed as running some 20 min once this machine, held still 20 min, has its time put right, not as 'running 1 h 20 min': the hold taken back, not the setting before it", async () => {
      const app = await rebootWatched(MINUTE, '3h', null, undefined, { leftOpen: true, firstStepAfterMs: 5 * MINUTE });
      await pass(app, 3 * MINUTE, COARSE);
      h.simulator.setClock(-HOUR);
      await pass(app, 3 * MINUTE, COARSE);
      // Its clocks stopped, boot clock included, and only the cloud's went on: seen at the measure at 6 min 5 s.
      cloudAhead += 20 * MINUTE;
      await pass(app, 2 * MINUTE, COARSE);
      expect(outcomes()).toEqual([]);
      setHostClock(20 * MINUTE);
      await pass(app, 30_000, COARSE);
      expect(outcomes()).toEqual(['failure']);
      expect((h.hooks.received[0]!.body as { reason: string }).reason).toMatch(/compute_reboot_instance never finished \(running 2\d min( \d+ s)?\)/);
    });

    it("keeps no more than 8 settings of the cloud's clock in a watch's record, their sum the whole, when its answers come by turns from two controllers 10 min apart for 20 min", async () => {
      const app = await rebootWatched(2 * HOUR, '3h');
      for (let minute = 0; minute < 20; minute++) {
        cloudAhead = minute % 2 === 0 ? 0 : 10 * MINUTE;
        await pass(app, MINUTE, MINUTE);
      }
      const [[, record]] = [...app.store.records()] as [[string, WatchRecord]];
      expect(record.cloudClockSettings).toHaveLength(8);
      expect(record.cloudClockSettings!.reduce((sum, s) => sum + s.ms, 0)).toBe(10 * MINUTE);
    });

    it('still sends it 20 min after the reboot started when the daemon is started again after the setting, which it saw before its stop', async () => {
      const app = await rebootWatched(2 * HOUR, '1h', 'boot-1', undefined, { warnAfter: '20m', cloudAhead: -10 * MINUTE });
      await pass(app, 5 * MINUTE, MINUTE);
      h.simulator.setClock(10 * MINUTE);
      await pass(app, 2 * MINUTE, MINUTE);
      expect(warnings().at(-1)).toMatch(/^the cloud's clock was set forward 10 min \(the Date of its answers\)/);
      await app.close();
      vi.advanceTimersByTime(MINUTE);
      const again = await h.app(watchFile, { bootClock, bootId: 'boot-1' });
      await pass(again, 11 * MINUTE + 50_000, MINUTE);
      expect(slow()).toEqual([]);
      await pass(again, 15_000, COARSE);
      expect(slow().map((b) => b.reason)).toEqual([expect.stringMatching(/^reboot still running 20 min( \d s)? after it started \(warnAfter 20 min\)/)]);
    });

    it('judges a reboot that finished in time a success, its early warning sent, when the API, down across its deadline, comes back on a controller whose clock is 10 min behind', async () => {
      // No retries within a poll: p-retry waits on real timers.
      const app = await rebootWatched(9 * MINUTE + 30_000, '10m', null, '  schedule: "* * * * * *"\n  retries: 0', { warnAfter: '5m' });
      await pass(app, 9 * MINUTE, MINUTE);
      expect(outcomes()).toEqual([null]);
      h.simulator.injectFault({ kind: 'reset' }, { times: 120 });
      await pass(app, 40_000);
      h.simulator.setClock(-10 * MINUTE);
      await pass(app, 81_000 + 5000);
      expect(outcomes()).toEqual([null, 'success']);
    });

    it('judges a reboot that finished 30 s past its deadline a timeout, not a success, when the API, down across its end, comes back on a controller whose clock is 10 min ahead', async () => {
      // No retries within a poll: p-retry waits on real timers.
      const app = await rebootWatched(10 * MINUTE + 30_000, '10m', null, '  schedule: "* * * * * *"\n  retries: 0');
      await pass(app, 9 * MINUTE, MINUTE);
      h.simulator.injectFault({ kind: 'reset' }, { times: 120 });
      await pass(app, 100_000);
      h.simulator.setClock(10 * MINUTE);
      await pass(app, 21_000 + 5000);
      expect(outcomes()).toEqual(['timeout']);
      expect((h.hooks.received[0]!.body as { reason: string }).reason).toBe('not finished within 10 min: its events finished 10 min 30 s after tracking began');
    });

    it('sends each of many early warnings once at its own warnAfter, those of reboots and a job that started before the setting and of a reboot that started after it', async () => {
      slept = 0;
      vi.useFakeTimers({ toFake: ['Date', 'performance'], now: new Date('2026-12-02T10:00:00.500Z') });
      h = await Harness.start();
      const reboot = (name: string, warnAfter: string) => {
        const ids = newIds();
        h.simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: HOUR }] });
        return { ...ids, name, extra: `    warnAfter: ${warnAfter}` };
      };
      const jobId = h.simulator.addJob({ projectId: PROJECT, jobType: 'resizeServer', serverId: 'srv-big', durationMs: HOUR });
      const before = [reboot('web-01', '20m'), reboot('web-02', '12m'), reboot('web-03', '8m'), { jobId, name: 'resize-big', extra: '    warnAfter: 14m' }];
      const app = await h.app(h.yaml(before), { bootClock });
      await pass(app, 5 * MINUTE, MINUTE);
      // A failover to a controller whose clock is 10 min ahead, seen at 6 min.
      h.simulator.setClock(10 * MINUTE);
      await pass(app, 2 * MINUTE, MINUTE);
      app.engine.setWatches(targetsOf(parseConfig(h.yaml([...before, reboot('web-04', '10m')]), { env: h.env })));
      // Each one's due time (web-04's 10 min from 7 min), in order: not 10 s before, and once 5 s after; a
      // pass a minute between, each of which would send one again.
      const due = [
        { name: 'web-03', at: 8 * MINUTE },
        { name: 'web-02', at: 12 * MINUTE },
        { name: 'resize-big', at: 14 * MINUTE },
        { name: 'web-04', at: 17 * MINUTE },
        { name: 'web-01', at: 20 * MINUTE },
      ];
      let passed = 7 * MINUTE;
      for (const [i, { at }] of due.entries()) {
        await pass(app, at - 10_000 - passed, MINUTE);
        expect(slow().map((b) => b.watch.name)).toEqual(due.slice(0, i).map((d) => d.name));
        await pass(app, 15_000, COARSE);
        passed = at + 5000;
        expect(slow().map((b) => b.watch.name)).toEqual(due.slice(0, i + 1).map((d) => d.name));
      }
      expect(slow().map((b) => b.reason)).toEqual([
        expect.stringMatching(/^reboot still running 8 min( \d s)? after it started \(warnAfter 8 min\)/),
        expect.stringMatching(/^reboot still running 12 min( \d s)? after it started \(warnAfter 12 min\)/),
        expect.stringMatching(/^resizeServer still running 14 min( \d s)? after it started \(warnAfter 14 min\)/),
        expect.stringMatching(/^reboot still running 10 min( \d s)? after it started \(warnAfter 10 min\)/),
        expect.stringMatching(/^reboot still running 20 min( \d s)? after it started \(warnAfter 20 min\)/),
      ]);
    });
  });
});

describe('a daylight-saving change, TZ=Europe/Berlin', () => {
  const zone = process.env['TZ'];
  afterEach(() => {
    if (zone === undefined) delete process.env['TZ'];
    else process.env['TZ'] = zone;
  });

  /** The times of the passes of `schedule` from 00:00 to 04:00 UTC on 2026-10-25, whose 02:00-03:00 local comes twice. */
  async function passesOverTheChange(schedule: string): Promise<number[]> {
    process.env['TZ'] = 'Europe/Berlin';
    h = await Harness.start();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'], now: new Date('2026-10-24T23:59:00.500Z') });
    const app = await h.app(h.yaml([], { poll: `  schedule: "${schedule}"` }));
    const passes: number[] = [];
    app.engine.start(() => void passes.push(Date.now()));
    await vi.advanceTimersByTimeAsync(4 * HOUR);
    return passes.slice(1);
  }

  it('polls every 15 s through the autumn change, not two hours without a pass', async () => {
    const passes = await passesOverTheChange('*/15 * * * * *');
    expect(passes).toHaveLength(4 * 240);
    expect(new Set(passes.slice(1).map((at, i) => at - passes[i]!))).toEqual(new Set([15_000]));
    expect(warnings()).toEqual([]);
    expect(errors()).toEqual([]);
  });

  it('reads a schedule that names hours in local time', async () => {
    const passes = await passesOverTheChange('0 30 4 * * *');
    expect(passes.map((at) => new Date(at).toISOString())).toEqual(['2026-10-25T03:30:00.000Z']);
    expect(errors()).toEqual([]);
  });
});
