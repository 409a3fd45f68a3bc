import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MockAgent } from 'undici';
import type { MockInterceptor, MockScope } from 'undici/types/mock-interceptor.js';
import { ApiError } from '../../src/cloud/ApiError.ts';
import { createEcsClient, DISCOVERY_BACKOFF_MS } from '../../src/cloud/client.ts';
import type { CloudConfig } from '../../src/config/schema.ts';
import { actionAnswer, captureLogger, cloudConfig, fixtureText, headersOf, mockAgent, settled } from './helpers.ts';

const ORIGIN = 'https://ecs.example.test';
const TOKEN = 'gAAAAABsecret-token-value-0123456789';
const REF = { projectId: 'p1', serverId: 's1', requestId: 'req-1' };
const ACTION_PATH = '/v2.1/p1/servers/s1/os-instance-actions/req-1';
const SERVER_PATH = '/v2.1/p1/servers/s1';
const VERSION_DOC = fixtureText('nova-api-samples/versions/v21-version-get-resp.json');
const ACTION_FILE = 'nova-api-samples/v2.58/instance-action-get-non-admin-resp.json';
const ACTION_DOC = actionAnswer(fixtureText(ACTION_FILE), REF);
const JSON_HEADERS = { 'content-type': 'application/json' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function setup(cloud: Partial<CloudConfig> = {}) {
  const agent = mockAgent();
  const { logger, lines, raw } = captureLogger();
  const client = createEcsClient(
    cloudConfig({ endpoint: ORIGIN, auth: { type: 'token', token: TOKEN }, ...cloud }),
    { logger, dispatcher: agent },
  );
  cleanups.push(async () => {
    await client.close();
    await agent.close();
  });
  return { agent, pool: agent.get(ORIGIN), client, lines, raw };
}

/** Replies `status`/`body` and records the request headers of every call. */
function recorder(status: number, body: string, headers: Record<string, string> = JSON_HEADERS) {
  const seen: Record<string, string>[] = [];
  const reply = (opts: MockInterceptor.MockResponseCallbackOptions) => {
    seen.push(headersOf(opts));
    return { statusCode: status, data: body, responseOptions: { headers } };
  };
  return { seen, reply };
}

function versionDoc(max: string, min = '2.1'): string {
  return JSON.stringify({ version: { id: 'v2.1', status: 'CURRENT', version: max, min_version: min } });
}

/**
 * Runs fake time on, a step at a time, until `promise` settles. Not `vi.runAllTimersAsync()`: in a worker
 * shared with other files, a timer that reschedules itself (left by an earlier file) keeps that one going
 * to its 10,000-timer limit.
 */
async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('microversion discovery', () => {
  it('picks 2.84 from the upstream version document (max 2.104) and sends it with the token', async () => {
    const { agent, pool, client } = setup();
    const version = recorder(200, VERSION_DOC);
    const action = recorder(200, ACTION_DOC);
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(version.reply);
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(action.reply);

    const result = await client.getInstanceAction(REF);

    expect(result).toEqual((JSON.parse(ACTION_DOC) as { instanceAction: unknown }).instanceAction);
    expect(await client.microversion()).toBe('2.84');
    expect(action.seen[0]).toMatchObject({
      'x-openstack-nova-api-version': '2.84',
      'openstack-api-version': 'compute 2.84',
      'x-auth-token': TOKEN,
      accept: 'application/json',
      'user-agent': 'ecs-action-watch',
    });
    // The version document is asked for without a microversion (it has none of its own).
    expect(version.seen[0]).not.toHaveProperty('x-openstack-nova-api-version');
    agent.assertNoPendingInterceptors();
  });

  it('discovers once for concurrent requests', async () => {
    const { pool, client } = setup();
    const version = recorder(200, VERSION_DOC);
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(version.reply).persist();
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, ACTION_DOC, { headers: JSON_HEADERS }).times(3);

    await Promise.all([client.getInstanceAction(REF), client.getInstanceAction(REF), client.getInstanceAction(REF)]);

    expect(version.seen).toHaveLength(1);
  });

  it.each([
    ['2.40', '2.40'],
    ['2.51', '2.51'],
    ['2.53', '2.53'],
    ['2.60', '2.60'],
    ['2.62', '2.62'],
  ])('uses the endpoint maximum %s when it is below 2.84', async (max, chosen) => {
    const { pool, client } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, versionDoc(max), { headers: JSON_HEADERS });
    expect(await client.microversion()).toBe(chosen);
  });

  it('sends no microversion to an endpoint that has none, without complaint', async () => {
    const { pool, client, lines } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, versionDoc('', ''), { headers: JSON_HEADERS });
    const action = recorder(200, ACTION_DOC);
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(action.reply);

    await client.getInstanceAction(REF);

    expect(action.seen[0]).not.toHaveProperty('x-openstack-nova-api-version');
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it.each([
    ['a 500', (i: MockInterceptor): MockScope => i.reply(500, '{"computeFault": {"code": 500, "message": "boom"}}'), '500 computeFault: boom', 'server'],
    ['garbage', (i: MockInterceptor): MockScope => i.reply(200, '{"version": {"id": "v2.1", "ver'), 'invalid response: not JSON', 'invalid_response'],
    ['another document', (i: MockInterceptor): MockScope => i.reply(200, '{"versions": []}'), 'invalid response: unexpected document', 'invalid_response'],
    ['a version that is no number', (i: MockInterceptor): MockScope => i.reply(200, versionDoc('latest')), 'invalid response', 'invalid_response'],
    ['a network error', (i: MockInterceptor): MockScope => i.replyWithError(new Error('socket hang up')), 'network error: socket hang up', 'network'],
  ])('when discovery gets %s three times, sends nothing without a version header, and asks again after a backoff', async (_, answer, logged, kind) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { pool, client, lines } = setup();
    answer(pool.intercept({ path: '/v2.1/', method: 'GET' })).times(3);
    const action = recorder(200, ACTION_DOC);
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(action.reply).persist();

    const error = await settled(apiError(client.getInstanceAction(REF)));
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(logged);
    // Within the backoff a request fails at once with the same error: no discovery (no interceptor left), no
    // send; and not to be retried before the next round, which would only sleep.
    await expect(client.getInstanceAction(REF)).rejects.toMatchObject({ message: error.message, kind, retryable: false });
    expect(action.seen).toHaveLength(0);

    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.['error'])).toContain(logged);
    expect(warnings[0]).toMatchObject({ failedRounds: 1, retryInMs: DISCOVERY_BACKOFF_MS.first });
    // A fixed microversion is advice for an endpoint that answered without a version document, not for one
    // that could not be reached.
    expect(String(warnings[0]?.['msg']).includes('set cloud.microversion to a fixed "2.N"')).toBe(kind !== 'network');

    vi.advanceTimersByTime(DISCOVERY_BACKOFF_MS.first + 1);
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, VERSION_DOC, { headers: JSON_HEADERS });
    await client.getInstanceAction(REF);
    expect(action.seen).toEqual([expect.objectContaining({ 'x-openstack-nova-api-version': '2.84' })]);
  });

  it('says a discovery that keeps failing for the same reason once at warn, its later rounds at debug, and a round that fails otherwise at warn again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { pool, client, lines } = setup();
    const failedRound = async (answer: (i: MockInterceptor) => MockScope) => {
      answer(pool.intercept({ path: '/v2.1/', method: 'GET' })).times(3);
      await expect(settled(client.microversion())).rejects.toBeInstanceOf(ApiError);
      vi.advanceTimersByTime(DISCOVERY_BACKOFF_MS.max + 1);
    };
    const down = (i: MockInterceptor) => i.replyWithError(new Error('connect ECONNREFUSED'));
    // A daemon started while the cloud is down: a round each minute for as long as the outage lasts.
    for (let round = 0; round < 5; round++) await failedRound(down);
    await failedRound((i) => i.reply(503, '{"computeFault": {"code": 503, "message": "down"}}'));
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, VERSION_DOC, { headers: JSON_HEADERS });
    await client.microversion();

    const discovery = lines.filter((l) => String(l.msg).startsWith('compute microversion discovery failed'));
    expect(discovery.map((l) => [l.level, l['failedRounds']])).toEqual([[40, 1], [20, 2], [20, 3], [20, 4], [20, 5], [40, 6]]);
    expect(lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['using compute microversion 2.84']);
  });

  it("says at warn a round refused for another fix than the round before, of the same status: the gateway's address list mended, its API grant missing (403 APIGW.0402, then APIGW.0306)", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { pool, client, lines } = setup();
    const refused = async (code: string, message: string) => {
      pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(403, JSON.stringify({ error_msg: message, error_code: code }), { headers: JSON_HEADERS });
      await expect(client.microversion()).rejects.toMatchObject({ kind: 'forbidden', apiCode: code });
      vi.advanceTimersByTime(DISCOVERY_BACKOFF_MS.max + 1);
    };
    await refused('APIGW.0402', 'The IP address is not authorized to access the API');
    await refused('APIGW.0306', 'API access denied');

    expect(lines.filter((l) => String(l.msg).startsWith('compute microversion discovery failed')).map((l) => [l.level, l.msg])).toEqual([
      [40, "compute microversion discovery failed; no request goes out without a version header until it succeeds (the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth)"],
      [40, "compute microversion discovery failed; no request goes out without a version header until it succeeds (the cloud's policy refuses this route to these credentials: ask its operator for the role that allows it)"],
    ]);
  });

  it('advises cloud.auth, not a fixed microversion, when discovery is refused the credentials', async () => {
    const { pool, client, lines } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(401, '{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}');

    await expect(client.microversion()).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(lines.filter((l) => l.level === 40).map((l) => l['msg'])).toEqual([
      'compute microversion discovery failed; no request goes out without a version header until it succeeds (check cloud.auth: the credentials were refused)',
    ]);
  });

  it("advises the gateway's IP allow or block list, not cloud.auth, when its access control refuses discovery this host's address (APIGW.0402)", async () => {
    const { pool, client, lines } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(403, '{"error_msg": "The IP address is not authorized to access the API", "error_code": "APIGW.0402"}', { headers: JSON_HEADERS });

    await expect(client.microversion()).rejects.toMatchObject({ kind: 'forbidden', apiCode: 'APIGW.0402' });
    expect(lines.filter((l) => l.level === 40).map((l) => l['msg'])).toEqual([
      "compute microversion discovery failed; no request goes out without a version header until it succeeds (the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth)",
    ]);
  });

  it('advises poll.rateLimit, not a fixed microversion, when discovery is throttled (429): the version document is there', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { pool, client, lines } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' })
      .reply(429, '{"overLimit": {"code": 429, "message": "This request was rate-limited.", "retryAfter": "1"}}', { headers: { ...JSON_HEADERS, 'retry-after': '1' } })
      .times(3);

    await expect(settled(client.microversion())).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(lines.filter((l) => String(l.msg).startsWith('compute microversion discovery failed')).map((l) => l['msg'])).toEqual([
      'compute microversion discovery failed; no request goes out without a version header until it succeeds (the cloud throttles requests: set poll.rateLimit below its quota, or lower poll.concurrency)',
    ]);
  });

  it('retries a failed discovery within its round before the first request goes out', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { pool, client } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(503, '').times(2);
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, versionDoc('2.60'), { headers: JSON_HEADERS });
    const action = recorder(200, ACTION_DOC);
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(action.reply);

    await settled(client.getInstanceAction(REF));

    expect(action.seen).toEqual([expect.objectContaining({ 'x-openstack-nova-api-version': '2.60' })]);
  });

  it('doubles the wait between failed rounds', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { pool, client, lines } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(404, '{"itemNotFound": {"code": 404, "message": "nope"}}').times(2);

    await expect(client.microversion()).rejects.toMatchObject({ kind: 'not_found' });
    vi.advanceTimersByTime(DISCOVERY_BACKOFF_MS.first);
    await expect(client.microversion()).rejects.toMatchObject({ kind: 'not_found' });

    expect(lines.filter((l) => String(l.msg).startsWith('compute microversion discovery failed')).map((l) => l['retryInMs'])).toEqual([DISCOVERY_BACKOFF_MS.first, 2 * DISCOVERY_BACKOFF_MS.first]);
  });

  it('asks again at least every minute, however many rounds failed: a watch past its deadline has only so long for the API to answer once it is back', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { pool, client, lines } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(404, '{"itemNotFound": {"code": 404, "message": "nope"}}').times(8);
    const waits = () => lines.filter((l) => String(l.msg).startsWith('compute microversion discovery failed')).map((l) => l['retryInMs']);
    for (let round = 0; round < 8; round++) {
      await expect(client.microversion()).rejects.toMatchObject({ kind: 'not_found' });
      vi.advanceTimersByTime(waits().at(-1) as number);
    }
    expect(waits()).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it.each([
    ['set back', -60 * 60_000],
    ['set forward', 60 * 60_000],
  ])('asks again after a failed round once its 5 s have passed, with this host\'s clock %s an hour meanwhile', async (_, stepMs) => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const { pool, client } = setup();
    // Not retried within the round: one answer makes the round fail.
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(403, '{"forbidden": {"code": 403, "message": "busy"}}', { headers: JSON_HEADERS });
    await expect(client.microversion()).rejects.toMatchObject({ status: 403 });
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, VERSION_DOC, { headers: JSON_HEADERS }).persist();

    vi.setSystemTime(Date.now() + stepMs);
    vi.advanceTimersByTime(DISCOVERY_BACKOFF_MS.first - 1);
    await expect(client.microversion()).rejects.toMatchObject({ status: 403, retryable: false });
    vi.advanceTimersByTime(1);
    await expect(client.microversion()).resolves.toBe('2.84');
  });

  it('sends an explicit microversion as is, without discovery', async () => {
    const { agent, pool, client } = setup({ microversion: '2.55' });
    const action = recorder(200, ACTION_DOC);
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(action.reply);

    await client.getInstanceAction(REF);

    expect(action.seen[0]).toMatchObject({ 'x-openstack-nova-api-version': '2.55', 'openstack-api-version': 'compute 2.55' });
    expect(await client.microversion()).toBe('2.55');
    agent.assertNoPendingInterceptors();
  });
});

describe('requests', () => {
  it('sends no credentials with auth none', async () => {
    const { pool, client } = setup({ auth: { type: 'none' }, microversion: '2.60' });
    const action = recorder(200, ACTION_DOC);
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(action.reply);

    await client.getInstanceAction(REF);

    expect(action.seen[0]).not.toHaveProperty('x-auth-token');
  });

  it("asks the version document the time, with the credentials and no microversion: any answer's Date measures the cloud's clock", async () => {
    const { agent, pool, client } = setup({ microversion: '2.60' });
    const version = recorder(404, '', { date: new Date(Date.now() + 10 * 60_000).toUTCString() });
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(version.reply);

    await client.askTheTime();

    expect(client.clock.measuredMs).toBeGreaterThan(9 * 60_000);
    expect(version.seen[0]).toMatchObject({ 'x-auth-token': TOKEN });
    expect(version.seen[0]).not.toHaveProperty('x-openstack-nova-api-version');
    agent.assertNoPendingInterceptors();
  });

  it("uses the watch's project where the endpoint names another", async () => {
    const { pool, client } = setup({ endpoint: `${ORIGIN}/v2.1/0123456789abcdef/`, microversion: '2.60' });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, ACTION_DOC, { headers: JSON_HEADERS });
    await expect(client.getInstanceAction(REF)).resolves.toMatchObject({ action: 'stop' });
  });

  it('reads the server: status, task state, fault, hostId and owner', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    const server = {
      server: {
        id: 's1', status: 'ERROR', 'OS-EXT-STS:task_state': null, tenant_id: 'p1', hostId: 'abc',
        fault: { code: 500, created: '2024-05-01T10:00:00Z', message: 'No valid host was found. ' },
      },
    };
    pool.intercept({ path: SERVER_PATH, method: 'GET' }).reply(200, JSON.stringify(server), { headers: JSON_HEADERS });

    expect(await client.getServer(REF)).toEqual({
      info: {
        status: 'ERROR',
        taskState: null,
        fault: { code: 500, created: '2024-05-01T10:00:00Z', message: 'No valid host was found. ' },
      },
      hostId: 'abc',
      projectId: 'p1',
    });
  });

  it.each([
    ['Nova', '{"itemNotFound": {"code": 404, "message": "Instance s1 could not be found."}}'],
    ['Huawei', '{"error": {"code": "Ecs.0114", "message": "The ECS does not exist."}}'],
    ['Huawei (flat)', '{"error_code": "Ecs.0614", "error_msg": "The ECS does not exist."}'],
  ])('reads a gone server (%s 404) as null', async (_, body) => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: SERVER_PATH, method: 'GET' }).reply(404, body, { headers: JSON_HEADERS });
    expect(await client.getServer(REF)).toBeNull();
  });

  it.each([
    ['a gateway', '{"error_msg": "The API does not exist or has not been published in the environment", "error_code": "APIGW.0101", "request_id": "x"}', 'APIGW.0101'],
    ['a router (HTML)', '<html><head><title>404 Not Found</title></head><body>The resource could not be found.</body></html>', '404 Not Found'],
    ['webob (text)', '404 Not Found\n\nThe resource could not be found.', 'The resource could not be found.'],
  ])('reads a 404 from %s as an error, never as a gone server', async (_, body, shown) => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: SERVER_PATH, method: 'GET' }).reply(404, body);
    const error = await apiError(client.getServer(REF));
    expect(error).toMatchObject({ kind: 'foreign_not_found', retryable: false });
    expect(error.message).toContain(shown);
  });

  it.each([
    [401, { 'content-type': 'text/html' }, '<html><head><title>401 Authorization Required</title></head></html>', '401 Unauthorized: an HTML page ("401 Authorization Required"), not the API\'s answer'],
    [403, { 'content-type': 'text/html; charset=UTF-8' }, '<html><head>\n<title>\n  Attention Required! | Cloudflare\n</title></head><body>…</body></html>', '403 Forbidden: an HTML page ("Attention Required! | Cloudflare"), not the API\'s answer'],
    [400, {}, '<!DOCTYPE html><html><body>Request Rejected</body></html>', '400 Bad Request: an HTML page, not the API\'s answer: something in front of the API (a firewall, gateway or proxy) refused the request'],
  ])('reads a %i that is an HTML page as a refusal by something in front of the API (kind gateway)', async (status, headers, body, shown) => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(status, body, { headers });
    const error = await apiError(client.getInstanceAction(REF));
    expect(error).toMatchObject({ kind: 'gateway', retryable: false, status });
    expect(error.message).toContain(shown);
  });

  it.each([
    [401, '{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}', 'unauthorized'],
    [403, '{"forbidden": {"code": 403, "message": "Policy doesn\'t allow os_compute_api:os-instance-actions:show to be performed."}}', 'forbidden'],
    [403, '{"error_msg": "Incorrect IAM authentication information: ak not exist", "error_code": "APIGW.0301"}', 'forbidden'],
    [401, 'Authentication required', 'unauthorized'],
  ])('keeps a %i the API answers in its own words as a refusal of the credentials or the policy', async (status, body, kind) => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(status, body, { headers: { 'content-type': 'text/html' } });
    expect(await apiError(client.getInstanceAction(REF))).toMatchObject({ kind });
  });

  it.each([
    ['JSON labelled as HTML by a proxy, read as the list', '{"migrations": [{"id": 1, "status": "failed", "migration_type": "live-migration"}]}', { migrations: 1 }],
    ['an empty body labelled as HTML, a failed read', '', { kind: 'invalid_response' }],
    ['a page, a refusal of the path', '<!DOCTYPE html><html><head><title>Cloud Portal</title></head></html>', { kind: 'gateway' }],
  ])('takes an os-migrations answer at 200 with content-type text/html: %s', async (_, body, expected) => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: '/v2.1/os-migrations?instance_uuid=s1', method: 'GET' }).reply(200, body, { headers: { 'content-type': 'text/html; charset=UTF-8' } });
    const read = await client.listMigrations(REF).then((list) => ({ migrations: list.length }), (err: unknown) => ({ kind: (err as ApiError).kind }));
    expect(read).toEqual(expected);
  });

  it('lists the server\'s actions and its migration records', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: `${SERVER_PATH}/os-instance-actions`, method: 'GET' })
      .reply(200, fixtureText('nova-api-samples/v2.58/instance-actions-list-resp.json'), { headers: JSON_HEADERS });
    pool.intercept({ path: '/v2.1/os-migrations?instance_uuid=s1', method: 'GET' }).reply(
      200,
      JSON.stringify({ migrations: [{ id: 1, status: 'failed', migration_type: 'live-migration', created_at: '2026-11-30T11:40:04.000000', updated_at: null, source_compute: 'a', dest_compute: 'b' }] }),
      { headers: JSON_HEADERS },
    );
    const { actions, next } = await client.listInstanceActions(REF);
    expect(actions.map((a) => a.action)).toEqual(['stop', 'create']);
    expect(next).toBeNull();
    expect(await client.listMigrations(REF)).toEqual([expect.objectContaining({ id: 1, status: 'failed', migration_type: 'live-migration' })]);
  });

  it('returns the previous action for the same answer (same text or same document) and the new one for any change', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    const doc = JSON.parse(ACTION_DOC) as { instanceAction: Record<string, unknown> };
    const reordered = JSON.stringify({ instanceAction: Object.fromEntries(Object.entries(doc.instanceAction).reverse()) });
    const changed = JSON.stringify({ instanceAction: { ...doc.instanceAction, message: 'Error' } });
    for (const body of [ACTION_DOC, ACTION_DOC, reordered, changed, changed]) {
      pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, body, { headers: JSON_HEADERS });
    }

    const first = await client.getInstanceAction(REF);
    expect(await client.getInstanceAction(REF, undefined, first)).toBe(first);
    expect(await client.getInstanceAction(REF, undefined, first)).toBe(first);
    const next = await client.getInstanceAction(REF, undefined, first);
    expect(next).not.toBe(first);
    expect(next).toMatchObject({ message: 'Error' });
    expect(first.message).toBeNull();
    // Without the previous document nothing is reused: the answer is read afresh.
    const fresh = await client.getInstanceAction(REF, undefined, null);
    expect(fresh).not.toBe(next);
    expect(fresh).toEqual(next);
  });

  it('gives back the kept action for an answer of the same text from the second read on, without reading the answer again', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    for (let i = 0; i < 3; i++) pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, ACTION_DOC, { headers: JSON_HEADERS });
    const first = await client.getInstanceAction(REF);
    // The first read keeps no digest: the second reads the answer and finds it equal.
    expect(await client.getInstanceAction(REF, undefined, first)).toBe(first);
    // Changed in memory, the kept action no longer equals the answer: only the digest of its text gives it back.
    (first as { message: string | null }).message = 'changed here';
    expect(await client.getInstanceAction(REF, undefined, first)).toBe(first);
  });

  it('compares a kept action it did not read itself (one from the state) with the answer whole, keeping no digest for it', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    for (let i = 0; i < 3; i++) pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, ACTION_DOC, { headers: JSON_HEADERS });
    // A copy, as the state gives back after a restart or to `check` beside a running daemon.
    const stored = JSON.parse(JSON.stringify(await client.getInstanceAction(REF))) as Awaited<ReturnType<typeof client.getInstanceAction>>;
    expect(await client.getInstanceAction(REF, undefined, stored)).toBe(stored);
    // Had that read kept the digest of its answer, this one would give the changed copy back unread.
    (stored as { message: string | null }).message = 'changed here';
    const reread = await client.getInstanceAction(REF, undefined, stored);
    expect(reread).not.toBe(stored);
    expect(reread.message).toBeNull();
  });

  it('keeps the URL of a watch\'s reads until told to forget it, then makes it again at the next read', async () => {
    const { agent, pool, client } = setup({ microversion: '2.60' });
    const ref = { ...REF };
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, ACTION_DOC, { headers: JSON_HEADERS }).times(2);
    pool.intercept({ path: '/v2.1/p2/servers/s1/os-instance-actions/req-1', method: 'GET' }).reply(200, ACTION_DOC, { headers: JSON_HEADERS });
    await client.getInstanceAction(ref);
    // A watch's ids do not change while it is polled: the URL made at its first read serves every read.
    ref.projectId = 'p2';
    await client.getInstanceAction(ref);
    client.forget(ref);
    await client.getInstanceAction(ref);
    agent.assertNoPendingInterceptors();
  });

  it('throws for a server that cannot be read', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: SERVER_PATH, method: 'GET' }).reply(503, '');
    const error = await apiError(client.getServer(REF));
    expect(error).toMatchObject({ kind: 'server', status: 503, retryable: true });
  });
});

describe('errors', () => {
  const url = `${ORIGIN}${ACTION_PATH}`;
  const gatewayNow = Date.now() - 600_000;
  it.each([
    {
      name: '401 with a Keystone body',
      status: 401,
      body: '{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}',
      expected: { kind: 'unauthorized', retryable: false, apiCode: 'Unauthorized', apiMessage: 'The request you have made requires authentication.' },
      message: `GET ${url} → 401 Unauthorized: The request you have made requires authentication.`,
    },
    {
      name: '404 with a Nova itemNotFound',
      status: 404,
      body: '{"itemNotFound": {"code": 404, "message": "Action req-1 on instance s1 could not be found."}}',
      expected: { kind: 'not_found', retryable: false, apiCode: 'itemNotFound' },
      message: `GET ${url} → 404 itemNotFound: Action req-1 on instance s1 could not be found.`,
    },
    {
      name: '429 with Retry-After',
      status: 429,
      body: '{"overLimit": {"code": 429, "message": "This request was rate-limited.", "retryAfter": "7"}}',
      headers: { 'retry-after': '7' },
      expected: { kind: 'rate_limited', retryable: true, retryAfterMs: 7000, apiCode: 'overLimit' },
      message: `GET ${url} → 429 overLimit: This request was rate-limited. (retry after 7 s)`,
    },
    {
      // A gateway's, its clock 10 minutes behind this host's: 30 s by its own Date, not 0 by ours.
      name: '429 with Retry-After as an HTTP date',
      status: 429,
      body: '{"overLimit": {"code": 429, "message": "This request was rate-limited."}}',
      headers: { date: new Date(gatewayNow).toUTCString(), 'retry-after': new Date(gatewayNow + 30_000).toUTCString() },
      expected: { kind: 'rate_limited', retryable: true, retryAfterMs: 30_000, apiCode: 'overLimit' },
      message: `GET ${url} → 429 overLimit: This request was rate-limited. (retry after 30 s)`,
    },
    {
      name: '500 computeFault',
      status: 500,
      body: '{"computeFault": {"code": 500, "message": "Unexpected API Error. Please report this."}}',
      expected: { kind: 'server', retryable: true, apiCode: 'computeFault' },
      message: `GET ${url} → 500 computeFault: Unexpected API Error. Please report this.`,
    },
    {
      name: '503 without body',
      status: 503,
      body: '',
      expected: { kind: 'server', retryable: true, apiMessage: undefined },
      message: `GET ${url} → 503 Service Unavailable`,
    },
    {
      name: '502 HTML page from a proxy',
      status: 502,
      body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
      expected: { kind: 'server', retryable: true, apiMessage: undefined },
      message: `GET ${url} → 502 Bad Gateway`,
    },
    {
      name: '400 Huawei error_code',
      status: 400,
      body: '{"error_code": "Ecs.0005", "error_msg": "Invalid request parameter.", "request_id": "abc"}',
      expected: { kind: 'bad_request', retryable: false, apiCode: 'Ecs.0005', apiMessage: 'Invalid request parameter.' },
      message: `GET ${url} → 400 Ecs.0005: Invalid request parameter.`,
    },
    {
      name: '403 Huawei error object',
      status: 403,
      body: '{"error": {"code": "Ecs.0007", "message": "Insufficient permissions."}}',
      expected: { kind: 'forbidden', retryable: false, apiCode: 'Ecs.0007' },
      message: `GET ${url} → 403 Ecs.0007: Insufficient permissions.`,
    },
  ])('maps $name', async ({ status, body, headers, expected, message }) => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(status, body, { headers: { ...JSON_HEADERS, ...headers } });

    const error = await apiError(client.getInstanceAction(REF));

    expect(error).toMatchObject({ status, method: 'GET', url, ...expected });
    expect(error.message).toBe(message);
    expect(error.message).not.toContain(TOKEN);
  });

  it('maps garbage JSON to invalid_response with an excerpt', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, '{"instanceAction": {"action": "cre');

    const error = await apiError(client.getInstanceAction(REF));

    expect(error).toMatchObject({ kind: 'invalid_response', status: 200, retryable: true });
    expect(error.message).toBe(`GET ${url} → 200 invalid response: not JSON: "{\\"instanceAction\\": {\\"action\\": \\"cre"`);
  });

  it('maps an HTML page at 200 (a captive portal\'s login) to a gateway refusal naming its title, which a retry does not get past', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, '<html><title>Login</title></html>');

    const error = await apiError(client.getInstanceAction(REF));

    expect(error).toMatchObject({ kind: 'gateway', status: 200, retryable: false });
    expect(error.message).toBe(`GET ${url} → 200 OK: an HTML page ("Login"), not the API's answer: something in front of the API (a firewall, gateway or proxy) answered in its place`);
  });

  it('maps a document of the wrong shape to invalid_response naming the field', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    const body = JSON.stringify({ instanceAction: { action: 'stop', request_id: 'req-1', events: [{ event: 7 }] } });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, body, { headers: JSON_HEADERS });

    const error = await apiError(client.getInstanceAction(REF));

    expect(error.kind).toBe('invalid_response');
    expect(error.message).toContain('unexpected document (instanceAction.events.0.event:');
    expect(error.message).not.toContain('\n');
  });

  it.each([
    ['request', { request_id: 'req-2' }, 'request "req-2", not req-1'],
    ['server', { instance_uuid: 's2' }, 'server "s2", not s1'],
  ])('refuses an answer about another %s, which a cache or gateway on the way gave, as invalid_response', async (_, ids, named) => {
    const { pool, client } = setup({ microversion: '2.60' });
    const { instanceAction } = JSON.parse(ACTION_DOC) as { instanceAction: Record<string, unknown> };
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, JSON.stringify({ instanceAction: { ...instanceAction, ...ids } }), { headers: JSON_HEADERS });

    const error = await apiError(client.getInstanceAction(REF));

    expect(error).toMatchObject({ kind: 'invalid_response', status: 200, retryable: true });
    expect(error.message).toBe(`GET ${url} → 200 invalid response: the answer is about ${named}: something between the daemon and the cloud (a cache, a gateway) answers for another URL`);
  });

  it('takes ids that differ from the watch\'s in case only, as Nova finds them', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    const { instanceAction } = JSON.parse(ACTION_DOC) as { instanceAction: Record<string, unknown> };
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, JSON.stringify({ instanceAction: { ...instanceAction, request_id: 'REQ-1', instance_uuid: 'S1' } }), { headers: JSON_HEADERS });

    expect(await client.getInstanceAction(REF)).toMatchObject({ request_id: 'REQ-1', action: instanceAction['action'] });
  });

  it('refuses a job document about another job as invalid_response', async () => {
    const { pool, client } = setup();
    const job = { status: 'SUCCESS', job_id: 'job-2', job_type: 'createServer', begin_time: '2026-11-26T17:50:00.000Z', end_time: '2026-11-26T17:51:00.000Z', entities: {} };
    pool.intercept({ path: '/v1/p1/jobs/job-1', method: 'GET' }).reply(200, JSON.stringify(job), { headers: JSON_HEADERS });

    const error = await apiError(client.getJob({ projectId: 'p1', jobId: 'job-1' }));

    expect(error).toMatchObject({ kind: 'invalid_response', retryable: true });
    expect(error.message).toContain('invalid response: the answer is about job "job-2", not job-1: ');
  });

  it('maps a failed connection to network', async () => {
    const { pool, client } = setup({ microversion: '2.60' });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).replyWithError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));

    const error = await apiError(client.getInstanceAction(REF));

    expect(error).toMatchObject({ kind: 'network', retryable: true, status: undefined });
    expect(error.message).toBe(`GET ${url} → network error: read ECONNRESET`);
  });
});

describe('logging', () => {
  it('logs each request at debug with method, path, status and duration, never the token', async () => {
    const { pool, client, lines, raw } = setup();
    pool.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, VERSION_DOC, { headers: JSON_HEADERS });
    pool.intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, ACTION_DOC, { headers: JSON_HEADERS });
    pool.intercept({ path: SERVER_PATH, method: 'GET' }).reply(401, '{"error": {"code": 401, "message": "bad token"}}');

    await client.getInstanceAction(REF);
    await client.getServer(REF).catch(() => undefined);

    const requests = lines.filter((l) => l.msg === 'cloud request');
    expect(requests.map((l) => [l['method'], l['path'], l['status']])).toEqual([
      ['GET', '/v2.1/', 200],
      ['GET', ACTION_PATH, 200],
      ['GET', SERVER_PATH, 401],
    ]);
    for (const line of requests) {
      expect(line.level).toBe(20);
      expect(line['durationMs']).toEqual(expect.any(Number));
    }
    expect(raw.join('')).not.toContain(TOKEN);
  });
});

describe('cancellation and close', () => {
  function slowAction(agent: MockAgent) {
    agent.get(ORIGIN).intercept({ path: ACTION_PATH, method: 'GET' }).reply(200, ACTION_DOC).delay(2000);
  }

  it("rejects with the caller's abort reason, not an ApiError", async () => {
    const { agent, client } = setup({ microversion: '2.60' });
    slowAction(agent);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 20);

    await expect(client.getInstanceAction(REF, controller.signal)).rejects.toBe(reason);
  });

  it('cancels requests in flight on close, is idempotent, and refuses new requests', async () => {
    const { agent, client } = setup({ microversion: '2.60' });
    slowAction(agent);
    const pending = client.getInstanceAction(REF);
    await new Promise((resolve) => setTimeout(resolve, 20));

    await Promise.all([client.close(), client.close()]);
    await client.close();

    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(client.getServer(REF)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
