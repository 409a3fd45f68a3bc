// SDK-HMAC-SHA256, the request signature of Huawei Cloud's API gateway, computed as the official SDKs do
// (huaweicloud-sdk-nodejs-v3 core/auth/AKSKSigner.ts): a canonical request of method, path (each segment
// percent-encoded, always ending in "/"), sorted and encoded query, the signed headers and the payload's
// SHA-256; signed with HMAC-SHA256 under the secret key. Tests compare it with that signer byte for byte,
// and a path with escapes (which that signer encodes again as written, a %20 as %2520) with the simulator's
// check, written from the gateway's signing guide, which decodes each segment first.

import { createHmac, hash } from 'node:crypto';
import { percentDecode } from '../../../net/percentDecode.ts';

const ALGORITHM = 'SDK-HMAC-SHA256';

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

const sha256 = (text: string) => hash('sha256', text);
// The payload hash of a request without a body, as every poll is: sha256(''), written out, as hashing it
// here would load node:crypto with the module (the bundle requires it at its first use).
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// RFC 3986 unreserved characters stay; every other UTF-8 byte becomes %XX, as the SDK's table has it.
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const ALL_UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
// Such a path (every poll's: ids, names and versions) is its own canonical form: no segment holds a "%" to
// decode nor anything to encode.
const PLAIN_PATH = /^[A-Za-z0-9\-._~/]*$/;

function percentEncode(text: string): string {
  if (ALL_UNRESERVED.test(text)) return text;
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
  const { pathname } = url;
  const path = PLAIN_PATH.test(pathname) ? pathname : pathname.split('/').map((s) => percentEncode(percentDecode(s))).join('/');
  return path.endsWith('/') ? path : `${path}/`;
}

/** Parameters sorted by name, a repeated one's values sorted too, both encoded: `a=1&b=x%20y`. */
function canonicalQuery(url: URL): string {
  // Without one (every poll), URL would make a URLSearchParams only to find nothing in it.
  if (url.search === '') return '';
  const values = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) values.set(name, [...(values.get(name) ?? []), value]);
  return [...values.keys()]
    .sort()
    .flatMap((name) => (values.get(name) ?? []).sort().map((value) => `${percentEncode(name)}=${percentEncode(value)}`))
    .join('&');
}

// The last X-Sdk-Date made: a pass signs hundreds of requests within the same second.
let lastSecond = NaN;
let lastDate = '';

/** `20240102T030405Z`, the X-Sdk-Date form: ISO 8601 basic, UTC, whole seconds. */
export function sdkDate(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second !== lastSecond) {
    lastDate = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
    lastSecond = second;
  }
  return lastDate;
}

/** The headers that sign `request` at `date`: X-Sdk-Date, Host and Authorization. */
export function signRequest(request: SignableRequest, key: SigningKey, date: Date): Record<string, string> {
  const sdkDateText = sdkDate(date);
  const host = request.url.host;
  const headers: Record<string, string> = {};
  for (const name in request.headers) headers[name.toLowerCase()] = request.headers[name]!;
  headers['x-sdk-date'] = sdkDateText;
  headers['host'] = host;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  // Values are trimmed as they arrive at the gateway: HTTP drops whitespace around a field value.
  let canonicalHeaders = '';
  for (const name of names) canonicalHeaders += `${name}:${headers[name]!.trim()}\n`;
  const body = request.body ?? '';
  const payloadHash = headers['x-sdk-content-sha256'] ?? (body === '' ? EMPTY_SHA256 : sha256(body));
  const canonicalRequest = `${request.method.toUpperCase()}\n${canonicalUri(request.url)}\n${canonicalQuery(request.url)}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
  const stringToSign = `${ALGORITHM}\n${sdkDateText}\n${sha256(canonicalRequest)}`;
  const signature = createHmac('sha256', key.secretKey).update(stringToSign).digest('hex');
  return {
    'x-sdk-date': sdkDateText,
    host,
    authorization: `${ALGORITHM} Access=${key.accessKey}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}
