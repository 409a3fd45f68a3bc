// The outbox through real parts: a state file in a temporary folder and a webhook receiver on 127.0.0.1.
// Time is moved with a fake Date; nothing sleeps longer than a receiver's scripted answer.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from '../../src/delivery/outbox.ts';
import { SENDS_PER_NOTIFIER } from '../../src/notify/types.ts';
import { deliveryId, digestDeliveryId } from '../../src/delivery/notification.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import { createWebhookNotifier } from '../../src/notify/webhook/webhook.ts';
import { createEmailNotifier } from '../../src/notify/email/email.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import type { Notifier } from '../../src/notify/types.ts';
import { DeliveryError } from '../../src/notify/DeliveryError.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger.ts';
import { captureLogger } from '../cloud/helpers.ts';
import { startWebhookSink, type WebhookSink } from '../../src/sinks/webhookSink.ts';
import { StateStore, watchKey } from '../../src/state/store.ts';
import type { ActionWatchRecord, DeliveryRecord } from '../../src/state/types.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { tempFolderEach } from '../tempFolder.ts';
import { eventually } from '../eventually.ts';

const HOUR = 3_600_000;
const POLICY = { maxAge: 24 * HOUR, minDelay: 1000, maxDelay: 5 * 60_000 };
const ref = { projectId: 'p1', serverId: 's1', requestId: 'req-1' };
const KEY = watchKey(ref);

let sink: WebhookSink;
let dir: string;
let notifiers: Map<string, Notifier>;
const outboxes: Outbox[] = [];
const stores: StateStore[] = [];

tempFolderEach('eaw-outbox-', (made) => {
  dir = made;
});
beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-11-26T18:00:00.000Z'));
  sink = await startWebhookSink();
  const chat = createWebhookNotifier('chat', { type: 'webhook', url: sink.url, headers: dictionary(), timeout: 5000, on: ['success', 'failure', 'timeout', 'not_found'] }, { logger: silentLogger() });
  notifiers = new Map([['chat', chat]]);
});

afterEach(async () => {
  for (const outbox of outboxes.splice(0)) await outbox.close();
  await Promise.allSettled(stores.splice(0).map((store) => store.close()));
  for (const notifier of notifiers.values()) await notifier.close();
  await sink.close();
  vi.useRealTimers();
});

function finishedRecord(): ActionWatchRecord {
  return {
    ...ref,
    name: 'web-01',
    trackingSince: new Date(Date.now() - 60_000).toISOString(),
    everFound: true,
    lastError: null,
    failingSince: null,
    instanceAction: null,
    server: null,
    verdict: { outcome: 'success', reason: 'reboot finished', detectedAt: new Date().toISOString() },
    deliveries: dictionary(),
  };
}

function newDelivery(overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  const now = new Date().toISOString();
  return { id: deliveryId(watchKey(ref), 'success', 'chat'), status: 'pending', attempts: 0, createdAt: now, nextAttemptAt: null, lastError: null, updatedAt: now, ...overrides };
}

async function openStore(path = join(dir, 'state.json')): Promise<StateStore> {
  const store = await StateStore.open(path);
  stores.push(store);
  return store;
}

function outboxFor(store: StateStore, policy = POLICY, logger: Logger = silentLogger()): Outbox {
  const outbox = new Outbox({ store, notifiers, logger, metrics: createMetrics(), policy });
  outboxes.push(outbox);
  return outbox;
}

/** A store holding one finished watch whose delivery is on disk. */
async function storeWithDelivery(overrides: Partial<DeliveryRecord> = {}): Promise<StateStore> {
  const store = await openStore();
  store.set(KEY, finishedRecord());
  store.addDelivery(KEY, 'chat', newDelivery(overrides));
  await store.save();
  return store;
}

const delivery = (store: StateStore) => store.get(KEY)!.deliveries['chat']!;

/** A notifier `stuck` whose receiver holds every request until the test answers it (`held`). */
async function stuckNotifier(): Promise<{ held: ServerResponse[]; stuck: Server }> {
  const held: ServerResponse[] = [];
  const stuck = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}/hook`;
  notifiers.set('stuck', createWebhookNotifier('stuck', { type: 'webhook', url, headers: dictionary(), timeout: 30_000, on: ['success'] }, { logger: silentLogger() }));
  return { held, stuck };
}

describe('the outbox', () => {
  it('sends nothing that is not on disk yet, and sends it once the save that holds it is done', async () => {
    const store = await openStore();
    const outbox = outboxFor(store);
    store.set(KEY, finishedRecord());
    store.addDelivery(KEY, 'chat', newDelivery());
    await outbox.flush();
    expect(sink.received).toHaveLength(0);

    await store.save();
    await outbox.flush();
    expect(sink.received).toHaveLength(1);
    expect(delivery(store)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('keeps a delivery whose save failed out of the outbox until a save succeeds', async () => {
    const { writeFile, rm, mkdir } = await import('node:fs/promises');
    const path = join(dir, 'sub', 'state.json');
    const store = await openStore(path);
    const outbox = outboxFor(store);
    await writeFile(join(dir, 'sub'), 'a file where the state folder should be');
    store.set(KEY, finishedRecord());
    store.addDelivery(KEY, 'chat', newDelivery());
    await expect(store.save()).rejects.toThrow(/cannot be written/);
    await outbox.flush();
    expect(sink.received).toHaveLength(0);

    await rm(join(dir, 'sub'));
    await mkdir(join(dir, 'sub'));
    await store.save();
    await outbox.flush();
    expect(sink.received).toHaveLength(1);
  });

  it('never lets two flushes claim one delivery', async () => {
    const store = await storeWithDelivery();
    const outbox = outboxFor(store);
    sink.setAnswer({ delayMs: 100 });
    await Promise.all([outbox.flush(), outbox.flush(), outbox.flush()]);
    expect(sink.received).toHaveLength(1);
    expect(delivery(store)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('lets a send in flight finish when stopped with a drain budget', async () => {
    const store = await storeWithDelivery();
    const { logger, lines } = captureLogger();
    const outbox = outboxFor(store, POLICY, logger);
    sink.setAnswer({ delayMs: 200 });
    const flushing = outbox.flush();
    await eventually(() => expect(sink.received).toHaveLength(1), { interval: 5 });
    await outbox.close(AbortSignal.timeout(5000));
    await flushing;
    expect(delivery(store)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('cuts a send in flight off when the drain budget is spent, without counting the attempt, and says so', async () => {
    const store = await storeWithDelivery();
    const { logger, lines } = captureLogger();
    const outbox = outboxFor(store, POLICY, logger);
    sink.setAnswer({ delayMs: 5000 });
    const flushing = outbox.flush();
    await eventually(() => expect(sink.received).toHaveLength(1), { interval: 5 });
    await outbox.close(AbortSignal.timeout(50));
    await flushing;
    expect(delivery(store)).toMatchObject({ status: 'pending', attempts: 0, lastError: expect.stringMatching(/aborted/) });
    expect(lines.filter((l) => l.level === 40)).toEqual([
      expect.objectContaining({ inFlight: 1, owed: 1, msg: expect.stringMatching(/^stopping with notifications in flight .*sent after the next start$/) }),
    ]);
    // Saved as pending: the next start sends it again, with the same id.
    const reopened = await openStore();
    expect(delivery(reopened)).toMatchObject({ status: 'pending', id: delivery(store).id });
  });

  it('keeps whom a mail is still owed to when the answer that says so comes as the drain budget runs out', async () => {
    const store = await storeWithDelivery();
    // The server took the message for some and put another off, its answer arriving as the budget ran out
    // (a stand-in for the mail notifier, whose real answer cannot be timed to that moment).
    let sending = false;
    notifiers.set('chat', {
      name: 'chat',
      type: 'email',
      accepts: () => true,
      send: (_notification, attempt) =>
        new Promise((_resolve, reject) => {
          sending = true;
          attempt.signal.addEventListener('abort', () => reject(new DeliveryError('took the message but refused b@example.com: 451 try later', { reason: 'server', owedTo: ['b@example.com'] })));
        }),
      close: async () => undefined,
    });
    const outbox = outboxFor(store);
    const flushing = outbox.flush();
    await eventually(() => expect(sending).toBe(true), { interval: 5 });
    await outbox.close(AbortSignal.timeout(20));
    await flushing;
    expect(delivery(store)).toMatchObject({ owedTo: ['b@example.com'] });
    await store.save();
    // The next start sends to b alone: the others have the message.
    const reopened = await openStore();
    expect(delivery(reopened)).toMatchObject({ status: 'pending', attempts: 0, owedTo: ['b@example.com'] });
  });

  it('starts no attempt once stopped', async () => {
    const store = await storeWithDelivery();
    const outbox = outboxFor(store);
    await outbox.close();
    await outbox.flush();
    expect(sink.received).toHaveLength(0);
  });

  it('retries with growing, jittered delays and delivers to a receiver that was down for an hour', async () => {
    const store = await storeWithDelivery();
    const outbox = outboxFor(store);
    sink.setAnswer({ status: 503 });
    const start = Date.now();
    const gaps: number[] = [];
    while (Date.now() - start < HOUR) {
      await outbox.flush();
      const next = Date.parse(delivery(store).nextAttemptAt!);
      gaps.push(next - Date.now());
      vi.setSystemTime(next);
    }
    expect(delivery(store).status).toBe('pending');
    // Exponential from minDelay, jittered in the upper half, capped at maxDelay.
    expect(gaps[0]).toBeGreaterThanOrEqual(500);
    expect(gaps[0]).toBeLessThanOrEqual(1000);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(POLICY.maxDelay);
    expect(gaps.slice(-3).every((g) => g >= POLICY.maxDelay / 2)).toBe(true);

    sink.setAnswer({ status: 204 });
    await outbox.flush();
    expect(delivery(store)).toMatchObject({ status: 'delivered', lastError: null });
    expect(new Set(sink.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('gives a delivery up once it is maxAge old, with the last attempt at that age', async () => {
    const store = await storeWithDelivery({ createdAt: new Date(Date.now() - 24 * HOUR + 300).toISOString() });
    const outbox = outboxFor(store);
    sink.setAnswer({ status: 503 });
    await outbox.flush();
    // The backoff (at least 500 ms) would wait past the 300 ms left: the last attempt falls on the delivery's maxAge.
    expect(delivery(store)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(Date.parse(delivery(store).nextAttemptAt!)).toBe(Date.parse(delivery(store).createdAt) + POLICY.maxAge);
    vi.setSystemTime(Date.parse(delivery(store).nextAttemptAt!));
    await outbox.flush();
    expect(delivery(store)).toMatchObject({ status: 'given_up', attempts: 2, nextAttemptAt: null, lastError: expect.stringMatching(/503/) });
    expect(outbox.pending).toBe(0);
  });

  it('says an early warning given up at delivery.maxAge failed that long after the warning, not after an outcome it does not have', async () => {
    const store = await openStore();
    const facts = { watch: { name: 'web-01', ...ref }, instanceAction: null, server: null };
    const madeAt = new Date(Date.now() - 24 * HOUR + 300).toISOString();
    store.set(KEY, { ...finishedRecord(), verdict: null, warning: { reason: 'reboot still running 10 min after it started', detectedAt: madeAt, facts, deliveries: dictionary() } });
    store.addDelivery(KEY, 'chat', newDelivery({ id: deliveryId(KEY, 'slow', 'chat'), createdAt: madeAt }), 'slow');
    await store.save();
    const { logger, lines } = captureLogger();
    const outbox = outboxFor(store, POLICY, logger);
    sink.setAnswer({ status: 503 });
    await outbox.flush();
    vi.setSystemTime(Date.parse(store.get(KEY)!.warning!.deliveries['chat']!.nextAttemptAt!));
    await outbox.flush();
    expect(lines.filter((l) => l.msg === 'delivery given up').map((l) => l['why'])).toEqual(['still failing 24 h after the early warning (delivery.maxAge)']);
  });

  it("retries on time when this host's clock steps back an hour meanwhile (an NTP step), not an hour late", async () => {
    const store = await storeWithDelivery();
    const outbox = outboxFor(store);
    outbox.start();
    sink.setAnswer({ status: 503 });
    await eventually(() => expect(delivery(store).nextAttemptAt).not.toBeNull());
    const planned = Date.parse(delivery(store).nextAttemptAt!) - Date.now();
    sink.setAnswer({ status: 204 });
    vi.setSystemTime(Date.now() - HOUR);
    // The loop's sleep is on the monotonic clock: it wakes when the retry was planned, an hour early by the wall clock.
    await eventually(() => expect(delivery(store)).toMatchObject({ status: 'delivered', attempts: 2 }), { timeout: planned + 2000 });
  });

  it('gives up at once what the receiver refuses (4xx other than 408 and 429)', async () => {
    const store = await storeWithDelivery();
    const outbox = outboxFor(store);
    sink.failNext(400);
    await outbox.flush();
    expect(delivery(store)).toMatchObject({ status: 'given_up', attempts: 1 });
  });

  describe('to a receiver that throttles', () => {
    // A chat's webhook that takes nothing until it is let in, answering each request 429 with Retry-After: 5.
    let takes: boolean;
    let requests: string[];
    let limited: Server;
    beforeEach(async () => {
      takes = false;
      requests = [];
      limited = createServer((req, res) => {
        req.resume();
        requests.push(new Date().toISOString());
        res.writeHead(takes ? 204 : 429, takes ? {} : { 'retry-after': '5' }).end();
      });
      await new Promise<void>((resolve) => limited.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(limited.address() as AddressInfo).port}/hook`;
      notifiers.set('limited', createWebhookNotifier('limited', { type: 'webhook', url, headers: dictionary(), timeout: 5000, on: ['success'] }, { logger: silentLogger() }));
    });
    afterEach(async () => {
      await new Promise((resolve) => limited.close(resolve));
    });

    /** Six finished watches, each owing `limited` a notification; the first created `firstAgeMs` ago. */
    async function sixOwed(firstAgeMs = 0): Promise<{ store: StateStore; keys: string[] }> {
      const store = await openStore();
      const keys = [0, 1, 2, 3, 4, 5].map((i) => {
        const key = watchKey({ ...ref, requestId: `req-limited-${i}` });
        store.set(key, { ...finishedRecord(), requestId: `req-limited-${i}` });
        const createdAt = new Date(Date.now() - (i === 0 ? firstAgeMs : 0)).toISOString();
        store.addDelivery(key, 'limited', newDelivery({ id: deliveryId(key, 'success', 'limited'), createdAt }));
        return key;
      });
      await store.save();
      return { store, keys };
    }

    it('holds every notification to it until its Retry-After, then tries one at a time until it takes one', async () => {
      const { store, keys } = await sixOwed();
      const outbox = outboxFor(store);
      const started = Date.now();
      await outbox.flush();
      // All six were sent at once, as nothing was known of the receiver: each was throttled.
      expect(requests).toHaveLength(6);
      vi.setSystemTime(started + 4999);
      await outbox.flush();
      expect(requests).toHaveLength(6);
      // The pause is over: one asks, and is throttled again; the other five wait for its answer.
      vi.setSystemTime(started + 5000);
      await outbox.flush();
      await outbox.flush();
      expect(requests).toHaveLength(7);
      takes = true;
      vi.setSystemTime(started + 10_000);
      await outbox.flush();
      expect(requests).toHaveLength(8);
      // Taken: the others go.
      await outbox.flush();
      expect(requests).toHaveLength(13);
      expect(keys.map((key) => store.get(key)!.deliveries['limited']!.status)).toEqual(Array(6).fill('delivered'));
    });

    it('keeps its pause for the outbox that a reload makes next, given the same pauses', async () => {
      const { store } = await sixOwed();
      const throttled = new Map<string, number>();
      const first = new Outbox({ store, notifiers, logger: silentLogger(), metrics: createMetrics(), policy: POLICY, throttled });
      outboxes.push(first);
      const started = Date.now();
      await first.flush();
      await first.close();
      // The parts a reload starts: the state read again, the pauses handed over.
      const next = new Outbox({ store: await openStore(), notifiers, logger: silentLogger(), metrics: createMetrics(), policy: POLICY, throttled, retuned: new Set(['limited']) });
      outboxes.push(next);
      // Retuned (its settings changed): due at once by its own backoff, held by the receiver's pause all the same.
      vi.setSystemTime(started + 1000);
      await next.flush();
      expect(requests).toHaveLength(6);
      vi.setSystemTime(started + 5000);
      await next.flush();
      await next.flush();
      expect(requests).toHaveLength(7);
    });

    it('ends its pause only at its own answer: not when the probe is given up at delivery.maxAge', async () => {
      // The first, the probe at each round, is given up 7 s on.
      const { store, keys } = await sixOwed(POLICY.maxAge - 7000);
      const outbox = outboxFor(store);
      const started = Date.now();
      await outbox.flush();
      vi.setSystemTime(started + 5000);
      await outbox.flush();
      expect(requests).toHaveLength(7);
      vi.setSystemTime(started + 7000);
      await outbox.flush();
      expect(store.get(keys[0]!)!.deliveries['limited']!.status).toBe('given_up');
      expect(requests).toHaveLength(8);
      // Still throttled: the next probe, alone.
      await outbox.flush();
      await outbox.flush();
      expect(requests).toHaveLength(9);
    });

    it('holds its pause no longer than delivery.maxDelay when this host\'s clock is set back', async () => {
      const { store } = await sixOwed();
      const outbox = outboxFor(store);
      await outbox.flush();
      vi.setSystemTime(Date.now() - HOUR);
      await outbox.flush();
      expect(requests).toHaveLength(7);
    });
  });

  describe('to a receiver that is down', () => {
    // A webhook receiver on 127.0.0.1 that answers 503 (`down`), drops each request unanswered (`dropping`:
    // connections closed), or takes it; its URL carries a credential in its query, as a chat's does.
    let answer: 'down' | 'dropping' | 'up';
    let refusedWith503: number;
    let receiver: Server;
    const TOKEN = 'tok-5ecret-9f2a';
    beforeEach(async () => {
      answer = 'down';
      refusedWith503 = 0;
      receiver = createServer((req, res) => {
        req.resume();
        if (answer === 'dropping') {
          req.socket.destroy();
          return;
        }
        if (answer === 'down') refusedWith503++;
        res.writeHead(answer === 'down' ? 503 : 204).end();
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?access_token=${TOKEN}`;
      notifiers.set('ops', createWebhookNotifier('ops', { type: 'webhook', url, headers: dictionary(), timeout: 5000, on: ['success'] }, { logger: silentLogger() }));
    });
    afterEach(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    });

    /** `count` finished watches each owing `ops` a notification; the first `old` of them recorded `ageMs` ago. */
    async function owed(count: number, old = 0, ageMs = 0): Promise<{ store: StateStore; keys: string[] }> {
      const store = await openStore();
      const keys = Array.from({ length: count }, (_, i) => {
        const key = watchKey({ ...ref, requestId: `req-down-${i}` });
        store.set(key, { ...finishedRecord(), requestId: `req-down-${i}` });
        store.addDelivery(key, 'ops', newDelivery({ id: deliveryId(key, 'success', 'ops'), createdAt: new Date(Date.now() - (i < old ? ageMs : 0)).toISOString() }));
        return key;
      });
      await store.save();
      return { store, keys };
    }

    /** The outbox's log as the daemon writes it (redacted), JSON lines parsed, debug included. */
    async function loggedLines(): Promise<{ logger: Logger; lines: Array<Record<string, unknown>>; raw: string[] }> {
      const raw: string[] = [];
      const logger = await createLogger({ level: 'debug', destination: { write: (line: string) => void raw.push(line) } });
      return { logger, raw, get lines() { return raw.map((line) => JSON.parse(line) as Record<string, unknown>); } };
    }

    /** Flushes the outbox each minute of `ms` from now on. */
    async function minuteByMinute(outbox: Outbox, ms: number): Promise<void> {
      const from = Date.now();
      for (let t = 0; t <= ms; t += 60_000) {
        vi.setSystemTime(from + t);
        await outbox.flush();
      }
    }

    it('says a run of failures once, sums it up each hour, says each give-up and the recovery: not a line per delivery per attempt', async () => {
      // 30 owed, the first 10 recorded 21 h ago: given up at delivery.maxAge, 3 h into the 6 h the receiver is down.
      const { store, keys } = await owed(30, 10, 21 * HOUR);
      const log = await loggedLines();
      const metrics = createMetrics();
      const outbox = new Outbox({ store, notifiers, logger: log.logger, metrics, policy: POLICY });
      outboxes.push(outbox);
      const start = Date.now();
      await minuteByMinute(outbox, 6 * HOUR);
      // Hundreds of attempts each hour, every one refused.
      expect(refusedWith503).toBeGreaterThan(1000);
      answer = 'up';
      await minuteByMinute(outbox, POLICY.maxDelay);
      expect(keys.map((key) => store.get(key)!.deliveries['ops']!.status)).toEqual([...Array<string>(10).fill('given_up'), ...Array<string>(20).fill('delivered')]);

      const lines = log.lines.filter((l) => l['notifier'] === 'ops');
      const warns = lines.filter((l) => l['level'] === 'warn');
      // The run's first failure, with what failed and why; then one line an hour, whatever the number owed.
      expect(warns.filter((l) => l['msg'] === 'delivery failed; will retry')).toHaveLength(1);
      expect(warns[0]).toMatchObject({ msg: 'delivery failed; will retry', requestId: 'req-down-0', serverId: 's1', projectId: 'p1', reason: 'server', owed: 30, error: expect.stringMatching(/answered 503/) });
      const summaries = warns.slice(1);
      expect(summaries.length).toBeGreaterThanOrEqual(5);
      expect(summaries.length).toBeLessThanOrEqual(6);
      for (const summary of summaries) {
        expect(summary).toMatchObject({ msg: 'notifier still failing: what is owed to it is retried, each notification until delivery.maxAge after the outcome, early warning or digest it tells', failingFor: expect.stringMatching(/^\d h( \d+ min)?$/), maxAge: '24 h', reason: 'server', failingSince: new Date(start).toISOString(), error: expect.stringMatching(/answered 503/) });
        expect(summary).not.toHaveProperty('requestId');
      }
      // What is owed to it: 30, then 20 once the 10 are given up (3 h in: the hour's summary may come before or after).
      const owedSaid = summaries.map((l) => l['owed']);
      expect(owedSaid).toEqual([...owedSaid].sort((x, y) => Number(y) - Number(x)));
      expect([owedSaid[0], owedSaid.at(-1)]).toEqual([30, 20]);
      // Each failed attempt is still there for whoever asks for debug, with its delivery.
      const again = lines.filter((l) => l['msg'] === 'delivery failed again');
      expect(again.length).toBeGreaterThan(1000);
      expect(again.every((l) => typeof l['requestId'] === 'string' && l['level'] === 'debug')).toBe(true);
      // Each notification lost, on its own.
      const givenUp = lines.filter((l) => l['msg'] === 'delivery given up');
      expect(givenUp.map((l) => l['requestId']).sort()).toEqual(keys.slice(0, 10).map((key) => key.split('/')[2]).sort());
      expect(givenUp.every((l) => l['level'] === 'error' && /delivery\.maxAge/.test(String(l['why'])))).toBe(true);
      // The end of the run, once.
      const recovered = lines.filter((l) => /delivers again/.test(String(l['msg'])));
      expect(recovered).toEqual([expect.objectContaining({ level: 'info', msg: 'notifier delivers again: what is owed to it follows at its retries, within delivery.maxDelay', failedFor: expect.stringMatching(/^6 h( [1-5] min)?$/), owed: 19, failingSince: new Date(start).toISOString() })]);
      expect(lines.filter((l) => l['msg'] === 'notification delivered')).toHaveLength(20);
      // The metrics count every attempt, as before.
      const counted = (result: string) => Number(new RegExp(`^ecs_action_watch_notifications_total\\{notifier="ops",result="${result}",reason="server"\\} (\\d+)$`, 'm').exec(metricsText)?.[1]);
      const metricsText = await metrics.registry.metrics();
      expect(counted('retry') + counted('given_up')).toBe(refusedWith503);
      expect(counted('given_up')).toBe(10);
      expect(log.raw.join('')).not.toContain(TOKEN);
    });

    it('says an SMTP relay that is down as a webhook receiver: once, then each hour, however many mails are owed', async () => {
      await notifiers.get('ops')!.close();
      const port = await closedPort();
      notifiers.set('ops', createEmailNotifier('ops', { type: 'email', smtp: { host: '127.0.0.1', port, secure: false, timeout: 2000, connections: 3 }, from: 'ecs-watch@example.com', to: ['ops@example.com'], on: ['success'] }, { logger: silentLogger() }));
      const { store } = await owed(20);
      const log = await loggedLines();
      const metrics = createMetrics();
      const outbox = new Outbox({ store, notifiers, logger: log.logger, metrics, policy: POLICY });
      outboxes.push(outbox);
      await minuteByMinute(outbox, 3 * HOUR);
      const retried = Number(/^ecs_action_watch_notifications_total\{notifier="ops",result="retry",reason="connection"\} (\d+)$/m.exec(await metrics.registry.metrics())?.[1]);
      expect(retried).toBeGreaterThan(500);
      const warns = log.lines.filter((l) => l['notifier'] === 'ops' && l['level'] === 'warn');
      // The first failure and one line each hour of the 3.
      expect(warns.length).toBeLessThanOrEqual(4);
      expect(warns.length).toBeGreaterThanOrEqual(3);
      expect(warns[0]).toMatchObject({ msg: 'delivery failed; will retry', reason: 'connection', owed: 20, requestId: expect.any(String), error: expect.stringContaining(`127.0.0.1:${port}`) });
      expect(warns.slice(1).map((l) => [l['msg'], l['owed']])).toEqual(Array(warns.length - 1).fill(['notifier still failing: what is owed to it is retried, each notification until delivery.maxAge after the outcome, early warning or digest it tells', 20]));
    });

    it('ends a run unsaid once all owed to the notifier is given up: a failure days later is said at warn, not counted as failing since then', async () => {
      // Given up at delivery.maxAge 2 min on.
      const { store } = await owed(1, 1, POLICY.maxAge - 2 * 60_000);
      const log = await loggedLines();
      const outbox = outboxFor(store, POLICY, log.logger);
      await minuteByMinute(outbox, 3 * 60_000);
      vi.setSystemTime(Date.now() + 3 * 24 * HOUR);
      const key = watchKey({ ...ref, requestId: 'req-down-later' });
      store.set(key, { ...finishedRecord(), requestId: 'req-down-later' });
      store.addDelivery(key, 'ops', newDelivery({ id: deliveryId(key, 'success', 'ops') }));
      await store.save();
      await outbox.flush();
      const lines = log.lines.filter((l) => l['notifier'] === 'ops' && l['level'] !== 'debug');
      expect(lines.map((l) => [l['level'], l['msg'], l['requestId']])).toEqual([
        ['warn', 'delivery failed; will retry', 'req-down-0'],
        ['error', 'delivery given up', 'req-down-0'],
        ['warn', 'delivery failed; will retry', 'req-down-later'],
      ]);
      expect(lines[2]).not.toHaveProperty('failingSince');
    });

    it('says a change of why it fails at warn, with since when it fails', async () => {
      const { store } = await owed(3);
      const log = await loggedLines();
      const outbox = outboxFor(store, POLICY, log.logger);
      const start = Date.now();
      await minuteByMinute(outbox, 30 * 60_000);
      answer = 'dropping';
      await minuteByMinute(outbox, 30 * 60_000);
      answer = 'up';
      await minuteByMinute(outbox, POLICY.maxDelay);
      const lines = log.lines.filter((l) => l['notifier'] === 'ops' && l['level'] !== 'debug');
      expect(lines.filter((l) => l['level'] === 'warn')).toEqual([
        expect.objectContaining({ msg: 'delivery failed; will retry', reason: 'server', owed: 3, requestId: expect.any(String) }),
        expect.objectContaining({ msg: 'delivery failed; will retry', reason: 'connection', reasonBefore: 'server', failingSince: new Date(start).toISOString(), requestId: expect.any(String) }),
      ]);
      expect(lines.filter((l) => /delivers again/.test(String(l['msg'])))).toEqual([expect.objectContaining({ level: 'info', failedFor: expect.stringMatching(/^1 h( [1-5] min)?$/), failingSince: new Date(start).toISOString() })]);
    });
  });

  it('resumes the backoff after a restart: no attempt before the recorded time, the count goes on', async () => {
    const first = await storeWithDelivery();
    const firstOutbox = outboxFor(first);
    sink.setAnswer({ status: 503 });
    for (let i = 0; i < 3; i++) {
      await firstOutbox.flush();
      vi.setSystemTime(Date.parse(delivery(first).nextAttemptAt!));
    }
    vi.setSystemTime(Date.now() - 1); // just before the fourth attempt is due
    await firstOutbox.close();
    expect(delivery(first).attempts).toBe(3);
    const due = delivery(first).nextAttemptAt!;

    const second = await openStore();
    const outbox = outboxFor(second);
    expect(outbox.pending).toBe(1);
    await outbox.flush();
    expect(sink.received).toHaveLength(3);

    vi.setSystemTime(Date.parse(due));
    await outbox.flush();
    expect(sink.received).toHaveLength(4);
    expect(delivery(second).attempts).toBe(4);
    // The fourth failure waits as the fourth does: minDelay * 2^3, jittered in its upper half.
    const gap = Date.parse(delivery(second).nextAttemptAt!) - Date.now();
    expect(gap).toBeGreaterThanOrEqual(4000);
    expect(gap).toBeLessThanOrEqual(8000);
  });

  it('sends a wave to each notifier as it is saved, up to its bound at once, and a stuck receiver holds up no other', async () => {
    const { held, stuck } = await stuckNotifier();
    try {
      const store = await openStore();
      const outbox = outboxFor(store);
      outbox.start();
      const wave = SENDS_PER_NOTIFIER + 36;
      for (let i = 0; i < wave; i++) {
        const record = { ...finishedRecord(), requestId: `req-wave-${i}` };
        const key = watchKey(record);
        store.set(key, record);
        for (const name of ['chat', 'stuck']) store.addDelivery(key, name, newDelivery({ id: deliveryId(key, 'success', name) }));
      }
      await store.save();
      // Every webhook went out while the stuck receiver held its sends: those started with them, but only up to the bound.
      await eventually(() => expect(sink.received).toHaveLength(wave), { interval: 5 });
      await eventually(() => expect(held.length).toBeGreaterThanOrEqual(SENDS_PER_NOTIFIER), { interval: 5 });
      expect(held).toHaveLength(SENDS_PER_NOTIFIER);
      // Each answer frees a slot for the next.
      for (const res of held) res.end();
      await eventually(() => expect(held).toHaveLength(wave), { interval: 5 });
      for (const res of held.slice(SENDS_PER_NOTIFIER)) res.end();
      await eventually(() => expect(store.deliveryCounts()).toMatchObject({ pending: 0, delivered: 2 * wave }), { interval: 5 });
    } finally {
      stuck.closeAllConnections();
      stuck.close();
    }
  });

  it('sends to a notifier that sets its own bound (mail\'s smtp.connections) no more at once than that', async () => {
    const held: Array<() => void> = [];
    notifiers.set('chat', {
      name: 'chat',
      type: 'email',
      sendsAtOnce: 2,
      accepts: () => true,
      send: () => new Promise((resolve) => held.push(() => resolve({ answer: '250 queued', refused: [] }))),
      close: async () => undefined,
    });
    const store = await openStore();
    const outbox = outboxFor(store);
    outbox.start();
    for (let i = 0; i < 5; i++) {
      const key = watchKey({ ...finishedRecord(), requestId: `req-mail-${i}` });
      store.set(key, { ...finishedRecord(), requestId: `req-mail-${i}` });
      store.addDelivery(key, 'chat', newDelivery({ id: deliveryId(key, 'success', 'chat') }));
    }
    await store.save();
    await eventually(() => expect(held).toHaveLength(2), { interval: 5 });
    // Each answer frees a place for the next, never more than two waiting on the server.
    held[0]!();
    await eventually(() => expect(held).toHaveLength(3), { interval: 5 });
    for (const release of held.slice(1)) release();
    await eventually(() => expect(held).toHaveLength(5), { interval: 5 });
    for (const release of held.slice(3)) release();
    await eventually(() => expect(store.deliveryCounts()).toMatchObject({ pending: 0, delivered: 5 }), { interval: 5 });
  });

  it('retries a delivery whose first attempt, started as it was saved, failed, at its backoff and not after the idle sleep', async () => {
    const store = await openStore();
    const policy = { ...POLICY, minDelay: 100 };
    const outbox = outboxFor(store, policy);
    // Nothing queued: the loop sleeps for a minute, or until woken.
    outbox.start();
    sink.setAnswer({ status: 503 });
    store.set(KEY, finishedRecord());
    store.addDelivery(KEY, 'chat', newDelivery());
    await store.save();
    await eventually(() => expect(delivery(store)).toMatchObject({ attempts: 1, lastError: expect.stringContaining('503') as string }), { interval: 5 });
    const retryAt = Date.parse(delivery(store).nextAttemptAt!);
    // Not before it is due (Date stands still until moved).
    await new Promise((resolve) => setTimeout(resolve, 2 * policy.minDelay));
    expect(sink.received).toHaveLength(1);
    sink.setAnswer({ status: 204 });
    vi.setSystemTime(retryAt);
    // The loop slept until the retry was due (at most minDelay of real time here), not for its idle minute.
    await eventually(() => expect(delivery(store).status).toBe('delivered'), { timeout: 5000, interval: 10 });
    expect(sink.received).toHaveLength(2);
  });

  it('retries a delivery at its backoff while another notifier\'s attempt the loop started still hangs', async () => {
    const { held, stuck } = await stuckNotifier();
    try {
      // Both on disk before the outbox starts: the loop, not a save, starts both attempts.
      const store = await storeWithDelivery();
      store.addDelivery(KEY, 'stuck', newDelivery({ id: deliveryId(KEY, 'success', 'stuck') }));
      await store.save();
      sink.setAnswer({ status: 503 });
      const outbox = outboxFor(store, { ...POLICY, minDelay: 100 });
      outbox.start();
      // The attempt is counted as it starts: its retry is planned only once the 503 has come back.
      await eventually(() => expect([delivery(store).attempts, delivery(store).nextAttemptAt !== null, held.length]).toEqual([1, true, 1]), { interval: 5 });
      sink.setAnswer({ status: 204 });
      vi.setSystemTime(Date.parse(delivery(store).nextAttemptAt!));
      await eventually(() => expect(delivery(store).status).toBe('delivered'), { timeout: 5000, interval: 10 });
      expect(store.get(KEY)!.deliveries['stuck']!.status).toBe('pending');
      for (const res of held) res.end();
    } finally {
      stuck.closeAllConnections();
      stuck.close();
    }
  });

  it('records the result of an attempt it started as the delivery was saved, with no save of anyone else\'s: a restart does not send it again', async () => {
    const path = join(dir, 'state.json');
    const store = await openStore(path);
    const outbox = outboxFor(store);
    outbox.start();
    store.set(KEY, finishedRecord());
    store.addDelivery(KEY, 'chat', newDelivery());
    await store.save();
    await eventually(() => expect(sink.received).toHaveLength(1));
    // What a daemon killed now would read at its restart.
    await eventually(() => expect((stateOnDisk(path).watches[KEY] as ActionWatchRecord).deliveries['chat']).toMatchObject({ status: 'delivered', attempts: 1 }));
  });

  it('holds early warnings until the first pass has ended, then drops one whose outcome that pass found and sends the others', async () => {
    const store = await openStore();
    const warned = (requestId: string) => {
      const key = watchKey({ ...ref, requestId });
      const facts = { watch: { name: 'web-01', projectId: ref.projectId, serverId: ref.serverId, requestId }, instanceAction: null, server: null };
      store.set(key, { ...finishedRecord(), requestId, verdict: null, warning: { reason: 'reboot still running 10 min after it started', detectedAt: new Date().toISOString(), facts, deliveries: dictionary() } });
      store.addDelivery(key, 'chat', newDelivery({ id: deliveryId(key, 'slow', 'chat') }), 'slow');
      return key;
    };
    const [finishing, running] = [warned('req-finishing'), warned('req-running')];
    store.set(KEY, finishedRecord());
    store.addDelivery(KEY, 'chat', newDelivery());
    await store.save();

    const firstPass = Promise.withResolvers<void>();
    outboxFor(store).start(firstPass.promise);
    // The outcome owed from before goes at once; the warnings wait for the pass.
    await eventually(() => expect(delivery(store).status).toBe('delivered'));
    expect(sink.received.map((r) => (r.body as { type: string }).type)).toEqual(['ecs.action.succeeded']);
    expect(store.get(running)!.warning!.deliveries['chat']!.status).toBe('pending');

    store.get(finishing)!.verdict = { outcome: 'success', reason: 'reboot finished', detectedAt: new Date().toISOString() };
    firstPass.resolve();
    await eventually(() => expect(store.get(running)!.warning!.deliveries['chat']!.status).toBe('delivered'));
    expect(store.get(finishing)!.warning!.deliveries['chat']!.status).toBe('superseded');
    expect(sink.received.map((r) => (r.body as { type: string }).type)).toEqual(['ecs.action.succeeded', 'ecs.action.slow']);
    // What each warning showed is let go once none of its deliveries is pending, sent or dropped.
    expect([store.get(running)!.warning, store.get(finishing)!.warning].map((w) => 'facts' in w!)).toEqual([false, false]);
  });

  it('counts delivery.maxAge from the start when the time before it may be a setting of the clock, and gives up from there', async () => {
    // Recorded 25 hours ago by this host's clock, which may have been set forward while the daemon was stopped.
    const store = await storeWithDelivery({ createdAt: new Date(Date.now() - 25 * HOUR).toISOString() });
    const started = Date.now() - 60_000;
    const outbox = new Outbox({ store, notifiers, logger: silentLogger(), metrics: createMetrics(), policy: POLICY, surelyPassedSince: () => started });
    outboxes.push(outbox);
    sink.setAnswer({ status: 503 });
    await outbox.flush();
    expect(delivery(store)).toMatchObject({ status: 'pending', attempts: 1, lastError: expect.stringMatching(/503/) });
    vi.setSystemTime(started + POLICY.maxAge);
    await outbox.flush();
    expect(delivery(store)).toMatchObject({ status: 'given_up', attempts: 2 });
  });

  it('keeps, untried, until delivery.maxAge a delivery whose notifier a reload took out, and gives up at once one missing since the start', async () => {
    const store = await storeWithDelivery();
    const gone = deliveryId(KEY, 'success', 'gone');
    store.addDelivery(KEY, 'gone', newDelivery({ id: gone }));
    store.addDelivery(KEY, 'never', newDelivery({ id: deliveryId(KEY, 'success', 'never') }));
    await store.save();
    const outbox = new Outbox({ store, notifiers, logger: silentLogger(), metrics: createMetrics(), policy: POLICY, reloadedAway: new Set(['gone']) });
    outboxes.push(outbox);
    await outbox.flush();
    const { deliveries } = store.get(KEY)!;
    expect(deliveries['chat']).toMatchObject({ status: 'delivered' });
    expect(deliveries['gone']).toMatchObject({ status: 'pending', attempts: 0, lastError: expect.stringMatching(/taken out of the watch file/) });
    expect(deliveries['never']).toMatchObject({ status: 'given_up', attempts: 1, lastError: 'notifier never is no longer configured' });
    vi.setSystemTime(Date.now() + POLICY.maxAge);
    await outbox.flush();
    expect(deliveries['gone']).toMatchObject({ status: 'given_up', attempts: 0, lastError: expect.stringMatching(/taken out of the watch file/) });
  });

  it('exports at 0 from its start the series of a notifier the file no longer has but the state still owes to, so that its give-up is an increase', async () => {
    // Held by a reload before a restart: given up at delivery.maxAge, long after the new process's first hour.
    const before = await storeWithDelivery({ id: deliveryId(KEY, 'success', 'gone'), heldSince: new Date().toISOString() });
    const owed = before.get(KEY)!.deliveries;
    owed['gone'] = owed['chat']!;
    delete owed['chat'];
    before.touch(KEY);
    await before.close();
    const store = await openStore(join(dir, 'state.json'));
    const metrics = createMetrics();
    const outbox = new Outbox({ store, notifiers, logger: silentLogger(), metrics, policy: POLICY });
    outboxes.push(outbox);
    const givenUp = async () => /^ecs_action_watch_notifications_total\{notifier="gone",result="given_up",reason="other"\} (\d+)$/m.exec(await metrics.registry.metrics())?.[1];
    expect(await givenUp()).toBe('0');
    vi.setSystemTime(Date.now() + POLICY.maxAge);
    await outbox.flush();
    expect(store.get(KEY)!.deliveries['gone']).toMatchObject({ status: 'given_up' });
    expect(await givenUp()).toBe('1');
  });

  it('writes the hold of a delivery whose notifier a reload took out before its retry is due: a crash then does not give it up', async () => {
    const path = join(dir, 'state.json');
    // A retry a minute off, owed to a notifier the reloaded file no longer names.
    const before = await storeWithDelivery({ id: deliveryId(KEY, 'success', 'gone'), attempts: 1, nextAttemptAt: new Date(Date.now() + 60_000).toISOString() });
    const owed = before.get(KEY)!.deliveries;
    owed['gone'] = owed['chat']!;
    delete owed['chat'];
    before.touch(KEY);
    await before.close();
    // The parts a reload starts: nothing is due, and no pass has saved yet.
    const reloaded = await openStore(path);
    const outbox = new Outbox({ store: reloaded, notifiers, logger: silentLogger(), metrics: createMetrics(), policy: POLICY, reloadedAway: new Set(['gone']) });
    outboxes.push(outbox);
    expect(reloaded.get(KEY)!.deliveries['gone']!.heldSince).toEqual(expect.any(String));
    // Killed now: the restart reads the files, with the file still without the notifier.
    await eventually(() => expect((stateOnDisk(path).watches[KEY] as ActionWatchRecord).deliveries['gone']).toMatchObject({ heldSince: expect.any(String) }));
    const restarted = await openStore(path);
    vi.setSystemTime(Date.now() + 60_000);
    await outboxFor(restarted).flush();
    expect(restarted.get(KEY)!.deliveries['gone']).toMatchObject({ status: 'pending', lastError: expect.stringMatching(/taken out of the watch file/) });
  });

  it('starts none of the attempts still waiting for a send slot once stopping, and they stay owed', async () => {
    const held: Array<() => void> = [];
    notifiers.set('chat', {
      name: 'chat',
      type: 'email',
      sendsAtOnce: 1,
      accepts: () => true,
      send: (_notification, attempt) =>
        new Promise((resolve, reject) => {
          if (attempt.signal.aborted) reject(new DeliveryError('cut off', { reason: 'other', retryable: true }));
          attempt.signal.addEventListener('abort', () => reject(new DeliveryError('cut off', { reason: 'other', retryable: true })));
          held.push(() => resolve({ answer: '250 queued', refused: [] }));
        }),
      close: async () => undefined,
    });
    const store = await openStore();
    const keys = [0, 1, 2].map((i) => watchKey({ ...ref, requestId: `req-slot-${i}` }));
    for (const key of keys) {
      const record = { ...finishedRecord(), requestId: key.split('/')[2]! };
      store.set(key, record);
      store.addDelivery(key, 'chat', newDelivery({ id: deliveryId(key, 'success', 'chat') }));
    }
    await store.save();
    const outbox = outboxFor(store);
    const flushing = outbox.flush();
    await eventually(() => expect(held).toHaveLength(1), { interval: 5 });
    const closing = outbox.close(AbortSignal.timeout(2000));
    held[0]!();
    await closing;
    await flushing.catch(() => undefined);
    expect(held).toHaveLength(1);
    expect(keys.map((key) => store.get(key)!.deliveries['chat']!.status).sort()).toEqual(['delivered', 'pending', 'pending']);
    expect(keys.map((key) => store.get(key)!.deliveries['chat']!.attempts).sort()).toEqual([0, 0, 1]);
  });

  it('drops settled deliveries from its queue', async () => {
    const store = await storeWithDelivery();
    const outbox = outboxFor(store);
    expect(outbox.pending).toBe(1);
    await outbox.flush();
    expect(outbox.pending).toBe(0);
  });

  it('sends a batch digest only once the save that holds it is done, and again after a restart until delivered', async () => {
    const store = await openStore();
    const outbox = outboxFor(store);
    const failed = { ...finishedRecord(), verdict: { outcome: 'failure' as const, reason: 'resize failed', detectedAt: new Date().toISOString() }, batch: 'fleet' };
    store.set(KEY, failed);
    const member = { key: KEY, watch: { name: 'web-01', ...ref }, outcome: 'failure' as const, reason: 'resize failed', detectedAt: failed.verdict.detectedAt };
    const digest = { round: 1, final: true, detectedAt: new Date().toISOString(), members: [member], deliveries: dictionary<DeliveryRecord>() };
    store.setBatch({ label: 'fleet', digests: [digest] });
    store.addDigestDelivery('fleet', digest, 'chat', newDelivery({ id: digestDeliveryId('fleet', 1, true, 'chat', ['p/s1/r1']) }));
    await outbox.flush();
    expect(sink.received).toHaveLength(0);

    sink.setAnswer({ status: 503 });
    await store.save();
    await outbox.flush();
    expect(sink.received).toHaveLength(1);
    await outbox.close();

    const reopened = await openStore();
    sink.setAnswer({ status: 204 });
    vi.setSystemTime(Date.parse(reopened.getBatch('fleet')!.digests[0]!.deliveries['chat']!.nextAttemptAt!));
    await outboxFor(reopened).flush();
    expect(sink.received.map((r) => r.headers['webhook-id'])).toEqual([`msg_${digestDeliveryId('fleet', 1, true, 'chat', ['p/s1/r1'])}`, `msg_${digestDeliveryId('fleet', 1, true, 'chat', ['p/s1/r1'])}`]);
    expect(sink.received[1]!.body).toMatchObject({ type: 'ecs.batch.finished', batch: 'fleet', counts: { failure: 1 }, watches: [{ outcome: 'failure', instanceAction: null, server: null }] });
    expect(reopened.getBatch('fleet')!.digests[0]!.deliveries['chat']).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});
