import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { STUCK_FLOOR_MS } from '../../src/watch/stuck.ts';
import { watchKey } from '../../src/state/store.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { Harness, quickAction } from './harness.ts';

let h: Harness;
/** Lets the hung open go on: the test's own last step, and, after a failed test, what the close would wait for. */
let release: () => void = () => {};
beforeEach(async () => {
  // The loop's signs are timed on performance.now(), which vitest moves on here without firing any timer.
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  h = await Harness.start();
});
afterEach(async () => {
  release();
  await h.close();
  vi.useRealTimers();
});

it('a pass held up by a save that hangs is stuck once nothing has ended for ten minutes; it moves again when the volume does, and the next save leaves the bad handle for a new journal', async () => {
  const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3_600_000, taskState: 'rebooting' }] });
  h.simulator.addAction(action);
  const app = await h.app(h.yaml([{ ...action, name: 'reboot' }]));
  // A volume that hangs (an NFS server gone), as the kernel has it: a named pipe where the journal is made
  // blocks the open until something reads it, as a hung mount blocks it until the server is back.
  const journal = join(h.dir, 'state', 'state.json.journal');
  await mkdir(join(h.dir, 'state'), { recursive: true });
  execFileSync('mkfifo', [journal]);
  let reader: number | undefined;
  release = () => {
    reader ??= openSync(journal, constants.O_RDONLY | constants.O_NONBLOCK);
  };
  let ended = false;
  const pass = app.engine.pollOnce().finally(() => {
    ended = true;
  });
  await vi.waitFor(() => expect(h.simulator.requests.length).toBeGreaterThan(0), { timeout: 5000 });
  await vi.waitFor(() => expect(h.logs.text).toContain('still pending'), { timeout: 5000 });

  vi.advanceTimersByTime(STUCK_FLOOR_MS - 1000);
  expect(app.engine.stuck()).toBeUndefined();
  vi.advanceTimersByTime(2000);
  expect(ended).toBe(false);
  expect(app.engine.stuck()).toMatch(/^a poll pass has run for 10 min 1 s, and no poll or request to the cloud has ended for 10 min 1 s \(more than 10 min\): a save of the state that hangs/);
  expect(app.engine.stuck()).toBeDefined();
  const said = h.logs.lines().filter((l) => String(l['msg']).startsWith('the poll loop is stuck: '));
  expect(said).toHaveLength(1);
  expect(said[0]).toMatchObject({ level: 50, stuckAfterMs: STUCK_FLOOR_MS });

  // The volume answers again, but the journal's handle is bad for good (a pipe takes no write at an offset,
  // as a stale NFS handle takes none): the save fails, the pass ends, and the loop is no longer stuck.
  release();
  await pass;
  expect(app.engine.stuck()).toBeUndefined();
  expect(h.logs.lines().filter((l) => l['msg'] === 'the poll loop moves again: /healthz answers 200')).toHaveLength(1);
  expect(h.logs.lines().filter((l) => l['msg'] === 'state could not be saved; retrying on the next pass')).toHaveLength(1);
  // The next save leaves that handle for a snapshot and a new journal: the watch's record is on disk.
  await app.store.save();
  closeSync(reader!);
  expect((await stateOnDisk(join(h.dir, 'state', 'state.json'))).watches).toHaveProperty([watchKey(action)]);
});
