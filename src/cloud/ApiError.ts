import { oneLine } from '../net/oneLine.ts';

export const API_ERROR_KINDS = [
  'not_found', 'foreign_not_found', 'unauthorized', 'forbidden', 'bad_request', 'rate_limited', 'server', 'network', 'timeout',
  'invalid_response', 'certificate', 'not_tls', 'unknown_host', 'proxy', 'redirect', 'gateway',
] as const;
export type ApiErrorKind = (typeof API_ERROR_KINDS)[number];

// Transient conditions only: a 4xx answer repeats itself, and a 401 needs new credentials (which the auth
// strategy gets on its own) rather than a blind retry. Garbage from a 2xx is usually a proxy hiccup.
const RETRYABLE: Record<ApiErrorKind, boolean> = {
  not_found: false,
  foreign_not_found: false,
  unauthorized: false,
  forbidden: false,
  bad_request: false,
  rate_limited: true,
  server: true,
  network: true,
  timeout: true,
  invalid_response: true,
  // A certificate or a host name a setting got wrong fails every attempt, but one server of several behind
  // a name may present a bad certificate, and a resolver may not know a name just made yet: the daemon
  // keeps trying as for any network error; `wait` gives up on them until the API has answered for its action.
  certificate: true,
  not_tls: true,
  unknown_host: true,
  // A proxy variable no process of ours can change: retried all the same, so that a delivery stays owed
  // (not given up) until the daemon is restarted with it mended.
  proxy: true,
  // Not followed (a credential must not go where the configuration did not say), so given the same again.
  redirect: false,
  // An HTML page refusing a request (a firewall's rule, a gateway's login) refuses it again: as a 403.
  gateway: false,
};

/**
 * The API's own "this resource does not exist": Nova's `itemNotFound` fault, Huawei Cloud ECS's codes for
 * a server that does not exist (Ecs.0114, Ecs.0614), or the native job API's for a job it does not know
 * (Common.0011, which it answers with a 400). Any other 404 comes from something in front of the resource
 * lookup (an API gateway's `APIGW.0101`, a router's HTML page for a wrong path) and says nothing about
 * the action.
 */
const RESOURCE_NOT_FOUND_CODES = new Set(['itemNotFound', 'Ecs.0114', 'Ecs.0614', 'Common.0011']);

export function isResourceNotFoundCode(apiCode: string | undefined): boolean {
  return apiCode !== undefined && RESOURCE_NOT_FOUND_CODES.has(apiCode);
}

/** Huawei's API gateway: "The throttling threshold has been reached". */
export const THROTTLED_CODE = 'APIGW.0308';

/** The kind of an HTTP error answer; a 404 (or 400) is `not_found` only with the API's own not-found code. */
export function kindForStatus(status: number, apiCode?: string): ApiErrorKind {
  if (apiCode === THROTTLED_CODE) return 'rate_limited';
  if ((status === 400 || status === 404) && isResourceNotFoundCode(apiCode)) return 'not_found';
  switch (status) {
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'foreign_not_found';
    case 408: return 'timeout';
    case 429: return 'rate_limited';
    default: return status >= 500 ? 'server' : status < 400 ? 'redirect' : 'bad_request';
  }
}

export interface ApiErrorInit {
  kind: ApiErrorKind;
  method: string;
  /** Must hold no credentials; the client builds it from the endpoint's origin and path only. */
  url: string;
  status?: number;
  /** The HTTP reason phrase, shown when the body names no error. */
  statusText?: string;
  apiCode?: string;
  apiMessage?: string;
  retryAfterMs?: number;
  /** What went wrong below HTTP (network, timeout) or with the body (invalid_response). */
  detail?: string;
  /** What we were doing, put before the rest: `cannot get a token for user 'svc'`. */
  context?: string | undefined;
  /** It answers the token request of a password login, not a request to the compute API (refusal.ts tells them apart). */
  login?: true;
  cause?: unknown;
}

const BELOW_HTTP: Partial<Record<ApiErrorKind, string>> = {
  network: 'network error',
  timeout: 'timed out',
  invalid_response: 'invalid response',
  certificate: 'certificate refused',
  not_tls: 'no TLS',
  unknown_host: 'host not found',
  proxy: 'proxy not usable',
};

function describe(init: ApiErrorInit): string {
  const { kind, status, statusText, apiCode, apiMessage, detail, retryAfterMs } = init;
  const words: string[] = [];
  if (status !== undefined) words.push(String(status));
  const belowHttp = BELOW_HTTP[kind];
  if (belowHttp !== undefined && (status === undefined || kind === 'invalid_response')) {
    words.push(detail === undefined ? belowHttp : `${belowHttp}: ${oneLine(detail)}`);
  } else {
    const label = apiCode ?? (statusText === '' ? undefined : statusText);
    if (label !== undefined) words.push(apiMessage === undefined ? label : `${label}:`);
    if (apiMessage !== undefined) words.push(apiMessage);
  }
  if (retryAfterMs !== undefined) words.push(`(retry after ${Math.ceil(retryAfterMs / 1000)} s)`);
  const request = `${init.method} ${init.url} → ${words.join(' ')}`;
  return init.context === undefined ? request : `${init.context}: ${request}`;
}

/** A failed call to the cloud API; `message` is one line for an operator and never holds credentials. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly kind: ApiErrorKind;
  readonly retryable: boolean;
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly apiCode: string | undefined;
  readonly apiMessage: string | undefined;
  /** See ApiErrorInit.login. */
  readonly login: boolean;

  readonly #init: ApiErrorInit;

  constructor(init: ApiErrorInit, retryable = RETRYABLE[init.kind]) {
    super(describe(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.#init = init;
    this.kind = init.kind;
    this.retryable = retryable;
    this.method = init.method;
    this.url = init.url;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.apiCode = init.apiCode;
    this.apiMessage = init.apiMessage;
    this.login = init.login === true;
  }

  /** The same failure, for a caller that gains nothing by trying again now (the client answers it from memory). */
  notRetryable(): ApiError {
    return new ApiError(this.#init, false);
  }

  /** The same failure, counted as another kind: what it means where it happened, rather than by its status alone. */
  as(kind: ApiErrorKind): ApiError {
    return new ApiError({ ...this.#init, kind });
  }

  /** The same failure, of the token request of a password login. */
  ofLogin(): ApiError {
    return new ApiError({ ...this.#init, login: true }, this.retryable);
  }
}
