import type { Logger } from '../../../observability/logger.ts';
import { untilAborted } from '../../../lifecycle/abort.ts';
import { ApiError, type ApiErrorKind } from '../../ApiError.ts';
import type { Catalog } from '../../catalog.ts';
import { decode, exchange, httpError, invalidResponse, isSuccess } from '../../exchange.ts';
import { proxyCredentials } from '../../../net/proxy.ts';
import { Credential } from '../credential.ts';
import type { AuthDeps, AuthStrategy, IssuedToken } from '../types.ts';
import type { PasswordAuthConfig } from './config.ts';
import { describeUser, tokenLifetime, TokenDocumentSchema, tokenRequestBody, tokensUrl } from './keystone.ts';
import { credentialsDigest, doublingDelay, REFUSED_BACKOFF_MS } from '../refusedBackoff.ts';
import { formatDuration } from '../../../watch/format.ts';
import { isGatewayCode, REFUSAL_FIX, refusalOf } from '../../refusal.ts';

/**
 * A token is renewed once this share of its lifetime is left: 6 h of a 24 h token (so an identity outage
 * of hours goes unnoticed), 1.25 s of a 5 s test token.
 */
const RENEW_WHEN_LEFT = 0.25;
/**
 * After an identity service that was down, busy (429) or answered garbage. Up to a minute, as the compute
 * microversion's lookup (client.ts DISCOVERY_BACKOFF_MS): no poll goes out without a token, and a watch
 * past its deadline is given only so long for the API to answer once it is back.
 */
export const TRANSIENT_BACKOFF_MS = { first: 2000, max: 60_000 };
/** A 401 to a fresh token (no role in the project) must not turn every poll into a login. */
export const MIN_FORCED_RENEWAL_MS = 60_000;

/** When a login began, by the monotonic clock and by this host's. */
type Start = IssuedToken['started'];

/** Its renewAfterMs is the token's own lifetime (expires_at less issued_at), less RENEW_WHEN_LEFT of it. */
interface Session extends IssuedToken {
  /** The digest of the login that got it: its key in AuthDeps.tokens. */
  readonly login: string;
}

interface Failure {
  error: ApiError;
  /** performance.now(): this host's clock set back must not hold logins back for as long. */
  retryAt: number;
  attempts: number;
  /** The password's version then: a new password is worth trying before the backoff ends. */
  passwordVersion: number;
}

const REFUSED = new Set(['unauthorized', 'forbidden', 'bad_request', 'not_found']);
const MENDED_IN_AUTH = new Set<ApiErrorKind>(['bad_request', 'not_found']);

/**
 * Failed logins, other than a refusal of the credentials, that someone has to mend. A gateway's page is
 * tried again as often as a failure that passes: the login never reached the identity service (no account
 * to lock), and whoever mends the gateway edits nothing the daemon would see.
 */
const NEEDS_SOMEONE: Partial<Record<ApiErrorKind, string>> = {
  redirect: 'the identity service sends the login elsewhere (not followed): check cloud.auth.identityEndpoint',
  gateway: 'something in front of the identity service refused the login (an HTML page, not its answer): check with whoever runs the firewall, gateway or proxy there',
  // The login never reached the identity service: what stops it is mended here, which the words of the
  // failure (Node's own for a certificate: its --use-system-ca) do not all say.
  certificate: "the identity service's certificate is refused here: an expired one is for its server to renew; any other: name the CA that signs it in cloud.tls.caFile, or check the host name of cloud.auth.identityEndpoint",
  not_tls: 'no TLS at cloud.auth.identityEndpoint (an https:// URL for a port that speaks plain HTTP): check its scheme and port',
  proxy: "the proxy refused the login, not the identity service: the error says what to mend, at the proxy or in the daemon's proxy variables",
  // Tried again as a failure that passes: a gateway in front of the identity service may answer so while it is redeployed.
  foreign_not_found: 'no identity service answers at this address (a 404 to the token request): check cloud.auth.identityEndpoint, the URL that Keystone or IAM serves /v3 under',
};

/**
 * What is said of a login that Huawei's API gateway in front of the identity service refused with a code of
 * its own (APIGW.*, a 4xx that would otherwise read as a refused password): it judged no password (the
 * token request carries none it checks), so it is no refusal of the credentials, and is tried again as a
 * failure that passes, as a firewall's page is. In refusal.ts's words, as `check` and `wait` say it.
 */
function gatewayAnswered(error: ApiError): string {
  const refusal = refusalOf(error) ?? 'login_gateway';
  // The code is in the error beside it.
  return refusal === 'login_gateway'
    ? REFUSAL_FIX.login_gateway
    : `the API gateway in front of the identity service refused the login, not the identity service (${error.apiCode}): ${REFUSAL_FIX[refusal]}`;
}

/** `refused`: the identity service refused the credentials (Keystone's or IAM's own answer). */
function backoff(error: ApiError, attempts: number, refused: boolean): number {
  // A redirect is no refusal of the credentials, but it too answers the same until the settings change.
  const wait = refused || error.kind === 'redirect' ? REFUSED_BACKOFF_MS : TRANSIENT_BACKOFF_MS;
  const delay = doublingDelay(wait, attempts);
  // A Retry-After is honoured up to the longest wait too: a day's would put every login off for as long,
  // and the token in hand would expire meanwhile.
  return Math.max(delay, Math.min(error.retryAfterMs ?? 0, wait.max));
}

/**
 * Whether `ms` have passed since `since` by either clock. The monotonic one, because this host's clock set
 * back would hold renewal back for as long, and the token would be used past its expiry; this host's,
 * because the monotonic one stops while the machine sleeps or a VM is held still, which the token's life
 * does not. A clock set forward costs little: a login early, or, while logins fail, the token in hand
 * given up early.
 */
function passed(since: Start, ms: number): boolean {
  return performance.now() - since.mono >= ms || Date.now() - since.wall >= ms;
}

/**
 * Keystone v3 / IAM password authentication: one token, fetched when first needed, shared by every
 * request, renewed ahead of its expiry and once after the API refuses it. Concurrent callers share one
 * login; failed logins are spaced out by backoff, each logged once.
 */
export function createPasswordAuth(config: PasswordAuthConfig, deps: AuthDeps): AuthStrategy {
  return new PasswordAuth(config, deps);
}

class PasswordAuth implements AuthStrategy {
  readonly #config: PasswordAuthConfig;
  readonly #deps: AuthDeps;
  readonly #log: Logger;
  readonly #url: string;
  readonly #who: string;
  readonly #password: Credential;
  readonly #closed = new AbortController();
  #session: Session | undefined;
  #login: Promise<Session> | undefined;
  #failure: Failure | undefined;
  /** performance.now(), as Failure.retryAt. */
  #forcedAt = -Infinity;
  /**
   * The look at what the method before this one had of the same login (deps.tokens, deps.refused): awaited
   * by every first request, which a pass makes at once, not by the first alone, whose await let the others log in.
   */
  #lookedBefore: Promise<void> | undefined;

  constructor(config: PasswordAuthConfig, deps: AuthDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#url = tokensUrl(config.identityEndpoint, deps.needsCatalog);
    this.#who = describeUser(config);
    this.#log = deps.logger.child({ identity: this.#url.replace(/\?.*$/, ''), user: config.user ?? config.userId });
    this.#password = new Credential('password', config.password, config.passwordFile);
  }

  async headers(_request: unknown, signal: AbortSignal | undefined): Promise<Record<string, string>> {
    return { 'x-auth-token': (await this.#current(signal)).token };
  }

  async catalog(signal: AbortSignal | undefined): Promise<Catalog> {
    return (await this.#current(signal)).catalog;
  }

  async onUnauthorized(sent: Readonly<Record<string, string>>): Promise<boolean> {
    const session = this.#session;
    // Renewed (or being renewed) since that request went out: the retry gets the new token.
    if (session === undefined || session.token !== sent['x-auth-token']) return true;
    if (performance.now() - this.#forcedAt < MIN_FORCED_RENEWAL_MS) return false;
    this.#forcedAt = performance.now();
    this.#session = undefined;
    this.#deps.tokens?.delete(session.login);
    this.#log.info('the API refused the token before its expiry (revoked?); getting a new one');
    return true;
  }

  async close(): Promise<void> {
    this.#closed.abort(new DOMException('the identity client was closed', 'AbortError'));
    await this.#login?.catch(() => undefined);
  }

  async #current(signal: AbortSignal | undefined): Promise<Session> {
    if (this.#session === undefined) await (this.#lookedBefore ??= this.#asBefore());
    const session = this.#session;
    if (session !== undefined && !passed(session.started, session.renewAfterMs)) return session;
    const failure = this.#failure;
    if (failure !== undefined && performance.now() < failure.retryAt) {
      await this.#password.value();
      if (this.#password.version === failure.passwordVersion) {
        // Renewal is failing, but the token in hand still works until it expires.
        if (session !== undefined && !passed(session.started, session.expiresAfterMs)) return session;
        throw failure.error;
      }
    }
    if (this.#login === undefined) {
      this.#login = this.#logIn().finally(() => {
        this.#login = undefined;
      });
      // Its failure is logged and kept by #logIn; a renewal may have no caller waiting for it.
      this.#login.catch(() => undefined);
    }
    // A renewal: the token in hand serves meanwhile, so that an identity service that is slow to answer, or
    // does not until the timeout, holds no request up (a pass that long would be blamed on the schedule).
    if (session !== undefined && !passed(session.started, session.expiresAfterMs)) return session;
    // A shared login must not die with one caller: only this caller's wait ends.
    return untilAborted(this.#login, signal);
  }

  /**
   * What the method before this one (a reload that rebuilt the parts) had of the same login. Its token, in
   * hand until it expires: a method made anew while the identity service is down would otherwise fail every
   * poll, where the one before used it. The refusal it met with the same password, whose backoff goes on:
   * its first login would otherwise be one more failed in a row, and a few reloads would have the identity
   * service lock the user (IAM: 5 within 15 minutes).
   */
  async #asBefore(): Promise<void> {
    if (this.#deps.refused === undefined && this.#deps.tokens === undefined) return;
    const login = this.#loginDigest(await this.#password.value());
    const token = this.#deps.tokens?.get(login);
    if (token !== undefined && !passed(token.started, token.expiresAfterMs)) this.#session ??= { ...token, login };
    const refused = this.#deps.refused?.get(this.#passwordDigest());
    if (refused !== undefined) this.#failure ??= { ...refused, passwordVersion: this.#password.version };
  }

  #passwordDigest(): string {
    return credentialsDigest([this.#password.current]);
  }

  /** The login with `password`: where it goes and all it asks, as a digest. */
  #loginDigest(password: string): string {
    return credentialsDigest([this.#url, tokenRequestBody(this.#config, password)]);
  }

  async #logIn(): Promise<Session> {
    const password = await this.#password.value();
    const passwordVersion = this.#password.version;
    const previous = this.#failure;
    const attempts = previous !== undefined && previous.passwordVersion === passwordVersion ? previous.attempts + 1 : 1;
    const context = `cannot get a token for ${this.#who}`;
    const started: Start = { mono: performance.now(), wall: Date.now() };
    try {
      const answer = await exchange(
        {
          method: 'POST',
          url: this.#url,
          headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'ecs-action-watch' },
          body: tokenRequestBody(this.#config, password),
          secrets: [password, ...proxyCredentials()],
        },
        { dispatcher: this.#deps.dispatcher, timeout: this.#deps.timeout, closed: this.#closed.signal, context, limiter: this.#deps.limiter, noWaiting: this.#deps.noWaiting },
      );
      if (!isSuccess(answer.status)) throw httpError(answer, context);
      // The body first: what came in its place (a captive portal's page, garbage) says more than the header it lacks.
      const doc = decode(answer, TokenDocumentSchema, context);
      const token = answer.headers['x-subject-token'];
      if (typeof token !== 'string' || token === '') throw invalidResponse(answer, 'no X-Subject-Token header', context);
      const lifetime = tokenLifetime(doc, answer.headers['date'], started.wall);
      if (lifetime === undefined) {
        throw invalidResponse(answer, `unreadable token times: issued_at ${doc.token.issued_at}, expires_at ${doc.token.expires_at}`, context);
      }
      const session: Session = {
        token,
        started,
        renewAfterMs: lifetime * (1 - RENEW_WHEN_LEFT),
        expiresAfterMs: lifetime,
        catalog: doc.token.catalog ?? [],
        login: this.#loginDigest(password),
      };
      this.#session = session;
      // The last login's token alone: one of a password since rotated is of no more use.
      this.#deps.tokens?.clear();
      this.#deps.tokens?.set(session.login, session);
      this.#failure = undefined;
      this.#deps.refused?.delete(this.#passwordDigest());
      this.#log.info(
        { project: doc.token.project?.id, expiresAt: doc.token.expires_at, renewInS: Math.round(session.renewAfterMs / 1000) },
        'got an identity token',
      );
      return session;
    } catch (caught) {
      if (!(caught instanceof ApiError)) throw caught;
      // A login refused as malformed (400), or a user, project or domain the identity service does not know
      // (its own 404), is mended in cloud.auth, not in the ids or the microversion of the compute request that
      // waits on it. A 404 from something in front of it keeps its kind: a blip, or a path to check.
      const err = (MENDED_IN_AUTH.has(caught.kind) ? caught.as('unauthorized') : caught).ofLogin();
      // A refusal by the gateway in front (its address list, a request it cannot take) is not the password's:
      // held back as one, the login would wait up to an hour after the gateway was mended, and be said to wait
      // for a new password.
      const byGateway = REFUSED.has(err.kind) && isGatewayCode(err.apiCode);
      const refused = REFUSED.has(err.kind) && !byGateway;
      const delay = backoff(err, attempts, refused);
      this.#failure = { error: err, retryAt: performance.now() + delay, attempts, passwordVersion };
      if (refused && passwordVersion === this.#password.version) this.#deps.refused?.set(this.#passwordDigest(), { error: err, attempts, retryAt: this.#failure.retryAt });
      const lasting = refused ? 'the identity service refused the credentials' : byGateway ? gatewayAnswered(err) : NEEDS_SOMEONE[err.kind];
      this.#log[lasting === undefined ? 'warn' : 'error'](
        { error: err.message, attempt: attempts, retryInMs: delay },
        `${lasting ?? 'the identity service failed'}; next attempt in ${formatDuration(delay)}${refused ? ' or when the password changes' : ''}`,
      );
      throw err;
    }
  }
}
