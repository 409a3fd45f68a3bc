// A scripted job of Huawei Cloud / OTC's native ECS API and what `GET /v1/{project_id}/jobs/{job_id}`
// shows of it at any moment. As with actions, everything is a pure function of the clock.
//
// From the API reference ("Querying Task Execution Status", test/fixtures/ecs-api-samples/): a job is
// INIT, then RUNNING, then SUCCESS or FAIL; a yearly/monthly order waits in PENDING_PAYMENT first. A
// batch job (createServer, deleteServers...) has one sub-job per server, each with its own status,
// `error_code` and `fail_reason`; the job fails when a sub-job fails. Finished jobs are deleted after a
// day, after which the API answers as for a job it never knew (Common.0011).

import { randomBytes, randomUUID } from 'node:crypto';
import { duration } from './script.ts';

export type JobResult = 'SUCCESS' | 'FAIL';
/**
 * What a job ends as: its result, or a status the contract does not list, as a cloud that adds one
 * (CANCELLED) or misspells one (Fail) would show.
 */
export type JobEnd = JobResult | (string & {});

/** One sub-job: one server of a batch. Times are milliseconds after the job began running. */
export interface SubJobScript {
  /** Default: a fresh server id. */
  serverId?: string;
  /** A NIC operation names its NIC instead of a server. */
  nicId?: string;
  /** Default: the job type's single-server form, e.g. createSingleServer for createServer. */
  jobType?: string;
  /** When it starts running, after the job did. Default 0. */
  startAfterMs?: number;
  durationMs: number;
  /** Default SUCCESS. */
  result?: JobResult;
  /** A failed sub-job's code and reason, e.g. Ecs.0005 and the cause. */
  errorCode?: string;
  failReason?: string;
}

/** A job to simulate. All times are milliseconds after {@link Simulator.addJob}. */
export interface JobScript {
  projectId: string;
  /** Default: 32 hex digits, as Huawei's job ids are. */
  jobId?: string;
  /** createServer, deleteServers, resizeServer, changeOS, reInitOs, attachVolume, batchRebootServer... */
  jobType: string;
  /** The server a single-server job (resizeServer, attachVolume) acts on; absent for batch jobs. */
  serverId?: string;
  /** Unknown to the API (Common.0011) until then. Default 0. */
  visibleAfterMs?: number;
  /** A yearly/monthly order waits this long for its payment, in PENDING_PAYMENT. Default 0. */
  pendingPaymentMs?: number;
  /** INIT this long once paid. Default 0. */
  initMs?: number;
  /** A job without sub-jobs runs this long. With sub-jobs it runs until the last one ends. */
  durationMs?: number;
  subJobs?: readonly SubJobScript[];
  /** Default FAIL when a sub-job fails, else SUCCESS. */
  result?: JobEnd;
  /** The job's own code and reason when it fails. */
  errorCode?: string;
  failReason?: string;
  /** Stays RUNNING for ever. */
  neverFinishes?: boolean;
  /** Deleted (unknown again) this long after it finished. Default a day, as the cloud does. */
  deletedAfterMs?: number;
}

interface PlannedSubJob {
  readonly jobId: string;
  readonly jobType: string;
  readonly entity: Readonly<{ server_id: string } | { nic_id: string }>;
  readonly startAt: number;
  readonly endAt: number;
  readonly result: JobResult;
  readonly errorCode: string | null;
  readonly failReason: string | null;
}

/** A script fixed to absolute times. */
export interface JobPlan {
  readonly jobId: string;
  readonly projectId: string;
  readonly jobType: string;
  readonly serverId: string | undefined;
  readonly visibleAt: number;
  readonly paidAt: number;
  readonly runningAt: number;
  /** Infinity when it never finishes. */
  readonly endAt: number;
  readonly goneAt: number;
  readonly subJobs: readonly PlannedSubJob[];
  readonly result: JobEnd;
  readonly errorCode: string | null;
  readonly failReason: string | null;
}

const DAY_MS = 86_400_000;

/** createServer → createSingleServer, deleteServers → deleteSingleServer, batchRebootServer → rebootSingleServer. */
function singleServerType(jobType: string): string {
  const verb = /^(?:batch)?([A-Z]?[a-z]+)/.exec(jobType)?.[1] ?? jobType;
  return `${verb.charAt(0).toLowerCase()}${verb.slice(1)}SingleServer`;
}

const jobIdOf = () => randomBytes(16).toString('hex');

export function planJob(script: JobScript, addedAt: number): JobPlan {
  const visibleAt = addedAt + duration('visibleAfterMs', script.visibleAfterMs, 0);
  const paidAt = visibleAt + duration('pendingPaymentMs', script.pendingPaymentMs, 0);
  const runningAt = paidAt + duration('initMs', script.initMs, 0);
  const subJobs = (script.subJobs ?? []).map((sub, i): PlannedSubJob => {
    const startAt = runningAt + duration(`subJobs[${i}].startAfterMs`, sub.startAfterMs, 0);
    const result = sub.result ?? 'SUCCESS';
    return {
      jobId: jobIdOf(),
      jobType: sub.jobType ?? singleServerType(script.jobType),
      entity: sub.nicId === undefined ? { server_id: sub.serverId ?? randomUUID() } : { nic_id: sub.nicId },
      startAt,
      endAt: startAt + duration(`subJobs[${i}].durationMs`, sub.durationMs, 0),
      result,
      errorCode: result === 'FAIL' ? (sub.errorCode ?? 'Ecs.0000') : null,
      failReason: result === 'FAIL' ? (sub.failReason ?? 'Request error. Try again later or contact customer service.') : null,
    };
  });
  const ownEnd = runningAt + duration('durationMs', script.durationMs, 0);
  const endAt = script.neverFinishes === true ? Infinity : Math.max(ownEnd, ...subJobs.map((s) => s.endAt));
  const result = script.result ?? (subJobs.some((s) => s.result === 'FAIL') ? 'FAIL' : 'SUCCESS');
  return {
    jobId: script.jobId ?? jobIdOf(),
    projectId: script.projectId,
    jobType: script.jobType,
    serverId: script.serverId,
    visibleAt,
    paidAt,
    runningAt,
    endAt,
    goneAt: endAt + duration('deletedAfterMs', script.deletedAfterMs, DAY_MS),
    subJobs,
    result,
    errorCode: result === 'FAIL' ? (script.errorCode ?? null) : null,
    failReason: result === 'FAIL' ? (script.failReason ?? null) : null,
  };
}

type Json = Record<string, unknown>;

/** Job times: `2016-04-25T20:04:34.604Z`; "" while a time is not known yet. */
const jobTime = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');

function renderSubJob(sub: PlannedSubJob, now: number, stamp: (ms: number) => number): Json {
  const status = now < sub.startAt ? 'INIT' : now < sub.endAt ? 'RUNNING' : sub.result;
  const failed = status === 'FAIL';
  return {
    status,
    entities: failed ? { ...sub.entity, errorcode_message: sub.failReason } : { ...sub.entity },
    job_id: sub.jobId,
    job_type: sub.jobType,
    begin_time: jobTime(stamp(sub.startAt)),
    end_time: now < sub.endAt ? '' : jobTime(stamp(sub.endAt)),
    error_code: failed ? sub.errorCode : null,
    fail_reason: failed ? sub.failReason : null,
  };
}

/**
 * The body of GET /v1/{project_id}/jobs/{job_id} at `now`, or undefined when the API does not know the job;
 * its times as the cloud's clock stamped them (`stamp`, server.ts setClock).
 */
export function jobAt(plan: JobPlan, now: number, stamp: (ms: number) => number): Json | undefined {
  if (now < plan.visibleAt || now >= plan.goneAt) return undefined;
  const ended = now >= plan.endAt;
  const status = now < plan.paidAt ? 'PENDING_PAYMENT' : now < plan.runningAt ? 'INIT' : ended ? plan.result : 'RUNNING';
  const entities: Json = plan.serverId === undefined ? {} : { server_id: plan.serverId };
  if (plan.subJobs.length > 0) {
    entities.sub_jobs_total = plan.subJobs.length;
    entities.sub_jobs = plan.subJobs.map((sub) => renderSubJob(sub, now, stamp));
  }
  return {
    status,
    entities,
    job_id: plan.jobId,
    job_type: plan.jobType,
    begin_time: jobTime(stamp(plan.visibleAt)),
    end_time: ended ? jobTime(stamp(plan.endAt)) : '',
    error_code: ended ? plan.errorCode : null,
    fail_reason: ended ? plan.failReason : null,
  };
}

/** The ECS error body (`{"error": {"message", "code"}}`) for a job id the API does not know. */
export function unknownJob(): Json {
  return { error: { message: 'No jobs found.', code: 'Common.0011' } };
}
