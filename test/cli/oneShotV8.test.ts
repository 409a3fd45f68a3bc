// The one-shot commands' V8 settings (src/cli/main.ts), measured in a `wait` of its own process against the
// simulator: V8's flags are process-wide, and what it malloc'ed is the process's.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { newIds } from '../e2e/harness.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PROJECT = '6f70656e737461636b20342065766572';
// At exit, what V8 malloc'ed at its peak (compiler zones, wasm code among them), in MB.
const PEAK_MALLOC_AT_EXIT = `data:text/javascript,process.on('exit', () => process.stderr.write('peak-malloc ' + process.getBuiltinModule('node:v8').getHeapStatistics().peak_malloced_memory / 1048576 + '\\n'))`;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
});

describe('one-shot commands', () => {
  it('keep undici\'s wasm HTTP parser in the baseline compiler: a wait of several polls mallocs no optimising recompile of it', async () => {
    sim = await startSimulator({ token: 'T' });
    const ids = newIds();
    sim.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 2500 }] });
    const dir = await mkdtemp(join(tmpdir(), 'eaw-oneshot-'));
    const config = join(dir, 'watch.yaml');
    await writeFile(config, [
      'cloud:',
      `  endpoint: ${sim.url}`,
      `  projectId: ${PROJECT}`,
      '  auth: { type: token, token: T }',
      '  microversion: "2.60"',
      'poll:',
      '  schedule: "* * * * * *"',
    ].join('\n'));
    // --wasm-sync-tier-up: a recompile happens at once when V8 decides on it, not on a thread a loaded machine may not have run yet.
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--wasm-sync-tier-up', `--import=${PEAK_MALLOC_AT_EXIT}`, MAIN, 'wait', '--config', config, '--server', ids.serverId, '--request', ids.requestId],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] }, timeout: 20_000 },
    );
    expect(stdout).toMatch(/^success: /);
    expect(sim.requests.filter((r) => r.route === 'action').length).toBeGreaterThanOrEqual(4);
    const peak = Number(/peak-malloc ([\d.]+)/.exec(stderr)?.[1]);
    // 26 MB with the optimising recompile, 11 MB without (the sources' type stripping is wasm of its own).
    expect(peak).toBeLessThan(18);
  });
});
