// SDK-HMAC-SHA256, the request signature of Huawei Cloud's API gateway, computed as the official SDKs do
// (huaweicloud-sdk-nodejs-v3 core/auth/AKSKSigner.ts): a canonical request of method, path (each segment
// percent-encoded, always ending in "/"), sorted and encoded query, the signed headers and the payload's
// SHA-256; signed with HMAC-SHA256 under the secret key. Tests compare it with that signer byte for byte.

import { createHash, createHmac } from 'node:crypto';
import { percentDecode } from '../../../net/percentDecode.ts';

export const ALGORITHM = 'SDK-HMAC-SHA256';

export interface SigningKey {
  accessKey: string;
  secretKey: string;
}

export interface SignableRequest {
  method: string;
  url: URL;
  /** Every header that will be sent, lower-case names; all of them are signed. */
  headers: Readonly<Record<string, string>>;
  body?: string | undefined;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// RFC 3986 unreserved characters stay; every other UTF-8 byte becomes %XX, as the SDK's table has it.
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    if (UNRESERVED.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The path, segment by segment, ending in "/" whether or not the request's path does. */
function canonicalUri(url: URL): string {
  const path = url.pathname.split('/').map((s) => percentEncode(percentDecode(s))).join('/');
  return path.endsWith('/') ? path : `${path}/`;
}

/** Parameters sorted by name, a repeated one's values sorted too, both encoded: `a=1&b=x%20y`. */
function canonicalQuery(url: URL): string {
  const values = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) values.set(name, [...(values.get(name) ?? []), value]);
  return [...values.keys()]
    .sort()
    .flatMap((name) => (values.get(name) ?? []).sort().map((value) => `${percentEncode(name)}=${percentEncode(value)}`))
    .join('&');
}

/** `20240102T030405Z`, the X-Sdk-Date form: ISO 8601 basic, UTC, whole seconds. */
export function sdkDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The headers that sign `request` at `date`: X-Sdk-Date, Host and Authorization. */
export function signRequest(request: SignableRequest, key: SigningKey, date: Date): Record<string, string> {
  const added = { 'x-sdk-date': sdkDate(date), host: request.url.host };
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries({ ...request.headers, ...added }).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  // Values are trimmed as they arrive at the gateway: HTTP drops whitespace around a field value.
  const canonicalHeaders = names.map((n) => `${n}:${(headers[n] ?? '').trim()}\n`).join('');
  const payloadHash = headers['x-sdk-content-sha256'] ?? sha256(request.body ?? '');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalUri(request.url),
    canonicalQuery(request.url),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, added['x-sdk-date'], sha256(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', key.secretKey).update(stringToSign).digest('hex');
  return {
    ...added,
    authorization: `${ALGORITHM} Access=${key.accessKey}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}
