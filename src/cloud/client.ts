import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';
import pThrottle from 'p-throttle';
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { CloudConfig } from '../config/schema.ts';
import type { InstanceAction, InstanceActionSummary, MigrationRecord, ServerState } from '../model.ts';
import { ApiError, kindForStatus } from './ApiError.ts';
import { createAuth } from './auth/registry.ts';
import type { AuthStrategy } from './auth/types.ts';
import { actionListUrl, actionUrl, migrationsUrl, serverUrl, versionUrl } from './endpoint.ts';
import { apiMessageFromText } from './errors/apiMessage.ts';
import { readBody } from '../net/body.ts';
import { errorCode } from '../net/failure.ts';
import { oneLine } from '../net/oneLine.ts';
import { parseRetryAfter } from '../net/retryAfter.ts';
import pRetry from 'p-retry';
import { chooseMicroversion } from './microversion.ts';
import { untilAborted } from '../lifecycle/abort.ts';
import {
  instanceActionDocumentSchema, instanceActionListSchema, migrationListSchema, serverDocumentSchema, toServerState,
  versionDocumentSchema,
} from './schemas.ts';

export interface ServerRef {
  projectId: string;
  serverId: string;
}

export interface ActionRef extends ServerRef {
  requestId: string;
}

/**
 * The reads a poll needs. Failures are ApiErrors; a call cancelled through its signal (or by close())
 * rejects with the abort reason instead, since nothing failed.
 */
export interface EcsClient {
  /** 404 is an ApiError of kind `not_found` only when the API itself says so (early in a create: "not scheduled yet"). */
  getInstanceAction(ref: ActionRef, signal?: AbortSignal): Promise<InstanceAction>;
  /** null when the API itself answers that the server does not exist; any other 404 is an ApiError. */
  getServer(ref: ServerRef, signal?: AbortSignal): Promise<ServerState | null>;
  /** The server's actions, newest first. */
  listInstanceActions(ref: ServerRef, signal?: AbortSignal): Promise<InstanceActionSummary[]>;
  /** The server's migration records (GET /os-migrations?instance_uuid=); a 403 where the policy refuses. */
  listMigrations(ref: ServerRef, signal?: AbortSignal): Promise<MigrationRecord[]>;
  /**
   * The microversion sent with each request, null for none. With `auto` this discovers it, retrying with
   * backoff; while it is unknown every request fails with the discovery's error rather than go out
   * without a version header (at 2.1 a deleted server's actions are 404 and non-admins see no events).
   */
  microversion(): Promise<string | null>;
  /** Idempotent; cancels requests in flight. */
  close(): Promise<void>;
}

export interface EcsClientDeps {
  logger: Logger;
  /** Tests pass a MockAgent; the daemon may share one pool. The client closes only an Agent it created. */
  dispatcher?: Dispatcher;
  /** `poll.rateLimit`: at most `count` requests (of every kind, discovery included) in any `perMs`. */
  rateLimit?: { count: number; perMs: number } | undefined;
}

const USER_AGENT = 'ecs-action-watch';
/**
 * One discovery round tries this many times, with short jittered pauses; after a failed round, requests
 * fail fast with its error until the next round is due: 5 s after the first failed round, doubling up
 * to 5 min.
 */
const DISCOVERY_ATTEMPTS = 3;
export const DISCOVERY_BACKOFF_MS = { first: 5_000, max: 5 * 60_000 } as const;
// An instance action with every traceback stays far below this; more is a proxy gone wrong.
const MAX_BODY_BYTES = 4 * 1024 * 1024;
// Of an error body only the start is kept, for its message; the rest is read and dropped.
const MAX_ERROR_BODY_BYTES = 64 * 1024;

interface Answer {
  method: string;
  url: string;
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  truncated: boolean;
}

interface Discovery {
  promise: Promise<string | null>;
  /** Failed rounds in a row, this one included once it failed. */
  failures: number;
  /** Set once the round failed: when the next may start. */
  retryAt: number | undefined;
}

export function createEcsClient(config: CloudConfig, deps: EcsClientDeps): EcsClient {
  return new HttpEcsClient(config, deps);
}

class HttpEcsClient implements EcsClient {
  readonly #endpoint: string;
  readonly #timeout: number;
  readonly #fixedMicroversion: string | undefined;
  readonly #logger: Logger;
  readonly #ownAgent: Agent | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #auth: AuthStrategy;
  readonly #closed = new AbortController();
  #closing: Promise<void> | undefined;
  #discovery: Discovery | undefined;
  /** Resolves when the next request may start; a no-op without a rate limit. */
  readonly #slot: () => Promise<void>;

  constructor(config: CloudConfig, deps: EcsClientDeps) {
    versionUrl(config.endpoint); // a malformed endpoint fails here, at start, rather than on every poll
    this.#endpoint = config.endpoint;
    this.#timeout = config.timeout;
    this.#fixedMicroversion = config.microversion === 'auto' ? undefined : config.microversion;
    this.#logger = deps.logger.child({ component: 'cloud' });
    if (deps.dispatcher === undefined) {
      const { timeout } = config;
      this.#ownAgent = new Agent({ connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout });
      this.#dispatcher = this.#ownAgent;
    } else {
      this.#ownAgent = undefined;
      this.#dispatcher = deps.dispatcher;
    }
    const { rateLimit } = deps;
    // strict: the limit holds for every window, not only for aligned ones, as the contract says "never exceeded".
    this.#slot = rateLimit
      ? pThrottle({ limit: rateLimit.count, interval: rateLimit.perMs, strict: true, signal: this.#closed.signal })(async () => undefined)
      : async () => undefined;
    this.#auth = createAuth(config.auth, { logger: this.#logger, dispatcher: this.#dispatcher, timeout: config.timeout });
  }

  async getInstanceAction(ref: ActionRef, signal?: AbortSignal): Promise<InstanceAction> {
    const url = actionUrl(this.#endpoint, ref.projectId, ref.serverId, ref.requestId);
    return (await this.#document(url, signal, instanceActionDocumentSchema)).instanceAction;
  }

  async getServer(ref: ServerRef, signal?: AbortSignal): Promise<ServerState | null> {
    try {
      return toServerState(await this.#document(serverUrl(this.#endpoint, ref.projectId, ref.serverId), signal, serverDocumentSchema));
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  async listInstanceActions(ref: ServerRef, signal?: AbortSignal): Promise<InstanceActionSummary[]> {
    const url = actionListUrl(this.#endpoint, ref.projectId, ref.serverId);
    return (await this.#document(url, signal, instanceActionListSchema)).instanceActions;
  }

  async listMigrations(ref: ServerRef, signal?: AbortSignal): Promise<MigrationRecord[]> {
    const url = migrationsUrl(this.#endpoint, ref.projectId, ref.serverId);
    return (await this.#document(url, signal, migrationListSchema)).migrations;
  }

  microversion(): Promise<string | null> {
    if (this.#fixedMicroversion !== undefined) return Promise.resolve(this.#fixedMicroversion);
    const current = this.#discovery;
    // In flight, found, or failed with the next round not yet due: all share the round's answer.
    if (current !== undefined && (current.retryAt === undefined || Date.now() < current.retryAt)) {
      return current.promise;
    }
    const discovery: Discovery = { promise: Promise.resolve(null), failures: current?.failures ?? 0, retryAt: undefined };
    discovery.promise = this.#discoverWithRetries().catch((err: unknown) => {
      discovery.failures += 1;
      const waitMs = Math.min(DISCOVERY_BACKOFF_MS.first * 2 ** (discovery.failures - 1), DISCOVERY_BACKOFF_MS.max);
      discovery.retryAt = Date.now() + waitMs;
      if (!this.#closed.signal.aborted) {
        this.#logger.warn(
          { error: err instanceof Error ? err.message : String(err), failedRounds: discovery.failures, retryInMs: waitMs },
          'compute microversion discovery failed; no request goes out without a version header until it succeeds' +
            ' (set cloud.microversion to a fixed "2.N" where the endpoint has no version document)',
        );
      }
      throw err;
    });
    this.#discovery = discovery;
    return discovery.promise;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed.abort(new DOMException('the ECS client was closed', 'AbortError'));
      await this.#auth.close?.();
      await this.#ownAgent?.close();
    })();
    return this.#closing;
  }

  #discoverWithRetries(): Promise<string | null> {
    return pRetry(() => this.#discover(), {
      retries: DISCOVERY_ATTEMPTS - 1,
      minTimeout: 300,
      maxTimeout: 3000,
      randomize: true,
      signal: this.#closed.signal,
      shouldRetry: ({ error }) => error instanceof ApiError && error.retryable,
    });
  }

  async #discover(): Promise<string | null> {
    const answer = await this.#get(versionUrl(this.#endpoint), undefined, false);
    if (!isSuccess(answer.status)) throw httpError(answer);
    const { version } = decode(answer, versionDocumentSchema);
    let chosen: string | null;
    try {
      chosen = chooseMicroversion({ max: version.version, min: version.min_version });
    } catch (err) {
      throw invalidResponse(answer, (err as Error).message);
    }
    this.#logger.info(
      { microversion: chosen, offered: { min: version.min_version, max: version.version } },
      chosen === null ? 'the endpoint offers no compute microversions' : `using compute microversion ${chosen}`,
    );
    return chosen;
  }

  /** A GET of a compute document at the negotiated microversion; an error answer throws. */
  async #document<T>(url: string, signal: AbortSignal | undefined, schema: z.ZodType<T>): Promise<T> {
    const answer = await this.#get(url, signal, true);
    if (!isSuccess(answer.status)) throw httpError(answer);
    return decode(answer, schema);
  }

  /** One GET: returns any HTTP answer with its body read; throws only below HTTP (or on cancellation). */
  async #get(url: string, callerSignal: AbortSignal | undefined, withMicroversion: boolean): Promise<Answer> {
    this.#closed.signal.throwIfAborted();
    const method = 'GET';
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    if (withMicroversion) {
      // Discovery is shared by every poll and not cancelled by one of them; a cancelled poll stops waiting.
      const version = await untilAborted(this.microversion(), callerSignal);
      if (version !== null) {
        headers['x-openstack-nova-api-version'] = version;
        headers['openstack-api-version'] = `compute ${version}`;
      }
    }
    const parsedUrl = new URL(url);
    Object.assign(headers, await this.#auth.headers({ method, url: parsedUrl, headers: { ...headers } }, callerSignal));

    await this.#slot();
    const timeout = AbortSignal.timeout(this.#timeout);
    const signals = [timeout, this.#closed.signal, ...(callerSignal === undefined ? [] : [callerSignal])];
    const started = performance.now();
    const log = (fields: Record<string, unknown>) =>
      this.#logger.debug(
        { method, path: parsedUrl.pathname, ...fields, durationMs: Math.round(performance.now() - started) },
        'cloud request',
      );
    try {
      const res = await request(url, {
        method,
        headers,
        dispatcher: this.#dispatcher,
        signal: AbortSignal.any(signals),
        headersTimeout: this.#timeout,
        bodyTimeout: this.#timeout,
      });
      const { text, truncated } = isSuccess(res.statusCode)
        ? await readBody(res.body, MAX_BODY_BYTES, MAX_BODY_BYTES)
        : await readBody(res.body, MAX_ERROR_BODY_BYTES, MAX_BODY_BYTES);
      log({ status: res.statusCode });
      if (res.statusCode === 401) this.#auth.onUnauthorized?.();
      return {
        method,
        url,
        status: res.statusCode,
        statusText: res.statusText || (STATUS_CODES[res.statusCode] ?? ''),
        headers: res.headers,
        text,
        truncated,
      };
    } catch (err) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (this.#closed.signal.aborted) throw this.#closed.signal.reason;
      const error = belowHttpError(err, { method, url, timeoutMs: this.#timeout, timedOut: timeout.aborted });
      log({ error: error.kind });
      throw error;
    }
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

// Codes undici uses for mistakes in the request itself (a header value with a newline): not the network's
// fault, and retrying cannot help, so they surface as they are.
const CALLER_MISTAKES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED']);
const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function belowHttpError(
  err: unknown,
  context: { method: string; url: string; timeoutMs: number; timedOut: boolean },
): ApiError {
  const code = errorCode(err);
  if (code !== undefined && CALLER_MISTAKES.has(code)) throw err;
  const { method, url } = context;
  if (context.timedOut || (code !== undefined && UNDICI_TIMEOUTS.has(code))) {
    return new ApiError({ kind: 'timeout', method, url, detail: `no complete answer within ${context.timeoutMs} ms`, cause: err });
  }
  let detail = err instanceof Error ? err.message : String(err);
  if (code !== undefined && !detail.includes(code)) detail += ` (${code})`;
  return new ApiError({ kind: 'network', method, url, detail, cause: err });
}

function httpError(answer: Answer): ApiError {
  const api = apiMessageFromText(answer.text);
  return new ApiError({
    kind: kindForStatus(answer.status, api?.code),
    method: answer.method,
    url: answer.url,
    status: answer.status,
    statusText: answer.statusText,
    apiCode: api?.code,
    apiMessage: api?.message,
    retryAfterMs: parseRetryAfter(answer.headers['retry-after']),
  });
}

function invalidResponse(answer: Answer, detail: string): ApiError {
  return new ApiError({
    kind: 'invalid_response',
    method: answer.method,
    url: answer.url,
    status: answer.status,
    detail,
  });
}

function decode<T>(answer: Answer, schema: z.ZodType<T>): T {
  if (answer.truncated) throw invalidResponse(answer, `body larger than ${MAX_BODY_BYTES} bytes`);
  const excerpt = JSON.stringify(oneLine(answer.text, 120));
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw invalidResponse(answer, `not JSON: ${excerpt}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw invalidResponse(answer, `unexpected document (${where}${issue?.message ?? 'invalid'}): ${excerpt}`);
  }
  return parsed.data;
}
