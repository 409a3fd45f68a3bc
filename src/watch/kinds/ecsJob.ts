// A job of Huawei Cloud / OTC's native ECS API (`kind: ecs-job`): the job_id an ECS call answers with,
// read at GET {service root}/v1/{project}/jobs/{job}. One read per poll: the job says itself when it is over.
import { ApiError } from '../../cloud/ApiError.ts';
import { dictionary } from '../../data/dictionary.ts';
import type { EcsJob, JobWatchRef } from '../../model.ts';
import type { JobWatchRecord } from '../../state/types.ts';
import { novaTimeMs } from '../../cloud/time.ts';
import { decideJob, subJobEntity, subJobProgress, unlistedStatusWarning, type JobObservation } from '../jobVerdict.ts';
import { cloudSetting } from '../judgement.ts';
import { keepChanges } from '../../state/keepChanges.ts';
import { jobIdHint } from '../requestHint.ts';
import type { PollContext, PollResult, WatchKindModule, WatchTarget } from './types.ts';

type JobTarget = Extract<WatchTarget, { kind: 'ecs-job' }>;

export const ecsJobKind: WatchKindModule<JobTarget, JobWatchRecord, EcsJob | null> = {
  // `jobs` is no server id (Nova's are UUIDs), so a job's key never meets an action's.
  // Joined, as actionKey (./instanceAction.ts) says why.
  key: (ref) => [ref.projectId, 'jobs', (ref as JobWatchRef).jobId].join('/'),
  logFields: (ref) => ({ jobId: ref.jobId, projectId: ref.projectId }),
  label: (ref) => ({ id: ref.jobId, where: 'job' in ref ? (ref.job?.entities.server_id ?? null) : null }),
  notFoundHint: (target) => Promise.resolve(jobIdHint(target.jobId)),
  newRecord: (target, trackingSince) => ({
    kind: 'ecs-job',
    projectId: target.projectId,
    jobId: target.jobId,
    name: target.name ?? null,
    trackingSince,
    everFound: false,
    observed: { firstNotFoundAt: null, notFoundAnswers: 0 },
    lastError: null,
    failingSince: null,
    job: null,
    verdict: null,
    deliveries: dictionary(),
  }),
  poll,
  facts: (record) => ({
    watch: { kind: 'ecs-job', name: record.name, projectId: record.projectId, jobId: record.jobId },
    instanceAction: null,
    server: null,
    job: record.job,
  }),
  dropPayload: (record) => {
    if (record.job === null) return false;
    record.job = null;
    return true;
  },
  progress: (record) => {
    const job = record.job;
    if (job === null) return null;
    const subs = subJobProgress(job);
    return {
      // A job read is a subject, with a type or not (null, per Huawei's documentation): as its verdict and
      // its notification name it. Null, it would never get its early warning.
      subject: job.job_type || 'job',
      done: subs?.done ?? null,
      total: subs?.total ?? null,
      unit: 'sub-jobs',
      running: (subs?.unfinished ?? []).map((s) => `${s.job_type ?? 'sub-job'} on ${subJobEntity(s)}`),
      startedAt: novaTimeMs(job.begin_time),
    };
  },
  stamped: (record) => record.job,
  cloudTimes: (job) => [job?.begin_time, job?.end_time].map((t) => (t == null ? null : novaTimeMs(t))).filter((t) => t !== null),
};

async function poll(p: PollContext<JobTarget, JobWatchRecord>): Promise<PollResult> {
  const { record, target } = p;
  const seen = await observe(p);
  const verdict = decideJob({
    now: p.now(),
    trackingSince: Date.parse(record.trackingSince),
    deadlineMs: target.deadlineMs,
    cloudAheadMs: p.client.clock.aheadMs,
    ...cloudSetting(record),
    failingSince: p.failingSince(),
    memory: { everFound: record.everFound, ...record.observed },
    seen,
  });
  if (p.cancelled()) return { final: false, reason: 'stopping', pollFailed: false, readError: null, notFound: false, changed: false };
  const { everFound, ...observed } = verdict.memory;
  const changed = keepChanges(record, { everFound, observed, ...(seen.kind === 'found' ? { job: seen.job } : {}) });
  const extra = { pollFailed: verdict.pollFailed, readError: seen.kind === 'error' ? seen.message : null, notFound: seen.kind === 'not_found', changed };
  if (verdict.final) return { final: true, outcome: verdict.outcome, reason: verdict.reason, ...extra };
  return { final: false, reason: verdict.reason, ...extra, warning: seen.kind === 'found' ? unlistedStatusWarning(seen.job) : undefined };
}

async function observe(p: PollContext<JobTarget, JobWatchRecord>): Promise<JobObservation> {
  try {
    return { kind: 'found', job: await p.read((signal) => p.client.getJob(p.target, signal, p.record.job)) };
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'not_found') {
      return { kind: 'not_found', answer: [err.status, err.apiCode].filter(Boolean).join(' '), message: err.apiMessage ?? err.message };
    }
    return { kind: 'error', message: p.failed(err) };
  }
}
