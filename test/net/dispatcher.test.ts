// The connection pool is made at the first request, once undici has loaded: what goes wrong in making it
// must fail that request with its reason, as it does every later one, and closing must not miss it.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy } from 'proxy';
import { afterEach, expect, it, vi } from 'vitest';
import { attempt, failedResize, silentLogger } from '../notify/fixtures.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { makeCertificates } from '../certificates.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

/**
 * A server on loopback answering `text`, a dispatcher made as the environment is now (from the module graph
 * loaded now), and a GET of the server through it.
 */
async function answering(text: string, options: { ca?: string[] } = {}) {
  const { createHttpDispatcher } = await import('../../src/net/dispatcher.ts');
  const { requestText } = await import('../../src/net/requestText.ts');
  const server = createServer((_req, res) => res.end(text));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const dispatcher = createHttpDispatcher({ timeout: 5000, ...options });
  const get = () => requestText(dispatcher, { method: 'GET', url, headers: {} }, { timeoutMs: 5000, keep: 1024, keepError: 1024, drain: 1024 }, []);
  const stop = () => {
    server.close();
    server.closeAllConnections();
  };
  return { dispatcher, get, stop };
}

/** A proxy on loopback over `server` (plain HTTP or TLS), the only proxy variable set: `variable`, written `scheme`://. */
async function onlyProxy(server: Server, variable: string, scheme: 'http' | 'https') {
  const proxy = createProxy(server);
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) vi.stubEnv(name, undefined);
  vi.stubEnv(variable, `${scheme}://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
  return () => {
    proxy.closeAllConnections();
    proxy.close();
  };
}

it('fails the first request with the reason its pool cannot be made (a proxy that is no URL), not a timeout and an unhandled rejection', async () => {
  vi.stubEnv('HTTPS_PROXY', '10.0.0.1:3128');
  // A module graph of its own, so that undici is not loaded yet, as in a fresh process.
  vi.resetModules();
  const { createWebhookNotifier } = await import('../../src/notify/webhook/webhook.ts');
  const url = `http://127.0.0.1:${await closedPort()}/ecs`;
  const hook = createWebhookNotifier('chat', { type: 'webhook', url, headers: {}, timeout: 1000, on: ['failure'] }, { logger: silentLogger });
  try {
    for (const n of [1, 2]) {
      // (Its DeliveryError is another module graph's class: matched by its fields.)
      await expect(hook.send(failedResize(), attempt(undefined, n))).rejects.toMatchObject({
        message: `webhook chat: POST ${url} failed: the proxy in HTTPS_PROXY is not an http:// or https:// URL: write it as http://host:port, or unset HTTPS_PROXY`,
        retryable: true,
      });
    }
  } finally {
    await hook.close();
  }
});

it.each([
  ['a proxy without its scheme', { HTTP_PROXY: 'user:Pr0xyPass@proxy.example.com:3128' }, 'HTTP_PROXY'],
  ['a scheme without its host', { https_proxy: 'http://' }, 'https_proxy'],
  // undici reads the lower-case name first, set at all: HTTP_PROXY beside it is not used.
  ['the lower-case name over the upper-case one', { http_proxy: 'htp://proxy:3128', HTTP_PROXY: 'http://proxy.example.com:3128' }, 'http_proxy'],
])('names the variable of %s, without its value, which may hold the password', async (_case, env, name) => {
  const failed = await requestThroughProxyVariables(env);
  expect(failed.message).toContain(`the proxy in ${name} is not an http:// or https:// URL: write it as http://host:port, or unset ${name}`);
  for (const shown of ['Pr0xyPass', 'proxy.example.com', 'htp:']) expect(JSON.stringify(failed, Object.getOwnPropertyNames(failed))).not.toContain(shown);
});

it('names the variable whose user or password holds a % that is no escape (50%off), which undici cannot decode: not a network error "URI malformed"', async () => {
  const failed = await requestThroughProxyVariables({ HTTP_PROXY: 'http://user:Pr0xy50%off@proxy.example.com:3128' });
  // ProxyVariableError, which the cloud's exchange makes an ApiError of kind `proxy`.
  expect(failed).toMatchObject({ name: 'ProxyVariableError', variable: 'HTTP_PROXY' });
  expect(failed.message).toContain('%25');
  for (const shown of ['Pr0xy', 'proxy.example.com']) expect(JSON.stringify(failed, Object.getOwnPropertyNames(failed))).not.toContain(shown);
});

/** The error of a request made with the proxy variables `env`, by a dispatcher made after they are set. */
async function requestThroughProxyVariables(env: Record<string, string>): Promise<Error> {
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  vi.resetModules();
  const { createHttpDispatcher } = await import('../../src/net/dispatcher.ts');
  const { requestText } = await import('../../src/net/requestText.ts');
  const dispatcher = createHttpDispatcher({ timeout: 1000 });
  try {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    return await requestText(dispatcher, { method: 'GET', url, headers: {} }, { timeoutMs: 1000, keep: 1024, keepError: 1024, drain: 1024 }, []).then(
      () => new Error('the request did not fail'),
      (err: unknown) => err as Error,
    );
  } finally {
    await dispatcher.close();
  }
}

it.each([
  ['10.0.0.0/8, 127.0.0.0/8', 'direct'],
  ['fd00::/8,127.0.0.1/32', 'direct'],
  ['10.0.0.0/8', 'through the proxy'],
])('reads the address ranges of NO_PROXY (%s), which undici leaves out, for a host written as an address: %s', async (noProxy, way) => {
  const proxyPort = await closedPort();
  vi.stubEnv('HTTP_PROXY', `http://127.0.0.1:${proxyPort}`);
  vi.stubEnv('http_proxy', undefined);
  vi.stubEnv('NO_PROXY', noProxy);
  vi.stubEnv('no_proxy', undefined);
  const { dispatcher, get, stop } = await answering('direct');
  try {
    if (way === 'direct') await expect(get()).resolves.toMatchObject({ status: 200, text: 'direct' });
    else await expect(get()).rejects.toMatchObject({ code: 'ECONNREFUSED', port: proxyPort });
  } finally {
    await dispatcher.close();
    stop();
  }
});

it.each(['close', 'destroy'] as const)('%ss the pool that NO_PROXY\'s address ranges go to directly as well as the proxy\'s: none goes out after it', async (end) => {
  vi.stubEnv('HTTP_PROXY', `http://127.0.0.1:${await closedPort()}`);
  vi.stubEnv('http_proxy', undefined);
  vi.stubEnv('NO_PROXY', '127.0.0.0/8');
  vi.stubEnv('no_proxy', undefined);
  const { dispatcher, get, stop } = await answering('direct');
  try {
    await expect(get()).resolves.toMatchObject({ status: 200, text: 'direct' });
    await dispatcher[end]();
    await expect(get()).rejects.toThrow(/closed|destroyed/i);
  } finally {
    stop();
  }
});

it('closes a pool that close() found still being made: the request before it is answered, none goes out after it', async () => {
  vi.resetModules();
  const { dispatcher, get, stop } = await answering('ok');
  try {
    // close() comes while undici is still loading for the first request.
    const first = get();
    await dispatcher.close();
    await expect(first).resolves.toMatchObject({ status: 200, text: 'ok' });
    await expect(get()).rejects.toThrow(/closed|destroyed/i);
  } finally {
    stop();
  }
});

it.each([
  ['an http:// origin, which the proxy forwards', 'http'],
  ['an https:// origin, which the proxy tunnels', 'https'],
])('keeps no more connections than `connections` to a proxy, for %s', async (_case, scheme) => {
  vi.stubEnv('HTTP_PROXY', '');
  vi.stubEnv('HTTPS_PROXY', '');
  vi.stubEnv('http_proxy', undefined);
  vi.stubEnv('https_proxy', undefined);
  vi.stubEnv('NO_PROXY', '');
  vi.stubEnv('no_proxy', undefined);
  const dir = mkdtempSync(join(tmpdir(), 'eaw-dispatcher-'));
  const certificates = makeCertificates(dir);
  const answer = (_req: IncomingMessage, res: ServerResponse) => setTimeout(() => res.end('ok'), 20);
  const server = scheme === 'https' ? createHttpsServer({ key: certificates.key, cert: certificates.cert }, answer) : createServer(answer);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const proxy = createProxy(createServer());
  let proxyConnections = 0;
  proxy.on('connection', () => proxyConnections++);
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  vi.stubEnv(scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
  vi.resetModules();
  const { createHttpDispatcher } = await import('../../src/net/dispatcher.ts');
  const { requestText } = await import('../../src/net/requestText.ts');
  const dispatcher = createHttpDispatcher({ timeout: 5000, connections: 2, ca: [readFileSync(certificates.caFile, 'utf8')] });
  try {
    const url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const limits = { timeoutMs: 5000, keep: 1024, keepError: 1024, drain: 1024 };
    const answers = await Promise.all(Array.from({ length: 10 }, () => requestText(dispatcher, { method: 'GET', url, headers: {} }, limits, [])));
    expect(answers.map((a) => a.text)).toEqual(Array(10).fill('ok'));
    // A tunnel is a connection of its own to the proxy, made by the pool to the origin: 2 as well.
    expect(proxyConnections).toBeGreaterThan(0);
    expect(proxyConnections).toBeLessThanOrEqual(2);
  } finally {
    await dispatcher.close();
    proxy.closeAllConnections();
    proxy.close();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('trusts `ca` for an https:// proxy\'s own certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eaw-dispatcher-'));
  const certificates = makeCertificates(dir);
  const stopProxy = await onlyProxy(createHttpsServer({ key: certificates.key, cert: certificates.cert }), 'HTTP_PROXY', 'https');
  vi.resetModules();
  const { dispatcher, get, stop } = await answering('through', { ca: [readFileSync(certificates.caFile, 'utf8')] });
  try {
    await expect(get()).resolves.toMatchObject({ status: 200, text: 'through' });
  } finally {
    await dispatcher.close();
    stopProxy();
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('lays a port without TLS at neither the cloud nor the proxy when the proxy is written https://: which has none cannot be told', async () => {
  // A plain HTTP proxy, written https:// (a common slip): the TLS handshake to it fails as a plain port's.
  const stopProxy = await onlyProxy(createServer(), 'HTTPS_PROXY', 'https');
  vi.resetModules();
  const { createHttpDispatcher } = await import('../../src/net/dispatcher.ts');
  const { exchange } = await import('../../src/cloud/exchange.ts');
  const dispatcher = createHttpDispatcher({ timeout: 5000 });
  try {
    const url = 'https://ecs.example.com/v2.1/';
    const failed = await exchange({ method: 'GET', url, headers: {} }, { dispatcher, timeout: 5000, closed: new AbortController().signal }).catch((err: unknown) => err);
    // (ApiError of another module graph: matched by its fields.)
    expect(failed).toMatchObject({
      kind: 'network',
      retryable: true,
      message: `GET ${url} → network error: no TLS from the proxy in HTTPS_PROXY or from ecs.example.com (ERR_SSL_WRONG_VERSION_NUMBER): a proxy written https:// that speaks plain HTTP is the usual cause; write it http://`,
    });
  } finally {
    await dispatcher.close();
    stopProxy();
  }
});

it.each([
  ['its name', '127.0.0.1'],
  ['its name and port', 'PORT'],
  ['every host (*)', '*'],
  ['an address range', '127.0.0.0/8'],
])('lays a port without TLS at the cloud when NO_PROXY exempts it from the https:// proxy (by %s): no request went to the proxy', async (_way, noProxy) => {
  const { failed, url, host } = await notTlsBeside(noProxy);
  // (ApiError of another module graph: matched by its fields.)
  expect(failed).toMatchObject({ kind: 'not_tls', message: `GET ${url} → no TLS: ${host} does not answer TLS (ERR_SSL_WRONG_VERSION_NUMBER): a port without TLS, or the wrong port` });
});

it.each([
  ['another port', '127.0.0.1:1'],
  ['the names under it alone', '*.127.0.0.1'],
])('still lays a port without TLS at the https:// proxy too when NO_PROXY names the host with %s', async (_way, noProxy) => {
  const { failed } = await notTlsBeside(noProxy);
  expect(failed).toMatchObject({ kind: 'network', message: expect.stringContaining('no TLS from the proxy in HTTPS_PROXY or from 127.0.0.1') });
});

/** What a request to a plain HTTP port written https:// fails with, an https:// proxy (that speaks plain HTTP) set beside NO_PROXY (`PORT`: the host and port). */
async function notTlsBeside(noProxy: string) {
  const stopProxy = await onlyProxy(createServer(), 'HTTPS_PROXY', 'https');
  const plain = createServer((_req, res) => res.end('plain'));
  plain.listen(0, '127.0.0.1');
  await once(plain, 'listening');
  const host = `127.0.0.1:${(plain.address() as AddressInfo).port}`;
  vi.stubEnv('NO_PROXY', noProxy === 'PORT' ? host : noProxy);
  vi.resetModules();
  const { createHttpDispatcher } = await import('../../src/net/dispatcher.ts');
  const { exchange } = await import('../../src/cloud/exchange.ts');
  const dispatcher = createHttpDispatcher({ timeout: 5000 });
  try {
    const url = `https://${host}/v2.1/`;
    const failed = await exchange({ method: 'GET', url, headers: {} }, { dispatcher, timeout: 5000, closed: new AbortController().signal }).catch((err: unknown) => err);
    return { failed, url, host };
  } finally {
    await dispatcher.close();
    stopProxy();
    plain.close();
    plain.closeAllConnections();
  }
}
