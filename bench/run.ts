// `npm run bench`: a benchmark, not a test; it asserts nothing and writes BENCHMARKS.md. Everything runs on
// loopback. The daemon runs as its own process, as production runs it (`node <bundle> run`), against
// bench/server.ts (a Nova-shaped server in a process of its own; a second one is the webhook receiver), and autocannon
// measures what the same server answers on the same paths at the same concurrency, then undici alone
// (bench/undiciAlone.ts) what our HTTP client reaches there with nothing of ours around it. BENCH_WATCHES
// (default 1000,10000) and BENCH_ROUNDS (default 2) change what runs; BENCH_ONE_SHOTS=only measures the
// one-shot commands alone and prints their table without writing BENCHMARKS.md. BENCH_AUTH (token,
// tokenFile, password or aksk; none by default) gives the daemon's watch file that cloud.auth (benchAuth below).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { BENCH_MICROVERSION, BENCH_PROJECT as PROJECT, BENCH_TOKEN, MEASURED_PASSES, POLL_HEADERS, WARM_UP_PASSES, actionPath } from './polls.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'dist', 'ecs-action-watch.mjs');
const BIN = join(ROOT, 'bin', 'ecs-action-watch.mjs');
const CONCURRENCY = 64;
/** Reloads of the watch file after the wave, each one's peak measured alone. */
const RELOADS = 3;
/** Passes of a daemon before it is restarted, and of the restarted one before its peak is read (`restarted`). */
const RESTART_PASSES = 8;
const sizes = (process.env['BENCH_WATCHES'] ?? '1000,10000').split(',').map(Number);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
const oneShotsOnly = process.env['BENCH_ONE_SHOTS'] === 'only';
const work = mkdtempSync(join(tmpdir(), 'eaw-bench-'));
const AUTH_TYPES = ['none', 'token', 'tokenFile', 'password', 'aksk'];
const auth = process.env['BENCH_AUTH'] ?? 'none';
if (!AUTH_TYPES.includes(auth)) throw new Error(`BENCH_AUTH=${auth}: write one of ${AUTH_TYPES.join(', ')}`);
/** What the image runs the daemon with: the Dockerfile's ENV NODE_OPTIONS and MALLOC_ARENA_MAX. */
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const PRODUCTION_ENV = Object.fromEntries(['NODE_OPTIONS', 'MALLOC_ARENA_MAX'].flatMap((name) => new RegExp(`${name}=(\\S+)`).exec(dockerfile)?.slice(1).map((v) => [name, v]) ?? []));
const PRODUCTION_ENV_SHOWN = Object.entries(PRODUCTION_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
const cacheDir = join(work, 'compile-cache');

interface Stats {
  requests: number;
  firstRequestAt: number;
  bursts: Array<{ start: number; end: number; count: number }>;
  latencies: number[];
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

/** A pass as the server saw it: `from`, the index of the burst it begins at; `before`, the requests before it. */
type Pass = Stats['bursts'][number] & { from: number; before: number };

/**
 * The server's passes of `watches` requests each, from its bursts (runs of requests with no pause longer than
 * 150 ms, bench/server.ts). A longer stall within a pass splits it into two bursts: they are joined again here,
 * so that the stall counts in the pass's time, as it does from a client's side. Passes that ran into one
 * another stay one, of as many passes' requests.
 */
function passesOf(bursts: Stats['bursts'], watches: number): Pass[] {
  const passes: Pass[] = [];
  let pass: Pass | undefined;
  let before = 0;
  for (const [from, burst] of bursts.entries()) {
    pass ??= { from, before, start: burst.start, end: burst.end, count: 0 };
    pass.end = burst.end;
    pass.count += burst.count;
    before += burst.count;
    if (pass.count % watches === 0) {
      passes.push(pass);
      pass = undefined;
    }
  }
  return passes;
}

/**
 * Requests a second within the first MEASURED_PASSES passes of `passes` (passesOf): their requests over their
 * time, the idle between them left out; undefined until that many have ended.
 */
function rateWithin(passes: Pass[], watches: number): number | undefined {
  let requests = 0;
  let ms = 0;
  for (const pass of passes) {
    if (requests >= MEASURED_PASSES * watches) break;
    requests += pass.count;
    ms += pass.end - pass.start;
  }
  return requests >= MEASURED_PASSES * watches ? requests / (ms / 1000) : undefined;
}

async function startServer(watches: number): Promise<{ process: ChildProcess; url: string; hooks: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'server.ts'), '--watches', String(watches)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { process: child, ...(JSON.parse(line) as { url: string; hooks: string }) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function get<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  return (await res.json()) as T;
}

/**
 * The daemon's `cloud.auth` lines for BENCH_AUTH. The bench's cloud checks no credential, so a run with one
 * shows what carrying it costs the client: a token of 6 KB, base64 with + and / as Huawei IAM's are (every
 * poll sends it and has it hidden from the answer), in the watch file (token), in a file (tokenFile), or
 * from the bench's Keystone at a password login (password); or an access key pair, which signs every poll. The yardsticks (autocannon, undici alone) and the one-shot
 * commands send none.
 */
function benchAuth(serverUrl: string): string[] {
  if (auth === 'none') return [];
  if (auth === 'aksk') return ['  auth:', '    type: aksk', '    accessKey: QTWAOYTTINDUT2QVKYUC', '    secretKey: MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc'];
  if (auth === 'token') return ['  auth:', '    type: token', `    token: ${BENCH_TOKEN}`];
  if (auth === 'password') {
    return ['  auth:', '    type: password', `    identityEndpoint: ${serverUrl}/v3`, '    user: bench-user', '    domain: bench-domain', '    password: bench-Pa55word', `    projectId: ${PROJECT}`];
  }
  const file = join(work, 'token');
  writeFileSync(file, `${BENCH_TOKEN}\n`);
  return ['  auth:', '    type: token', `    tokenFile: ${file}`];
}

function watchFile(server: { url: string; hooks: string }, watches: number, statePath: string, httpPort: number, cloudAuth: string[] = []): string {
  const lines = [
    'cloud:', `  endpoint: ${server.url}`, `  projectId: ${PROJECT}`, `  microversion: "${BENCH_MICROVERSION}"`, ...cloudAuth,
    'poll:', '  schedule: "* * * * * *"', `  concurrency: ${CONCURRENCY}`,
    'notifiers:', '  chat:', '    type: webhook', `    url: ${server.hooks}`,
    'state:', `  path: ${statePath}`, 'http:', `  port: ${httpPort}`, 'watches:',
  ];
  for (let i = 0; i < watches; i++) lines.push(`  - requestId: req-${i}`, `    serverId: srv-${i}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The watch file of `watches` in `dir`, its state beside it, saved a while before the start as a deployed
 * file is: `run` waits for a file written within the last second to stand still, which is no part of its
 * start-up. Its path.
 */
function deployedWatchFile(dir: string, server: { url: string; hooks: string }, watches: number, httpPort: number): string {
  const config = join(dir, 'watch.yaml');
  writeFileSync(config, watchFile(server, watches, join(dir, 'state.json'), httpPort, benchAuth(server.url)));
  const saved = new Date(Date.now() - 5000);
  utimesSync(config, saved, saved);
  return config;
}

/** A free TCP port on loopback. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** Sums of the daemon's counters that the bench reads from /metrics. */
interface Counters {
  polls: number;
  cpu: number;
  stateBytes: number;
  stateWrites: number;
  snapshots: number;
  reloadedAt: number;
}

async function counters(port: number): Promise<Counters> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (name: string) =>
    text.split('\n').filter((l) => l.startsWith(`ecs_action_watch_${name}`)).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
  return {
    polls: sum('polls_total'),
    cpu: sum('process_cpu_seconds_total'),
    stateBytes: sum('state_written_bytes_total'),
    stateWrites: sum('state_writes_total'),
    snapshots: sum('state_writes_total{file="snapshot"}'),
    reloadedAt: sum('config_last_reload_success_timestamp_seconds'),
  };
}

/**
 * The daemon's counters once its state has had no write for 5 s. A wave's writes end with the compaction its
 * journal's growth calls for, which waits for the first pass a second after the last save
 * (src/state/stateWriter.ts, QUIET_MS): at 1,000 and 10,000 watches it landed 1.5-3 s after the last
 * webhook, and a read 1.5 s after it left out its snapshot: 597 KiB at 1,000 watches, a quarter of what the
 * wave wrote, and 6,012 KiB at 10,000 when it came that late.
 */
async function settled(port: number): Promise<Counters> {
  const end = Date.now() + 60_000;
  for (let last = await counters(port), quietSince = Date.now(); Date.now() < end; ) {
    await sleep(500);
    const now = await counters(port);
    if (now.stateWrites !== last.stateWrites) [last, quietSince] = [now, Date.now()];
    else if (Date.now() - quietSince >= 5000) return now;
  }
  throw new Error('gave up after 60 s waiting for the state to stand still after the wave');
}

/** The state's snapshot and journals together. */
function stateBytes(path: string): number {
  return [path, `${path}.journal`, `${path}.journal.old`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

function peakKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** Sets the process's peak resident memory to what it holds now (Linux's clear_refs), so that what follows is measured alone. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Waits for `check` to hold; a bench that gave up waiting throws rather than measure what did not happen. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
}

interface DaemonResult extends Wave {
  watches: number;
  sweepPerS: number;
  startupMs: number;
  cpuPerPollUs: number;
  peakRssKb: number;
  /** The peak before the wave: the start and the passes, every watch running. */
  pollingPeakKb: number;
  /** The highest peak of RELOADS reloads of the watch file (an edit of a comment each), each measured from the resident memory of its moment. */
  reloadPeakKb: number;
  idleBytesPerPass: number;
  finishBytes: number;
  finishWrites: number;
  finishSnapshots: number;
  stateFileBytes: number;
  loadBefore: string;
}

/** Verdict-to-webhook latencies of a wave: every action on `server` finishes now, and the next pass decides them all. */
interface Wave {
  p50: number;
  p99: number;
  delivered: number;
}

async function wave(server: { url: string }, receiver: { url: string }, watches: number): Promise<Wave> {
  await get(`${server.url}/bench/finish`, { method: 'POST' });
  const delivered = () => get<Stats>(`${receiver.url}/bench/stats`);
  await until('every webhook', async () => (await delivered()).latencies.length >= watches, 180_000);
  const { latencies } = await delivered();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), delivered: latencies.length };
}

async function daemonRun(watches: number): Promise<DaemonResult> {
  // The webhook receiver runs in a process of its own, as a real one does: in the cloud's process its
  // stamps would wait behind the thousands of polls that process answers at the same moment.
  const [server, receiver] = await Promise.all([startServer(watches), startServer(0)]);
  const dir = mkdtempSync(join(work, `daemon-${watches}-`));
  try {
    const port = await freePort();
    const config = deployedWatchFile(dir, { url: server.url, hooks: receiver.hooks }, watches, port);
    const loadBefore = load();
    const started = Date.now();
    const daemon = spawnDaemon(config, join(dir, 'daemon.log'));
    try {
      const stats = () => get<Stats>(`${server.url}/bench/stats`);
      await until('the first poll', async () => (await stats()).firstRequestAt > 0, 60_000);
      const startupMs = (await stats()).firstRequestAt - started;
      // Passes once JIT and connections are warm: the warm-up's are left out, and so is the first pass's
      // save of every new record, which a loaded machine can finish after the next pass has begun.
      await until('the warm-up passes', async () => (await stats()).bursts.length > WARM_UP_PASSES && (await counters(port)).stateWrites > 0, 180_000);
      const before = await counters(port);
      // The measured passes start after the one in progress: the reads above (two of the daemon's /metrics
      // and the server's stats), made as that pass began, slow it further (at 1,000 watches 125-189 ms in 4
      // runs, against 88-105 ms for the same pass without them and 42-125 ms for the others). The last
      // burst is the pass still running.
      const burstsBefore = (await stats()).bursts.length;
      const sweep = async () => rateWithin(passesOf((await stats()).bursts, watches).filter((pass) => pass.from >= burstsBefore), watches);
      await until('the measured passes', async () => (await sweep()) !== undefined, 180_000);
      const after = await counters(port);
      const sweepPerS = (await sweep())!;
      const passes = Math.max(1, Math.round((after.polls - before.polls) / watches));

      const pollingPeakKb = peakKb(daemon.pid!);
      const finished = await wave(server, receiver, watches);
      const end = await settled(port);
      const peakRssKb = peakKb(daemon.pid!);
      // A reload, as every edit of the file (and every `add`) makes one: the whole file is parsed again beside
      // the daemon's heap. After the wave, so that the figures above are as before; its watches have finished,
      // which their records' heap shows (1.1 KB a watch against 1.4 running).
      // Three, each measured alone, the highest kept: whether V8 collects during the parse changes one
      // reload's peak by 10-30 MB (docs/performance.md, Memory), so that one alone says little.
      let reloadPeakKb = 0;
      for (let edit = 0, reloadedAt = end.reloadedAt; edit < RELOADS; edit++) {
        resetPeak(daemon.pid!);
        appendFileSync(config, '# edited\n');
        await until('the reload', async () => (await counters(port)).reloadedAt > reloadedAt, 60_000);
        reloadedAt = (await counters(port)).reloadedAt;
        await sleep(1000);
        reloadPeakKb = Math.max(reloadPeakKb, peakKb(daemon.pid!));
      }
      return {
        watches,
        sweepPerS,
        startupMs,
        cpuPerPollUs: ((after.cpu - before.cpu) / (after.polls - before.polls)) * 1e6,
        peakRssKb,
        pollingPeakKb,
        reloadPeakKb,
        ...finished,
        idleBytesPerPass: (after.stateBytes - before.stateBytes) / passes,
        finishBytes: end.stateBytes - after.stateBytes,
        finishWrites: end.stateWrites - after.stateWrites,
        finishSnapshots: end.snapshots - after.snapshots,
        stateFileBytes: stateBytes(join(dir, 'state.json')),
        loadBefore,
      };
    } finally {
      await stop(daemon);
    }
  } finally {
    await Promise.all([stop(server.process), stop(receiver.process)]);
  }
}

function spawnDaemon(config: string, logPath: string): ChildProcess {
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, [BUNDLE, 'run', '--config', config], { stdio: ['ignore', log, log], env: { ...process.env, ...PRODUCTION_ENV } });
  closeSync(log);
  return child;
}

/** A daemon started again on the state of running watches: its peak, and the wave that then finishes them. */
interface Restarted {
  peakKb: number;
  wave: Wave;
}

/**
 * A daemon started again on the state of `watches` running watches, as an upgrade or a pod moved to another
 * node starts one: a daemon polls RESTART_PASSES passes from a fresh state, is stopped (SIGTERM, which saves
 * its state), and the one started on the same file and state is read after as many passes. Then every
 * action finishes: a daemon started again saves nothing before its first verdicts, which wait for that first
 * save (the journal made at the start, src/state/stateWriter.ts prepareJournal). A server, receiver and state
 * of their own, so that daemonRun's figures are as they were.
 */
async function restarted(watches: number): Promise<Restarted> {
  const [server, receiver] = await Promise.all([startServer(watches), startServer(0)]);
  const dir = mkdtempSync(join(work, `restart-${watches}-`));
  const config = deployedWatchFile(dir, { url: server.url, hooks: receiver.hooks }, watches, await freePort());
  const passes = async () => (await get<Stats>(`${server.url}/bench/stats`)).bursts.length;
  let daemon: ChildProcess | undefined;
  try {
    for (const log of ['daemon.log', 'daemon-restarted.log']) {
      if (daemon) await stop(daemon);
      const from = await passes();
      daemon = spawnDaemon(config, join(dir, log));
      await until(`${RESTART_PASSES} passes`, async () => (await passes()) > from + RESTART_PASSES, 180_000);
    }
    const peak = peakKb(daemon!.pid!);
    return { peakKb: peak, wave: await wave(server, receiver, watches) };
  } finally {
    if (daemon) await stop(daemon);
    await Promise.all([stop(server.process), stop(receiver.process)]);
  }
}

interface Ceilings {
  /** autocannon's requests per second. */
  autocannon: number;
  /** bench/undiciAlone.ts: undici's dispatcher with nothing of ours around it, without a pause. */
  undici: UndiciAlone;
  /** The same, polling in passes as the daemon does (`--passes`). */
  undiciPasses: UndiciAlone;
}

interface UndiciAlone {
  perS: number;
  cpuPerRequestUs: number;
}

/** What the HTTP layer allows against the same server and paths: autocannon, then undici alone, steady and in passes. */
async function ceiling(watches: number): Promise<Ceilings> {
  const server = await startServer(watches);
  try {
    let i = 0;
    const cannon = (duration: number) => autocannon({
      url: server.url,
      connections: CONCURRENCY,
      duration,
      requests: [
        {
          method: 'GET',
          setupRequest: (req) => {
            const n = i++ % watches;
            return { ...req, path: actionPath(n), headers: POLL_HEADERS };
          },
        },
      ],
    });
    // The server warmed first, as the daemon's is by its warm-up passes: a fresh one answered autocannon's
    // first second at 0.20-0.71 of the rate of the next four (at 1,000 watches, 4 runs), which took the
    // average 6-14 % below theirs (0.87-0.94 of it); after a run of 5 s, 0.93-1.06 of it (7 runs). 2 s of
    // warm-up were not enough on a loaded machine (0.89-1.06, 7 runs).
    await cannon(5);
    const result = await cannon(5);
    const args = ['--url', server.url, '--watches', String(watches), '--seconds', '5', '--concurrency', String(CONCURRENCY)];
    // With the image's NODE_OPTIONS and malloc settings (and the daemon's V8 settings, which undici alone sets
    // itself), so that the CPU figures compare.
    const undiciAlone = (...more: string[]) => {
      const out = execFileSync(process.execPath, [join(ROOT, 'bench', 'undiciAlone.ts'), ...args, ...more], { encoding: 'utf8', env: { ...process.env, ...PRODUCTION_ENV } });
      const result = JSON.parse(out) as UndiciAlone;
      if (!Number.isFinite(result.perS) || !Number.isFinite(result.cpuPerRequestUs)) throw new Error(`undici alone ${more.join(' ')} measured nothing: ${out}`);
      return result;
    };
    const undici = undiciAlone();
    // In passes, its rate is the server's view of its passes, as the daemon's sweep is: from a pass's first
    // request to its last at the server. Its own view (first request sent to last answer read) also holds the
    // way to the server and back at each end of a pass, which the sweep leaves out. Passes that ran into one
    // another across the end of the warm-up are taken whole.
    await get(`${server.url}/bench/reset`);
    const undiciPasses = undiciAlone('--passes');
    const passes = passesOf((await get<Stats>(`${server.url}/bench/stats`)).bursts, watches).filter((pass) => pass.before + pass.count > WARM_UP_PASSES * watches);
    const perS = rateWithin(passes, watches);
    if (perS === undefined) throw new Error(`undici alone in passes: the server saw ${passes.length} whole passes after the warm-up, not ${MEASURED_PASSES}`);
    return { autocannon: result.requests.average, undici, undiciPasses: { ...undiciPasses, perS } };
  } finally {
    await stop(server.process);
  }
}

interface Timing {
  wall: number;
  /** User and system CPU seconds: what a command costs, less swayed than wall time by a loaded machine. */
  cpu: number;
  peakKb: number;
}

interface Command {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Wall seconds, CPU seconds and peak memory of one run of a command. bash's `time` gives wall and CPU in
 * milliseconds (GNU time's are in hundredths of a second, which made curl's wall time 0 and every ratio to
 * it infinite); GNU time, which runs that bash, gives the peak resident memory (the larger of bash's, about
 * 3 MB, and the command's). bash times the command alone: timed around GNU time, as it was, the figures held
 * GNU time's own start, 3-8 ms (medians of 11 interleaved pairs: /bin/true, curl, `node -e 0`), a fifth of
 * curl's time, by which every `× curl` came out too low.
 */
function timeOnce({ command, args, env = process.env }: Command): Timing {
  const peakFile = join(work, 'peak.txt');
  // The command's own stderr goes to peak.txt.err, for the message if it fails.
  const script = 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>"$0.err"';
  const out = spawnSync('/usr/bin/time', ['-o', peakFile, '-f', '%M', 'bash', '-c', script, peakFile, command, ...args], { encoding: 'utf8', env });
  if (out.status !== 0) {
    const said = readFileSync(`${peakFile}.err`, 'utf8').trim().split('\n').slice(-5).join('\n');
    throw new Error(`${[command, ...args].join(' ')} exited with ${out.status ?? out.signal}, so there is nothing to time; it said:\n${said}`);
  }
  // bash writes the locale's decimal mark (a comma in some).
  const [wall, user, system] = out.stderr.trim().split('\n').at(-1)!.replaceAll(',', '.').split(' ').map(Number);
  const peak = Number(readFileSync(peakFile, 'utf8').trim());
  if (![wall, user, system, peak].every(Number.isFinite)) throw new Error(`cannot read the times of ${command}: ${out.stderr.trim()}`);
  return { wall: wall!, cpu: user! + system!, peakKb: peak };
}

/** The median of each figure. */
function medians(results: Timing[]): Timing {
  return { wall: median(results.map((x) => x.wall)), cpu: median(results.map((x) => x.cpu)), peakKb: median(results.map((x) => x.peakKb)) };
}

/** Each figure of a command, the median of `runs` after one warm-up. */
function timed(command: string, args: string[], runs = 7, env: NodeJS.ProcessEnv = process.env): Timing {
  const results: Timing[] = [];
  for (let r = 0; r <= runs; r++) {
    const result = timeOnce({ command, args, env });
    if (r > 0) results.push(result);
  }
  return medians(results);
}

/**
 * Two commands run in turn, `pairs` times after a warm-up of each: the medians of each, and the median of
 * the pairs' ratios of b's wall time to a's. A ratio taken pair by pair holds while the machine's speed
 * drifts, as on a shared host it does within a minute; the ratio of two medians taken minutes apart did not
 * (`check` against openstack: 3.9 × in one run, 5.0 × in the next, the same code).
 */
function timedInTurn(a: Command, b: Command, pairs: number): { a: Timing; b: Timing; ratio: number } {
  timeOnce(a);
  timeOnce(b);
  const as: Timing[] = [];
  const bs: Timing[] = [];
  for (let r = 0; r < pairs; r++) {
    as.push(timeOnce(a));
    bs.push(timeOnce(b));
  }
  return { a: medians(as), b: medians(bs), ratio: median(as.map((x, i) => bs[i]!.wall / x.wall)) };
}

/**
 * `openstack server event show` of the same action (python-openstackclient, when it is installed), the
 * command an operator would type instead of `check`; keystoneauth's `none` plugin talks to the bench server.
 */
function openstackCli(serverUrl: string): Command | undefined {
  if (spawnSync('openstack', ['--version']).status !== 0) return undefined;
  const args = ['--os-auth-type', 'none', '--os-endpoint', `${serverUrl}/v2.1/${PROJECT}`, '--os-compute-api-version', BENCH_MICROVERSION, 'server', 'event', 'show', 'srv-0', 'req-0'];
  return { command: 'openstack', args };
}

/** The one-shot commands' figures, and how many times faster `check` is than openstack (pair by pair), if it is installed. */
async function oneShots(): Promise<{ rows: Array<[string, Timing]>; checkAgainstOpenstack: number | undefined }> {
  const server = await startServer(10_000);
  try {
    const one = join(work, 'one.yaml');
    const many = join(work, 'many.yaml');
    writeFileSync(one, watchFile(server, 1, join(work, 'one.state.json'), 0));
    writeFileSync(many, watchFile(server, 10_000, join(work, 'many.state.json'), 0));
    const env = { ...process.env, NODE_COMPILE_CACHE: cacheDir };
    const url = `${server.url}${actionPath(0)}`;
    const check: Command = { command: process.execPath, args: [BIN, 'check', '--config', one], env };
    const openstack = openstackCli(server.url);
    const inTurn = openstack && timedInTurn(check, openstack, 7);
    const rows: Array<[string, Timing]> = [
      ['node -e 0 (the floor)', timed(process.execPath, ['-e', '0'])],
      ['curl of the same URL', timed('curl', ['-s', '-o', '/dev/null', url])],
      ...(inTurn ? [['openstack server event show (python-openstackclient)', inTurn.b] as [string, Timing]] : []),
      ['check, one watch', inTurn?.a ?? timed(check.command, check.args, 7, env)],
      ['--help', timed(process.execPath, [BIN, '--help'], 7, env)],
      ['validate, one watch', timed(process.execPath, [BIN, 'validate', '--config', one], 7, env)],
      ['validate, 10,000 watches (median of 3)', timed(process.execPath, [BIN, 'validate', '--config', many], 3, env)],
      ['check, one watch, sources (no bundle; median of 3)', timed(process.execPath, [join(ROOT, 'src', 'cli', 'main.ts'), 'check', '--config', one], 3)],
    ];
    // Its events finished, the action takes three reads (the action, the server, the action again): enough
    // answers for V8 to recompile undici's wasm parser, unless a one-shot command keeps it in the baseline
    // compiler (src/cli/main.ts).
    await fetch(`${server.url}/bench/finish`, { method: 'POST' });
    rows.splice(rows.findIndex(([name]) => name === 'check, one watch') + 1, 0, ['check, one watch whose action has finished (3 reads)', timed(check.command, check.args, 7, env)]);
    return { rows, checkAgainstOpenstack: inTurn?.ratio };
  } finally {
    await stop(server.process);
  }
}

execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.ts')], { stdio: 'inherit' });
const startedAt = new Date();
const loadAtStart = load();
const results: Array<{ daemon: DaemonResult; restart: Restarted; ceiling: Ceilings }> = [];
for (let round = 0; round < (oneShotsOnly ? 0 : rounds); round++) {
  for (const watches of sizes) {
    const daemon = await daemonRun(watches);
    const restart = await restarted(watches);
    const cap = await ceiling(watches);
    results.push({ daemon, restart, ceiling: cap });
    console.log(
      `round ${round + 1}, ${watches} watches${auth === 'none' ? '' : `, auth ${auth}`}: sweep ${daemon.sweepPerS.toFixed(0)}/s vs autocannon ${cap.autocannon.toFixed(0)}/s (${(daemon.sweepPerS / cap.autocannon).toFixed(2)}) ` +
        `and undici alone in passes ${cap.undiciPasses.perS.toFixed(0)}/s (${(daemon.sweepPerS / cap.undiciPasses.perS).toFixed(2)}), peak ${mb(daemon.peakRssKb)} (${mb(daemon.pollingPeakKb)} before the wave, ${mb(restart.peakKb)} at a restart, ${mb(daemon.reloadPeakKb)} at a reload), p99 ${daemon.p99} ms (${restart.wave.p99} ms after a restart)`,
    );
  }
}
const { rows: shots, checkAgainstOpenstack } = await oneShots();
const loadAtEnd = load();
rmSync(work, { recursive: true, force: true });

const cpu = cpus();
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
/** Undici alone's rate, that rate against autocannon's, and its CPU per request. */
const undiciCell = (u: UndiciAlone, autocannon: number) => `${u.perS.toFixed(0)}/s (${(u.perS / autocannon).toFixed(2)}), ${u.cpuPerRequestUs.toFixed(0)} µs`;
const daemonColumns = ['watches', 'sweep', 'ceiling', 'sweep / ceiling', 'undici alone', 'undici alone in passes', 'sweep / undici in passes', 'peak RSS (before the wave)', 'peak RSS at a restart', 'peak RSS at a reload', 'CPU per poll', 'verdict→webhook p50 / p99', 'the same after a restart', 'start-up to first poll', 'state per idle pass', 'state written while all finish', 'state on disk', 'load before'];
const latency = (w: Wave) => `${w.p50} / ${w.p99} ms (${w.delivered})`;
const daemonRows = results.map(({ daemon: d, restart, ceiling: c }) =>
  row([
    d.watches.toLocaleString('en'), `${d.sweepPerS.toFixed(0)}/s`, `${c.autocannon.toFixed(0)}/s`, (d.sweepPerS / c.autocannon).toFixed(2),
    undiciCell(c.undici, c.autocannon), undiciCell(c.undiciPasses, c.autocannon), (d.sweepPerS / c.undiciPasses.perS).toFixed(2),
    `${mb(d.peakRssKb)} (${mb(d.pollingPeakKb)})`, mb(restart.peakKb), mb(d.reloadPeakKb), `${d.cpuPerPollUs.toFixed(0)} µs`,
    latency(d), latency(restart.wave), `${d.startupMs} ms`, `${d.idleBytesPerPass.toFixed(0)} B`, `${(d.finishBytes / 1024).toFixed(0)} KiB in ${d.finishWrites} writes (${d.finishSnapshots} snapshots)`,
    `${(d.stateFileBytes / 1024).toFixed(0)} KiB`, d.loadBefore,
  ]),
);
const curl = shots.find(([name]) => name.startsWith('curl'))![1];
const shotRows = shots.map(([name, t]) => row([name, `${t.wall.toFixed(3)} s`, `${t.cpu.toFixed(3)} s`, mb(t.peakKb), (t.wall / curl.wall).toFixed(1)]));
const versusOpenstack = checkAgainstOpenstack !== undefined
  ? `\n\`check\` of one watch is ${checkAgainstOpenstack.toFixed(1)} × faster than \`openstack server event show\` of the same action (the median, over 7 pairs run in turn, of each pair's ratio of wall times; the table gives each command's median).\n`
  : '\nNo `openstack` command on this machine: the comparison with python-openstackclient is left out.\n';
const report = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); numbers from one run on one machine, ratios within that run.

- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}
- Node.js ${process.versions.node}; the daemon runs the bundle (\`npm run build\`) as the image does: \`${PRODUCTION_ENV_SHOWN} node dist/ecs-action-watch.mjs run\`
- The daemon's \`cloud.auth\`: ${auth} (\`BENCH_AUTH\`; the bench's cloud checks no credential; the yardsticks and the one-shot commands send none)
- Run ${startedAt.toISOString()}; load average (1, 5, 15 min) ${loadAtStart} at the start, ${loadAtEnd} at the end. The machine is
  shared: a load above its ${cpu.length} cores slows every figure, and the ratios less than the absolute numbers.

## The daemon, ${CONCURRENCY} polls in flight (\`poll.concurrency: ${CONCURRENCY}\`), against autocannon and undici alone

Each watch is a reboot whose one event runs until the bench ends them all; the daemon polls every second.
*Sweep* is polls per second within a pass (the server's view, from a pass's first request to its last, a stall within it included, over ${MEASURED_PASSES} passes, the first ${WARM_UP_PASSES} left out as V8's warm-up); *ceiling* is autocannon's
average over 5 s, after 5 s that warm the server up as the warm-up passes warm it for the daemon, against the same server, the same paths and headers and ${CONCURRENCY} connections. *undici alone* is
bench/undiciAlone.ts in a process of its own, as long, after a warm-up as long, and on the same paths with the daemon's headers: undici's dispatcher, ${CONCURRENCY}
requests in flight, each body joined and parsed as JSON and nothing else; its rate, its rate against autocannon's in brackets,
and its CPU time per request. *In passes* it polls as the daemon does: every watch once from the start of each second, then idle;
its rate is within ${MEASURED_PASSES} passes, the first ${WARM_UP_PASSES} left out, seen by the server as the sweep is, so *sweep / undici in passes* compares like with like. *CPU per poll* is the daemon's CPU time over its polls in the measured passes. *Verdict to webhook* is from the payload's \`detectedAt\` to
the receiver (a process of its own, not the cloud's), for every watch finishing at once (${'`'}count${'`'} in brackets); *the same after a restart* is the restarted daemon's below, whose watches all finish once its peak is read. *Start-up* is from spawning the
process to the first request at the server. *State per idle pass* is what a pass that changed nothing wrote;
*state written while all finish* counts journal lines and snapshots (compactions, in brackets) until the state has stood still for 5 s; *state on disk* is the snapshot and journal together.
*Peak RSS* is the daemon's from its start through every watch finishing, and in brackets from its start until the wave; *at a restart* is that of another daemon, of the same watches on a server of
their own, started again on the state its first process saved after ${RESTART_PASSES} passes, through as many passes; *at a reload* is the first daemon's highest peak while it reads its file again
after every watch finished, over ${RELOADS} reloads (a comment appended each time, as any edit or \`add\` makes one), each measured alone from its resident memory of that moment (Linux's \`clear_refs\`).

${row(daemonColumns)}
${row(daemonColumns.map(() => '---'))}
${daemonRows.join('\n')}

## One-shot commands (median of 7 runs where no other number is given, after a warm-up; \`node bin/ecs-action-watch.mjs\`, which runs the bundle through the compile cache)

${row(['command', 'wall', 'CPU (user + system)', 'peak RSS', '× curl'])}
${row(['---', '---', '---', '---', '---'])}
${shotRows.join('\n')}
${versusOpenstack}`;
if (oneShotsOnly) {
  console.log(`load average ${loadAtStart} at the start, ${loadAtEnd} at the end\n${shotRows.join('\n')}\n${versusOpenstack}`);
} else {
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), report);
  console.log(report);
}
