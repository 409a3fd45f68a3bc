// Benchmarks: `npm run bench`. Prints numbers; asserts nothing. Everything runs on loopback.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from '../src/app.ts';
import { parseConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { startWebhookSink } from '../src/sinks/webhookSink.ts';
import { memoryOf } from '../src/watch/memory.ts';
import { decide } from '../src/watch/verdict.ts';

const PROJECT = 'bench-project';
const sizes = (process.env['BENCH_WATCHES'] ?? '1000,10000').split(',').map(Number);

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function engineBench(n: number): Promise<void> {
  const simulator = await startSimulator();
  const hooks = await startWebhookSink();
  const dir = await mkdtemp(join(tmpdir(), 'eaw-bench-'));
  try {
    const watches: string[] = [];
    for (let i = 0; i < n; i++) {
      const serverId = `srv-${i}`;
      const requestId = simulator.addAction({ projectId: PROJECT, serverId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1 }], taskStateClearsAfterMs: 0 });
      watches.push(`  - { requestId: ${requestId}, serverId: ${serverId} }`);
    }
    await sleep(50);
    const yaml = [
      'cloud:', `  endpoint: ${simulator.url}`, `  projectId: ${PROJECT}`, '  microversion: "2.60"',
      'poll:', '  concurrency: 64',
      'notifiers:', '  chat:', '    type: webhook', `    url: ${hooks.url}`,
      'state:', `  path: ${join(dir, 'state.json')}`,
      'watches:', ...watches, '',
    ].join('\n');
    let t = performance.now();
    const config = parseConfig(yaml, { env: {} });
    const parseMs = performance.now() - t;
    const app = await createApp(config, { logger: silentLogger() });
    try {
      const rssBefore = process.memoryUsage().rss;
      t = performance.now();
      const statuses = await app.engine.pollOnce();
      const passMs = performance.now() - t;
      const finished = statuses.filter((s) => s.state === 'success').length;
      app.store.touch();
      t = performance.now();
      await app.store.save();
      const saveMs = performance.now() - t;
      t = performance.now();
      await app.outbox.flush();
      const deliverMs = performance.now() - t;
      const size = (await stat(join(dir, 'state.json'))).size;
      const requests = simulator.requests.length;
      console.log(`${n} watches (concurrency 64, loopback simulator):`);
      console.log(`  parse + validate the watch file  ${parseMs.toFixed(0)} ms`);
      console.log(`  one poll pass                    ${passMs.toFixed(0)} ms, ${requests} API requests, ${(requests / (passMs / 1000)).toFixed(0)} requests/s, ${finished} verdicts`);
      console.log(`  state save                       ${saveMs.toFixed(0)} ms, file ${mb(size)}`);
      console.log(`  deliveries (webhook)             ${deliverMs.toFixed(0)} ms for ${hooks.received.length} webhooks, ${(hooks.received.length / (deliverMs / 1000)).toFixed(0)}/s`);
      console.log(`  resident memory                  ${mb(process.memoryUsage().rss)} (${mb(process.memoryUsage().rss - rssBefore)} more during the pass)`);
    } finally {
      await app.close();
    }
  } finally {
    await Promise.all([simulator.close(), hooks.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

function verdictBench(): void {
  const events = Array.from({ length: 3 }, (_, i) => ({ event: `step${i}`, start_time: '2026-11-26T10:00:00.000000', finish_time: '2026-11-26T10:00:05.000000', result: 'Success', traceback: null }));
  const input = {
    now: Date.now(), trackingSince: Date.now() - 1000, deadlineMs: 3_600_000,
    memory: memoryOf({ everFound: true }),
    lastAction: null,
    action: { kind: 'found' as const, action: { action: 'resize', request_id: 'req-1', message: null, start_time: '2026-11-26T10:00:00.000000', events } },
    server: { kind: 'found' as const, server: { info: { status: 'VERIFY_RESIZE', taskState: null, fault: null }, hostId: null, projectId: null } },
    actionAfterServer: true,
    actions: { kind: 'not_read' as const },
    migrations: { kind: 'read' as const, migrations: [] },
  };
  const n = 200_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) decide(input);
  const ms = performance.now() - t;
  console.log(`verdict (pure): ${(n / (ms / 1000) / 1000).toFixed(0)}k decisions/s`);
}

verdictBench();
for (const n of sizes) await engineBench(n);
