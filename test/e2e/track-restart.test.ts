// Auto-tracking's guarantee where it breaks: the daemon is SIGKILLed the moment it has started a watch
// for a new action (in memory, before the pass saved it), then started again on the same state file.
// Every action started after tracking began must be notified, each under one webhook-id; none older.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { startWebhookSink, type WebhookSink } from '../../src/sinks/webhookSink.ts';
import { killDaemons, startDaemon } from './daemon.ts';

const PROJECT = 'track-restart-project';
const TOKEN = 'tok-track-restart';

let simulator: Simulator | undefined;
let sink: WebhookSink | undefined;
afterEach(async () => {
  killDaemons();
  await Promise.all([simulator?.close(), sink?.close()]);
});

it('notifies every action started after tracking began exactly once, across a SIGKILL right after one was found', async () => {
  simulator = await startSimulator({ token: TOKEN });
  const dir = await mkdtemp(join(tmpdir(), 'eaw-track-restart-'));
  const serverId = crypto.randomUUID();
  const reboot = () => simulator!.addAction({
    projectId: PROJECT, serverId, serverName: 'web-07', action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 200 }],
  });
  const older = reboot();
  const received = new Map<string, Set<string>>();
  sink = await startWebhookSink({
    onReceive: (hook) => {
      const requestId = (hook.body as { watch: { requestId: string } }).watch.requestId;
      received.set(requestId, (received.get(requestId) ?? new Set()).add(String(hook.headers['webhook-id'])));
    },
  });
  const config = join(dir, 'watch.yaml');
  await writeFile(config, [
    'cloud:',
    `  endpoint: ${simulator.url}`,
    `  projectId: ${PROJECT}`,
    '  auth: { type: token, token: "${ECS_AUTH_TOKEN}" }',
    'poll:',
    '  schedule: "* * * * * *"',
    '  retries: 0',
    'delivery:',
    '  minDelay: 100ms',
    'notifiers:',
    '  chat:',
    '    type: webhook',
    `    url: ${sink.url}`,
    'state:',
    `  path: ${join(dir, 'state.json')}`,
    'http:',
    '  port: 0',
    'track:',
    `  - servers: [${serverId}]`,
    '',
  ].join('\n'));
  /** Whether the action's notification arrives within a few passes. */
  const notified = (requestId: string) => new Promise<boolean>((resolve) => {
    const giveUp = Date.now() + 10_000;
    const timer = setInterval(() => {
      if (!received.has(requestId) && Date.now() < giveUp) return;
      clearInterval(timer);
      resolve(received.has(requestId));
    }, 20);
  });

  const first = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  expect(await first.logged('tracking began')).toBe(true);
  const found = reboot();
  // Killed as soon as it has the watch in memory: the save of that pass may or may not have happened.
  expect(await first.logged(`"requestId":"${found}"`)).toBe(true);
  first.child.kill('SIGKILL');
  await first.exited;

  const second = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  expect(await second.saw('started')).toBe(true);
  expect(await notified(found)).toBe(true);
  const after = reboot();
  expect(await notified(after)).toBe(true);
  second.child.kill('SIGTERM');
  await second.exited;

  expect(received.has(older)).toBe(false);
  expect([...received.keys()].sort()).toEqual([found, after].sort());
  for (const ids of received.values()) expect(ids.size).toBe(1);
}, 60_000);
