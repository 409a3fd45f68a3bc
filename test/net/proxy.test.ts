// What a proxy's refusal means, read from undici's own error for it: through a real proxy on loopback that
// answers the CONNECT of an https:// origin's tunnel with a status. And the proxy's credentials, which an
// answer may quote.
import { once } from 'node:events';
import { createServer, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpDispatcher } from '../../src/net/dispatcher.ts';
import { failedAtProxy, proxyCredentials, proxyRefusal } from '../../src/net/proxy.ts';
import { redact } from '../../src/net/redact.ts';
import { requestText } from '../../src/net/requestText.ts';
import { closedPort } from '../../scripts/closedPort.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

const URL_THROUGH_PROXY = 'https://ecs.example.com/v2.1/';

/** Only `variable` of the proxy variables set, to `value`: NO_PROXY too unless given. */
function proxyOnly(variable: string, value: string, noProxy?: string): void {
  for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) vi.stubEnv(name, undefined);
  vi.stubEnv(variable, value);
  if (noProxy !== undefined) vi.stubEnv('NO_PROXY', noProxy);
}

/** The error a request to `url` fails with, through a dispatcher made with the environment as it is. */
async function failureOf(url: string): Promise<unknown> {
  const dispatcher = createHttpDispatcher({ timeout: 2000 });
  try {
    const limits = { timeoutMs: 2000, keep: 1024, keepError: 1024, drain: 1024 };
    return await requestText(dispatcher, { method: 'GET', url, headers: {} }, limits, []).then(
      () => expect.unreachable(`a request to ${url} failed`),
      (err: unknown) => err,
    );
  } finally {
    await dispatcher.close();
  }
}

/**
 * The error of a request to URL_THROUGH_PROXY through `variable` (its URL written with `login`,
 * `user:password@`), a proxy that answers its CONNECT with `status`.
 */
async function refusedTunnel(status: number, login = '', variable = 'HTTPS_PROXY'): Promise<unknown> {
  const proxy = createServer();
  proxy.on('connect', (_req, socket: import('node:net').Socket) => socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n\r\n`));
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  proxyOnly(variable, `http://${login}127.0.0.1:${(proxy.address() as AddressInfo).port}`);
  try {
    return await failureOf(URL_THROUGH_PROXY);
  } finally {
    proxy.closeAllConnections();
    proxy.close();
  }
}

it.each([
  [407, '', 'the proxy in HTTPS_PROXY asks for a user and password: write them into its URL, http://user:password@host:port (407 Proxy Authentication Required)', true],
  [
    407,
    'u:wrong-pass@',
    'the proxy in HTTPS_PROXY refused the user and password in its URL: correct them (a : @ / or % in them written %3A %40 %2F %25) (407 Proxy Authentication Required)',
    true,
  ],
  [500, '', 'the proxy in HTTPS_PROXY could not reach ecs.example.com:443 (500 Internal Server Error)', false],
  [502, '', 'the proxy in HTTPS_PROXY could not reach ecs.example.com:443 (502 Bad Gateway)', false],
  [
    403,
    '',
    'the proxy in HTTPS_PROXY refused to open a way to ecs.example.com:443 (403 Forbidden): have the proxy allow that host and port, or add the host to NO_PROXY if it is reached without the proxy',
    true,
  ],
])('reads a proxy\'s %i to the tunnel (its URL with %j) as its own refusal, lasting unless a 5xx', async (status, login, message, lasting) => {
  expect(proxyRefusal(await refusedTunnel(status, login), URL_THROUGH_PROXY)).toEqual({ message, lasting });
});

it('names HTTP_PROXY for an https:// request when it is the only proxy variable, as undici then goes through it', async () => {
  expect(proxyRefusal(await refusedTunnel(403, '', 'HTTP_PROXY'), URL_THROUGH_PROXY)?.message).toMatch(/^the proxy in HTTP_PROXY refused to open a way to ecs\.example\.com:443 /);
});

it('reads the address ranges of no_proxy before NO_PROXY\'s, as undici reads its names', async () => {
  const port = await closedPort();
  proxyOnly('HTTP_PROXY', `http://127.0.0.1:${port + 1}`, '10.0.0.0/8');
  vi.stubEnv('no_proxy', '127.0.0.1/32');
  // Refused on the server's port, not the proxy's: the request went directly.
  expect(await failureOf(`http://127.0.0.1:${port}/`)).toMatchObject({ code: 'ECONNREFUSED', port });
});

describe('failedAtProxy', () => {
  it('lays a refused connection at the proxy when its address and port are the proxy\'s', async () => {
    const port = await closedPort();
    proxyOnly('HTTPS_PROXY', `http://127.0.0.1:${port}`);
    expect(failedAtProxy(await failureOf(URL_THROUGH_PROXY), URL_THROUGH_PROXY)).toEqual({ variable: 'HTTPS_PROXY', address: `127.0.0.1:${port}` });
  });

  it.each([
    ['on its address, another port', '127.0.0.1', 1],
    ['on its port, another address', '127.0.0.2', 0],
  ])('does not lay at the proxy a refusal by a server reached directly (NO_PROXY) %s', async (_case, proxyHost, portApart) => {
    const port = await closedPort();
    proxyOnly('HTTP_PROXY', `http://${proxyHost}:${port + portApart}`, '127.0.0.1/32');
    const url = `http://127.0.0.1:${port}/`;
    const err = await failureOf(url);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', address: '127.0.0.1', port });
    expect(failedAtProxy(err, url)).toBeUndefined();
  });

  it('cannot tell where a connection was refused when the proxy, named by a host name, has the port the server has', async () => {
    const port = await closedPort();
    proxyOnly('HTTPS_PROXY', `http://localhost:${port}`);
    const url = `https://ecs.example.com:${port}/v2.1/`;
    const err = await failureOf(url);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', port });
    expect(failedAtProxy(err, url)).toBeUndefined();
  });
});

it('hides the user name of a proxy URL without a password, which is its credential then (an API key as the user, as some proxy services take it)', () => {
  const proxy = 'http://k3y0f-the-account:@proxy.example.com:8011';
  proxyOnly('HTTPS_PROXY', proxy);
  const page = '407 via proxy.example.com: the key k3y0f-the-account is not allowed to reach ecs.example.com';
  expect(redact(page, proxyCredentials())).toBe('407 via proxy.example.com: the key <hidden> is not allowed to reach ecs.example.com');
});

it('hides the proxy\'s credentials in each form its answer may quote them: its URL, its password as written and decoded, and their Basic', () => {
  const proxy = 'http://robot:p%40ss-w0rd@proxy.example.com:3128';
  proxyOnly('HTTPS_PROXY', proxy);
  const basic = Buffer.from('robot:p@ss-w0rd').toString('base64');
  const page = `502 via ${proxy}: robot's password p@ss-w0rd (p%40ss-w0rd) was sent as Proxy-Authorization: Basic ${basic}`;
  expect(redact(page, proxyCredentials())).toBe('502 via <hidden>: robot\'s password <hidden> (<hidden>) was sent as Proxy-Authorization: Basic <hidden>');
});
