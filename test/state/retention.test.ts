import { describe, expect, it } from 'vitest';
import { digestsKept, isBatchExpired, isExpired, lastDigestAt, reportedAt } from '../../src/state/retention.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import type { DeliveryRecord, WatchRecord } from '../../src/state/types.ts';

const DAY = 86_400_000;
const T = Date.parse('2026-11-26T10:00:00.000Z');
const delivery = (status: DeliveryRecord['status'], updatedAt: number): DeliveryRecord => ({
  id: 'd', status, attempts: 1, createdAt: new Date(T).toISOString(), nextAttemptAt: null, lastError: null, updatedAt: new Date(updatedAt).toISOString(),
});
const record = (verdict: boolean, deliveries: Array<[string, DeliveryRecord]> = []): WatchRecord => ({
  projectId: 'p', serverId: 's', requestId: 'r', name: null, trackingSince: new Date(T - DAY).toISOString(), everFound: true, lastError: null, failingSince: null,
  instanceAction: null, server: null, verdict: verdict ? { outcome: 'success', reason: '', detectedAt: new Date(T).toISOString() } : null, deliveries: dictionary(deliveries),
});

describe('isExpired', () => {
  it('expires a finished watch once its last notification is older than the retention', () => {
    const r = record(true, [['chat', delivery('delivered', T + 1000)], ['mail', delivery('given_up', T + 2 * DAY)]]);
    expect(isExpired(r, T + 8 * DAY, 7 * DAY)).toBe(false);
    expect(isExpired(r, T + 9 * DAY, 7 * DAY)).toBe(true);
  });

  it('never expires a watch with a notification still owed', () => {
    expect(isExpired(record(true, [['chat', delivery('pending', T)]]), T + 100 * DAY, 7 * DAY)).toBe(false);
  });

  // The caller keeps every watch still polled: only one taken out of the file before its outcome gets here.
  it('expires a watch without a verdict the retention after tracking began, or after its early warning', () => {
    expect(isExpired(record(false), T + 6 * DAY - 1, 7 * DAY)).toBe(false);
    expect(isExpired(record(false), T + 6 * DAY, 7 * DAY)).toBe(true);
    const warned = (status: DeliveryRecord['status']) => ({ ...record(false), warning: { reason: 'slow', detectedAt: new Date(T).toISOString(), deliveries: dictionary([['chat', delivery(status, T + DAY)]]) } });
    expect(isExpired(warned('delivered'), T + 8 * DAY - 1, 7 * DAY)).toBe(false);
    expect(isExpired(warned('delivered'), T + 8 * DAY, 7 * DAY)).toBe(true);
    expect(isExpired(warned('pending'), T + 100 * DAY, 7 * DAY)).toBe(false);
  });

  it('counts from the verdict when nothing was to be sent', () => {
    expect(isExpired(record(true), T + 7 * DAY, 7 * DAY)).toBe(true);
  });

  it('counts a watch of a batch from its digest when that came later than its verdict', () => {
    const digest = { round: 1, final: true, detectedAt: new Date(T + 2 * DAY).toISOString(), members: [], deliveries: dictionary([['chat', delivery('delivered', T + 3 * DAY)]]) };
    const told = lastDigestAt({ label: 'fleet', digests: [digest] });
    expect(isExpired(record(true), T + 9 * DAY, 7 * DAY, told)).toBe(false);
    expect(isExpired(record(true), T + 10 * DAY, 7 * DAY, told)).toBe(true);
    digest.deliveries['chat'] = delivery('pending', T + 3 * DAY);
    expect(isExpired(record(true), T + 100 * DAY, 7 * DAY, lastDigestAt({ label: 'fleet', digests: [digest] }))).toBe(false);
  });

  it('waits for an early warning still owed too', () => {
    const r = { ...record(true), warning: { reason: 'slow', detectedAt: new Date(T).toISOString(), deliveries: dictionary([['chat', delivery('pending', T)]]) } };
    expect(isExpired(r, T + 100 * DAY, 7 * DAY)).toBe(false);
  });
});

describe('isBatchExpired', () => {
  const digest = (deliveries: Array<[string, DeliveryRecord]>) => ({ round: 1, final: true, detectedAt: new Date(T).toISOString(), members: [], deliveries: dictionary(deliveries) });

  it('expires a batch whose digests are settled, counting from the last one', () => {
    const batch = { label: 'fleet', digests: [digest([['chat', delivery('delivered', T + DAY)]])] };
    expect(isBatchExpired(batch, T + 7 * DAY, 7 * DAY)).toBe(false);
    expect(isBatchExpired(batch, T + 8 * DAY, 7 * DAY)).toBe(true);
  });

  it('never while a digest is owed', () => {
    expect(isBatchExpired({ label: 'fleet', digests: [digest([['chat', delivery('pending', T)]])] }, T + 100 * DAY, 7 * DAY)).toBe(false);
  });
});

// A label used run after run: each watch counts from the digests that reported it, not the batch's newest.
describe('reportedAt and digestsKept', () => {
  const member = (key: string) => ({ key, watch: { name: key, projectId: 'p', serverId: 's', requestId: key }, outcome: 'success' as const, reason: '', detectedAt: null });
  const digest = (round: number, keys: string[], status: DeliveryRecord['status'], at: number, final = true) => ({
    round, final, detectedAt: new Date(at).toISOString(), members: keys.map(member), deliveries: dictionary([['chat', delivery(status, at + 1000)]]),
  });

  it('tells when the last digest that reported each watch was settled, Infinity while one is owed', () => {
    const batch = { label: 'nightly', digests: [digest(1, ['a'], 'delivered', T), digest(2, ['b'], 'delivered', T + DAY), digest(3, ['a', 'c'], 'pending', T + 2 * DAY)] };
    expect(Object.fromEntries(reportedAt([batch]))).toEqual({ a: Infinity, b: T + DAY + 1000, c: Infinity });
  });

  it("keeps the last final round and after, those a record kept reports, a round with a digest owed, and those settled within the retention", () => {
    const batch = {
      label: 'nightly',
      digests: [
        digest(1, ['a'], 'delivered', T), digest(2, ['b'], 'delivered', T), digest(3, ['c'], 'pending', T, false), digest(3, ['c'], 'delivered', T),
        digest(4, ['d'], 'delivered', T + 6 * DAY), digest(5, ['e'], 'delivered', T), digest(6, ['f'], 'delivered', T, false),
      ],
    };
    const kept = digestsKept(batch, (key) => key === 'b', T + 8 * DAY, 7 * DAY);
    expect(kept.map((d) => `${d.round}${d.final ? '' : ' partial'}`)).toEqual(['2', '3 partial', '3', '4', '5', '6 partial']);
  });
});
