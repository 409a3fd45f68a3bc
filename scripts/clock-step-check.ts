// Checks what the daemon, as its own process, makes of this host's clock stepped while it runs: its wall
// clock is stepped by libfaketime (the monotonic clock and /proc/uptime go on as they are). A setting moves
// the daemon's clock alone: the simulator and the webhook receiver run in this process on the real clock,
// as a cloud would. A VM held still (paused by its hypervisor, its time put right after) moves the cloud's
// clock as much: the simulator then runs as a process of its own under the same libfaketime step. A clock
// set while the daemon is stopped: it is stopped (SIGTERM), and started again under the step; one set while
// it runs, the daemon killed (SIGKILL) once it has said so: started again, it must not move the times twice. Each
// scenario watches a reboot, steps the clock `stepS` at `atS` and says what the receiver got. The test
// suite checks the same on fake clocks (test/e2e/clock-steps.test.ts); this is the real process, its real
// clocks and a real step. Not part of npm test: it needs the faketime package (apt install faketime) and
// takes about two minutes.
//
//   node scripts/node24.mjs scripts/clock-step-check.ts
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../src/simulator/index.ts';
import { startWebhookSink } from '../src/sinks/webhookSink.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((path) => existsSync(path));
const PROJECT = '6f70656e737461636b20342065766572';

interface Scenario {
  name: string;
  /**
   * set: this host's clock alone; held: the cloud's too (the simulator's process, its reboot stuck); stopped:
   * set while the daemon is stopped; killed: set while it runs, the daemon killed (SIGKILL) as soon as it
   * has said so (the times moved and saved) and started again at once.
   */
  kind: 'set' | 'held' | 'stopped' | 'killed';
  /** The reboot's one event (a set only: the held one never ends). */
  durationS?: number;
  deadlineS: number;
  atS: number;
  stepS: number;
  expect: 'success' | 'timeout';
  /** The daemon's warnings about the step. */
  said: RegExp;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'set forward 2 min at 8 s: a reboot of 25 s within its 1 min deadline is a success',
    kind: 'set', durationS: 25, deadlineS: 60, atS: 8, stepS: 120, expect: 'success',
    said: /^this host's clock was set forward 2 min: the times the state keeps moved with it/,
  },
  {
    name: 'set back 10 min at 8 s: a reboot of 5 min ends as a timeout at its 30 s deadline, not 10 min later',
    kind: 'set', durationS: 300, deadlineS: 30, atS: 8, stepS: -600, expect: 'timeout',
    said: /^this host's clock was set back 10 min: the times the state keeps moved with it/,
  },
  {
    name: 'set forward 2 min while stopped at 8 s: a reboot of 25 s within its 1 min deadline is a success',
    kind: 'stopped', durationS: 25, deadlineS: 60, atS: 8, stepS: 120, expect: 'success',
    said: /^while the daemon was stopped, this host's clock was set forward 2 min \(its boot clock says so\)/,
  },
  {
    // Moved twice, the times would be 10 min before the reboot began: a timeout at once.
    name: 'set back 10 min at 8 s, killed once it has said so and started again: the times move once, a reboot of 25 s within its 1 min deadline is a success',
    kind: 'killed', durationS: 25, deadlineS: 60, atS: 8, stepS: -600, expect: 'success',
    // The start says it again only if the kill came before the moved times were saved: they moved once either way.
    said: /^this host's clock was set back 10 min: the times the state keeps moved with it[^\n]*(\nwhile the daemon was stopped, this host's clock was set back 10 min [^\n]*)?$/,
  },
  {
    name: 'held still 2 min at 8 s, the cloud going on: a reboot still running is a timeout at once, its 1 min deadline past',
    kind: 'held', deadlineS: 60, atS: 8, stepS: 120, expect: 'timeout',
    // The boot clock stopped too, so it says a setting; the cloud's first answer says otherwise.
    said: /^this host's clock was set forward 2 min: .*\nthe cloud's clock, by the Date of its first answer since this host's clock stepped, says the time was passing/s,
  },
];

const faked = (offsetFile: string) => ({ LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' });

/** The cloud: in this process on the real clock, or (held) the simulator command under the daemon's step. */
async function cloud(scenario: Scenario, offsetFile: string): Promise<{ url: string; projectId: string; serverId: string; requestId: string; close: () => Promise<void> }> {
  if (scenario.kind !== 'held') {
    const simulator = await startSimulator({ port: 0 });
    const requestId = `req-${randomUUID()}`;
    const serverId = randomUUID();
    simulator.addAction({ projectId: PROJECT, serverId, requestId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: scenario.durationS! * 1000 }] });
    return { url: simulator.url, projectId: PROJECT, serverId, requestId, close: () => simulator.close() };
  }
  const child = spawn(process.execPath, [join(ROOT, 'src', 'cli', 'main.ts'), 'simulator', '--port', '0'], { env: { ...process.env, ...faked(offsetFile) }, stdio: ['ignore', 'pipe', 'ignore'] });
  let printed = '';
  child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const stuck = /endpoint: (\S+)\n\s+projectId: (\S+)[^]*?- requestId: (\S+)\n\s+serverId: (\S+)\n\s+name: reboot cache-01/;
  const until = performance.now() + 10_000;
  while (!stuck.test(printed) && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
  const [, url, projectId, requestId, serverId] = stuck.exec(printed) ?? [];
  if (!serverId) throw new Error(`the simulator printed no watch file with its stuck reboot:\n${printed}`);
  return {
    url: url!, projectId: projectId!, serverId, requestId: requestId!,
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function run(scenario: Scenario): Promise<{ ok: boolean; got: string; said: string | undefined; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'eaw-clock-step-'));
  const offset = join(dir, 'faketime');
  writeFileSync(offset, '+0\n');
  const { url, projectId, serverId, requestId, close } = await cloud(scenario, offset);
  const hooks = await startWebhookSink();
  const config = join(dir, 'watch.yaml');
  writeFileSync(
    config,
    [
      'cloud:',
      `  endpoint: ${url}`,
      `  projectId: ${projectId}`,
      'poll:',
      '  schedule: "* * * * * *"',
      'notifiers:',
      '  chat:',
      '    type: webhook',
      `    url: ${hooks.url}`,
      'state:',
      `  path: ${join(dir, 'state.json')}`,
      'http:',
      '  port: 0',
      'watches:',
      `  - requestId: ${requestId}`,
      `    serverId: ${serverId}`,
      `    deadline: ${scenario.deadlineS}s`,
      '',
    ].join('\n'),
  );
  const started = performance.now();
  let log = '';
  const start = () => {
    const child = spawn(process.execPath, [join(ROOT, 'src', 'cli', 'main.ts'), 'run', '--config', config], {
      env: { ...process.env, ...faked(offset) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    return child;
  };
  const stop = async (child: ReturnType<typeof start>, signal: NodeJS.Signals = 'SIGTERM') => {
    child.kill(signal);
    await new Promise((r) => child.once('exit', r));
  };
  let daemon = start();
  const setClock = () => writeFileSync(offset, `${scenario.stepS > 0 ? '+' : ''}${scenario.stepS}\n`);
  const step = setTimeout(async () => {
    if (scenario.kind === 'killed') {
      setClock();
      const until = performance.now() + 10_000;
      while (!log.includes("this host's clock was set") && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      await stop(daemon, 'SIGKILL');
    } else if (scenario.kind === 'stopped') {
      await stop(daemon);
      setClock();
    } else {
      return setClock();
    }
    daemon = start();
  }, scenario.atS * 1000);
  const limit = performance.now() + (Math.min(scenario.durationS ?? Infinity, scenario.deadlineS) + 30) * 1000;
  while (hooks.received.length === 0 && performance.now() < limit) await new Promise((r) => setTimeout(r, 200));
  clearTimeout(step);
  await stop(daemon);
  await Promise.all([close(), hooks.close()]);
  const body = hooks.received[0]?.body as { outcome?: string; reason?: string } | undefined;
  const lines = log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string });
  const said = lines.filter((l) => /^(this host's clock|the cloud's clock, by the Date|while the daemon was stopped)/.test(l.msg)).map((l) => l.msg).join('\n') || undefined;
  const got = body ? `${body.outcome}: ${body.reason}` : 'nothing received';
  return { ok: body?.outcome === scenario.expect && said !== undefined && scenario.said.test(said), got, said, seconds: Math.round((performance.now() - started) / 1000) };
}

if (!LIBFAKETIME) {
  process.stderr.write('libfaketime not found: apt install faketime\n');
  process.exit(2);
}
let failed = 0;
for (const scenario of SCENARIOS) {
  const result = await run(scenario);
  if (!result.ok) failed++;
  const logged = (result.said ?? 'nothing of the clock').replaceAll('\n', '\n  logged ');
  process.stdout.write(`${result.ok ? 'as expected' : 'NOT AS EXPECTED'} (${result.seconds} s): ${scenario.name}\n  received ${result.got}\n  logged ${logged}\n`);
}
process.exit(failed === 0 ? 0 : 1);
