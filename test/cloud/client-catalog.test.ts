// A client with password auth and no cloud.endpoint: the compute endpoint comes from the token's catalog.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CatalogError } from '../../src/cloud/catalog.ts';
import { createEcsClient, type EcsClient } from '../../src/cloud/client.ts';
import type { CloudConfig } from '../../src/config/schema.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { captureLogger, cloudConfig, settled } from './helpers.ts';

const PROJECT = '5e2f0c7a9b8d4e6f8a1b2c3d4e5f6a7b';
const PASSWORD = 'catalog-test-password';

let sim: Simulator;
let client: EcsClient;
afterEach(async () => {
  await client.close();
  await sim.close();
  vi.useRealTimers();
});

/** `cloud` may name the simulator's URL as the endpoint (`withEndpoint`). */
async function setup(cloud: Partial<CloudConfig> = {}, withEndpoint = false) {
  sim = await startSimulator({
    identity: { user: { name: 'svc', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' }, region: 'eu-de' },
  });
  const { logger, lines } = captureLogger();
  client = createEcsClient(
    cloudConfig({
      auth: { type: 'password', identityEndpoint: sim.identityUrl, user: 'svc', domain: 'Default', password: PASSWORD, projectName: 'eu-de' },
      ...(withEndpoint ? { endpoint: sim.url } : {}),
      ...cloud,
    }),
    { logger },
  );
  const ref = { projectId: PROJECT, serverId: 'srv-1' };
  const requestId = sim.addAction({ ...ref, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
  return { lines, ref: { ...ref, requestId } };
}

describe('the compute endpoint from the catalog', () => {
  it('is the public compute entry, found once, and polled with the token', async () => {
    const { lines, ref } = await setup({ region: 'eu-de' });
    expect(await client.getInstanceAction(ref)).toMatchObject({ action: 'reboot' });
    expect(await client.getServer(ref)).toMatchObject({ info: { status: 'ACTIVE' } });
    expect(sim.requests.map((r) => `${r.route} ${r.status}`)).toEqual(['identity 201', 'versions 200', 'action 200', 'server 200']);
    expect(sim.requests[0]?.path).toBe('/v3/auth/tokens');
    expect(lines.filter((l) => l.msg === 'compute endpoint from the catalog')).toEqual([
      expect.objectContaining({ endpoint: `${sim.url}/v2.1/${PROJECT}`, interface: 'public', region: 'eu-de' }),
    ]);
  });

  it('is a clear error, sending nothing to compute, when the catalog has none in the region', async () => {
    const { ref } = await setup({ region: 'eu-nl' });
    const error = await client.getInstanceAction(ref).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).message).toMatch(/^the token's catalog has no compute endpoint with interface public in region eu-nl; its compute endpoints: public eu-de http:\/\/127\.0\.0\.1:\d+\/v2\.1\/5e2f.*: set cloud\.interface and cloud\.region/);
    expect(sim.requests.map((r) => r.route)).toEqual(['identity']);
  });

  it('a revoked token is replaced once and the poll goes on', async () => {
    const { ref } = await setup();
    await client.getInstanceAction(ref);
    sim.revokeTokens();
    await Promise.all([client.getInstanceAction(ref), client.getServer(ref), client.getInstanceAction(ref)]);
    expect(sim.requests.filter((r) => r.route === 'identity')).toHaveLength(2);
    expect(sim.requests.filter((r) => r.status === 401)).toHaveLength(3);
  });
});

describe('microversion discovery that waits on a token request (cloud.endpoint set)', () => {
  it.each([
    ['503', { kind: 'unavailable' } as const, /→ 503/],
    ['429', { kind: 'rate-limited', retryAfterSeconds: 1 } as const, /→ 429/],
    ["a gateway's 404", { kind: 'gateway-not-found' } as const, /→ 404 APIGW\.0101/],
  ])('failed by the identity service (%s) says so, not to set a fixed microversion: no version document was asked for', async (_, fault, status) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const { lines, ref } = await setup({}, true);
    sim.injectFault(fault, { route: 'identity', times: 10 });
    await settled(client.getInstanceAction(ref).catch(() => undefined));
    const warnings = lines.filter((l) => String(l.msg).startsWith('compute microversion discovery failed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toBe('compute microversion discovery failed; no request goes out without a version header until it succeeds');
    expect(String(warnings[0]?.['error'])).toMatch(/^cannot get a token for user 'svc' of domain 'Default': POST http:\/\/127\.0\.0\.1:\d+\/v3\/auth\/tokens\?nocatalog=true → /);
    expect(String(warnings[0]?.['error'])).toMatch(status);
    expect(sim.requests.filter((r) => r.route !== 'identity')).toEqual([]);
  });
});
