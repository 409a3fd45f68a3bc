// What a valid `cloud.auth` of type password asks that works worse than its writer likely expects.
import { quoted } from '../../../text/clipped.ts';
import type { AuthWarning } from '../types.ts';
import type { PasswordAuthConfig } from './config.ts';
import { tokensUrl } from './keystone.ts';

/**
 * A compute API's version segment in a path: `v2.1` (Nova), `v1` (Huawei's native ECS API), or `v2` with a
 * project after it (Keystone's legacy compute entry). Keystone serves `/v3`, and its old `/v2.0`.
 */
function computeVersionIn(path: string): string | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  return segments.find((s, i) => s === 'v2.1' || s === 'v1' || (s === 'v2' && i < segments.length - 1));
}

/**
 * An identity endpoint that is the compute API's address (its URL copied from cloud.endpoint or a catalog):
 * the token request goes to the compute host, whose 401 reads as a refused password.
 */
export function passwordWarnings(auth: PasswordAuthConfig): AuthWarning[] {
  const url = URL.parse(auth.identityEndpoint.trim());
  const version = url === null ? undefined : computeVersionIn(url.pathname);
  if (version === undefined) return [];
  return [{
    path: ['identityEndpoint'],
    message: `${quoted(auth.identityEndpoint)} is a compute API's address (/${version} in its path), not the identity service's: the login goes to ${tokensUrl(auth.identityEndpoint, true)}, and an answer there (a 401, a 404) would be told as a refused password or no identity service. Write the URL Keystone or IAM serves /v3 under, e.g. https://iam.eu-de.otc.t-systems.com/v3`,
  }];
}
