import { randomBytes } from 'node:crypto';
import { errorCode } from '../../net/failure.ts';
import { UsageError, type CommandContext } from '../context.ts';
import { DEFAULT_SIMULATOR_PORT } from './index.ts';

export async function run(ctx: CommandContext): Promise<number> {
  const given = ctx.options['port'] ?? String(DEFAULT_SIMULATOR_PORT);
  // Digits only: Number() reads an empty `--port=` as 0, which would take any free ports unasked.
  const port = typeof given === 'string' && /^\d+$/.test(given) ? Number(given) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65533) throw new UsageError(`--port must be a port number from 1 to 65533 (0: any free ports), got ${String(ctx.options['port'])}`);
  const role = ctx.options['role'] ?? 'member';
  if (role !== 'admin' && role !== 'member') throw new UsageError(`--role must be admin or member, got ${String(role)}`);
  const token = typeof ctx.options['token'] === 'string' ? ctx.options['token'] : undefined;
  // Given empty (`--token "$UNSET"`), it would be required and yet not said to be, and the watch file's
  // ${ECS_AUTH_TOKEN} could not be set to it: no watcher could use that simulator.
  if (token === '') throw new UsageError('--token is empty: give the token to require, or leave --token out');
  const say = (line: string) => ctx.stderr.write(`${line}\n`);
  const { describeWebhook, SANDBOX_PROJECT, sandboxWatchFile, startSandbox } = await import('../sandbox.ts');
  const sandbox = await startSandbox({
    port,
    role,
    token,
    onWebhook: (h) => say(`webhook ← ${describeWebhook(h)}`),
    onMail: (m) => say(`mail    ← "${m.subject}" to ${m.to.join(', ')}`),
  }).catch((err: unknown) => {
    // The receivers' errors say which of them could not listen, the system's code in their cause.
    if ((errorCode(err) ?? errorCode(err instanceof Error ? err.cause : undefined)) !== 'EADDRINUSE') throw err;
    // Another simulator still running is the usual cause; the three ports are one after the other.
    throw new Error(`${(err as Error).message}: the simulator listens on --port and the two ports after it (${port}-${port + 2}); stop what holds it, or pass --port with another, or --port 0 for any free ports`, { cause: err });
  });
  try {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    ctx.stdout.write(
      sandboxWatchFile(sandbox, {
        header: [
          `# A watch file for the ECS simulator on ${sandbox.simulator.url} (project ${SANDBOX_PROJECT}),`,
          '# printed by `ecs-action-watch simulator`. Run the watcher on it in another terminal:',
          '#   npx --no-install ecs-action-watch run --config simulator.yaml',
        ],
        // The simulator made this key up; it is of no use anywhere else.
        webhookSecret: secret,
        // Named after its port: the watchers of several simulators (--port 0) run from one folder side by side,
        // and a second daemon on one state file stops at its start.
        statePath: `./ecs-action-watch-simulator-${new URL(sandbox.simulator.url).port}.state.json`,
        schedule: '*/2 * * * * *',
        stuckDeadline: '1m',
        // Any free ports (--port 0) are for running several pairs side by side: a fixed metrics port would clash; off.
        httpPort: port === 0 ? 0 : 9464,
        token: token === undefined ? undefined : '${ECS_AUTH_TOKEN}',
      }),
    );
    say(`ECS simulator: ${sandbox.simulator.url}/v2.1 (project ${SANDBOX_PROJECT}, role ${role}${token ? ', X-Auth-Token required' : ''})`);
    say(`webhook receiver: ${sandbox.hooks.url}; SMTP server: 127.0.0.1:${sandbox.mail.port}`);
    say('scripted actions, running from now on:');
    for (const s of sandbox.scenarios) say(`  ${s.key.padEnd(26)} expect ${s.expected.padEnd(9)} server ${s.script.serverId} request ${s.script.requestId}`);
    say(`scripted jobs of the native ECS API (${sandbox.simulator.url}/v1/${SANDBOX_PROJECT}/jobs/{job_id}):`);
    for (const j of sandbox.jobs) say(`  ${j.key.padEnd(26)} expect ${j.expected.padEnd(9)} job ${j.script.jobId}`);
    say('The watch file for them is on stdout (`ecs-action-watch simulator > simulator.yaml`). Notifications show up here. Ctrl-C stops.');
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return 0;
  } finally {
    await sandbox.close();
  }
}
