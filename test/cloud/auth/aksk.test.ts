// AK/SK signing compared byte for byte with the official signer of @huaweicloud/huaweicloud-sdk-core
// (BasicCredentials.processAuthRequest, which adds X-Project-Id and X-Security-Token and then signs with
// AKSKSigner), and accepted by the simulator's gateway, which verifies from Huawei's documented algorithm.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import type { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sdkDate } from '../../../src/cloud/auth/aksk/sign.ts';
import { RECHECK_MS } from '../../../src/cloud/auth/credential.ts';
import { createAuth } from '../../../src/cloud/auth/registry.ts';
import { createEcsClient, type EcsClient } from '../../../src/cloud/client.ts';
import { endpointProjectId } from '../../../src/cloud/endpoint.ts';
import { startSimulator, type Simulator } from '../../../src/simulator/index.ts';
import type { FaultSpec } from '../../../src/simulator/faults.ts';
import type { AuthConfig } from '../../../src/config/schema.ts';
import type { MockInterceptor } from 'undici/types/mock-interceptor.js';
import type { Logger } from '../../../src/observability/logger.ts';
import { actionAnswer, captureLogger, cloudConfig, fixtureText, headersOf, mockAgent } from '../helpers.ts';

const AK = 'QTWAOYTTINDUT2QVKYUC';
const SK = 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc';
const SECURITY_TOKEN = 'gQpjbi1ub3J0aC00jD-EXAMPLE-security-token';
const PROJECT = '0a9e8b7c6d5e4f3a2b1c0d9e8f7a6b5c';
const NOW = Date.parse('2026-11-26T18:00:07.123Z');
const deps = { logger: pino({ level: 'silent' }), dispatcher: new Agent(), timeout: 2000, needsCatalog: false, now: () => Date.now() };

const PATHS = [
  `/v2.1/${PROJECT}/servers/e723eb40-f56e-40f9-8c8c-caa517fe06ba/os-instance-actions/req-5a429946-c9cc-45cc-b5bd-68864209e5cc`,
  `/v2.1/${PROJECT}/servers/e723eb40-f56e-40f9-8c8c-caa517fe06ba`,
  `/v2.1/${PROJECT}/servers/`,
  `/v1/${PROJECT}/jobs/ff808082843684110184e155fdb36461`,
  '/v2.1/',
  '/v2.1',
  // The migration records of a server of PROJECT: a path that names no project, read in the server's.
  '/v2.1/os-migrations',
];

/** The project each request acts in, as the client gives it: the watch's, but none for the version document. */
const projectOf = (path: string) => (path === '/v2.1/' || path === '/v2.1' ? undefined : PROJECT);

// Segments to decode and encode again, which none of PATHS has. The Node SDK signs them as written (a %20 as
// %2520); the gateway's signing guide, and the simulator after it, decode each segment first.
const ENCODED_PATHS = [`/v2.1/${PROJECT}/servers/web%2001/tags/caf%C3%A9:a+b`, `/v2.1/${PROJECT}/servers/50%zz`];

type Query = Array<[string, string]>;
const QUERIES: Query[] = [
  [],
  [['instance_uuid', 'e723eb40-f56e-40f9-8c8c-caa517fe06ba']],
  [['name', 'web 01'], ['changes-since', '2026-11-26T18:00:00Z']],
  [['name', 'Grüße aus 東京 🚀'], ['limit', '10']],
  [['tag', 'b'], ['tag', 'a'], ['flag', ''], ['~odd*key', "it's (quoted) & <ok>"]],
  [['z', '1'], ['A', '2'], ['a', '3'], ['_', '4']],
];

const HEADER_SETS: Array<Record<string, string>> = [
  { accept: 'application/json', 'user-agent': 'ecs-action-watch' },
  {
    accept: 'application/json',
    'user-agent': 'ecs-action-watch',
    'x-openstack-nova-api-version': '2.60',
    'openstack-api-version': 'compute 2.60',
  },
  { 'content-type': 'application/json', 'x-custom-header': 'some value' },
];

interface Case {
  path: string;
  query: Query;
  headers: Record<string, string>;
  temporary: boolean;
  encoding: 'form' | 'percent';
}

const CASES: Case[] = PATHS.flatMap((path, p) =>
  QUERIES.flatMap((query, q) =>
    HEADER_SETS.map((headers, h) => ({
      path,
      query,
      headers,
      temporary: (p + q + h) % 2 === 0,
      // A space in a query is "+" from URLSearchParams and "%20" from encodeURIComponent: both mean the same.
      encoding: (p + q) % 2 === 0 ? ('form' as const) : ('percent' as const),
    })),
  ),
);

function urlOf(origin: string, c: Case): URL {
  const search =
    c.encoding === 'form'
      ? new URLSearchParams(c.query).toString()
      : c.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return new URL(`${origin}${c.path}${search === '' ? '' : `?${search}`}`);
}

/** The query as the SDK takes it: an object, a repeated name holding an array. */
function queryParams(query: Query): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of query) {
    const existing = params[name];
    params[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return params;
}

async function officialHeaders(origin: string, c: Case): Promise<Record<string, string>> {
  const project = projectOf(c.path);
  let credentials = new BasicCredentials().withAk(AK).withSk(SK);
  if (project !== undefined) credentials = credentials.withProjectId(project);
  if (c.temporary) credentials = credentials.withSecurityToken(SECURITY_TOKEN);
  const signed = await credentials.processAuthRequest(undefined as unknown as HcClient, {
    endpoint: origin,
    url: c.path,
    method: 'GET',
    headers: { ...c.headers, 'X-Sdk-Date': sdkDate(new Date(NOW)) },
    queryParams: queryParams(c.query),
  });
  return Object.fromEntries(Object.entries(signed.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
}

async function ourHeaders(origin: string, c: Case): Promise<Record<string, string>> {
  const auth = createAuth(
    { type: 'aksk', accessKey: AK, secretKey: SK, ...(c.temporary ? { securityToken: SECURITY_TOKEN } : {}) },
    deps,
  );
  const own = await auth.headers({ method: 'GET', url: urlOf(origin, c).href, headers: c.headers, projectId: projectOf(c.path) }, undefined);
  return { ...c.headers, ...own };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AK/SK signatures', () => {
  it(`equal the official SDK's, headers and all, for ${CASES.length} requests`, async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    for (const origin of ['https://ecs.eu-de.otc.t-systems.com', 'http://127.0.0.1:8774']) {
      for (const c of CASES) {
        const ours = await ourHeaders(origin, c);
        const official = await officialHeaders(origin, c);
        expect({ url: urlOf(origin, c).href, headers: ours }).toEqual({ url: urlOf(origin, c).href, headers: official });
      }
    }
  });

  it('sign X-Project-Id (the project the request acts in) and X-Security-Token (temporary credentials)', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    const c = CASES.find((x) => x.temporary && x.path.includes('os-instance-actions'))!;
    const headers = await ourHeaders('https://ecs.test', c);
    expect(headers).toMatchObject({ 'x-project-id': PROJECT, 'x-security-token': SECURITY_TOKEN, 'x-sdk-date': '20261126T180007Z' });
    expect(headers['authorization']).toMatch(/^SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=[a-z;-]*host;[a-z;-]*x-project-id;x-sdk-date;x-security-token, Signature=[0-9a-f]{64}$/);
  });

  it('carry the second each is made in, this host\'s clock set back too', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    const auth = createAuth({ type: 'aksk', accessKey: AK, secretKey: SK }, deps);
    const signed = async () => (await auth.headers({ method: 'GET', url: `https://ecs.test/v2.1/${PROJECT}/servers`, headers: {} }, undefined))['x-sdk-date'];
    expect(await signed()).toBe('20261126T180007Z');
    vi.setSystemTime(NOW + 876);
    expect(await signed()).toBe('20261126T180007Z');
    vi.setSystemTime(NOW + 877);
    expect(await signed()).toBe('20261126T180008Z');
    vi.setSystemTime(NOW - 60 * 60_000);
    expect(await signed()).toBe('20261126T170007Z');
  });

  it('are accepted by the simulator for every test request', async () => {
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK } });
    const dispatcher = new Agent();
    try {
      const statuses = new Set<number>();
      const encoded = ENCODED_PATHS.map((path): Case => ({ path, query: [['a b', 'c/d']], headers: HEADER_SETS[1]!, temporary: false, encoding: 'percent' }));
      for (const c of [...CASES.filter((x) => !x.temporary), ...encoded]) {
        const url = urlOf(sim.url, c);
        const headers = await createAuth({ type: 'aksk', accessKey: AK, secretKey: SK }, deps).headers({ method: 'GET', url: url.href, headers: c.headers, projectId: projectOf(c.path) }, undefined);
        const answer = await request(url, { headers: { ...c.headers, ...headers }, dispatcher });
        await answer.body.dump();
        statuses.add(answer.statusCode);
      }
      // Unknown servers and paths are Nova's 404s, an unknown job the job API's 400 (Common.0011), the
      // migration records a member's 403 (Nova's policy): past the gateway, which would have answered 401.
      expect([...statuses].sort()).toEqual([200, 400, 403, 404]);
    } finally {
      await dispatcher.close();
      await sim.close();
    }
  });
});

describe('an ECS client with AK/SK', () => {
  it('has every poll accepted by the gateway (discovery, action, server, migration records in the server\'s project)', async () => {
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK, securityToken: SECURITY_TOKEN }, role: 'admin' });
    const client = createEcsClient(
      cloudConfig({ endpoint: sim.url, auth: { type: 'aksk', accessKey: AK, secretKey: SK, securityToken: SECURITY_TOKEN } }),
      { logger: pino({ level: 'silent' }) },
    );
    try {
      const ref = { projectId: PROJECT, serverId: 's-1' };
      const requestId = sim.addAction({ ...ref, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
      expect(await client.getInstanceAction({ ...ref, requestId })).toMatchObject({ action: 'reboot' });
      expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
      expect(await client.listMigrations(ref)).toEqual([]);
      expect(sim.requests.map((r) => [r.route, r.status])).toEqual([['versions', 200], ['action', 200], ['server', 200], ['migrations', 200]]);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it("takes an endpoint in the native ECS API's form (.../v1/{projectId}, as the catalog lists service ecs) for its service root and project: no segment doubled", async () => {
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK } });
    const client = createEcsClient(cloudConfig({ endpoint: `${sim.url}/v1/${PROJECT}`, auth: { type: 'aksk', accessKey: AK, secretKey: SK } }), { logger: pino({ level: 'silent' }) });
    try {
      const ref = { projectId: endpointProjectId(`${sim.url}/v1/${PROJECT}`) ?? 'none', serverId: 's-1' };
      const requestId = sim.addAction({ ...ref, action: 'reboot', steps: [] });
      const jobId = sim.addJob({ projectId: PROJECT, jobType: 'createServer', subJobs: [{ durationMs: 0 }] });
      expect(await client.getInstanceAction({ ...ref, requestId })).toMatchObject({ action: 'reboot' });
      expect(await client.getJob({ projectId: ref.projectId, jobId })).toMatchObject({ status: 'SUCCESS' });
      expect(sim.requests.map((r) => [r.route, r.path.split('?')[0], r.status])).toEqual([
        ['versions', '/v2.1/', 200],
        ['action', `/v2.1/${PROJECT}/servers/s-1/os-instance-actions/${requestId}`, 200],
        ['job', `/v1/${PROJECT}/jobs/${jobId}`, 200],
      ]);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  /**
   * A read refused (401) with the credentials the files hold first; then, once `renew` has written the new
   * ones, reads held back, not sent, until the files are looked at again (once a second), and then accepted:
   * no other request was refused, which the gateway would count towards locking the key.
   */
  /** `body` with a client of `auth` on `sim` and a reboot of s-1 to read; the client, `sim` and `dir` removed after. */
  async function withClient(sim: Simulator, dir: string, auth: AuthConfig, body: (client: EcsClient, ref: { projectId: string; serverId: string }) => Promise<void>, options: { rateLimit?: { count: number; perMs: number }; logger?: Logger } = {}): Promise<void> {
    const client = createEcsClient(cloudConfig({ endpoint: sim.url, microversion: '2.60', auth }), { logger: pino({ level: 'silent' }), ...options });
    try {
      const ref = { projectId: PROJECT, serverId: 's-1' };
      sim.addAction({ ...ref, action: 'reboot', steps: [] });
      await body(client, ref);
    } finally {
      await client.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function acceptedOnceRenewed(sim: Simulator, dir: string, auth: AuthConfig, renew: () => Promise<void>, refused: object): Promise<void> {
    vi.useFakeTimers({ toFake: ['performance'] });
    await withClient(sim, dir, auth, async (client, ref) => {
      await expect(client.getServer(ref)).rejects.toMatchObject(refused);
      await renew();
      await expect(client.getServer(ref)).rejects.toMatchObject({ ...refused, message: expect.stringMatching(/^not sent: held back since the gateway refused the access key/) });
      vi.advanceTimersByTime(RECHECK_MS);
      expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
      expect(sim.requests.map((r) => r.status)).toEqual([401, 200]);
    });
  }

  it('picks up a rotated key pair from its files, holding reads back until then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eaw-aksk-'));
    const sim = await startSimulator({ aksk: { accessKey: 'NEWACCESSKEY', secretKey: 'new-secret' } });
    await writeFile(join(dir, 'ak'), 'OLDACCESSKEY\n');
    await writeFile(join(dir, 'sk'), 'old-secret\n');
    const auth = { type: 'aksk' as const, accessKeyFile: join(dir, 'ak'), secretKeyFile: join(dir, 'sk') };
    await acceptedOnceRenewed(sim, dir, auth, async () => {
      await writeFile(join(dir, 'ak'), 'NEWACCESSKEY\n');
      await writeFile(join(dir, 'sk'), 'new-secret\n');
    }, { kind: 'unauthorized', apiCode: 'APIGW.0301' });
  });

  it('picks up a new security token of temporary credentials (the same access key) from its file, holding reads back until then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eaw-aksk-'));
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK, securityToken: 'new-security-token' } });
    await writeFile(join(dir, 'token'), 'old-security-token\n');
    const auth = { type: 'aksk' as const, accessKey: AK, secretKey: SK, securityTokenFile: join(dir, 'token') };
    await acceptedOnceRenewed(sim, dir, auth, () => writeFile(join(dir, 'token'), 'new-security-token\n'), { kind: 'unauthorized' });
  });

  it('reads a key pair rotated in its files since the last look again after a 401, retrying once, and says no key refused when that retry is accepted', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const dir = await mkdtemp(join(tmpdir(), 'eaw-aksk-'));
    const sim = await startSimulator({ aksk: { accessKey: 'NEWACCESSKEY', secretKey: 'new-secret' } });
    await writeFile(join(dir, 'ak'), 'OLDACCESSKEY\n');
    await writeFile(join(dir, 'sk'), 'old-secret\n');
    const { logger, raw } = captureLogger();
    await withClient(sim, dir, { type: 'aksk', accessKeyFile: join(dir, 'ak'), secretKeyFile: join(dir, 'sk') }, async (client, ref) => {
      // Within the second after the client read them: the read is signed with the old pair.
      await writeFile(join(dir, 'ak'), 'NEWACCESSKEY\n');
      await writeFile(join(dir, 'sk'), 'new-secret\n');
      expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
      expect(sim.requests.map((r) => r.status)).toEqual([401, 200]);
      expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
      expect(sim.requests.map((r) => r.status)).toEqual([401, 200, 200]);
      // Nothing was held back: an error that none goes out for 5 min would page someone for nothing.
      expect(raw.filter((l) => /the gateway (refused|accepts) the access key/.test(l))).toEqual([]);
    }, { logger });
  });

  it('holds reads back after a 401 whose body broke off, as after a whole one: its status was read, and a retry would be one more refusal in a row', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eaw-aksk-'));
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK } });
    sim.injectFault({ kind: 'cut-body' }, { route: 'server', times: 10 });
    const { logger, raw } = captureLogger();
    const wrong = 'wrong-SECRET-key-4d1e';
    await withClient(sim, dir, { type: 'aksk', accessKey: AK, secretKey: wrong }, async (client, ref) => {
      await expect(client.getServer(ref)).rejects.toMatchObject({ kind: 'unauthorized', status: 401, retryable: false });
      await expect(client.getServer(ref)).rejects.toMatchObject({ kind: 'unauthorized', message: expect.stringMatching(/^not sent: held back since the gateway refused the access key/) });
      expect(sim.requests.map((r) => r.route)).toEqual(['server']);
      const refused = raw.filter((l) => l.includes('the gateway refused the access key'));
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(/"level":50,.*→ 401 /);
      expect(raw.join('\n')).not.toContain(wrong);
    }, { logger });
  });

  /**
   * A refused key, then its probe 5 min later answered with `fault`, which the gateway answers without
   * judging the signature; then 8 reads at once. The key is still refused: one probe at a time goes.
   */
  async function probeUnjudged(fault: FaultSpec, status = 403): Promise<void> {
    vi.useFakeTimers({ toFake: ['performance'] });
    const dir = await mkdtemp(join(tmpdir(), 'eaw-aksk-'));
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK } });
    const { logger, lines, raw } = captureLogger();
    await withClient(sim, dir, { type: 'aksk', accessKey: AK, secretKey: 'not-the-secret-key' }, async (client, ref) => {
      await expect(client.getServer(ref)).rejects.toMatchObject({ kind: 'unauthorized', status: 401 });
      vi.advanceTimersByTime(5 * 60_000);
      sim.injectFault(fault, { route: 'server' });
      await expect(client.getServer(ref)).rejects.toMatchObject({ status });
      // The next pass, once the pause and the lowered rate the throttle left are over (performance.now() is the limiter's clock).
      vi.advanceTimersByTime(10 * 60_000);
      // Bounded: reads let go past the throttle would wait at the rate limiter, whose clock is held still here.
      const bound = AbortSignal.timeout(10_000);
      await Promise.allSettled(Array.from({ length: 8 }, () => client.getServer(ref, bound)));
      // Each read let go would have been refused, more than five in a row: the gateway locks the key.
      expect(sim.requests.map((r) => r.status)).toEqual([401, status, 401]);
      expect(raw.filter((l) => l.includes('accepts the access key again'))).toEqual([]);
      // The second refusal in a row, held back for twice as long.
      expect(lines.filter((l) => String(l['msg']).startsWith('the gateway refused the access key')).map((l) => l['attempt'])).toEqual([1, 2]);
    }, { logger });
  }

  it("keeps holding back after a probe the gateway throttled (APIGW.0308 with a 403): it judged no signature, and says no key accepted", async () => {
    await probeUnjudged({ kind: 'gateway-throttled', status: 403 });
  });

  it('keeps holding back after a probe the gateway answered that it publishes no such API (APIGW.0101): it looks the route up before it judges a signature, and says no key accepted', async () => {
    await probeUnjudged({ kind: 'gateway-not-found' }, 404);
  });

  it('keeps holding back after a probe the gateway refused for the caller\'s address (APIGW.0402, its IP access control): a refusal of its own that judges no signature, and says no key accepted', async () => {
    await probeUnjudged({ kind: 'gateway-ip-refused' });
  });

  it('keeps holding back after a probe the gateway answered as a request it cannot take (APIGW.0201): and says no key accepted', async () => {
    await probeUnjudged({ kind: 'gateway-bad-request' }, 400);
  });

  it('keeps holding back after a probe a firewall in front of the gateway refused with its HTML page: the gateway judged no signature, and says no key accepted', async () => {
    await probeUnjudged({ kind: 'firewall-refused' });
  });

  it('takes a refusal that would come only after cloud.timeout for a request that timed out, not for a refused key: nothing held back, nothing said refused', async () => {
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK } });
    sim.injectFault({ kind: 'slow', delayMs: 5000 }, { route: 'server' });
    const { logger, raw } = captureLogger();
    const client = createEcsClient(cloudConfig({ endpoint: sim.url, microversion: '2.60', timeout: 500, auth: { type: 'aksk', accessKey: AK, secretKey: 'not-the-secret-key' } }), { logger });
    try {
      const ref = { projectId: PROJECT, serverId: 's-1' };
      sim.addAction({ ...ref, action: 'reboot', steps: [] });
      const error = await client.getServer(ref).then(() => undefined, (err: unknown) => err as Error);
      expect(error).toMatchObject({ kind: 'timeout', retryable: true, message: expect.stringMatching(/ → timed out: no complete answer within 500 ms$/) });
      expect(raw.filter((l) => l.includes('refused'))).toEqual([]);
      // The daemon cannot know it was refused: the next read goes, and its refusal holds the others back.
      await expect(client.getServer(ref)).rejects.toMatchObject({ kind: 'unauthorized', status: 401 });
      expect(sim.requests.map((r) => r.route)).toEqual(['server', 'server']);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('holds back the reads waiting their turn at the rate limit once one sent before them was refused', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const dir = await mkdtemp(join(tmpdir(), 'eaw-aksk-'));
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK } });
    await writeFile(join(dir, 'sk'), SK);
    const auth = { type: 'aksk' as const, accessKey: AK, secretKeyFile: join(dir, 'sk') };
    await withClient(sim, dir, auth, async (client, ref) => {
      expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
      // Rotated to a secret key that is not the access key's: the first read of the next 8 is refused.
      await writeFile(join(dir, 'sk'), 'not-the-secret-key');
      vi.advanceTimersByTime(RECHECK_MS);
      const outcomes: string[] = [];
      const reads = Array.from({ length: 8 }, () => client.getServer(ref).then(() => 'read', (err: unknown) => (err as Error).message).then((o) => void outcomes.push(o)));
      await vi.waitUntil(() => outcomes.length === 1);
      // The other 7 waited their turn at the rate limit: each would have been refused.
      while (outcomes.length < reads.length) {
        const before = outcomes.length;
        await vi.advanceTimersByTimeAsync(1000);
        await vi.waitUntil(() => outcomes.length > before);
      }
      await Promise.all(reads);
      expect(outcomes.filter((o) => !o.startsWith('not sent: held back since the gateway refused the access key'))).toEqual([
        expect.stringMatching(/ → 401 APIGW\.0301: Incorrect IAM authentication information: verify aksk signature fail$/),
      ]);
      expect(sim.requests.map((r) => r.status)).toEqual([200, 401]);
    }, { rateLimit: { count: 1, perMs: 1000 } });
  });

  it("signs again in the cloud's time after a 401 whose Date shows its clock 20 min off this host's", async () => {
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK }, now: () => Date.now() + 20 * 60_000 });
    const client = createEcsClient(cloudConfig({ endpoint: sim.url, microversion: '2.60', auth: { type: 'aksk', accessKey: AK, secretKey: SK } }), { logger: pino({ level: 'silent' }) });
    try {
      const ref = { projectId: PROJECT, serverId: 's-1' };
      sim.addAction({ ...ref, action: 'reboot', steps: [] });
      expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
      expect(sim.requests.map((r) => r.status)).toEqual([401, 200]);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it("signs again in the cloud's time after a 401 whose Date shows its clock set right within a minute of the last measure", async () => {
    // The gateway's clock 20 min ahead, then set right: the clock is measured once a minute, but a refusal's
    // Date is what tells that every signature now is 20 min off.
    let aheadMs = 20 * 60_000;
    const sim = await startSimulator({ aksk: { accessKey: AK, secretKey: SK }, now: () => Date.now() + aheadMs });
    const client = createEcsClient(cloudConfig({ endpoint: sim.url, microversion: '2.60', auth: { type: 'aksk', accessKey: AK, secretKey: SK } }), { logger: pino({ level: 'silent' }) });
    try {
      const ref = { projectId: PROJECT, serverId: 's-1' };
      sim.addAction({ ...ref, action: 'reboot', steps: [] });
      expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
      aheadMs = 0;
      // The reboot now lies ahead on the gateway's clock: the server's status is whatever that makes it.
      expect(await client.getServer(ref)).not.toBeNull();
      expect(sim.requests.map((r) => r.status)).toEqual([401, 200, 401, 200]);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('signs a poll that waited its turn at the rate limit when it goes, not when it began to wait', async () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout'] });
    const agent = mockAgent();
    // What the gateway saw of each signature's time, against its clock; it refuses one 15 min off (APIGW.0301).
    const skews: number[] = [];
    agent
      .get('https://ecs.example.test')
      .intercept({ path: (p: string) => p.includes('/os-instance-actions/'), method: 'GET' })
      .reply((opts: MockInterceptor.MockResponseCallbackOptions) => {
        const at = headersOf(opts)['x-sdk-date']!;
        const skew = Date.now() - Date.parse(`${at.slice(0, 4)}-${at.slice(4, 6)}-${at.slice(6, 11)}:${at.slice(11, 13)}:${at.slice(13, 15)}Z`);
        skews.push(skew);
        const date = { headers: { date: new Date().toUTCString() } };
        if (Math.abs(skew) > 15 * 60_000) return { statusCode: 401, data: '{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: verify aksk signature fail"}', responseOptions: date };
        const requestId = String(opts.path).split('/').at(-1)!;
        return { statusCode: 200, data: actionAnswer(fixtureText('nova-api-samples/v2.1/instance-action-get-resp.json'), { serverId: 's1', requestId }), responseOptions: date };
      })
      .persist();
    // poll.rateLimit 60/h, 20 polls in flight: the last waits 19 min for its turn.
    const client = createEcsClient(cloudConfig({ endpoint: 'https://ecs.example.test', microversion: '2.60', timeout: 10_000, auth: { type: 'aksk', accessKey: AK, secretKey: SK } }), {
      logger: pino({ level: 'silent' }),
      dispatcher: agent,
      rateLimit: { count: 1, perMs: 60_000 },
    });
    try {
      let settled = 0;
      const polls = Array.from({ length: 20 }, (_, i) => client.getInstanceAction({ projectId: PROJECT, serverId: 's1', requestId: `req-${i}` }).finally(() => settled++));
      for (let s = 0; s < 30 * 60 && settled < polls.length; s++) await vi.advanceTimersByTimeAsync(1000);
      await Promise.all(polls);
      expect(skews).toHaveLength(20);
      expect(Math.max(...skews)).toBeLessThan(2000);
    } finally {
      await client.close();
      await agent.close();
      vi.useRealTimers();
    }
  });
});
