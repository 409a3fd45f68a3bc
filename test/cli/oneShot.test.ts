// One-shot commands in a process of their own against the simulator: V8's settings (src/cli/main.ts), which
// are process-wide, with what V8 malloc'ed being the process's; and a log line that must be written before the
// process exits, with the logger loaded only for it (src/observability/deferredLogger.ts).
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { cliBundle } from '../e2e/daemon.ts';
import { newIds } from '../e2e/harness.ts';

/** The bundle that bin/ and the image run, compiled afresh (no compile cache): V8's own work is what is looked at. */
const BUNDLE = cliBundle();
const PROJECT = '6f70656e737461636b20342065766572';
// At exit, what V8 malloc'ed at its peak (compiler zones, wasm code among them), in MB.
const PEAK_MALLOC_AT_EXIT = `data:text/javascript,process.on('exit', () => process.stderr.write('peak-malloc ' + process.getBuiltinModule('node:v8').getHeapStatistics().peak_malloced_memory / 1048576 + '\\n'))`;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
});

type Ids = ReturnType<typeof newIds>;

/**
 * The simulator and a watch file with `extra` lines for the ids returned; `begin()` starts their reboot, of
 * `durationMs`.
 */
async function setUp(durationMs: number, extra: (ids: Ids) => string[]): Promise<{ sim: Simulator; ids: Ids; config: string; begin: () => void }> {
  sim = await startSimulator({ token: 'T' });
  const ids = newIds();
  const started = sim;
  const begin = () => void started.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs }] });
  const config = join(await mkdtemp(join(tmpdir(), 'eaw-oneshot-')), 'watch.yaml');
  // Only its owner may read it, as a file with a token written in should be: else a warning says so.
  await writeFile(config, ['cloud:', `  endpoint: ${sim.url}`, `  projectId: ${PROJECT}`, '  auth: { type: token, token: T }', '  microversion: "2.60"', ...extra(ids)].join('\n'), { mode: 0o600 });
  return { sim, ids, config, begin };
}

/** The command's exit status and its two outputs. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { encoding: 'utf8', env: { PATH: process.env['PATH'], ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }));
  });
}

describe('one-shot commands', () => {
  it('keep undici\'s wasm HTTP parser in the baseline compiler: a wait of several polls mallocs no optimising recompile of it', async () => {
    const { sim, ids, config, begin } = await setUp(4000, () => ['poll:', '  schedule: "* * * * * *"']);
    // --wasm-sync-tier-up: a recompile happens at once when V8 decides on it, not on a thread a loaded machine may not have run yet.
    const waited = run(['--wasm-sync-tier-up', `--import=${PEAK_MALLOC_AT_EXIT}`, BUNDLE, 'wait', '--config', config, '--server', ids.serverId, '--request', ids.requestId]);
    // The reboot's 4 s begin at wait's first read (not yet found, so read again): at least 4 reads a second
    // apart, however long a loaded machine takes to start `wait` from the sources.
    await vi.waitUntil(() => sim.requests.length > 0, { timeout: 15_000, interval: 10 });
    begin();
    const { code, stdout, stderr } = await waited;
    expect(code).toBe(0);
    expect(stdout).toMatch(/^success: /);
    expect(sim.requests.filter((r) => r.route === 'action').length).toBeGreaterThanOrEqual(4);
    const peak = Number(/peak-malloc ([\d.]+)/.exec(stderr)?.[1]);
    // Measured on the bundle: 24 MB with the optimising recompile, 2.5 MB without.
    expect(peak).toBeLessThan(12);
  });

  it('write the line of a poll that failed, the last thing check did, before the process exits', async () => {
    const { sim, ids, config, begin } = await setUp(60_000, (ids) => ['poll:', '  retries: 0', 'watches:', `  - { serverId: ${ids.serverId}, requestId: ${ids.requestId} }`]);
    begin();
    sim.injectFault({ kind: 'server-error' }, { route: 'action', times: 10 });
    // check logs only errors by default (its row has the poll's error): the warning asked for, to see it flushed.
    const { code, stderr } = await run([BUNDLE, 'check', '--config', config], { LOG_LEVEL: 'warn' });
    expect(code).toBe(1);
    const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      // check polls once: nothing about a next schedule.
      expect.objectContaining({ level: 'warn', requestId: ids.requestId, serverId: ids.serverId, msg: 'poll failed' }),
    ]);
  });

  it('check says a failed poll once, in its row, without a warning above the table', async () => {
    const { sim, config, begin } = await setUp(60_000, (ids) => ['poll:', '  retries: 0', 'watches:', `  - { serverId: ${ids.serverId}, requestId: ${ids.requestId} }`]);
    begin();
    sim.injectFault({ kind: 'server-error' }, { route: 'action', times: 10 });
    const { code, stdout, stderr } = await run([BUNDLE, 'check', '--config', config]);
    expect(code).toBe(1);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/poll failed.*500/);
  });
});
