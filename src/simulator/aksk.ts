// The API gateway's check of an AK/SK-signed request, written from Huawei Cloud's "API Request Signing
// Guide" (APIG, SDK-HMAC-SHA256):
//   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//                      SignedHeaders \n HexEncode(SHA256(payload))
//   - CanonicalURI: the path, each segment URI-encoded (RFC 3986), ending with "/".
//   - CanonicalQueryString: parameters sorted by name (then value), name and value URI-encoded, joined
//     as name=value with "&".
//   - CanonicalHeaders: each signed header as lowercase(name):trim(value)\n, sorted by name.
//   - SignedHeaders: the lowercase names, sorted, joined with ";".
//   StringToSign = "SDK-HMAC-SHA256" \n X-Sdk-Date \n HexEncode(SHA256(CanonicalRequest))
//   Signature = HexEncode(HMAC-SHA256(SK, StringToSign))
//   Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=...
// The gateway refuses a request whose X-Sdk-Date is more than 15 minutes off its own clock, and locks an
// access key for 5 minutes once more than five requests it signed in a row were refused (the guide's FAQ,
// "AK access failed to reach the limit,forbidden").

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface AkskOptions {
  readonly accessKey: string;
  readonly secretKey: string;
  /** Temporary credentials: requests must carry it as X-Security-Token. */
  readonly securityToken?: string;
}

export interface SignedRequest {
  readonly method: string;
  /** Path and query as received. */
  readonly target: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The project the path names, which X-Project-Id must repeat. */
  readonly projectId: string | undefined;
}

const AUTHORIZATION = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)$/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const MAX_SKEW_MS = 15 * 60_000;
const REFUSALS_BEFORE_LOCK = 5;
const LOCK_MS = 5 * 60_000;

/** RFC 3986: everything but unreserved characters percent-encoded, from UTF-8. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function canonicalUri(path: string): string {
  const encoded = path.split('/').map((segment) => uriEncode(decodeSegment(segment))).join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

function canonicalQuery(query: string): string {
  const pairs = [...new URLSearchParams(query)];
  pairs.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  return pairs.map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`).join('&');
}

const hex = (data: string) => createHash('sha256').update(data).digest('hex');

function parseSdkDate(text: string | undefined): number | undefined {
  const m = SDK_DATE.exec(text ?? '');
  return m === null ? undefined : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Undefined when the request is signed by the key; otherwise what is wrong, in the gateway's words. */
function verifySignedRequest(request: SignedRequest, key: AkskOptions, now: number): string | undefined {
  const auth = AUTHORIZATION.exec(request.headers['authorization'] ?? '');
  if (auth === null) return 'the Authorization header is not SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...';
  const [, access = '', signedList = '', signature = ''] = auth;
  if (access !== key.accessKey) return `ak ${access} not exist`;
  const signed = signedList.split(';');
  for (const required of ['host', 'x-sdk-date']) {
    if (!signed.includes(required)) return `${required} is not a signed header`;
  }
  const date = parseSdkDate(request.headers['x-sdk-date']);
  if (date === undefined) return 'X-Sdk-Date is not of the form YYYYMMDDTHHMMSSZ';
  if (Math.abs(now - date) > MAX_SKEW_MS) return 'the request expired: X-Sdk-Date is more than 15 minutes off';
  if (key.securityToken !== undefined) {
    if (request.headers['x-security-token'] !== key.securityToken) return 'the security token is missing or wrong';
    if (!signed.includes('x-security-token')) return 'x-security-token is not a signed header';
  }
  if (request.projectId !== undefined && request.headers['x-project-id'] !== request.projectId) {
    return `X-Project-Id does not name the project of the path (${request.projectId})`;
  }

  const [path = '/', query = ''] = request.target.split(/\?(.*)/s);
  const canonicalHeaders = [...signed].sort().map((name) => `${name}:${(request.headers[name] ?? '').trim()}\n`).join('');
  const payloadHash = request.headers['x-sdk-content-sha256'] === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : hex(request.body);
  const canonicalRequest = [request.method, canonicalUri(path), canonicalQuery(query), canonicalHeaders, signedList, payloadHash].join('\n');
  const stringToSign = ['SDK-HMAC-SHA256', request.headers['x-sdk-date'], hex(canonicalRequest)].join('\n');
  const expected = createHmac('sha256', key.secretKey).update(stringToSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'verify aksk signature fail';
  return undefined;
}

/**
 * The gateway's check of one key pair's signatures, with its lock: once more than five requests in a row
 * signed with the access key were refused, every one it signs is refused for five minutes, a correct one too.
 */
export class AkskGate {
  readonly #key: AkskOptions;
  #refusedInARow = 0;
  #lockedUntil = -Infinity;

  constructor(key: AkskOptions) {
    this.#key = key;
  }

  /** As verifySignedRequest, counting the refusals of requests that name the access key. */
  check(request: SignedRequest, now: number): string | undefined {
    const ours = AUTHORIZATION.exec(request.headers['authorization'] ?? '')?.[1] === this.#key.accessKey;
    if (ours && now < this.#lockedUntil) return 'AK access failed to reach the limit,forbidden';
    const problem = verifySignedRequest(request, this.#key, now);
    if (!ours) return problem;
    if (problem === undefined) {
      this.#refusedInARow = 0;
      return undefined;
    }
    this.#refusedInARow += 1;
    if (this.#refusedInARow > REFUSALS_BEFORE_LOCK) {
      this.#refusedInARow = 0;
      this.#lockedUntil = now + LOCK_MS;
    }
    return problem;
  }
}
