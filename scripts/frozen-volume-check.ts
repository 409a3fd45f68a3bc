// Checks what the daemon, as its own process, does when its state volume hangs: the state folder is an
// ext4 file system of its own (a loop device), frozen with fsfreeze, which holds every write in the kernel
// with no error and no timeout, as a hung NFS mount does. Two reboots are watched: the first ends before
// the freeze and is notified; the second ends while the volume is frozen, so the save that holds its verdict
// hangs, and with it the pass. What must follow: nothing about the second is sent while it is unsaved,
// /healthz answers 503 (stuck) about 10 minutes after the last poll ended and the metric poll_loop_stuck
// is 1; the volume thawed, the second's webhook comes once, /healthz answers 200 again, and a SIGTERM
// stops the daemon with status 0.
// The test suite checks the same on a named pipe and a fake clock (test/e2e/stuck.test.ts); this is the real
// process, a real hung volume and the real 10 minutes. Not part of npm test: it needs root (mount, fsfreeze)
// and takes about 11 minutes.
//
//   sudo node scripts/node24.mjs scripts/frozen-volume-check.ts
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startSimulator } from '../src/simulator/index.ts';
import { startWebhookSink } from '../src/sinks/webhookSink.ts';
import { closedPort } from './closedPort.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROJECT = '6f70656e737461636b20342065766572';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (since: number) => Math.round((performance.now() - since) / 1000);

if (process.getuid?.() !== 0) {
  process.stderr.write('needs root: it mounts a file system and freezes it (sudo node scripts/node24.mjs scripts/frozen-volume-check.ts)\n');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'eaw-frozen-'));
const volume = join(dir, 'volume');
const image = join(dir, 'volume.img');
mkdirSync(volume);
writeFileSync(image, '');
truncateSync(image, 64 * 1024 * 1024);
execFileSync('mkfs.ext4', ['-q', '-F', image]);
execFileSync('mount', ['-o', 'loop', image, volume]);
let frozen = false;
const thaw = () => {
  if (frozen) execFileSync('fsfreeze', ['-u', volume]);
  frozen = false;
};

const simulator = await startSimulator({ port: 0 });
const hooks = await startWebhookSink();
const started = performance.now();
const reboot = (durationMs: number) => {
  const serverId = crypto.randomUUID();
  const requestId = simulator.addAction({ projectId: PROJECT, serverId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs }] });
  return { serverId, requestId };
};
const early = reboot(2_000);
const late = reboot(25_000);
const port = await closedPort();
const config = join(dir, 'watch.yaml');
writeFileSync(
  config,
  [
    'cloud:',
    `  endpoint: ${simulator.url}`,
    `  projectId: ${PROJECT}`,
    '  timeout: 2s',
    'poll:',
    '  schedule: "*/2 * * * * *"',
    'notifiers:',
    '  chat:',
    '    type: webhook',
    `    url: ${hooks.url}`,
    'state:',
    `  path: ${join(volume, 'state', 'state.json')}`,
    'http:',
    `  port: ${port}`,
    '  host: 127.0.0.1',
    'watches:',
    ...[early, late].flatMap((w, i) => [`  - requestId: ${w.requestId}`, `    serverId: ${w.serverId}`, `    name: reboot ${i === 0 ? 'early' : 'late'}`]),
    '',
  ].join('\n'),
);

let log = '';
const daemon = spawn(process.execPath, [join(ROOT, 'bin', 'ecs-action-watch.mjs'), 'run', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
daemon.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
const exited = new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
const health = async () => {
  const res = await request(`http://127.0.0.1:${port}/healthz`);
  return { status: res.statusCode, text: (await res.body.text()).trim() };
};
const results: Array<{ ok: boolean; what: string }> = [];
const expect = (ok: boolean, what: string) => results.push({ ok, what });

try {
  while (hooks.received.length < 1 && seconds(started) < 30) await sleep(200);
  expect(hooks.received.length === 1, `the early reboot notified before the freeze (${seconds(started)} s)`);
  execFileSync('fsfreeze', ['-f', volume]);
  frozen = true;
  const frozenAt = performance.now();
  process.stdout.write(`volume frozen at ${seconds(started)} s; /healthz every 5 s for up to 13 min\n`);
  let stuck: { status: number; text: string } | undefined;
  let sentWhileFrozen = 0;
  while (seconds(frozenAt) < 13 * 60) {
    const answer = await health();
    sentWhileFrozen = Math.max(sentWhileFrozen, hooks.received.length - 1);
    if (answer.status !== 200) {
      stuck = answer;
      break;
    }
    await sleep(5000);
  }
  const stuckAfter = seconds(frozenAt);
  const gauge = /^ecs_action_watch_poll_loop_stuck (\d)$/m.exec(await (await request(`http://127.0.0.1:${port}/metrics`)).body.text())?.[1];
  expect(sentWhileFrozen === 0, `nothing sent about the late reboot while its verdict could not be saved (${sentWhileFrozen} sent)`);
  expect(stuck?.status === 503 && stuck.text.startsWith('stuck: a poll pass has run for '), `/healthz 503 ${stuckAfter} s after the freeze: ${stuck?.text ?? 'never'}`);
  expect(log.includes('"msg":"the poll loop is stuck: '), 'the log said the poll loop is stuck, at error');
  expect(gauge === '1', `the metric ecs_action_watch_poll_loop_stuck said ${gauge ?? 'nothing'}`);

  thaw();
  const thawedAt = performance.now();
  let healthy = false;
  while (!(healthy && hooks.received.length >= 2) && seconds(thawedAt) < 60) {
    healthy = (await health()).status === 200;
    await sleep(500);
  }
  expect(healthy, `/healthz 200 again after the thaw (${seconds(thawedAt)} s)`);
  expect(log.includes('"msg":"the poll loop moves again: /healthz answers 200"'), 'the log said the poll loop moves again');
  await sleep(3000);
  const outcomes = hooks.received.map((hook) => `${(hook.body as { watch: { name: string } }).watch.name}: ${(hook.body as { outcome: string }).outcome}`);
  expect(outcomes.length === 2 && outcomes.includes('reboot early: success') && outcomes.includes('reboot late: success'), `each reboot notified once: ${outcomes.join(', ')}`);
  daemon.kill('SIGTERM');
  const code = await exited;
  expect(code === 0, `stopped by SIGTERM with status ${code}`);
} finally {
  thaw();
  if (daemon.exitCode === null) daemon.kill('SIGKILL');
  await Promise.all([simulator.close(), hooks.close()]);
  execFileSync('umount', [volume]);
  rmSync(dir, { recursive: true, force: true });
}

for (const r of results) process.stdout.write(`${r.ok ? 'as expected' : 'NOT AS EXPECTED'}: ${r.what}\n`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
