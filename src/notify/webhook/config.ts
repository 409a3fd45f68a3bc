// The `type: webhook` entry of `notifiers:` in the watch file: what each key accepts and its default.
import * as z from 'zod';
import { duration, httpHeaderValue, httpUrl, optionalText, orEmpty, outcomes, strict } from '../../config/fields.ts';
import { dictionarySchema } from '../../data/dictionary.ts';
import { HEADER_AND_VALUE, isCredentialName, keyShown } from '../../net/redact.ts';
import { hasLogin } from '../../net/basicCredentials.ts';
import { hostInClear, sentInClear } from '../../net/loopback.ts';
import type { NotifierWarning } from '../types.ts';
import { webhookTemplate } from '../template/config.ts';

// The Standard Webhooks form of a signing key; the notifier signs with its base64 part, of which one
// character alone holds no byte (whsec_A would sign with an empty key, which the notifier refuses).
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]{2,}={0,2}$/;
// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Headers that would fail every delivery: the HTTP client refuses them, or (Content-Length) writes the body's own.
const CLIENT_HEADERS = new Set(['content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

export const WebhookConfigSchema = strict({
  type: z.literal('webhook'),
  url: httpUrl('https://hooks.example.com/ecs'),
  secret: optionalText(
    z.string().regex(WEBHOOK_SECRET, {
      message: 'expected a Standard Webhooks signing key: whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32)',
    }),
  ),
  headers: orEmpty(
    dictionarySchema(
      z
        .string()
        .regex(HEADER_NAME, { error: (iss) => notHeaderName(String(iss.input)) })
        .refine((name) => !CLIENT_HEADERS.has(name.toLowerCase()), { error: (iss) => `'${String(iss.input)}' cannot be set: the HTTP client refuses it, or writes its own; remove it` }),
      httpHeaderValue(),
    ).prefault({}),
  ),
  timeout: duration().prefault('10s'),
  on: outcomes(),
  /** Absent: the contract's JSON body. */
  template: webhookTemplate(),
});

/** What is wrong with `name` as a header's name; a header written with its value (which may be a credential) is not quoted. */
function notHeaderName(name: string): string {
  const header = HEADER_AND_VALUE.exec(name)?.[1];
  // A credential's name and its value with no colon between them (`Authorization Bearer T`) are shown without the value.
  if (header === undefined) return `'${keyShown(name)}' is not an HTTP header name`;
  return `'${header}' and its value are written as one key: write the header as a key and its value, ${header}: followed by the value`;
}

export type WebhookNotifierConfig = z.output<typeof WebhookConfigSchema>;

/** Keys of this config whose values are secrets, redacted wherever a log line carries them. */
export const WEBHOOK_SECRET_KEYS = ['secret'] as const;

/**
 * The credentials a webhook whose URL is http:// sends to another machine in the clear (its signature, made
 * with the secret, tells nothing of it): its login, its query's values under a credential's name (a chat's
 * access_token= or key=), its credential headers.
 */
export function webhookWarnings(config: WebhookNotifierConfig): NotifierWarning[] {
  const host = hostInClear(config.url);
  if (host === undefined) return [];
  const url = new URL(config.url);
  const login = hasLogin(url) ? ['the user and password of its URL (Basic authentication)'] : [];
  const inQuery = [...new Set(url.searchParams.keys())].filter(isCredentialName);
  const query = inQuery.length === 0 ? [] : [`the ${inQuery.join(' and ')} of its query`];
  const sent = [...login, ...query, ...Object.keys(config.headers).filter(isCredentialName).map((name) => `the ${name} header`)];
  return sent.length === 0 ? [] : [{ path: ['url'], message: sentInClear(sent.join(' and '), host) }];
}
