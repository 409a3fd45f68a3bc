import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';

/** The request about to be sent, as far as an auth method may need it (AK/SK signs all of it). */
export interface AuthRequest {
  method: string;
  url: URL;
  /** The headers already set, lower-case names; a signer covers them and may add its own. */
  headers: Readonly<Record<string, string>>;
  body?: string | undefined;
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
  /** The API refused the credentials: drop whatever is cached so the next request gets fresh ones. */
  onUnauthorized?(): void;
  close?(): Promise<void>;
}

/** What an auth method may use to reach an identity service: the client's connection pool and limits. */
export interface AuthDeps {
  logger: Logger;
  dispatcher: Dispatcher;
  /** One HTTP request, in milliseconds. */
  timeout: number;
}
