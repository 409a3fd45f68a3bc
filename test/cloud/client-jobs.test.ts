// The native job API through the client, against the simulator under each auth method: the job lives
// at the service root, beside /v2.1, whatever shape the endpoint has.
import { afterEach, describe, expect, it } from 'vitest';
import { createEcsClient, type EcsClient } from '../../src/cloud/client.ts';
import { jobSchema } from '../../src/cloud/schemas.ts';
import { jobUrl } from '../../src/cloud/endpoint.ts';
import { decode } from '../../src/cloud/exchange.ts';
import type { CloudConfig } from '../../src/config/schema.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { captureLogger, cloudConfig, fixtureJson } from './helpers.ts';

const PROJECT = '5e2f0c7a9b8d4e6f8a1b2c3d4e5f6a7b';
const PASSWORD = 'job-test-password';
const KEYS = { accessKey: 'JOBTESTACCESSKEY0001', secretKey: 'job-test-secret-key' };

let sim: Simulator;
let client: EcsClient;
afterEach(async () => {
  await client.close();
  await sim.close();
});

async function setup(cloud: (sim: Simulator) => Partial<CloudConfig>): Promise<string> {
  sim = await startSimulator({
    token: 'fixed-token',
    aksk: KEYS,
    identity: { user: { name: 'svc', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' } },
  });
  client = createEcsClient(cloudConfig(cloud(sim)), { logger: captureLogger().logger });
  return sim.addJob({ projectId: PROJECT, jobType: 'createServer', subJobs: [{ durationMs: 0 }] });
}

describe('GET /v1/{project}/jobs/{job}', () => {
  it.each([
    ['token', (s: Simulator): Partial<CloudConfig> => ({ endpoint: s.url, auth: { type: 'token', token: 'fixed-token' } })],
    ['AK/SK', (s: Simulator): Partial<CloudConfig> => ({ endpoint: `${s.url}/v2.1/${PROJECT}`, auth: { type: 'aksk', ...KEYS } })],
    [
      'password, endpoint from the catalog',
      (s: Simulator): Partial<CloudConfig> => ({
        auth: { type: 'password', identityEndpoint: s.identityUrl, user: 'svc', domain: 'Default', password: PASSWORD, projectId: PROJECT },
      }),
    ],
  ])('reads a job with %s auth, without a microversion', async (_, cloud) => {
    const jobId = await setup(cloud);
    expect(await client.getJob({ projectId: PROJECT, jobId })).toMatchObject({ job_id: jobId, status: 'SUCCESS', job_type: 'createServer' });
    const read = sim.requests.find((r) => r.route === 'job')!;
    expect(read).toMatchObject({ path: `/v1/${PROJECT}/jobs/${jobId}`, status: 200 });
    expect(read.headers['x-openstack-nova-api-version']).toBeUndefined();
    expect(sim.requests.some((r) => r.route === 'versions')).toBe(false);
  });

  it("answers a job the API does not know (400 Common.0011) as the API's own not-found", async () => {
    await setup((s) => ({ endpoint: s.url, auth: { type: 'token', token: 'fixed-token' } }));
    await expect(client.getJob({ projectId: PROJECT, jobId: 'ff808082843684110184e155fdb36461' })).rejects.toMatchObject({
      kind: 'not_found',
      status: 400,
      apiCode: 'Common.0011',
      message: expect.stringContaining('→ 400 Common.0011: No jobs found.') as string,
    });
  });
});

describe('the job document', () => {
  it('reads the reference sample, keeping every field', () => {
    const sample = fixtureJson('ecs-api-samples/job-show-resp.json');
    expect(jobSchema.parse(sample)).toEqual(sample);
  });

  it('reads missing and null fields as null, and entities: null as none', () => {
    expect(jobSchema.parse({ status: 'RUNNING', job_id: 'j1', entities: null })).toEqual({
      status: 'RUNNING', job_id: 'j1', job_type: null, begin_time: null, end_time: null, error_code: null, fail_reason: null, entities: {},
    });
  });

  it('reads a null under entities, as Huawei\'s services write a field a job has none of, as absent; and epoch-millisecond times as ISO', () => {
    const job = { status: 'FAIL', job_id: 'j1', error_code: 'Ecs.0039', fail_reason: 'quota' };
    for (const entities of [
      { sub_jobs_total: null },
      { sub_jobs: null },
      { server_id: null, nic_id: 'nic-1' },
      { sub_jobs: [{ status: 'FAIL', entities: null, error_code: 'Ecs.0039', fail_reason: 'quota' }] },
      { sub_jobs: [{ status: 'FAIL', entities: { server_id: null, nic_id: 'nic-1' } }] },
    ]) {
      const read = jobSchema.parse({ ...job, entities });
      expect(read.entities.server_id, JSON.stringify(entities)).toBeUndefined();
      expect(read.entities.sub_jobs_total).toBeUndefined();
      for (const sub of read.entities.sub_jobs ?? []) expect(sub.entities.server_id).toBeUndefined();
    }
    expect(jobSchema.parse({ ...job, begin_time: 1795687200000, end_time: 1795687265000 })).toMatchObject({
      begin_time: '2026-11-26T10:00:00.000Z',
      end_time: '2026-11-26T10:01:05.000Z',
    });
  });

  it('refuses an answer without a status as an invalid response that names the job and the field', () => {
    const url = jobUrl('https://ecs.eu-de.otc.t-systems.com', PROJECT, 'j1');
    const answer = { method: 'GET', url, status: 200, statusText: 'OK', headers: {}, text: '{"job_id":"j1","entities":{}}', truncated: false, clockMovedMs: 0 };
    let thrown: unknown;
    try {
      decode(answer, jobSchema);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ kind: 'invalid_response', url });
    expect((thrown as Error).message).toMatch(/jobs\/j1 .*status: /);
  });

  it('lives at the service root, whatever the endpoint looks like', () => {
    for (const endpoint of ['https://ecs.eu-de.otc.t-systems.com', 'https://ecs.eu-de.otc.t-systems.com/v2.1', `https://ecs.eu-de.otc.t-systems.com/v2.1/${PROJECT}`]) {
      expect(jobUrl(endpoint, 'p 1', 'j1')).toBe('https://ecs.eu-de.otc.t-systems.com/v1/p%201/jobs/j1');
    }
    expect(jobUrl('https://gw.example.com/compute/v2.1/x', 'p', 'j')).toBe('https://gw.example.com/compute/v1/p/jobs/j');
  });
});
