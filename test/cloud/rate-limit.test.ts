import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { cloudConfig } from './helpers.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { createEcsClient, type EcsClient } from '../../src/cloud/client.ts';
import { ApiError } from '../../src/cloud/ApiError.ts';
import { RateLimiter } from '../../src/cloud/rateLimiter.ts';

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
    const limiter = new RateLimiter({ count: 8, perMs: 1000 }, silent, Date.now);
    const first = acquireAll(limiter, 8);
    await vi.advanceTimersByTimeAsync(0);
    for (const release of first.releases.slice(1)) (await release)({ throttled: false });
    (await first.releases[0]!)({ throttled: true, retryAfterMs: 3000 });

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
});
