import { describe, expect, it } from 'vitest';
import { API_ERROR_KINDS, ApiError, kindForStatus } from '../../src/cloud/ApiError.ts';
import { apiMessageFromText, extractApiMessage } from '../../src/cloud/errors/apiMessage.ts';
import { parseRetryAfter } from '../../src/net/retryAfter.ts';

describe('extractApiMessage', () => {
  it.each([
    ['Nova itemNotFound', { itemNotFound: { code: 404, message: 'Instance s1 could not be found.' } },
      { code: 'itemNotFound', message: 'Instance s1 could not be found.' }],
    ['Nova computeFault', { computeFault: { code: 500, message: 'Unexpected API Error.' } },
      { code: 'computeFault', message: 'Unexpected API Error.' }],
    ['any named fault', { overLimit: { code: 429, message: 'Rate limit', retryAfter: '5' } },
      { code: 'overLimit', message: 'Rate limit' }],
    ['Keystone', { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } },
      { code: 'Unauthorized', message: 'The request you have made requires authentication.' }],
    ['Huawei error_code', { error_code: 'Ecs.0114', error_msg: 'The ECS does not exist.', request_id: 'x' },
      { code: 'Ecs.0114', message: 'The ECS does not exist.' }],
    ['Huawei gateway', { error_msg: 'Incorrect IAM authentication information', error_code: 'APIGW.0301' },
      { code: 'APIGW.0301', message: 'Incorrect IAM authentication information' }],
    ['Huawei nested error', { error: { code: 'Ecs.0007', message: 'Insufficient permissions' } },
      { code: 'Ecs.0007', message: 'Insufficient permissions' }],
    ['bare message', { message: 'Forbidden' }, { message: 'Forbidden' }],
    ['webob (nova-api 26, Routes mapper 404)', { message: 'The resource could not be found.<br /><br />\n\n\n', code: '404 Not Found', title: 'Not Found' },
      { code: '404 Not Found', message: 'The resource could not be found.' }],
    ['multi-line message flattened', { badRequest: { message: 'Invalid input\n  for field   x' } },
      { code: 'badRequest', message: 'Invalid input for field x' }],
  ])('%s', (_, body, expected) => {
    expect(extractApiMessage(body)).toEqual(expected);
  });

  it.each([
    ['nothing', null],
    ['a list', [{ message: 'x' }]],
    ['no message anywhere', { itemNotFound: { code: 404 } }],
    ['empty message', { error_msg: '  ' }],
  ])('finds nothing in %s', (_, body) => {
    expect(extractApiMessage(body)).toBeUndefined();
  });

  it('reads plain-text bodies but not HTML pages', () => {
    expect(apiMessageFromText('404 Not Found\n\nThe resource could not be found.\n\n   '))
      .toEqual({ message: '404 Not Found The resource could not be found.' });
    expect(apiMessageFromText('<html><body><h1>502 Bad Gateway</h1></body></html>')).toBeUndefined();
    expect(apiMessageFromText('')).toBeUndefined();
    expect(apiMessageFromText('{"itemNotFound": {"message": "gone"}}')).toEqual({ code: 'itemNotFound', message: 'gone' });
  });

  it('keeps a long message to one short line', () => {
    const message = extractApiMessage({ computeFault: { message: 'x'.repeat(5000) } })?.message ?? '';
    expect(message.length).toBeLessThanOrEqual(300);
  });
});

describe('parseRetryAfter', () => {
  const date = 'Thu, 01 Jan 2026 00:00:00 GMT';
  it.each([
    ['7', 7000],
    ['0', 0],
    ['1.5', 1500],
    [['3', '9'], 3000],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %s, an HTTP date counted from the answer\'s Date', (value, ms) => {
    expect(parseRetryAfter({ 'retry-after': value, date })).toBe(ms);
  });

  it('takes a Retry-After of more than a timer can wait as that longest wait, so that no message says "Infinity s"', () => {
    const longest = 2 ** 31 - 1;
    // 400 digits are Infinity as a number; a date in the year 9999 is 250 billion seconds away.
    for (const value of ['9'.repeat(400), '99999999999', 'Fri, 31 Dec 9999 23:59:59 GMT']) {
      const ms = parseRetryAfter({ 'retry-after': value, date });
      expect(ms).toBe(longest);
      const error = new ApiError({ kind: 'rate_limited', method: 'GET', url: 'https://h.test/', status: 429, retryAfterMs: ms! });
      expect(error.message).toBe('GET https://h.test/ → 429 (retry after 2147484 s)');
    }
    expect(parseRetryAfter({ 'retry-after': String(24 * 86_400), date })).toBe(24 * 86_400_000);
  });

  it("counts an HTTP date from this host's clock when the answer has no Date to go by", () => {
    for (const headers of [{}, { date: 'not a date' }]) {
      const ms = parseRetryAfter({ ...headers, 'retry-after': new Date(Date.now() + 60_000).toUTCString() })!;
      expect(ms).toBeGreaterThan(58_000);
      expect(ms).toBeLessThanOrEqual(60_000);
    }
  });
});

describe('ApiError', () => {
  it.each([
    [400, 'bad_request', false], [401, 'unauthorized', false], [403, 'forbidden', false], [404, 'foreign_not_found', false],
    [405, 'bad_request', false], [408, 'timeout', true], [409, 'bad_request', false], [429, 'rate_limited', true],
    [500, 'server', true], [502, 'server', true], [503, 'server', true], [504, 'server', true],
    [301, 'redirect', false], [302, 'redirect', false], [307, 'redirect', false], [308, 'redirect', false],
  ])('status %i is %s, retryable %s', (status, kind, retryable) => {
    expect(kindForStatus(status)).toBe(kind);
    expect(new ApiError({ kind: kindForStatus(status), method: 'GET', url: 'https://h.test/', status }).retryable).toBe(retryable);
  });

  it.each([
    ['itemNotFound', 'not_found'], ['Ecs.0114', 'not_found'], ['Ecs.0614', 'not_found'],
    ['APIGW.0101', 'foreign_not_found'], ['NotFound', 'foreign_not_found'], [undefined, 'foreign_not_found'],
  ])('a 404 coded %s is %s: only the API\'s own not-found answer counts', (code, kind) => {
    expect(kindForStatus(404, code)).toBe(kind);
  });

  it('reads the job API\'s "no such job" (400 Common.0011) as not found, and any other 400 as a bad request', () => {
    expect(kindForStatus(400, 'Common.0011')).toBe('not_found');
    expect(kindForStatus(400, 'Ecs.0005')).toBe('bad_request');
    expect(kindForStatus(500, 'Common.0011')).toBe('server');
  });

  it('retries exactly the transient kinds', () => {
    const retryable = API_ERROR_KINDS.filter((kind) => new ApiError({ kind, method: 'GET', url: 'u' }).retryable);
    expect(retryable.sort()).toEqual(['certificate', 'invalid_response', 'network', 'not_tls', 'proxy', 'rate_limited', 'server', 'timeout', 'unknown_host']);
  });

  it.each([
    [{ kind: 'not_found', status: 404, statusText: 'Not Found', apiCode: 'itemNotFound', apiMessage: 'Action req-1 on instance s1 could not be found.' },
      'GET https://h.test/x → 404 itemNotFound: Action req-1 on instance s1 could not be found.'],
    [{ kind: 'server', status: 503, statusText: 'Service Unavailable' }, 'GET https://h.test/x → 503 Service Unavailable'],
    [{ kind: 'rate_limited', status: 429, statusText: 'Too Many Requests', retryAfterMs: 1500 },
      'GET https://h.test/x → 429 Too Many Requests (retry after 2 s)'],
    [{ kind: 'forbidden', status: 403, apiMessage: 'Policy does not allow' }, 'GET https://h.test/x → 403 Policy does not allow'],
    [{ kind: 'network', detail: 'connect ECONNREFUSED 127.0.0.1:9' }, 'GET https://h.test/x → network error: connect ECONNREFUSED 127.0.0.1:9'],
    [{ kind: 'timeout', detail: 'no complete answer within 100 ms' }, 'GET https://h.test/x → timed out: no complete answer within 100 ms'],
    [{ kind: 'certificate', detail: 'certificate has expired (CERT_HAS_EXPIRED)' }, 'GET https://h.test/x → certificate refused: certificate has expired (CERT_HAS_EXPIRED)'],
    [{ kind: 'unknown_host', detail: 'getaddrinfo ENOTFOUND h.test' }, 'GET https://h.test/x → host not found: getaddrinfo ENOTFOUND h.test'],
    [{ kind: 'proxy', detail: 'the proxy in HTTPS_PROXY is not an http:// or https:// URL' }, 'GET https://h.test/x → proxy not usable: the proxy in HTTPS_PROXY is not an http:// or https:// URL'],
    [{ kind: 'invalid_response', status: 200, detail: 'not JSON: "<html>"' }, 'GET https://h.test/x → 200 invalid response: not JSON: "<html>"'],
  ] as const)('describes %j in one line', (init, message) => {
    const error = new ApiError({ method: 'GET', url: 'https://h.test/x', ...init });
    expect(error.message).toBe(message);
    expect(error.name).toBe('ApiError');
    expect(error).toBeInstanceOf(Error);
  });
});
