// The simulator's Keystone token service and its AK/SK gateway, checked against Keystone's api-ref
// samples and Huawei's documented signing algorithm (computed here by hand, step by step).
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { actionUrl, get, manualClock, PROJECT, SERVER, START, simulatorPerTest } from './helpers.ts';

// The user and project of Keystone's samples (test/fixtures/keystone-api-samples).
const SAMPLE_USER_ID = 'ee4dfb6e5540447cb3741905149d9b6e';
const SAMPLE_PROJECT_ID = 'a6944d763bf64ee6a275f1263fae0352';
const IDENTITY: NonNullable<SimulatorOptions['identity']> = {
  user: { id: SAMPLE_USER_ID, name: 'admin', password: 'devstacker' },
  project: { id: SAMPLE_PROJECT_ID, name: 'admin' },
  tokenLifetimeMs: 60_000,
};

const keystoneSample = (name: string) => readFileSync(new URL(`../fixtures/keystone-api-samples/${name}`, import.meta.url), 'utf8');

const start = simulatorPerTest();

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: response.status, token: response.headers.get('x-subject-token'), json: (await response.json()) as { token?: Record<string, unknown>; error?: unknown } };
}

function addStop(sim: Simulator, projectId = PROJECT): string {
  return sim.addAction({ projectId, serverId: SERVER, action: 'stop', steps: [{ event: 'compute_stop_instance', durationMs: 0 }] });
}

describe('Keystone token service', () => {
  it.each(['project-id-password.json', 'project-name-password.json'])('issues a scoped token for the sample request %s', async (sample) => {
    const clock = manualClock();
    const sim = await start({ identity: IDENTITY, now: clock.now });
    const answer = await post(`${sim.identityUrl}/auth/tokens`, keystoneSample(sample));
    expect(answer.status).toBe(201);
    expect(answer.token).toMatch(/^\S{20,}$/);
    const expected = JSON.parse(keystoneSample('project-scoped-password.json')) as { token: Record<string, unknown> };
    expect(Object.keys(answer.json.token ?? {}).sort()).toEqual(Object.keys(expected.token).sort());
    expect(answer.json.token).toMatchObject({
      methods: ['password'],
      project: { id: SAMPLE_PROJECT_ID, name: 'admin', domain: { id: 'default', name: 'Default' } },
      user: { id: SAMPLE_USER_ID, name: 'admin' },
      issued_at: new Date(START).toISOString().replace('Z', '000Z'),
      expires_at: new Date(START + 60_000).toISOString().replace('Z', '000Z'),
    });
    const compute = (answer.json.token?.catalog as Array<{ type: string; endpoints: Array<{ interface: string; url: string }> }>).find((s) => s.type === 'compute');
    expect(compute?.endpoints).toContainEqual(expect.objectContaining({ interface: 'public', url: `${sim.url}/v2.1/${SAMPLE_PROJECT_ID}` }));
  });

  it('leaves the catalog out on ?nocatalog', async () => {
    const sim = await start({ identity: IDENTITY });
    const answer = await post(`${sim.identityUrl}/auth/tokens?nocatalog=true`, keystoneSample('project-id-password.json'));
    expect(answer.status).toBe(201);
    expect(answer.json.token).not.toHaveProperty('catalog');
  });

  it.each([
    ['a wrong password', (b: string) => b.replace('devstacker', 'wrong')],
    ['an unknown user', (b: string) => b.replace(SAMPLE_USER_ID, 'someone-else')],
    ['a project of someone else', (b: string) => b.replace(SAMPLE_PROJECT_ID, 'not-mine')],
  ])('answers %s with 401 and Keystone\'s message', async (_case, change) => {
    const sim = await start({ identity: IDENTITY });
    const answer = await post(`${sim.identityUrl}/auth/tokens`, change(keystoneSample('project-id-password.json')));
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
    expect(answer.token).toBeNull();
  });

  it('opens the compute API with its tokens until they expire or are revoked', async () => {
    const clock = manualClock();
    const sim = await start({ identity: IDENTITY, now: clock.now });
    const requestId = addStop(sim, SAMPLE_PROJECT_ID);
    const url = actionUrl(sim.url, requestId, SERVER, SAMPLE_PROJECT_ID);
    const first = (await post(`${sim.identityUrl}/auth/tokens`, keystoneSample('project-id-password.json'))).token!;
    expect((await get(url, { 'X-Auth-Token': first })).status).toBe(200);
    expect((await get(url, { 'X-Auth-Token': 'made-up' })).status).toBe(401);
    clock.advance(60_000);
    expect((await get(url, { 'X-Auth-Token': first })).status).toBe(401);

    const second = (await post(`${sim.identityUrl}/auth/tokens`, keystoneSample('project-id-password.json'))).token!;
    const third = (await post(`${sim.identityUrl}/auth/tokens`, keystoneSample('project-id-password.json'))).token!;
    expect((await get(url, { 'X-Auth-Token': second })).status).toBe(200);
    // DELETE /v3/auth/tokens revokes the subject token.
    const revoke = await fetch(`${sim.identityUrl}/auth/tokens`, { method: 'DELETE', headers: { 'X-Auth-Token': third, 'X-Subject-Token': second } });
    expect(revoke.status).toBe(204);
    expect((await get(url, { 'X-Auth-Token': second })).status).toBe(401);
    expect((await get(url, { 'X-Auth-Token': third })).status).toBe(200);
    sim.revokeTokens();
    expect((await get(url, { 'X-Auth-Token': third })).status).toBe(401);
    expect(sim.issuedTokens).toEqual([first, second, third]);
    expect(sim.requests.filter((r) => r.route === 'identity').map((r) => r.status)).toEqual([201, 201, 201, 204]);
  });

  it("answers 400 for a URL of another project than the token's, as wsgi.Resource._process_stack does", async () => {
    const sim = await start({ identity: IDENTITY });
    const requestId = addStop(sim, PROJECT);
    const token = (await post(`${sim.identityUrl}/auth/tokens`, keystoneSample('project-id-password.json'))).token!;
    const answer = await get<Record<string, { message: string }>>(actionUrl(sim.url, requestId), { 'X-Auth-Token': token });
    expect(answer.status).toBe(400);
    expect(answer.json['badRequest']?.message).toBe(
      `Malformed request URL: URL's project_id '${PROJECT}' doesn't match Context's project_id '${SAMPLE_PROJECT_ID}'`,
    );
    // The token's own project passes on to the controller, which has no such server there.
    expect((await get(actionUrl(sim.url, requestId, SERVER, SAMPLE_PROJECT_ID), { 'X-Auth-Token': token })).status).toBe(404);
  });
});

// Huawei's algorithm, step by step as the signing guide lists them, for one fixed request.
function signByHand(o: { method: string; path: string; query: string; headers: Record<string, string>; ak: string; sk: string }): string {
  const names = Object.keys(o.headers).map((n) => n.toLowerCase()).sort();
  const canonicalRequest = [
    o.method,
    o.path.endsWith('/') ? o.path : `${o.path}/`,
    o.query,
    names.map((n) => `${n}:${o.headers[n]}\n`).join(''),
    names.join(';'),
    createHash('sha256').update('').digest('hex'),
  ].join('\n');
  const stringToSign = ['SDK-HMAC-SHA256', o.headers['x-sdk-date'], createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signature = createHmac('sha256', o.sk).update(stringToSign).digest('hex');
  return `SDK-HMAC-SHA256 Access=${o.ak}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
}

describe('AK/SK gateway', () => {
  const AK = 'HPUAEXAMPLEACCESSKEY';
  const SK = 'sk-EXAMPLE-secret-0123456789';
  const sdkDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');

  async function signedGet(sim: Simulator, requestId: string, change: (h: Record<string, string>) => void = () => undefined, sk = SK) {
    const path = `/v2.1/${PROJECT}/servers/${SERVER}/os-instance-actions/${requestId}`;
    const headers: Record<string, string> = {
      host: new URL(sim.url).host,
      'x-sdk-date': sdkDate(START),
      'x-project-id': PROJECT,
    };
    change(headers);
    const authorization = signByHand({ method: 'GET', path, query: 'a=1&b=x%20y', headers, ak: AK, sk });
    return get(`${sim.url}${path}?b=x%20y&a=1`, { ...headers, authorization });
  }

  it('accepts a request signed as the guide describes, with the query in any order', async () => {
    const sim = await start({ aksk: { accessKey: AK, secretKey: SK }, now: () => START });
    expect((await signedGet(sim, addStop(sim))).status).toBe(200);
  });

  it.each([
    ['a wrong secret key', (sim: Simulator, id: string) => signedGet(sim, id, undefined, 'another-secret'), 'verify aksk signature fail'],
    ['a stale X-Sdk-Date', (sim: Simulator, id: string) => signedGet(sim, id, (h) => { h['x-sdk-date'] = sdkDate(START - 16 * 60_000); }), 'the request expired'],
    ['another project in X-Project-Id', (sim: Simulator, id: string) => signedGet(sim, id, (h) => { h['x-project-id'] = 'other'; }), 'X-Project-Id does not name'],
  ])('refuses %s with APIGW.0301', async (_case, send, message) => {
    const sim = await start({ aksk: { accessKey: AK, secretKey: SK }, now: () => START });
    const answer = await send(sim, addStop(sim));
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ error_code: 'APIGW.0301', error_msg: expect.stringContaining(message) });
  });

  it('locks the key for 5 min once more than five requests in a row were refused, a right signature refused meanwhile', async () => {
    const clock = manualClock();
    const sim = await start({ aksk: { accessKey: AK, secretKey: SK }, now: clock.now });
    const requestId = addStop(sim);
    for (let i = 0; i < 5; i++) expect((await signedGet(sim, requestId, undefined, 'another-secret')).status).toBe(401);
    // Five refusals, then one that passes: the count starts again.
    expect((await signedGet(sim, requestId)).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await signedGet(sim, requestId, undefined, 'another-secret')).status).toBe(401);
    const locked = await signedGet(sim, requestId);
    expect(locked.status).toBe(401);
    expect(locked.json).toMatchObject({ error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden' });
    clock.advance(5 * 60_000);
    const date = (h: Record<string, string>) => {
      h['x-sdk-date'] = sdkDate(clock.now());
    };
    expect((await signedGet(sim, requestId, date)).status).toBe(200);
  });

  it('requires the security token of temporary credentials, signed', async () => {
    const sim = await start({ aksk: { accessKey: AK, secretKey: SK, securityToken: 'st-EXAMPLE' }, now: () => START });
    const requestId = addStop(sim);
    expect((await signedGet(sim, requestId)).json).toMatchObject({ error_msg: expect.stringContaining('security token') });
    expect((await signedGet(sim, requestId, (h) => { h['x-security-token'] = 'st-EXAMPLE'; })).status).toBe(200);
  });
});
