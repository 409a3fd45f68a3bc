// Readiness probes of a daemon whose state volume hangs (an NFS server gone). Each look at the state folder
// then waits in the kernel and holds one of libuv's four threads until the volume answers; when every one
// is held, everything else that needs them waits too: DNS lookups of the cloud's and receivers' hosts, reads
// of the watch file and of credential files. A volume that hangs takes a FUSE file system or root to make,
// so the probe's file is opened on a named pipe nobody reads, whose open blocks in the kernel as on a hung
// mount; everything else is the real file system.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { closedPort } from '../../scripts/closedPort.ts';
import { Harness } from './harness.ts';
import { eventually } from '../eventually.ts';

/** While set, a file opened in `folder` is opened on the named pipe `pipe`. */
const volume = vi.hoisted(() => ({ hung: null as { folder: string; pipe: string } | null }));
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: (path: string, ...rest: Parameters<typeof real.open> extends [unknown, ...infer R] ? R : never) => {
      const hung = volume.hung;
      return hung !== null && String(path).startsWith(`${hung.folder}/`) ? real.open(hung.pipe, 'w') : real.open(path, ...rest);
    },
  };
});

/** libuv's threads of this process that wait in the kernel for a reader of a named pipe. */
function threadsHeld(): number {
  return readdirSync('/proc/self/task').filter((task) => {
    try {
      return readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'libuv-worker' && readFileSync(`/proc/self/task/${task}/wchan`, 'utf8') === 'wait_for_partner';
    } catch {
      return false;
    }
  }).length;
}

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  volume.hung = null;
  await h.close();
});

/**
 * `run` of no watch, its health server on a port of its own (`base`), and `pipe`, a FIFO with no reader
 * yet: what a look at the state folder opens once `volume.hung` points at it waits as on a volume that hangs.
 */
async function runWithProbes() {
  const port = await closedPort();
  const path = await h.writeConfig(h.yaml([], { http: `  port: ${port}\n  host: 127.0.0.1` }));
  const stop = new AbortController();
  const running = h.cli(['run', '--config', path], { signal: stop.signal });
  const pipe = join(h.dir, 'hung-volume');
  execFileSync('mkfifo', [pipe]);
  return { base: `http://127.0.0.1:${port}`, path, stop, running, pipe };
}

it('holds at most one of libuv\'s threads for /readyz however often it is asked while the state volume hangs, so that the rest of the process goes on', async () => {
  const { base, path, stop, running, pipe } = await runWithProbes();
  let reader: number | undefined;
  try {
    await eventually(async () => expect((await request(`${base}/readyz`)).statusCode).toBe(200), { timeout: 15_000 });
    volume.hung = { folder: join(h.dir, 'state'), pipe };
    // The kubelet's readiness probe every 10 s, each given up after its timeoutSeconds (3 s): five of them.
    const probes = Array.from({ length: 5 }, () => request(`${base}/readyz`, { headersTimeout: 3000 }).then((answer) => answer.statusCode, (err: Error) => err.name));
    await eventually(() => expect(threadsHeld()).toBeGreaterThan(0), { timeout: 15_000 });
    // Each answered within the probe's timeoutSeconds: see the test below.
    expect(await Promise.all(probes)).toEqual(Array(5).fill(503));
    expect(threadsHeld()).toBe(1);
    // A read of another volume (the watch file's ConfigMap) is not held up behind the hung one.
    expect(await readFile(path, 'utf8')).toContain('watches:');
  } finally {
    // The volume answers again: every open waiting on the pipe gets its reader.
    reader = openSync(pipe, constants.O_RDONLY | constants.O_NONBLOCK);
    await eventually(() => expect(threadsHeld()).toBe(0), { timeout: 15_000 });
    volume.hung = null;
    closeSync(reader);
    stop.abort('SIGTERM');
    expect((await running).code).toBe(0);
  }
}, 60_000);

it('answers /readyz 503 within 2 s while the state volume hangs, saying so, and every probe after at once, rather than keeping each request for good', async () => {
  const { base, stop, running, pipe } = await runWithProbes();
  // The kubelet's probe gives up after its timeoutSeconds (3 s): an answer after that is no answer.
  const probe = async () => {
    const answer = await request(`${base}/readyz`, { headersTimeout: 3000 });
    return { status: answer.statusCode, body: await answer.body.text() };
  };
  try {
    await eventually(async () => expect((await probe()).status).toBe(200), { timeout: 15_000 });
    volume.hung = { folder: join(h.dir, 'state'), pipe };
    const hung = { status: 503, body: expect.stringMatching(/^not ready: StateError: state file .*state\.json: its folder has not answered a look for 2(\.\d)? s: a volume that hangs \(an NFS server gone\)\?\n$/) };
    expect(await probe()).toEqual(hung);
    // The look still under way has waited its 2 s: the probes after it wait for nothing.
    const asked = performance.now();
    expect(await Promise.all([probe(), probe(), probe()])).toEqual(Array(3).fill({ ...hung, body: expect.stringContaining('its folder has not answered a look for') }));
    expect(performance.now() - asked).toBeLessThan(1500);
  } finally {
    const reader = openSync(pipe, constants.O_RDONLY | constants.O_NONBLOCK);
    await eventually(() => expect(threadsHeld()).toBe(0), { timeout: 15_000 });
    volume.hung = null;
    closeSync(reader);
  }
  // The volume answers again: so does readiness.
  await eventually(async () => expect((await probe()).status).toBe(200), { timeout: 15_000 });
  stop.abort('SIGTERM');
  expect((await running).code).toBe(0);
}, 60_000);
