import { STATUS_CODES } from 'node:http';
import { createHttpDispatcher } from '../../net/dispatcher.ts';
import { RequestTimeoutError, requestText } from '../../net/requestText.ts';
import { oneLine } from '../../net/oneLine.ts';
import { hiddenPartsOf, shortUrl } from '../../net/shortUrl.ts';
import { basicCredentials } from '../../net/basicCredentials.ts';
import { parseRetryAfter } from '../../net/retryAfter.ts';
import { credentialsIn, isCredentialName, redact } from '../../net/redact.ts';
import type { WebhookNotifierConfig } from './config.ts';
import { DeliveryError, type DecidingReason, type FailureReason } from '../DeliveryError.ts';
import { describeNetworkFailure, errorCode, networkReason } from '../../net/failure.ts';
import { failedAtProxy, proxyCredentials, proxyRefusal } from '../../net/proxy.ts';
import { isBatch, renderWebhookBody } from '../render.ts';
import { jsonProblem, renderForDelivery } from '../template/template.ts';
import { viewOf } from '../template/view.ts';
import { SENDS_PER_NOTIFIER, type Notifier, type NotifierDeps } from '../types.ts';
import type { OutgoingNotification } from '../../model.ts';
import { decodeSecret, keyOf, sign } from './signature.ts';
import { clockApart } from '../../watch/format.ts';
import { byteSize } from '../../text/byteSize.ts';

const USER_AGENT = 'ecs-action-watch';
/** Enough of an error answer to say what the receiver disliked, without quoting a whole HTML page. */
const EXCERPT_CHARS = 200;
const EXCERPT_BYTES = 1024;
// Past this much of an answer the connection is dropped rather than read to its end.
const DRAIN_BYTES = 64 * 1024;
/** How far from their own clock the Standard Webhooks libraries let a `webhook-timestamp` be, in seconds. */
const TIMESTAMP_TOLERANCE_S = 5 * 60;

export function createWebhookNotifier(name: string, config: WebhookNotifierConfig, deps: NotifierDeps): Notifier {
  const target = new URL(config.url);
  const shownUrl = shortUrl(target);
  const endpoint = `${target.hostname}:${target.port || (target.protocol === 'https:' ? '443' : '80')}`;
  const prefix = `webhook ${name}`;
  // Decoded once so that a malformed secret stops the daemon at start rather than failing every delivery.
  const key = config.secret === undefined ? undefined : decodeSecret(config.secret);
  const basic = basicCredentials(target);
  const staticHeaders = buildStaticHeaders(basic, config.headers);
  // A receiver that echoes the request in its answer must not get our credentials into the log, nor a proxy
  // answering in its place the proxy's (read from the environment as the dispatcher reads it). The URL's
  // too, each part that shortUrl hides, and whole where it holds one: a chat webhook's token is part of its
  // path, and a receiver may name just the part it refused. A path of plain words, shown with the URL in
  // every message, is shown in the answer too (`no webhook receiver at /hooks/nope`).
  const hiddenParts = hiddenPartsOf(target);
  const holdingHidden = (text: string) => hiddenParts.some((part) => part !== '' && text.includes(part));
  // The signing key with its whsec_ prefix and without: a receiver that shares it may quote it either way.
  // And what variables named as secrets gave: a header's name does not always say it holds a key (Honeycomb's X-Honeycomb-Team).
  const secrets = [config.secret, config.secret === undefined ? undefined : keyOf(config.secret), basic, ...[target.href, target.pathname, target.search].filter(holdingHidden)]
    .concat(credentialsIn(config.headers), hiddenParts, proxyCredentials(), deps.secrets ?? [])
    .filter((s): s is string => s !== undefined);
  // undici ignores userinfo anyway; stripping it keeps the credentials out of anything undici reports,
  // and the URL it does report is hidden whole where it holds a hidden part.
  target.username = '';
  target.password = '';
  // A fragment is the browser's, never sent (RFC 9110 4.2.1); undici would send it, and a receiver that
  // routes by path answer 404 for a URL that looks right in every message.
  target.hash = '';
  if (holdingHidden(target.href)) secrets.push(target.href);

  // As many connections as the outbox has sends in flight to it: one more each time a send starts as another's
  // answer ends, before undici has handed that connection back, otherwise.
  const agent = createHttpDispatcher({ timeout: config.timeout, ca: deps.ca, connections: SENDS_PER_NOTIFIER });
  const log = deps.logger.child({ notifier: name, notifierType: 'webhook' });
  let closed: Promise<void> | undefined;

  return {
    name,
    type: 'webhook',
    accepts: (event) => config.on.includes(event),

    async send(notification, attempt) {
      const { body, credentials } = config.template ? templatedBody(config.template.body, notification) : { body: renderWebhookBody(notification), credentials: [] };
      const id = `msg_${attempt.deliveryId}`;
      // What a receiver may quote back beside the notifier's own secrets: what the template wrote under a
      // credential's name, and each attempt's signature (one it cannot verify, whole or its MAC alone).
      const carried = [...credentials];

      /** One POST stamped `timestamp` (seconds), its signature made for it; a failure below HTTP is retryable. */
      const post = async (timestamp: number) => {
        const headers: Record<string, string> = {
          ...staticHeaders,
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
        };
        if (key) {
          const signature = sign(key, id, timestamp, body);
          headers['webhook-signature'] = signature;
          carried.push(signature, signature.slice(signature.indexOf(',') + 1));
        }
        try {
          // The whole request, answer included, is bounded by the timeout.
          return await requestText(
            agent,
            { method: 'POST', url: target.href, headers, body },
            { timeoutMs: config.timeout, keep: EXCERPT_BYTES, keepError: EXCERPT_BYTES, drain: DRAIN_BYTES, answeredOnBodyError: true },
            [attempt.signal],
          );
        } catch (err) {
          const { what, ...reason } = describeRequestFailure(err, attempt.signal);
          throw new DeliveryError(`${prefix}: POST ${shownUrl} ${what}`, reason);
        }
      };

      const started = performance.now();
      // The current time, not the first attempt's: receivers reject timestamps outside a few minutes
      // to stop replays, and a retry hours later is a fresh attempt.
      const now = Math.floor(Date.now() / 1000);
      let timestamp = now;
      let response = await post(timestamp);
      // A refusal from a receiver whose clock is more than 5 min from this host's may be its check of the
      // timestamp: sent once more at once, stamped by its clock (its answer's Date), as a host whose time
      // was right would have stamped it. The same webhook-id, so that a receiver that took the first drops it.
      const aheadS = refusingClockAheadS(response.status, response.headers['date'], timestamp);
      if (aheadS !== undefined) {
        log.warn(
          { ...attempt.about, deliveryId: attempt.deliveryId, status: response.status, receiverAheadS: aheadS, apart: clockApart(aheadS * 1000) },
          "webhook refused by a receiver whose clock is off from this host's: sent again at once, stamped by its clock",
        );
        timestamp += aheadS;
        response = await post(timestamp);
      }

      const { status: statusCode, headers: answer } = response;
      // The reason phrase is the receiver's words as much as the body is.
      const statusText = redact(response.statusText, [...secrets, ...carried]) || STATUS_CODES[statusCode] || '';
      // Redacted before cutting, so that a cut cannot leave half a secret unrecognised. A body that
      // breaks off only shortens it: the status says what matters.
      const said = oneLine(redact(response.text, [...secrets, ...carried]), EXCERPT_CHARS);
      if (statusCode >= 200 && statusCode < 300) {
        // Delivered once the status is in. The answer's start is kept for people (notify-test): chat
        // robots answer 200 with their own error code in the body.
        log.debug({ ...attempt.about, deliveryId: attempt.deliveryId, attempt: attempt.attempt, status: statusCode, answer: said, ms: Math.round(performance.now() - started) }, 'webhook delivered');
        return { answer: `${statusCode}${statusText ? ` ${statusText}` : ''}${said ? `: ${said}` : ''}`, refused: [] };
      }

      const retryAfterMs = isRetryableStatus(statusCode) ? parseRetryAfter(answer) : undefined;
      // The receiver's clock against this host's, not against the stamp sent again by it.
      const hint = statusCode < 400 ? redirectHint(answer['location'])
        : statusCode === 413 ? sizeHint(Buffer.byteLength(body), notification)
        : clockHint(refusingClockAheadS(statusCode, answer['date'], now));
      throw new DeliveryError(
        `${prefix}: POST ${shownUrl} answered ${statusCode}${statusText ? ` ${statusText}` : ''}${hint}${said ? `: ${said}` : ''}`,
        { reason: answerReason(statusCode, retryAfterMs), status: statusCode, retryAfterMs },
      );
    },

    close() {
      closed ??= agent.close();
      return closed;
    },
  };

  /**
   * The body the template renders, and the values in it under a credential's name (PagerDuty's routing_key,
   * Pushover's token: a receiver that takes its key in the body). The template checked at load renders JSON
   * for every kind of notification; should one value still break it, nothing is sent.
   */
  function templatedBody(template: string, notification: OutgoingNotification): { body: string; credentials: string[] } {
    const body = renderForDelivery(template, viewOf(notification), 'json', prefix, `notifiers.${name}.template`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (err) {
      throw new DeliveryError(`${prefix}: its template rendered invalid JSON for this notification (${jsonProblem(body, err)}); fix notifiers.${name}.template`, { reason: 'template' });
    }
    return { body, credentials: credentialsInJson(json) };
  }

  /**
   * Where a redirect points, which is most often the URL meant (https:// for http://, a moved path): it is
   * not followed, as the body and its signature are for the URL the file names. Shown as any webhook URL
   * is, without the path that may hold a token.
   */
  function redirectHint(location: string | string[] | undefined): string {
    const to = typeof location === 'string' ? URL.parse(location, target.href) : null;
    if (to === null) return ' (redirects are not followed)';
    return ` (a redirect to ${shortUrl(to)}, not followed: if that is the receiver meant, put its URL in notifiers.${name}.url)`;
  }

  /** What came of a request that got no answer, and why it failed: each is retried, as a receiver briefly away looks so. */
  function describeRequestFailure(err: unknown, cancel: AbortSignal): { what: string } & FailureReason {
    const code = errorCode(err);
    if (err instanceof RequestTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return { what: `timed out: no answer from ${endpoint} within ${config.timeout} ms`, reason: 'timeout' };
    }
    if (cancel.aborted) return { what: 'aborted before an answer came', reason: 'other', retryable: true };
    // undici drops the connection at an interim 100 Continue it did not ask for (`bad response`, of which that
    // is the one cause while a request waits): the receiver's doing, which "closed unexpectedly" put on the network.
    if (code === 'UND_ERR_SOCKET' && err instanceof Error && err.message === 'bad response') {
      const what = `failed: ${endpoint} answered 100 Continue, which is sent to a request that asks for it (Expect: 100-continue) and this one did not: ` +
        'this HTTP client (undici) cannot read past one, and drops the connection; have the receiver, or a proxy in front of it, answer without it';
      return { what, reason: 'connection' };
    }
    const refusal = proxyRefusal(err, target.href);
    if (refusal !== undefined) return { what: `failed: ${refusal.message}`, reason: 'connection' };
    const proxy = failedAtProxy(err, target.href);
    const network = describeNetworkFailure(code, proxy === undefined ? endpoint : `the proxy in ${proxy.variable} (${proxy.address})`);
    if (network) return { what: `failed: ${network}`, reason: networkReason(code) };
    const message = err instanceof Error ? err.message : String(err);
    return { what: `failed: ${redact(message, secrets)}${code ? ` (${code})` : ''}`, reason: 'other', retryable: true };
  }
}

/** The strings of `json` under keys whose names say they are credentials, at any depth. */
function credentialsInJson(json: unknown, found: string[] = []): string[] {
  if (typeof json !== 'object' || json === null) return found;
  for (const [key, value] of Object.entries(json)) {
    if (typeof value === 'string' && isCredentialName(key)) found.push(value);
    else credentialsInJson(value, found);
  }
  return found;
}

function buildStaticHeaders(basic: string | undefined, configured: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  if (basic !== undefined) headers.authorization = `Basic ${basic}`;
  // Lower-cased so that `Authorization` from the file replaces the userinfo one instead of doubling it.
  for (const [header, value] of Object.entries(configured)) headers[header.toLowerCase()] = value;
  return headers;
}

/** 408, 429 and 5xx say "not now"; any other answer would be given again to the same request. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Why a delivery the receiver answered with `status` (not 2xx) failed, which decides its retry (RETRIED): an
 * answer that asks for a pause is the receiver throttling, whatever its status.
 */
function answerReason(status: number, retryAfterMs: number | undefined): DecidingReason {
  if (!isRetryableStatus(status)) return 'refused';
  if (status === 429 || (retryAfterMs ?? 0) > 0) return 'throttled';
  return status === 408 ? 'timeout' : 'server';
}

/**
 * How far the clock of a receiver that refused the webhook is ahead of `timestampSeconds` (seconds;
 * negative: behind), by its answer's `Date` (whole seconds, as the timestamp), when that is more than 5
 * min: a receiver that checks `webhook-timestamp` refuses every attempt of a host whose clock is that far
 * off, and its answer rarely says why. Undefined for any other answer.
 */
function refusingClockAheadS(status: number, date: string | string[] | undefined, timestampSeconds: number): number | undefined {
  if (status < 400 || isRetryableStatus(status)) return undefined;
  const aheadS = Math.round((typeof date === 'string' ? Date.parse(date) : NaN) / 1000) - timestampSeconds;
  return Math.abs(aheadS) > TIMESTAMP_TOLERANCE_S ? aheadS : undefined;
}

/**
 * Said of a 413: the same body is refused again however often it is sent, and the answer rarely says what
 * the limit is (nginx's is 1 MiB), so the size sent is what the operator compares it with. A digest lists
 * every watch of its batch (the contract's `watches`): smaller batches make smaller digests.
 */
function sizeHint(bytes: number, notification: OutgoingNotification): string {
  const split = isBatch(notification) ? `, or split batch ${notification.batch} into batches of fewer watches, each its own batch: label` : '';
  return ` (a body of ${byteSize(bytes)}, more than the receiver takes: raise its limit on a request's size (nginx: client_max_body_size)${split})`;
}

/** Said of a refusal that came again with the receiver's own time, its clock still that far from this host's. */
function clockHint(aheadS: number | undefined): string {
  if (aheadS === undefined) return '';
  return ` (the receiver's clock, by the Date of its answer, is ${clockApart(aheadS * 1000)} this host's, ` +
    "and a receiver that checks webhook-timestamp refuses one more than 5 min off: set this host's time right (NTP), or the receiver's)";
}
