// What an answer tells the rate limiter, against a real socket, with the limiter on a clock the test moves:
// a 429 (or Huawei's APIGW.0308 with whatever status) pauses every request, for Retry-After when it names one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/cloud/ApiError.ts';
import { exchange, httpError } from '../../src/cloud/exchange.ts';
import { RateLimiter } from '../../src/cloud/rateLimiter.ts';

const silent = pino({ level: 'silent' });
const dispatcher = new Agent();
let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const json = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    switch (req.url) {
      case '/nova-429':
        return json(429, '{"overLimit": {"code": 429, "message": "This request was rate-limited.", "retryAfter": "30"}}', { 'retry-after': '30' });
      case '/gateway-403':
        return json(403, '{"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached: policy user over ratelimit,limit:50,time:1 second"}');
      case '/refused':
        return json(403, '{"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}');
      // A success is no throttling, whatever its body quotes.
      case '/quoting-0308':
        return json(200, '{"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"}');
      // A server that words its refusal in the reason phrase, quoting the token it refused.
      case '/reason-echo':
        res.writeHead(401, `token ${String(req.headers['x-auth-token'])} is not valid`);
        return res.end();
      // A gateway that quotes the request it refused, its signature and all.
      case '/echo-authorization':
        return json(400, JSON.stringify({ error_code: 'APIGW.0201', error_msg: `bad request: Authorization ${String(req.headers['authorization'])}` }));
      default:
        return json(200, '{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await dispatcher.close();
  await new Promise((resolve) => server.close(resolve));
});

/** A limiter without a ceiling whose clock stands at 0 until `at` moves it. */
function stoppedClock() {
  let now = 0;
  const limiter = new RateLimiter(undefined, silent, () => now);
  return { limiter, at: (ms: number) => (now = ms) };
}

function get(path: string, limiter: RateLimiter) {
  return exchange({ method: 'GET', url: `${origin}${path}`, headers: { accept: 'application/json' } }, { dispatcher, timeout: 5000, closed: new AbortController().signal, limiter });
}

describe('exchange and the rate limiter', () => {
  it("pauses every request for a 429's Retry-After", async () => {
    const { limiter, at } = stoppedClock();
    expect((await get('/nova-429', limiter)).status).toBe(429);
    at(29_999);
    expect(limiter.tryAcquire()).toBeUndefined();
    at(30_000);
    expect(limiter.tryAcquire()).toBeDefined();
  });

  it("pauses every request after Huawei's APIGW.0308 answered with another status than 429", async () => {
    const { limiter, at } = stoppedClock();
    const answer = await get('/gateway-403', limiter);
    expect(answer.status).toBe(403);
    // Throttling, to be tried again, not a refusal of the credentials.
    expect(httpError(answer)).toMatchObject({ kind: 'rate_limited', retryable: true, apiCode: 'APIGW.0308' });
    at(999);
    expect(limiter.tryAcquire()).toBeUndefined();
    at(1000);
    expect(limiter.tryAcquire()).toBeDefined();
  });

  it('does not pause for another refusal, nor for a success that quotes APIGW.0308', async () => {
    const { limiter } = stoppedClock();
    expect((await get('/refused', limiter)).status).toBe(403);
    expect((await get('/document', limiter)).status).toBe(200);
    expect((await get('/quoting-0308', limiter)).status).toBe(200);
    expect(limiter.tryAcquire()).toBeDefined();
  });
});

describe('exchange', () => {
  const closed = new AbortController().signal;

  it('hides the credentials a signature made as the request went, where the answer quotes them', async () => {
    const signature = 'SDK-HMAC-SHA256 Access=AKEXAMPLE0123, SignedHeaders=host;x-sdk-date, Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
    const answer = await exchange(
      { method: 'GET', url: `${origin}/echo-authorization`, headers: {}, sign: () => Promise.resolve({ authorization: signature, 'x-sdk-date': '20261204T120000Z' }) },
      { dispatcher, timeout: 5000, closed },
    );
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('bad request: Authorization <hidden>');
    const error = httpError(answer);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('0f1e2d3c4b5a6978');
  });

  it("hides the request's credentials in the answer's reason phrase as in its body", async () => {
    const token = 'gAAAAA-ReasonPhrase-Tok-42';
    const answer = await exchange({ method: 'GET', url: `${origin}/reason-echo`, headers: { 'x-auth-token': token }, secrets: [token] }, { dispatcher, timeout: 5000, closed });
    expect(answer.statusText).toBe('token <hidden> is not valid');
    const error = httpError(answer);
    expect(error.message).toBe(`GET ${origin}/reason-echo → 401 token <hidden> is not valid`);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(token);
  });

  it('throws a mistake in the request itself (a header value with a line break) as it is: no network error to retry', async () => {
    const failed = await exchange({ method: 'GET', url: `${origin}/document`, headers: { 'x-broken': 'a\r\nb' } }, { dispatcher, timeout: 5000, closed }).catch((err: unknown) => err);
    expect(failed).not.toBeInstanceOf(ApiError);
    expect(failed).toMatchObject({ code: 'UND_ERR_INVALID_ARG' });
  });
});
