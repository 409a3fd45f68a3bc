// Answers checked against nova's own code (openstack/nova 00a0304) where no api-sample shows them: the
// version documents, what a refused microversion carries, and the order a request is checked in.
import { describe, expect, it } from 'vitest';
import { fixture, get, manualClock, microversion, PROJECT, SERVER, serverUrl, simulatorPerTest } from './helpers.ts';

const start = simulatorPerTest();

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

describe('the action list query is checked before the server is looked up (@validation.query_schema)', () => {
  const listUrl = (base: string, serverId: string, query: string) => `${serverUrl(base, serverId)}/os-instance-actions${query}`;

  it('400 for a malformed query on a server nova does not know, not its 404', async () => {
    const sim = await start();
    const unknown = 'c0ffee00-0000-4000-8000-000000000000';
    for (const query of ['?changes-since=yesterday', '?limit=many', '?changes-before=soon']) {
      const answer = await get<Record<string, unknown>>(listUrl(sim.url, unknown, query), microversion('2.66'));
      expect(answer.status, query).toBe(400);
      expect(Object.keys(answer.json), query).toEqual(['badRequest']);
    }
  });

  it('names a bad property before an unexpected one, in the schema\'s order (limit, marker, changes-since)', async () => {
    const sim = await start();
    sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'reboot', steps: [] });
    const message = async (query: string) =>
      (await get<{ badRequest?: { message: string } }>(listUrl(sim.url, SERVER, query), microversion('2.58'))).json.badRequest?.message;
    expect(await message('?changes-since=yesterday&sort=x')).toBe("Invalid input for query parameters changes-since. Value: yesterday. 'yesterday' is not a 'date-time'");
    expect(await message('?changes-since=yesterday&limit=many')).toBe("Invalid input for query parameters limit. Value: many. 'many' does not match '^[0-9]*$'");
  });
});

describe('servers/detail pages (db instance_get_all_by_filters_sort)', () => {
  it('finds the marker with read_deleted=yes: a page goes on after a server deleted since the page before', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const older = '11111111-1111-4111-8111-111111111111';
    const newer = '22222222-2222-4222-8222-222222222222';
    sim.addAction({ projectId: PROJECT, serverId: older, action: 'reboot', steps: [] });
    clock.advance(1000);
    sim.addAction({ projectId: PROJECT, serverId: newer, action: 'reboot', steps: [] });
    clock.advance(1000);
    const detail = `${sim.url}/v2.1/${PROJECT}/servers/detail`;
    const first = await get<{ servers: Array<{ id: string }> }>(`${detail}?limit=1`);
    expect(first.json.servers.map((s) => s.id)).toEqual([newer]);
    sim.addAction({ projectId: PROJECT, serverId: newer, action: 'delete', steps: [] });
    clock.advance(1000);
    const next = await get<{ servers: Array<{ id: string }> }>(`${detail}?limit=1&marker=${newer}`);
    expect(next.status).toBe(200);
    expect(next.json.servers.map((s) => s.id)).toEqual([older]);
  });
});
