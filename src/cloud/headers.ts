// The headers of the client's GETs, apart from the auth method's: what bench/ sends too, so that its
// yardsticks ask the loopback server exactly what a poll asks.

const USER_AGENT = 'ecs-action-watch';

export const PLAIN_HEADERS: Readonly<Record<string, string>> = { accept: 'application/json', 'user-agent': USER_AGENT };

/** The headers of every compute request at `version` (none for an endpoint without microversions). */
export function computeHeaders(version: string | null): Readonly<Record<string, string>> {
  if (version === null) return PLAIN_HEADERS;
  return { ...PLAIN_HEADERS, 'x-openstack-nova-api-version': version, 'openstack-api-version': `compute ${version}` };
}
