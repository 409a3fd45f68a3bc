// What a request leaves behind once it has ended: on the long-lived signals it listens to (the client's close,
// the engine's), and in undici's timers. A listener that still reached the request's handler kept its answer,
// its body and the poll awaiting it alive long enough for V8 to promote them all (see listenForAbort): this is
// that promise, through a real request on loopback and a real garbage collection.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { abortListeners } from '../../src/lifecycle/abort.ts';
import { requestText } from '../../src/net/requestText.ts';
import { collectGarbage } from '../gc.ts';
import { runIsolated, sourceModule } from '../isolated.ts';

let server: Server;
let url: string;
let received = 0;
const agent = new Agent();
const LIMITS = { timeoutMs: 5000, keep: 1 << 20, keepError: 1 << 16, drain: 1 << 20 };

beforeAll(async () => {
  server = createServer((_req, res) => {
    received++;
    res.end('{"instanceAction": {}}'.padEnd(4000));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await agent.close();
  server.close();
  await once(server, 'close');
});

/** One request listening to `signal`; what listened to it while the request ran, and a weak reference to the answer. */
async function oneRequest(signal: AbortSignal): Promise<{ listeners: unknown[]; answer: WeakRef<object> }> {
  const pending = requestText(agent, { method: 'GET', url, headers: {} }, LIMITS, [signal]);
  const listeners = [...abortListeners(signal)];
  const answer = await pending;
  expect(answer.status).toBe(200);
  return { listeners, answer: new WeakRef(answer) };
}

it('leaves nothing of a finished request reachable from its abort listener, even one that something still holds', async () => {
  const longLived = new AbortController();
  const { listeners, answer } = await oneRequest(longLived.signal);
  expect(listeners).toHaveLength(1);
  // Taken out of the signal's listeners when the request ended...
  expect(abortListeners(longLived.signal).size).toBe(0);
  // ...and, held here as V8 held it, the listener no longer reaches the answer.
  await collectGarbage();
  expect(answer.deref()).toBeUndefined();
  // Read after the collection, so that the listeners were held through it.
  expect(listeners).toHaveLength(1);
});

it('still aborts a request in flight when the long-lived signal aborts', async () => {
  const stalled = createServer(() => undefined).listen(0, '127.0.0.1');
  await once(stalled, 'listening');
  try {
    const longLived = new AbortController();
    const stalledUrl = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}/`;
    const pending = requestText(agent, { method: 'GET', url: stalledUrl, headers: {} }, LIMITS, [longLived.signal]);
    longLived.abort(new Error('closing'));
    await expect(pending).rejects.toThrow('closing');
  } finally {
    stalled.closeAllConnections();
    stalled.close();
  }
});

it('keeps `keep` bytes of a 2xx body and `keepError` of any other, and says when it kept less than came', async () => {
  const answering = createServer((req, res) => {
    res.statusCode = req.url === '/failed' ? 500 : 200;
    res.end('0123456789'.repeat(10));
  }).listen(0, '127.0.0.1');
  await once(answering, 'listening');
  try {
    const base = `http://127.0.0.1:${(answering.address() as AddressInfo).port}`;
    const get = (path: string, keep: number) => requestText(agent, { method: 'GET', url: `${base}${path}`, headers: {} }, { timeoutMs: 5000, keep, keepError: 15, drain: 1000 }, []);
    expect(await get('/', 25)).toMatchObject({ status: 200, text: '0123456789012345678901234', truncated: true });
    expect(await get('/failed', 25)).toMatchObject({ status: 500, text: '012345678901234', truncated: true });
    expect(await get('/', 100)).toMatchObject({ status: 200, text: '0123456789'.repeat(10), truncated: false });
  } finally {
    answering.closeAllConnections();
    answering.close();
  }
});

it('resolves with what came of a body broken off after its status, said to be cut, when told the answer counts', async () => {
  const breaking = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('accepted', () => res.destroy());
  }).listen(0, '127.0.0.1');
  await once(breaking, 'listening');
  try {
    const request = { method: 'POST', url: `http://127.0.0.1:${(breaking.address() as AddressInfo).port}/`, headers: {}, body: '{}' };
    const answer = await requestText(agent, request, { ...LIMITS, answeredOnBodyError: true }, []);
    expect(answer).toMatchObject({ status: 200, text: 'accepted', truncated: true });
    await expect(requestText(agent, request, LIMITS, [])).rejects.toMatchObject({ code: 'UND_ERR_SOCKET', message: 'other side closed' });
  } finally {
    breaking.closeAllConnections();
    breaking.close();
  }
});

it('resolves with what came of a body stalled past timeoutMs for the statuses told that the answer counts, and fails for the others', async () => {
  const stalling = createServer((req, res) => {
    res.writeHead(req.url === '/refused' ? 401 : 200, { 'content-length': '100' });
    res.write('{"error": ');
  }).listen(0, '127.0.0.1');
  await once(stalling, 'listening');
  try {
    const base = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`;
    const limits = { ...LIMITS, timeoutMs: 1500, answeredOnBodyError: (status: number) => status === 401 };
    const refused = requestText(agent, { method: 'GET', url: `${base}/refused`, headers: {} }, limits, []);
    const other = requestText(agent, { method: 'GET', url: `${base}/other`, headers: {} }, limits, []);
    expect(await refused).toMatchObject({ status: 401, text: '{"error": ', truncated: true });
    await expect(other).rejects.toMatchObject({ name: 'TimeoutError' });
  } finally {
    stalling.closeAllConnections();
    stalling.close();
  }
});

it('fails with a TimeoutError that says how long it waited when the answer takes longer than timeoutMs', async () => {
  const stalled = createServer(() => undefined).listen(0, '127.0.0.1');
  await once(stalled, 'listening');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  try {
    const stalledUrl = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}/`;
    const pending = requestText(agent, { method: 'GET', url: stalledUrl, headers: {} }, { ...LIMITS, timeoutMs: 30_000 }, []);
    const failed = expect(pending).rejects.toMatchObject({ name: 'TimeoutError', message: 'timed out after 30000 ms' });
    await vi.advanceTimersByTimeAsync(30_000);
    await failed;
  } finally {
    vi.useRealTimers();
    stalled.closeAllConnections();
    stalled.close();
  }
});

it('sends nothing for a signal aborted while the request waits to go out', async () => {
  const closing = new AbortController();
  const before = received;
  const pending = requestText(agent, { method: 'GET', url, headers: {} }, LIMITS, [closing.signal]);
  closing.abort(new Error('client closed'));
  await expect(pending).rejects.toThrow('client closed');
  // A request that had gone out would have reached the server by the time another one has.
  await requestText(agent, { method: 'GET', url, headers: {} }, LIMITS, []);
  expect(received).toBe(before + 1);
});

it('sends nothing for a signal that is already aborted, and throws its reason', async () => {
  const closed = new AbortController();
  closed.abort(new Error('client closed'));
  const before = received;
  expect(() => requestText(agent, { method: 'GET', url, headers: {} }, LIMITS, [undefined, closed.signal])).toThrow('client closed');
  // A request that had gone out would have reached the server by the time another one has.
  await requestText(agent, { method: 'GET', url, headers: {} }, LIMITS, []);
  expect(received).toBe(before + 1);
});

/**
 * How many of undici's fast timers 500 requests make, 50 at a time, on open connections: through
 * requestText, and through requestText with undici's headers and body timeouts put back on each dispatch
 * (the premise: that each such request makes one). undici's list keeps a cleared fast timer until its next
 * tick, half a second on, long enough for a young-generation collection to age it into the old generation:
 * what a steady poll most often promoted. Counted at undici's own setFastTimeout, which its HTTP/1 client
 * calls through the module's object; a process of its own, with its own server.
 */
function fastTimersMade(): { own: number; withUndiciTimeouts: number } {
  const body = `
    import { once } from 'node:events';
    import { createServer } from 'node:http';
    import { Agent } from 'undici';
    import timers from 'undici/lib/util/timers.js';
    const { requestText } = await import(${sourceModule('net/requestText.ts')});
    let made = 0;
    const setFastTimeout = timers.setFastTimeout;
    timers.setFastTimeout = (...args) => {
      made += 1;
      return setFastTimeout(...args);
    };
    const server = createServer((_req, res) => res.end('{"instanceAction": {}}')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = 'http://127.0.0.1:' + server.address().port + '/';
    const agent = new Agent({ connections: 50 });
    const timed = { dispatch: (options, handler) => agent.dispatch({ ...options, headersTimeout: 30000, bodyTimeout: 30000 }, handler) };
    const limits = { timeoutMs: 30000, keep: 1 << 16, keepError: 1 << 16, drain: 1 << 16 };
    const send = async (dispatcher) => {
      const before = made;
      await Promise.all(Array.from({ length: 50 }, async () => {
        for (let i = 0; i < 10; i++) await requestText(dispatcher, { method: 'GET', url, headers: {} }, limits, []);
      }));
      return made - before;
    };
    // The connections opened first (each connect has a fast timer of its own).
    await send(agent);
    const own = await send(agent);
    const withUndiciTimeouts = await send(timed);
    await agent.close();
    server.close();
    process.stdout.write(JSON.stringify({ own, withUndiciTimeouts }));
  `;
  return JSON.parse(runIsolated(body)) as { own: number; withUndiciTimeouts: number };
}

it('makes no timer of undici\'s for a request, to be aged into the old generation once it has ended', () => {
  const made = fastTimersMade();
  // The premise, 500 when measured: one for each request.
  expect(made.withUndiciTimeouts, 'undici no longer makes a fast timer for each request').toBeGreaterThanOrEqual(500);
  expect(made.own).toBe(0);
});
