// Auto-tracking's guarantee where it breaks: the daemon is SIGKILLed the moment it has started a watch
// for a new action (in memory, before the pass saved it), then started again on the same state file.
// Every action started after tracking began must be notified, each under one webhook-id; none older.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { startWebhookSink, type WebhookSink } from '../../src/sinks/webhookSink.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PROJECT = 'track-restart-project';
const TOKEN = 'tok-track-restart';
const COMPILE_CACHE = join(tmpdir(), 'ecs-action-watch-test-compile-cache');

let simulator: Simulator | undefined;
let sink: WebhookSink | undefined;
const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([simulator?.close(), sink?.close()]);
});

/** `run` in its own process; `until(text)` resolves once its log has shown `text` (false if it exits first). */
function daemon(config: string) {
  const child = spawn(process.execPath, [MAIN, 'run', '--config', config], {
    env: { ...process.env, ECS_AUTH_TOKEN: TOKEN, LOG_LEVEL: 'info', NODE_COMPILE_CACHE: COMPILE_CACHE },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let log = '';
  const waiting = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    for (const check of waiting) check();
  });
  const until = (text: string) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (!log.includes(text)) return;
        waiting.delete(check);
        resolve(true);
      };
      waiting.add(check);
      child.on('exit', () => resolve(false));
      check();
    });
  return { child, until };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  child.kill(signal);
  if (child.exitCode === null) await once(child, 'exit');
}

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

  const first = daemon(config);
  expect(await first.until('tracking began')).toBe(true);
  const found = reboot();
  // Killed as soon as it has the watch in memory: the save of that pass may or may not have happened.
  expect(await first.until(`"requestId":"${found}"`)).toBe(true);
  await kill(first.child, 'SIGKILL');

  const second = daemon(config);
  expect(await second.until('"msg":"started"')).toBe(true);
  expect(await notified(found)).toBe(true);
  const after = reboot();
  expect(await notified(after)).toBe(true);
  await kill(second.child, 'SIGTERM');

  expect(received.has(older)).toBe(false);
  expect([...received.keys()].sort()).toEqual([found, after].sort());
  for (const ids of received.values()) expect(ids.size).toBe(1);
}, 60_000);
