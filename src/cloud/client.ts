import { hash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../observability/logger.ts';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { CloudConfig } from '../config/schema.ts';
import type { EcsJob, InstanceAction, InstanceActionSummary, JobRef, MigrationRecord, ServerState, ServerSummary } from '../model.ts';
import { createHttpDispatcher } from '../net/dispatcher.ts';
import { ApiError } from './ApiError.ts';
import { REFUSAL_FIX, refusalOf } from './refusal.ts';
import { RateLimiter } from './rateLimiter.ts';
import { createAuth } from './auth/registry.ts';
import { doublingDelay, type RefusedCredentials } from './auth/refusedBackoff.ts';
import type { AdmittedRequest, AuthStrategy, KeptTokens } from './auth/types.ts';
import { catalogEndpoint } from './catalog.ts';
import { actionListUrl, actionUrl, jobUrl, migrationsUrl, serverListUrl, serverUrl, versionUrl } from './endpoint.ts';
import { decode, exchange, httpError, invalidResponse, isSuccess, type Answer } from './exchange.ts';
import { oneLine } from '../net/oneLine.ts';
import pRetry from 'p-retry';
import { chooseMicroversion } from './microversion.ts';
import { PLAIN_HEADERS, computeHeaders } from './headers.ts';
import { SharedStrings } from './sharedStrings.ts';
import { CloudClock } from './cloudClock.ts';
import { untilAborted } from '../lifecycle/abort.ts';
import { credentialsIn } from '../net/redact.ts';
import { proxyCredentials } from '../net/proxy.ts';
import {
  instanceActionDocumentSchema, instanceActionListSchema, jobSchema, migrationListSchema, serverDocumentSchema, serverListSchema, toServerState,
  versionDocumentSchema,
} from './schemas.ts';

export interface ServerRef {
  readonly projectId: string;
  readonly serverId: string;
}

export interface ActionRef extends ServerRef {
  readonly requestId: string;
}

/**
 * The reads a poll needs. Failures are ApiErrors; a call cancelled through its signal (or by close())
 * rejects with the abort reason instead, since nothing failed.
 */
export interface EcsClient {
  /**
   * 404 is an ApiError of kind `not_found` only when the API itself says so (early in a create: "not
   * scheduled yet"). `previous`, what an earlier call returned for the same action, is returned as it is
   * when the answer is the same: a poll that sees no change neither parses nor checks it again. The URL is
   * kept for `ref` (a watch's target) while it lives: its ids must not change.
   */
  getInstanceAction(ref: ActionRef, signal?: AbortSignal, previous?: InstanceAction | null): Promise<InstanceAction>;
  /** null when the API itself answers that the server does not exist; any other 404 is an ApiError. */
  getServer(ref: ServerRef, signal?: AbortSignal): Promise<ServerState | null>;
  /**
   * One page of the server's actions, newest first; with `changesSince` (2.58+) only those updated since
   * then. From 2.58 Nova answers CONF.api.max_limit of them a page (1000 unless its operators set fewer):
   * `next` is the marker of the following page, null on the last (and always below 2.58, which has no pages).
   */
  listInstanceActions(ref: ServerRef, signal?: AbortSignal, options?: { changesSince?: string | undefined; marker?: string | undefined }): Promise<{ actions: InstanceActionSummary[]; next: string | null }>;
  /**
   * One page of the project's servers (GET /servers/detail), with `changesSince` only those changed since
   * then (deleted ones included, as DELETED); `next` is the marker of the following page, null on the last.
   */
  listServers(projectId: string, options: { changesSince?: string | undefined; marker?: string | undefined }, signal?: AbortSignal): Promise<{ servers: ServerSummary[]; next: string | null }>;
  /** The server's migration records (GET /os-migrations?instance_uuid=); a 403 where the policy refuses. */
  listMigrations(ref: ServerRef, signal?: AbortSignal): Promise<MigrationRecord[]>;
  /**
   * A job of Huawei Cloud / OTC's native ECS API (GET {service root}/v1/{project}/jobs/{job}), outside
   * Nova and its microversions. A job the API does not know (Common.0011) is an ApiError of kind `not_found`.
   * `previous` and `ref` as for getInstanceAction.
   */
  getJob(ref: JobRef, signal?: AbortSignal, previous?: EcsJob | null): Promise<EcsJob>;
  /** Lets go of what is kept for `ref` (its URL, its last document's digest), whose watch has its verdict: kept again if it is read. */
  forget(ref: object): void;
  /**
   * The microversion sent with each request, null for none. With `auto` this discovers it, retrying with
   * backoff; while it is unknown every request fails with the discovery's error rather than go out
   * without a version header (at 2.1 a deleted server's actions are 404 and non-admins see no events).
   */
  microversion(): Promise<string | null>;
  /**
   * One request for its answer's `Date` alone, which measures the cloud's clock (`clock`): the compute
   * endpoint's version document, whatever the answer. Rejects when none came (or, with no endpoint
   * configured, the catalog could not be read).
   */
  askTheTime(signal?: AbortSignal): Promise<void>;
  /** How far the cloud's clock is ahead of this host's, from its answers (cloudClock.ts). */
  readonly clock: CloudClock;
  /** When the last request to the cloud ended, answered or failed (performance.now()); -Infinity before the first. */
  lastRequestEndedAt(): number;
  /**
   * From now on a request that would have to wait for the rate limit (a 429's pause, a full window) is not
   * sent: it rejects at once. The engine stopping, whose drain is for requests already sent and for those
   * that can go now; close() cancels those in flight.
   */
  stopWaiting(): void;
  /** Idempotent; cancels requests in flight. */
  close(): Promise<void>;
}

export interface EcsClientDeps {
  logger: Logger;
  /** Tests pass a MockAgent; the daemon may share one pool. The client closes only a dispatcher it created. */
  dispatcher?: Dispatcher;
  /** Certificates to trust (cloud.tls.caFile and the defaults) for a dispatcher the client creates. */
  ca?: readonly string[] | undefined;
  /** `poll.rateLimit`: at most `count` requests (of every kind, discovery included) in any `perMs`. */
  rateLimit?: { count: number; perMs: number } | undefined;
  /**
   * The limiter to send through, kept by its owner across clients (the daemon's, across reloads), which
   * has set its limit and closes it; else the client makes one of `rateLimit` and closes it.
   */
  limiter?: RateLimiter | undefined;
  /**
   * `poll.concurrency`, for a dispatcher the client creates: at most as many connections to each of the
   * cloud's hosts, a request beyond waiting for one to be free. Unbounded, undici opened a connection for
   * each request sent between an answer and its connection being free again, as a pass's worker sends its
   * next poll: 128 connections for 64 workers, and 2-5 µs more CPU a poll at 10,000 watches.
   */
  connections?: number | undefined;
  /** See RefusedCredentials: kept by the daemon across reloads that rebuild the parts. */
  refusedCredentials?: RefusedCredentials | undefined;
  /** See KeptTokens: kept by the daemon across reloads that rebuild the parts. */
  keptTokens?: KeptTokens | undefined;
}

/** Servers per page of GET /servers/detail: Nova's default max_limit, a page the API answers in one go. */
const SERVER_PAGE = 1000;
/**
 * One discovery round tries this many times, with short jittered pauses; after a failed round, requests
 * fail fast with its error until the next round is due: 5 s after the first failed round, doubling up
 * to a minute. No longer: no poll goes out meanwhile, and a watch whose action could not be read is given
 * only its deadline's length (at most 15 min) past it for the API to answer; a 5-minute wait begun just
 * before the cloud came back used that up (a reboot done in 1 min of a 10 min deadline, a daemon started
 * during an outage of 19 min: a timeout at 20 min, the lookup not yet asked again). A round is one request
 * (three at most) a minute.
 */
const DISCOVERY_ATTEMPTS = 3;
export const DISCOVERY_BACKOFF_MS = { first: 5_000, max: 60_000 } as const;
/**
 * An answer whose way took this much longer by this host's clock than by the monotonic one came across a
 * sleep of the machine (or a setting of its clock), and is asked for again. Within it, what it shows is as
 * good as a measure of the cloud's clock (good to a few seconds) and a poll's verdict (a deadline is minutes).
 */
const CAME_ACROSS_MS = 5000;

interface Discovery {
  promise: Promise<string | null>;
  /** Failed rounds in a row, this one included once it failed. */
  failures: number;
  /**
   * Set once the round failed: when the next may start (performance.now(), so that this host's clock set
   * back does not fail every request for as long as it was set back).
   */
  retryAt: number | undefined;
  /** Why the last failed round failed (its kind): a round that fails alike is said at debug. */
  why: string | undefined;
}

export function createEcsClient(config: CloudConfig, deps: EcsClientDeps): EcsClient {
  return new HttpEcsClient(config, deps);
}

class HttpEcsClient implements EcsClient {
  readonly #config: CloudConfig;
  /** The configured endpoint, or the catalog's once found. */
  #endpoint: string | undefined;
  readonly #timeout: number;
  readonly #fixedMicroversion: string | undefined;
  readonly #logger: Logger;
  readonly #ownDispatcher: Dispatcher | undefined;
  readonly #dispatcher: Dispatcher;
  /** The proxy variables' credentials as the dispatcher was made with them, hidden in every answer (proxyCredentials). */
  readonly #proxySecrets: readonly string[] | undefined;
  readonly #auth: AuthStrategy;
  readonly #closed = new AbortController();
  /** stopWaiting(): the rate limit's waits end. */
  readonly #noWaiting = new AbortController();
  /** Ends discovery's waits between its attempts: at a stop (stopWaiting), as at close(). */
  readonly #waitsEnd = AbortSignal.any([this.#closed.signal, this.#noWaiting.signal]);
  #closing: Promise<void> | undefined;
  #discovery: Discovery | undefined;
  /** Every request to the cloud waits here: poll.rateLimit, and slowing down after a 429. */
  readonly #limiter: RateLimiter;
  readonly #ownLimiter: boolean;
  /** One copy of the strings instance actions repeat, for the answers the watches keep. */
  readonly #sharedStrings = new SharedStrings();
  readonly clock: CloudClock;
  /**
   * What #reread keeps of each watch, by the watch's reference, from its first poll: in one place, as at
   * 10,000 watches each lookup in a map of them misses the CPU's caches.
   */
  readonly #polled = new WeakMap<object, PolledWatch>();
  /** The headers of a compute request at the microversion, once it is known: one object for every request. */
  #computeHeaders: Readonly<Record<string, string>> | undefined;

  constructor(config: CloudConfig, deps: EcsClientDeps) {
    // A malformed endpoint fails here, at start, rather than on every poll.
    if (config.endpoint !== undefined) versionUrl(config.endpoint);
    this.#config = config;
    this.#endpoint = config.endpoint;
    this.#timeout = config.timeout;
    this.#fixedMicroversion = config.microversion === 'auto' ? undefined : config.microversion;
    if (this.#fixedMicroversion !== undefined) this.#computeHeaders = computeHeaders(this.#fixedMicroversion);
    this.#logger = deps.logger.child({ component: 'cloud' });
    this.#ownDispatcher = deps.dispatcher === undefined ? createHttpDispatcher({ timeout: config.timeout, ca: deps.ca, connections: deps.connections }) : undefined;
    this.#dispatcher = deps.dispatcher ?? this.#ownDispatcher!;
    const proxySecrets = proxyCredentials();
    this.#proxySecrets = proxySecrets.length === 0 ? undefined : proxySecrets;
    this.#limiter = deps.limiter ?? new RateLimiter(deps.rateLimit, this.#logger);
    this.#ownLimiter = deps.limiter === undefined;
    // The endpoint, or the identity service whose catalog names it: either is the same cloud's.
    const identity = 'identityEndpoint' in config.auth ? config.auth.identityEndpoint : undefined;
    this.clock = new CloudClock(this.#logger, new URL(config.endpoint ?? identity ?? 'about:blank').origin);
    this.#auth = createAuth(config.auth, {
      logger: this.#logger,
      dispatcher: this.#dispatcher,
      timeout: config.timeout,
      needsCatalog: config.endpoint === undefined,
      now: () => this.clock.now(),
      limiter: this.#limiter,
      noWaiting: this.#noWaiting.signal,
      refused: deps.refusedCredentials,
      tokens: deps.keptTokens,
    });
    if (config.endpoint === undefined && this.#auth.catalog === undefined) {
      throw new TypeError(`cloud.endpoint is required with auth type ${config.auth.type}`);
    }
  }

  getInstanceAction(ref: ActionRef, signal?: AbortSignal, previous?: InstanceAction | null): Promise<InstanceAction> {
    return this.#reread(INSTANCE_ACTION, ref, signal, previous);
  }

  async getServer(ref: ServerRef, signal?: AbortSignal): Promise<ServerState | null> {
    try {
      const url = serverUrl(this.#endpoint ?? (await this.#catalogEndpoint(signal)), ref.projectId, ref.serverId);
      return toServerState(await this.#document(url, ref.projectId, signal, serverDocumentSchema));
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  async listInstanceActions(ref: ServerRef, signal?: AbortSignal, options: { changesSince?: string | undefined; marker?: string | undefined } = {}): Promise<{ actions: InstanceActionSummary[]; next: string | null }> {
    const query: Record<string, string> = {};
    if (options.changesSince !== undefined) query['changes-since'] = options.changesSince;
    if (options.marker !== undefined) query['marker'] = options.marker;
    const url = actionListUrl(this.#endpoint ?? (await this.#catalogEndpoint(signal)), ref.projectId, ref.serverId, query);
    const page = await this.#document(url, ref.projectId, signal, instanceActionListSchema);
    return { actions: page.instanceActions, next: nextMarker(page.links, page.instanceActions.at(-1)?.request_id) };
  }

  async listServers(projectId: string, options: { changesSince?: string | undefined; marker?: string | undefined }, signal?: AbortSignal): Promise<{ servers: ServerSummary[]; next: string | null }> {
    const query: Record<string, string> = { limit: String(SERVER_PAGE) };
    if (options.changesSince !== undefined) query['changes-since'] = options.changesSince;
    if (options.marker !== undefined) query['marker'] = options.marker;
    const page = await this.#document(serverListUrl(this.#endpoint ?? (await this.#catalogEndpoint(signal)), projectId, query), projectId, signal, serverListSchema);
    return { servers: page.servers, next: nextMarker(page.servers_links, page.servers.at(-1)?.id) };
  }

  async listMigrations(ref: ServerRef, signal?: AbortSignal): Promise<MigrationRecord[]> {
    const url = migrationsUrl(this.#endpoint ?? (await this.#catalogEndpoint(signal)), ref.serverId);
    // The one path a gateway may not pass on while it passes the others (an admin's, outside what it
    // publishes): a page in place of the list (decode's `gateway`) is then a refusal of the path, as a
    // firewall's 403 page is, and the move is judged without it when the next poll's read gets one too.
    return (await this.#document(url, ref.projectId, signal, migrationListSchema)).migrations;
  }

  getJob(ref: JobRef, signal?: AbortSignal, previous?: EcsJob | null): Promise<EcsJob> {
    return this.#reread(JOB, ref, signal, previous);
  }

  microversion(): Promise<string | null> {
    if (this.#fixedMicroversion !== undefined) return Promise.resolve(this.#fixedMicroversion);
    const current = this.#discovery;
    // In flight, found, or failed with the next round not yet due: all share the round's answer. A failed
    // one is not worth retrying before then (a poll's retries would only sleep: `check` of 1,000 watches
    // against an endpoint that is down took 11 minutes).
    if (current !== undefined) {
      if (current.retryAt === undefined) return current.promise;
      if (performance.now() < current.retryAt) {
        return current.promise.catch((err: unknown) => {
          throw err instanceof ApiError ? err.notRetryable() : err;
        });
      }
    }
    const discovery: Discovery = { promise: Promise.resolve(null), failures: current?.failures ?? 0, retryAt: undefined, why: current?.why };
    discovery.promise = this.#discoverWithRetries().catch((err: unknown) => {
      discovery.failures += 1;
      const waitMs = doublingDelay(DISCOVERY_BACKOFF_MS, discovery.failures);
      discovery.retryAt = performance.now() + waitMs;
      // A daemon started while the cloud is down fails a round each minute until it is back: said once, as a
      // failed poll is, and again for another kind of failure, whose advice differs; its end is `using ...`.
      // A refusal whose fix is not its status's (refusal.ts) is a failure of its own, as a poll's is (pollFailures.ts).
      const why = err instanceof ApiError ? (refusalOf(err) ?? err.kind) : String(err);
      const again = why === discovery.why;
      discovery.why = why;
      if (!this.#waitsEnd.aborted) {
        const fields = { error: err instanceof Error ? err.message : String(err), failedRounds: discovery.failures, retryInMs: waitMs };
        if (again) this.#logger.debug(fields, 'compute microversion discovery failed again');
        else {
          this.#logger.warn(
            fields,
            `compute microversion discovery failed; no request goes out without a version header until it succeeds${discoveryAdvice(err, this.#endpoint === undefined ? undefined : versionUrl(this.#endpoint))}`,
          );
        }
      }
      throw err;
    });
    this.#discovery = discovery;
    return discovery.promise;
  }

  async askTheTime(signal?: AbortSignal): Promise<void> {
    await this.#get(versionUrl(this.#endpoint ?? (await this.#catalogEndpoint(signal))), undefined, signal, false);
  }

  lastRequestEndedAt(): number {
    return this.#limiter.lastEndedAt;
  }

  stopWaiting(): void {
    this.#noWaiting.abort(new DOMException('stopping: a request that would wait for the rate limit is not sent', 'AbortError'));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed.abort(new DOMException('the ECS client was closed', 'AbortError'));
      if (this.#ownLimiter) this.#limiter.close();
      await this.#auth.close?.();
      // Destroyed, not closed: every call was cancelled above, and a request cancelled before a connection
      // took it stays in undici's queue until its connect ends (requestText.ts can abort it only once undici
      // hands it over), which a peer that never answers the TLS handshake holds up for as long as undici's
      // connect timeout runs: close() waited on it.
      await this.#ownDispatcher?.destroy();
    })();
    return this.#closing;
  }

  /**
   * The first attempt is made on its own, so that a stop lets it finish within the drain, as a poll's read
   * does; the attempts after a failure are not waited for once stopping began (p-retry takes no answer after
   * its signal is aborted), which would hold a stop for up to two backoffs and send requests meanwhile.
   */
  #discoverWithRetries(): Promise<string | null> {
    return this.#discover().catch((failure: unknown) => {
      if (!(failure instanceof ApiError && failure.retryable)) throw failure;
      return pRetry((attempt) => (attempt === 1 ? Promise.reject(failure) : this.#discover()), {
        retries: DISCOVERY_ATTEMPTS - 1,
        minTimeout: 300,
        maxTimeout: 3000,
        randomize: true,
        signal: this.#waitsEnd,
        shouldRetry: ({ error }) => error instanceof ApiError && error.retryable,
      });
    });
  }

  forget(ref: object): void {
    this.#polled.delete(ref);
  }

  /** The compute endpoint from the token catalog, while no endpoint is configured or found (looked up until found). */
  async #catalogEndpoint(signal: AbortSignal | undefined): Promise<string> {
    const filter = { type: 'compute', interface: this.#config.interface, region: this.#config.region };
    const endpoint = catalogEndpoint(await this.#auth.catalog!(signal), filter);
    versionUrl(endpoint);
    // Concurrent first polls may all get here; the first one found is kept and told.
    if (this.#endpoint === undefined) {
      this.#endpoint = endpoint;
      this.#logger.info({ endpoint, ...filter }, 'compute endpoint from the catalog');
    }
    return this.#endpoint;
  }

  async #discover(): Promise<string | null> {
    const answer = await this.#get(versionUrl(this.#endpoint ?? (await this.#catalogEndpoint(undefined))), undefined, undefined, false);
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
  async #document<T>(url: string, projectId: string, signal: AbortSignal | undefined, schema: z.ZodType<T>): Promise<T> {
    const answer = await this.#get(url, projectId, signal, true);
    if (!isSuccess(answer.status)) throw httpError(answer);
    return decode(answer, schema);
  }

  /**
   * A document polled again and again: `previous` is returned when the answer's text is the one it was
   * read from, or when the answer reads as a document equal to it (a restart, keys in another order).
   */
  async #reread<R extends { readonly projectId: string }, D, T extends object>(polled: Polled<R, D, T>, ref: R, signal: AbortSignal | undefined, previous: T | null | undefined): Promise<T> {
    let watch = this.#polled.get(ref);
    if (watch === undefined) {
      // Made at every poll, the URL was three encodeURIComponent and a new string to build, and to flatten again.
      watch = { url: polled.url(this.#endpoint ?? (await this.#catalogEndpoint(signal)), ref), document: null, digest: null };
      this.#polled.set(ref, watch);
    }
    const answer = await this.#get(watch.url, ref.projectId, signal, polled.withMicroversion);
    if (!isSuccess(answer.status)) throw httpError(answer);
    // A digest only for a document this client has read before: the watch's next read decodes once more
    // and keeps one from then on. A first read, and a document from the state (a restart, or `check` beside
    // a running daemon), are compared whole: `check`, which reads each watch once, then does not load
    // node:crypto (19 of Node's modules, 12-15 ms).
    const known = previous != null && previous === watch.document ? watch.digest : undefined;
    // A cut-off text could equal the whole text of an earlier answer: no digest for it (decode refuses it).
    const digest = answer.truncated || known === undefined ? undefined : hash('sha256', answer.text, 'base64');
    if (previous != null && digest !== undefined && digest === known) return previous;
    const found = polled.pick(decode(answer, polled.schema));
    const mismatch = polled.aboutAnother(found, ref);
    if (mismatch !== undefined) throw invalidResponse(answer, mismatch);
    const kept = previous != null && isDeepStrictEqual(previous, found) ? previous : laidOut(found);
    watch.document = kept;
    watch.digest = digest ?? null;
    if (kept !== previous) polled.adopt?.(this.#sharedStrings, kept, ref);
    return kept;
  }

  /**
   * One GET: returns any HTTP answer with its body read; throws only below HTTP (or on cancellation). A 401
   * is tried once more when the auth method has new credentials since (a renewed token, a rotated key).
   */
  async #get(url: string, projectId: string | undefined, callerSignal: AbortSignal | undefined, withMicroversion: boolean): Promise<Answer> {
    this.#closed.signal.throwIfAborted();
    const headers = !withMicroversion ? PLAIN_HEADERS : (this.#computeHeaders ?? (await this.#discoveredHeaders(callerSignal)));
    let admitted: AdmittedRequest | undefined;
    try {
      const request = { method: 'GET', url, headers, projectId };
      // Not awaited for a method without it: a poll's path has no tick to spare.
      if (this.#auth.admit !== undefined) admitted = await this.#auth.admit(request, callerSignal);
      // What the last attempt carried, for onUnauthorized; a signature is made as its attempt goes (`late`).
      let sent: Record<string, string> = this.#auth.signsWhenSent ? {} : await this.#auth.headers(request, callerSignal);
      const late = this.#auth.signsWhenSent
        ? async () => {
          await admitted?.sending();
          return (sent = await this.#auth.headers(request, callerSignal));
        }
        : undefined;
      let answer = await this.#send(url, headers, late ?? sent, callerSignal);
      // It came across a sleep of this machine (or a setting of its clock): it shows the cloud as it was
      // before, and its Date would measure the cloud's clock behind by as long as the sleep, and have the
      // step of this host's clock judged a setting by it. Asked again at once, as a request of its own that
      // no answer from before has shown signed right: after a setting, AK/SK signs it as far off the cloud's
      // clock as the setting went, as every request until an answer shows that, and more than five such
      // refused in a row have the gateway lock the key.
      if (Math.abs(answer.clockMovedMs) >= CAME_ACROSS_MS) {
        const across = admitted;
        admitted = undefined;
        across?.ended();
        if (this.#auth.admit !== undefined) admitted = await this.#auth.admit(request, callerSignal);
        answer = await this.#send(url, headers, late ?? sent, callerSignal);
      }
      admitted?.answered(answer);
      this.clock.observe(answer.headers['date'], Date.now(), answer.status === 401);
      if (answer.status !== 401 || !(await this.#auth.onUnauthorized?.(sent))) return answer;
      this.#logger.debug({ path: pathOf(url) }, 'credentials renewed after a 401; trying once more');
      if (late === undefined) sent = await this.#auth.headers(request, callerSignal);
      // Awaited: the request has ended (admitted.ended) only once its retry has.
      const again = await this.#send(url, headers, late ?? sent, callerSignal);
      admitted?.answered(again);
      return again;
    } finally {
      admitted?.ended();
    }
  }

  /** The compute headers once discovery has found the microversion, which it shares with every poll. */
  async #discoveredHeaders(callerSignal: AbortSignal | undefined): Promise<Readonly<Record<string, string>>> {
    // Discovery is shared by every poll and not cancelled by one of them; a cancelled poll stops waiting.
    const version = await untilAborted(this.microversion(), callerSignal);
    // A found microversion is kept for good (microversion() answers it from then on).
    this.#computeHeaders ??= computeHeaders(version);
    return this.#computeHeaders;
  }

  /** One GET with the auth method's headers (`sent`), or those it makes as the request goes (`sign`). */
  #send(url: string, headers: Readonly<Record<string, string>>, sent: Record<string, string> | (() => Promise<Record<string, string>>), callerSignal: AbortSignal | undefined): Promise<Answer> {
    // The debug line's fields are gathered only when it is written: most daemons run at info.
    const started = this.#logger.isLevelEnabled('debug') ? performance.now() : undefined;
    const answer = exchange(
      typeof sent === 'function' ? { method: 'GET', url, headers, sign: sent, secrets: this.#proxySecrets }
      : isEmpty(sent) ? { method: 'GET', url, headers, secrets: this.#proxySecrets }
      : { method: 'GET', url, headers: { ...headers, ...sent }, secrets: this.#proxySecrets === undefined ? credentialsIn(sent) : [...credentialsIn(sent), ...this.#proxySecrets] },
      { dispatcher: this.#dispatcher, timeout: this.#timeout, signal: callerSignal, closed: this.#closed.signal, limiter: this.#limiter, noWaiting: this.#noWaiting.signal },
    );
    if (started === undefined) return answer;
    return answer.then(
      (done) => {
        this.#logRequest('GET', url, started, { status: done.status });
        return done;
      },
      (err: unknown) => {
        if (err instanceof ApiError) this.#logRequest('GET', url, started, { error: err.kind });
        throw err;
      },
    );
  }

  #logRequest(method: string, url: string, started: number, fields: Record<string, unknown>): void {
    this.#logger.debug({ method, path: pathOf(url), ...fields, durationMs: Math.round(performance.now() - started) }, 'cloud request');
  }
}

/** What the client keeps of a watch whose document it polls (#reread). */
interface PolledWatch {
  readonly url: string;
  /** The document its last read kept. */
  document: object | null;
  /**
   * The digest of the answer text `document` was read from; null for one read without (a first read: the
   * next computes one).
   */
  digest: string | null;
}

/** What #reread needs to know of a document that watches poll again and again. */
interface Polled<R, D, T> {
  /** Where it is, under the compute endpoint. */
  url(endpoint: string, ref: R): string;
  schema: z.ZodType<D>;
  /** The document in the answer's JSON. */
  pick(document: D): T;
  /** Nova's documents are read at the microversion; Huawei's native ones (jobs) know none. */
  withMicroversion: boolean;
  /** What says that a document read is about another action or job than `ref`, or undefined. */
  aboutAnother(document: T, ref: R): string | undefined;
  /** Takes in a document just read, once it is known not to be the previous one. */
  adopt?(strings: SharedStrings, document: T, ref: R): void;
}

const INSTANCE_ACTION: Polled<ActionRef, z.output<typeof instanceActionDocumentSchema>, InstanceAction> = {
  url: (endpoint, ref) => actionUrl(endpoint, ref.projectId, ref.serverId, ref.requestId),
  schema: instanceActionDocumentSchema,
  pick: (document) => document.instanceAction,
  aboutAnother: (action, ref) =>
    idMismatch('request', action.request_id, ref.requestId) ?? (action.instance_uuid === undefined ? undefined : idMismatch('server', action.instance_uuid, ref.serverId)),
  withMicroversion: true,
  adopt: (strings, action, ref) => strings.shareAction(action, ref),
};

const JOB: Polled<JobRef, EcsJob, EcsJob> = {
  url: (endpoint, ref) => jobUrl(endpoint, ref.projectId, ref.jobId),
  schema: jobSchema,
  pick: (job) => job,
  aboutAnother: (job, ref) => idMismatch('job', job.job_id, ref.jobId),
  withMicroversion: false,
};

/**
 * Nova finds an action by its server and request id, in a database that compares them without case (MySQL's
 * collation), and the ECS API a job by its id: an answer that names another is neither's, but something's on
 * the way (a cache that ignores part of the URL, a gateway that answers for another route). Judged, it would
 * tell the watch's operator another action's outcome.
 */
function idMismatch(what: string, answered: string, asked: string): string | undefined {
  if (answered.toLowerCase() === asked.toLowerCase()) return undefined;
  return `the answer is about ${what} ${JSON.stringify(oneLine(answered, 80))}, not ${asked}: something between the daemon and the cloud (a cache, a gateway) answers for another URL`;
}

/**
 * The marker of the page after this one: Nova adds a `next` link when a page is full, and its marker is all
 * that is taken from it (never its host); the page's last id when the link has none. Null on the last page.
 */
function nextMarker(links: ReadonlyArray<{ rel: string; href: string }> | undefined, lastId: string | undefined): string | null {
  const next = links?.find((l) => l.rel === 'next');
  if (next === undefined) return null;
  return (URL.canParse(next.href) ? new URL(next.href).searchParams.get('marker') : null) ?? lastId ?? null;
}

/**
 * A copy of `document` as JSON.parse lays it out: each object with its fields in itself. zod builds its
 * output key by key, which puts every field past the fourth in a second object; kept for as long as its
 * watch runs, an action and each of its events are 24 B smaller this way (docs/performance.md, Memory).
 * Made only for a document not seen before, never at a steady poll.
 */
function laidOut<T extends object>(document: T): T {
  return JSON.parse(JSON.stringify(document)) as T;
}

function isEmpty(headers: Record<string, string>): boolean {
  for (const _ in headers) return false;
  return true;
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

/**
 * What to mend when the version document could not be had: the credentials where they were refused, the
 * request rate where the endpoint throttled it (a fixed microversion would spare one request, and the polls
 * would meet the same), not the microversion where something in front of the API answered with a page of
 * its own, a fixed microversion where the endpoint answered without one (a gateway's 404);
 * nothing for an endpoint that could not be reached, which the error says, nor for another request's answer
 * (`versionDocument` is the URL asked, undefined before the endpoint was known): the token request's, which
 * its error names.
 */
function discoveryAdvice(err: unknown, versionDocument: string | undefined): string {
  if (!(err instanceof ApiError) || err.status === undefined) return '';
  const refusal = refusalOf(err);
  if (refusal !== undefined) return ` (${REFUSAL_FIX[refusal]})`;
  if (err.kind === 'unauthorized' || err.kind === 'forbidden') return ' (check cloud.auth: the credentials were refused)';
  if (err.url !== versionDocument) return '';
  // An endpoint written http:// whose gateway sends it to https://: a fixed microversion would have every
  // poll sent there and redirected in turn.
  if (err.kind === 'redirect') return ' (the endpoint sends the request elsewhere: check cloud.endpoint)';
  // A page of a firewall, gateway or proxy (a refusal, a captive portal's login): every poll would get it too.
  if (err.kind === 'gateway') return ' (a firewall, gateway or proxy in front of the API answered in its place: a fixed microversion would meet it too)';
  if (err.kind === 'rate_limited') return ' (the cloud throttles requests: set poll.rateLimit below its quota, or lower poll.concurrency)';
  return ' (set cloud.microversion to a fixed "2.N" where the endpoint has no version document)';
}
