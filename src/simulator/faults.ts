// Injected failures: the ways a cloud API misbehaves between a client and a healthy answer. Each
// fault applies to the next N matching requests, before authentication, as a gateway or a crashing
// API worker would.

import { randomBytes } from 'node:crypto';
import { novaError, routerNotFound } from './render.ts';
import type { Route, RouteKind } from './routes.ts';

export type FaultSpec =
  /** 500 with Nova's computeFault body, as when the API worker hits an unexpected exception. */
  | { readonly kind: 'server-error' }
  /** 503 with Nova's serviceUnavailable body. */
  | { readonly kind: 'unavailable' }
  /**
   * 429 with a `Retry-After` header and Nova's overLimit body carrying `retryAfter`. `asDate`: the header as
   * an HTTP date that many seconds past the answer's `Date` (RFC 9110 §10.2.3), as some gateways send it.
   */
  | { readonly kind: 'rate-limited'; readonly retryAfterSeconds: number; readonly asDate?: boolean }
  /**
   * 429 from Huawei Cloud's API gateway when a throttling threshold is reached (`APIGW.0308`), without
   * `Retry-After`: the gateway leaves the pause to the client. `status`: the one it comes with instead of 429
   * (the code is what tells a throttle, whatever the status).
   */
  | { readonly kind: 'gateway-throttled'; readonly status?: number }
  /** 200, `content-type: application/json`, and a body that is not JSON (default: a cut-off document). */
  | { readonly kind: 'garbage'; readonly body?: string }
  /** Waits `delayMs` and then answers normally; the simulator's close() ends the wait. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Resets the connection without an answer. */
  | { readonly kind: 'reset' }
  /**
   * The usual answer (a gate's refusal too: a 401 to a wrong key or password) cut off: its status line,
   * headers and the first half of its body are sent, then the connection is closed, as a proxy or a
   * gateway worker that dies mid-answer leaves it.
   */
  | { readonly kind: 'cut-body' }
  /**
   * 404 with Nova's own itemNotFound for what the request addresses (`Instance <id> could not be found.`),
   * as a cell database blip or a server deleted and seen through a stale cache would answer.
   */
  | { readonly kind: 'not-found' }
  /**
   * 404 from Huawei Cloud's API gateway in front of the service (`APIGW.0101`): a wrong path, region or
   * stage never reaches the compute API.
   */
  | { readonly kind: 'gateway-not-found' }
  /**
   * 403 from Huawei Cloud's API gateway when the IAM user of a valid token or signature may not call the API
   * (`APIGW.0302`, "The IAM user is not authorized to access the API"): the gateway's shape, not Nova's.
   */
  | { readonly kind: 'gateway-forbidden' }
  /**
   * 403 from Huawei Cloud's API gateway when the API's access control (its IP address allow or block list)
   * refuses the caller's address (`APIGW.0402`): whatever the credentials, the gateway's shape, not Nova's.
   */
  | { readonly kind: 'gateway-ip-refused' }
  /** 400 from Huawei Cloud's API gateway for a request it cannot take (`APIGW.0201`, "API request error"). */
  | { readonly kind: 'gateway-bad-request' }
  /** Any other answer of Huawei Cloud's API gateway in its own words: a code of its table, its status and message. */
  | { readonly kind: 'gateway-code'; readonly status: number; readonly code: string; readonly message: string }
  /**
   * 404 from Nova's URL router for a path it does not know (e.g. a project id that is not hex), before
   * any resource lookup: webob's error as JSON to a client that accepts JSON, as nova-api 26 answers.
   */
  | { readonly kind: 'router-not-found' }
  /**
   * 403 as an HTML page, from a web application firewall in front of the API (a rule or an address
   * block): the request never reached the API, which answers a client that accepts JSON in JSON.
   */
  | { readonly kind: 'firewall-refused' }
  /**
   * 403 with Nova's forbidden body, as nova-api answers when its policy file refuses the route to this
   * user (`Policy doesn't allow os_compute_api:os-instance-actions:list to be performed.`): each route has
   * a rule of its own, so a cloud may let a user show an action but not list a server's.
   */
  | { readonly kind: 'policy-refused' };

/** Which requests a fault hits; with neither `route` nor `pathIncludes`, every request does. */
export interface FaultTarget {
  readonly route?: RouteKind;
  /** A substring of the request path, e.g. a request id. */
  readonly pathIncludes?: string;
  /** How many matching requests the fault hits. Default 1. */
  readonly times?: number;
  /** How many matching requests it lets through first (answered as usual). Default 0. */
  readonly after?: number;
}

/** How the HTTP layer carries a fault out. */
export type FaultEffect =
  | { readonly type: 'answer'; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string }
  | { readonly type: 'delay'; readonly ms: number }
  | { readonly type: 'reset' }
  | { readonly type: 'cut' };

interface Armed {
  readonly spec: FaultSpec;
  readonly target: FaultTarget;
  remaining: number;
  passing: number;
}

const JSON_TYPE = { 'content-type': 'application/json' };

const COMPUTE_FAULT_MESSAGE =
  'Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n' +
  "<class 'oslo_db.exception.DBConnectionError'>";

/** Faults waiting for their requests, taken in the order they were injected. */
export class FaultQueue {
  readonly #armed: Armed[] = [];

  add(spec: FaultSpec, target: FaultTarget = {}): void {
    const times = target.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`times must be a positive integer, got ${times}`);
    const after = target.after ?? 0;
    if (!Number.isInteger(after) || after < 0) throw new RangeError(`after must be a whole number, got ${after}`);
    this.#armed.push({ spec, target, remaining: times, passing: after });
  }

  /** Consumes one use of the first fault matching the request, if any. */
  take(route: RouteKind, path: string): FaultSpec | undefined {
    const index = this.#armed.findIndex(
      ({ target }) =>
        (target.route === undefined || target.route === route) &&
        (target.pathIncludes === undefined || path.includes(target.pathIncludes)),
    );
    const armed = this.#armed[index];
    if (armed === undefined) return undefined;
    if (armed.passing > 0) {
      armed.passing -= 1;
      return undefined;
    }
    armed.remaining -= 1;
    if (armed.remaining === 0) this.#armed.splice(index, 1);
    return armed.spec;
  }

  /** Drops every fault not yet used up: the outage is over. */
  clear(): void {
    this.#armed.length = 0;
  }

  /** How many uses are left over all faults; lets a test check that its faults were all hit. */
  get pending(): number {
    return this.#armed.reduce((sum, armed) => sum + armed.remaining, 0);
  }
}

/** What Nova names in a not-found answer for a path: the server it addresses, or nothing in particular. */
function notFoundMessage(route: Route): string {
  return route.kind === 'server' || route.kind === 'action' || route.kind === 'actions'
    ? `Instance ${route.serverId} could not be found.`
    : 'The resource could not be found.';
}

/** Nova's policy rule for each of its routes (nova/policies/), as its refusal names it. */
const POLICY_RULES: Partial<Readonly<Record<RouteKind, string>>> = {
  action: 'os_compute_api:os-instance-actions:show',
  actions: 'os_compute_api:os-instance-actions:list',
  server: 'os_compute_api:servers:show',
  servers: 'os_compute_api:servers:detail',
  migrations: 'os_compute_api:os-migrations:index',
};

/** An answer of Huawei Cloud's API gateway (APIG) rather than of the service behind it, with its own code. */
function gatewayError(status: number, code: string, message: string): FaultEffect {
  return { type: 'answer', status, headers: JSON_TYPE, body: JSON.stringify({ error_msg: message, error_code: code, request_id: randomBytes(16).toString('hex') }) };
}

/** `cloudNow`: the time on the cloud's clock, which stamps the answer's `Date` (a Retry-After date counts from it). */
export function faultEffect(spec: FaultSpec, route: Route, cloudNow: number): FaultEffect {
  switch (spec.kind) {
    case 'not-found':
      return { type: 'answer', status: 404, headers: JSON_TYPE, body: JSON.stringify(novaError(404, notFoundMessage(route))) };
    case 'gateway-not-found':
      return gatewayError(404, 'APIGW.0101', 'The API does not exist or has not been published in the environment');
    case 'gateway-forbidden':
      return gatewayError(403, 'APIGW.0302', 'The IAM user is not authorized to access the API');
    case 'gateway-ip-refused':
      return gatewayError(403, 'APIGW.0402', 'The IP address is not authorized to access the API');
    case 'gateway-bad-request':
      return gatewayError(400, 'APIGW.0201', 'API request error');
    case 'gateway-code':
      return gatewayError(spec.status, spec.code, spec.message);
    case 'gateway-throttled':
      return gatewayError(spec.status ?? 429, 'APIGW.0308', 'The throttling threshold has been reached: policy user over ratelimit,limit:50,time:1 second');
    case 'firewall-refused':
      return {
        type: 'answer',
        status: 403,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<!DOCTYPE html>\n<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1><p>Your request was blocked by the web application firewall. Reference #18.4f2e1b17</p></body></html>\n',
      };
    case 'policy-refused':
      return { type: 'answer', status: 403, headers: JSON_TYPE, body: JSON.stringify(novaError(403, `Policy doesn't allow ${POLICY_RULES[route.kind] ?? route.kind} to be performed.`)) };
    case 'router-not-found':
      return { type: 'answer', status: 404, headers: JSON_TYPE, body: JSON.stringify(routerNotFound()) };
    case 'server-error':
      return { type: 'answer', status: 500, headers: JSON_TYPE, body: JSON.stringify(novaError(500, COMPUTE_FAULT_MESSAGE)) };
    case 'unavailable':
      return {
        type: 'answer',
        status: 503,
        headers: JSON_TYPE,
        body: JSON.stringify(novaError(503, 'The server is currently unavailable. Please try again at a later time.')),
      };
    case 'rate-limited':
      return {
        type: 'answer',
        status: 429,
        headers: { ...JSON_TYPE, 'retry-after': spec.asDate === true ? new Date(cloudNow + spec.retryAfterSeconds * 1000).toUTCString() : String(spec.retryAfterSeconds) },
        body: JSON.stringify(novaError(429, 'This request was rate-limited.', spec.retryAfterSeconds)),
      };
    case 'garbage':
      return { type: 'answer', status: 200, headers: JSON_TYPE, body: spec.body ?? '{"instanceAction": {"action": "cre' };
    case 'slow':
      return { type: 'delay', ms: spec.delayMs };
    case 'reset':
      return { type: 'reset' };
    case 'cut-body':
      return { type: 'cut' };
  }
}
