import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { moveBatchTimes, moveTrackingTimes, moveWatchTimes } from '../../src/state/moveTimes.ts';
import { NOTHING_OBSERVED } from '../../src/state/observed.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import type { ActionWatchRecord, BatchRecord, DeliveryRecord, JobWatchRecord, TrackingState } from '../../src/state/types.ts';
import type { EcsJob, InstanceAction } from '../../src/model.ts';

// Every time this host's clock stamped is 10:00 (HOST); the API's are its own (the samples' 2018 times).
const HOST = '2026-12-02T10:00:00.000Z';
const MOVED = '2026-12-02T10:30:00.000Z';
const BY = 30 * 60_000;
const sample = <T>(path: string): T => JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8')) as T;
const action = sample<{ instanceAction: InstanceAction }>('nova-api-samples/v2.84/instance-action-get-resp.json').instanceAction;
const job = sample<EcsJob>('ecs-api-samples/job-show-resp.json');

const delivery = (): DeliveryRecord => ({ id: 'd', status: 'pending', attempts: 2, createdAt: HOST, nextAttemptAt: HOST, lastError: 'refused', updatedAt: HOST });
const base = {
  projectId: 'p', name: null, trackingSince: HOST, everFound: true, lastError: 'timeout', failingSince: HOST,
  verdict: { outcome: 'success' as const, reason: 'done', detectedAt: HOST }, deliveries: dictionary([['chat', delivery()]]),
  warning: { reason: 'slow', detectedAt: HOST, deliveries: dictionary([['mail', delivery()]]) },
};

/** Every string of `value` that is a time, with its path. */
function times(value: unknown, path = ''): Array<[string, string]> {
  if (typeof value === 'string') return Number.isNaN(Date.parse(value)) || !/^\d{4}-/.test(value) ? [] : [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => times(v, `${path}.${k}`));
}

/** The record's times before and after the move: each of this host's moved by 30 min, each of the API's as it was. */
function expectMoved(before: Array<[string, string]>, after: Array<[string, string]>): void {
  expect(before.filter(([, t]) => t === HOST).length).toBeGreaterThan(0);
  expect(after).toEqual(before.map(([path, t]) => [path, t === HOST ? MOVED : t]));
}

describe('moving the times this host stamped by a step of its clock', () => {
  it('moves every time of a watch of an action, and none the API stamped', () => {
    const record: ActionWatchRecord = {
      ...structuredClone(base), serverId: 's', requestId: action.request_id, instanceAction: action, server: { status: 'ERROR', taskState: null, fault: { code: 500, message: 'boom', created: '2018-04-25T01:26:36Z' } },
      observed: { firstNotFoundAt: HOST, notFoundAnswers: 2, serverGoneSince: HOST, serverGoneAnswers: 1, migrationsReadable: true, migrationsRefusedAnswers: 0, stallCheckedAt: HOST, erroredSince: HOST, finishSeenAt: HOST },
    };
    const before = times(record);
    expect(before.some(([path]) => path.startsWith('.instanceAction.'))).toBe(true);
    moveWatchTimes(record, BY);
    expectMoved(before, times(record));
  });

  it('moves a job watch\'s, leaving the job\'s own times', () => {
    const record: JobWatchRecord = { ...structuredClone(base), kind: 'ecs-job', jobId: 'j', job, observed: { firstNotFoundAt: HOST, notFoundAnswers: 1 } };
    const before = times(record);
    moveWatchTimes(record, BY);
    expectMoved(before, times(record));
  });

  it('leaves the memory that records share as it is, and gives a record whose memory has times one of its own', () => {
    const shared = { ...structuredClone(base), serverId: 's', requestId: 'r', instanceAction: null, server: null };
    const one: ActionWatchRecord = { ...shared, observed: NOTHING_OBSERVED };
    const other: ActionWatchRecord = { ...shared, observed: NOTHING_OBSERVED };
    moveWatchTimes(one, BY);
    expect(one.observed).toBe(NOTHING_OBSERVED);
    expect(NOTHING_OBSERVED).toMatchObject({ firstNotFoundAt: null, serverGoneSince: null, stallCheckedAt: null, erroredSince: null });
    other.observed = { ...NOTHING_OBSERVED, stallCheckedAt: HOST };
    const before = other.observed;
    moveWatchTimes(other, BY);
    expect(other.observed).toStrictEqual({ ...NOTHING_OBSERVED, stallCheckedAt: MOVED });
    expect(before.stallCheckedAt).toBe(HOST);
  });

  it('leaves what is null, and a record without the optional parts', () => {
    const record: ActionWatchRecord = { ...structuredClone(base), failingSince: null, verdict: null, warning: null, serverId: 's', requestId: 'r', instanceAction: null, server: null };
    moveWatchTimes(record, -BY);
    expect(record).toMatchObject({ trackingSince: '2026-12-02T09:30:00.000Z', failingSince: null, verdict: null, warning: null });
  });

  it("moves a batch's digests and auto-tracking's times, not the API's horizon and cursor", () => {
    const batch: BatchRecord = {
      label: 'fleet',
      digests: [{ round: 1, final: true, detectedAt: HOST, members: [{ key: 'k', watch: {} as never, outcome: 'success', reason: 'done', detectedAt: HOST }, { key: 'l', watch: {} as never, outcome: null, reason: 'running', detectedAt: null }], deliveries: dictionary([['chat', delivery()]]) }],
    };
    const tracking: TrackingState = {
      servers: dictionary([['p/s', { projectId: 'p', serverId: 's', name: 'web', since: HOST, horizon: '2018-04-25T01:26:36.000000', seen: dictionary([['req-1', '2018-04-25T01:26:36.000000']]), cursor: '2018-04-25T01:26:36Z', ending: false, missingSince: HOST, missingAnswers: 1, endedAt: HOST, lastError: null }]]),
      projects: dictionary([['p', { projectId: 'p', since: HOST, horizon: '2018-04-25T01:25:00.000000', baseline: '2018-04-25T01:26:36Z', deletedAtBaseline: ['s0'], cursor: '2018-04-25T01:26:36Z', lastError: null }]]),
    };
    const before = [...times(batch), ...times(tracking)];
    moveBatchTimes(batch, BY);
    moveTrackingTimes(tracking, BY);
    expectMoved(before, [...times(batch), ...times(tracking)]);
  });
});
