// Chat webhooks carry their credential in the path (Slack /services/T…/B…/<token>, Discord
// /api/webhooks/<id>/<token>, Teams /webhookb2/<ids>/IncomingWebhook/<id>/<token>), so a URL shown to people
// keeps only what identifies the receiver: scheme, host, port and the leading path segments that are
// plain lower-case words; the rest of the path becomes `…`. Userinfo and query (often a token too) are
// never shown.
import { percentDecode } from './percentDecode.ts';

/** A segment shown as is: a short lower-case word such as `services`, `api`, `hooks` or `webhookb2`. */
const PLAIN_SEGMENT = /^[a-z][a-z_-]{0,15}\d?$/;

/** `https://hooks.slack.com/services/…` for `https://hooks.slack.com/services/T0/B0/secret`. */
export function shortUrl(url: URL): string {
  const { shown, hidden } = pathSegments(url);
  return `${url.protocol}//${url.host}/${[...shown, ...(hidden.length > 0 ? ['…'] : [])].join('/')}${url.search ? '?…' : ''}`;
}

/**
 * Each part of `url` that `shortUrl` hides, as written and percent-decoded, for redacting what a receiver
 * answers: it may name the one part it disliked (`access_token … is invalid`, `unknown webhook token …`),
 * decoded as it read it, or the user name it took from Basic authentication.
 */
export function hiddenPartsOf(url: URL): string[] {
  // Values only, a part without `=` being one (`?TOKEN`): a name is no secret, and hiding `access_token`
  // would hide what the answer says is wrong.
  const values = url.search.slice(1).split('&').map((part) => part.slice(part.indexOf('=') + 1));
  const parts = [url.username, url.password, ...pathSegments(url).hidden, ...values];
  // A query is also read as a form, `+` for a space, as URLSearchParams reads it.
  return [...new Set([...parts, ...parts.map(percentDecode), ...values.map((v) => percentDecode(v.replaceAll('+', ' ')))])];
}

/** The path's segments, as written, up to the first that may be a credential, and from it on. */
function pathSegments(url: URL): { shown: string[]; hidden: string[] } {
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const plain = segments.findIndex((s) => !PLAIN_SEGMENT.test(s));
  return plain === -1 ? { shown: segments, hidden: [] } : { shown: segments.slice(0, plain), hidden: segments.slice(plain) };
}
