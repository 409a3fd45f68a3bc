// What a proxy's refusal means, read from undici's own error for it: through a real proxy on loopback that
// answers the CONNECT of an https:// origin's tunnel with a status. And the proxy's credentials, which an
// answer may quote.
import { once } from 'node:events';
import { createServer, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it, vi } from 'vitest';
import { createHttpDispatcher } from '../../src/net/dispatcher.ts';
import { proxyCredentials, proxyRefusal } from '../../src/net/proxy.ts';
import { redact } from '../../src/net/redact.ts';
import { requestText } from '../../src/net/requestText.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

const URL_THROUGH_PROXY = 'https://ecs.example.com/v2.1/';

/**
 * The error of a request to URL_THROUGH_PROXY through HTTPS_PROXY (written with `login`, `user:password@`),
 * a proxy that answers its CONNECT with `status`.
 */
async function refusedTunnel(status: number, login = ''): Promise<unknown> {
  const proxy = createServer();
  proxy.on('connect', (_req, socket: import('node:net').Socket) => socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n\r\n`));
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  for (const name of ['HTTP_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy']) vi.stubEnv(name, undefined);
  vi.stubEnv('HTTPS_PROXY', `http://${login}127.0.0.1:${(proxy.address() as AddressInfo).port}`);
  const dispatcher = createHttpDispatcher({ timeout: 2000 });
  try {
    const limits = { timeoutMs: 2000, keep: 1024, keepError: 1024, drain: 1024 };
    return await requestText(dispatcher, { method: 'GET', url: URL_THROUGH_PROXY, headers: {} }, limits, []).then(
      () => expect.unreachable('the proxy refused the tunnel'),
      (err: unknown) => err,
    );
  } finally {
    await dispatcher.close();
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

it('hides the proxy\'s credentials in each form its answer may quote them: its URL, its password as written and decoded, and their Basic', () => {
  for (const name of ['HTTP_PROXY', 'http_proxy', 'https_proxy']) vi.stubEnv(name, undefined);
  const proxy = 'http://robot:p%40ss-w0rd@proxy.example.com:3128';
  vi.stubEnv('HTTPS_PROXY', proxy);
  const basic = Buffer.from('robot:p@ss-w0rd').toString('base64');
  const page = `502 via ${proxy}: robot's password p@ss-w0rd (p%40ss-w0rd) was sent as Proxy-Authorization: Basic ${basic}`;
  expect(redact(page, proxyCredentials())).toBe('502 via <hidden>: robot\'s password <hidden> (<hidden>) was sent as Proxy-Authorization: Basic <hidden>');
});
