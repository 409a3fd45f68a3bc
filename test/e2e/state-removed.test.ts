// A cleanup job that removes files by age (systemd-tmpfiles, a `find -mtime +7 -delete` on the volume) takes
// the state file, untouched since the last compaction, and leaves the lock and the journal, written to all
// the time. A daemon killed then must leave files that its next start reads, with every outcome it sent.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.ts';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { waitUntil } from '../eventually.ts';
import { killDaemons, simulatorCloud, startDaemon } from './daemon.ts';

const PROJECT = 'state-removed-project';
const TOKEN = 'tok-state-removed';

interface Watch {
  requestId: string;
  deliveries: Record<string, { status: string }>;
}

afterAll(killDaemons);

it('starts again after a kill with every outcome it sent, when its state file was removed under it while it ran', { timeout: 120_000 }, async ({ onTestFinished }) => {
  const simulator = await startSimulator({ token: TOKEN });
  onTestFinished(() => simulator.close());
  const sink = await startWebhookSink();
  onTestFinished(() => sink.close());
  const [before, after] = [0, 1].map(() => ({ serverId: crypto.randomUUID(), requestId: `req-${crypto.randomUUID()}` })) as [{ serverId: string; requestId: string }, { serverId: string; requestId: string }];
  const action = (ids: typeof before) => ({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1 }] });
  simulator.addAction(action(before));
  const dir = await mkdtemp(join(tmpdir(), 'eaw-state-removed-'));
  const config = join(dir, 'watch.yaml');
  const state = join(dir, 'state.json');
  await writeFile(
    config,
    [
      ...simulatorCloud(simulator.url, PROJECT),
      'poll:',
      '  schedule: "* * * * * *"',
      'notifiers:',
      '  chat:',
      '    type: webhook',
      `    url: ${sink.url}`,
      'state:',
      `  path: ${state}`,
      'http:',
      '  port: 0',
      'watches:',
      ...[before, after].map((ids) => `  - { requestId: ${ids.requestId}, serverId: ${ids.serverId} }`),
      '',
    ].join('\n'),
  );
  // The first outcome sent and compacted into the snapshot by a clean stop: the state file alone.
  const first = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  expect(await first.saw('notification delivered')).toBe(true);
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect(await readdir(dir)).toEqual(['state.json', 'watch.yaml']);

  const second = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  expect(await second.saw('started')).toBe(true);
  await rm(state);
  // The second action comes to the cloud only now: its outcome is saved after the state file is gone.
  simulator.addAction(action(after));
  // Killed once the delivery is recorded (killed before, it would be sent again: at least once).
  const delivered = (ids: typeof before) => (Object.values(stateOnDisk(state).watches) as Watch[]).some((watch) => watch.requestId === ids.requestId && watch.deliveries['chat']?.status === 'delivered');
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
