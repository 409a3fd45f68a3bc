import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from '../../app.ts';
import { parseConfig } from '../../config/load.ts';
import { silentLogger } from '../../observability/logger.ts';
import { startSimulator, demoScenarios } from '../../simulator/index.ts';
import { startWebhookSink } from '../../sinks/webhookSink.ts';
import { startMailSink } from '../../sinks/mailSink.ts';
import { watchKey } from '../../state/store.ts';
import type { WatchStatus } from '../../watch/engine.ts';
import type { Command } from '../context.ts';
import { renderTable } from '../table.ts';

const PROJECT = '89655fe61c4c4a08b9f3e7f9095441b8';
/** The demo gives up rather than hang: the contract promises it ends within 30 s. */
const DEMO_LIMIT_MS = 25_000;

export const demo: Command = {
  summary: 'run the built-in ECS simulator, local webhook and mail sinks and the watcher; show the flow',
  usage: 'demo',
  options: {},
  async run(ctx) {
    const started = Date.now();
    const say = (line: string) => ctx.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(4)} s] ${line}\n`);
    const dir = await mkdtemp(join(tmpdir(), 'ecs-action-watch-demo-'));
    const simulator = await startSimulator({ role: 'admin' });
    const hooks = await startWebhookSink({
      onReceive: (h) => {
        const body = h.body as { type?: string; watch?: { name?: string }; reason?: string } | null;
        say(`webhook ← ${body?.type} "${body?.watch?.name}" (webhook-id ${h.headers['webhook-id']}, signed: ${h.headers['webhook-signature'] ? 'yes' : 'no'})`);
      },
    });
    const mail = await startMailSink({ onReceive: (m) => say(`mail    ← "${m.subject}" to ${m.to.join(', ')}`) });
    // LOG_LEVEL set by the user shows the daemon's JSON logs too; by default the narrative stays readable.
    const logger = ctx.env['LOG_LEVEL'] ? ctx.logger : silentLogger();
    let app: Awaited<ReturnType<typeof createApp>> | null = null;
    try {
      const scenarios = demoScenarios(PROJECT);
      const watches = scenarios.map((s) => {
        const deadline = s.expected === 'timeout' ? '\n    deadline: 8s' : '';
        return `  - requestId: ${s.script.requestId}\n    serverId: ${s.script.serverId}\n    name: ${s.name}${deadline}`;
      });
      const yaml = [
        'cloud:',
        `  endpoint: ${simulator.url}`,
        `  projectId: ${PROJECT}`,
        'poll:',
        '  schedule: "* * * * * *"',
        '  retries: 2',
        'delivery:',
        '  minDelay: 200ms',
        'notifiers:',
        '  chat:',
        '    type: webhook',
        `    url: ${hooks.url}`,
        '    secret: ${DEMO_WEBHOOK_SECRET}',
        '  ops-mail:',
        '    type: email',
        `    smtp: { host: 127.0.0.1, port: ${mail.port} }`,
        '    from: ecs-watch@example.com',
        '    to: [ops@example.com]',
        '    on: [failure, timeout, not_found]',
        'state:',
        `  path: ${join(dir, 'state.json')}`,
        'http:',
        '  port: 0',
        'watches:',
        ...watches,
        '',
      ].join('\n');
      const config = parseConfig(yaml, { env: { DEMO_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}` }, source: 'demo.yaml' });
      for (const s of scenarios) simulator.addAction(s.script);
      say(`ECS simulator on ${simulator.url}; webhook sink on ${hooks.url}; mail sink on 127.0.0.1:${mail.port}`);
      say(`watching ${scenarios.length} actions, polling every second: ${scenarios.map((s) => `${s.name} (expect ${s.expected})`).join(', ')}`);

      app = await createApp(config, { logger });
      app.outbox.start();
      const last = new Map<string, string>();
      while (Date.now() - started < DEMO_LIMIT_MS) {
        const statuses = await app.engine.pollOnce();
        for (const s of statuses) {
          const line = `${s.target.name}: ${s.state === 'pending' ? s.detail : `${s.state.toUpperCase()} — ${s.detail}`}`;
          if (last.get(s.target.requestId) !== line) say(`poll    ${line}`);
          last.set(s.target.requestId, line);
        }
        if (app.engine.allSettled()) break;
        await sleep(1000, undefined, { signal: ctx.signal }).catch(() => undefined);
        if (ctx.signal.aborted) return 130;
      }
      const finalApp = app;
      ctx.stdout.write(`\n${summary(finalApp.engine.watches().map((t) => finalApp.store.get(watchKey(t))).filter((r) => r !== undefined), scenarios)}\n`);
      ctx.stdout.write(`\n${hooks.received.length} webhooks and ${mail.received.length} mails delivered; ${simulator.requests.length} API requests answered.\n`);
      ctx.stdout.write('Next: copy watch.example.yaml to watch.yaml, point cloud.endpoint at your cloud, and run `ecs-action-watch run`.\n');
      return 0;
    } finally {
      await app?.close();
      await Promise.all([simulator.close(), hooks.close(), mail.close()]);
      await rm(dir, { recursive: true, force: true });
    }
  },
};

function summary(records: Array<NonNullable<WatchStatus['record']>>, scenarios: ReturnType<typeof demoScenarios>): string {
  const rows = records.map((r) => {
    const expected = scenarios.find((s) => s.script.requestId === r.requestId)?.expected ?? '?';
    const deliveries = Object.entries(r.deliveries).map(([name, d]) => `${name}:${d.status}`).join(' ') || '-';
    return [r.name ?? r.requestId, expected, r.verdict?.outcome ?? 'pending', deliveries];
  });
  return renderTable(['WATCH', 'EXPECTED', 'OUTCOME', 'DELIVERIES'], rows);
}
