import { describe, expect, it } from 'vitest';
import { dueDigest, wantsDigest, type Member } from '../../src/batch/plan.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import type { NotifyEvent, Outcome } from '../../src/model.ts';
import type { BatchRecord, WatchRecord } from '../../src/state/types.ts';

const T = Date.parse('2026-11-26T17:00:00.000Z');
const MIN = 60_000;

function member(i: number, outcome: Outcome | null, options: { since?: number; window?: number; notify?: string[] } = {}): Member {
  const record: WatchRecord = {
    projectId: 'p', serverId: `s${i}`, requestId: `req-${i}`, name: `web-${i}`,
    trackingSince: new Date(options.since ?? T).toISOString(), everFound: true, lastError: null, failingSince: null, instanceAction: null, server: null,
    verdict: outcome === null ? null : { outcome, reason: `${outcome} reason`, detectedAt: new Date(T + MIN).toISOString() },
    deliveries: dictionary(),
  };
  return { key: `p/s${i}/req-${i}`, record, batchWindowMs: options.window, notify: options.notify };
}

function batchOf(...digests: Array<{ round: number; final: boolean; keys: string[] }>): BatchRecord {
  return {
    label: 'fleet',
    digests: digests.map((d) => ({
      round: d.round, final: d.final, detectedAt: new Date(T).toISOString(), deliveries: dictionary(),
      members: d.keys.map((key) => ({ key, watch: { name: null, projectId: 'p', serverId: 's', requestId: 'r' }, outcome: 'success' as const, reason: '', detectedAt: null })),
    })),
  };
}

describe('dueDigest', () => {
  it('waits while a watch is pending, and is final once every watch has a verdict', () => {
    expect(dueDigest(undefined, [member(1, 'success'), member(2, null)], T + 10 * MIN)).toBeNull();
    const due = dueDigest(undefined, [member(1, 'success'), member(2, 'failure')], T + 10 * MIN);
    expect(due).toMatchObject({ round: 1, final: true });
    expect(due?.members.map((m) => m.key)).toEqual(['p/s1/req-1', 'p/s2/req-2']);
  });

  it('is due once only: a batch whose final digest covers every watch has nothing more to say', () => {
    const members = [member(1, 'success'), member(2, 'failure')];
    expect(dueDigest(batchOf({ round: 1, final: true, keys: members.map((m) => m.key) }), members, T + 10 * MIN)).toBeNull();
  });

  it('sends a partial digest once the earliest watch is the shortest batchWindow old, and only one per round', () => {
    const members = [member(1, 'success', { since: T, window: 30 * MIN }), member(2, null, { since: T + 5 * MIN, window: 20 * MIN }), member(3, null)];
    expect(dueDigest(undefined, members, T + 20 * MIN - 1)).toBeNull();
    expect(dueDigest(undefined, members, T + 20 * MIN)).toMatchObject({ round: 1, final: false });
    const sent = batchOf({ round: 1, final: false, keys: members.map((m) => m.key) });
    expect(dueDigest(sent, members, T + 90 * MIN)).toBeNull();
    // ...and the final one still follows.
    expect(dueDigest(sent, members.map((m, i) => (i === 0 ? m : member(i + 1, 'timeout'))), T + 90 * MIN)).toMatchObject({ round: 1, final: true });
  });

  it('sends no partial digest without a batchWindow', () => {
    expect(dueDigest(undefined, [member(1, null)], T + 1000 * MIN)).toBeNull();
  });

  it('opens a second round for watches that join after the final digest, about them alone', () => {
    const first = [member(1, 'success'), member(2, 'failure')];
    const batch = batchOf({ round: 1, final: true, keys: first.map((m) => m.key) });
    expect(dueDigest(batch, [...first, member(3, null)], T + 10 * MIN)).toBeNull();
    const due = dueDigest(batch, [...first, member(3, 'success')], T + 10 * MIN);
    expect(due).toMatchObject({ round: 2, final: true });
    expect(due?.members.map((m) => m.key)).toEqual(['p/s3/req-3']);
  });

  it('judges the watches in the file: one removed from it no longer holds the batch up', () => {
    expect(dueDigest(undefined, [member(1, 'success')], T)).toMatchObject({ final: true });
    expect(dueDigest(undefined, [], T)).toBeNull();
  });
});

describe('wantsDigest', () => {
  const only = (...events: NotifyEvent[]) => (e: NotifyEvent) => events.includes(e);
  const final = { round: 1, final: true, members: [member(1, 'success'), member(2, 'timeout')] };
  const partial = { round: 1, final: false, members: [member(1, 'success'), member(2, null)] };

  it('sends a final digest to a notifier told about an outcome it counts', () => {
    expect(wantsDigest(only('timeout'), final)).toBe(true);
    expect(wantsDigest(only('failure', 'not_found'), final)).toBe(false);
  });

  it('sends a partial digest to a notifier that takes early warnings, or an outcome it counts', () => {
    expect(wantsDigest(only('slow'), partial)).toBe(true);
    expect(wantsDigest(only('success'), partial)).toBe(true);
    expect(wantsDigest(only('failure'), partial)).toBe(false);
    expect(wantsDigest(only('slow'), final)).toBe(false);
  });
});
