// Against a real socket: timeouts, refused connections and connection reuse are the network's business,
// which a MockAgent does not reproduce.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/cloud/ApiError.ts';
import { createEcsClient, type EcsClient } from '../../src/cloud/client.ts';
import { actionAnswer, captureLogger, cloudConfig, fixtureText } from './helpers.ts';

const SAMPLE = fixtureText('nova-api-samples/v2.84/instance-action-get-resp.json');
const answerFor = (requestId: string) => actionAnswer(SAMPLE, { serverId: 's1', requestId });
const BASE = '/v2.1/p1/servers/s1';

let server: Server;
let origin: string;
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const json = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    switch (req.url) {
      case `${BASE}/os-instance-actions/hang`:
        return; // never answers
      case `${BASE}/os-instance-actions/stall`:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"instanceAction": {'); // and never finishes
        return;
      case `${BASE}/os-instance-actions/req-1`:
        return json(200, answerFor('req-1'));
      case `${BASE}/os-instance-actions/broken`:
        return json(500, JSON.stringify({ computeFault: { code: 500, message: 'x'.repeat(200_000) } }));
      case BASE:
        return json(404, '{"itemNotFound": {"code": 404, "message": "Instance s1 could not be found."}}');
      // Nova's own version root answers 300 Multiple Choices: not the document asked for either.
      case `${BASE}/os-instance-actions/choices`:
        res.writeHead(300, { location: `${origin}/v2.1/`, 'content-type': 'application/json' });
        return res.end('{"choices": [{"id": "v2.1", "status": "CURRENT"}]}');
      case `${BASE}/os-instance-actions/moved`:
        res.writeHead(301, { location: `https://ecs.example.com${BASE}/os-instance-actions/moved?x=1` });
        return res.end();
      // An endpoint written http:// whose gateway sends every request to https://, the version document first.
      case '/moved/v2.1/':
        res.writeHead(301, { location: 'https://ecs.example.com/v2.1/' });
        return res.end();
      // A firewall in front of the API that refuses the version document with its own page.
      case '/firewalled/v2.1/':
        res.writeHead(403, { 'content-type': 'text/html' });
        return res.end('<!DOCTYPE html><html><head><title>Access Denied</title></head><body>Blocked by the web application firewall.</body></html>');
      // A gateway that quotes the request it refused, credentials and all.
      case `${BASE}/os-instance-actions/echo-error`:
        return json(400, JSON.stringify({ badRequest: { code: 400, message: `bad request: X-Auth-Token ${String(req.headers['x-auth-token'])}` } }));
      // A proxy on the way that compresses what nobody asked it to.
      case `${BASE}/os-instance-actions/gzipped`:
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return res.end(gzipSync(answerFor('gzipped')));
      case `${BASE}/os-instance-actions/with-bom`:
        return json(200, `\uFEFF${answerFor('with-bom')}`);
      case `${BASE}/os-instance-actions/echo-page`:
        return json(200, `<html><head><title>your token: ${String(req.headers['x-auth-token'])}</title></head></html>`);
      case `${BASE}/os-instance-actions/echo-garbage`:
        return json(200, `your token: ${String(req.headers['x-auth-token'])}`);
      default:
        return json(404, '{"itemNotFound": {"code": 404, "message": "Action could not be found."}}');
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const clients: EcsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** A client with its own Agent, as the daemon creates it. */
function client(endpoint = origin, timeout = 100): EcsClient {
  const c = createEcsClient(
    cloudConfig({ endpoint, auth: { type: 'token', token: 'secret' }, microversion: '2.60', timeout }),
    { logger: captureLogger().logger },
  );
  clients.push(c);
  return c;
}

describe('a redirect', () => {
  it('is not followed, and the error says where it points', async () => {
    const err = await apiError(client(origin, 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'moved' }));
    expect(err.message).toBe(`GET ${origin}${BASE}/os-instance-actions/moved → 301 Moved Permanently: redirects to https://ecs.example.com${BASE}/os-instance-actions/moved (not followed; if that is the endpoint meant, put it in the configuration)`);
  });
});

describe('the discovery log of a version document something in front of the API answered', () => {
  /** The one warning of a failed discovery at `path`, with its error: what it says to mend. */
  async function discoveryFailed(path: string, failure: { kind: string; status: number }): Promise<[unknown, unknown][]> {
    const { logger, lines } = captureLogger();
    const c = createEcsClient(cloudConfig({ endpoint: `${origin}${path}`, microversion: 'auto' }), { logger });
    clients.push(c);
    await expect(c.microversion()).rejects.toMatchObject(failure);
    return lines.filter((l) => String(l['msg']).startsWith('compute microversion discovery failed')).map((l) => [l['msg'], l['error']]);
  }

  it('points at cloud.endpoint for a redirect, as the error does, not at a fixed microversion', async () => {
    expect(await discoveryFailed('/moved', { kind: 'redirect', status: 301 })).toEqual([[
      'compute microversion discovery failed; no request goes out without a version header until it succeeds (the endpoint sends the request elsewhere: check cloud.endpoint)',
      `GET ${origin}/moved/v2.1/ → 301 Moved Permanently: redirects to https://ecs.example.com/v2.1/ (not followed; if that is the endpoint meant, put it in the configuration)`,
    ]]);
  });

  it("says for a firewall's page that something in front of the API answered, not to fix the microversion, which would meet the page too", async () => {
    expect(await discoveryFailed('/firewalled', { kind: 'gateway', status: 403 })).toEqual([[
      'compute microversion discovery failed; no request goes out without a version header until it succeeds (a firewall, gateway or proxy in front of the API answered in its place: a fixed microversion would meet it too)',
      `GET ${origin}/firewalled/v2.1/ → 403 Forbidden: an HTML page ("Access Denied"), not the API's answer: something in front of the API (a firewall, gateway or proxy) refused the request`,
    ]]);
  });
});

describe('a 300 Multiple Choices', () => {
  it('is a redirect, not a document to read', async () => {
    const err = await apiError(client(origin, 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'choices' }));
    expect(err).toMatchObject({ kind: 'redirect', status: 300, retryable: false });
  });
});

describe('an answer compressed though the request asked for no encoding', () => {
  it('says so, and who compresses it, rather than quoting the compressed bytes as text', async () => {
    const err = await apiError(client(origin, 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'gzipped' }));
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: true });
    expect(err.message).toBe(
      `GET ${origin}${BASE}/os-instance-actions/gzipped → 200 invalid response: not JSON: encoded as gzip, which the request did not ask for: a proxy or gateway on the way compresses answers; have it pass them on as they are`,
    );
  });
});

describe('an answer that repeats the credentials it was sent', () => {
  it('has them hidden wherever it is quoted: the API message, an unreadable body\'s excerpt, the title of a page in place of the API\'s answer', async () => {
    const c = client(origin, 2000);
    for (const requestId of ['echo-error', 'echo-garbage', 'echo-page']) {
      const err = await apiError(c.getInstanceAction({ projectId: 'p1', serverId: 's1', requestId }));
      const everything = [err.message, err.apiMessage, JSON.stringify(err), String(err.stack)].join('\n');
      // A title that held it is no title once it is hidden (<hidden> is markup): the page is said without one.
      if (requestId !== 'echo-page') expect(everything).toContain('<hidden>');
      expect(everything).not.toContain('secret');
    }
  });
});

async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('over a real connection', () => {
  it.each(['hang', 'stall'])('times out when the answer does not come (%s)', async (requestId) => {
    const started = performance.now();
    const error = await apiError(client().getInstanceAction({ projectId: 'p1', serverId: 's1', requestId }));
    // undici's own timeouts are 300 s: far beyond, however loaded the machine.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error).toMatchObject({ kind: 'timeout', retryable: true, status: undefined });
    expect(error.message).toBe(`GET ${origin}${BASE}/os-instance-actions/${requestId} → timed out: no complete answer within 100 ms`);
  });

  it('maps a refused connection to network', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const error = await apiError(client(`http://127.0.0.1:${port}`, 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'r' }));

    expect(error).toMatchObject({ kind: 'network', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('maps a host name that DNS says does not exist to unknown_host, retried as any network error', async () => {
    // RFC 6761: no name under .invalid ever resolves.
    const error = await apiError(client('https://nonexistent.invalid', 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'r' }));

    expect(error).toMatchObject({ kind: 'unknown_host', retryable: true });
    expect(error.message).toBe(`GET https://nonexistent.invalid${BASE}/os-instance-actions/r → host not found: getaddrinfo ENOTFOUND nonexistent.invalid`);
  });

  it('maps an https:// URL for a plain HTTP port to not_tls, in words rather than OpenSSL\'s, retried as any network error', async () => {
    const tls = origin.replace('http://', 'https://');
    const error = await apiError(client(tls, 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'r' }));

    expect(error).toMatchObject({ kind: 'not_tls', retryable: true });
    expect(error.message).toBe(
      `GET ${tls}${BASE}/os-instance-actions/r → no TLS: ${new URL(tls).host} does not answer TLS (ERR_SSL_WRONG_VERSION_NUMBER): a port without TLS, or the wrong port`,
    );
  });

  it('reads a document that starts with a byte order mark, which some gateways write', async () => {
    const action = await client(origin, 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'with-bom' });
    expect(action).toMatchObject({ request_id: 'with-bom', action: JSON.parse(SAMPLE).instanceAction.action });
  });

  it('reads every body to its end, so that connections are reused', async () => {
    const c = client(origin, 2000);
    connections = 0;
    const ref = { projectId: 'p1', serverId: 's1' };

    for (let round = 0; round < 4; round++) {
      expect(await c.getServer(ref)).toBeNull();
      // 200 KB: more than undici buffers, so an unread body would hold its connection.
      expect(await apiError(c.getInstanceAction({ ...ref, requestId: 'broken' }))).toMatchObject({ kind: 'server' });
      expect(await c.getInstanceAction({ ...ref, requestId: 'req-1' })).toMatchObject({ action: 'stop' });
    }

    // undici may open a second socket before the first is handed back.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('reads a huge error body only as far as its message needs', async () => {
    const error = await apiError(client(origin, 2000).getInstanceAction({ projectId: 'p1', serverId: 's1', requestId: 'broken' }));
    expect(error).toMatchObject({ kind: 'server', status: 500 });
    expect(error.message.length).toBeLessThan(500);
  });
});
