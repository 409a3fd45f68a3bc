import type { Logger } from '../../observability/logger.ts';
import type { RateLimiter } from '../rateLimiter.ts';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { Catalog } from '../catalog.ts';
import type { Answer } from '../exchange.ts';
import type { RefusedCredentials } from './refusedBackoff.ts';

/** The request about to be sent, as far as an auth method may need it (AK/SK signs all of it). */
export interface AuthRequest {
  method: string;
  /** As it is sent; a method that signs it parses it (most need nothing of it). */
  url: string;
  /** The headers already set, lower-case names; a signer covers them and may add its own. */
  headers: Readonly<Record<string, string>>;
  body?: string | undefined;
  /**
   * The project the request acts in: the watch's, also where the path names none (os-migrations); undefined
   * for what belongs to no project (the version document, the identity service).
   */
  projectId?: string | undefined;
}

/**
 * One way of proving who we are. The client asks it for headers before every request and tells it about a
 * 401, so that methods holding a credential with a lifetime (a Keystone token) can fetch and renew it
 * without the client knowing how.
 */
export interface AuthStrategy {
  /**
   * Headers to add to this request. `signal` is the caller's (cancellation); a method doing its own HTTP
   * applies `AuthDeps.timeout` to it and throws an ApiError when that fails.
   */
  headers(request: AuthRequest, signal: AbortSignal | undefined): Promise<Record<string, string>>;
  /**
   * Its headers carry the time they were made (a signature the gateway refuses 15 min off its clock): they
   * are asked for once the rate limiter lets the request go, not before it waits its turn. Not for a method
   * whose headers() may send a request of its own (a token's): it would wait for a turn while holding one.
   */
  readonly signsWhenSent?: boolean;
  /**
   * The API answered 401 to a request that carried `sent` (what headers() returned for it). Resolves true
   * when the credential is new since then (renewed, or a rotated file), so that one retry may succeed.
   */
  onUnauthorized?(sent: Readonly<Record<string, string>>): Promise<boolean>;
  /**
   * Asked before each request to the cloud, ahead of its turn at the rate limiter: rejects, with the error
   * the request fails with unsent, while the method holds requests back (a key the API refused, whose
   * every refusal costs something: a gateway that locks it); may wait, until `signal` aborts, for another
   * request to be answered. What it resolves to hears of the request.
   */
  admit?(request: AuthRequest, signal: AbortSignal | undefined): Promise<AdmittedRequest>;
  /** The service catalog that came with the credential (a Keystone token's), for the compute endpoint. */
  catalog?(signal: AbortSignal | undefined): Promise<Catalog>;
  /** Releases what it holds and cancels its own requests in flight. */
  close?(): Promise<void>;
}

/** A request admit() let go. */
export interface AdmittedRequest {
  /**
   * With a method that signsWhenSent, called as each attempt goes, after its turn at the rate limiter:
   * rejects, with the error it fails with unsent, when the method began holding requests back meanwhile;
   * may wait, until the caller's signal aborts, for other requests to be answered first.
   */
  sending(): Promise<void>;
  /** An answer to it, or to its retry after a 401. */
  answered(answer: Answer): void;
  /** It has ended, answered or not (it failed below HTTP, or was cancelled). */
  ended(): void;
}

/** What an auth method may use to reach an identity service: the client's connection pool and limits. */
export interface AuthDeps {
  logger: Logger;
  dispatcher: Dispatcher;
  /** One HTTP request, in milliseconds. */
  timeout: number;
  /** The client takes its endpoint from catalog(): a method that can leave the catalog out must not. */
  needsCatalog: boolean;
  /** The request rate to the cloud, which identity requests count against too. */
  limiter?: RateLimiter | undefined;
  /** The client's stopWaiting(): from then on an identity request that would wait for `limiter` rejects instead. */
  noWaiting?: AbortSignal | undefined;
  /**
   * The time to put in a signature, epoch ms: this host's, allowing for a cloud clock 30 s or more apart
   * (cloudClock.ts), as a gateway refuses a signature too far from its own clock.
   */
  now(): number;
  /** See RefusedCredentials; absent, a refusal is held off for as long as this method lives. */
  refused?: RefusedCredentials | undefined;
  /** See KeptTokens; absent, a method made anew logs in anew. */
  tokens?: KeptTokens | undefined;
}

/** A token an identity service issued, with its catalog: what a request needs of a login. */
export interface IssuedToken {
  readonly token: string;
  /** When its login began, by the monotonic clock and by this host's. */
  readonly started: { readonly mono: number; readonly wall: number };
  /** Counted from `started`: its lifetime, less the share left when it is renewed. */
  readonly renewAfterMs: number;
  /** Its own lifetime, counted as renewAfterMs. */
  readonly expiresAfterMs: number;
  readonly catalog: Catalog;
}

/**
 * Tokens kept by their owner across the auth methods it makes (the daemon's, across reloads that rebuild
 * the parts), by a digest of the login that got them: a method made anew with the same login uses the token
 * in hand, as the one before it would have, rather than failing every poll while the identity service is
 * down. Another login (a password rotated, another user or project) gets its own.
 */
export type KeptTokens = Map<string, IssuedToken>;

/** The schema of one auth method's `cloud.auth` mapping; its `type` literal selects it. */
export type AuthConfigSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.core.$ZodLooseShape, z.core.$strict>;

/** Everything the program needs to know about one auth method; the registry lists them. */
export interface AuthMethod<S extends AuthConfigSchema = AuthConfigSchema> {
  /** Its `cloud.auth` mapping: the single place its keys and defaults are stated. */
  readonly schema: S;
  /** Keys of that mapping holding secrets: the logger redacts them wherever they appear. */
  readonly secretKeys: readonly string[];
  /** Whether it can give the compute endpoint from a catalog, so that `cloud.endpoint` may be left out. */
  readonly hasCatalog: boolean;
  readonly create: (config: z.output<S>, deps: AuthDeps) => AuthStrategy;
  /** What a valid mapping asks that works worse than its writer likely expects (validate, run and a reload say it). */
  readonly warnings?: (config: z.output<S>) => AuthWarning[];
}

/** A warning about `cloud.auth`; `path` is inside it (`['identityEndpoint']`). */
export interface AuthWarning {
  path: readonly (string | number)[];
  message: string;
}
