// The state taken from under a running daemon: by a cleanup job that removes files by age (systemd-tmpfiles,
// a `find -mtime +7 -delete` on the volume), which takes the state file, untouched since the last
// compaction, and leaves the lock and the journal, written to all the time (or, of a daemon idle for days,
// the journal too); or whole, with its folder (a cleanup of the folder, its volume unmounted).
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, type TestContext } from 'vitest';
import { startSimulator } from '../../src/simulator/index.ts';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { waitUntil } from '../eventually.ts';
import { killDaemons, startDaemon, webhookWatchFile } from './daemon.ts';

const PROJECT = 'state-removed-project';
const TOKEN = 'tok-state-removed';

interface Watch {
  requestId: string;
  deliveries: Record<string, { status: string }>;
}

interface Ids {
  serverId: string;
  requestId: string;
}

afterAll(killDaemons);

/** Whether the state files at `state` record the watch's notification as delivered. */
function deliveredIn(state: string, watch: Ids): boolean {
  return (Object.values(stateOnDisk(state).watches) as Watch[]).some((w) => w.requestId === watch.requestId && w.deliveries['chat']?.status === 'delivered');
}

/** A watch file with two watches, whose actions the simulator gets from `addAction`, its state at `statePath(dir)`. */
async function setUp(onTestFinished: TestContext['onTestFinished'], statePath: (dir: string) => string) {
  const simulator = await startSimulator({ token: TOKEN });
  onTestFinished(() => simulator.close());
  const sink = await startWebhookSink();
  onTestFinished(() => sink.close());
  const ids = [0, 1].map(() => ({ serverId: crypto.randomUUID(), requestId: `req-${crypto.randomUUID()}` })) as [Ids, Ids];
  const addAction = (watch: Ids, durationMs = 1) => simulator.addAction({ projectId: PROJECT, ...watch, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs }] });
  const dir = await mkdtemp(join(tmpdir(), 'eaw-state-removed-'));
  const config = join(dir, 'watch.yaml');
  const state = statePath(dir);
  await writeFile(config, webhookWatchFile(simulator.url, PROJECT, sink.url, state, ids));
  return { simulator, sink, ids, addAction, dir, config, state };
}

/** A daemon on `config` run until it has delivered a notification, then stopped cleanly: its state compacted into the state file. */
async function deliverAndStop(config: string): Promise<void> {
  const daemon = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  expect(await daemon.saw('notification delivered')).toBe(true);
  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
}

it('starts again after a kill with every outcome it sent, when its state file was removed under it while it ran', { timeout: 120_000 }, async ({ onTestFinished }) => {
  const { sink, ids, addAction, dir, config, state } = await setUp(onTestFinished, (folder) => join(folder, 'state.json'));
  const [before, after] = ids;
  addAction(before);
  // The first outcome sent and compacted into the snapshot by a clean stop: the state file alone.
  await deliverAndStop(config);
  expect(await readdir(dir)).toEqual(['state.json', 'watch.yaml']);

  const second = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  expect(await second.saw('started')).toBe(true);
  await rm(state);
  // The second action comes to the cloud only now: its outcome is saved after the state file is gone.
  addAction(after);
  // Killed once the delivery is recorded (killed before, it would be sent again: at least once).
  const delivered = (watch: Ids) => deliveredIn(state, watch);
  // Until the daemon has written the state file again, the journal alone continues nothing: not yet.
  await waitUntil(() => {
    try {
      return delivered(after);
    } catch {
      return false;
    }
  }, 30_000);
  second.child.kill('SIGKILL');
  await second.exited;

  const third = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, [], { stderr: 'collect' });
  expect(await third.saw('started'), third.errors()).toBe(true);
  third.child.kill('SIGTERM');
  expect(await third.exited).toBe(0);
  expect([before, after].map(delivered)).toEqual([true, true]);
  expect(sink.received).toHaveLength(2);
});

// Started again on nothing, it would start afresh and notify every finished watch again: the operator is
// to put the state back first, not to look for a second daemon.
it('stops saying that its state is gone with its folder, and to put it back before it starts again, not that another daemon took it', { timeout: 120_000 }, async ({ onTestFinished }) => {
  const { dir, config } = await setUp(onTestFinished, (folder) => join(folder, 'state', 'state.json'));
  const daemon = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, [], { stderr: 'collect' });
  expect(await daemon.saw('started')).toBe(true);
  await rm(join(dir, 'state'), { recursive: true });
  expect(await daemon.exited).toBe(1);
  const lock = join(dir, 'state', 'state.json.lock');
  const gone =
    `the state lock ${lock} is gone, and the state files beside it with it (their folder removed or cleaned up, or their volume unmounted): ` +
    'put them back (mount the volume) before the daemon starts again, which without them starts afresh and notifies every finished watch again';
  expect(daemon.output()).toContain(`"msg":"${gone}; stopping, since what it would save no longer goes where its state was"`);
  expect(daemon.errors()).toContain(gone);
});

// A daemon whose watches run for days, no pass changing anything, saves nothing: a cleanup job by age takes the
// state file (and the journal, untouched as long), and no save comes to notice it. Killed then (OOM, a node
// reboot), its next start was refused for a journal that begins past change 1 with no state file, or, with
// both gone, started afresh and notified every finished watch again.
it.for([
  ['its state file is', ['state.json']],
  ['its state file and its journal are', ['state.json', 'state.json.journal']],
] as const)('writes its state again when %s removed while it is idle, so that a start after a kill reads it and notifies nothing again', { timeout: 120_000 }, async ([, removed], { onTestFinished }) => {
  const { simulator, sink, ids, addAction, dir, config, state } = await setUp(onTestFinished, (folder) => join(folder, 'state.json'));
  const [done, running] = ids;
  addAction(done);
  await deliverAndStop(config);
  // Running for as long as the test: every pass from now on polls it and finds nothing new.
  addAction(running, 3_600_000);
  const polls = () => simulator.requests.filter((request) => request.path.includes(running.requestId)).length;
  /** Resolves once `daemon` has polled the running action twice more: a pass has come and gone. */
  const passed = async () => {
    const before = polls();
    await waitUntil(() => polls() >= before + 2, 30_000);
  };

  const second = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, [], { stderr: 'collect' });
  expect(await second.saw('started')).toBe(true);
  // Idle: the running watch saved by the first pass, and a pass after that.
  await waitUntil(async () => (await readFile(`${state}.journal`, 'utf8').catch(() => '')).includes(running.requestId), 30_000);
  await passed();
  await Promise.all(removed.map((name) => rm(join(dir, name))));
  // Written again by the daemon, with no save to prompt it: the state file holds every record once more.
  await waitUntil(async () => (await readdir(dir)).includes('state.json') && deliveredIn(state, done) && JSON.stringify(stateOnDisk(state).watches).includes(running.requestId), 30_000);
  // Said once that save has ended, which is after its file is in place: awaited, not taken as there.
  const said = () => second.output().split('\n').filter((line) => line.includes('"level":"warn"') && line.includes('removed while the daemon ran'));
  await waitUntil(() => said().length > 0, 30_000);
  expect(said(), second.output()).toHaveLength(1);
  second.child.kill('SIGKILL');
  await second.exited;

  const third = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, [], { stderr: 'collect' });
  expect(await third.saw('started'), third.errors()).toBe(true);
  // A start that had lost the finished watch would judge it at its first pass and notify it again.
  await passed();
  third.child.kill('SIGTERM');
  expect(await third.exited).toBe(0);
  expect(deliveredIn(state, done)).toBe(true);
  expect(sink.received).toHaveLength(1);
});
