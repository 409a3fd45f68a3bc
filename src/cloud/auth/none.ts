import type { AuthStrategy } from './types.ts';

/** For endpoints that need no credentials: a local simulator, or a proxy that adds them. */
export function createNoneAuth(): AuthStrategy {
  return {
    headers: () => Promise.resolve({}),
  };
}
