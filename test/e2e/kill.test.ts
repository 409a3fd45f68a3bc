// The guarantee where it breaks: the daemon is SIGKILLed again and again, mostly in the moment between a
// verdict (made in memory) and the save that records it, then restarted on the same state file. Whatever
// the moment, no outcome may be lost, none contradicted, no webhook sent whose verdict is not on disk, and
// a repeated webhook must carry the same webhook-id.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { startSimulator, type ActionScript } from '../../src/simulator/index.ts';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { killDaemons, simulatorCloud, startDaemon } from './daemon.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { waitUntil } from '../eventually.ts';

const PROJECT = 'kill-test-project';
const TOKEN = 'tok-kill-test';
/** Actions that appear, finished, one before each restart: every run has a verdict to make. */
const APPEARING = 6;
/** Never finish: they end as timeouts, which depend on when tracking began, a fact only the state keeps. */
const TIMEOUTS = ['2s', '3s'];

interface Expected {
  requestId: string;
  serverId: string;
  outcome: 'success' | 'failure' | 'timeout';
  extra: string;
}

/**
 * Room at a load of 12 on two cores, where a daemon's start, a few hundred milliseconds of processor on a
 * quiet machine, takes seconds: how long a run may take to come to its verdict, and the second test's limit.
 */
const WAIT_MS = 30_000;

// Each test kills its daemons; one that failed before it could leaves them to this.
afterAll(killDaemons);

/**
 * `it` whose test gets a simulator of its own, closed after it. The two tests share nothing else either (each
 * its receivers and state folder), and spend most of their time waiting for verdicts and a deadline on the
 * real clock: side by side, the file takes about as long as the longer of them.
 */
const test = it.extend('simulator', async ({ onTestFinished }) => {
  const simulator = await startSimulator({ token: TOKEN });
  onTestFinished(() => simulator.close());
  return simulator;
});

/** Takes every request and never answers it. */
async function startSilentReceiver() {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function scenario(i: number): { script: ActionScript; expected: Expected } {
  const serverId = crypto.randomUUID();
  const requestId = `req-${crypto.randomUUID()}`;
  const deadline = TIMEOUTS[i - APPEARING];
  if (deadline !== undefined) {
    return {
      script: { projectId: PROJECT, serverId, requestId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1 }], neverFinishes: true },
      expected: { requestId, serverId, outcome: 'timeout', extra: `    deadline: ${deadline}` },
    };
  }
  const failed = i % 2 === 1;
  return {
    script: { projectId: PROJECT, serverId, requestId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1, result: failed ? 'Error' : 'Success' }] },
    expected: { requestId, serverId, outcome: failed ? 'failure' : 'success', extra: '' },
  };
}

function daemon(config: string, args: string[] = []) {
  const started = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, args);
  return { child: started.child, sawVerdict: started.saw('watch finished'), sawDelivered: started.saw('notification delivered') };
}

test.concurrent('loses and contradicts nothing, and sends nothing not on disk, when SIGKILLed between verdict and save', { timeout: 120_000 }, async ({ simulator, onTestFinished }) => {
  const dir = await mkdtemp(join(tmpdir(), 'eaw-kill-'));
  const statePath = join(dir, 'state.json');
  const onDiskAtSend: boolean[] = [];
  const sink = await startWebhookSink({
    // What a receiver can check: is the outcome it is told about already in the daemon's state file?
    onReceive: (hook) => {
      const body = hook.body as { outcome: string; watch: { projectId: string; serverId: string; requestId: string } };
      const key = `${body.watch.projectId}/${body.watch.serverId}/${body.watch.requestId}`;
      const state = stateOnDisk(statePath) as { watches: Record<string, { verdict: { outcome: string } | null } | undefined> };
      onDiskAtSend.push(state.watches[key]?.verdict?.outcome === body.outcome);
    },
  });
  onTestFinished(() => sink.close());
  const slow = { serverId: crypto.randomUUID(), requestId: `req-${crypto.randomUUID()}` };
  const scenarios = Array.from({ length: APPEARING + TIMEOUTS.length }, (_, i) => scenario(i));
  const yaml = (withDeadReceiver: boolean) =>
    [
      ...simulatorCloud(simulator.url, PROJECT),
      'poll:',
      '  schedule: "* * * * * *"',
      '  retries: 0',
      'delivery:',
      '  maxAge: 1m',
      '  minDelay: 300ms',
      '  maxDelay: 300ms',
      'notifiers:',
      '  chat:',
      '    type: webhook',
      `    url: ${sink.url}`,
      // A receiver that never answers keeps the outbox busy, as in real life.
      ...(withDeadReceiver ? ['  silent:', '    type: webhook', `    url: ${silent.url}`, '    timeout: 300ms'] : []),
      'state:',
      `  path: ${statePath}`,
      'shutdown:',
      '  drainTimeout: 1s',
      'http:',
      '  port: 0',
      'watches:',
      // Answers slowly: each pass stays open well after the other watches' verdicts, before its save.
      `  - { requestId: ${slow.requestId}, serverId: ${slow.serverId}, name: slow, deadline: 3500ms, notify: [chat] }`,
      // One delivery to the silent receiver at a time: the outbox then wakes on its backoff timer alone.
      ...scenarios.map(({ expected: e }, i) =>
        [`  - requestId: ${e.requestId}`, `    serverId: ${e.serverId}`, e.extra, withDeadReceiver && i === 0 ? '    notify: [chat, silent]' : '    notify: [chat]'].filter(Boolean).join('\n'),
      ),
      '',
    ].join('\n');
  const silent = await startSilentReceiver();
  onTestFinished(() => silent.close());
  const config = join(dir, 'watch.yaml');
  await writeFile(config, yaml(true));
  simulator.addAction({ projectId: PROJECT, ...slow, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1 }], neverFinishes: true });
  simulator.injectFault({ kind: 'slow', delayMs: 300 }, { pathIncludes: slow.requestId, times: 10_000 });
  for (const s of scenarios.slice(APPEARING)) simulator.addAction(s.script);

  let killsAfterVerdict = 0;
  // Each kill leaves the last changes in the journal only: the next start must replay it (and its torn line, if any).
  let journalsLeft = 0;
  for (const [run, appearing] of scenarios.slice(0, APPEARING).entries()) {
    // Until now Nova has not known this action (404); it is there, finished, when the daemon starts.
    simulator.addAction(appearing.script);
    const { child, sawVerdict, sawDelivered } = daemon(config);
    // A verdict comes within a second or two on a quiet machine.
    if (await Promise.race([sawVerdict, sleep(WAIT_MS).then(() => false)])) {
      killsAfterVerdict++;
      // Anywhere from at once to just past the save, which waits for the slow watch's answer (300 ms); every
      // other run just after a delivery, which comes after its save: on a loaded machine, where the save
      // takes longer than that, no run would save (no journal left, no delivery owed to the silent receiver).
      if (run % 2 === 1) await Promise.race([sawDelivered, sleep(WAIT_MS)]);
      await sleep(Math.random() * 350);
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    if (existsSync(`${statePath}.journal`)) journalsLeft++;
  }

  // The last run, without the receiver that is down, until everything is settled.
  await writeFile(config, yaml(false));
  const last = daemon(config, ['--until-done']);
  const [code] = (await once(last.child, 'exit')) as [number];

  const received = sink.received.map((h) => ({ body: h.body as { outcome: string; watch: { requestId: string } }, id: h.headers['webhook-id'] }));
  const lost = scenarios.filter((s) => !received.some((r) => r.body.watch.requestId === s.expected.requestId)).length;
  const contradicting = scenarios.filter((s) => received.some((r) => r.body.watch.requestId === s.expected.requestId && r.body.outcome !== s.expected.outcome)).length;
  const idsPerWatch = scenarios.map((s) => new Set(received.filter((r) => r.body.watch.requestId === s.expected.requestId).map((r) => r.id)).size);
  const sentBeforeSaved = onDiskAtSend.filter((onDisk) => !onDisk).length;

  expect(killsAfterVerdict).toBe(APPEARING);
  // A kill before the run's first save leaves none; most land after it, fewer on a busy machine.
  expect(journalsLeft).toBeGreaterThan(0);
  expect({ lost, contradicting, sentBeforeSaved }).toEqual({ lost: 0, contradicting: 0, sentBeforeSaved: 0 });
  expect(idsPerWatch.every((n) => n === 1)).toBe(true);
  // 3: the deliveries owed to the receiver removed from the file were given up.
  expect(code).toBe(3);
});

test.concurrent('tells a finish seen in time once, with one webhook-id, when SIGKILLed while its confirming reads fail past the deadline and again as its verdict is sent', { timeout: 3 * WAIT_MS }, async ({ simulator, onTestFinished }) => {
  const dir = await mkdtemp(join(tmpdir(), 'eaw-kill-'));
  const statePath = join(dir, 'state.json');
  const ids = { serverId: crypto.randomUUID(), requestId: `req-${crypto.randomUUID()}` };
  const key = `${PROJECT}/${ids.serverId}/${ids.requestId}`;
  type Kept = { trackingSince: string; lastError: string | null; observed?: { finishSeenAt?: string | null }; verdict: { outcome: string } | null };
  const recordOnDisk = () => (stateOnDisk(statePath) as { watches: { [key: string]: Kept | undefined } }).watches[key];
  let sending: ReturnType<typeof startDaemon> | undefined;
  const onDiskAtSend: Array<string | undefined> = [];
  const sink = await startWebhookSink({
    onReceive: () => {
      onDiskAtSend.push(recordOnDisk()?.verdict?.outcome);
      // Killed with its first attempt in flight, the verdict saved.
      sending?.child.kill('SIGKILL');
    },
  });
  onTestFinished(() => sink.close());
  const config = join(dir, 'watch.yaml');
  await writeFile(config, [
    ...simulatorCloud(simulator.url, PROJECT),
    'poll:', '  schedule: "* * * * * *"', '  retries: 0',
    'delivery:', '  minDelay: 50ms', '  maxDelay: 50ms',
    'notifiers:', '  chat:', '    type: webhook', `    url: ${sink.url}`,
    'state:', `  path: ${statePath}`, 'http:', '  port: 0',
    'watches:', `  - { requestId: ${ids.requestId}, serverId: ${ids.serverId}, deadline: 2s }`, '',
  ].join('\n'));
  // Its event finishes at once; the server read that confirms it fails until after the first daemon is killed.
  simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1 }] });
  simulator.injectFault({ kind: 'unavailable' }, { route: 'server', times: 40 });

  const first = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  // Until the state holds a poll past the deadline that failed, after the one that saw the finish.
  await waitUntil(() => {
    expect(first.child.exitCode).toBeNull();
    const record = recordOnDisk();
    if (!record?.observed?.finishSeenAt) return false;
    return record.lastError !== null && Date.now() > Date.parse(record.trackingSince) + 3000;
  }, WAIT_MS);
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  expect(sink.received).toHaveLength(0);
  // The cloud answers again: the faults left are spent.
  while (simulator.pendingFaults > 0) await fetch(`${simulator.url}/v2.1/${PROJECT}/servers/${ids.serverId}`, { headers: { 'x-auth-token': TOKEN } });

  sending = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN });
  await once(sending.child, 'exit');
  expect(sink.received).toHaveLength(1);
  sending = undefined;
  const last = startDaemon(config, { ECS_AUTH_TOKEN: TOKEN }, ['--until-done']);
  expect(await last.exited).toBe(0);

  const hooks = sink.received.map((h) => ({ id: h.headers['webhook-id'], body: h.body as { outcome: string; reason: string; detectedAt: string } }));
  expect(onDiskAtSend).toEqual(['success', 'success']);
  expect(hooks.map((h) => h.body.outcome)).toEqual(['success', 'success']);
  expect(hooks[0]!.body.reason).toMatch(/^reboot: 1 event succeeded/);
  expect(new Set(hooks.map((h) => h.id)).size).toBe(1);
  expect(new Set(hooks.map((h) => h.body.detectedAt)).size).toBe(1);
});
