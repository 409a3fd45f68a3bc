// The job verdict table: what GET /v1/{project}/jobs/{job} answered, what earlier polls saw, and the
// outcome the contract's "Beyond one request id" section asks for.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EcsJob, EcsSubJob } from '../../src/model.ts';
import { jobSchema } from '../../src/cloud/schemas.ts';
import { decideJob, type JobObservation } from '../../src/watch/jobVerdict.ts';
import { NOT_FOUND_WINDOW_MS, type LookupMemory } from '../../src/watch/judgement.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const SAMPLE = jobSchema.parse(JSON.parse(readFileSync(new URL('../fixtures/ecs-api-samples/job-show-resp.json', import.meta.url), 'utf8')));

const sub = (status: string, extra: Partial<EcsSubJob> = {}): EcsSubJob => ({
  status, entities: { server_id: `srv-${status.toLowerCase()}` }, job_type: 'createSingleServer', error_code: null, fail_reason: null, ...extra,
});
const job = (status: string, extra: Partial<EcsJob> = {}): EcsJob => ({
  status,
  job_id: 'j1',
  job_type: 'createServer',
  begin_time: iso(T0),
  end_time: status === 'SUCCESS' || status === 'FAIL' ? iso(T0 + 65_000) : '',
  error_code: null,
  fail_reason: null,
  entities: {},
  ...extra,
});
const found = (j: EcsJob): JobObservation => ({ kind: 'found', job: j });
const NOT_FOUND: JobObservation = { kind: 'not_found', answer: '400 Common.0011', message: 'No jobs found.' };
const FRESH: LookupMemory = { everFound: false, firstNotFoundAt: null, notFoundAnswers: 0 };
const SEEN: LookupMemory = { ...FRESH, everFound: true };

interface Row {
  name: string;
  seen: JobObservation;
  memory?: LookupMemory;
  now?: number;
  deadlineMs?: number;
  trackingSince?: number;
  expect: { outcome?: string; reason: RegExp; pollFailed?: boolean };
}

const ROWS: Row[] = [
  { name: 'the reference sample (SUCCESS, one sub-job)', seen: found(SAMPLE), trackingSince: Date.parse('2016-04-25T20:05:00Z'), now: Date.parse('2016-04-25T20:09:00Z'),
    expect: { outcome: 'success', reason: /^createServer: succeeded in 4 min 7 s \(1 sub-job\)$/ } },
  { name: 'INIT waits', seen: found(job('INIT')), expect: { reason: /^createServer: INIT$/ } },
  { name: 'RUNNING waits, naming the sub-jobs still running',
    seen: found(job('RUNNING', { entities: { sub_jobs_total: 2, sub_jobs: [sub('SUCCESS'), sub('RUNNING')] } })),
    expect: { reason: /^createServer: RUNNING, 1\/2 sub-jobs finished \(server srv-running RUNNING\)$/ } },
  { name: 'RUNNING counts the sub-jobs it says it has, not only those it lists yet',
    seen: found(job('RUNNING', { entities: { sub_jobs_total: 5, sub_jobs: [sub('SUCCESS'), sub('SUCCESS')] } })),
    expect: { reason: /^createServer: RUNNING, 2\/5 sub-jobs finished$/ } },
  { name: 'a sub-job without a status (optional in the SDKs) waits, named as not known yet',
    seen: found(jobSchema.parse({ status: 'RUNNING', job_id: 'j1', job_type: 'createServer', entities: { sub_jobs: [{ status: null, entities: { server_id: 'srv-1' } }] } })),
    expect: { reason: /^createServer: RUNNING, 0\/1 sub-jobs finished \(server srv-1 UNKNOWN\)$/ } },
  { name: 'PENDING_PAYMENT waits for the order', seen: found(job('PENDING_PAYMENT')), expect: { reason: /waiting for the order to be paid/ } },
  { name: 'a status the API adds later waits rather than guess', seen: found(job('ROLLING_BACK')), expect: { reason: /^createServer: ROLLING_BACK$/ } },
  { name: 'FAIL gives the job\'s and each failed sub-job\'s code and reason',
    seen: found(job('FAIL', {
      error_code: 'Ecs.0000', fail_reason: 'Request error.',
      entities: { sub_jobs: [sub('SUCCESS'), sub('FAIL', { error_code: 'Ecs.0039', fail_reason: 'Insufficient EVS disk quota.' })] },
    })),
    expect: { outcome: 'failure', reason: /^createServer failed: Ecs.0000 Request error.; createSingleServer on server srv-fail FAIL: Ecs.0039 Insufficient EVS disk quota.; 1 of 2 sub-jobs succeeded$/ } },
  { name: 'FAIL beside a sub-job in another state says it did not fail, not that it succeeded',
    seen: found(job('FAIL', { entities: { sub_jobs: [sub('RUNNING'), sub('FAIL', { error_code: 'Ecs.0039', fail_reason: 'Insufficient EVS disk quota.' })] } })),
    expect: { outcome: 'failure', reason: /; 1 of 2 sub-jobs did not fail$/ } },
  { name: 'SUCCESS that lists a failed sub-job stays a success, as the contract maps the status, and names the failed one',
    seen: found(job('SUCCESS', { entities: { sub_jobs: [sub('SUCCESS'), sub('FAIL', { error_code: 'Ecs.0041', fail_reason: 'No valid host was found.' })] } })),
    expect: { outcome: 'success', reason: /^createServer: succeeded in 1 min 5 s \(2 sub-jobs\), by its status; yet createSingleServer on server srv-fail FAIL: Ecs.0041 No valid host was found.$/ } },
  { name: 'SUCCESS whose status came before a sub-job ended names the one still running',
    seen: found(job('SUCCESS', { entities: { sub_jobs: [sub('SUCCESS'), sub('RUNNING')] } })),
    expect: { outcome: 'success', reason: /^createServer: succeeded in 1 min 5 s \(2 sub-jobs\), by its status; yet createSingleServer on server srv-running RUNNING$/ } },
  { name: 'FAIL whose sub-job names the task that failed in fail_reason and why in errorcode_message gives both',
    seen: found(job('FAIL', { entities: { sub_jobs: [{ ...sub('FAIL', { error_code: 'Ecs.0039', fail_reason: 'CreateServerWithRootVolumeTask-fail' }), entities: { server_id: 'srv-fail', errorcode_message: 'Insufficient EVS disk quota.' } }] } })),
    expect: { outcome: 'failure', reason: /^createServer failed: createSingleServer on server srv-fail FAIL: Ecs.0039 CreateServerWithRootVolumeTask-fail: Insufficient EVS disk quota.$/ } },
  { name: 'FAIL with only errorcode_message on the sub-job, on a NIC',
    seen: found(job('FAIL', { job_type: 'addNics', entities: { sub_jobs: [{ ...sub('FAIL', { job_type: 'addNic' }), entities: { nic_id: 'nic-1', errorcode_message: 'Subnet full.' } }] } })),
    expect: { outcome: 'failure', reason: /^addNics failed: addNic on NIC nic-1 FAIL: Subnet full.$/ } },
  { name: 'FAIL of a batch whose sub-jobs fail alike says each cause once, with how many and a few of the servers, first',
    seen: found(job('FAIL', { entities: { sub_jobs: [
      sub('SUCCESS'), sub('SUCCESS'),
      ...Array.from({ length: 40 }, (_, i) => sub('FAIL', { entities: { server_id: `srv-${i}` }, error_code: 'Ecs.0039', fail_reason: 'Insufficient EVS disk quota.' })),
      sub('FAIL', { entities: { server_id: 'srv-x' }, error_code: 'Ecs.0041', fail_reason: 'No valid host was found.' }),
    ] } })),
    expect: { outcome: 'failure', reason: /^createServer failed: 40 createSingleServer sub-jobs FAIL: Ecs.0039 Insufficient EVS disk quota. \(server srv-0, server srv-1, server srv-2 and 37 more\); createSingleServer on server srv-x FAIL: Ecs.0041 No valid host was found.; 2 of 43 sub-jobs succeeded$/ } },
  { name: 'FAIL of a batch whose sub-jobs each fail for a cause of its own names a few causes and counts the rest',
    seen: found(job('FAIL', { entities: { sub_jobs: Array.from({ length: 30 }, (_, i) => sub('FAIL', { entities: { server_id: `srv-${i}` }, error_code: 'Ecs.0000', fail_reason: `cause ${i}` })) } })),
    expect: { outcome: 'failure', reason: /^createServer failed: (createSingleServer on server srv-\d FAIL: Ecs.0000 cause \d; ){5}and 25 more sub-jobs FAIL for other causes$/ } },
  { name: 'FAIL without any reason says so', seen: found(job('FAIL', { job_type: null })), expect: { outcome: 'failure', reason: /^job failed \(the API gives no reason\)$/ } },
  { name: 'a finish after the deadline is a timeout that says how it ended',
    seen: found(job('SUCCESS', { end_time: iso(T0 + 2 * HOUR) })), now: T0 + 3 * HOUR,
    expect: { outcome: 'timeout', reason: /it ended 2 h after tracking began, as success/ } },
  { name: 'a FAIL that ended after the deadline is a timeout too, that says how it ended',
    seen: found(job('FAIL', { fail_reason: 'boom', end_time: iso(T0 + 2 * HOUR) })), now: T0 + 3 * HOUR,
    expect: { outcome: 'timeout', reason: /it ended 2 h after tracking began, as failure \(createServer failed: boom\)/ } },
  { name: 'a finish before the deadline counts however late it is seen (after downtime)',
    seen: found(job('FAIL', { fail_reason: 'boom' })), now: T0 + 5 * HOUR, expect: { outcome: 'failure', reason: /boom/ } },
  { name: 'still running at the deadline is a timeout', seen: found(job('RUNNING')), now: T0 + HOUR,
    expect: { outcome: 'timeout', reason: /^not finished 1 h after tracking began: createServer: RUNNING$/ } },
  { name: 'a failed poll waits, flagged', seen: { kind: 'error', message: 'GET ... → 503' }, expect: { reason: /last poll failed: GET/, pollFailed: true } },
  { name: 'Common.0011 early is not an outcome', seen: NOT_FOUND, memory: FRESH,
    expect: { reason: /^not visible yet \(400 Common.0011: No jobs found.\)$/ } },
  { name: 'Common.0011 for 3 polls over two minutes is not_found', seen: NOT_FOUND, now: T0 + 1000,
    memory: { everFound: false, firstNotFoundAt: iso(T0 + 1000 - NOT_FOUND_WINDOW_MS), notFoundAnswers: 2 },
    expect: { outcome: 'not_found', reason: /answered "not found" to 3 polls over 2 min: No jobs found./ } },
  { name: 'a job seen before and gone now (deleted by the cloud) is no new outcome', seen: NOT_FOUND, now: T0 + 30 * 60_000,
    memory: { everFound: true, firstNotFoundAt: null, notFoundAnswers: 0 },
    expect: { reason: /no longer found .* although it was before: the cloud deletes a job a day after it ends, so it may have ended unseen/ } },
  { name: '...and times out at the deadline, saying why', seen: NOT_FOUND, now: T0 + HOUR, memory: SEEN,
    expect: { outcome: 'timeout', reason: /^not finished 1 h after tracking began: the job is no longer found/ } },
];

describe('job verdict', () => {
  it.each(ROWS)('$name', (row) => {
    const verdict = decideJob({ now: row.now ?? T0 + 1000, trackingSince: row.trackingSince ?? T0, deadlineMs: row.deadlineMs ?? HOUR, memory: row.memory ?? SEEN, seen: row.seen });
    const expected = row.expect;
    expect(verdict.final).toBe(expected.outcome !== undefined);
    if (verdict.final) expect(verdict.outcome).toBe(expected.outcome);
    expect(verdict.reason).toMatch(expected.reason);
    expect(verdict.pollFailed).toBe(expected.pollFailed ?? false);
  });

  it('says how long a job took on the cloud\'s clock as it stood at its start, the clock set an hour forward while it ran: 5 min 10 s, not 1 h 5 min', () => {
    const ended = found(job('SUCCESS', { end_time: iso(T0 + HOUR + 5 * 60_000) }));
    const verdict = decideJob({ now: T0 + 5 * 60_000 + 10_000, trackingSince: T0, deadlineMs: 2 * HOUR, cloudAheadMs: HOUR, cloudSettings: [{ ms: HOUR }], memory: SEEN, seen: ended });
    expect(verdict).toMatchObject({ final: true, outcome: 'success', reason: 'createServer: succeeded in 5 min 10 s' });
  });

  it('remembers the first Common.0011 and forgets it once the job is found', () => {
    const first = decideJob({ now: T0, trackingSince: T0, deadlineMs: HOUR, memory: FRESH, seen: NOT_FOUND }).memory;
    expect(first).toEqual({ everFound: false, firstNotFoundAt: iso(T0), notFoundAnswers: 1 });
    const later = decideJob({ now: T0 + 5000, trackingSince: T0, deadlineMs: HOUR, memory: first, seen: found(job('INIT')) }).memory;
    expect(later).toEqual({ everFound: true, firstNotFoundAt: null, notFoundAnswers: 0 });
  });

  it('counts a failed poll as no Common.0011 answer: one answer and failed polls over two minutes are not yet not_found', () => {
    const poll = (now: number, memory: LookupMemory, seen: JobObservation) => decideJob({ now, trackingSince: T0, deadlineMs: HOUR, memory, seen });
    let memory = poll(T0, FRESH, NOT_FOUND).memory;
    for (const at of [30_000, 60_000, 90_000]) {
      const failed = poll(T0 + at, memory, { kind: 'error', message: 'GET ... → 503' });
      expect(failed.memory).toEqual(memory);
      memory = failed.memory;
    }
    const second = poll(T0 + NOT_FOUND_WINDOW_MS, memory, NOT_FOUND);
    expect(second.final).toBe(false);
    expect(second.memory).toEqual({ everFound: false, firstNotFoundAt: iso(T0), notFoundAnswers: 2 });
  });
});
