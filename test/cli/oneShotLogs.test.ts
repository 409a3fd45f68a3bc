// A one-shot command loads its logger at its first line (src/observability/deferredLogger.ts): measured in a
// process of its own, whose exit must not come before that line is written.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { newIds } from '../e2e/harness.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PROJECT = '6f70656e737461636b20342065766572';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
});

describe('a one-shot command\'s log', () => {
  it('has the line of a poll that failed as the last thing check did, before the process exits', async () => {
    sim = await startSimulator({ token: 'T' });
    const ids = newIds();
    sim.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 60_000 }] });
    sim.injectFault({ kind: 'server-error' }, { route: 'action', times: 10 });
    const dir = await mkdtemp(join(tmpdir(), 'eaw-oneshot-log-'));
    const config = join(dir, 'watch.yaml');
    await writeFile(config, [
      'cloud:',
      `  endpoint: ${sim.url}`,
      `  projectId: ${PROJECT}`,
      '  auth: { type: token, token: T }',
      '  microversion: "2.60"',
      'poll:',
      '  retries: 0',
      'watches:',
      `  - { serverId: ${ids.serverId}, requestId: ${ids.requestId} }`,
    ].join('\n'));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, 'check', '--config', config], { encoding: 'utf8', env: { PATH: process.env['PATH'] }, timeout: 20_000 }, (err, _stdout, stderr) =>
        resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr }));
    });
    expect(code).toBe(1);
    const warnings = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(warnings).toEqual([
      expect.objectContaining({ level: 'warn', requestId: ids.requestId, serverId: ids.serverId, msg: 'poll failed; trying again on the next schedule' }),
    ]);
  });
});
