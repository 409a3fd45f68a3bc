import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { get, manualClock, PROJECT } from './helpers.ts';

type JobJson = Record<string, unknown> & {
  status: string;
  end_time: string;
  error_code: string | null;
  fail_reason: string | null;
  entities: { server_id?: string; sub_jobs_total?: number; sub_jobs?: Array<Record<string, unknown> & { status: string; entities: Record<string, unknown> }> };
};

/** The sample of Huawei's / OTC's API reference (test/fixtures/README.md). */
const SAMPLE = JSON.parse(readFileSync(new URL('../fixtures/ecs-api-samples/job-show-resp.json', import.meta.url), 'utf8')) as JobJson;
const sortedKeys = (value: object): string[] => Object.keys(value).sort();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

const jobUrl = (sim: Simulator, jobId: string, projectId = PROJECT) => `${sim.url}/v1/${projectId}/jobs/${jobId}`;

describe('the native job API', () => {
  it('shows a batch job as the reference sample does, through INIT, RUNNING and SUCCESS', async () => {
    const clock = manualClock();
    const sim = (simulator = await startSimulator({ now: clock.now }));
    const serverId = crypto.randomUUID();
    const jobId = sim.addJob({ projectId: PROJECT, jobType: 'createServer', initMs: 500, subJobs: [{ serverId, durationMs: 1000 }] });
    expect(jobId).toMatch(/^[0-9a-f]{32}$/);

    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) {
      const answer = await get<JobJson>(jobUrl(sim, jobId));
      expect(answer.status).toBe(200);
      statuses.push(`${answer.json.status}/${answer.json.entities.sub_jobs?.[0]?.status}`);
      clock.advance(500);
    }
    expect(statuses).toEqual(['INIT/INIT', 'RUNNING/RUNNING', 'RUNNING/RUNNING', 'SUCCESS/SUCCESS']);

    const done = (await get<JobJson>(jobUrl(sim, jobId))).json;
    expect(sortedKeys(done)).toEqual(sortedKeys(SAMPLE));
    expect(sortedKeys(done.entities)).toEqual(sortedKeys(SAMPLE.entities));
    const [sub] = done.entities.sub_jobs!;
    expect(sortedKeys(sub!)).toEqual(sortedKeys(SAMPLE.entities.sub_jobs![0]!));
    expect(sub).toMatchObject({ job_type: 'createSingleServer', entities: { server_id: serverId }, error_code: null, fail_reason: null });
    expect(done).toMatchObject({ job_id: jobId, job_type: 'createServer', error_code: null, fail_reason: null });
    expect(done.end_time).toMatch(ISO);
  });

  it('fails a batch whose sub-job fails, with the sub-job\'s code and reason', async () => {
    const sim = (simulator = await startSimulator());
    const jobId = sim.addJob({
      projectId: PROJECT,
      jobType: 'createServer',
      subJobs: [
        { durationMs: 0 },
        { durationMs: 0, result: 'FAIL', errorCode: 'Ecs.0039', failReason: 'Insufficient EVS disk quota.' },
      ],
    });
    const job = (await get<JobJson>(jobUrl(sim, jobId))).json;
    expect(job.status).toBe('FAIL');
    expect(job.entities.sub_jobs!.map((s) => s.status)).toEqual(['SUCCESS', 'FAIL']);
    expect(job.entities.sub_jobs![1]).toMatchObject({
      error_code: 'Ecs.0039',
      fail_reason: 'Insufficient EVS disk quota.',
      entities: { errorcode_message: 'Insufficient EVS disk quota.' },
    });
  });

  it('waits for payment, and answers Common.0011 for jobs it does not know, in another project and once deleted', async () => {
    const clock = manualClock();
    const sim = (simulator = await startSimulator({ now: clock.now, token: 't' }));
    const jobId = sim.addJob({ projectId: PROJECT, jobType: 'resizeServer', serverId: 'srv-1', pendingPaymentMs: 1000, durationMs: 1000, deletedAfterMs: 5000 });
    const auth = { 'x-auth-token': 't' };
    const read = async (id = jobId, project = PROJECT) => get<JobJson & { error?: { code: string; message: string } }>(jobUrl(sim, id, project), auth);

    expect((await read()).json).toMatchObject({ status: 'PENDING_PAYMENT', entities: { server_id: 'srv-1' }, end_time: '' });
    const unknown = await read('ff808082843684110184e155fdb36461');
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toEqual({ code: 'Common.0011', message: 'No jobs found.' });
    expect((await read(jobId, 'another-project')).status).toBe(400);
    expect((await get(jobUrl(sim, jobId))).status).toBe(401);

    clock.advance(2000);
    expect((await read()).json.status).toBe('SUCCESS');
    clock.advance(5000);
    expect((await read()).json.error?.code).toBe('Common.0011');
  });
});
