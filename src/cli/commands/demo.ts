import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { App } from '../../app.ts';
import { parseConfig } from '../../config/load.ts';
import { silentLogger } from '../../observability/logger.ts';
import { PROXY_VARIABLES } from '../../net/proxy.ts';
import type { CloudConfig } from '../../config/schema.ts';
import type { Sandbox } from '../sandbox.ts';
import { watchKey } from '../../state/store.ts';
import { kindOf } from '../../watch/kinds/index.ts';
import type { WatchStatus } from '../../watch/engine.ts';
import type { CommandContext } from '../context.ts';
import { signalExitStatus } from '../signals.ts';
import { renderTable } from '../table.ts';

/** The demo gives up rather than hang: the contract promises it ends within 30 s. */
const DEMO_LIMIT_MS = 25_000;
/** Short-lived Keystone tokens, so that renewals happen while the demo runs. */
const TOKEN_LIFETIME_MS = 4000;
const ACCESS_KEY = 'DEMOACCESSKEY0000001';

export async function run(ctx: CommandContext): Promise<number> {
  const started = Date.now();
  const say = (line: string) => ctx.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(4)} s] ${line}\n`);
  const secret = () => randomBytes(18).toString('base64url');
  const password = secret();
  const keys = { accessKey: ACCESS_KEY, secretKey: secret() };
  const fixedToken = secret();
  // The simulator, receivers and daemon are loaded for this command only, not for every start.
  const [{ createApp }, { describeWebhook, SANDBOX_PROJECT, sandboxExpectations, sandboxWatchFile, startSandbox }] = await Promise.all([import('../../app.ts'), import('../sandbox.ts')]);
  // Every auth mode at once: a Keystone token service, an AK/SK gateway and a token from elsewhere.
  const sandbox = await startSandbox({
    port: 0,
    role: 'admin',
    token: fixedToken,
    aksk: keys,
    identity: { user: { name: 'demo', password }, project: { id: SANDBOX_PROJECT, name: 'demo' }, tokenLifetimeMs: TOKEN_LIFETIME_MS },
    onWebhook: (h) => say(`webhook ← ${describeWebhook(h)}`),
    onMail: (m) => say(`mail    ← "${m.subject}" to ${m.to.join(', ')}`),
  });
  // LOG_LEVEL set by the user shows the daemon's logs too; by default the narrative stays readable.
  const logger = ctx.env['LOG_LEVEL'] ? await ctx.logger() : silentLogger();
  let app: App | null = null;
  // Made once the sandbox runs: one that cannot start (a production install, without its mail sink) left it behind.
  const dir = await mkdtemp(join(tmpdir(), 'ecs-action-watch-demo-'));
  // Also as the process exits: a second Ctrl-C, or a stop that takes over a second, ends it at once
  // (main.ts, cli.ts), without the finally below.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const restoreProxies = withoutProxies();
  try {
    const { simulator, hooks, mail, scenarios, jobs } = sandbox;
    const yaml = sandboxWatchFile(sandbox, {
      webhookSecret: '${DEMO_WEBHOOK_SECRET}',
      statePath: join(dir, 'state.json'),
      schedule: '* * * * * *',
      stuckDeadline: '8s',
      httpPort: 0,
      password: '${DEMO_PASSWORD}',
    });
    const env = { DEMO_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`, DEMO_PASSWORD: password };
    const config = parseConfig(yaml, { env, source: 'demo.yaml' });
    say(`ECS simulator on ${simulator.url}; webhook sink on ${hooks.url}; mail sink on 127.0.0.1:${mail.port}`);
    say(`auth: password at ${simulator.identityUrl} (tokens live ${TOKEN_LIFETIME_MS / 1000} s), compute endpoint from the token's catalog`);
    say(`watching ${scenarios.length} actions, polling every second: ${scenarios.map((s) => `${s.name} (expect ${s.expected})`).join(', ')}`);
    say(`and ${jobs.length} jobs of the native ECS API (kind: ecs-job): ${jobs.map((j) => `${j.name} (expect ${j.expected})`).join(', ')}`);

    app = await createApp(config, { logger });
    app.outbox.start();
    const last = new Map<string, string>();
    while (Date.now() - started < DEMO_LIMIT_MS) {
      const statuses = await app.engine.pollOnce();
      for (const s of statuses) {
        const line = `${s.target.name}: ${s.state === 'pending' ? s.detail : `${s.state.toUpperCase()} — ${s.detail}`}`;
        const key = watchKey(s.target);
        if (last.get(key) !== line) say(`poll    ${line}`);
        last.set(key, line);
      }
      if (app.engine.allSettled()) break;
      await sleep(1000, undefined, { signal: ctx.signal }).catch(() => undefined);
      if (ctx.signal.aborted) return signalExitStatus(ctx.signal);
    }
    const finalApp = app;
    ctx.stdout.write(`\n${summary(finalApp.engine.watches().map((t) => finalApp.store.get(watchKey(t))).filter((r) => r !== undefined), sandboxExpectations(sandbox))}\n`);
    const logins = simulator.requests.filter((r) => r.route === 'identity').length;
    const otherModes = await readWithOtherModes({ ...config.cloud, endpoint: simulator.url }, sandbox, { aksk: keys, token: fixedToken });
    ctx.stdout.write(`\n${hooks.received.length} webhooks and ${mail.received.length} mails delivered; ${simulator.requests.length} API requests answered.\n`);
    ctx.stdout.write(`auth: ${logins} Keystone tokens fetched (one at a time, renewed before expiry); ${otherModes}.\n`);
    ctx.stdout.write('Next: `npx --no-install ecs-action-watch simulator` serves this cloud for a watcher you run yourself; for your own cloud, copy watch.example.yaml to watch.yaml and run `npx --no-install ecs-action-watch validate`.\n');
    return 0;
  } finally {
    await app?.close();
    restoreProxies();
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
    process.off('exit', removeDir);
  }
}

/**
 * Takes the proxy variables out of the environment until the returned function puts them back. The demo's
 * cloud and receivers are on this host's 127.0.0.1, which a proxy elsewhere (a company's HTTP_PROXY) cannot
 * reach: through it, each of the demo's polls and webhooks failed. The HTTP clients read the variables from
 * process.env as their first request goes out.
 */
function withoutProxies(): () => void {
  const saved = Object.values(PROXY_VARIABLES).flat().map((name) => [name, process.env[name]] as const);
  for (const [name] of saved) delete process.env[name];
  return () => {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  };
}

/** Reads every demo action and job once with AK/SK signing and once with a fixed token: the other auth modes. */
async function readWithOtherModes(
  cloud: CloudConfig,
  { scenarios, jobs }: Sandbox,
  credentials: { aksk: { accessKey: string; secretKey: string }; token: string },
): Promise<string> {
  const modes = { aksk: { type: 'aksk' as const, ...credentials.aksk }, token: { type: 'token' as const, token: credentials.token } };
  const counts: string[] = [];
  const { createEcsClient } = await import('../../cloud/client.ts');
  for (const [name, auth] of Object.entries(modes)) {
    const client = createEcsClient({ ...cloud, auth }, { logger: silentLogger() });
    try {
      const reads = await Promise.allSettled([...scenarios.map((s) => client.getInstanceAction(s.script)), ...jobs.map((j) => client.getJob(j.script))]);
      counts.push(`${name}: ${reads.filter((r) => r.status === 'fulfilled').length} of ${reads.length} reads accepted`);
    } finally {
      await client.close();
    }
  }
  return counts.join(', ');
}

function summary(records: Array<NonNullable<WatchStatus['record']>>, expectations: Map<string, { expected: string }>): string {
  const rows = records.map((r) => {
    const expected = expectations.get(watchKey(r))?.expected ?? '?';
    const deliveries = Object.entries(r.deliveries).map(([name, d]) => `${name}:${d.status}`).join(' ') || '-';
    return [r.name ?? kindOf(r).label(r).id, expected, r.verdict?.outcome ?? 'pending', deliveries];
  });
  return renderTable(['WATCH', 'EXPECTED', 'OUTCOME', 'DELIVERIES'], rows);
}
