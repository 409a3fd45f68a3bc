import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import type { InstanceAction } from '../../src/model.ts';
import { ecsJobKind } from '../../src/watch/kinds/ecsJob.ts';
import { instanceActionKind } from '../../src/watch/kinds/instanceAction.ts';
import type { Progress } from '../../src/watch/kinds/types.ts';
import { slowness, warnAfterFor } from '../../src/watch/slow.ts';

const MIN = 60_000;
const START = Date.parse('2026-11-26T17:00:00.000Z');
const resize = (overrides: Partial<InstanceAction> = {}): InstanceAction => ({
  action: 'resize',
  request_id: 'req-1',
  message: null,
  // Nova's times carry no zone and mean UTC.
  start_time: '2026-11-26T17:00:00.000000',
  events: [
    { event: 'compute_prep_resize', start_time: '2026-11-26T17:00:01.000000', finish_time: '2026-11-26T17:00:09.000000', result: 'Success' },
    { event: 'compute_resize_instance', start_time: '2026-11-26T17:00:10.000000', finish_time: null, result: null },
  ],
  ...overrides,
});
/** What the engine hands slowness(): the action kind's progress of a record holding the action. */
const progressOf = (action: InstanceAction): Progress =>
  instanceActionKind.progress({
    projectId: 'p', serverId: 's', requestId: 'req-1', name: null, trackingSince: '2026-11-26T17:00:00.000Z', everFound: true, lastError: null, failingSince: null,
    instanceAction: action, server: null, verdict: null, deliveries: dictionary(),
  })!;
const table = (poll: string) => parseConfig(`cloud: { endpoint: "https://ecs.example.com", projectId: p }\npoll:\n${poll}\n`, { env: {} }).poll.warnAfter;

describe('slowness', () => {
  it('is null until the action has run warnAfter since its own start (Nova UTC), then says how long and where it is', () => {
    expect(slowness(progressOf(resize()), START + 20 * MIN - 1, 20 * MIN)).toBeNull();
    expect(slowness(progressOf(resize()), START + 23 * MIN, 20 * MIN)).toBe(
      'resize still running 23 min after it started (warnAfter 20 min); 1/2 events done, running compute_resize_instance',
    );
  });

  it('says the same of a job, by its sub-jobs', () => {
    const job: Progress = { subject: 'createServer', done: 1, total: 3, unit: 'sub-jobs', running: ['createServer on s2'], startedAt: START };
    expect(slowness(job, START + 61 * MIN, 60 * MIN)).toBe('createServer still running 1 h 1 min after it started (warnAfter 1 h); 1/3 sub-jobs done, running createServer on s2');
  });

  it('warns of a job whose answer gives no job_type (Huawei documents it as possibly null) as a job, by poll.warnAfter\'s other', () => {
    const progress = ecsJobKind.progress({
      kind: 'ecs-job', projectId: 'p', jobId: 'j1', name: null, trackingSince: '2026-11-26T17:00:00.000Z', everFound: true,
      observed: { firstNotFoundAt: null, notFoundAnswers: 0 }, lastError: null, failingSince: null, verdict: null, deliveries: dictionary(),
      job: { status: 'RUNNING', job_id: 'j1', job_type: null, begin_time: '2026-11-26T17:00:00.000Z', end_time: null, error_code: null, fail_reason: null, entities: {} },
    })!;
    const warnAfter = warnAfterFor(undefined, progress.subject!, table('  warnAfter: { other: 45m }'));
    expect(warnAfter).toBe(45 * MIN);
    expect(slowness(progress, START + 46 * MIN, warnAfter!)).toBe('job still running 46 min after it started (warnAfter 45 min)');
  });

  it('never warns on a guess: no start time, or one that is no time', () => {
    expect(slowness(progressOf(resize({ start_time: null })), START + 100 * MIN, MIN)).toBeNull();
    expect(slowness(progressOf(resize({ start_time: 'yesterday' })), START + 100 * MIN, MIN)).toBeNull();
  });

  it('leaves out the events where the API shows none', () => {
    expect(slowness(progressOf(resize({ events: undefined })), START + 2 * MIN, MIN)).toBe('resize still running 2 min after it started (warnAfter 1 min)');
  });
});

describe('warnAfter', () => {
  it('is off unless asked for: a watch\'s own warnAfter alone then warns', () => {
    const unset = table('  schedule: "* * * * *"');
    expect(['reboot', 'resize', 'lock'].map((a) => warnAfterFor(undefined, a, unset))).toEqual([null, null, null]);
    expect(warnAfterFor(20 * MIN, 'reboot', unset)).toBe(20 * MIN);
  });

  it('takes auto as a duration per action type, with other for the rest', () => {
    const defaults = table('  warnAfter: auto');
    expect(warnAfterFor(undefined, 'reboot', defaults)).toBe(10 * MIN);
    expect(warnAfterFor(undefined, 'live-migration', defaults)).toBe(60 * MIN);
    expect(warnAfterFor(undefined, 'create', defaults)).toBe(30 * MIN);
    expect(warnAfterFor(undefined, 'lock', defaults)).toBe(30 * MIN);
  });

  it('takes a mapping over the defaults, one duration for every type, or off', () => {
    const mapping = table('  warnAfter: { resize: 2h, reboot: off, other: 45m }');
    expect(warnAfterFor(undefined, 'resize', mapping)).toBe(120 * MIN);
    expect(warnAfterFor(undefined, 'reboot', mapping)).toBeNull();
    expect(warnAfterFor(undefined, 'create', mapping)).toBe(30 * MIN);
    expect(warnAfterFor(undefined, 'lock', mapping)).toBe(45 * MIN);
    const every = table('  warnAfter: 20m');
    expect(['reboot', 'resize', 'lock'].map((a) => warnAfterFor(undefined, a, every))).toEqual([20 * MIN, 20 * MIN, 20 * MIN]);
    expect(warnAfterFor(undefined, 'resize', table('  warnAfter: off'))).toBeNull();
  });

  it("lets the watch's own warnAfter win, off included", () => {
    const every = table('  warnAfter: 20m');
    expect(warnAfterFor(5 * MIN, 'resize', every)).toBe(5 * MIN);
    expect(warnAfterFor(null, 'resize', every)).toBeNull();
  });
});
