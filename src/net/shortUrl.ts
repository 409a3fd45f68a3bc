// Chat webhooks carry their credential in the path (Slack /services/T…/B…/<token>, Discord
// /api/webhooks/<id>/<token>, Teams /webhookb2/<ids>/IncomingWebhook/<id>/<token>), so a URL shown to people
// keeps only what identifies the receiver: scheme, host, port and the leading path segments that are
// plain lower-case words; the rest of the path becomes `…`. Userinfo and query (often a token too) are
// never shown.

/** A segment shown as is: a short lower-case word such as `services`, `api`, `hooks` or `webhookb2`. */
const PLAIN_SEGMENT = /^[a-z][a-z_-]{0,15}\d?$/;

/** `https://hooks.slack.com/services/…` for `https://hooks.slack.com/services/T0/B0/secret`. */
export function shortUrl(url: URL): string {
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const plain = segments.findIndex((s) => !PLAIN_SEGMENT.test(s));
  const shown = plain === -1 ? segments : [...segments.slice(0, plain), '…'];
  return `${url.protocol}//${url.host}/${shown.join('/')}${url.search ? '?…' : ''}`;
}
