import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { constants, hostname, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, type TestContext } from 'vitest';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import { SECRETS, getText, itWithHarness, newIds, quickAction, type Harness } from './harness.ts';
import { COMPILE_CACHE, cliBundle } from './daemon.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { waitUntil } from '../eventually.ts';
import { makeCertificates } from '../certificates.ts';

/**
 * How long a daemon of its own is given to start and to come to what a test waits for: this file starts
 * several at once (it.concurrent), on two cores that other test files share, and at a load of 25-35 the
 * 10 s these had passed before a webhook came. An upper bound only: a passing test waits no longer.
 */
const PATIENCE_MS = 30_000;
/** A test's own limit, for the two or three such waits it may have in a row. */
const TEST_TIMEOUT_MS = 3 * PATIENCE_MS;

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/**
 * The launcher that systemd and `npx` run, as a package installs it: bin/ beside the run's bundle as dist/,
 * and no sources, so that it starts the bundle. A checkout without a build (CI's) would have it type-strip
 * the sources at each start, seconds of processor time that this test is not about.
 */
function installedBin(): string {
  const root = mkdtempSync(join(tmpdir(), 'eaw-package-'));
  mkdirSync(join(root, 'bin'));
  copyFileSync(fileURLToPath(new URL('../../bin/ecs-action-watch.mjs', import.meta.url)), join(root, 'bin', 'ecs-action-watch.mjs'));
  symlinkSync(dirname(cliBundle()), join(root, 'dist'));
  return join(root, 'bin', 'ecs-action-watch.mjs');
}

/**
 * The command line as a separate process, its output collected as it comes: the bundle the image runs,
 * with Node's code cache as the shipped bin/ runs it, unless V8 flags are given: those tests look at the
 * heap and the compilers, which a cache of compiled code would change.
 */
function spawnCli(h: Harness, args: string[], nodeArgs: string[] = [], entry = cliBundle(), cwd?: string) {
  const cache = nodeArgs.length === 0 ? { NODE_COMPILE_CACHE: COMPILE_CACHE } : {};
  const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { cwd, env: { ...process.env, ...h.env, LOG_LEVEL: 'info', ...cache }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, out, exited };
}

/** Every process a test of this file started (`group`: it leads a process group, a shell's pipeline), for afterAll to find none left. */
const started = new Set<{ pid: number; group: boolean }>();

/** Whether the process, or one of its group, still runs. */
function running({ pid, group }: { pid: number; group: boolean }): boolean {
  try {
    process.kill(group ? -pid : pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends `child` (its group too when it leads one) as the test ends, passed or failed: a test that timed out
 * while it waited for a process (`wait`, a drain) left it running, polling, beside the tests after it.
 */
function endsWithTest({ onTestFinished }: Pick<TestContext, 'onTestFinished'>, child: ChildProcess, group = false): void {
  if (child.pid === undefined) return;
  const entry = { pid: child.pid, group };
  started.add(entry);
  const exited = once(child, 'exit');
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(group ? -entry.pid : entry.pid, 'SIGKILL');
      await exited;
    }
    if (!group || !running(entry)) return;
    process.kill(-entry.pid, 'SIGKILL');
    // Gone only once reaped, by init rather than by this process: until then the group still answers.
    await waitUntil(() => !running(entry));
  });
}

afterAll(() => {
  expect([...started].filter(running).map(({ pid }) => pid), 'processes the tests of this file started, still running').toEqual([]);
});

type Cli = (...args: Parameters<typeof spawnCli> extends [Harness, ...infer Rest] ? Rest : never) => ReturnType<typeof spawnCli>;

/** `it` whose test gets `cli`: spawnCli with the test's harness, its process ended with the test. */
const it = itWithHarness.extend('cli', async ({ h, onTestFinished }): Promise<Cli> => {
  return (...args) => {
    const run = spawnCli(h, ...args);
    endsWithTest({ onTestFinished }, run.child);
    return run;
  };
});

it('runs as `node src/cli/main.ts run`, logs JSON lines on stdout and exits 0 on SIGTERM', async ({ h, cli }) => {
  const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'pending' }]));
  const { child, out, exited } = cli(['run', '--config', path], [], MAIN);
  const until = Date.now() + PATIENCE_MS;
  while (!out.stdout.includes('"msg":"started"') && Date.now() < until && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGTERM');
  const code = await exited;
  const { stdout, stderr } = out;
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.map((l) => l['msg'])).toEqual(expect.arrayContaining(['started', 'stopping', 'stopped']));
  for (const secret of SECRETS) expect(stdout).not.toContain(secret);
}, TEST_TIMEOUT_MS);

it('collects the whole heap once the watch file is parsed at the start, once the first pass has polled, and before and after a reload\'s parse, so that neither sets the heap\'s limit nor runs while V8 marks', async ({ h, cli }) => {
  // The cloud's answers given the time they take here: the first pass is to poll, not to time out.
  const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'pending' }]));
  // V8 marking as often as it can, so that some gc() lands while it marks: see `asked`.
  const { child, out, exited } = cli(['run', '--config', path], ['--trace-gc', '--stress-incremental-marking']);
  // V8 names the reason of a collection that gc() asked for "testing"; the daemon asks for none else. A gc()
  // that lands while V8 marks first finishes that marking, under the same reason, then collects: the first
  // line says how long it had been marking, and is not counted (a full run once saw [1, 4]).
  const asked = (from: number, to = out.stdout.length) => out.stdout.slice(from, to).match(/Mark-Compact(?![^\n]*since start of marking)[^\n]* testing;/g)?.length ?? 0;
  const until = async (done: () => boolean) => {
    const giveUpAt = Date.now() + PATIENCE_MS;
    while (!done() && Date.now() < giveUpAt && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  await until(() => out.stdout.includes('"msg":"started"'));
  const started = out.stdout.indexOf('"msg":"started"');
  // The edit once the first pass has collected: a reload reads the file once it has been still for a second,
  // and at a load of 14 a first pass whose polls timed out and were tried again collected after it ([1, 2]).
  await until(() => asked(started) > 0);
  await appendFile(path, '# edited\n');
  await until(() => out.stdout.includes('"msg":"watch list reloaded"', started));
  const reloaded = out.stdout.indexOf('"msg":"watch list reloaded"', started);
  child.kill('SIGTERM');
  await exited;
  expect([started, reloaded].every((at) => at > 0)).toBe(true);
  // After `started`: the first pass's, then the reload's two.
  const story = out.stdout.slice(0, reloaded + 40).split('\n').filter((l) => l.includes('testing;') || l.includes('"msg"')).map((l) => l.slice(0, 160)).join('\n');
  expect([asked(0, started), asked(started, reloaded)], story).toEqual([1, 3]);
}, TEST_TIMEOUT_MS);

/** A webhook receiver on loopback that answers (204) what it took only at release(): a delivery in flight for as long as a test needs it. */
async function heldReceiver({ onTestFinished }: Pick<TestContext, 'onTestFinished'>): Promise<{ url: string; taken: () => number; release: () => void }> {
  const held: ServerResponse[] = [];
  let taken = 0;
  const server = createServer((req, res) => {
    req.resume();
    taken++;
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, taken: () => taken, release: () => held.splice(0).forEach((res) => res.writeHead(204).end()) };
}

/**
 * The daemon as its own process, once its one webhook is in flight to a receiver that answers after `answer`
 * ms, or to `answer`, which answers when the test releases it; its health server on `healthPort`, or none.
 */
async function withDeliveryInFlight({ h, cli }: { h: Harness; cli: Cli }, answer: number | Awaited<ReturnType<typeof heldReceiver>>, healthPort = 0): Promise<ReturnType<typeof spawnCli>> {
  const a = quickAction();
  h.simulator.addAction(a);
  if (typeof answer === 'number') h.hooks.setAnswer({ delayMs: answer });
  const [url, taken] = typeof answer === 'number' ? [h.hooks.url, () => h.hooks.received.length] : [answer.url, answer.taken];
  const http = `  port: ${healthPort}\n  host: 127.0.0.1`;
  const path = await h.writeConfig(`${h.yaml([a], { http, notifiers: `  chat:\n    type: webhook\n    url: ${url}\n    timeout: 60s` })}\nshutdown:\n  drainTimeout: 60s\n`);
  const daemon = cli(['run', '--config', path]);
  const until = Date.now() + PATIENCE_MS;
  while (taken() === 0 && Date.now() < until && daemon.child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(taken(), daemon.out.stdout + daemon.out.stderr).toBe(1);
  return daemon;
}

// The tests that mostly wait (on a delivery in flight, a drain, a file held still) run side by side, each
// with its own harness and daemon; those that look at the heap and the compilers run alone.
it.concurrent('exits at once with 143 at a second SIGTERM while the first waits for a delivery in flight', async ({ h, cli }) => {
  const { child, out, exited } = await withDeliveryInFlight({ h, cli }, 60_000);
  child.kill('SIGTERM');
  const until = Date.now() + PATIENCE_MS;
  while (!out.stdout.includes('"msg":"stopping"') && Date.now() < until && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // An operator's second, not one that comes twice within a moment (the next test).
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill('SIGTERM');
  expect(await exited).toBe(143);
  expect(out.stderr).toContain('second SIGTERM, exiting now');
}, TEST_TIMEOUT_MS);

it.concurrent('takes a signal that comes twice within a moment (a wrapper passing on one its process group got too) as one: a clean stop', async ({ h, cli }) => {
  const { child, out, exited } = await withDeliveryInFlight({ h, cli }, 1000);
  child.kill('SIGINT');
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out.stderr).not.toContain('exiting now');
  // The delivery in flight finished within the drain: delivered, nothing owed.
  expect(out.stdout).toContain('"msg":"stopped"');
}, TEST_TIMEOUT_MS);

it.concurrent('serves /metrics, and says stopping on /readyz, while it drains what it owes after SIGTERM', async ({ h, cli, onTestFinished }) => {
  const port = await closedPort();
  // Answered once /metrics and /readyz have been read: a receiver that answered after 3 s let a loaded
  // machine's drain end first, and the daemon was gone (ECONNREFUSED).
  const receiver = await heldReceiver({ onTestFinished });
  const { child, out, exited } = await withDeliveryInFlight({ h, cli }, receiver, port);
  child.kill('SIGTERM');
  const until = Date.now() + PATIENCE_MS;
  while (!out.stdout.includes('"msg":"stopping"') && Date.now() < until && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const [metrics, ready] = await Promise.all(['metrics', 'readyz'].map((path) => request(`http://127.0.0.1:${port}/${path}`)));
  const answers = await Promise.all([metrics, ready].map(async (r) => [r?.statusCode, await r?.body.text()]));
  expect(answers[0]?.[0]).toBe(200);
  expect(answers[1]).toEqual([503, 'not ready: stopping\n']);
  receiver.release();
  expect(await exited, out.stdout + out.stderr).toBe(0);
  expect(out.stdout).toContain('"msg":"stopped"');
}, TEST_TIMEOUT_MS);

it.concurrent('says in its log why it exits 1, and that it stopped, when its final save fails at SIGTERM', async ({ h, cli }) => {
  const a = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3_600_000, taskState: 'rebooting' }] });
  h.simulator.addAction(a);
  const path = await h.writeConfig(h.yaml([a]));
  const { child, out, exited } = cli(['run', '--config', path]);
  const until = Date.now() + PATIENCE_MS;
  while (!out.stdout.includes('"msg":"started"') && Date.now() < until && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(out.stdout, out.stderr).toContain('"msg":"started"');
  // The snapshot's place taken by a folder: the compaction as the state closes cannot replace it.
  const snapshot = join(h.dir, 'state', 'state.json');
  await rm(snapshot, { force: true });
  await mkdir(join(snapshot, 'in-the-way'), { recursive: true });
  child.kill('SIGTERM');
  expect(await exited, out.stdout + out.stderr).toBe(1);
  const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; err?: { message: string } });
  const failed = lines.find((l) => l.msg === 'the daemon did not stop cleanly');
  expect(failed?.err?.message, out.stdout).toContain('state.json');
  expect(lines.at(-1)?.msg).toBe('stopped');
}, TEST_TIMEOUT_MS);

it.concurrent('exits 0 at a SIGTERM that comes while a reload waits for a delivery in flight, starts nothing more, and says that what it cut off is sent after the next start', async ({ h, cli }) => {
  const a = quickAction();
  h.simulator.addAction(a);
  h.hooks.setAnswer({ delayMs: 60_000 });
  const port = await closedPort();
  const file = (retries: number) =>
    `${h.yaml([a], { poll: `  schedule: "* * * * * *"\n  retries: ${retries}`, http: `  port: ${port}\n  host: 127.0.0.1`, notifiers: `  chat:\n    type: webhook\n    url: ${h.hooks.url}\n    timeout: 60s` })}\nshutdown:\n  drainTimeout: 2s\n`;
  const path = await h.writeConfig(file(3));
  const { child, out, exited } = cli(['run', '--config', path]);
  const until = Date.now() + PATIENCE_MS;
  while (h.hooks.received.length === 0 && Date.now() < until && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(h.hooks.received, out.stdout + out.stderr).toHaveLength(1);
  // Another poll setting: the parts are rebuilt, and the old ones first wait for the delivery in flight.
  await writeFile(path, file(2));
  let reloading = false;
  while (!reloading && Date.now() < until && child.exitCode === null) {
    const ready = await request(`http://127.0.0.1:${port}/readyz`);
    reloading = (await ready.body.text()).includes('reloading');
    if (!reloading) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(reloading, out.stdout + out.stderr).toBe(true);
  child.kill('SIGTERM');
  expect(await exited, out.stdout + out.stderr).toBe(0);
  expect(out.stderr).toBe('');
  expect(out.stdout).not.toContain('cannot be started');
  expect(out.stdout).toContain('"msg":"stopped"');
  // The reload's drain ran out after the SIGTERM: no parts of the reload's take the delivery up.
  const said = out.stdout.split('\n').filter((l) => l.includes('notifications in flight')).map((l) => (JSON.parse(l) as { msg: string }).msg);
  expect(said).toEqual(['stopping with notifications in flight (shutdown.drainTimeout ran out): cut off, they stay owed and are sent after the next start']);
}, TEST_TIMEOUT_MS);

it('sets the daemon\'s V8 settings before its first connection: undici\'s wasm parser is not recompiled by the optimising compiler', async ({ h, cli }) => {
  const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'pending' }]));
  // V8's peak of malloc'ed memory, written to stderr at exit. --wasm-sync-tier-up: the recompile, when there
  // is one, is done by the time the first answers are read, however loaded the machine.
  const probe = `data:text/javascript,import { getHeapStatistics } from 'node:v8'; process.on('exit', () => process.stderr.write('peak malloc ' + getHeapStatistics().peak_malloced_memory + '\\n'));`;
  const { child, out, exited } = cli(['run', '--config', path], ['--wasm-sync-tier-up', '--import', probe]);
  const until = Date.now() + PATIENCE_MS;
  while (h.simulator.requests.length < 3 && Date.now() < until && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(h.simulator.requests.length).toBeGreaterThanOrEqual(3);
  // The probe's line, or the reason the daemon gave none (a failed start says so on stderr).
  const line = /peak malloc (\d+)/.exec(out.stderr);
  expect(line, out.stderr).not.toBeNull();
  const peak = Number(line![1]) / 2 ** 20;
  // Measured on the bundle: 24-25 MB without the settings (llhttp's recompile), 2.5-2.9 MB with them.
  expect(peak).toBeLessThan(12);
}, TEST_TIMEOUT_MS);

it.concurrent('keeps the logs of a one-shot command on stderr, so that `check --json | jq` reads only the result', async ({ h, cli }) => {
  const ids = newIds();
  h.simulator.setToken('another-token');
  const path = await h.writeConfig(h.yaml([{ ...ids, name: 'x' }]));
  const { out, exited } = cli(['check', '--json', '--config', path]);
  const code = await exited;
  const { stdout, stderr } = out;
  expect(code).toBe(1);
  expect(JSON.parse(stdout)).toEqual([expect.objectContaining({ requestId: ids.requestId, pollFailed: true })]);
  expect(stderr).toContain('poll failed');
  for (const secret of SECRETS) expect(stdout + stderr).not.toContain(secret);
}, TEST_TIMEOUT_MS);

it.concurrent('ends with the outcome\'s status, without a stack, when the reader of its output has gone (`wait ... | true`)', async ({ h, cli }) => {
  const a = quickAction();
  h.simulator.addAction(a);
  const path = await h.writeConfig(h.yaml([]));
  const { child, out, exited } = cli(['wait', '--json', '--config', path, '--server', a.serverId, '--request', a.requestId]);
  // The read end of its stdout closes before it writes its result: the write fails with EPIPE.
  child.stdout.destroy();
  expect(await exited).toBe(0);
  expect(out.stderr).not.toMatch(/EPIPE|Unhandled 'error' event/);
}, TEST_TIMEOUT_MS);

it.concurrent('writes the whole of a result larger than a pipe holds before it exits (`check --json | jq` of hundreds of watches)', async ({ h, onTestFinished }) => {
  const watches = Array.from({ length: 200 }, () => newIds());
  const path = await h.writeConfig(h.yaml(watches));
  // A shell's pipe (not the socket pair spawn makes), read by a reader slower than the command: the pipe fills
  // up (64 KiB) and the rest waits in the process, which must not exit before it is written.
  const script = `set -o pipefail; "$0" "$1" check --json --config "$2" 2>/dev/null | { sleep 1; cat; }`;
  // A group of its own, ended whole with the test: killing bash alone would leave the command running.
  const child = spawn('bash', ['-c', script, process.execPath, cliBundle(), path], { detached: true, env: { ...process.env, ...h.env, NODE_COMPILE_CACHE: COMPILE_CACHE }, stdio: ['ignore', 'pipe', 'pipe'] });
  endsWithTest({ onTestFinished }, child, true);
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  expect(code).toBe(0);
  expect(stdout.length).toBeGreaterThan(64 * 1024);
  expect((JSON.parse(stdout) as unknown[]).length).toBe(200);
}, TEST_TIMEOUT_MS);

// As under the systemd unit: state.path as the example gives it, relative to the working folder (its
// StateDirectory), which the journal that logs the refusal does not show.
it.concurrent('refuses a second daemon on the same state file, naming the first one, the file by its absolute path, and how to run a second daemon', async ({ h, cli }) => {
  const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'pending' }]).replace(`path: ${h.statePath}`, 'path: ./ecs-action-watch.state.json'));
  const { child, out, exited } = cli(['run', '--config', path], [], cliBundle(), h.dir);
  try {
    const until = Date.now() + PATIENCE_MS;
    while (!out.stdout.includes('"msg":"started"') && Date.now() < until && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = cli(['run', '--config', path], [], cliBundle(), h.dir);
    expect(await second.exited).toBe(1);
    // The working folder as the daemon's getcwd() gives it, its links resolved.
    const state = join(realpathSync(h.dir), 'ecs-action-watch.state.json');
    expect(second.out.stderr).toContain(`state file ${state}: is in use by another ecs-action-watch: pid ${child.pid} on host ${hostname()}, running since `);
    expect(second.out.stderr).toMatch(/running since \d{4}-\d\d-\d\dT[\d:.]+Z \(lock /);
    expect(second.out.stderr).toContain(
      `(lock ${state}.lock). Run one daemon per state file: stop that one, or run this one with a state folder of its own (under systemd, as an ` +
        'instance of the template unit ecs-action-watch@.service, not a copy of the unit; in Kubernetes, as deploy/kubernetes-second)',
    );
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, TEST_TIMEOUT_MS);

it.concurrent('reads the watch file again at a SIGHUP, and what it names (a renewed CA file), rather than ending without a word', async ({ h, cli }) => {
  const [ca, renewed] = [1, 2].map(() => makeCertificates(mkdtempSync(join(h.dir, 'ca-'))).caFile);
  const caFile = join(h.dir, 'ca.pem');
  copyFileSync(ca!, caFile);
  const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'pending' }], { cloud: `  tls: { caFile: ${caFile} }` }));
  const { child, out, exited } = cli(['run', '--config', path]);
  const until = async (text: string) => {
    const giveUpAt = Date.now() + PATIENCE_MS;
    while (!out.stdout.includes(text) && Date.now() < giveUpAt && child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await until('"msg":"started"');
  copyFileSync(renewed!, caFile);
  child.kill('SIGHUP');
  await until('"msg":"watch file reloaded"');
  expect(child.signalCode, out.stdout + out.stderr).toBeNull();
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const messages = out.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
  expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/^SIGHUP: reading the watch file again now/), 'watch file reloaded', 'stopped']));
  expect(out.stderr).toBe('');
}, TEST_TIMEOUT_MS);

/** Whether process `pid` handles SIGHUP (Linux's SigCgt mask): its default action would end the process. */
function catchesHangup(pid: number): boolean {
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return caught !== undefined && (BigInt(`0x${caught}`) & (1n << BigInt(constants.signals.SIGHUP - 1))) !== 0n;
}

it.concurrent('takes a SIGHUP that comes while the launcher (bin/) loads the command as the command would: run reads the file again, a one-shot command ends', async ({ h, cli }) => {
  const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'pending' }]));
  // At the first moment the process catches SIGHUP: the launcher's listener, before the command is loaded.
  const bin = installedBin();
  const hungUpEarly = async (args: string[]) => {
    const started = cli(args, [], bin);
    while (!catchesHangup(started.child.pid!) && started.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 1));
    started.child.kill('SIGHUP');
    return started;
  };
  const daemon = await hungUpEarly(['run', '--config', path]);
  const giveUpAt = Date.now() + PATIENCE_MS;
  while (!daemon.out.stdout.includes('"msg":"started"') && Date.now() < giveUpAt && daemon.child.exitCode === null && daemon.child.signalCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(daemon.child.signalCode, daemon.out.stdout + daemon.out.stderr).toBeNull();
  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
  expect(daemon.out.stdout).toMatch(/"msg":"SIGHUP: reading the watch file again now/);

  const validate = await hungUpEarly(['validate', '--config', path]);
  await validate.exited;
  expect(validate.child.signalCode, validate.out.stdout + validate.out.stderr).toBe('SIGHUP');
}, TEST_TIMEOUT_MS);

it.concurrent('is not ended by a SIGHUP while it waits for a watch file that keeps changing to hold still, nor by one while it drains after SIGTERM', async ({ h, cli, onTestFinished }) => {
  const a = quickAction();
  h.simulator.addAction(a);
  // Answered once the second SIGHUP has come and the daemon was seen draining after it: one answered after
  // 2 s let a loaded machine's drain end before that SIGHUP came, and the test then proved nothing.
  const receiver = await heldReceiver({ onTestFinished });
  const port = await closedPort();
  const text = `${h.yaml([a], { http: `  port: ${port}\n  host: 127.0.0.1`, notifiers: `  chat:\n    type: webhook\n    url: ${receiver.url}\n    timeout: 60s` })}\nshutdown:\n  drainTimeout: 60s\n`;
  const path = await h.writeConfig(text);
  const { child, out, exited } = cli(['run', '--config', path]);
  const waitFor = async (done: () => boolean) => {
    const giveUpAt = Date.now() + PATIENCE_MS;
    while (!done() && Date.now() < giveUpAt && child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  // Written again and again (a config tool at work, then `systemctl reload`): `run` waits for it to hold
  // still before it reads it, and a SIGHUP then came before anything listened for it.
  let writing = true;
  const rewriting = (async () => {
    while (writing) {
      await writeFile(path, text);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await waitFor(() => catchesHangup(child.pid!));
  child.kill('SIGHUP');
  await new Promise((resolve) => setTimeout(resolve, 200));
  writing = false;
  await rewriting;
  await waitFor(() => receiver.taken() > 0);
  expect(receiver.taken(), out.stdout + out.stderr).toBe(1);

  // The delivery in flight holds the stop; a SIGHUP meanwhile changes nothing.
  child.kill('SIGTERM');
  await waitFor(() => out.stdout.includes('"msg":"stopping"'));
  expect(out.stdout, out.stderr).toContain('"msg":"stopping"');
  expect([child.exitCode, child.signalCode]).toEqual([null, null]);
  child.kill('SIGHUP');
  // Answered by the process the SIGHUP reached, still draining: it came during the drain, and did not end it.
  const ready = await getText(`http://127.0.0.1:${port}/readyz`).catch((err: unknown) => ({ status: 0, body: String(err) }));
  expect(ready, out.stdout + out.stderr).toEqual({ status: 503, body: 'not ready: stopping\n' });
  receiver.release();
  expect(await exited, out.stdout + out.stderr).toBe(0);
  expect(child.signalCode).toBeNull();
  const stopping = out.stdout.indexOf('"msg":"stopping"');
  // Neither a reload begun nor one promised: the file is not read again by a daemon that stops.
  expect(out.stdout.slice(stopping)).not.toContain('SIGHUP');
  expect(out.stdout.slice(stopping)).toContain('"msg":"stopped"');
}, TEST_TIMEOUT_MS);


it.concurrent('says on /metrics that the cloud throttled it, and that it sends less meanwhile', async ({ h, cli }) => {
  const a = quickAction({ neverFinishes: true });
  h.simulator.addAction(a);
  h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 30 }, { route: 'action', times: 1 });
  const port = await closedPort();
  const path = await h.writeConfig(h.yaml([a], { http: `  port: ${port}\n  host: 127.0.0.1` }));
  const { child, out, exited } = cli(['run', '--config', path]);
  try {
    const until = Date.now() + PATIENCE_MS;
    while (!h.simulator.requests.some((r) => r.status === 429) && Date.now() < until && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
    const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
    expect(text, out.stdout + out.stderr).toMatch(/^ecs_action_watch_cloud_throttled_total 1$/m);
    expect(text).toMatch(/^ecs_action_watch_cloud_rate_slowed 1$/m);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}, TEST_TIMEOUT_MS);
