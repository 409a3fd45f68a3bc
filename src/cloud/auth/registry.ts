// Adding an auth method is one folder and one entry here (its import and its place in the list):
//   1. A folder src/cloud/auth/<type>/ with
//      - config.ts: its `cloud.auth` mapping, `strict({ type: z.literal('<type>'), ... })` (helpers in
//        src/config/fields.ts; a secret may come inline or from a `<key>File`, see ../credential.ts), and
//        the names of its secret keys;
//      - <type>.ts: create<Type>Auth(config, deps: AuthDeps): AuthStrategy (../types.ts):
//        - `headers()` returns what to add to each request; it receives method, URL, headers and body, so a
//          request signer (AK/SK) has all it needs; one that fetches a credential caches it and shares one
//          in-flight fetch between concurrent callers, and spaces out failed fetches;
//        - `onUnauthorized(sent)` says whether the credential changed since `sent`, so the client retries once;
//        - `admit()` (optional) holds requests back, unsent, while a refused credential must not be sent
//          again soon (a gateway that locks an access key after a few refusals: see aksk/aksk.ts), and keeps
//          the refusal in `deps.refused` for the method a reload makes anew;
//        - `catalog()` (optional) gives the service catalog, so that cloud.endpoint may be left out;
//        - `close()` releases what it holds; HTTP goes through `deps.dispatcher`, which the client owns;
//        - errors are ApiErrors (an identity 401 is kind `unauthorized`) or CredentialErrors, never
//          carrying a secret;
//      - index.ts: `{ schema, secretKeys, hasCatalog, create, warnings? } satisfies AuthMethod<typeof schema>`
//        (warnings: what a valid mapping asks that works worse than expected, said at its line).
//   2. One entry in AUTH_METHODS below. The watch file's `auth` union, the list of types in its error
//      messages and the logger's redaction follow from it; `npm run schema` regenerates the JSON Schema.
//      The client hides the values of the credential headers the method adds (by name: auth, token, key,
//      secret, signature...; src/net/redact.ts) wherever a cloud's answer repeats them; a secret sent in a
//      body is passed to exchange() as `secrets` (see password/password.ts).
//   3. Tests in test/cloud/auth/: headers sent, renewal after a 401, no secret in logs or errors; keys in
//      watch.example.yaml and the README.
import type { z } from 'zod';
import { aksk } from './aksk/index.ts';
import { none } from './none/index.ts';
import { password } from './password/index.ts';
import { token } from './token/index.ts';
import type { AuthDeps, AuthMethod, AuthStrategy, AuthWarning } from './types.ts';

export const AUTH_METHODS = [none, token, password, aksk] as const;

// Generic, so that the mapped type keeps the tuple (which discriminatedUnion needs) rather than an array.
type SchemasOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K] extends { schema: infer S } ? S : never };
type Schemas = SchemasOf<typeof AUTH_METHODS>;

/** Each method's config schema, in registry order, as the watch file's `auth` union needs them. */
export const AUTH_SCHEMAS = AUTH_METHODS.map((m) => m.schema) as Schemas;

/** The `type:` values `cloud.auth` may have. */
export const AUTH_TYPE_NAMES: readonly string[] = AUTH_METHODS.map((m) => m.schema.shape.type.value);

/** Methods that give the compute endpoint from a catalog, so that `cloud.endpoint` may be left out. */
export const CATALOG_AUTH_TYPES: readonly string[] = AUTH_METHODS.filter((m) => m.hasCatalog).map((m) => m.schema.shape.type.value);

/** Keys holding secrets in any method's config. */
export const AUTH_SECRET_KEYS: readonly string[] = [...new Set(AUTH_METHODS.flatMap((m) => m.secretKeys))];

export type AuthConfig = z.output<Schemas[number]>;

/** The registry entry of `config`'s type, if it is one. */
function methodOf(config: AuthConfig): AuthMethod | undefined {
  // TypeScript cannot tie config.type to the entry `find` returns; the schema union guarantees it.
  return AUTH_METHODS.find((m) => m.schema.shape.type.value === config.type) as AuthMethod | undefined;
}

/** The method's own warnings about `config`, at their paths in the watch file. */
export function authWarnings(config: AuthConfig): AuthWarning[] {
  return (methodOf(config)?.warnings?.(config) ?? []).map((warning) => ({ path: ['cloud', 'auth', ...warning.path], message: warning.message }));
}

export function createAuth(config: AuthConfig, deps: AuthDeps): AuthStrategy {
  const method = methodOf(config);
  if (method === undefined) throw new Error(`unknown auth type '${config.type}' (allowed: ${AUTH_TYPE_NAMES.join(', ')})`);
  return method.create(config, deps);
}
