import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nextDelay, retryAt } from '../../src/delivery/backoff.ts';
import { deliveryId, digestDeliveryId, digestNotificationFor, notificationFor, pendingDelivery } from '../../src/delivery/notification.ts';
import type { ActionWatchRecord, WatchRecord } from '../../src/state/types.ts';
import { watchKey } from '../../src/state/store.ts';
import { heapBytesEach, sourceModule } from '../isolated.ts';

const policy = { minDelay: 1000, maxDelay: 60_000 };

describe('nextDelay', () => {
  it('doubles from minDelay, jittered within the upper half, and stops at maxDelay', () => {
    expect(nextDelay(policy, 1, undefined, () => 0)).toBe(500);
    expect(nextDelay(policy, 1, undefined, () => 1)).toBe(1000);
    expect(nextDelay(policy, 3, undefined, () => 1)).toBe(4000);
    expect(nextDelay(policy, 30, undefined, () => 1)).toBe(60_000);
  });

  it('waits at least what Retry-After asked for, but never beyond maxDelay', () => {
    expect(nextDelay(policy, 1, 30_000, () => 0)).toBe(30_000);
    expect(nextDelay(policy, 1, 3_600_000, () => 0)).toBe(60_000);
  });
});

describe('retryAt', () => {
  const delivery = { ...policy, maxAge: 3_600_000 };
  it('schedules the next attempt by the backoff while the delivery is younger than maxAge', () => {
    expect(retryAt(delivery, 0, 10_000, 3, undefined, () => 1)).toBe(14_000);
  });

  it('puts the last attempt on maxAge rather than past it, and gives up from then on', () => {
    expect(retryAt(delivery, 0, 3_590_000, 20, undefined, () => 1)).toBe(3_600_000);
    expect(retryAt(delivery, 0, 3_600_000, 21)).toBeNull();
  });
});

describe('deliveryId', () => {
  const ref = { projectId: 'p', serverId: 's', requestId: 'req-1' };
  const key = watchKey(ref);
  it('is stable for a watch, outcome and notifier, and differs when any of them does', () => {
    expect(deliveryId(key, 'failure', 'chat')).toBe(deliveryId(watchKey({ ...ref }), 'failure', 'chat'));
    expect(deliveryId(key, 'failure', 'chat')).toMatch(/^[0-9a-f]{32}$/);
    const others = [deliveryId(key, 'success', 'chat'), deliveryId(key, 'failure', 'mail'), deliveryId(watchKey({ ...ref, requestId: 'req-2' }), 'failure', 'chat')];
    expect(new Set([deliveryId(key, 'failure', 'chat'), ...others]).size).toBe(4);
  });

  it('is what it was before watches had kinds, so that an upgrade re-notifies nothing', () => {
    expect(deliveryId(key, 'failure', 'chat')).toBe(createHash('sha256').update('p/s/req-1/failure/chat').digest('hex').slice(0, 32));
  });

  it('gives a digest an id of its own batch: a label used again for other watches gets another, the same watches in any order the same', () => {
    const nightly = digestDeliveryId('nightly', 1, true, 'chat', ['p/s1/r1', 'p/s2/r2']);
    expect(digestDeliveryId('nightly', 1, true, 'chat', ['p/s2/r2', 'p/s1/r1'])).toBe(nightly);
    expect(digestDeliveryId('nightly', 1, true, 'chat', ['p/s3/r3'])).not.toBe(nightly);
    expect(digestDeliveryId('nightly', 1, false, 'chat', ['p/s1/r1', 'p/s2/r2'])).not.toBe(nightly);
    expect(nightly).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps a job apart from an action', () => {
    const job = watchKey({ kind: 'ecs-job', projectId: 'p', jobId: 'req-1' });
    expect(deliveryId(job, 'failure', 'chat')).not.toBe(deliveryId(key, 'failure', 'chat'));
  });

  it('costs a finished watch its 32 characters, not the whole digest it was cut from', () => {
    // The heap of 20,000 ids kept, as delivery records keep them.
    const setup = `const { deliveryId } = await import(${sourceModule('delivery/notification.ts')});`;
    const bytesEach = heapBytesEach(setup, "deliveryId('p/s/req-' + i, 'failure', 'chat')");
    // 48-51 bytes on Node 24 (the string and its slot); 112-114 when the id was a slice of the 64-digit digest.
    expect(bytesEach).toBeLessThan(90);
  });
});

describe('notificationFor', () => {
  it('builds the contract body from the state record', () => {
    const record: WatchRecord = {
      projectId: 'p', serverId: 's', requestId: 'req-1', name: null, trackingSince: '2026-11-26T10:00:00.000Z', everFound: false,
      lastError: null, failingSince: null, instanceAction: null, server: null, verdict: null, deliveries: {},
    };
    const n = notificationFor(record, { outcome: 'not_found', reason: 'never found', detectedAt: '2026-11-26T10:02:00.000Z' });
    expect(n).toEqual({
      type: 'ecs.action.not_found',
      outcome: 'not_found',
      watch: { name: null, projectId: 'p', serverId: 's', requestId: 'req-1' },
      instanceAction: null,
      server: null,
      reason: 'never found',
      detectedAt: '2026-11-26T10:02:00.000Z',
    });
  });
});

describe('pendingDelivery', () => {
  it('is owed, never attempted and due at once: its first attempt is attempt 1', () => {
    expect(pendingDelivery('id-1', '2026-11-26T10:05:00.000Z')).toEqual({
      id: 'id-1', status: 'pending', attempts: 0, createdAt: '2026-11-26T10:05:00.000Z', nextAttemptAt: null, lastError: null, updatedAt: '2026-11-26T10:05:00.000Z',
    });
  });
});

describe('digestNotificationFor', () => {
  it('gives a success its reason alone and a failure the facts of its own notification, failures first', () => {
    const base: ActionWatchRecord = {
      projectId: 'p', serverId: 's', requestId: 'req-ok', name: null, trackingSince: '2026-11-26T10:00:00.000Z', everFound: true,
      lastError: null, failingSince: null, instanceAction: null, server: { id: 's', name: 'web', status: 'ACTIVE' } as unknown as ActionWatchRecord['server'],
      verdict: { outcome: 'success', reason: 'done', detectedAt: '2026-11-26T10:02:00.000Z' }, deliveries: {}, batch: 'fleet',
    };
    const failed: ActionWatchRecord = { ...base, requestId: 'req-bad', verdict: { outcome: 'failure', reason: 'resize failed', detectedAt: '2026-11-26T10:03:00.000Z' } };
    const records = new Map<string, WatchRecord>([[watchKey(base), base], [watchKey(failed), failed]]);
    const member = (r: ActionWatchRecord) => ({ key: watchKey(r), watch: { name: null, projectId: 'p', serverId: 's', requestId: r.requestId }, outcome: r.verdict!.outcome, reason: r.verdict!.reason, detectedAt: r.verdict!.detectedAt });
    const digest = { round: 1, final: true, detectedAt: '2026-11-26T10:04:00.000Z', members: [member(base), member(failed)], deliveries: {} };
    const n = digestNotificationFor('fleet', digest, (key) => records.get(key));
    const watch = (requestId: string) => ({ name: null, projectId: 'p', serverId: 's', requestId });
    expect(n.watches).toEqual([
      { watch: watch('req-bad'), outcome: 'failure', reason: 'resize failed', detectedAt: '2026-11-26T10:03:00.000Z', instanceAction: null, server: base.server },
      { watch: watch('req-ok'), outcome: 'success', reason: 'done', detectedAt: '2026-11-26T10:02:00.000Z' },
    ]);
  });
});
