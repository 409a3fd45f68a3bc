import { describe, expect, it } from 'vitest';
import { dictionary } from '../../src/data/dictionary.ts';
import { digestAwaited, notifiedOf, notifiedWord } from '../../src/state/notified.ts';
import type { BatchRecord, DeliveryRecord, DeliveryStatus, WatchRecord } from '../../src/state/types.ts';

const AT = '2026-12-05T10:00:00.000Z';
const LATER = '2026-12-05T10:05:00.000Z';

const delivery = (status: DeliveryStatus, attempts = 1): DeliveryRecord => ({
  id: `id-${status}`, status, attempts, createdAt: AT, nextAttemptAt: LATER, lastError: status === 'delivered' ? null : 'answered 503', updatedAt: AT,
});

const record = (deliveries: Array<[string, DeliveryRecord]>, batch: string | null = null, decided = true): WatchRecord => ({
  projectId: 'p', serverId: 's', requestId: 'r', name: null, trackingSince: AT, everFound: true, lastError: null, failingSince: null,
  instanceAction: null, server: null, verdict: decided ? { outcome: 'failure', reason: 'boom', detectedAt: AT } : null, deliveries: dictionary(deliveries), batch,
});

const noBatch = (): BatchRecord | undefined => undefined;

describe('notifiedOf', () => {
  it('is null while the daemon has decided nothing', () => {
    expect(notifiedOf('k', record([['chat', delivery('pending')]], null, false), noBatch)).toBeNull();
  });

  it('gives the verdict and each notifier\'s delivery, with a next attempt only while one is owed', () => {
    const n = notifiedOf('k', record([['chat', delivery('delivered')], ['mail', delivery('pending', 3)], ['pager', delivery('given_up', 9)]]), noBatch);
    expect(n).toEqual({
      outcome: 'failure',
      detectedAt: AT,
      batch: null,
      deliveries: {
        chat: { status: 'delivered', attempts: 1, lastError: null, nextAttemptAt: null, updatedAt: AT },
        mail: { status: 'pending', attempts: 3, lastError: 'answered 503', nextAttemptAt: LATER, updatedAt: AT },
        pager: { status: 'given_up', attempts: 9, lastError: 'answered 503', nextAttemptAt: null, updatedAt: AT },
      },
    });
    expect(notifiedWord(n!, false)).toBe('given up');
  });

  it('reads a batched watch\'s deliveries from the last digest that reports its outcome, none before that digest', () => {
    const member = (outcome: 'failure' | null) => ({ key: 'k', watch: {} as never, outcome, reason: '', detectedAt: outcome && AT });
    const digest = (round: number, outcome: 'failure' | null, status: DeliveryStatus) => ({ round, final: outcome !== null, detectedAt: AT, members: [member(outcome)], deliveries: dictionary([['chat', delivery(status)]]) });
    const batch: BatchRecord = { label: 'fleet', digests: [digest(1, null, 'delivered'), digest(1, 'failure', 'pending')] };
    const batched = record([], 'fleet');
    expect(notifiedOf('k', batched, (label) => (label === 'fleet' ? batch : undefined))).toMatchObject({ batch: 'fleet', deliveries: { chat: { status: 'pending' } } });
    // A partial digest that lists it still running does not report its outcome.
    const partialOnly = { ...batch, digests: [batch.digests[0]!] };
    const waiting = notifiedOf('k', batched, () => partialOnly);
    expect(waiting).toMatchObject({ batch: 'fleet', deliveries: {} });
    expect(digestAwaited('k', batched, () => partialOnly)).toBe(true);
    expect(notifiedWord(waiting!, true)).toBe('in digest');
  });

  it('says no notifier of a watch whose final digest was recorded with no notifier to go to', () => {
    const digest = { round: 1, final: true, detectedAt: AT, members: [{ key: 'k', watch: {} as never, outcome: 'failure' as const, reason: '', detectedAt: AT }], deliveries: dictionary<DeliveryRecord>() };
    const batched = record([], 'fleet');
    const batchOf = () => ({ label: 'fleet', digests: [digest] });
    expect(digestAwaited('k', batched, batchOf)).toBe(false);
    expect(notifiedWord(notifiedOf('k', batched, batchOf)!, false)).toBe('no notifier');
  });
});

describe('notifiedWord', () => {
  const word = (...statuses: DeliveryStatus[]) => notifiedWord(notifiedOf('k', record(statuses.map((s, i) => [`n${i}`, delivery(s)])), noBatch)!, false);

  it('says the worst of the deliveries', () => {
    expect(word('delivered', 'delivered')).toBe('sent');
    expect(word('delivered', 'pending')).toBe('sending');
    expect(word('pending', 'given_up', 'delivered')).toBe('given up');
    expect(word()).toBe('no notifier');
  });
});
