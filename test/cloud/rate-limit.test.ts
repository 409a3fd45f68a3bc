import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { cloudConfig } from './helpers.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { createEcsClient, type EcsClient } from '../../src/cloud/client.ts';
import { ApiError } from '../../src/cloud/ApiError.ts';
import { RateLimiter } from '../../src/cloud/rateLimiter.ts';
import { readCaFile } from '../../src/net/caFile.ts';
import { trustedCertificates } from '../../src/net/tls.ts';
import { makeCertificates } from '../certificates.ts';

const PROJECT = '0b4e1c8d6f2a4e0e9d3c2b1a0f9e8d7c';
const PASSWORD = 'rate-limit-SECRET';
const silent = pino({ level: 'silent' });

/** The most requests the simulator received in any window of `ms` (half-open: [t, t + ms)). */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= ms) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe('the rate limit at the cloud', () => {
  let simulator: Simulator;
  let client: EcsClient;
  afterEach(async () => {
    vi.useRealTimers();
    await client.close();
    await simulator.close();
  });

  it('holds in every sliding window for polls, version documents and token requests alike', async () => {
    simulator = await startSimulator({ identity: { user: { name: 'svc', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' } } });
    const requestId = simulator.addAction({ projectId: PROJECT, serverId: 's1', action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 60_000 }] });
    client = createEcsClient(
      cloudConfig({
        endpoint: simulator.url,
        microversion: 'auto',
        timeout: 5000,
        auth: { type: 'password', identityEndpoint: simulator.identityUrl, user: 'svc', domain: 'Default', password: PASSWORD, projectId: PROJECT },
      }),
      { logger: silent, rateLimit: { count: 3, perMs: 200 } },
    );
    const polls = () => Promise.all(Array.from({ length: 8 }, () => client.getInstanceAction({ projectId: PROJECT, serverId: 's1', requestId })));
    await polls();
    // A revoked token makes the client log in again between polls.
    simulator.revokeTokens();
    await polls();

    const routes = new Set(simulator.requests.map((r) => r.route));
    expect(routes).toContain('identity');
    expect(routes).toContain('versions');
    expect(simulator.requests.filter((r) => r.route === 'identity')).toHaveLength(2);
    // Without the limit, all of them arrive within a few milliseconds.
    expect(busiestWindow(simulator.requests.map((r) => r.at), 200)).toBe(3);
  });

  it('after stopWaiting(), refuses at once a poll whose token request would wait for the rate limit, as it does a poll that would', async () => {
    simulator = await startSimulator({ identity: { user: { name: 'svc', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' } } });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const limiter = new RateLimiter({ count: 1, perMs: 60_000 }, silent);
    client = createEcsClient(
      cloudConfig({
        endpoint: simulator.url,
        microversion: '2.60',
        auth: { type: 'password', identityEndpoint: simulator.identityUrl, user: 'svc', domain: 'Default', password: PASSWORD, projectId: PROJECT },
      }),
      { logger: silent, limiter },
    );
    // The window's one request is spent: the next may go a minute on.
    limiter.tryAcquire()!({ throttled: false });
    client.stopWaiting();
    let settled = 'still waiting';
    void client.getServer({ projectId: PROJECT, serverId: 's1' }).then(
      () => (settled = 'answered'),
      (err: unknown) => (settled = (err as Error).message),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(settled).toMatch(/^stopping: /);
    expect(simulator.requests).toHaveLength(0);
    limiter.close();
  });

  it('counts no request in its window that never reached the cloud (connection refused): the window is not full of them once the cloud is back', async () => {
    simulator = await startSimulator();
    const { port } = new URL(simulator.url);
    await simulator.close();
    // An hour's window, which a cloud that refused connections for a few minutes (at 4 retries a poll) filled
    // with requests it never got: no poll went for the rest of the hour.
    const limiter = new RateLimiter({ count: 2, perMs: 3_600_000 }, silent);
    client = createEcsClient(cloudConfig({ endpoint: `http://127.0.0.1:${port}`, microversion: '2.60', timeout: 5000 }), { logger: silent, limiter });
    const ref = { projectId: PROJECT, serverId: 's1', requestId: 'req-1' };
    for (let i = 0; i < 2; i++) {
      const failed = await client.getInstanceAction(ref).catch((err: unknown) => err);
      expect((failed as ApiError).message).toContain('ECONNREFUSED');
    }
    simulator = await startSimulator({ port: Number(port) });
    simulator.addAction({ ...ref, action: 'reboot', steps: [] });
    client.stopWaiting();
    // A poll that would wait for the window rejects now ('stopping: ...'): this one goes at once.
    expect(await client.getInstanceAction(ref)).toMatchObject({ action: 'reboot' });
    limiter.close();
  });

  it('... nor one whose connection found no route to the cloud (ENETUNREACH, as a route or a VPN tunnel lost gives)', async () => {
    simulator = await startSimulator();
    const limiter = new RateLimiter({ count: 2, perMs: 3_600_000 }, silent);
    // TCP to a multicast address: Linux refuses the connect at once, the network unreachable.
    client = createEcsClient(cloudConfig({ endpoint: 'http://224.0.0.1:9', microversion: '2.60', timeout: 5000 }), { logger: silent, limiter });
    const ref = { projectId: PROJECT, serverId: 's1', requestId: 'req-1' };
    for (let i = 0; i < 2; i++) {
      const failed = await client.getInstanceAction(ref).catch((err: unknown) => err);
      expect((failed as ApiError).message).toContain('ENETUNREACH');
    }
    await client.close();
    simulator.addAction({ ...ref, action: 'reboot', steps: [] });
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent, limiter });
    client.stopWaiting();
    // A poll that would wait for the window rejects now ('stopping: ...'): this one goes at once.
    expect(await client.getInstanceAction(ref)).toMatchObject({ action: 'reboot' });
    limiter.close();
  });

  it('... nor one whose TLS handshake refused the cloud\'s certificate, before any request went over it', async ({ onTestFinished }) => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-rate-tls-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const made = makeCertificates(dir);
    simulator = await startSimulator({ tls: { key: made.key, cert: made.cert } });
    const ref = { projectId: PROJECT, serverId: 's1', requestId: 'req-1' };
    simulator.addAction({ ...ref, action: 'reboot', steps: [] });
    const limiter = new RateLimiter({ count: 2, perMs: 3_600_000 }, silent);
    // The private CA not yet in cloud.tls.caFile (or the cloud's certificate expired for a while).
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent, limiter });
    for (let i = 0; i < 2; i++) {
      const failed = await client.getInstanceAction(ref).catch((err: unknown) => err);
      expect((failed as ApiError).kind).toBe('certificate');
    }
    await client.close();
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent, limiter, ca: trustedCertificates(readCaFile(made.caFile)) });
    client.stopWaiting();
    // A poll that would wait for the window rejects now ('stopping: ...'): this one goes at once.
    expect(await client.getInstanceAction(ref)).toMatchObject({ action: 'reboot' });
    expect(simulator.requests).toHaveLength(1);
    limiter.close();
  });

  it('... nor one that timed out before a connection took it (a cloud whose TLS never answers, as a black-holed network gives)', async ({ onTestFinished }) => {
    // Takes the connection and says nothing: the TLS handshake waits until cloud.timeout, no request went over it.
    const silentPeer = createServer(() => undefined);
    silentPeer.listen(0, '127.0.0.1');
    await once(silentPeer, 'listening');
    onTestFinished(() => {
      silentPeer.close();
    });
    simulator = await startSimulator();
    const ref = { projectId: PROJECT, serverId: 's1', requestId: 'req-1' };
    simulator.addAction({ ...ref, action: 'reboot', steps: [] });
    const limiter = new RateLimiter({ count: 2, perMs: 3_600_000 }, silent);
    client = createEcsClient(cloudConfig({ endpoint: `https://127.0.0.1:${(silentPeer.address() as AddressInfo).port}`, microversion: '2.60', timeout: 300 }), { logger: silent, limiter });
    for (let i = 0; i < 2; i++) {
      const failed = await client.getInstanceAction(ref).catch((err: unknown) => err);
      expect((failed as ApiError).kind).toBe('timeout');
    }
    await client.close();
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent, limiter });
    client.stopWaiting();
    // A poll that would wait for the window rejects now ('stopping: ...'): this one goes at once.
    expect(await client.getInstanceAction(ref)).toMatchObject({ action: 'reboot' });
    limiter.close();
  });

  it('... nor one whose tunnel the proxy would not open (502: its own way to the cloud failed), which it never passed on', async ({ onTestFinished }) => {
    const proxy = createHttpServer();
    proxy.on('connect', (_req, socket: Socket) => socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    onTestFinished(() => {
      vi.unstubAllEnvs();
      proxy.close();
    });
    for (const name of ['HTTP_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy']) vi.stubEnv(name, undefined);
    vi.stubEnv('HTTPS_PROXY', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    simulator = await startSimulator();
    const ref = { projectId: PROJECT, serverId: 's1', requestId: 'req-1' };
    simulator.addAction({ ...ref, action: 'reboot', steps: [] });
    const limiter = new RateLimiter({ count: 2, perMs: 3_600_000 }, silent);
    client = createEcsClient(cloudConfig({ endpoint: 'https://ecs.example.com', microversion: '2.60', timeout: 5000 }), { logger: silent, limiter });
    for (let i = 0; i < 2; i++) {
      const failed = await client.getInstanceAction(ref).catch((err: unknown) => err);
      expect((failed as ApiError).message).toContain('could not reach ecs.example.com:443 (502 Bad Gateway)');
    }
    await client.close();
    vi.stubEnv('HTTPS_PROXY', undefined);
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent, limiter });
    client.stopWaiting();
    // A poll that would wait for the window rejects now ('stopping: ...'): this one goes at once.
    expect(await client.getInstanceAction(ref)).toMatchObject({ action: 'reboot' });
    limiter.close();
  });

  it("pauses every request after Huawei's APIGW.0308, which names no Retry-After", async () => {
    simulator = await startSimulator();
    const requestId = simulator.addAction({ projectId: PROJECT, serverId: 's1', action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 60_000 }] });
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent });
    const ref = { projectId: PROJECT, serverId: 's1', requestId };
    simulator.injectFault({ kind: 'gateway-throttled' });
    const refused = await client.getInstanceAction(ref).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).kind).toBe('rate_limited');
    await Promise.all([client.getInstanceAction(ref), client.getInstanceAction(ref)]);
    const [throttled, ...after] = simulator.requests.map((r) => r.at);
    for (const at of after) expect(at - throttled!).toBeGreaterThanOrEqual(1000);
  });

  it('pauses after a 429 whose Retry-After is a negative number as after one without: it is no date of 2001, nor a pause of none', async () => {
    simulator = await startSimulator();
    const requestId = simulator.addAction({ projectId: PROJECT, serverId: 's1', action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 60_000 }] });
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent });
    const ref = { projectId: PROJECT, serverId: 's1', requestId };
    simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: -5 });
    const refused = await client.getInstanceAction(ref).catch((err: unknown) => err);
    await client.getInstanceAction(ref);
    const [throttled, after] = simulator.requests.map((r) => r.at);
    expect(after! - throttled!).toBeGreaterThanOrEqual(1000);
    expect((refused as ApiError).kind).toBe('rate_limited');
    expect((refused as ApiError).message).not.toMatch(/retry after/);
  });

  it('tells when the last request ended, answered or refused: the sign that a pass still moves (watch/stuck.ts)', async () => {
    simulator = await startSimulator();
    client = createEcsClient(cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }), { logger: silent });
    expect(client.lastRequestEndedAt()).toBe(-Infinity);
    const before = performance.now();
    await expect(client.getInstanceAction({ projectId: PROJECT, serverId: 's1', requestId: 'req-unknown' })).rejects.toBeInstanceOf(ApiError);
    const refused = client.lastRequestEndedAt();
    expect(refused).toBeGreaterThanOrEqual(before);
    expect(refused).toBeLessThanOrEqual(performance.now());
    simulator.injectFault({ kind: 'reset' });
    await client.getServer({ projectId: PROJECT, serverId: 's1' }).catch(() => undefined);
    expect(client.lastRequestEndedAt()).toBeGreaterThan(refused);
  });
});

describe('RateLimiter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Starts `n` acquisitions and returns the fake time at which each was granted (null while waiting). */
  function acquireAll(limiter: RateLimiter, n: number) {
    const granted: Array<number | null> = Array.from({ length: n }, () => null);
    const releases = Array.from({ length: n }, (_, i) =>
      limiter.acquire().then((release) => {
        granted[i] = Date.now();
        return release;
      }),
    );
    return { granted, releases };
  }

  /** A limiter of 8 a second that sent its 8, whose first came back a 429 asking for `retryAfterMs`. */
  async function throttledAtEight(retryAfterMs: number): Promise<RateLimiter> {
    const limiter = new RateLimiter({ count: 8, perMs: 1000 }, silent, Date.now);
    const first = acquireAll(limiter, 8);
    await vi.advanceTimersByTimeAsync(0);
    for (const release of first.releases.slice(1)) (await release)({ throttled: false });
    (await first.releases[0]!)({ throttled: true, retryAfterMs });
    return limiter;
  }

  it('counts a request until a window after its answer, so that slow answers cannot crowd the far end', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 2, perMs: 1000 }, silent, Date.now);
    const { granted, releases } = acquireAll(limiter, 3);
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 0, null]);
    await vi.advanceTimersByTimeAsync(300);
    (await releases[0]!)({ throttled: false });
    await vi.advanceTimersByTimeAsync(999);
    expect(granted[2]).toBeNull();
    await vi.advanceTimersByTimeAsync(2);
    expect(granted[2]).toBe(1301);
  });

  it('waits out Retry-After, halves the rate, and grows back to the limit a quarter per window', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = await throttledAtEight(3000);

    const second = acquireAll(limiter, 8);
    await vi.advanceTimersByTimeAsync(2999);
    expect(second.granted.every((g) => g === null)).toBe(true);
    await vi.advanceTimersByTimeAsync(2);
    // Eight were sent in the window of the 429: four now.
    expect(second.granted.filter((g) => g !== null)).toHaveLength(4);
    for (const release of second.releases.slice(0, 4)) (await release)({ throttled: false });
    await vi.advanceTimersByTimeAsync(1001);
    expect(second.granted.filter((g) => g !== null)).toHaveLength(8);
  });

  it('pauses a Retry-After of more than a minute for a minute, then asks again: a longer pause would look like a stuck loop', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    (await limiter.acquire())({ throttled: true, retryAfterMs: 300_000 });
    const next = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(next.granted[0]).toBeNull();
    await vi.advanceTimersByTimeAsync(2);
    expect(next.granted[0]).toBe(60_001);
  });

  it('tells onPause of each pause a 429 begins, with the Retry-After asked, and not of the 429s answered during it that ask for no longer', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    const told: unknown[] = [];
    limiter.onPause((pause) => told.push(pause));
    const burst = acquireAll(limiter, 3);
    await vi.advanceTimersByTimeAsync(0);
    (await burst.releases[0]!)({ throttled: true, retryAfterMs: 300_000 });
    // Sent before it and answered during its pause: the pause goes on, and is not told again.
    (await burst.releases[1]!)({ throttled: true, retryAfterMs: 300_000 });
    await vi.advanceTimersByTimeAsync(5000);
    (await burst.releases[2]!)({ throttled: true });
    expect(told).toEqual([{ forMs: 60_000, retryAfterMs: 300_000 }]);
    const next = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(60_001);
    (await next.releases[0]!)({ throttled: true });
    expect(told).toEqual([{ forMs: 60_000, retryAfterMs: 300_000 }, { forMs: 2000, retryAfterMs: undefined }]);
  });

  it('tells onPause of a 429 sent before the pause began that lengthens it a second or more: check said nothing of the minute it asked for', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    const told: unknown[] = [];
    limiter.onPause((pause) => told.push(pause));
    const burst = acquireAll(limiter, 3);
    await vi.advanceTimersByTimeAsync(0);
    // The gateway's APIGW.0308 leaves the pause to the client (1 s, which check does not say); the API
    // behind it asks for a minute, to a request of the same burst answered a moment later.
    (await burst.releases[0]!)({ throttled: true });
    await vi.advanceTimersByTimeAsync(300);
    (await burst.releases[1]!)({ throttled: true, retryAfterMs: 60_000 });
    // Answered 400 ms after the first, and pausing no longer than it: nothing new to tell.
    await vi.advanceTimersByTimeAsync(100);
    (await burst.releases[2]!)({ throttled: true });
    expect(told).toEqual([{ forMs: 1000, retryAfterMs: undefined }, { forMs: 60_000, retryAfterMs: 60_000 }]);
  });

  it('tells onPause the pause as decided, on a clock with fractions of a millisecond', async () => {
    vi.useFakeTimers({ now: 0 });
    // performance.now()'s kind of time, at which (t + 60000) - t is 60000.000000000015: `check` said 1m01s.
    const limiter = new RateLimiter(undefined, silent, () => Date.now() + 116_299.229_258_499_44);
    const told: unknown[] = [];
    limiter.onPause((pause) => told.push(pause));
    (await limiter.acquire())({ throttled: true, retryAfterMs: 3_600_000 });
    expect(told).toEqual([{ forMs: 60_000, retryAfterMs: 3_600_000 }]);
  });

  it('pauses 1 s after a 429 without Retry-After, then 2 s after a second one in a row', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    (await limiter.acquire())({ throttled: true });
    const second = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1001);
    expect(second.granted[0]).not.toBeNull();
    (await second.releases[0]!)({ throttled: true });
    const third = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(third.granted[0]).toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    expect(third.granted[0]).not.toBeNull();
  });

  it('says it is slowed while a pause lasts or the rate a 429 lowered holds requests back, not while that rate lets every request go at once', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 50, perMs: 1000 }, silent, Date.now);
    // Ten watches polled every 5 min; the first pass meets a 429 asking for 30 s. Sampled as /metrics is, every 15 s.
    const passes: Array<{ waitedMs: number; slowed: boolean[] }> = [];
    for (let pass = 0; pass < 10; pass++) {
      const start = Date.now();
      let waitedMs = 0;
      const polls = Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const release = await limiter.acquire();
        waitedMs = Math.max(waitedMs, Date.now() - start);
        release(pass === 0 && i === 0 ? { throttled: true, retryAfterMs: 30_000 } : { throttled: false });
      }));
      const slowed = [];
      for (let t = 0; t < 300_000; t += 15_000) {
        await vi.advanceTimersByTimeAsync(t === 0 ? 0 : 15_000);
        slowed.push(limiter.throttleState().slowed);
      }
      await vi.advanceTimersByTimeAsync(15_000);
      await polls;
      passes.push({ waitedMs, slowed });
    }
    expect(passes[0]!.slowed[1]).toBe(true);
    // The pass after the pause goes at half the rate: five wait a window.
    expect(passes[1]!.waitedMs).toBeGreaterThan(1000);
    expect(passes[1]!.slowed[0]).toBe(true);
    // From then on every request goes at once: the rate, grown back to 12 a second or more, holds none
    // back, though still below 50 (EcsActionWatchCloudThrottling fired 30 min on, 25 min after the 429s ended).
    for (const { waitedMs, slowed } of passes.slice(2)) {
      expect(waitedMs).toBe(0);
      expect(slowed.every((s) => !s)).toBe(true);
    }
    limiter.close();
  });

  it('lets a caller stop waiting', async () => {
    const limiter = new RateLimiter({ count: 1, perMs: 60_000 }, silent);
    await limiter.acquire();
    const stop = new AbortController();
    const waiting = limiter.acquire([stop.signal]);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    limiter.close();
  });

  it('drops every waiter of an aborted signal from the queue, so that the next slot goes to one still waiting', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 1, perMs: 1000 }, silent, Date.now);
    (await limiter.acquire())({ throttled: false });
    const closing = new AbortController();
    const cancelled = [limiter.acquire([closing.signal]), limiter.acquire([undefined, closing.signal])];
    let granted = false;
    const live = limiter.acquire().then((release) => {
      granted = true;
      return release;
    });
    closing.abort(new Error('closing'));
    for (const waiter of cancelled) await expect(waiter).rejects.toThrow('closing');
    await vi.advanceTimersByTimeAsync(1001);
    expect(granted).toBe(true);
    (await live)({ throttled: false });
    limiter.close();
  });

  it('serves waiters first come, first served: a caller arriving as a slot frees queues behind one already waiting', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 1, perMs: 1000 }, silent, Date.now);
    (await limiter.acquire())({ throttled: false });
    const waiting = acquireAll(limiter, 1);
    // The answer has left the window; the waiter's wake-up is a millisecond away.
    await vi.advanceTimersByTimeAsync(1000);
    expect(limiter.tryAcquire()).toBeUndefined();
    const late = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.granted[0]).not.toBeNull();
    expect(late.granted[0]).toBeNull();
    limiter.close();
  });

  it('refuses a caller whose signal was aborted before it asked, without taking the slot', async () => {
    const limiter = new RateLimiter({ count: 1, perMs: 1000 }, silent);
    const stop = new AbortController();
    stop.abort(new Error('stopped'));
    await expect(limiter.acquire([stop.signal])).rejects.toThrow('stopped');
    expect(limiter.tryAcquire()).toBeDefined();
  });

  it('counts a request once however often its release is called', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 1, perMs: 1000 }, silent, Date.now);
    const release = await limiter.acquire();
    release({ throttled: false });
    release({ throttled: false });
    await vi.advanceTimersByTimeAsync(1000);
    expect(limiter.tryAcquire()).toBeDefined();
    expect(limiter.tryAcquire()).toBeUndefined();
  });

  it('keeps the longer pause when a later 429 asks for a shorter one', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    const long = await limiter.acquire();
    const short = await limiter.acquire();
    long({ throttled: true, retryAfterMs: 10_000 });
    short({ throttled: true, retryAfterMs: 1000 });
    const next = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(next.granted[0]).toBeNull();
    await vi.advanceTimersByTimeAsync(2);
    expect(next.granted[0]).toBe(10_001);
  });

  it('halves the rate once for a burst of 429s: those to requests in flight at the first neither halve it again nor double the pause', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 50, perMs: 1000 }, silent, Date.now);
    const burst = acquireAll(limiter, 50);
    await vi.advanceTimersByTimeAsync(0);
    for (const release of burst.releases) (await release)({ throttled: true });
    const after = acquireAll(limiter, 50);
    await vi.advanceTimersByTimeAsync(999);
    expect(after.granted.filter((g) => g !== null)).toHaveLength(0);
    // One pause of 1 s, and 25 a window: not 1 after halving 50 times, nor a pause of 2^49 s cut to a minute.
    await vi.advanceTimersByTimeAsync(2);
    expect(after.granted.filter((g) => g !== null)).toHaveLength(25);
    limiter.close();
  });

  it('doubles the pause, and keeps the rate, at a 429 in the first window after a pause; halves the rate at one a whole window on', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = await throttledAtEight(1000);
    // The first request after the pause: the cloud still holds its own penalty, whatever our rate.
    const early = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1001);
    (await early.releases[0]!)({ throttled: true });
    const next = acquireAll(limiter, 8);
    await vi.advanceTimersByTimeAsync(1999);
    expect(next.granted.filter((g) => g !== null)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2);
    // Still four a window, as halved at the first 429.
    expect(next.granted.filter((g) => g !== null)).toHaveLength(4);
    for (const release of next.releases.slice(0, 4)) (await release)({ throttled: false });
    // A whole window at four, and then a 429: the cloud saw four a window, and two go now.
    await vi.advanceTimersByTimeAsync(1001);
    const granted = next.granted.filter((g) => g !== null).length;
    expect(granted).toBe(8);
    (await next.releases[4]!)({ throttled: true, retryAfterMs: 1000 });
    for (const release of next.releases.slice(5)) (await release)({ throttled: false });
    const last = acquireAll(limiter, 8);
    await vi.advanceTimersByTimeAsync(2001);
    expect(last.granted.filter((g) => g !== null)).toHaveLength(2);
    limiter.close();
  });

  it('doubles the pause while 429s go on that each ask for a short Retry-After, as it does for those without: a cloud refusing every request "for a second" was sent half the limit each second for as long as it refused', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = await throttledAtEight(1000);
    // Twenty seconds of a cloud that answers every request at once with a 429 and Retry-After: 1.
    const { granted, releases } = acquireAll(limiter, 100);
    const answered = new Set<number>();
    for (let ms = 0; ms < 20_000; ms++) {
      await vi.advanceTimersByTimeAsync(1);
      for (let i = 0; i < granted.length; i++) {
        if (granted[i] === null || answered.has(i)) continue;
        answered.add(i);
        (await releases[i]!)({ throttled: true, retryAfterMs: 1000 });
      }
    }
    // Four (the rate halved at the first 429, and kept in each first window after a pause) after pauses of 1, 2, 4 and 8 s.
    expect([...new Set(granted.filter((g) => g !== null))]).toEqual([1001, 3002, 7003, 15004]);
    expect(granted.filter((g) => g !== null)).toHaveLength(16);
    limiter.close();
  });

  it('takes a reload\'s new limit in place, the requests of the window still counted, a rate lowered by 429s kept under it', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 4, perMs: 1000 }, silent, Date.now);
    const first = acquireAll(limiter, 6);
    await vi.advanceTimersByTimeAsync(0);
    expect(first.granted.filter((g) => g !== null)).toHaveLength(4);
    // Raised to 5: one more now, the four sent still in the window.
    limiter.setLimit({ count: 5, perMs: 1000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(first.granted.filter((g) => g !== null)).toHaveLength(5);
    for (const release of first.releases.slice(0, 5)) (await release)({ throttled: false });
    // Throttled after eight in a window: halved to four, which a limit raised to 10 keeps.
    const throttled = await throttledAtEight(1000);
    throttled.setLimit({ count: 10, perMs: 1000 });
    const after = acquireAll(throttled, 10);
    await vi.advanceTimersByTimeAsync(1001);
    expect(after.granted.filter((g) => g !== null)).toHaveLength(4);
    limiter.close();
    throttled.close();
  });

  it('counts, under a reload\'s longer window (10/s made 15/m), what was sent before the last window of the old one', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 10, perMs: 1000 }, silent, Date.now);
    // Two full seconds at 10/s: twenty in the minute, more than the 15 the new limit lets it.
    const first = acquireAll(limiter, 20);
    await vi.advanceTimersByTimeAsync(0);
    for (const release of first.releases.slice(0, 10)) (await release)({ throttled: false });
    await vi.advanceTimersByTimeAsync(1001);
    expect(first.granted.filter((g) => g !== null)).toHaveLength(20);
    for (const release of first.releases.slice(10)) (await release)({ throttled: false });
    await vi.advanceTimersByTimeAsync(500);
    limiter.setLimit({ count: 15, perMs: 60_000 });
    const next = acquireAll(limiter, 5);
    // None until the first second's ten have left the minute.
    await vi.advanceTimersByTimeAsync(58_000);
    expect(next.granted.every((g) => g === null)).toBe(true);
    await vi.advanceTimersByTimeAsync(3000);
    expect(next.granted.every((g) => g !== null)).toBe(true);
    limiter.close();
  });

  it('counts, under a limit set where there was none, what was sent in the window before: a window after the last answer', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    const burst = acquireAll(limiter, 10);
    await vi.advanceTimersByTimeAsync(100);
    for (const release of burst.releases) (await release)({ throttled: false });
    await vi.advanceTimersByTimeAsync(100);
    limiter.setLimit({ count: 5, perMs: 1000 });
    const next = acquireAll(limiter, 6);
    await vi.advanceTimersByTimeAsync(899);
    expect(next.granted.every((g) => g === null)).toBe(true);
    await vi.advanceTimersByTimeAsync(2);
    expect(next.granted).toEqual([1101, 1101, 1101, 1101, 1101, null]);
    // A window after the last answer, the limit set applies from a window it has not seen.
    const idle = new RateLimiter(undefined, silent, Date.now);
    (await idle.acquire())({ throttled: false });
    await vi.advanceTimersByTimeAsync(1000);
    idle.setLimit({ count: 5, perMs: 1000 });
    expect(idle.tryAcquire()).toBeDefined();
    limiter.close();
    idle.close();
  });

  it('counts, under a limit set where there was none, what was sent in its window, and no more: 40 polls in ten minutes leave 960 of 1000/h', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    // A small daemon: one poll every 15 s.
    for (let poll = 0; poll < 40; poll++) {
      (await limiter.acquire())({ throttled: false });
      await vi.advanceTimersByTimeAsync(15_000);
    }
    limiter.setLimit({ count: 1000, perMs: 3_600_000 });
    const next = acquireAll(limiter, 960);
    await vi.advanceTimersByTimeAsync(0);
    expect(next.granted.every((g) => g !== null)).toBe(true);
    expect(limiter.tryAcquire()).toBeUndefined();
    limiter.close();
  });

  it('halves the rate the cloud saw at a 429, not the configured one', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter({ count: 8, perMs: 1000 }, silent, Date.now);
    const throttled = await limiter.acquire();
    (await limiter.acquire())({ throttled: false });
    throttled({ throttled: true, retryAfterMs: 1000 });
    const after = acquireAll(limiter, 4);
    await vi.advanceTimersByTimeAsync(1001);
    // Two were sent in the window of the 429: one now.
    expect(after.granted.filter((g) => g !== null)).toHaveLength(1);
  });

  it('grows back no sooner than a whole window after the pause, however many answers come in before', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = await throttledAtEight(3000);
    const second = acquireAll(limiter, 8);
    await vi.advanceTimersByTimeAsync(3001);
    expect(second.granted.filter((g) => g !== null)).toHaveLength(4);
    for (const release of second.releases.slice(0, 4)) (await release)({ throttled: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(second.granted.filter((g) => g !== null)).toHaveLength(4);
  });

  it('grows back by a quarter a window and never past the configured limit', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = await throttledAtEight(1000);
    // Every request is answered as soon as it is granted; how many go out in each window is what grows.
    const { granted, releases } = acquireAll(limiter, 60);
    const answered = new Set<number>();
    for (let ms = 0; ms < 8000; ms++) {
      await vi.advanceTimersByTimeAsync(1);
      for (let i = 0; i < granted.length; i++) {
        if (granted[i] === null || answered.has(i)) continue;
        answered.add(i);
        (await releases[i]!)({ throttled: false });
        i = -1; // an answer may grant more at once
      }
    }
    const perWindow = new Map<number, number>();
    for (const at of granted) if (at !== null) perWindow.set(at, (perWindow.get(at) ?? 0) + 1);
    expect([...perWindow.values()]).toEqual([4, 5, 7, 8, 8, 8, 8]);
    limiter.close();
  });

  /**
   * A daemon's limiter (50 a second) against a cloud that takes `quota` requests a second and throttles the
   * rest, 8 polls in flight, each answered in 50 ms, on a clock of its own: `run` until a time, `said` the
   * minutes the throttling was logged at a level.
   */
  const quotaBelowTheLimit = () => {
    let now = 0;
    const lines: { level: number; msg: string; at: number }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push({ ...(JSON.parse(line) as { level: number; msg: string }), at: now }) });
    const limiter = new RateLimiter({ count: 50, perMs: 1000 }, logger, () => now);
    const seen: number[] = [];
    const inFlight: { answerAt: number; release: (feedback: { throttled: boolean; retryAfterMs?: number }) => void }[] = [];
    const cloud = {
      quota: 20,
      run: (untilMs: number) => {
        for (; now < untilMs; now += 10) {
          for (const request of inFlight.filter((r) => r.answerAt <= now)) {
            inFlight.splice(inFlight.indexOf(request), 1);
            while (seen.length > 0 && seen[0]! <= now - 1000) seen.shift();
            const throttled = seen.length >= cloud.quota;
            if (!throttled) seen.push(now);
            request.release(throttled ? { throttled, retryAfterMs: 1000 } : { throttled });
          }
          while (inFlight.length < 8) {
            const release = limiter.tryAcquire();
            if (release === undefined) break;
            inFlight.push({ answerAt: now + 50, release });
          }
        }
      },
      said: (level: number) => lines.filter((l) => l.level === level && l.msg.startsWith('the cloud throttles our requests')).map((l) => Math.floor(l.at / 60_000)),
    };
    return { cloud, lines, limiter };
  };

  it("says at warn once an hour, not at each cycle, a cloud whose quota lies below poll.rateLimit: the rate grown back to the quota is throttled again every few seconds", () => {
    const { cloud, lines, limiter } = quotaBelowTheLimit();
    const { run, said } = cloud;
    run(70 * 60_000);
    // Throttled again every few seconds for 70 minutes: said at the first, and again an hour on.
    expect(said(40)).toEqual([0, 60]);
    expect(said(20).length).toBeGreaterThan(100);
    // The quota raised, the rate grows back to its limit, which ends the run: the next throttling is news.
    cloud.quota = 1000;
    run(75 * 60_000);
    expect(lines.filter((l) => l.msg === 'request rate back to its limit after throttling')).toHaveLength(1);
    cloud.quota = 20;
    run(76 * 60_000);
    expect(said(40)).toEqual([0, 60, 75]);
    limiter.close();
  });

  it("says at warn a throttling that comes back after poll.rateLimit was set below the quota: the rate set at its new limit ended the last one, and another within the hour was said at debug alone", () => {
    const { cloud, lines, limiter } = quotaBelowTheLimit();
    const { run, said } = cloud;
    run(60_000);
    expect(said(40)).toEqual([0]);
    // As the warning advises: a reload sets poll.rateLimit below the quota, and the 429s stop.
    limiter.setLimit({ count: 15, perMs: 1000 });
    const before = lines.length;
    run(5 * 60_000);
    expect(lines.slice(before).filter((l) => l.msg.startsWith('the cloud throttles our requests'))).toEqual([]);
    // Another client takes a share of the quota: a new throttling, news to the operator.
    cloud.quota = 10;
    run(6 * 60_000);
    expect(said(40)).toEqual([0, 5]);
    limiter.close();
  });

  it('keeps doubling the pause when the only answer between two 429s was sent before the first', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    const throttled = await limiter.acquire();
    const sentBefore = await limiter.acquire();
    throttled({ throttled: true });
    sentBefore({ throttled: false });
    const second = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1001);
    expect(second.granted[0]).toBe(1001);
    (await second.releases[0]!)({ throttled: true });
    const third = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(third.granted[0]).toBeNull();
    await vi.advanceTimersByTimeAsync(501);
    expect(third.granted[0]).not.toBeNull();
  });

  it('keeps doubling the pause when the only answer between two 429s, sent before the first, came after its pause: a slow one says nothing of the 429s having stopped', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    const throttled = await limiter.acquire();
    // Enough others in flight that the rate halved leaves room for one beside the slow one.
    const quick = await Promise.all(Array.from({ length: 4 }, () => limiter.acquire()));
    const slow = await limiter.acquire();
    throttled({ throttled: true });
    for (const release of quick) release({ throttled: false });
    const second = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1001);
    expect(second.granted[0]).toBe(1001);
    await vi.advanceTimersByTimeAsync(199);
    slow({ throttled: false });
    (await second.releases[0]!)({ throttled: true });
    const third = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(third.granted[0]).toBeNull();
    await vi.advanceTimersByTimeAsync(501);
    expect(third.granted[0]).not.toBeNull();
  });

  it('starts the pause over at 1 s once an answer sent after the pause came through', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    (await limiter.acquire())({ throttled: true });
    const ok = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1001);
    (await ok.releases[0]!)({ throttled: false });
    const again = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1001);
    expect(again.granted[0]).toBe(2002);
    (await again.releases[0]!)({ throttled: true });
    const last = acquireAll(limiter, 1);
    await vi.advanceTimersByTimeAsync(1001);
    expect(last.granted[0]).toBe(3003);
  });

  it('without a configured limit, grows back a quarter a window while the cloud answers as many, not straight to unlimited', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(undefined, silent, Date.now);
    // Nine in flight: the 429 to one of them halves the eight others to four.
    const first = acquireAll(limiter, 9);
    await vi.advanceTimersByTimeAsync(0);
    (await first.releases[0]!)({ throttled: true, retryAfterMs: 1000 });
    for (const release of first.releases.slice(1)) (await release)({ throttled: false });
    const { granted, releases } = acquireAll(limiter, 20);
    await vi.advanceTimersByTimeAsync(1001);
    expect(granted.filter((g) => g !== null)).toHaveLength(4);
    for (const release of releases.slice(0, 2)) (await release)({ throttled: false });
    await vi.advanceTimersByTimeAsync(998);
    for (const release of releases.slice(2, 4)) (await release)({ throttled: false });
    // The two answered at 1001 have left the window, the two at 1999 have not: two more now.
    await vi.advanceTimersByTimeAsync(3);
    expect(granted.filter((g) => g !== null)).toHaveLength(6);
    // A window since the pause: the rate grows from 4 to 5, with three answers in the window, one more now.
    (await releases[4]!)({ throttled: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(granted.filter((g) => g !== null)).toHaveLength(7);
    limiter.close();
  });
});
