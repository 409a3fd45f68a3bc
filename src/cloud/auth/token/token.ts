import { Credential } from '../credential.ts';
import type { AuthStrategy } from '../types.ts';
import type { TokenAuthConfig } from './config.ts';

/**
 * A token obtained elsewhere (`openstack token issue`, `hcloud`), sent as X-Auth-Token. It cannot be
 * renewed from here; from a file, a new one written there is picked up, at the latest after a 401.
 */
export function createTokenAuth(config: TokenAuthConfig): AuthStrategy {
  const token = new Credential('token', config.token, config.tokenFile, { sentInHeader: true });
  return {
    headers: async () => ({ 'x-auth-token': await token.value() }),
    async onUnauthorized(sent) {
      await token.refresh();
      return (await token.value()) !== sent['x-auth-token'];
    },
  };
}
