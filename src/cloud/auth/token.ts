import type { AuthStrategy } from './types.ts';

/**
 * A token obtained elsewhere (`openstack token issue`, `hcloud`), sent as X-Auth-Token. It cannot be
 * renewed from here: a 401 means the operator must supply a new one.
 */
export function createTokenAuth(config: { token: string }): AuthStrategy {
  const headers = { 'x-auth-token': config.token };
  return {
    headers: () => Promise.resolve({ ...headers }),
  };
}
