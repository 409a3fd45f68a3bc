// The demo a newcomer runs first (`npm run demo`), whole: it takes its 8-10 s of real time (a stuck watch's
// deadline is part of its story), so it is a file of its own, run beside the others.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { closedPort } from '../../scripts/closedPort.ts';
import { COMPILE_CACHE } from './daemon.ts';
import { Capture, itWithHarness as it } from './harness.ts';
import { eventually } from '../eventually.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('demo', () => {
  // It gives up at 25 s rather than hang.
  it('runs the whole flow on its own cloud and receivers, every watch ending as expected and notified, and exits 0', { timeout: 30_000 }, async ({ h }) => {
    const r = await h.cli(['demo'], { env: { LOG_LEVEL: undefined } });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const table = r.stdout.slice(r.stdout.indexOf('\nWATCH ') + 1).split('\n\n')[0]!.split('\n');
    expect(table[0]).toMatch(/^WATCH +EXPECTED +OUTCOME +DELIVERIES$/);
    const rows = table.slice(1).map((row) => /^(.+?) +(\w+) +(\w+) +(.+)$/.exec(row)!.slice(2));
    expect(rows.length).toBeGreaterThan(1);
    for (const [expected, outcome, deliveries] of rows) {
      expect(outcome).toBe(expected);
      expect(deliveries).toMatch(/^chat:delivered( ops-mail:delivered)?$/);
    }
    expect(r.stdout).toMatch(/^\d+ webhooks and \d+ mails delivered; \d+ API requests answered\.\nauth: \d+ Keystone tokens fetched .*; aksk: (\d+) of \1 reads accepted, token: (\d+) of \2 reads accepted\.$/m);
  });

  it('stops at Ctrl-C with the status of the signal, on its own rather than abandoned', async ({ h }) => {
    const stop = new AbortController();
    const stdout = new Capture();
    const running = h.cli(['demo'], { signal: stop.signal, stdout, env: { LOG_LEVEL: undefined } });
    await eventually(() => expect(stdout.text).toContain('] poll    '), { timeout: 10_000, interval: 20 });
    stop.abort('SIGINT');
    expect(await running).toMatchObject({ code: 130, stderr: '' });
  });

  // A process of its own: the proxy variables are the environment's, read as its first request goes out. The
  // sources rather than the run's bundle, which has no node_modules beside it for the mail sink.
  // With the compile cache the daemons share, as the other processes of the tests: the sources load in a third of the time.
  it('reaches its own cloud and receivers on 127.0.0.1 directly, though the environment names a proxy', async () => {
    // A company's proxy cannot reach this host's loopback: one that is down stands for it.
    const proxy = `http://127.0.0.1:${await closedPort()}`;
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NODE_COMPILE_CACHE: COMPILE_CACHE };
    for (const name of ['LOG_LEVEL', 'NO_PROXY', 'no_proxy']) delete env[name];
    const child = spawn(process.execPath, [MAIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(child, 'exit');
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const polls = () => stdout.split('\n').filter((line) => line.includes('] poll    '));
    try {
      // The first round of polls: one line for each of the eight watches. The sources load cold, beside the
      // rest of the suite: 2 s alone, 17 s at a load of 10-12.
      await eventually(() => expect(polls().length, `${stdout}\n${stderr}`).toBeGreaterThanOrEqual(8), { timeout: 40_000, interval: 50 });
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    expect(polls().filter((line) => line.includes('last poll failed'))).toEqual([]);
  });

  it('leaves no folder behind when a second signal ends it at once, before its own stop has cleaned up', async () => {
    const temporary = await mkdtemp(join(tmpdir(), 'eaw-demo-tmp-'));
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: temporary, NODE_COMPILE_CACHE: COMPILE_CACHE };
    delete env['LOG_LEVEL'];
    const child = spawn(process.execPath, [MAIN, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(child, 'exit');
    let stdout = '';
    let stopped = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stopped || !stdout.includes('ECS simulator on')) return;
      stopped = true;
      // Its folder is made; the daemon is still to start. A second signal other than the first ends the
      // process at once, as a second Ctrl-C does 200 ms after the first (an impatient newcomer).
      child.kill('SIGINT');
      child.kill('SIGTERM');
    });
    await exited;
    expect(stdout).toContain('ECS simulator on');
    expect((await readdir(temporary)).filter((name) => name.startsWith('ecs-action-watch-demo-'))).toEqual([]);
  });
});
