// One HTTP exchange with a cloud API (compute or identity): the request, its body read to the end, and
// every failure turned into an ApiError that an operator can read. What to ask and what to make of the
// answer is the caller's.

import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { RequestTimeoutError, requestText } from '../net/requestText.ts';
import type { z } from 'zod';
import { ApiError, THROTTLED_CODE, kindForStatus, type ApiErrorKind } from './ApiError.ts';
import { apiMessageFromText, type ApiMessage } from './errors/apiMessage.ts';
import { htmlPage } from './errors/htmlPage.ts';
import { describeNetworkFailure, errorCode, nothingSent, settingFailure } from '../net/failure.ts';
import { failedAtProxy, proxyRefusal, tlsProxyVariableFor } from '../net/proxy.ts';
import { oneLine } from '../net/oneLine.ts';
import { parseRetryAfter } from '../net/retryAfter.ts';
import { credentialsIn, redact } from '../net/redact.ts';
import type { RateFeedback, RateLimiter } from './rateLimiter.ts';

// An instance action with every traceback (or a large service catalog) stays far below this; more is a
// proxy gone wrong.
const MAX_BODY_BYTES = 4 * 1024 * 1024;
// Of an error body only the start is kept, for its message; the rest is read and dropped.
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface Exchange {
  method: string;
  /** Must hold no credentials: it appears in errors. */
  url: string;
  headers: Record<string, string>;
  body?: string | undefined;
  /** What the request carries that its answer must not repeat (its credentials, its proxy's): hidden in the answer's text. */
  secrets?: readonly string[] | undefined;
  /**
   * Credentials made when the request goes, once the rate limiter has let it (a signature with its time):
   * added to `headers`, and hidden in the answer as `secrets` are.
   */
  sign?: (() => Promise<Record<string, string>>) | undefined;
}

export interface Answer {
  method: string;
  url: string;
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  truncated: boolean;
  /**
   * How far this host's clock moved beyond the time measured passing (the monotonic clock) while the request
   * was out: the machine slept meanwhile (the monotonic clock stops), or its clock was set.
   */
  clockMovedMs: number;
}

export interface ExchangeOptions {
  dispatcher: Dispatcher;
  /** For the whole exchange, in milliseconds. */
  timeout: number;
  /** The caller's cancellation: rejects with its reason, as nothing failed. */
  signal?: AbortSignal | undefined;
  /** The owner's close(): rejects with its reason too. */
  closed: AbortSignal;
  /** What the exchange is for, put before the message of a failure below HTTP. */
  context?: string | undefined;
  /** The cloud's request rate, shared by every exchange with it: waited for before sending, told of 429s. */
  limiter?: RateLimiter | undefined;
  /** Once aborted, a request that would wait for `limiter` rejects instead (the owner stopping). */
  noWaiting?: AbortSignal | undefined;
}

/** Sends one request and reads its answer; throws only below HTTP (an ApiError) or on cancellation. */
export async function exchange(req: Exchange, options: ExchangeOptions): Promise<Answer> {
  const { method, url } = req;
  const signals = [options.closed, options.signal];
  const { limiter } = options;
  const release = limiter === undefined ? undefined : (limiter.tryAcquire() ?? (await limiter.acquire([...signals, options.noWaiting])));
  let feedback: RateFeedback = NOT_THROTTLED;
  let signing = req.sign !== undefined;
  try {
    const signed = req.sign === undefined ? undefined : await req.sign();
    signing = false;
    const sent = signed === undefined ? req : { ...req, headers: { ...req.headers, ...signed } };
    const sentOn = Date.now() - performance.now();
    const res = await requestText(
      options.dispatcher,
      sent,
      { timeoutMs: options.timeout, keep: MAX_BODY_BYTES, keepError: MAX_ERROR_BODY_BYTES, drain: MAX_BODY_BYTES, answeredOnBodyError: isRefusal },
      signals,
    );
    if (isThrottled(res.status, res.text)) feedback = { throttled: true, retryAfterMs: parseRetryAfter(res.headers) };
    const secrets = signed === undefined ? req.secrets : [...(req.secrets ?? []), ...credentialsIn(signed)];
    // The reason phrase is the server's words as much as the body is, and an error message shows it.
    const hidden = (text: string) => (secrets === undefined ? text : redact(text, secrets));
    return {
      method,
      url,
      status: res.status,
      statusText: hidden(res.statusText) || (STATUS_CODES[res.status] ?? ''),
      headers: res.headers,
      text: hidden(res.text),
      truncated: res.truncated,
      clockMovedMs: Date.now() - performance.now() - sentOn,
    };
  } catch (err) {
    if (signing || neverReachedTheCloud(err, url)) feedback = UNSENT;
    // The auth method's own failure (a key file it cannot read) is its to describe, not the network's.
    if (signing) throw err;
    if (options.signal?.aborted) throw options.signal.reason;
    if (options.closed.aborted) throw options.closed.reason;
    throw belowHttpError(err, { method, url, timeoutMs: options.timeout, context: options.context });
  } finally {
    release?.(feedback);
  }
}

/**
 * A failure before the request could reach the cloud: no connection made, none that took it within the
 * timeout, or a proxy that would not pass it on (its refusal of the tunnel, a 502 when its own way to the
 * cloud failed).
 */
function neverReachedTheCloud(err: unknown, url: string): boolean {
  return nothingSent(errorCode(err)) || (err instanceof RequestTimeoutError && !err.sent) || proxyRefusal(err, url) !== undefined;
}

const NOT_THROTTLED: RateFeedback = { throttled: false };
const UNSENT: RateFeedback = { throttled: false, unsent: true };

/** A 429, or Huawei's gateway saying its throttling threshold was reached (APIGW.0308) with whatever status. */
function isThrottled(status: number, text: string): boolean {
  if (status === 429) return true;
  return !isSuccess(status) && text.includes(THROTTLED_CODE) && apiMessageFromText(text)?.code === THROTTLED_CODE;
}

/**
 * A 401 or 403 is the refusal it is once its status has come, whatever becomes of its body, which only
 * words it: taken for a failure of the network, it was retried (poll.retries, a login 2 s later), and each
 * retry was one more refusal in a row of the same credentials, which the identity service (IAM: 5 failed
 * logins in 15 min) or the API gateway (more than five refused signatures) locks.
 */
function isRefusal(status: number): boolean {
  return status === 401 || status === 403;
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

// Codes undici uses for mistakes in the request itself (a header value with a newline): not the network's
// fault, and retrying cannot help, so they surface as they are.
const CALLER_MISTAKES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED']);
const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function belowHttpError(
  err: unknown,
  failure: { method: string; url: string; timeoutMs: number; context: string | undefined },
): ApiError {
  const { method, url, context } = failure;
  // Before the caller's mistakes: undici reports a forwarding proxy's 407 as an invalid argument.
  const refusal = proxyRefusal(err, url);
  if (refusal !== undefined) return new ApiError({ kind: refusal.lasting ? 'proxy' : 'network', method, url, detail: refusal.message, cause: err, context });
  const code = errorCode(err);
  if (code !== undefined && CALLER_MISTAKES.has(code)) throw err;
  if (err instanceof RequestTimeoutError || (code !== undefined && UNDICI_TIMEOUTS.has(code))) {
    return new ApiError({ kind: 'timeout', method, url, detail: `no complete answer within ${failure.timeoutMs} ms`, cause: err, context });
  }
  const setting = settingFailure(code);
  // Through an https:// proxy, which of the two has no TLS cannot be told: not laid at the endpoint's door,
  // and waited through as any network error.
  const tlsProxy = setting === 'not_tls' ? tlsProxyVariableFor(url) : undefined;
  const kind = tlsProxy === undefined ? (setting ?? 'network') : 'network';
  // OpenSSL's own text for a port without TLS is its internals' (`...:SSL routines:tls_validate_record_header:wrong version number:...`).
  let detail =
    tlsProxy !== undefined ? `no TLS from the proxy in ${tlsProxy} or from ${new URL(url).host} (${code}): a proxy written https:// that speaks plain HTTP is the usual cause; write it http://`
    : kind === 'not_tls' ? describeNetworkFailure(code, new URL(url).host)!
    : err instanceof Error ? err.message : String(err);
  if (code !== undefined && !detail.includes(code)) detail += ` (${code})`;
  const proxy = failedAtProxy(err, url);
  if (proxy !== undefined) detail += ` (at the proxy in ${proxy.variable}, not at the cloud)`;
  return new ApiError({ kind, method, url, detail, cause: err, context });
}

// Refusals that, as an HTML page, come from something in front of the API: the credentials, the policy
// or the ids are not what to check then. (`bad_request` is every 4xx but 404, 408 and 429; a 404 page is a
// wrong path, `foreign_not_found` as it is.)
const REFUSALS = new Set<ApiErrorKind>(['unauthorized', 'forbidden', 'bad_request']);

/** The ApiError for a non-2xx answer, in the API's own words. `context` says what we were doing. */
export function httpError(answer: Answer, context?: string): ApiError {
  const api = apiMessageFromText(answer.text) ?? redirectMessage(answer);
  const kind = kindForStatus(answer.status, api?.code);
  const page = api === undefined && REFUSALS.has(kind) ? htmlPage(answer) : undefined;
  return new ApiError({
    kind: page === undefined ? kind : 'gateway',
    method: answer.method,
    url: answer.url,
    status: answer.status,
    statusText: answer.statusText,
    apiCode: api?.code,
    apiMessage: page === undefined ? api?.message : pageMessage(page, 'refused the request'),
    retryAfterMs: parseRetryAfter(answer.headers),
    context,
  });
}

/**
 * A `gateway` refusal for an HTML page that came as a success where a document was asked for (a captive
 * portal's login page, a gateway's catch-all page for a path it does not pass on); undefined for any other
 * answer. The body must be markup, not only labelled as HTML: a proxy may label the API's JSON `text/html`,
 * and a refusal read from it would have the document go unread (an empty body is a failed read, as it was).
 */
function pageInPlace(answer: Answer, context: string | undefined): ApiError | undefined {
  const page = MARKUP.test(answer.text) ? htmlPage(answer) : undefined;
  if (page === undefined) return undefined;
  const { method, url, status, statusText } = answer;
  return new ApiError({ kind: 'gateway', method, url, status, statusText, apiMessage: pageMessage(page, 'answered in its place'), context });
}

/** A body that begins as markup does, which no JSON document does. */
const MARKUP = /^\s*</;

function pageMessage(page: { title: string | undefined }, did: string): string {
  return `an HTML page${page.title === undefined ? '' : ` ("${page.title}")`}, not the API's answer: something in front of the API (a firewall, gateway or proxy) ${did}`;
}

/**
 * A redirect, which the client does not follow (a credential must not go where the configuration did not
 * say): where it points, which is most often the endpoint meant (https:// for http://, a moved path).
 */
function redirectMessage(answer: Answer): ApiMessage | undefined {
  const location = answer.headers['location'];
  if (answer.status < 300 || answer.status >= 400 || typeof location !== 'string') return undefined;
  const to = URL.parse(location, answer.url);
  return to === null ? undefined : { message: `redirects to ${to.origin}${to.pathname} (not followed; if that is the endpoint meant, put it in the configuration)` };
}

export function invalidResponse(answer: Answer, detail: string, context?: string): ApiError {
  return new ApiError({
    kind: 'invalid_response',
    method: answer.method,
    url: answer.url,
    status: answer.status,
    detail,
    context,
  });
}

/**
 * The answer's JSON checked against `schema`; an ApiError of kind invalid_response when it does not fit, or
 * of kind `gateway` when it is an HTML page (pageInPlace): a captive portal answers its login page with 200
 * to every request, which no retry gets past, as its redirect to that page is not either.
 */
export function decode<T>(answer: Answer, schema: z.ZodType<T>, context?: string): T {
  if (answer.truncated) throw invalidResponse(answer, `body larger than ${MAX_BODY_BYTES} bytes`, context);
  let json: unknown;
  try {
    // A byte order mark (some gateways write UTF-8 with one) is no part of the JSON, and JSON.parse refuses it.
    json = JSON.parse(answer.text.charCodeAt(0) === 0xfeff ? answer.text.slice(1) : answer.text);
  } catch {
    throw pageInPlace(answer, context) ?? invalidResponse(answer, `not JSON: ${unaskedEncoding(answer) ?? excerpt(answer)}`, context);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw invalidResponse(answer, `unexpected document (${where}${issue?.message ?? 'invalid'}): ${excerpt(answer)}`, context);
  }
  return parsed.data;
}

/**
 * An encoding the answer came in: no request of ours asks for one, so it is something on the way (a proxy
 * that compresses), and its bytes read as text would only be garbage in the message.
 */
function unaskedEncoding(answer: Answer): string | undefined {
  const encoding = answer.headers['content-encoding'];
  if (typeof encoding !== 'string' || encoding === '' || encoding.toLowerCase() === 'identity') return undefined;
  return `encoded as ${oneLine(encoding, 40)}, which the request did not ask for: a proxy or gateway on the way compresses answers; have it pass them on as they are`;
}

/** The start of an answer's body on one line, for an error message. */
function excerpt(answer: Answer): string {
  return JSON.stringify(oneLine(answer.text, 120));
}
