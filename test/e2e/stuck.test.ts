import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { App } from '../../src/app.ts';
import { STUCK_FLOOR_MS } from '../../src/watch/stuck.ts';
import { watchKey } from '../../src/state/store.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { Harness, quickAction } from './harness.ts';
import { eventually } from '../eventually.ts';

let h: Harness;
/** The reading end of the named pipe below, once a test has let the hung save go on. */
let reader: number | undefined;

beforeEach(async () => {
  // The loop's signs are timed on performance.now(), which vitest moves on here without firing any timer.
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  h = await Harness.start();
});
afterEach(async () => {
  // After a failed test too: the close would wait for the hung save.
  release();
  await h.close();
  if (reader !== undefined) closeSync(reader);
  reader = undefined;
  vi.useRealTimers();
});

const journal = () => join(h.dir, 'state', 'state.json.journal');

/**
 * A volume that hangs (an NFS server gone), as the kernel has it: a named pipe where the journal is to be
 * made blocks its open until something reads it, as a hung mount blocks it until the server is back.
 */
async function hangingJournal(): Promise<void> {
  await mkdir(join(h.dir, 'state'), { recursive: true });
  execFileSync('mkfifo', [journal()]);
}

/** The volume answers again: the hung open goes on. */
function release(): void {
  try {
    reader ??= openSync(journal(), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    // No pipe made, or the daemon has removed it already.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

it('a pass held up by a save that hangs is stuck once nothing has ended for ten minutes; it moves again when the volume does, and the next save leaves the bad handle for a new journal', async () => {
  const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3_600_000, taskState: 'rebooting' }] });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([{ ...action, name: 'reboot' }]));
  await hangingJournal();
  let ended = false;
  const pass = app.engine.pollOnce().finally(() => {
    ended = true;
  });
  await eventually(() => expect(h.logs.text).toContain('still pending'), { timeout: 5000 });

  const stuckGauge = () => app.metrics.registry.getSingleMetricAsString('ecs_action_watch_poll_loop_stuck');
  vi.advanceTimersByTime(STUCK_FLOOR_MS - 1000);
  expect(app.engine.stuck()).toBeUndefined();
  expect(await stuckGauge()).toMatch(/^ecs_action_watch_poll_loop_stuck 0$/m);
  vi.advanceTimersByTime(2000);
  expect(await stuckGauge()).toMatch(/^ecs_action_watch_poll_loop_stuck 1$/m);
  expect(ended).toBe(false);
  expect(app.engine.stuck()).toMatch(/^a poll pass has run for 10 min 1 s, and no poll or request to the cloud has ended for 10 min 1 s \(more than 10 min\): a save of the state that hangs/);
  expect(app.engine.stuck()).toBeDefined();
  const said = h.logs.lines().filter((l) => String(l['msg']).startsWith('the poll loop is stuck: '));
  expect(said).toHaveLength(1);
  expect(said[0]).toMatchObject({ level: 50, stuckAfterMs: STUCK_FLOOR_MS });

  // The journal's handle is bad for good (a pipe takes no write at an offset, as a stale NFS handle takes
  // none): the save fails, the pass ends, and the loop is no longer stuck.
  release();
  await pass;
  expect(app.engine.stuck()).toBeUndefined();
  expect(await stuckGauge()).toMatch(/^ecs_action_watch_poll_loop_stuck 0$/m);
  expect(h.logs.lines().filter((l) => l['msg'] === 'the poll loop moves again: /healthz answers 200')).toHaveLength(1);
  expect(h.logs.lines().filter((l) => l['msg'] === 'state could not be saved: no new verdict or delivery is recorded, nor sent, until a save succeeds (deliveries saved before go on); saves are tried again at each pass and delivery')).toHaveLength(1);
  // The next save leaves that handle for a snapshot and a new journal: the watch's record is on disk.
  await app.store.save();
  expect(stateOnDisk(join(h.dir, 'state', 'state.json')).watches).toHaveProperty([watchKey(action)]);
});

it("is stuck once the schedule's timer is lost and no pass has begun for ten minutes after one was due; never while passes come as scheduled", async () => {
  // The real engine and node-cron on vitest's timers, which clearAllTimers() can take from node-cron as a
  // throw in its heartbeat would.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
  const app = await h.app(h.yaml([], { poll: '  schedule: "*/15 * * * * *"' }));
  let passes = 0;
  app.engine.start(() => void passes++);
  for (let minute = 0; minute < 30; minute++) {
    await vi.advanceTimersByTimeAsync(60_000);
    expect(app.engine.stuck()).toBeUndefined();
  }
  expect(passes).toBeGreaterThanOrEqual(4 * 30 - 1);

  vi.clearAllTimers();
  // The last pass that came, ended: the next is due within 15 s.
  await app.engine.pollOnce();
  goesOn(app, 9.5 * 60_000);
  expect(app.engine.stuck()).toBeUndefined();
  goesOn(app, 60_000);
  expect(app.engine.stuck()).toMatch(/^no poll pass has begun for 10 min \d+ s after one was due by poll\.schedule \(more than 10 min\): the schedule's timer was lost/);
  expect(await app.metrics.registry.getSingleMetricAsString('ecs_action_watch_poll_loop_stuck')).toMatch(/^ecs_action_watch_poll_loop_stuck 1$/m);
  expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('the poll loop is stuck: no poll pass has begun'))).toMatchObject([{ level: 50 }]);

  // A pass begins: the loop moves.
  const pass = app.engine.pollOnce();
  expect(app.engine.stuck()).toBeUndefined();
  await pass;
  expect(h.logs.lines().filter((l) => l['msg'] === 'the poll loop moves again: /healthz answers 200')).toHaveLength(1);
});

it('is not stuck, nor says so, when this process was held 85 min past a due pass (SIGSTOP, a frozen cgroup: its clocks went on, its timers fire late at once); stuck ten minutes after it goes on without one', async () => {
  vi.setSystemTime(new Date('2026-01-05T10:00:30Z'));
  // The engine's look at the clocks, every 5 s on the real timers here, reads the boot clock after a while of them.
  let looks = 0;
  const bootClock = () => (looks++, Date.now());
  const app = await h.app(h.yaml([], { poll: '  schedule: "0 * * * *"' }), { bootClock });
  await app.engine.start();
  // Held from 10:00:30 to 11:25:30: the pass due at 11:00 is 25 min late when its timers fire.
  vi.advanceTimersByTime(85 * 60_000);
  const before = looks;
  await eventually(() => expect(looks).toBeGreaterThan(before), { timeout: 7000, interval: 100 });
  expect(app.engine.stuck()).toBeUndefined();
  expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('the poll loop is stuck'))).toEqual([]);
  // node-cron's timer, due at 11:00, is on the test's real clock here: for the engine, lost.
  goesOn(app, STUCK_FLOOR_MS + 1000);
  expect(app.engine.stuck()).toMatch(/^no poll pass has begun for 10 min 1 s after one was due by poll\.schedule/);
});

/** `ms` of this process going on, its probes (/healthz) asking every 5 s, as its own look at the clocks does. */
function goesOn(app: App, ms: number): void {
  for (let left = ms; left > 0; left -= 5000) {
    vi.advanceTimersByTime(Math.min(left, 5000));
    app.engine.stuck();
  }
}

it('is not stuck, nor says so, when /healthz (or a scrape of the metrics) asks first after this process was held 85 min past a due pass, before the engine\'s own look at the clocks has come', async () => {
  vi.setSystemTime(new Date('2026-01-05T10:00:30Z'));
  const app = await h.app(h.yaml([], { poll: '  schedule: "0 * * * *"' }));
  await app.engine.start();
  // Held from 10:00:30 to 11:25:30; the probe that came meanwhile, queued on its socket, is answered first.
  vi.advanceTimersByTime(85 * 60_000);
  expect(app.engine.stuck()).toBeUndefined();
  expect(await app.metrics.registry.getSingleMetricAsString('ecs_action_watch_poll_loop_stuck')).toMatch(/^ecs_action_watch_poll_loop_stuck 0$/m);
  expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('the poll loop is stuck'))).toEqual([]);
  goesOn(app, STUCK_FLOOR_MS + 1000);
  expect(app.engine.stuck()).toMatch(/^no poll pass has begun for 10 min 1 s after one was due by poll\.schedule/);
});
