// The service catalog a Keystone (or Huawei IAM) token comes with, and the compute endpoint picked from it
// as keystoneauth does: by service type, interface and region.

import * as z from 'zod';

const CatalogEndpointSchema = z.looseObject({
  interface: z.string(),
  url: z.string(),
  region: z.string().nullish(),
  region_id: z.string().nullish(),
});

export const CatalogSchema = z.array(
  z.looseObject({
    type: z.string(),
    name: z.string().nullish(),
    endpoints: z.array(CatalogEndpointSchema),
  }),
);

export type Catalog = z.output<typeof CatalogSchema>;

export const INTERFACES = ['public', 'internal', 'admin'] as const;
export type EndpointInterface = (typeof INTERFACES)[number];

export interface EndpointFilter {
  type: string;
  interface: EndpointInterface;
  /** Required when the catalog lists the service in more than one region. */
  region?: string | undefined;
}

/** The catalog has no endpoint matching the settings; the message lists what it offers instead. */
export class CatalogError extends Error {
  override name = 'CatalogError';
}

type Entry = { type: string; interface: string; region: string | undefined; url: string };

function entries(catalog: Catalog): Entry[] {
  return catalog.flatMap((service) =>
    service.endpoints.map((e) => ({
      type: service.type,
      interface: e.interface,
      // Keystone gives both (region is the deprecated name); Huawei IAM gives region_id.
      region: e.region_id ?? e.region ?? undefined,
      url: e.url,
    })),
  );
}

const describe = (e: Entry) => `${e.interface} ${e.region ?? '(no region)'} ${e.url}`;

/** The URL of the one endpoint `filter` selects; a CatalogError that lists the candidates otherwise. */
export function catalogEndpoint(catalog: Catalog, filter: EndpointFilter): string {
  const all = entries(catalog);
  const ofType = all.filter((e) => e.type === filter.type);
  if (ofType.length === 0) {
    const types = [...new Set(all.map((e) => e.type))].sort();
    throw new CatalogError(
      `the token's catalog has no ${filter.type} service (it lists: ${types.join(', ') || 'nothing'}): set cloud.endpoint`,
    );
  }
  const matching = ofType.filter(
    (e) => e.interface === filter.interface && (filter.region === undefined || e.region === filter.region),
  );
  if (matching.length === 0) {
    const where = filter.region === undefined ? '' : ` in region ${filter.region}`;
    throw new CatalogError(
      `the token's catalog has no ${filter.type} endpoint with interface ${filter.interface}${where}; ` +
        `its ${filter.type} endpoints: ${ofType.map(describe).join('; ')}: set cloud.interface and cloud.region to one of these, or cloud.endpoint`,
    );
  }
  const regions = [...new Set(matching.map((e) => e.region ?? '(no region)'))];
  if (regions.length > 1) {
    throw new CatalogError(
      `the token's catalog has ${filter.type} endpoints with interface ${filter.interface} in several regions (${regions.join(', ')}): set cloud.region to one of them`,
    );
  }
  // Several entries of the one region and interface are the same endpoint listed twice.
  return matching[0]!.url;
}
