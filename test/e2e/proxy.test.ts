// The way out through a company's HTTP proxy (HTTPS_PROXY, HTTP_PROXY), in processes of their own: which
// parts of undici a process loads is the process's, and tests run in-process share a module graph in which
// other files have loaded undici's index, which hid that no https:// request could go through a proxy.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { makeCertificates } from '../certificates.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { Harness, quickAction } from './harness.ts';
import { COMPILE_CACHE, cliBundle } from './daemon.ts';

const PROXY_PASSWORD = 'Pr0xy-SECRET-pass';

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

/** A proxy that asks for `u` / PROXY_PASSWORD (407 without them). */
function proxyWithLogin(): Server {
  const proxy = createProxy(createServer());
  const expected = `Basic ${Buffer.from(`u:${PROXY_PASSWORD}`).toString('base64')}`;
  Object.assign(proxy, { authenticate: (req: IncomingMessage) => req.headers['proxy-authorization'] === expected });
  return proxy;
}

async function harness({ onTestFinished }: TestContext): Promise<Harness> {
  const h = await Harness.start({ tls: { key: certificates.key, cert: certificates.cert } });
  onTestFinished(() => h.close());
  return h;
}

/** The command line in a process of its own, with `proxyEnv` as its only proxy settings. */
function cli(h: Harness, args: string[], proxyEnv: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, ...h.env, HTTP_PROXY: '', HTTPS_PROXY: '', NO_PROXY: '', http_proxy: undefined, https_proxy: undefined, no_proxy: undefined, NODE_COMPILE_CACHE: COMPILE_CACHE, ...proxyEnv };
  return new Promise((resolve) => {
    // Killed after 15 s: a request that cannot go through the proxy would otherwise keep `run` or `wait` up for good.
    execFile(process.execPath, [cliBundle(), ...args], { env, timeout: 15_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err.code as number | null), stdout, stderr }));
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

  it.for([
    ['without a user and password', '', /the proxy in HTTPS_PROXY asks for a user and password: write them into its URL, http:\/\/user:password@host:port \(407 Proxy Authentication Required\)/],
    ['with a wrong password', 'u:wrong-pass@', /the proxy in HTTPS_PROXY refused the user and password in its URL: correct them .* \(407 Proxy Authentication Required\)/],
  ] as const)('wait exits 2 at once when the proxy refuses it %s (a 407 to the tunnel), naming the variable, not the watch file', async ([, login, says], context) => {
    const h = await harness(context);
    const proxy = await startProxy(context, proxyWithLogin());
    const action = quickAction();
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([], { cloud: cloud() }));
    const wait = ['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'];

    // At once: cli() kills a wait still waiting at 15 s (code null), where its --timeout is half an hour.
    const r = await cli(h, wait, { HTTPS_PROXY: `http://${login}${proxy.url}` });
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/^ecs-action-watch wait: cannot reach the cloud: last poll failed: GET https:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → proxy not usable: /);
    expect(r.stderr).toMatch(says);
    expect(r.stderr).toMatch(/\(a variable of wait's environment, not of the watch file\)\n$/);
    expect(r.stderr).not.toContain('wrong-pass');

    const fixed = await cli(h, wait, { HTTPS_PROXY: `http://u:${PROXY_PASSWORD}@${proxy.url}` });
    expect(fixed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: reboot: /) });
  });

  it('wait exits 2 at once for a forwarding proxy\'s 407 to an http:// cloud, naming HTTP_PROXY', async (context) => {
    const h = await Harness.start();
    context.onTestFinished(() => h.close());
    const proxy = await startProxy(context, proxyWithLogin());
    const action = quickAction();
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([]));
    const r = await cli(h, ['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'], { HTTP_PROXY: `http://${proxy.url}` });
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: cannot reach the cloud: last poll failed: GET http:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → proxy not usable: the proxy in HTTP_PROXY asks for a user and password: .* \(407 Proxy Authentication Required\) \(a variable of wait's environment, not of the watch file\)\n$/,
    );
  });

  it('says a proxy that refuses the tunnel to the cloud refuses it (403), and what to do, rather than a network error', async (context) => {
    const h = await harness(context);
    const denying = createServer();
    denying.on('connect', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n'));
    const proxy = await startProxy(context, denying);
    const action = quickAction();
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([action], { cloud: cloud() }));
    const r = await cli(h, ['check', '--json', '--config', path], { https_proxy: `http://${proxy.url}` });
    expect(r.code).toBe(1);
    const [row] = JSON.parse(r.stdout) as Array<{ lastError: string }>;
    expect(row!.lastError).toMatch(
      /→ proxy not usable: the proxy in https_proxy refused to open a way to 127\.0\.0\.1:\d+ \(403 Forbidden\): have the proxy allow that host and port, or add the host to NO_PROXY if it is reached without the proxy$/,
    );
  });

  it('keeps the proxy\'s password out of what it shows when the proxy answers in the server\'s place, echoing the request', async (context) => {
    const h = await Harness.start();
    context.onTestFinished(() => h.close());
    // A gateway's error page that quotes the request it could not forward, Proxy-Authorization included.
    const echoing = createServer((req, res) => {
      req.resume();
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`cannot reach ${req.url}; you sent proxy-authorization: ${req.headers['proxy-authorization']}`);
    });
    const proxy = await startProxy(context, echoing);
    const action = quickAction();
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([action]));
    const env = { HTTP_PROXY: `http://u:${encodeURIComponent(PROXY_PASSWORD)}@${proxy.url}` };
    const basic = Buffer.from(`u:${PROXY_PASSWORD}`).toString('base64');

    const sent = await cli(h, ['notify-test', '--notifier', 'chat', '--config', path], env);
    expect(sent.code).toBe(1);
    expect(sent.stdout).toMatch(/answered 502 Bad Gateway: cannot reach .*; you sent proxy-authorization: Basic <hidden>/);
    const checked = await cli(h, ['check', '--json', '--config', path], env);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/502 Bad Gateway.*you sent proxy-authorization: Basic <hidden>/);
    for (const output of [sent.stdout, sent.stderr, checked.stdout, checked.stderr]) {
      expect(output).not.toContain(basic);
      expect(output).not.toContain(PROXY_PASSWORD);
    }
    expect(proxy.seen).toEqual(expect.arrayContaining([`POST ${h.hooks.url}`, expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/v2\.1/)]));
  });

  it('names the proxy, not the receiver, when it is the proxy that refuses the connection', async (context) => {
    const h = await Harness.start();
    context.onTestFinished(() => h.close());
    const port = await closedPort();
    const path = await h.writeConfig(h.yaml([]));
    const r = await cli(h, ['notify-test', '--notifier', 'chat', '--config', path], { HTTP_PROXY: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`POST ${h.hooks.url} failed: connection refused by the proxy in HTTP_PROXY (127.0.0.1:${port})`);
  });
});
