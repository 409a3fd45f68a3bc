// A batch of 50 watches, its daemon SIGKILLed again and again around the moment its digest is recorded,
// saved and sent: each notifier must get the digest, always with the same id, and never before the state
// file holds it; no watch of the batch may be notified on its own.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { startMailSink, type MailSink } from '../../src/sinks/mailSink.ts';
import { startWebhookSink, type WebhookSink } from '../../src/sinks/webhookSink.ts';
import { killDaemons, simulatorCloud, startDaemon } from './daemon.ts';
import { stateOnDisk } from '../state/onDisk.ts';

const PROJECT = 'batch-kill-project';
const TOKEN = 'tok-batch-kill';
const WATCHES = 50;
const FAILED = new Set([7, 31]);
/**
 * Room for a daemon's start and its batch at a load of 15 on two cores (more than 10 s there, a second or two
 * on a quiet machine); a passing run waits only as long as the daemon takes.
 */
const WAIT_MS = 30_000;

let simulator: Simulator | undefined;
let hooks: WebhookSink | undefined;
let mail: MailSink | undefined;
afterEach(async () => {
  killDaemons();
  await Promise.all([simulator?.close(), hooks?.close(), mail?.close()]);
});

type Digest = { type: string; batch: string; counts: Record<string, number>; watches: Array<{ outcome: string }> };
type State = { batches?: Record<string, { digests: Array<{ deliveries: Record<string, { id: string }> }> }> };

it('sends one digest per notifier for a batch of 50, exactly once, across SIGKILLs', { timeout: 120_000 }, async () => {
  simulator = await startSimulator({ token: TOKEN });
  mail = await startMailSink();
  const dir = await mkdtemp(join(tmpdir(), 'eaw-batch-kill-'));
  const statePath = join(dir, 'state.json');
  const recordedIds = (): string[] => {
    const state = stateOnDisk(statePath) as State;
    return (state.batches?.['fleet']?.digests ?? []).flatMap((d) => Object.values(d.deliveries).map((x) => x.id));
  };
  const onDiskAtSend: boolean[] = [];
  // Slow enough that a kill can land while the digest is being sent.
  hooks = await startWebhookSink({ onReceive: (hook) => onDiskAtSend.push(recordedIds().includes(String(hook.headers['webhook-id']).slice('msg_'.length))) });
  hooks.setAnswer({ delayMs: 150 });

  const watches = Array.from({ length: WATCHES }, (_, i) => {
    const serverId = crypto.randomUUID();
    const requestId = `req-${crypto.randomUUID()}`;
    simulator!.addAction({
      projectId: PROJECT, serverId, requestId, action: 'resize',
      steps: [{ event: 'compute_resize_instance', durationMs: 1, result: FAILED.has(i) ? 'Error' : 'Success' }],
    });
    return `  - { requestId: ${requestId}, serverId: ${serverId}, name: web-${i}, batch: fleet }`;
  });
  const config = join(dir, 'watch.yaml');
  await writeFile(
    config,
    [
      ...simulatorCloud(simulator.url, PROJECT),
      'poll: { schedule: "* * * * * *", retries: 0, concurrency: 16 }',
      'delivery: { minDelay: 100ms, maxDelay: 100ms }',
      'notifiers:',
      `  chat: { type: webhook, url: "${hooks.url}" }`,
      `  ops-mail: { type: email, smtp: { host: 127.0.0.1, port: ${mail.port}, timeout: 2s }, from: ecs@example.com, to: [ops@example.com] }`,
      `state: { path: "${statePath}" }`,
      'shutdown: { drainTimeout: 1s }',
      'http: { port: 0 }',
      'watches:',
      ...watches,
      '',
    ].join('\n'),
  );

  // Killed as soon as it says the batch is finished: before its save, so nothing may have been sent.
  const first = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  const sawDigest = await Promise.race([first.saw('batch finished'), sleep(WAIT_MS).then(() => false)]);
  first.child.kill('SIGKILL');
  await first.exited;
  const sentByFirst = hooks.received.length + mail.received.length;

  // Killed while the receiver holds the digest's request: it was sent, but the daemon never heard back.
  const second = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  for (let waited = 0; hooks.received.length === 0 && waited < WAIT_MS; waited += 10) await sleep(10);
  second.child.kill('SIGKILL');
  await second.exited;

  const last = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, ['--until-done']);
  const code = await last.exited;

  const digests = hooks.received.map((h) => ({ body: h.body as Digest, id: h.headers['webhook-id'] }));
  expect({ sawDigest, sentByFirst }).toEqual({ sawDigest: true, sentByFirst: 0 });
  // Sent by the second run and again by the last: a redelivery, with the same id.
  expect(digests.length).toBeGreaterThanOrEqual(2);
  expect(new Set(digests.map((d) => d.body.type))).toEqual(new Set(['ecs.batch.finished']));
  expect(new Set(digests.map((d) => d.id)).size).toBe(1);
  expect(digests[0]!.body.counts).toEqual({ success: WATCHES - FAILED.size, failure: FAILED.size, timeout: 0, not_found: 0, pending: 0 });
  expect(digests[0]!.body.watches).toHaveLength(WATCHES);
  expect(onDiskAtSend.every(Boolean)).toBe(true);

  expect(new Set(mail.received.map((m) => m.messageId)).size).toBe(1);
  expect(mail.received[0]!.subject).toBe(`[ecs-action-watch] batch fleet finished: ${FAILED.size} failed, ${WATCHES - FAILED.size} succeeded`);
  // Two failures: not every watch succeeded.
  expect(code).toBe(1);
});
