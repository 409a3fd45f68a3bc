import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Notifier } from '../../src/notify/types.ts';
import type { WebhookNotifierConfig } from '../../src/notify/webhook/config.ts';
import { createWebhookNotifier } from '../../src/notify/webhook/webhook.ts';
import { DeliveryError } from '../../src/notify/DeliveryError.ts';
import { attempt, everyProperty, failedResize, failure, largeFleetDigest, silentLogger } from './fixtures.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { makeCertificates } from '../certificates.ts';

const SECRET = `whsec_${Buffer.from('webhook-test-key-0123456789abcdef').toString('base64')}`;

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let base: string;
let received: Received[] = [];
let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.end();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ url: req.url ?? '', headers: req.headers, body });
      answer(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const notifiers: Notifier[] = [];
afterEach(async () => {
  received = [];
  answer = (_req, res) => res.end();
  server.closeAllConnections();
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
});

function webhook(overrides: Partial<WebhookNotifierConfig> = {}): Notifier {
  const notifier = createWebhookNotifier(
    'chat',
    { type: 'webhook', url: `${base}/ecs`, headers: {}, timeout: 2000, on: ['failure', 'timeout'], ...overrides },
    { logger: silentLogger },
  );
  notifiers.push(notifier);
  return notifier;
}

describe('webhook notifier', () => {
  it('posts the signed contract body and resolves on 2xx', async () => {
    answer = (_req, res) => {
      res.statusCode = 204;
      res.end();
    };
    const before = Math.floor(Date.now() / 1000);
    const receipt = await webhook({ secret: SECRET, headers: { 'X-Team': 'infra' } }).send(failedResize(), attempt('d1'));
    expect(receipt).toEqual({ answer: '204 No Content', refused: [] });

    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req!.url).toBe('/ecs');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toBe('ecs-action-watch');
    expect(req!.headers['x-team']).toBe('infra');
    expect(req!.headers['webhook-id']).toBe('msg_d1');
    const timestamp = Number(req!.headers['webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(JSON.parse(req!.body)).toEqual(failedResize());
    // Verified with the reference library, not with our own code.
    expect(new Webhook(SECRET).verify(req!.body, req!.headers as Record<string, string>)).toEqual(failedResize());
  });

  it('sends no signature without a secret, and the same webhook-id on every attempt', async () => {
    const notifier = webhook();
    await notifier.send(failedResize(), attempt('same', 1));
    await notifier.send(failedResize(), attempt('same', 2));
    expect(received.map((r) => r.headers['webhook-id'])).toEqual(['msg_same', 'msg_same']);
    expect(received[0]!.headers['webhook-signature']).toBeUndefined();
  });

  it('sends no #fragment of its URL, which a receiver routing by path would not know', async () => {
    await webhook({ url: `${base}/ecs?channel=ops#ops-channel` }).send(failedResize(), attempt());
    expect(received.map((r) => r.url)).toEqual(['/ecs?channel=ops']);
  });

  it('does not let configured headers replace the protocol headers', async () => {
    await webhook({ headers: { 'Content-Type': 'text/plain', 'Webhook-Id': 'forged' } }).send(failedResize(), attempt('d2'));
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.headers['webhook-id']).toBe('msg_d2');
  });

  it('retries a 503', async () => {
    answer = (_req, res) => {
      res.statusCode = 503;
      res.end('down for maintenance');
    };
    const err = await failure(webhook().send(failedResize(), attempt()));
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(503);
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 503 Service Unavailable: down for maintenance`);
  });

  it('retries a 429 after the Retry-After it asks for, in seconds or as a date', async () => {
    answer = (_req, res) => {
      res.writeHead(429, { 'retry-after': '7' }).end();
    };
    const seconds = await failure(webhook().send(failedResize(), attempt()));
    expect(seconds.retryable).toBe(true);
    expect(seconds.retryAfterMs).toBe(7000);

    answer = (_req, res) => {
      res.writeHead(429, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }).end();
    };
    const date = await failure(webhook().send(failedResize(), attempt()));
    expect(date.retryAfterMs).toBeGreaterThan(55_000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('retries a 408', async () => {
    answer = (_req, res) => {
      res.statusCode = 408;
      res.end();
    };
    expect((await failure(webhook().send(failedResize(), attempt()))).retryable).toBe(true);
  });

  it('retries a 500, the first of the 5xx, and gives up on a 499', async () => {
    let status = 500;
    answer = (_req, res) => {
      res.statusCode = status;
      res.end();
    };
    const first = await failure(webhook().send(failedResize(), attempt()));
    expect(first.status).toBe(500);
    expect(first.retryable).toBe(true);
    status = 499;
    const below = await failure(webhook().send(failedResize(), attempt()));
    expect(below.status).toBe(499);
    expect(below.retryable).toBe(false);
  });

  it('gives up on a 400 or 410 and quotes the start of the answer', async () => {
    answer = (_req, res) => {
      res.statusCode = 400;
      res.end(`{"error":"schema mismatch","detail":"${'x'.repeat(500)}"}`);
    };
    const bad = await failure(webhook().send(failedResize(), attempt()));
    expect(bad.retryable).toBe(false);
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('answered 400 Bad Request: {"error":"schema mismatch"');
    expect(bad.message.length).toBeLessThan(320);

    answer = (_req, res) => {
      res.statusCode = 410;
      res.end();
    };
    const gone = await failure(webhook().send(failedResize(), attempt()));
    expect(gone.retryable).toBe(false);
    expect(gone.message).toBe(`webhook chat: POST ${base}/ecs answered 410 Gone`);
  });

  it('sends a refused webhook again at once, stamped by the receiver\'s clock, when that clock is more than 5 min from this host\'s', async () => {
    const receiverAhead = 10 * 60_000;
    // A Standard Webhooks receiver whose clock is 10 min ahead: a timestamp more than 5 min from it is refused.
    answer = (req, res) => {
      const theirs = Date.now() + receiverAhead;
      const late = Math.abs(Number(req.headers['webhook-timestamp']) * 1000 - theirs) > 5 * 60_000;
      res.writeHead(late ? 400 : 204, { date: new Date(theirs).toUTCString() });
      res.end(late ? 'Message timestamp too old' : '');
    };
    const result = await webhook({ secret: SECRET }).send(failedResize(), attempt());
    expect(result.answer).toBe('204 No Content');
    expect(received).toHaveLength(2);
    const [first, second] = received.map((r) => r.headers);
    expect(second!['webhook-id']).toBe(first!['webhook-id']);
    expect(Number(second!['webhook-timestamp']) - Number(first!['webhook-timestamp'])).toBeGreaterThanOrEqual(599);
    expect(second!['webhook-signature']).not.toBe(first!['webhook-signature']);
  });

  it('says so when a receiver whose Date stays more than 5 min off refuses the second time too; within 5 min, or with no date, it sends once', async () => {
    let receiverAhead = 0;
    // A receiver whose clock is off, and which refuses the timestamp stamped by its own clock too.
    answer = (_req, res) => {
      res.writeHead(400, { date: new Date(Date.now() + receiverAhead).toUTCString() });
      res.end('Message timestamp too old');
    };
    receiverAhead = 10 * 60_000;
    const late = await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()));
    expect(late.retryable).toBe(false);
    // The answer's Date is stamped as it is sent, the timestamp as the request was: a second may pass between.
    expect(late.message).toMatch(
      new RegExp(
        `^webhook chat: POST ${base.replaceAll('.', '\\.')}/ecs answered 400 Bad Request \\(the receiver's clock, by the Date of its answer, is 10 min(?: [1-5] s)? ahead of this host's, ` +
          "and a receiver that checks webhook-timestamp refuses one more than 5 min off: set this host's time right \\(NTP\\), or the receiver's\\): Message timestamp too old$",
      ),
    );
    expect(received).toHaveLength(2);
    received = [];
    receiverAhead = -4 * 60_000;
    expect((await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()))).message).not.toContain('clock');
    expect(received).toHaveLength(1);
    // A Date that is no date says nothing of clocks either.
    received = [];
    answer = (_req, res) => {
      res.writeHead(400, { date: 'yesterday' });
      res.end();
    };
    expect((await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()))).message).toBe(`webhook chat: POST ${base}/ecs answered 400 Bad Request`);
    expect(received).toHaveLength(1);
  });

  it('sends a refused webhook once when the receiver\'s Date is exactly 5 min from its timestamp, which the Standard Webhooks libraries still accept', async () => {
    let apartS = 300;
    // The receiver's Date, in whole seconds, is `apartS` from the timestamp it got: no clock of this host's to race.
    answer = (req, res) => {
      res.writeHead(401, { date: new Date((Number(req.headers['webhook-timestamp']) + apartS) * 1000).toUTCString() });
      res.end();
    };
    const atTolerance = await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()));
    expect(received).toHaveLength(1);
    expect(atTolerance.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized`);
    received = [];
    apartS = -301;
    await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()));
    expect(received).toHaveLength(2);
  });

  it('does not send again at once an answer that says "not now" (5xx, 429, 408), whatever the receiver\'s Date says', async () => {
    let status = 503;
    answer = (_req, res) => {
      res.writeHead(status, { date: new Date(Date.now() + 10 * 60_000).toUTCString() });
      res.end();
    };
    for (const code of [503, 429, 408]) {
      received = [];
      status = code;
      const err = await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()));
      expect(err.retryable).toBe(true);
      expect(err.message).not.toContain('clock');
      expect(received).toHaveLength(1);
    }
  });

  it('gives up on a redirect, which it does not follow, saying where it points without its path', async () => {
    answer = (_req, res) => {
      res.writeHead(308, { location: 'https://hooks.example.com/services/T0/B0/s3cr3t-token?x=1' });
      res.end();
    };
    const moved = await failure(webhook().send(failedResize(), attempt()));
    expect(moved.retryable).toBe(false);
    expect(moved.message).toBe(
      `webhook chat: POST ${base}/ecs answered 308 Permanent Redirect (a redirect to https://hooks.example.com/services/…?…, not followed: if that is the receiver meant, put its URL in notifiers.chat.url)`,
    );
  });

  it('retries when the receiver is down, saying so', async () => {
    const port = await closedPort();
    const err = await failure(webhook({ url: `http://127.0.0.1:${port}/ecs` }).send(failedResize(), attempt()));
    expect(err.retryable).toBe(true);
    expect(err.status).toBeUndefined();
    expect(err.message).toBe(`webhook chat: POST http://127.0.0.1:${port}/ecs failed: connection refused by 127.0.0.1:${port}`);
  });

  it('says that the receiver answered 100 Continue unasked, which the HTTP client cannot read, not that the connection closed, and retries', async () => {
    // No Expect: 100-continue is sent; some servers send one to every POST all the same.
    answer = (_req, res) => {
      res.writeContinue();
      res.writeHead(204).end();
    };
    const err = await failure(webhook().send(failedResize(), attempt()));
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(
      `webhook chat: POST ${base}/ecs failed: 127.0.0.1:${new URL(base).port} answered 100 Continue, which is sent to a request that asks for it (Expect: 100-continue) and this one did not: ` +
        'this HTTP client (undici) cannot read past one, and drops the connection; have the receiver, or a proxy in front of it, answer without it',
    );
    expect(received[0]!.headers.expect).toBeUndefined();
  });

  it('gives up waiting for a slow receiver after the configured timeout and retries', async () => {
    answer = () => undefined;
    const started = performance.now();
    const err = await failure(webhook({ timeout: 200 }).send(failedResize(), attempt()));
    // undici's own timeouts are 300 s: far beyond, however loaded the machine.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs timed out: no answer from 127.0.0.1:${new URL(base).port} within 200 ms`);
  });

  it('stops when the dispatcher aborts the attempt', async () => {
    answer = () => undefined;
    const controller = new AbortController();
    const pending = webhook().send(failedResize(), attempt('d', 1, controller.signal));
    setTimeout(() => controller.abort(), 20);
    const err = await failure(pending);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('aborted');
  });

  // notifications_total's reason label: what tells an operator a receiver down from one that refuses the signature.
  it('names why it failed, as its retry goes: refused, throttled, busy, timed out, down, its template broken', async () => {
    const why = async (hook: Notifier) => {
      const err = await failure(hook.send(failedResize({ reason: 'not\nJSON' }), attempt()));
      return [err.reason, err.retryable];
    };
    const answered = (status: number, headers: Record<string, string> = {}) => {
      answer = (_req, res) => res.writeHead(status, headers).end();
      return why(webhook());
    };
    for (const status of [400, 401, 403, 404, 413, 499]) expect(await answered(status), String(status)).toEqual(['refused', false]);
    expect(await answered(308, { location: `${base}/elsewhere` })).toEqual(['refused', false]);
    expect(await answered(429)).toEqual(['throttled', true]);
    expect(await answered(503, { 'retry-after': '7' })).toEqual(['throttled', true]);
    expect(await answered(503, { 'retry-after': '0' })).toEqual(['server', true]);
    expect(await answered(500)).toEqual(['server', true]);
    expect(await answered(408)).toEqual(['timeout', true]);
    answer = () => undefined;
    expect(await why(webhook({ timeout: 200 }))).toEqual(['timeout', true]);
    expect(await why(webhook({ url: `http://127.0.0.1:${await closedPort()}/ecs` }))).toEqual(['connection', true]);
    expect(await why(webhook({ template: { body: '{"text": {{{reason}}}}' } }))).toEqual(['template', false]);
  });

  it('keeps secrets out of its messages, even when the receiver echoes the request', async () => {
    // What the receiver quotes back: the path with its query, every header, the body.
    answer = (req, res, body) => {
      res.statusCode = 401;
      res.end(JSON.stringify({ url: req.url, headers: req.headers, body }));
    };
    const url = `${base.replace('http://', 'http://alice:pa%24%24word@')}/ecs?token=tok-123`;
    const headers = { Authorization: 'Bearer bearer-secret-1', 'X-Api-Key': 'api-key-secret-2' };
    const err = await failure(webhook({ url, secret: SECRET, headers }).send(failedResize(), attempt()));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`POST ${base}/ecs?… answered 401 Unauthorized`);
    // The header the file sets wins over the userinfo one.
    expect(received[0]!.headers.authorization).toBe('Bearer bearer-secret-1');
    // Without one, the userinfo goes as Basic authentication, and comes back quoted.
    const basic = await failure(webhook({ url }).send(failedResize(), attempt()));
    expect(received[1]!.headers.authorization).toBe(`Basic ${Buffer.from('alice:pa$$word').toString('base64')}`);

    const port = await closedPort();
    const down = await failure(
      webhook({ url: `http://alice:pa%24%24word@127.0.0.1:${port}/x?token=tok-123`, secret: SECRET, headers }).send(
        failedResize(),
        attempt(),
      ),
    );
    const echoed = [err.message, basic.message];
    // The answers were quoted, secrets hidden: each assertion below has something to find if they were not.
    for (const message of echoed) expect(message).toContain('<hidden>');
    for (const message of [...echoed, down.message]) {
      for (const secret of ['pa$$word', 'pa%24%24word', Buffer.from('alice:pa$$word').toString('base64'), 'tok-123', 'bearer-secret-1', 'api-key-secret-2']) {
        expect(message).not.toContain(secret);
      }
    }
  });

  it('keeps the signing secret out of its messages when a receiver, which shares it, quotes it', async () => {
    // A receiver's debug answer naming the key it verified with: it knows the secret, which is never sent.
    answer = (_req, res) => {
      res.statusCode = 401;
      res.end(`signature mismatch: expected one made with ${SECRET}`);
    };
    const err = await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: signature mismatch: expected one made with <hidden>`);
  });

  it('keeps the signing secret out of its messages when a receiver quotes it without its whsec_ prefix, as the reference libraries take it too', async () => {
    const key = SECRET.slice('whsec_'.length);
    answer = (_req, res) => {
      res.statusCode = 401;
      res.end(`signature mismatch: expected one made with ${key}`);
    };
    const err = await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: signature mismatch: expected one made with <hidden>`);
  });

  it('keeps its signature out of its messages when a receiver quotes the one it could not verify, whole or its MAC alone', async () => {
    answer = (req, res) => {
      const signature = String(req.headers['webhook-signature']);
      res.statusCode = 401;
      res.end(`signature ${signature} does not verify (MAC ${signature.slice('v1,'.length)})`);
    };
    const err = await failure(webhook({ secret: SECRET }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: signature <hidden> does not verify (MAC <hidden>)`);
  });

  it('keeps secrets with < > & out of its messages when the receiver echoes them as Go\'s encoding/json escapes them', async () => {
    answer = (req, res) => {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: `invalid credentials: ${req.headers.authorization} / ${String(req.headers['x-api-key'])}` }).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`));
    };
    const err = await failure(webhook({ url: `${base}/ecs`, headers: { Authorization: 'Bearer br<e>r&tok-1', 'X-Api-Key': 'k&ey-secret-2' } }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: {"error":"invalid credentials: <hidden> / <hidden>"}`);
  });

  it('keeps secrets with = out of its messages when the receiver echoes them as Gson (Java) escapes them by default', async () => {
    // Gson's HTML-safe writer: < > & = ' as \u003c \u003e \u0026 \u003d \u0027, so Basic's and base64's padding too.
    answer = (req, res) => {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: `invalid credentials: ${req.headers.authorization}` }).replace(/[<>&=']/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`));
    };
    const err = await failure(webhook({ url: base.replace('http://', 'http://alice:pa%24%24word@') + '/ecs' }).send(failedResize(), attempt()));
    expect(received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('alice:pa$$word').toString('base64')}`);
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: {"error":"invalid credentials: Basic <hidden>"}`);
  });

  it('keeps secrets out of its messages when the receiver quotes them cut short, or escaped as .NET\'s System.Text.Json does', async () => {
    answer = (req, res) => {
      res.statusCode = 401;
      const key = String(req.headers['x-api-key']).replace(/[<>&'+`"]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
      res.end(`{"error":"invalid credentials: ${req.headers.authorization!.slice(0, 24)}… / ${key}"}`);
    };
    const headers = { Authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2ln', 'X-Api-Key': "k'ey+secret-2" };
    const err = await failure(webhook({ url: `${base}/ecs`, headers }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: {"error":"invalid credentials: <hidden>… / <hidden>"}`);
  });

  it('hides a non-ASCII password the receiver quotes where the 1 KiB it keeps of its answer cuts into a character', async () => {
    const password = 'geheim-Passwort-für-alice-2026';
    const said = `wrong password ${password}`;
    // An indented page, which the message shows on one line, puts the quote at the 1024th byte: the cut
    // falls between the two bytes of ü, after "geheim-Passwort-f".
    const indent = ' '.repeat(1024 - Buffer.byteLength(said.slice(0, said.indexOf('ü'))) - 1);
    answer = (_req, res) => {
      res.statusCode = 401;
      res.end(`${indent}${said}`);
    };
    const err = await failure(webhook({ url: base.replace('http://', `http://alice:${encodeURIComponent(password)}@`) + '/ecs' }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: wrong password <hidden>`);
  });

  it('hides a non-ASCII password the receiver quotes cut between the bytes of a character, as slicing bytes (Go) or UTF-16 (JavaScript) cuts it', async () => {
    const password = 'geheim-Passwort-für-alice-2026';
    const cut = Buffer.from(password).subarray(0, Buffer.byteLength('geheim-Passwort-f') + 1);
    answer = (_req, res) => {
      res.statusCode = 401;
      res.end(Buffer.concat([Buffer.from('wrong password '), cut, Buffer.from('... (cut)')]));
    };
    const err = await failure(webhook({ url: base.replace('http://', `http://alice:${encodeURIComponent(password)}@`) + '/ecs' }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: wrong password <hidden>... (cut)`);
  });

  it('hides a password the receiver quotes in an HTML page, escaped as its framework escapes HTML', async () => {
    const password = `pa&ss<w>"rd'+2026`;
    const amp = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
    const escapers = [
      // Python's html.escape; MarkupSafe (Flask, Werkzeug's error pages); Go's html/template; Spring's
      // HtmlUtils and Ruby's ERB; PHP's htmlspecialchars.
      (text: string) => amp(text).replaceAll('"', '&quot;').replaceAll("'", '&#x27;'),
      (text: string) => amp(text).replaceAll('"', '&#34;').replaceAll("'", '&#39;'),
      (text: string) => amp(text).replaceAll('"', '&#34;').replaceAll("'", '&#39;').replaceAll('+', '&#43;'),
      (text: string) => amp(text).replaceAll('"', '&quot;').replaceAll("'", '&#39;'),
      (text: string) => amp(text).replaceAll('"', '&quot;').replaceAll("'", '&#039;'),
    ];
    const hook = webhook({ url: base.replace('http://', `http://alice:${encodeURIComponent(password)}@`) + '/ecs' });
    for (const escape of escapers) {
      answer = (_req, res) => {
        res.statusCode = 401;
        res.end(`<p>wrong password ${escape(password)}</p>`);
      };
      const err = await failure(hook.send(failedResize(), attempt()));
      expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: <p>wrong password <hidden></p>`);
    }
  });

  it('never shows the token in a chat webhook path (Slack, Discord, Teams), in a message or an echoed answer', async () => {
    answer = (req, res) => {
      res.statusCode = 500;
      res.end(`no route for ${req.url}`);
    };
    const token = 'XyZ9sEcReTt0kEn4Ab';
    const err = await failure(webhook({ url: `${base}/services/T0AB12CD3/B0EF45GH6/${token}` }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/services/… answered 500 Internal Server Error: no route for <hidden>`);
    const port = await closedPort();
    const down = await failure(webhook({ url: `http://127.0.0.1:${port}/api/webhooks/1234567890/${token}` }).send(failedResize(), attempt()));
    expect(down.message).toBe(`webhook chat: POST http://127.0.0.1:${port}/api/webhooks/… failed: connection refused by 127.0.0.1:${port}`);
    for (const message of [err.message, down.message]) expect(message).not.toContain(token);
  });

  it("hides the URL's token and the credential headers in the answer's reason phrase as in its body", async () => {
    const token = 'XyZ9sEcReTt0kEn4Ab';
    answer = (req, res) => {
      res.writeHead(req.headers.authorization === undefined ? 404 : 401, req.headers.authorization === undefined ? `no hook at ${req.url}` : `refused ${req.headers.authorization}`);
      res.end();
    };
    const hook = webhook({ url: `${base}/services/T0AB12CD3/B0EF45GH6/${token}` });
    const err = await failure(hook.send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/services/… answered 404 no hook at <hidden>`);
    const key = 'HdrReasonKey-5150';
    const refused = await failure(webhook({ headers: { Authorization: `Bearer ${key}` } }).send(failedResize(), attempt()));
    expect(refused.message).toBe(`webhook chat: POST ${base}/ecs answered 401 refused <hidden>`);
    for (const message of [err.message, refused.message]) expect(message).not.toMatch(new RegExp(`${token}|${key}`));
    // A 2xx's, which notify-test shows.
    answer = (req, res) => {
      res.writeHead(200, `OK for ${req.url}`);
      res.end();
    };
    expect((await hook.send(failedResize(), attempt())).answer).toBe('200 OK for <hidden>');
  });

  it('sends userinfo from the URL as basic authentication', async () => {
    await webhook({ url: base.replace('http://', 'http://alice:pa%24%24word@') + '/ecs' }).send(failedResize(), attempt());
    expect(received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('alice:pa$$word').toString('base64')}`);
  });

  it('accepts only the configured outcomes and closes idempotently', async () => {
    const notifier = webhook();
    expect(notifier.name).toBe('chat');
    expect(notifier.type).toBe('webhook');
    expect(notifier.accepts('failure')).toBe(true);
    expect(notifier.accepts('success')).toBe(false);
    await notifier.close();
    await notifier.close();
  });
});

// Undici's errors name the request's origin and more; what a delivery that never reached its receiver says is
// ours, from the host and port alone: none of the URL's path, query or login, nor a header's credential.
describe('a receiver that cannot be reached', () => {
  const TOKEN = 'PathTok3nSecret7';
  const QUERY = 'QueryTok3nSecret8';
  const LOGIN = 'LoginPa55Secret9';
  const HEADER = 'HdrTok3nSecret10';
  // A receiver whose certificate a private CA signed, which the notifier is not told of.
  const tls = createTlsServer((_req, res) => res.end());
  beforeAll(async () => {
    tls.setSecureContext(makeCertificates(mkdtempSync(join(tmpdir(), 'eaw-webhook-tls-'))));
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
  });
  afterAll(() => tls.close());

  it.each([
    ['a host DNS does not know', () => 'nohost.invalid', /^failed: (host of nohost\.invalid:443 not found in DNS|DNS lookup for nohost\.invalid:443 failed for now)$/],
    ['a port that does not speak TLS', () => new URL(base).host, /^failed: 127\.0\.0\.1:\d+ does not answer TLS \(ERR_SSL_WRONG_VERSION_NUMBER\): a port without TLS, or the wrong port$/],
    ['a certificate of a CA not trusted', () => `127.0.0.1:${(tls.address() as AddressInfo).port}`, /^failed: TLS with 127\.0\.0\.1:\d+ failed: its certificate is refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/],
  ])('%s: the error, its properties and the log lines hold no credential', async (_case, host, said) => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const notifier = createWebhookNotifier(
      'chat',
      { type: 'webhook', url: `https://hook:${LOGIN}@${host()}/hooks/${TOKEN}?access_token=${QUERY}`, headers: { Authorization: `Bearer ${HEADER}` }, timeout: 2000, on: ['failure'], secret: SECRET },
      { logger },
    );
    notifiers.push(notifier);
    const err = await failure(notifier.send(failedResize(), attempt()));
    expect(err.message.replace(/^webhook chat: POST https:\/\/[^/]+\/hooks\/…\?… /, '')).toMatch(said);
    const everything = `${everyProperty(err)}${String(err.stack)}${lines.join('')}`;
    for (const secret of [TOKEN, QUERY, LOGIN, HEADER, SECRET.slice('whsec_'.length)]) expect(everything).not.toContain(secret);
  });
});

// A receiver that refuses a token often names it alone, as it read it: not the URL, which is hidden whole.
describe('a receiver that repeats part of the URL', () => {
  it('has a query token it names hidden, in a 2xx answer as in a refusal (DingTalk access_token=, WeCom key=)', async () => {
    const token = 'QueryTok3nValue9';
    let status = 200;
    answer = (req, res) => {
      res.statusCode = status;
      res.end(JSON.stringify({ errcode: 310000, errmsg: `access_token ${new URL(req.url!, base).searchParams.get('access_token')} is invalid` }));
    };
    const hook = webhook({ url: `${base}/robot/send?access_token=${token}` });
    // DingTalk answers 200 with its error in the body, which notify-test shows.
    const receipt = await hook.send(failedResize(), attempt());
    expect(receipt.answer).toBe('200 OK: {"errcode":310000,"errmsg":"access_token <hidden> is invalid"}');
    status = 400;
    const err = await failure(hook.send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/robot/send?… answered 400 Bad Request: {"errcode":310000,"errmsg":"access_token <hidden> is invalid"}`);
  });

  it('has a path token it names hidden', async () => {
    const token = 'XyZ9sEcReTt0kEn4Ab';
    answer = (req, res) => {
      res.statusCode = 404;
      res.end(`unknown webhook token ${req.url!.split('/').at(-1)}`);
    };
    const err = await failure(webhook({ url: `${base}/services/T0AB12CD3/B0EF45GH6/${token}` }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/services/… answered 404 Not Found: unknown webhook token <hidden>`);
  });

  it('shows a path of plain words as the URL in the message shows it, and hides a query that holds a token whole', async () => {
    answer = (req, res) => {
      res.statusCode = 404;
      res.end(`no webhook receiver at ${req.url!}: this one receives at /hooks/ecs`);
    };
    const wrong = await failure(webhook({ url: `${base}/hooks/nope` }).send(failedResize(), attempt()));
    expect(wrong.message).toBe(`webhook chat: POST ${base}/hooks/nope answered 404 Not Found: no webhook receiver at /hooks/nope: this one receives at /hooks/ecs`);
    const withToken = await failure(webhook({ url: `${base}/hooks/nope?key=QueryTok3nValue9` }).send(failedResize(), attempt()));
    expect(withToken.message).toBe(`webhook chat: POST ${base}/hooks/nope?… answered 404 Not Found: no webhook receiver at /hooks/nope<hidden>: this one receives at /hooks/ecs`);
  });

  it('has query values it repeats decoded hidden: percent-encoded, and + read as a space', async () => {
    answer = (req, res) => {
      const query = new URL(req.url!, base).searchParams;
      res.statusCode = 401;
      res.end(`bad key ${query.get('key')}, bad sig ${query.get('sig')}`);
    };
    const err = await failure(webhook({ url: `${base}/hook?key=Ab%2Bcd%2FEf%3D%3D99&sig=Gh+ij/Kl==` }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/hook?… answered 401 Unauthorized: bad key <hidden>, bad sig <hidden>`);
  });

  it('has a token given as the URL user name alone (https://TOKEN@host/) hidden, as it read it from Basic authentication or as sent', async () => {
    const token = 'Us3rOnlyApiTok3n';
    answer = (req, res) => {
      const sent = (req.headers.authorization ?? '').replace(/^Basic /, '');
      res.statusCode = 401;
      res.end(`unknown api key ${Buffer.from(sent, 'base64').toString().replace(/:$/, '')} in ${sent}`);
    };
    const err = await failure(webhook({ url: base.replace('http://', `http://${token}@`) + '/ecs' }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 401 Unauthorized: unknown api key <hidden> in <hidden>`);
  });
});

describe('a receiver that repeats the token of a configured Authorization header alone', () => {
  it('has it hidden', async () => {
    const token = 'B3arerOnlyTok3n9';
    answer = (req, res) => {
      res.statusCode = 401;
      res.end(`invalid token ${(req.headers.authorization ?? '').replace(/^Bearer /, '')}`);
    };
    const err = await failure(webhook({ url: `${base}/hook`, headers: { Authorization: `Bearer ${token}` } }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/hook answered 401 Unauthorized: invalid token <hidden>`);
  });
});

describe('a receiver that repeats the value of one cookie of a configured Cookie header', () => {
  it('has it hidden', async () => {
    const session = 's3ss10n-T0ken-77ab';
    answer = (req, res) => {
      res.statusCode = 401;
      res.end(`session ${/session=([^;]*)/.exec(req.headers.cookie ?? '')?.[1] ?? ''} expired`);
    };
    const err = await failure(webhook({ url: `${base}/hook`, headers: { Cookie: `lang=en; session=${session}` } }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/hook answered 401 Unauthorized: session <hidden> expired`);
  });

  it('has it hidden as a cookie parser reads it: out of its quotes and percent-decoded (the cookie package, Express)', async () => {
    answer = (req, res) => {
      const value = /session=([^;]*)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
      res.statusCode = 401;
      res.end(`session ${decodeURIComponent(value.replace(/^"(.*)"$/, '$1'))} expired`);
    };
    const err = await failure(webhook({ url: `${base}/hook`, headers: { Cookie: 'session="s3ss%2Fion-T0ken%3D%3D"' } }).send(failedResize(), attempt()));
    expect(err.message).toBe(`webhook chat: POST ${base}/hook answered 401 Unauthorized: session <hidden> expired`);
  });
});

describe('a templated webhook', () => {
  it('posts what its template renders, escaped for JSON, and signs that', async () => {
    const hook = webhook({ secret: SECRET, template: { body: '{"text": "{{headline}}", "reason": "{{reason}}", "n": {{events.length}}}' } });
    await hook.send(failedResize({ reason: 'quote " backslash \\ and\nnewline ✓' }), attempt());
    const [request] = received;
    expect(JSON.parse(request!.body)).toEqual({ text: 'resize failed: web-01', reason: 'quote " backslash \\ and\nnewline ✓', n: 2 });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(() => new Webhook(SECRET).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();
  });

  it('keeps a credential its template writes into the body (PagerDuty\'s routing_key) out of its messages when the receiver echoes the body', async () => {
    answer = (_req, res, body) => {
      res.statusCode = 400;
      res.end(`invalid event: ${body}`);
    };
    const hook = webhook({ template: { body: '{"routing_key": "R0ut1ngKey-5e3d9a", "payload": {"summary": "{{headline}}", "auth": {"token": "Nested-T0ken-77"}}}' } });
    const err = await failure(hook.send(failedResize(), attempt()));
    expect(err.message).toBe(
      `webhook chat: POST ${base}/ecs answered 400 Bad Request: invalid event: {"routing_key": "<hidden>", "payload": {"summary": "resize failed: web-01", "auth": {"token": "<hidden>"}}}`,
    );
  });

  it('sends nothing, and gives up, when a value still breaks the JSON of an unchecked template', async () => {
    // The loader refuses this template (its check renders hostile values); built by hand, the sender still holds.
    const hook = webhook({ template: { body: '{"text": {{{reason}}}}' } });
    const err = await failure(hook.send(failedResize({ reason: 'not\nJSON' }), attempt()));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      "webhook chat: its template rendered invalid JSON for this notification (Unexpected token 'o' at line 1, column 11 of the output, near: {\"text\": not JSON}); fix notifiers.chat.template",
    );
    expect(received).toHaveLength(0);
  });

  it('sends nothing, and gives up at once, when its template renders a batch too large to send', async () => {
    // Refused by the load's check; rendered unchecked, it writes the whole message once per watch.
    const hook = webhook({ template: { body: '{"items": "{{#batch.watches}}{{#text}}{{.}}{{/text}}{{/batch.watches}}"}' } });
    const err = await failure(hook.send(largeFleetDigest(2000), attempt()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^webhook chat: its template renders more than 16 MiB for this notification; fix notifiers\.chat\.template \(a section over a batch's list inside another/);
    expect(received).toHaveLength(0);
    await hook.send(largeFleetDigest(20), attempt());
    expect(received).toHaveLength(1);
  });
});

// nginx's client_max_body_size is 1 MiB by default; a fleet run's digest is many times that.
describe('a receiver that refuses a body past its size limit (413)', () => {
  const LIMIT = 1024 * 1024;
  beforeEach(() => {
    answer = (_req, res, body) => {
      if (Buffer.byteLength(body) <= LIMIT) return void res.end('ok');
      res.writeHead(413, { 'content-type': 'text/html' }).end('<html><head><title>413 Request Entity Too Large</title></head><body><center>nginx</center></body></html>');
    };
  });
  const hook = () => webhook({ url: `${base}/hooks/T0123/secret-token-xyz` });

  it('gives the digest up at once, saying its size and to raise the limit or split the batch', async () => {
    const err = await failure(hook().send(largeFleetDigest(4000), attempt()));
    const sent = Number(received[0]!.headers['content-length']);
    expect(sent).toBeGreaterThan(LIMIT);
    expect([err.reason, err.retryable, err.status]).toEqual(['refused', false, 413]);
    expect(err.message).toBe(
      `webhook chat: POST ${base}/hooks/… answered 413 Payload Too Large (a body of ${Math.ceil((sent / LIMIT) * 10) / 10} MiB, more than the receiver takes: ` +
        "raise its limit on a request's size (nginx: client_max_body_size), or split batch fleet-resize into batches of fewer watches, each its own batch: label): " +
        '<html><head><title>413 Request Entity Too Large</title></head><body><center>nginx</center></body></html>',
    );
    expect(err.message).not.toContain('secret-token-xyz');
    expect(received).toHaveLength(1);
  });

  it("says a single watch's size and to raise the limit, there being no batch to split", async () => {
    answer = (_req, res) => res.writeHead(413).end();
    const err = await failure(hook().send(failedResize(), attempt()));
    const sent = Number(received[0]!.headers['content-length']);
    expect(err.message).toBe(
      `webhook chat: POST ${base}/hooks/… answered 413 Payload Too Large (a body of ${Math.ceil((sent / 1024) * 10) / 10} KiB, more than the receiver takes: ` +
        "raise its limit on a request's size (nginx: client_max_body_size))",
    );
  });
});

describe('a 2xx answer with a body', () => {
  it('counts as delivered and quotes the start of it, as chat robots say what went wrong there', async () => {
    answer = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"errcode":310000,"errmsg":"keywords not in content"}');
    };
    const receipt = await webhook().send(failedResize(), attempt());
    expect(receipt).toEqual({ answer: '200 OK: {"errcode":310000,"errmsg":"keywords not in content"}', refused: [] });
  });
});

// The receiver has the notification once its status came: failing after it would send it a second time.
describe('an answer whose body breaks off or stalls', () => {
  // The status line and a part of a promised longer body, then the connection is cut.
  const cutAfter = (status: number) => (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-length': '1000' });
    res.write('{"ok":');
    setImmediate(() => res.destroy());
  };
  // The same, then nothing more until the sender's timeout.
  const stallAfter = (status: number, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-length': '1000', ...headers });
    res.write('{"ok":');
  };

  it('counts as delivered once a 2xx status came: the receiver has had the notification, a retry would only repeat it', async () => {
    answer = cutAfter(200);
    const receipt = await webhook().send(failedResize(), attempt());
    expect(receipt.answer).toMatch(/^200 OK/);
    expect(received).toHaveLength(1);
  });

  it('still says the status of a 5xx and retries', async () => {
    answer = cutAfter(503);
    const err = (await webhook().send(failedResize(), attempt()).catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ retryable: true, status: 503 });
    expect(err.message).toMatch(/answered 503 Service Unavailable/);
  });

  it('counts as delivered when a 2xx body stalls past the timeout, quoting what came', async () => {
    answer = stallAfter(200);
    expect(await webhook({ timeout: 200 }).send(failedResize(), attempt())).toEqual({ answer: '200 OK: {"ok":', refused: [] });
  });

  it('retries when only an interim answer came (102 Processing, 103 Early Hints) before the timeout or a dropped connection: the receiver has not answered yet', async () => {
    answer = (_req, res) => res.writeProcessing();
    const stalled = await failure(webhook({ timeout: 200 }).send(failedResize(), attempt()));
    expect(stalled).toMatchObject({ retryable: true, status: undefined });
    expect(stalled.message).toBe(`webhook chat: POST ${base}/ecs timed out: no answer from 127.0.0.1:${new URL(base).port} within 200 ms`);

    answer = (_req, res) => {
      res.writeEarlyHints({ link: '</status>; rel=preload' });
      setImmediate(() => res.destroy());
    };
    const dropped = await failure(webhook().send(failedResize(), attempt()));
    expect(dropped).toMatchObject({ retryable: true, status: undefined });
    expect(dropped.message).toMatch(/failed: connection .* (closed unexpectedly|reset)/);
  });

  it('keeps the status and Retry-After of a 5xx whose body stalls past the timeout', async () => {
    answer = stallAfter(503, { 'retry-after': '7' });
    const err = await failure(webhook({ timeout: 200 }).send(failedResize(), attempt()));
    expect(err).toMatchObject({ retryable: true, status: 503, retryAfterMs: 7000 });
    expect(err.message).toBe(`webhook chat: POST ${base}/ecs answered 503 Service Unavailable: {"ok":`);
  });
});
