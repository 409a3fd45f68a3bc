// Standard Webhooks signing (https://www.standardwebhooks.com/): receivers verify with any of its
// libraries, so this must match them byte for byte, which the tests check against the reference package.
import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** The base64 of a `whsec_<base64>` secret: the key as a receiver may hold it, the reference libraries taking it either way. */
export function keyOf(secret: string): string {
  return secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
}

/** The HMAC key a `whsec_<base64>` secret stands for; like the reference libraries, the prefix is optional. */
export function decodeSecret(secret: string): Buffer {
  const key = Buffer.from(keyOf(secret), 'base64');
  if (key.length === 0) throw new Error('webhook secret holds no key: expected whsec_ followed by base64');
  return key;
}

/** The `webhook-signature` header value for one attempt: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function sign(secret: string | Buffer, id: string, timestampSeconds: number, body: string): string {
  const key = typeof secret === 'string' ? decodeSecret(secret) : secret;
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}
