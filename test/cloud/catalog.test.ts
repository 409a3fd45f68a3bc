import { describe, expect, it } from 'vitest';
import { catalogEndpoint, CatalogError, CatalogSchema, type Catalog } from '../../src/cloud/catalog.ts';
import { fixtureJson } from './helpers.ts';

const sample = CatalogSchema.parse(
  (fixtureJson('keystone-api-samples/auth-password-project-scoped-response.json') as { token: { catalog: unknown } }).token.catalog,
);
const COMPUTE = 'http://23.253.248.171:8774/v2.1/a6944d763bf64ee6a275f1263fae0352';

function twoRegions(): Catalog {
  return [
    {
      type: 'compute',
      endpoints: [
        { interface: 'public', region_id: 'eu-de', url: 'https://ecs.eu-de.otc.t-systems.com/v2.1/p' },
        { interface: 'public', region_id: 'eu-nl', url: 'https://ecs.eu-nl.otc.t-systems.com/v2.1/p' },
      ],
    },
  ];
}

describe('the compute endpoint from a catalog', () => {
  it.each([
    [{ type: 'compute', interface: 'public' as const }, COMPUTE],
    [{ type: 'compute', interface: 'internal' as const, region: 'RegionOne' }, COMPUTE],
    [{ type: 'compute_legacy', interface: 'admin' as const }, 'http://23.253.248.171:8774/v2/a6944d763bf64ee6a275f1263fae0352'],
  ])('picks by type, interface and region: %j', (filter, url) => {
    expect(catalogEndpoint(sample, filter)).toBe(url);
  });

  it('picks the region asked for when there are several', () => {
    expect(catalogEndpoint(twoRegions(), { type: 'compute', interface: 'public', region: 'eu-nl' })).toBe('https://ecs.eu-nl.otc.t-systems.com/v2.1/p');
  });

  it.each([
    [
      'a region the catalog lacks',
      () => catalogEndpoint(sample, { type: 'compute', interface: 'public', region: 'eu-de' }),
      `the token's catalog has no compute endpoint with interface public in region eu-de; its compute endpoints: admin RegionOne ${COMPUTE}; internal RegionOne ${COMPUTE}; public RegionOne ${COMPUTE}: set cloud.interface and cloud.region to one of these, or cloud.endpoint`,
    ],
    [
      'several regions and none chosen',
      () => catalogEndpoint(twoRegions(), { type: 'compute', interface: 'public' }),
      "the token's catalog has compute endpoints with interface public in several regions (eu-de, eu-nl): set cloud.region to one of them",
    ],
    [
      'no compute service at all',
      () => catalogEndpoint(sample.filter((s) => !s.type.startsWith('compute')), { type: 'compute', interface: 'public' }),
      "the token's catalog has no compute service (it lists: cloudformation, ec2, identity, image, messaging, messaging-websocket, network, object-store, orchestration, volume, volumev2): set cloud.endpoint",
    ],
  ])('says what the catalog offers for %s', (_case, pick, message) => {
    expect(pick).toThrow(CatalogError);
    expect(pick).toThrow(message);
  });
});
