// A daemon whose state.path names no state though the watch file is one it ran on: state.path changed between
// runs, or the default relative path read from another working folder (a systemd unit's WorkingDirectory
// edited, `run` typed in another folder). It starts afresh, and every watch that ended before is notified
// again: the log must say where it looked, and why that may be wrong.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.ts';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { killDaemons, startDaemon, webhookWatchFile } from './daemon.ts';

const PROJECT = 'state-path-project';
const TOKEN = 'tok-state-path';

afterAll(killDaemons);

it('says at start that it found no state where state.path points, and where a relative one was looked for, but not when it found one', { timeout: 120_000 }, async ({ onTestFinished }) => {
  const simulator = await startSimulator({ token: TOKEN });
  onTestFinished(() => simulator.close());
  const sink = await startWebhookSink();
  onTestFinished(() => sink.close());
  const ids = { serverId: crypto.randomUUID(), requestId: `req-${crypto.randomUUID()}` };
  simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1 }] });
  const dir = await mkdtemp(join(tmpdir(), 'eaw-state-path-'));
  const config = join(dir, 'watch.yaml');
  await writeFile(config, webhookWatchFile(simulator.url, PROJECT, sink.url, './state.json', [ids]));
  const [first, other] = [join(dir, 'first'), join(dir, 'other')];
  await Promise.all([mkdir(first), mkdir(other)]);
  const run = async (cwd: string) => {
    const daemon = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, [], { cwd });
    expect(await daemon.saw('notification delivered')).toBe(true);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    return daemon.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: string; msg: string; state?: string });
  };
  const noState = (cwd: string) => ({
    level: 'warn',
    state: join(cwd, 'state.json'),
    msg:
      `no state at ${join(cwd, 'state.json')}: starting without one, so every watch of the file is tracked from now and notified when it ends, also one that ended before. ` +
      `Right for a first start; if a daemon ran before on this file, its state is not there (state.path changed since, its volume is not mounted, or, as ./state.json is relative to the folder the daemon runs in (${cwd}), it ran in another folder): ` +
      `stop this one, and put that state file and its journal at ${join(cwd, 'state.json')}`,
  });

  expect(await run(first)).toContainEqual(expect.objectContaining(noState(first)));
  // The same file run from another folder: its outcome is told again, and the log says why.
  expect(await run(other)).toContainEqual(expect.objectContaining(noState(other)));
  expect(sink.received).toHaveLength(2);
  // Back in the first folder, its state is there: nothing said, nothing told again.
  const again = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, [], { cwd: first });
  expect(await again.saw('started')).toBe(true);
  again.child.kill('SIGTERM');
  expect(await again.exited).toBe(0);
  expect(again.output()).not.toContain('no state at');
  expect(sink.received).toHaveLength(2);
});
