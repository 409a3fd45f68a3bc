// `kind: ecs-job` end to end: the engine, state, outbox and both notifiers against the simulator's native
// job API, on a fake clock; then the commands that accept a job.
import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { PROJECT, SECRETS, WEBHOOK_SECRET, advance, harnessOnFakeClock } from './harness.ts';
import { watchKey } from '../../src/state/store.ts';

interface JobBody {
  type: string;
  outcome: string;
  watch: Record<string, unknown>;
  instanceAction: unknown;
  server: unknown;
  job: { status: string; job_id: string; entities: { sub_jobs?: unknown[] } };
  reason: string;
}

const env = harnessOnFakeClock();

const bodies = () => env.h.hooks.received.map((r) => r.body as JobBody);

describe('a job of the native ECS API', () => {
  it('reaches success, failure with the sub-jobs\' reasons, and timeout, each notified once by webhook and mail', async () => {
    const ok = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'createServer', initMs: 1000, subJobs: [{ durationMs: 2000 }, { durationMs: 3000 }] });
    const bad = env.h.simulator.addJob({
      projectId: PROJECT,
      jobType: 'createServer',
      subJobs: [
        { serverId: 'srv-ok', durationMs: 1000 },
        { serverId: 'srv-quota', durationMs: 2000, result: 'FAIL', errorCode: 'Ecs.0039', failReason: 'Insufficient EVS disk quota.' },
      ],
    });
    const stuck = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'resizeServer', serverId: 'srv-big', durationMs: 1000, neverFinishes: true });
    const app = await env.h.app(env.h.yaml([
      { jobId: ok, name: 'create web' },
      { jobId: bad, name: 'create db' },
      { jobId: stuck, name: 'resize big', extra: '    deadline: 20s' },
    ]));

    await advance(app, 2000);
    // Still RUNNING, with a sub-job left: nothing may be reported yet.
    expect(app.store.get(watchKey({ kind: 'ecs-job', projectId: PROJECT, jobId: ok }))?.verdict).toBeNull();
    await advance(app, 22_000);
    expect(app.engine.allSettled()).toBe(true);

    expect(bodies().map((b) => `${b.watch['name']} ${b.type}`).sort()).toEqual([
      'create db ecs.action.failed', 'create web ecs.action.succeeded', 'resize big ecs.action.timed_out',
    ]);
    const failed = bodies().find((b) => b.outcome === 'failure')!;
    expect(failed.watch).toEqual({ kind: 'ecs-job', name: 'create db', projectId: PROJECT, jobId: bad });
    expect(failed).toMatchObject({ instanceAction: null, server: null, job: { status: 'FAIL', job_id: bad } });
    expect(Object.keys(failed)).toEqual(['type', 'outcome', 'watch', 'instanceAction', 'server', 'job', 'reason', 'detectedAt']);
    expect(failed.reason).toBe('createServer failed: createSingleServer on server srv-quota FAIL: Ecs.0039 Insufficient EVS disk quota.; 1 of 2 sub-jobs succeeded');
    expect(bodies().find((b) => b.outcome === 'timeout')!.reason).toMatch(/^not finished 20 s after tracking began: resizeServer: RUNNING$/);
    const wh = new Webhook(WEBHOOK_SECRET);
    for (const hook of env.h.hooks.received) expect(() => wh.verify(hook.raw, hook.headers as Record<string, string>)).not.toThrow();

    const mail = env.h.mail.received.find((m) => m.subject === '[ecs-action-watch] createServer failed: create db')!;
    expect(mail.headers.get('x-ecs-watch-job-id')).toBe(bad);
    expect(mail.body).toContain(`Job:          ${bad}`);
    expect(mail.body).toContain('Sub-jobs (2):\n  - createSingleServer on server srv-ok: SUCCESS\n  - createSingleServer on server srv-quota: FAIL (Ecs.0039 Insufficient EVS disk quota.)');
    expect(env.h.mail.received.map((m) => m.subject).sort()).toEqual([
      '[ecs-action-watch] createServer failed: create db', '[ecs-action-watch] createServer succeeded: create web', '[ecs-action-watch] resizeServer timed out: resize big',
    ]);

    await advance(app, 5000);
    expect(env.h.hooks.received).toHaveLength(3);
    for (const secret of SECRETS) expect(env.h.logs.text).not.toContain(secret);
  });

  it('is not_found after two minutes of Common.0011, and a job seen and then deleted by the cloud is no new outcome', async () => {
    const seen = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'deleteServers', durationMs: 60_000, deletedAfterMs: 1000 });
    const app = await env.h.app(env.h.yaml([
      { jobId: 'ff808082843684110184e155fdb36461', name: 'unknown' },
      { jobId: seen, name: 'seen', extra: '    deadline: 10m' },
    ], { poll: '  schedule: "*/10 * * * * *"\n  retries: 0' }));
    await advance(app, 1000, 1000);
    // The daemon is down while the job finishes and the cloud deletes it.
    vi.setSystemTime(Date.now() + 5 * 60_000);
    await advance(app, 6 * 60_000, 10_000);

    const outcomes = Object.fromEntries(bodies().map((b) => [b.watch['name'], b]));
    expect(outcomes['unknown']).toMatchObject({ outcome: 'not_found', job: null, reason: expect.stringMatching(/^the API answered "not found" to \d+ polls over \d+ min( \d+ s)?: No jobs found\.$/) as string });
    expect(outcomes['seen']).toMatchObject({ outcome: 'timeout', reason: expect.stringMatching(/the job is no longer found .* although it was before: the cloud deletes a job a day after it ends, so it may have ended unseen/) as string });
    expect(outcomes['seen']!.job.status).toBe('RUNNING');
  });
});

describe('a job whose status the contract does not list', () => {
  it('waits to its deadline as a running job does, and the log warns of the status once, not at every poll', async () => {
    const jobId = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'createServer', durationMs: 1000, result: 'CANCELLED' });
    const app = await env.h.app(env.h.yaml([{ jobId, name: 'cancelled', extra: '    deadline: 30s' }], { poll: '  schedule: "*/5 * * * * *"\n  retries: 0' }));
    await advance(app, 20_000, 1000);
    const warned = () => env.h.logs.lines().filter((l) => l['level'] === 40 && l['jobId'] === jobId);
    expect(warned()).toEqual([
      expect.objectContaining({
        watch: 'cancelled',
        reason: 'createServer: CANCELLED',
        msg: expect.stringMatching(/^job status "CANCELLED" is not one the contract knows \(SUCCESS, FAIL, RUNNING, INIT, PENDING_PAYMENT\): the watch waits as for a running job and ends as a timeout at its deadline .*; report it/) as string,
      }),
    ]);
    expect(bodies()).toEqual([]);

    await advance(app, 15_000, 1000);
    expect(bodies().map((b) => `${b.outcome}: ${b.reason}`)).toEqual(['timeout: not finished 30 s after tracking began: createServer: CANCELLED']);
    expect(warned()).toHaveLength(1);
  });
});

describe('a request id given as a job id', () => {
  it('ends as not_found saying it looks like an instance action\'s request id', async () => {
    const app = await env.h.app(env.h.yaml([{ jobId: 'req-5a429946-c9cc-45cc-b5bd-68864209e5cc', name: 'mixed up' }], { poll: '  schedule: "*/10 * * * * *"\n  retries: 0' }));
    await advance(app, 4 * 60_000, 10_000);
    expect(bodies().map((b) => `${b.outcome}: ${b.reason}`)).toEqual([expect.stringMatching(/^not_found: .*; req-5a429946-c9cc-45cc-b5bd-68864209e5cc looks like the request id of an instance action: watch it as `requestId: /)]);
  });
});

describe('a job whose answer has a null under entities', () => {
  it('is notified as the failure it is, not as a timeout after every poll failed to read it', async () => {
    const jobId = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'createServer', durationMs: 1000 });
    const now = new Date().toISOString();
    const body = JSON.stringify({ status: 'FAIL', job_id: jobId, job_type: 'createServer', begin_time: now, end_time: now, entities: { sub_jobs_total: null, sub_jobs: null }, fail_reason: 'Insufficient EVS disk quota.', error_code: 'Ecs.0039' });
    env.h.simulator.injectFault({ kind: 'garbage', body }, { route: 'job', times: 1000 });
    const app = await env.h.app(env.h.yaml([{ jobId, name: 'nulls', extra: '    deadline: 20s' }], { poll: '  schedule: "*/5 * * * * *"\n  retries: 0' }));
    await advance(app, 30_000, 1000);
    expect(bodies().map((b) => `${b.outcome}: ${b.reason}`)).toEqual([expect.stringMatching(/^failure: createServer failed: .*Insufficient EVS disk quota/)]);
  });
});

describe('commands with a job', () => {
  it('add --job and remove --job edit the file; check shows the job; wait --job waits for it', async () => {
    vi.useRealTimers();
    const jobId = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'createServer', subJobs: [{ serverId: 'srv-1', durationMs: 0 }, { durationMs: 0, result: 'FAIL', failReason: 'boom' }] });
    const path = await env.h.writeConfig(env.h.yaml([]));
    const added = await env.h.cli(['add', '--config', path, '--job', jobId, '--name', 'batch']);
    expect(added).toMatchObject({ code: 0, stdout: `added watches[0]: job ${jobId} (batch) to ${path}\n` });
    expect(await readFile(path, 'utf8')).toContain(`  - kind: ecs-job\n    jobId: ${jobId}\n    name: batch`);

    const check = await env.h.cli(['check', '--json', '--config', path]);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual([
      expect.objectContaining({ kind: 'ecs-job', name: 'batch', jobId, action: 'createServer', events: { done: 2, total: 2 }, state: 'failure', instanceAction: null, server: null, job: expect.objectContaining({ status: 'FAIL' }) as unknown }),
    ]);
    const table = await env.h.cli(['check', '--config', path]);
    expect(table.stdout).toMatch(/^NAME +SERVER +ACTION +EVENTS +STATE +AGE +NOTIFIED +LAST ERROR\nbatch +- +createServer +2\/2 +failure +\d+s +- +createServer failed: /);

    const waited = await env.h.cli(['wait', '--config', path, '--job', jobId]);
    expect(waited).toMatchObject({ code: 1, stdout: expect.stringMatching(/^failure: createServer failed: .*boom/) as string });
    const json = await env.h.cli(['wait', '--config', path, '--job', jobId, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ type: 'ecs.action.failed', watch: { kind: 'ecs-job', jobId } });

    const removed = await env.h.cli(['remove', '--config', path, '--job', jobId]);
    expect(removed).toMatchObject({ code: 0, stdout: `removed watches[0]: job ${jobId} (batch) from ${path}\n` });
  });
});
