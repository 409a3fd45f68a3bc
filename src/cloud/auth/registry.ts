// How to add an auth method (password, aksk, ...):
//  1. Add its variant to AUTH_TYPES in src/config/schema.ts (and take it off PLANNED_AUTH_TYPES); make sure
//     its secret fields are covered by the logger's redact paths (src/observability/logger.ts).
//  2. Write `./<type>.ts` exporting `create<Type>Auth(config, deps: AuthDeps): AuthStrategy`:
//     - `headers()` returns what to add to each request; it receives method, URL, headers and body, so a
//       request signer (AK/SK) has all it needs; one that fetches a credential caches it and shares one
//       in-flight fetch between concurrent callers.
//     - `onUnauthorized()` drops the cached credential so the next request fetches a new one.
//     - `close()` releases what it holds (timers); HTTP goes through `deps.dispatcher`, which the client
//       owns and closes.
//     - errors are ApiErrors (an identity 401 is kind `unauthorized`), never carrying the secret.
//  3. Add one line to `factories` below; the mapped type makes tsc insist on it once step 1 is done.
//  4. Test it in test/cloud/auth/: headers sent, renewal after a 401, no secret in logs or errors.
import type { AuthConfig } from '../../config/schema.ts';
import { createNoneAuth } from './none.ts';
import { createTokenAuth } from './token.ts';
import type { AuthDeps, AuthStrategy } from './types.ts';

type Factory<T extends AuthConfig['type']> = (config: Extract<AuthConfig, { type: T }>, deps: AuthDeps) => AuthStrategy;

const factories: { [T in AuthConfig['type']]: Factory<T> } = {
  none: createNoneAuth,
  token: createTokenAuth,
};

export function createAuth(config: AuthConfig, deps: AuthDeps): AuthStrategy {
  // TypeScript cannot correlate `config.type` with the factory it selects; the mapped type above does.
  const factory = factories[config.type] as Factory<AuthConfig['type']>;
  return factory(config, deps);
}
