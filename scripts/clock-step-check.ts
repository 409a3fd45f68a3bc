// Checks what the daemon, as its own process, makes of this host's clock set while it runs: its clock is
// stepped by libfaketime (the wall clock only; the monotonic clock and /proc/uptime go on as they are), the
// simulator and the webhook receiver run in this process on the real clock, as a cloud would. Each
// scenario watches a reboot whose one event lasts `durationS`, with a deadline of `deadlineS`, sets the
// daemon's clock by `setS` at `atS` and says what the receiver got. The test suite checks the same on fake
// clocks (test/e2e/clock-steps.test.ts); this is the real process, its real clocks and a real step. Not part
// of npm test: it needs the faketime package (apt install faketime) and takes about a minute.
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
  durationS: number;
  deadlineS: number;
  atS: number;
  setS: number;
  expect: 'success' | 'timeout';
  /** The daemon's warning about the step. */
  said: RegExp;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'set forward 2 min at 8 s: a reboot of 25 s within its 1 min deadline is a success',
    durationS: 25, deadlineS: 60, atS: 8, setS: 120, expect: 'success',
    said: /^this host's clock was set forward 2 min: the times the state keeps moved with it/,
  },
  {
    name: 'set back 10 min at 8 s: a reboot of 5 min ends as a timeout at its 30 s deadline, not 10 min later',
    durationS: 300, deadlineS: 30, atS: 8, setS: -600, expect: 'timeout',
    said: /^this host's clock was set back 10 min: the times the state keeps moved with it/,
  },
];

async function run(scenario: Scenario): Promise<{ ok: boolean; got: string; said: string | undefined; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'eaw-clock-step-'));
  const simulator = await startSimulator({ port: 0 });
  const hooks = await startWebhookSink();
  const requestId = `req-${randomUUID()}`;
  const serverId = randomUUID();
  simulator.addAction({ projectId: PROJECT, serverId, requestId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: scenario.durationS * 1000 }] });
  const config = join(dir, 'watch.yaml');
  writeFileSync(
    config,
    [
      'cloud:',
      `  endpoint: ${simulator.url}`,
      `  projectId: ${PROJECT}`,
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
  const offset = join(dir, 'faketime');
  writeFileSync(offset, '+0\n');
  const started = performance.now();
  const daemon = spawn(process.execPath, [join(ROOT, 'src', 'cli', 'main.ts'), 'run', '--config', config], {
    env: { ...process.env, LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let log = '';
  daemon.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const step = setTimeout(() => writeFileSync(offset, `${scenario.setS > 0 ? '+' : ''}${scenario.setS}\n`), scenario.atS * 1000);
  const limit = performance.now() + (Math.min(scenario.durationS, scenario.deadlineS) + 30) * 1000;
  while (hooks.received.length === 0 && performance.now() < limit) await new Promise((r) => setTimeout(r, 200));
  clearTimeout(step);
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  await Promise.all([simulator.close(), hooks.close()]);
  const body = hooks.received[0]?.body as { outcome?: string; reason?: string } | undefined;
  const said = log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string }).find((l) => l.msg.startsWith("this host's clock"))?.msg;
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
  process.stdout.write(`${result.ok ? 'as expected' : 'NOT AS EXPECTED'} (${result.seconds} s): ${scenario.name}\n  received ${result.got}\n  logged ${result.said ?? 'nothing of the clock'}\n`);
}
process.exit(failed === 0 ? 0 : 1);
