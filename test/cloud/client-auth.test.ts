// The client's side of the auth contract, with a stand-in strategy such as a password or AK/SK one will be.
import type { MockInterceptor } from 'undici/types/mock-interceptor.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuth } from '../../src/cloud/auth/registry.ts';
import type { AuthStrategy } from '../../src/cloud/auth/types.ts';
import { createEcsClient } from '../../src/cloud/client.ts';
import { actionAnswer, captureLogger, cloudConfig, fixtureText, headersOf, mockAgent } from './helpers.ts';

vi.mock('../../src/cloud/auth/registry.ts', () => ({ createAuth: vi.fn() }));

const ORIGIN = 'https://ecs.example.test';
const ACTION_PATH = '/v2.1/p1/servers/s1/os-instance-actions/req-1';
const REF = { projectId: 'p1', serverId: 's1', requestId: 'req-1' };

let strategy: { -readonly [K in keyof AuthStrategy]-?: AuthStrategy[K] } & { headers: ReturnType<typeof vi.fn>; onUnauthorized: ReturnType<typeof vi.fn> };

beforeEach(() => {
  strategy = {
    headers: vi.fn(() => Promise.resolve({ authorization: 'SDK-HMAC-SHA256 Signature=abc' })),
    onUnauthorized: vi.fn(() => Promise.resolve(false)),
    // Lets every request go, as a method that holds none back.
    admit: vi.fn(() => Promise.resolve({ sending: () => Promise.resolve(), answered: () => undefined, ended: () => undefined })),
    catalog: vi.fn(() => Promise.resolve([])),
    close: vi.fn(() => Promise.resolve()),
    signsWhenSent: false,
  };
  vi.mocked(createAuth).mockReturnValue(strategy);
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function setup() {
  const agent = mockAgent();
  const client = createEcsClient(
    cloudConfig({ endpoint: ORIGIN, microversion: '2.60', timeout: 1234 }),
    { logger: captureLogger().logger, dispatcher: agent },
  );
  cleanups.push(async () => {
    await client.close();
    await agent.close();
  });
  return { agent, pool: agent.get(ORIGIN), client };
}

describe('auth strategy contract', () => {
  it("builds the strategy with the client's dispatcher and timeout", () => {
    const { agent } = setup();
    expect(createAuth).toHaveBeenCalledWith({ type: 'none' }, expect.objectContaining({ dispatcher: agent, timeout: 1234 }));
  });

  it('asks for headers with the whole request and sends what it returns', async () => {
    const { pool, client } = setup();
    let sent: Record<string, string> = {};
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply((opts) => {
      sent = headersOf(opts);
      return { statusCode: 200, data: actionAnswer(fixtureText('nova-api-samples/v2.1/instance-action-get-resp.json'), REF) };
    });
    const signal = new AbortController().signal;

    await client.getInstanceAction(REF, signal);

    const [request, passedSignal] = strategy.headers.mock.calls[0] as [{ method: string; url: URL; headers: Record<string, string> }, AbortSignal];
    expect(request.method).toBe('GET');
    expect(request.url).toBe(`${ORIGIN}${ACTION_PATH}`);
    expect(request.headers).toEqual({
      accept: 'application/json',
      'user-agent': 'ecs-action-watch',
      'x-openstack-nova-api-version': '2.60',
      'openstack-api-version': 'compute 2.60',
    });
    expect(passedSignal).toBe(signal);
    expect(sent['authorization']).toBe('SDK-HMAC-SHA256 Signature=abc');
  });

  it('tells the strategy about a 401 (only), with the headers that request carried', async () => {
    const { pool, client } = setup();
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(403, '{"forbidden": {"message": "no"}}');
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(401, '{"error": {"code": 401, "message": "expired"}}');

    await expect(client.getInstanceAction(REF)).rejects.toMatchObject({ kind: 'forbidden' });
    expect(strategy.onUnauthorized).not.toHaveBeenCalled();
    await expect(client.getInstanceAction(REF)).rejects.toMatchObject({ kind: 'unauthorized', retryable: false });
    expect(strategy.onUnauthorized).toHaveBeenCalledExactlyOnceWith({ authorization: 'SDK-HMAC-SHA256 Signature=abc' });
    expect(strategy.headers).toHaveBeenCalledTimes(2);
  });

  it('retries a 401 once when the strategy has new credentials, and only once', async () => {
    const { pool, client } = setup();
    const seen: string[] = [];
    const answer = (status: number) => (opts: MockInterceptor.MockResponseCallbackOptions) => {
      seen.push(headersOf(opts)['authorization'] ?? '');
      return status === 200
        ? { statusCode: 200, data: actionAnswer(fixtureText('nova-api-samples/v2.1/instance-action-get-resp.json'), REF) }
        : { statusCode: 401, data: '{"error": {"code": 401, "message": "expired"}}' };
    };
    strategy.headers.mockResolvedValueOnce({ authorization: 'old' }).mockResolvedValue({ authorization: 'new' });
    strategy.onUnauthorized.mockResolvedValue(true);
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(answer(401));
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(answer(200));
    expect(await client.getInstanceAction(REF)).toMatchObject({ action: 'stop' });
    expect(seen).toEqual(['old', 'new']);

    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(answer(401)).times(2);
    await expect(client.getInstanceAction(REF)).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(seen).toHaveLength(4);
  });

  it.for([false, true])('passes a failure of the strategy on as it is (signing when the request goes: %s)', async (signsWhenSent) => {
    const { client } = setup();
    strategy.signsWhenSent = signsWhenSent;
    const failure = new Error('identity service down');
    strategy.headers.mockRejectedValueOnce(failure);
    await expect(client.getInstanceAction(REF)).rejects.toBe(failure);
  });

  it('asks a strategy that signs when the request goes again for the retry of a 401, with what the first carried', async () => {
    const { pool, client } = setup();
    strategy.signsWhenSent = true;
    strategy.headers.mockResolvedValueOnce({ authorization: 'first' }).mockResolvedValueOnce({ authorization: 'second' });
    strategy.onUnauthorized.mockResolvedValueOnce(true);
    const seen: string[] = [];
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply((opts) => {
      seen.push(headersOf(opts)['authorization']!);
      return seen.length === 1 ? { statusCode: 401, data: '{}' } : { statusCode: 200, data: actionAnswer(fixtureText('nova-api-samples/v2.1/instance-action-get-resp.json'), REF) };
    }).times(2);
    await client.getInstanceAction(REF);
    expect(seen).toEqual(['first', 'second']);
    expect(strategy.onUnauthorized).toHaveBeenCalledWith({ authorization: 'first' });
  });

  it('closes the strategy once', async () => {
    const { client } = setup();
    await Promise.all([client.close(), client.close()]);
    expect(strategy.close).toHaveBeenCalledOnce();
  });
});
