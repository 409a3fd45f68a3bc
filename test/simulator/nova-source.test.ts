// Answers checked against nova's own code (openstack/nova 00a0304) where no api-sample shows them: the
// version documents and what a refused microversion carries.
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { fixture, get, microversion, serverUrl } from './helpers.ts';

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  simulator = await startSimulator(options);
  return simulator;
}

describe('the version documents (compute/versions.py)', () => {
  it('GET /v2.1/ negotiates a microversion like any wsgi.Resource (VersionsV2): echoed, 406 out of range', async () => {
    const sim = await start({ maxMicroversion: '2.60' });
    const plain = await get(`${sim.url}/v2.1/`);
    expect(plain.headers.get('openstack-api-version')).toBe('compute 2.1');
    expect(plain.headers.get('x-openstack-nova-api-version')).toBe('2.1');
    expect((await get(`${sim.url}/v2.1`, microversion('latest'))).headers.get('openstack-api-version')).toBe('compute 2.60');
    const above = await get(`${sim.url}/v2.1/`, microversion('2.61'));
    expect(above.status).toBe(406);
    expect(above.json).toEqual({ computeFault: { code: 406, message: 'Version 2.61 is not supported by the API. Minimum is 2.1 and maximum is 2.60.' } });
    expect((await get(`${sim.url}/v2.1/`, microversion('two'))).status).toBe(400);
  });

  it('GET / lists the versions (Versions.index, versions-get-resp.json), outside microversions', async () => {
    const sim = await start({ maxMicroversion: '2.60' });
    const sample = fixture<{ versions: Array<Record<string, unknown>> }>('versions/versions-get-resp.json');
    // support_api_request_version = False: a version nova does not offer is not refused here.
    const answer = await get<{ versions: Array<Record<string, unknown>> }>(`${sim.url}/`, microversion('2.999'));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('openstack-api-version')).toBeNull();
    const expected = sample.versions.map((v) => ({
      ...v,
      links: [{ rel: 'self', href: `${sim.url}/${v['id'] === 'v2.1' ? 'v2.1' : 'v2'}/` }],
      ...(v['id'] === 'v2.1' ? { version: '2.60' } : {}),
    }));
    expect(answer.json).toEqual({ versions: expected });
  });
});

describe('a microversion out of range (wsgi.Resource.__call__, Fault)', () => {
  it('406 still names the version asked for: set on the request before the range check, kept in its environ', async () => {
    const sim = await start({ maxMicroversion: '2.60' });
    const above = await get(serverUrl(sim.url), microversion('2.61'));
    expect(above.status).toBe(406);
    expect(above.headers.get('openstack-api-version')).toBe('compute 2.61');
    expect(above.headers.get('x-openstack-nova-api-version')).toBe('2.61');
    expect(above.headers.get('vary')).toBe('OpenStack-API-Version, X-OpenStack-Nova-API-Version');
    // A malformed one never became an APIVersionRequest: the request's stays null, and no header is set.
    const malformed = await get(serverUrl(sim.url), microversion('two'));
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('openstack-api-version')).toBeNull();
  });
});
