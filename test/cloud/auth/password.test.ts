// Keystone / IAM password authentication against the simulator's token service, over real HTTP.
import { writeFile } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../src/cloud/ApiError.ts';
import type { PasswordAuthConfig } from '../../../src/cloud/auth/password/config.ts';
import { tokenRequestBody, tokensUrl } from '../../../src/cloud/auth/password/keystone.ts';
import { MIN_FORCED_RENEWAL_MS, TRANSIENT_BACKOFF_MS } from '../../../src/cloud/auth/password/password.ts';
import { REFUSED_BACKOFF_MS, type RefusedCredentials } from '../../../src/cloud/auth/refusedBackoff.ts';
import { createAuth } from '../../../src/cloud/auth/registry.ts';
import type { AuthStrategy, KeptTokens } from '../../../src/cloud/auth/types.ts';
import { startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import { makeCertificates } from '../../certificates.ts';
import { tempFolderEach } from '../../tempFolder.ts';
import { captureLogger, fixtureJson } from '../helpers.ts';

const PASSWORD = 'pw-DISTINCT-9f3e1c';
const PROJECT = 'b1e5ae7a6d2c4b7f9f3a8c1d2e3f4a5b';
const REQUEST = { method: 'GET', url: 'https://ecs.test/v2.1/', headers: {} };

let sim: Simulator;
let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];

tempFolderEach('eaw-password-', (made) => {
  dir = made;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.useRealTimers();
});

async function simulator(tokenLifetimeMs = 24 * 3_600_000): Promise<Simulator> {
  sim = await startSimulator({
    identity: { user: { name: 'svc-watch', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' }, tokenLifetimeMs },
  });
  cleanups.push(() => sim.close());
  return sim;
}

function auth(config: Partial<PasswordAuthConfig> = {}, needsCatalog = false) {
  const dispatcher = new Agent();
  const { logger, lines, raw } = captureLogger();
  const strategy = createAuth(
    { type: 'password', user: 'svc-watch', domain: 'Default', password: PASSWORD, projectId: PROJECT, ...config, identityEndpoint: config.identityEndpoint ?? sim.identityUrl },
    { logger, dispatcher, timeout: 2000, needsCatalog, now: () => Date.now() },
  );
  cleanups.push(() => dispatcher.close(), () => strategy.close?.() ?? Promise.resolve());
  return { strategy, lines, raw };
}

const logins = () => sim.requests.filter((r) => r.route === 'identity');
const token = async (strategy: AuthStrategy) => (await strategy.headers(REQUEST, undefined))['x-auth-token'];

/** The token a request gets once the renewal under way has ended: the new one (the one in hand serves until then). */
async function renewedToken(strategy: AuthStrategy, inHand: string | undefined): Promise<string | undefined> {
  let got = inHand;
  await vi.waitUntil(async () => (got = await token(strategy)) !== inHand);
  return got;
}

/** Waits until the renewal under way has failed and said so. */
const renewalFailed = (lines: Array<{ level: number; msg: string }>) => vi.waitUntil(() => lines.some((l) => l.level === 40 && l.msg.startsWith('the identity service failed')));

/** An identity service of the test's own on loopback, answering with `handler`: its endpoint, `/v3`; closed after the test. */
async function identityService(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`;
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** Refused credentials are not tried again before the backoff has passed (one login so far), and are once it has. */
async function triedAgainAtTheBackoff(strategy: AuthStrategy): Promise<void> {
  vi.advanceTimersByTime(REFUSED_BACKOFF_MS.first - 1000);
  await failure(strategy.headers(REQUEST, undefined));
  expect(logins()).toHaveLength(1);
  vi.advanceTimersByTime(1000);
  await failure(strategy.headers(REQUEST, undefined));
  expect(logins()).toHaveLength(2);
}

/** This host's clock set an hour either way while a wait runs, which the wait must not feel. */
const CLOCK_SET = [
  ['set back', -60 * 60_000],
  ['set forward', 60 * 60_000],
] as const;

describe('the token request', () => {
  const base = { type: 'password' as const, identityEndpoint: 'https://iam.test/v3', password: 'devstacker' };

  it.each([
    ['project-id-password.json', { userId: 'ee4dfb6e5540447cb3741905149d9b6e', projectId: 'a6944d763bf64ee6a275f1263fae0352' }],
    ['project-name-password.json', { userId: 'ee4dfb6e5540447cb3741905149d9b6e', projectName: 'admin', projectDomainId: 'default' }],
  ])('is the body of Keystone\'s sample %s', (sample, keys) => {
    expect(JSON.parse(tokenRequestBody({ ...base, ...keys }, 'devstacker'))).toEqual(fixtureJson(`keystone-api-samples/${sample}`));
  });

  it('names the user by name in its domain, and the project by name in the user\'s domain by default', () => {
    const body = JSON.parse(tokenRequestBody({ ...base, user: 'admin', domain: 'Default', projectName: 'eu-de' }, 'devstacker'));
    const unscoped = fixtureJson('keystone-api-samples/auth-password-unscoped-request-with-domain.json') as { auth: object };
    expect(body.auth.identity).toEqual((unscoped.auth as { identity: object }).identity);
    expect(body.auth.scope).toEqual({ project: { name: 'eu-de', domain: { name: 'Default' } } });
  });

  it.each([
    ['https://iam.eu-de.otc.t-systems.com/v3', true, 'https://iam.eu-de.otc.t-systems.com/v3/auth/tokens'],
    ['https://iam.eu-de.otc.t-systems.com:443/v3/', false, 'https://iam.eu-de.otc.t-systems.com/v3/auth/tokens?nocatalog=true'],
    ['http://keystone.test/identity', true, 'http://keystone.test/identity/v3/auth/tokens'],
    ['https://user:pw@iam.test/v3?x=1', true, 'https://iam.test/v3/auth/tokens'],
    // Another version than Keystone's v3: an old clouds.yaml's v2.0, a v3.0.
    ['https://keystone.test:5000/v2.0', true, 'https://keystone.test:5000/v3/auth/tokens'],
    ['https://keystone.test/identity/v3.0/', true, 'https://keystone.test/identity/v3/auth/tokens'],
    // The token request's own URL, as Huawei's API reference writes it (POST https://iam.{region}.../v3/auth/tokens).
    ['https://iam.ap-southeast-1.myhuaweicloud.com/v3/auth/tokens', true, 'https://iam.ap-southeast-1.myhuaweicloud.com/v3/auth/tokens'],
    ['https://keystone.test/identity/v3/auth/tokens/', false, 'https://keystone.test/identity/v3/auth/tokens?nocatalog=true'],
  ])('goes to %s (catalog %s) as %s', (endpoint, catalog, url) => {
    expect(tokensUrl(endpoint, catalog)).toBe(url);
  });
});

describe('password auth', () => {
  it('sends the X-Subject-Token as X-Auth-Token, one login for many concurrent requests', async () => {
    await simulator();
    const { strategy } = auth();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => token(strategy)));
    expect(new Set(tokens)).toEqual(new Set([sim.issuedTokens[0]]));
    expect(logins()).toHaveLength(1);
    expect(logins()[0]?.path).toBe('/v3/auth/tokens?nocatalog=true');
  });

  it('logs in with an identity endpoint written as the token request\'s own URL (.../v3/auth/tokens)', async () => {
    await simulator();
    const { strategy } = auth({ identityEndpoint: `${sim.identityUrl}/auth/tokens` });
    expect(await token(strategy)).toBe(sim.issuedTokens[0]);
    expect(logins().map((r) => `${r.path} ${r.status}`)).toEqual(['/v3/auth/tokens?nocatalog=true 201']);
  });

  it('gives the catalog when the client needs it', async () => {
    await simulator();
    const { strategy } = auth({}, true);
    const catalog = await strategy.catalog!(undefined);
    expect(catalog.map((s) => s.type)).toEqual(['identity', 'compute']);
    expect(logins()[0]?.path).toBe('/v3/auth/tokens');
  });

  it('renews when a quarter of the lifetime is left, once however many ask meanwhile, who have the token in hand', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator(8000);
    const { strategy } = auth();
    const first = await token(strategy);
    vi.advanceTimersByTime(5900);
    expect(await token(strategy)).toBe(first);
    vi.advanceTimersByTime(200);
    expect(await Promise.all(Array.from({ length: 8 }, () => token(strategy)))).toEqual(Array.from({ length: 8 }, () => first));
    expect(await renewedToken(strategy, first)).toBe(sim.issuedTokens[1]);
    expect(logins()).toHaveLength(2);
  });

  it('serves the token in hand while its renewal waits on a slow identity service: no request is held up for it', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator(8000);
    const { strategy, lines } = auth();
    const first = await token(strategy);
    sim.injectFault({ kind: 'slow', delayMs: 60_000 }, { route: 'identity' });
    vi.advanceTimersByTime(6100);
    // The token has 1.9 s left: every request meanwhile goes with it, none waits for the renewal's answer
    // (nor, here, for its timeout, which would be logged).
    expect(await Promise.all(Array.from({ length: 8 }, () => token(strategy)))).toEqual(Array.from({ length: 8 }, () => first));
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    await vi.waitUntil(() => logins().length === 2);
  });

  it('a 24 h token is not renewed for 18 h', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    const { strategy } = auth();
    const first = await token(strategy);
    vi.advanceTimersByTime(17.9 * 3_600_000);
    expect(await token(strategy)).toBe(first);
    expect(logins()).toHaveLength(1);
  });

  it('after a 401 to the token in hand, gets a new one once; a 401 to a fresh one is final', async () => {
    await simulator();
    const { strategy, lines } = auth();
    const sent = await strategy.headers(REQUEST, undefined);
    sim.revokeTokens();
    // Concurrent polls all see the 401; only the first drops the token, and all retry with the new one.
    const answers = await Promise.all(Array.from({ length: 5 }, () => strategy.onUnauthorized!(sent)));
    expect(answers).toEqual([true, true, true, true, true]);
    const fresh = await Promise.all(Array.from({ length: 5 }, () => strategy.headers(REQUEST, undefined)));
    expect(new Set(fresh.map((h) => h['x-auth-token']))).toEqual(new Set([sim.issuedTokens[1]]));
    expect(logins()).toHaveLength(2);
    expect(lines.filter((l) => l.msg.includes('refused the token'))).toHaveLength(1);

    expect(await strategy.onUnauthorized!(fresh[0]!)).toBe(false);
    expect(logins()).toHaveLength(2);
    expect(MIN_FORCED_RENEWAL_MS).toBeGreaterThanOrEqual(60_000);
  });

  it('a wrong password: one log line per attempt in Keystone\'s words, then backoff; a new password file is tried at once', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    const file = join(dir, 'password');
    await writeFile(file, 'not-the-password\n');
    const { strategy, lines } = auth({ password: undefined, passwordFile: file });

    const error = await failure(strategy.headers(REQUEST, undefined));
    expect(error).toMatchObject({ kind: 'unauthorized', retryable: false, status: 401 });
    expect(error.message).toBe(
      `cannot get a token for user 'svc-watch' of domain 'Default': POST ${sim.identityUrl}/auth/tokens?nocatalog=true → 401 Unauthorized: The request you have made requires authentication.`,
    );
    const logged = lines.filter((l) => l.level === 50);
    expect(logged).toEqual([
      expect.objectContaining({ msg: 'the identity service refused the credentials; next attempt in 5 min or when the password changes', attempt: 1, retryInMs: REFUSED_BACKOFF_MS.first, error: error.message }),
    ]);

    // Every poll until then gets the same answer without asking the identity service.
    for (let i = 0; i < 10; i++) expect(await failure(strategy.headers(REQUEST, undefined))).toBe(error);
    await triedAgainAtTheBackoff(strategy);
    expect(lines.filter((l) => l.level === 50).map((l) => l['retryInMs'])).toEqual([REFUSED_BACKOFF_MS.first, 2 * REFUSED_BACKOFF_MS.first]);

    await writeFile(file, `${PASSWORD}\n`);
    vi.advanceTimersByTime(1000);
    expect(await token(strategy)).toBe(sim.issuedTokens[0]);
    expect(logins()).toHaveLength(3);
  });

  it('a wrong password whose 401 broke off mid-body is refused all the same: its status was read, and another login within the 5 min would be one more failed in a row', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    sim.injectFault({ kind: 'cut-body' }, { route: 'identity', times: 10 });
    const { strategy, lines, raw } = auth({ password: 'not-the-PASSWORD-6b2a' });

    const error = await failure(strategy.headers(REQUEST, undefined));
    expect(error).toMatchObject({ kind: 'unauthorized', retryable: false, status: 401 });
    expect(lines.filter((l) => l.level >= 40)).toEqual([
      expect.objectContaining({ level: 50, msg: 'the identity service refused the credentials; next attempt in 5 min or when the password changes', attempt: 1 }),
    ]);
    // The backoff of a failure that passes (2 s, 4 s, ...) would have it log in again and again.
    vi.advanceTimersByTime(TRANSIENT_BACKOFF_MS.max);
    expect(await failure(strategy.headers(REQUEST, undefined))).toBe(error);
    expect(logins()).toHaveLength(1);
    expect(raw.join('\n')).not.toContain('not-the-PASSWORD-6b2a');
  });

  it('says an identity endpoint that redirects (http:// for https://) sends the login elsewhere, not that the credentials were refused', async () => {
    const identityEndpoint = await identityService((_req, res) => {
      res.writeHead(301, { location: 'https://iam.example.com/v3/auth/tokens?nocatalog=true' });
      res.end();
    });
    const { strategy, lines } = auth({ identityEndpoint });
    const error = await failure(strategy.headers(REQUEST, undefined));
    expect(error).toMatchObject({ kind: 'redirect', retryable: false, status: 301 });
    expect(error.message).toMatch(/→ 301 Moved Permanently: redirects to https:\/\/iam\.example\.com\/v3\/auth\/tokens \(not followed/);
    expect(lines.filter((l) => l.level === 50)).toEqual([
      expect.objectContaining({ msg: 'the identity service sends the login elsewhere (not followed): check cloud.auth.identityEndpoint; next attempt in 5 min', retryInMs: REFUSED_BACKOFF_MS.first }),
    ]);
  });

  it('says an HTML page refusing the login comes from something in front of the identity service, and tries again as for a failure that passes', async () => {
    const identityEndpoint = await identityService((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/html' });
      res.end('<html><head><title>Request Rejected</title></head><body>The requested URL was rejected.</body></html>');
    });
    const { strategy, lines } = auth({ identityEndpoint });
    const error = await failure(strategy.headers(REQUEST, undefined));
    expect(error).toMatchObject({ kind: 'gateway', retryable: false, status: 403 });
    expect(error.message).toMatch(/→ 403 Forbidden: an HTML page \("Request Rejected"\), not the API's answer/);
    expect(lines.filter((l) => l.level === 50)).toEqual([
      expect.objectContaining({
        msg: 'something in front of the identity service refused the login (an HTML page, not its answer): check with whoever runs the firewall, gateway or proxy there; next attempt in 2 s',
        retryInMs: TRANSIENT_BACKOFF_MS.first,
      }),
    ]);
  });

  it.each([
    [
      'its IP access control (APIGW.0402)',
      { kind: 'gateway-ip-refused' },
      "the API gateway in front of the identity service refused the login, not the identity service (APIGW.0402): the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth; next attempt in 2 s",
    ],
    [
      'a request it cannot take (APIGW.0201)',
      { kind: 'gateway-bad-request' },
      'the API gateway in front of the identity service answered the login itself, not the identity service (no refusal of the password): ask whoever runs the gateway, or check cloud.auth.identityEndpoint; next attempt in 2 s',
    ],
  ] as const)("takes a login the API gateway in front refuses by %s for no refusal of the password: says what to mend, keeps no refusal, and tries again as for a failure that passes", async (_, fault, said) => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    sim.injectFault(fault, { route: 'identity', times: 1 });
    const dispatcher = new Agent();
    const { logger, lines } = captureLogger();
    const refused: RefusedCredentials = new Map();
    const strategy = createAuth(
      { type: 'password', user: 'svc-watch', domain: 'Default', password: PASSWORD, projectId: PROJECT, identityEndpoint: sim.identityUrl },
      { logger, dispatcher, timeout: 2000, needsCatalog: false, now: () => Date.now(), refused },
    );
    cleanups.push(() => dispatcher.close(), () => strategy.close?.() ?? Promise.resolve());

    await failure(strategy.headers(REQUEST, undefined));
    expect(lines.filter((l) => l.level >= 40)).toEqual([expect.objectContaining({ level: 50, msg: said, retryInMs: TRANSIENT_BACKOFF_MS.first })]);
    // A reload's method with the same password would otherwise hold its first login off for 5 min.
    expect(refused.size).toBe(0);
    vi.advanceTimersByTime(TRANSIENT_BACKOFF_MS.first);
    expect(await token(strategy)).toBe(sim.issuedTokens[0]);
  });

  it('gives a method made anew (a reload) with the same login the token in hand, not one revoked since; another password logs in', async () => {
    await simulator();
    const dispatcher = new Agent();
    cleanups.push(() => dispatcher.close());
    const tokens: KeptTokens = new Map();
    const made = (password = PASSWORD) => {
      const strategy = createAuth(
        { type: 'password', user: 'svc-watch', domain: 'Default', password, projectId: PROJECT, identityEndpoint: sim.identityUrl },
        { logger: captureLogger().logger, dispatcher, timeout: 2000, needsCatalog: false, now: () => Date.now(), tokens },
      );
      cleanups.push(() => strategy.close?.() ?? Promise.resolve());
      return strategy;
    };
    const first = await made().headers(REQUEST, undefined);
    sim.injectFault({ kind: 'unavailable' }, { route: 'identity', times: 100 });
    expect(await Promise.all([token(made()), token(made())])).toEqual([sim.issuedTokens[0], sim.issuedTokens[0]]);
    expect(logins()).toHaveLength(1);
    // Another password is another login, which the identity service, down, fails.
    await failure(made(`${PASSWORD}-rotated`).headers(REQUEST, undefined));
    sim.clearFaults();
    const revoked = made();
    expect(await token(revoked)).toBe(sim.issuedTokens[0]);
    sim.revokeTokens();
    expect(await revoked.onUnauthorized!(first)).toBe(true);
    expect(await token(made())).toBe(sim.issuedTokens[1]);
  });

  it("holds every first request of a method made anew (a reload) off a password refused before, not the first alone: the polls of a pass ask at once", async () => {
    await simulator();
    const dispatcher = new Agent();
    cleanups.push(() => dispatcher.close());
    const refused: RefusedCredentials = new Map();
    const made = () => {
      const strategy = createAuth(
        { type: 'password', user: 'svc-watch', domain: 'Default', password: 'not-the-password', projectId: PROJECT, identityEndpoint: sim.identityUrl },
        { logger: captureLogger().logger, dispatcher, timeout: 2000, needsCatalog: false, now: () => Date.now(), refused },
      );
      cleanups.push(() => strategy.close?.() ?? Promise.resolve());
      return strategy;
    };
    await failure(made().headers(REQUEST, undefined));
    expect(refused.size).toBe(1);
    const again = made();
    // IAM locks a user after 5 failed logins within 15 minutes: each poll's login would be one of them.
    for (const error of await Promise.all(Array.from({ length: 3 }, () => failure(again.headers(REQUEST, undefined))))) expect(error.kind).toBe('unauthorized');
    expect(logins()).toHaveLength(1);
  });

  it('backs off as long as a 429 from the identity service asks', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    sim.injectFault({ kind: 'rate-limited', retryAfterSeconds: 30 }, { route: 'identity' });
    const { strategy } = auth();
    expect(await failure(strategy.headers(REQUEST, undefined))).toMatchObject({ kind: 'rate_limited', retryable: true, retryAfterMs: 30_000 });
    vi.advanceTimersByTime(29_000);
    await failure(strategy.headers(REQUEST, undefined));
    expect(logins()).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(await token(strategy)).toBe(sim.issuedTokens[0]);
  });

  it('says a refusal\'s wait as the other waits are said: to the second under an hour, when its Retry-After asks for more than the backoff', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const identityEndpoint = await identityService((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json', 'retry-after': '330' }).end('{"error": {"code": 401, "title": "Unauthorized", "message": "locked for a while"}}');
    });
    const { strategy, lines } = auth({ identityEndpoint });
    await failure(strategy.headers(REQUEST, undefined));
    expect(lines.filter((l) => l.level === 50)).toEqual([
      expect.objectContaining({ msg: 'the identity service refused the credentials; next attempt in 5 min 30 s or when the password changes', retryInMs: 330_000 }),
    ]);
  });

  it("tries again within the backoff's longest wait however long a 429's Retry-After asks: a day, or more than a number holds", async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    // 400 digits read as Infinity, which put the next login off for good.
    for (const retryAfter of ['86400', '9'.repeat(400)]) {
      let asked = 0;
      const identityEndpoint = await identityService((_req, res) => {
        asked++;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': retryAfter }).end('{"error": {"code": 429, "title": "Too Many Requests", "message": "slow down"}}');
      });
      const { strategy } = auth({ identityEndpoint });
      expect(await failure(strategy.headers(REQUEST, undefined))).toMatchObject({ kind: 'rate_limited' });
      vi.advanceTimersByTime(TRANSIENT_BACKOFF_MS.max);
      await failure(strategy.headers(REQUEST, undefined));
      expect(asked).toBe(2);
    }
  });

  it('keeps using the token in hand while renewal fails, until it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator(8000);
    const { strategy, lines } = auth();
    const first = await token(strategy);
    sim.injectFault({ kind: 'unavailable' }, { route: 'identity', times: 100 });
    vi.advanceTimersByTime(6500);
    expect(await token(strategy)).toBe(first);
    await renewalFailed(lines);
    expect(await token(strategy)).toBe(first);
    expect(lines.filter((l) => l.level === 40 && l.msg.startsWith('the identity service failed'))).toHaveLength(1);
    vi.advanceTimersByTime(1500);
    expect(await failure(strategy.headers(REQUEST, undefined))).toMatchObject({ kind: 'server', status: 503 });
  });

  it('keeps using the token in hand between failed renewals, while the next attempt waits its backoff', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator(8000);
    const { strategy, lines } = auth();
    const first = await token(strategy);
    sim.injectFault({ kind: 'unavailable' }, { route: 'identity', times: 100 });
    vi.advanceTimersByTime(6500);
    expect(await token(strategy)).toBe(first);
    await renewalFailed(lines);
    // The next attempt is 2 s away; the token has 1.5 s left.
    vi.advanceTimersByTime(500);
    expect(await token(strategy)).toBe(first);
    expect(logins()).toHaveLength(2);
  });

  it('renews on time, and gives the token in hand up at its expiry while renewal fails, with this host\'s clock set back an hour meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator(8000);
    const { strategy, lines } = auth();
    const first = await token(strategy);
    vi.setSystemTime(Date.now() - 60 * 60_000);
    vi.advanceTimersByTime(6100);
    expect(await renewedToken(strategy, first)).toBe(sim.issuedTokens[1]);
    expect(logins()).toHaveLength(2);

    sim.injectFault({ kind: 'unavailable' }, { route: 'identity', times: 100 });
    vi.setSystemTime(Date.now() - 60 * 60_000);
    vi.advanceTimersByTime(6100);
    expect(await token(strategy)).toBe(sim.issuedTokens[1]);
    await renewalFailed(lines);
    vi.advanceTimersByTime(2000);
    expect(await failure(strategy.headers(REQUEST, undefined))).toMatchObject({ kind: 'server', status: 503 });
  });

  it('renews a token the machine slept past the renewal of (this host\'s clock went on, the monotonic one stopped)', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    const { strategy } = auth();
    const first = await token(strategy);
    vi.setSystemTime(Date.now() + 20 * 3_600_000);
    expect(await renewedToken(strategy, first)).toBe(sim.issuedTokens[1]);
    expect(logins()).toHaveLength(2);
  });

  it.each(CLOCK_SET)('tries refused credentials again once the backoff has passed, with this host\'s clock %s an hour meanwhile', async (_, stepMs) => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    const { strategy } = auth({ password: `${PASSWORD}-wrong` });
    await failure(strategy.headers(REQUEST, undefined));
    vi.setSystemTime(Date.now() + stepMs);
    await triedAgainAtTheBackoff(strategy);
  });

  it.each(CLOCK_SET)('after a 401, gets a new token again no sooner and no later than a minute on, with this host\'s clock %s an hour meanwhile', async (_, stepMs) => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    await simulator();
    const { strategy } = auth();
    expect(await strategy.onUnauthorized!(await strategy.headers(REQUEST, undefined))).toBe(true);
    const fresh = await strategy.headers(REQUEST, undefined);
    vi.setSystemTime(Date.now() + stepMs);
    vi.advanceTimersByTime(MIN_FORCED_RENEWAL_MS - 1000);
    expect(await strategy.onUnauthorized!(fresh)).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(await strategy.onUnauthorized!(fresh)).toBe(true);
  });

  it('never puts the password in a log line or an error', async () => {
    await simulator();
    const { strategy, raw } = auth({ password: `${PASSWORD}-wrong` });
    const error = await failure(strategy.headers(REQUEST, undefined));
    expect(`${raw.join('')}${error.message}${String(error.stack)}`).not.toContain(PASSWORD);
  });

  it('keeps the kind of a 404 from something in front of the identity service: a path to check, or a blip, not the credentials', async () => {
    const gatewayEndpoint = await identityService((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body>Not Found</body></html>');
    });
    const { strategy } = auth({ identityEndpoint: gatewayEndpoint });
    const error = await failure(strategy.headers(REQUEST, undefined));
    expect([error.kind, error.status]).toEqual(['foreign_not_found', 404]);
  });

  it('says a 404 to the token request is cloud.auth.identityEndpoint to check, not a failure of the identity service that passes', async () => {
    await simulator();
    // The gateway in front of IAM publishes no API at the path asked for (a region or path got wrong).
    sim.injectFault({ kind: 'gateway-not-found' }, { route: 'identity' });
    const { strategy, lines } = auth();
    const error = await failure(strategy.headers(REQUEST, undefined));
    expect([error.kind, error.status]).toEqual(['foreign_not_found', 404]);
    expect(lines.filter((l) => l.level >= 40)).toEqual([
      expect.objectContaining({
        level: 50,
        msg: expect.stringMatching(/^no identity service answers at this address \(a 404 to the token request\): check cloud\.auth\.identityEndpoint, .*; next attempt in 2 s$/),
        retryInMs: TRANSIENT_BACKOFF_MS.first,
      }),
    ]);
  });

  it("says a login whose TLS refuses the identity service's certificate is cloud.tls.caFile to mend here, not a failure of the identity service, nor Node's --use-system-ca", async () => {
    const { key, cert } = makeCertificates(dir);
    const server = createHttpsServer({ key, cert }, (_req, res) => res.writeHead(201).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { strategy, lines } = auth({ identityEndpoint: `https://127.0.0.1:${(server.address() as AddressInfo).port}/v3` });
    const error = await failure(strategy.headers(REQUEST, undefined));
    expect(error.kind).toBe('certificate');
    expect(lines.filter((l) => l.level >= 40)).toEqual([
      expect.objectContaining({
        level: 50,
        msg: "the identity service's certificate is refused here: an expired one is for its server to renew; any other: name the CA that signs it in cloud.tls.caFile, or check the host name of cloud.auth.identityEndpoint; next attempt in 2 s",
        error: expect.stringContaining('(UNABLE_TO_VERIFY_LEAF_SIGNATURE)'),
      }),
    ]);
  });

  it("counts the life of a token that comes without issued_at from the answer's Date, by the identity service's clock 2 h behind this host's", async () => {
    const cloudNow = Date.now() - 2 * 3_600_000;
    const identityEndpoint = await identityService((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'token-without-issued-at', date: new Date(cloudNow).toUTCString() });
      res.end(JSON.stringify({ token: { expires_at: new Date(cloudNow + 3_600_000).toISOString(), methods: ['password'] } }));
    });
    const { strategy, lines } = auth({ identityEndpoint });
    expect(await token(strategy)).toBe('token-without-issued-at');
    // Renewed once three quarters of its hour have passed: 45 min, give or take the Date's whole seconds.
    const renewInS = lines.find((l) => l.msg === 'got an identity token')?.['renewInS'];
    expect(renewInS).toBeGreaterThanOrEqual(2699);
    expect(renewInS).toBeLessThanOrEqual(2701);
  });

  it('hides the password when the identity service quotes it back in its refusal, JSON-escaped too', async () => {
    // Keystone's schema errors quote the value they refuse, written by Python's json.dumps: every character
    // past ASCII as \uXXXX.
    const pythonJson = (value: unknown) => JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const identityEndpoint = await identityService((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const sent = (JSON.parse(body) as { auth: { identity: { password: { user: { password: string } } } } }).auth.identity.password.user.password;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(pythonJson({ error: { code: 400, title: 'Bad Request', message: `Invalid input for field 'identity/password/user/password': '${sent}' is not valid` } }));
      });
    });
    for (const password of [PASSWORD, `${PASSWORD}-Grüße/"x"`]) {
      const { strategy, raw } = auth({ identityEndpoint, password });
      const error = await failure(strategy.headers(REQUEST, undefined));
      const everything = `${raw.join('')}${error.message}${String(error.apiMessage)}${JSON.stringify(error)}${String(error.stack)}`;
      expect(everything).toContain("'<hidden>' is not valid");
      expect(everything).not.toContain(PASSWORD);
      // A refusal of the login is mended in cloud.auth: `wait` says so of an unauthorized one, not of a 400.
      expect([error.kind, error.status]).toEqual(['unauthorized', 400]);
    }
  });
});
