// The way out through a company's HTTP proxy (HTTPS_PROXY, HTTP_PROXY), in processes of their own: which
// parts of undici a process loads is the process's, and tests run in-process share a module graph in which
// other files have loaded undici's index, which hid that no https:// request could go through a proxy.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { makeCertificates } from '../certificates.ts';
import { Harness, quickAction } from './harness.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let dir: string;
let certificates: ReturnType<typeof makeCertificates>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eaw-proxy-'));
  certificates = makeCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A proxy on loopback, closed after the test; `seen` lists what it was asked (`CONNECT 127.0.0.1:443`, `GET http://...`). */
async function startProxy({ onTestFinished }: TestContext, proxy: Server): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  proxy.on('connect', (req: IncomingMessage) => seen.push(`CONNECT ${req.url}`));
  proxy.on('request', (req: IncomingMessage) => seen.push(`${req.method} ${req.url}`));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    proxy.closeAllConnections();
    return new Promise<void>((resolve) => proxy.close(() => resolve()));
  });
  return { url: `127.0.0.1:${(proxy.address() as AddressInfo).port}`, seen };
}

async function harness({ onTestFinished }: TestContext): Promise<Harness> {
  const h = await Harness.start({ tls: { key: certificates.key, cert: certificates.cert } });
  onTestFinished(() => h.close());
  return h;
}

/** The command line in a process of its own, with `proxyEnv` as its only proxy settings. */
function cli(h: Harness, args: string[], proxyEnv: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, ...h.env, HTTP_PROXY: '', HTTPS_PROXY: '', NO_PROXY: '', http_proxy: undefined, https_proxy: undefined, no_proxy: undefined, ...proxyEnv };
  return new Promise((resolve) => {
    // Killed after 15 s: a request that cannot go through the proxy would otherwise keep `run` or `wait` up for good.
    execFile(process.execPath, [MAIN, ...args], { env, timeout: 15_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err.code as number | null), stdout, stderr }));
  });
}

/** The simulator's and the sink's certificates are signed by the test's private CA. */
const cloud = () => `  tls: { caFile: ${certificates.caFile} }`;

describe.concurrent('through a proxy', () => {
  it('run --until-done polls an https:// cloud and delivers to an https:// webhook through the proxy\'s tunnels', async (context) => {
    const h = await harness(context);
    const hooks = await startWebhookSink({ tls: { key: certificates.key, cert: certificates.cert } });
    context.onTestFinished(() => hooks.close());
    const proxy = await startProxy(context, createProxy(createServer()));
    const action = quickAction();
    h.simulator.addAction(action);
    const notifiers = `  chat:\n    type: webhook\n    url: ${hooks.url}\n    timeout: 2s`;
    const path = await h.writeConfig(h.yaml([action], { cloud: cloud(), notifiers }));

    const r = await cli(h, ['run', '--until-done', '--config', path], { HTTPS_PROXY: `http://${proxy.url}` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(hooks.received.map((hook) => hook.body)).toEqual([expect.objectContaining({ type: 'ecs.action.succeeded' })]);
    const tunnels = new Set(proxy.seen);
    expect(tunnels).toEqual(new Set([`CONNECT ${new URL(h.simulator.url).host}`, `CONNECT ${new URL(hooks.url).host}`]));
  });
});
