// The verdict of a job of Huawei Cloud / OTC's native ECS API (GET /v1/{project}/jobs/{job}). Unlike an
// instance action, a job says when it is over: `status` SUCCESS or FAIL, each sub-job with its own.
// Pure: a function of what the API answered and what earlier polls saw.
import type { EcsJob, EcsSubJob } from '../model.ts';
import { novaTimeMs } from '../cloud/time.ts';
import { formatDuration } from './format.ts';
import { cloudDuration, judgeNotFound, pending, rememberLookup, withDeadline, type Clock, type Judgement, type LookupMemory, type Verdict } from './judgement.ts';

/** What one read of the job saw. */
export type JobObservation =
  | { kind: 'found'; job: EcsJob }
  /** The API's own "no such job" (Common.0011); `answer` names it, e.g. `400 Common.0011`. */
  | { kind: 'not_found'; answer: string; message: string }
  | { kind: 'error'; message: string };

export interface JobVerdictInput extends Clock {
  memory: LookupMemory;
  seen: JobObservation;
}

export type JobVerdict = Verdict<never, LookupMemory>;

/** Statuses that end a job; every other (RUNNING, INIT, PENDING_PAYMENT, one the API adds) waits. */
const ENDED = new Set(['SUCCESS', 'FAIL']);

/** Whether the job (or a sub-job) says it has ended. */
export function jobEnded(job: Pick<EcsJob, 'status'>): boolean {
  return ENDED.has(job.status);
}
/** Those the contract lists: any other waits too, as the contract does not say it ended, but is said in the log. */
const LISTED = new Set([...ENDED, 'RUNNING', 'INIT', 'PENDING_PAYMENT']);

/**
 * What the log warns of a job whose status the contract does not list (a new CANCELLED, a misspelt Fail),
 * or undefined: without it an operator would learn only at the deadline, hours on, from a timeout, that the
 * daemon does not understand the cloud's answer.
 */
export function unlistedStatusWarning(job: EcsJob): string | undefined {
  if (LISTED.has(job.status)) return undefined;
  return `job status ${JSON.stringify(job.status)} is not one the contract knows (${[...LISTED].join(', ')}): the watch waits as for a running job and ends as a timeout at its deadline unless the status changes; report it, with the job's answer (check --json), so that the status gets its outcome`;
}

export function decideJob(input: JobVerdictInput): JobVerdict {
  const { seen, now } = input;
  const memory = rememberLookup(input.memory, seen.kind, now);
  const judged = judge(seen, memory, input);
  const finishedAt = seen.kind === 'found' && ENDED.has(seen.job.status) ? novaTimeMs(seen.job.end_time) : null;
  // A job says in one read that it is over: nothing is ever left to confirm, so there is no evidence to weigh.
  return withDeadline(judged, input, { finishedAt, evidenceFinishedAt: null, unread: seen.kind === 'error' }, seen.kind === 'error', memory);
}

function judge(seen: JobObservation, memory: LookupMemory, clock: Clock): Judgement {
  if (seen.kind === 'not_found') {
    const judged = judgeNotFound<never>(clock.now, memory, { what: 'job', answer: seen.answer, message: seen.message });
    // The cloud deletes a job a day after it ends: one seen before and gone now may have ended unseen (a
    // long downtime). Said as what may be, not as what was: it may also be gone for another reason.
    return memory.everFound && !judged.settled ? pending(`${judged.reason}: the cloud deletes a job a day after it ends, so it may have ended unseen`) : judged;
  }
  if (seen.kind === 'error') return pending(`last poll failed: ${seen.message}`, { pollFailed: true });
  const { job } = seen;
  const type = job.job_type ?? 'job';
  switch (job.status) {
    case 'SUCCESS':
      return { settled: true, outcome: 'success', reason: describeSuccess(job, type, clock) };
    case 'FAIL':
      return { settled: true, outcome: 'failure', reason: describeFailure(job, type) };
    case 'PENDING_PAYMENT':
      return pending(`${type}: PENDING_PAYMENT, waiting for the order to be paid`);
    default:
      return pending(`${type}: ${job.status}${describeProgress(job)}`);
  }
}

function subJobsOf(job: EcsJob): EcsSubJob[] {
  return job.entities.sub_jobs ?? [];
}

/** `server 5c1e...`, `NIC 9a2f...`: what a sub-job acts on. */
export function subJobEntity(sub: EcsSubJob): string {
  if (sub.entities.server_id) return `server ${sub.entities.server_id}`;
  if (sub.entities.nic_id) return `NIC ${sub.entities.nic_id}`;
  return typeof sub['job_id'] === 'string' ? `sub-job ${sub['job_id']}` : 'a sub-job';
}

/**
 * How many sub-jobs have finished, of how many, and those listed that have not; null for a job without
 * sub-jobs. The total is `sub_jobs_total` when the job says more than it lists: the others are still to come.
 */
export function subJobProgress(job: EcsJob): { done: number; total: number; unfinished: EcsSubJob[] } | null {
  const subs = subJobsOf(job);
  const total = Math.max(subs.length, job.entities.sub_jobs_total ?? 0);
  if (total === 0) return null;
  const unfinished = subs.filter((s) => !ENDED.has(s.status));
  return { done: subs.length - unfinished.length, total, unfinished };
}

function describeProgress(job: EcsJob): string {
  const progress = subJobProgress(job);
  if (progress === null) return '';
  const running = progress.unfinished.map((s) => `${subJobEntity(s)} ${s.status}`);
  return `, ${progress.done}/${progress.total} sub-jobs finished${running.length ? ` (${running.join(', ')})` : ''}`;
}

/**
 * A SUCCESS is a success (the contract maps the status), but one that lists a failed or unfinished sub-job
 * all the same (the API's documents show such a job FAIL) names it: a server of a batch that was not made,
 * or not yet, is said.
 */
function describeSuccess(job: EcsJob, type: string, clock: Clock): string {
  const subs = subJobsOf(job);
  const took = jobDuration(job, clock);
  const of = subs.length === 0 ? '' : ` (${subs.length} sub-job${subs.length === 1 ? '' : 's'})`;
  // A sub-job not ended (the job's status came first) is said too: the server it makes may not be there yet.
  const against = [
    ...describeFailedSubJobs(subs.filter((s) => s.status === 'FAIL')),
    ...subs.filter((s) => !ENDED.has(s.status)).map((s) => `${s.job_type ?? 'sub-job'} on ${subJobEntity(s)} ${s.status}`),
  ];
  return `${type}: succeeded${took ? ` in ${took}` : ''}${of}${against.length ? `, by its status; yet ${against.join('; ')}` : ''}`;
}

/** Causes named in a reason, and servers named for one cause: a chat message shows 2,000 bytes of it, a digest 200. */
const CAUSES_NAMED = 5;
const ENTITIES_NAMED = 3;

/**
 * Failed sub-jobs, those of one type that fail alike said once, with how many and a few of what they acted
 * on: a batch create over a quota fails every server for the same reason, and said per server the count and
 * the other causes were lost where the reason is shortened.
 */
function describeFailedSubJobs(failed: EcsSubJob[]): string[] {
  const causes = new Map<string, { type: string; detail: string; subs: EcsSubJob[] }>();
  for (const sub of failed) {
    const type = sub.job_type ?? 'sub-job';
    const detail = subJobFailure(sub);
    const key = JSON.stringify([type, detail]);
    const cause = causes.get(key);
    if (cause) cause.subs.push(sub);
    else causes.set(key, { type, detail, subs: [sub] });
  }
  const groups = [...causes.values()];
  const said = groups.slice(0, CAUSES_NAMED).map(({ type, detail, subs }) => {
    const why = detail ? `: ${detail}` : '';
    if (subs.length === 1) return `${type} on ${subJobEntity(subs[0]!)} FAIL${why}`;
    const more = subs.length > ENTITIES_NAMED ? ` and ${subs.length - ENTITIES_NAMED} more` : '';
    return `${subs.length} ${type} sub-jobs FAIL${why} (${subs.slice(0, ENTITIES_NAMED).map(subJobEntity).join(', ')}${more})`;
  });
  const unsaid = groups.slice(CAUSES_NAMED).reduce((n, g) => n + g.subs.length, 0);
  return unsaid === 0 ? said : [...said, `and ${unsaid} more sub-job${unsaid === 1 ? '' : 's'} FAIL for other causes`];
}

/** The job's own code and reason, then each failed sub-job's with what it acted on. */
function describeFailure(job: EcsJob, type: string): string {
  const parts: string[] = [];
  const own = codeAndReason(job.error_code, job.fail_reason);
  if (own) parts.push(own);
  const subs = subJobsOf(job);
  const failed = subs.filter((s) => s.status === 'FAIL');
  parts.push(...describeFailedSubJobs(failed));
  const rest = subs.filter((s) => s.status !== 'FAIL');
  if (failed.length > 0 && rest.length > 0) parts.push(`${rest.length} of ${subs.length} sub-jobs ${rest.every((s) => s.status === 'SUCCESS') ? 'succeeded' : 'did not fail'}`);
  return `${type} failed${parts.length ? `: ${parts.join('; ')}` : ' (the API gives no reason)'}`;
}

/**
 * A failed sub-job's code and reasons: its `fail_reason` and its entity's `errorcode_message`, each once; ""
 * when it gives none. Both: the first may name only the task that failed (`...Task-fail`), the second why.
 */
export function subJobFailure(sub: EcsSubJob): string {
  const reasons = new Set([stringOf(sub.fail_reason)?.trim(), stringOf(sub.entities['errorcode_message'])?.trim()].filter((r) => r !== undefined));
  return codeAndReason(sub.error_code, reasons.size === 0 ? null : [...reasons].join(': '));
}

function codeAndReason(code: string | null, reason: string | null): string {
  return [code, reason?.trim()].filter((p) => p !== null && p !== undefined && p !== '').join(' ');
}

function stringOf(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/** A job says in one read that it ended: it was seen ended now. */
function jobDuration(job: EcsJob, clock: Clock): string | null {
  const begin = novaTimeMs(job.begin_time);
  const end = novaTimeMs(job.end_time);
  const took = begin === null || end === null ? null : cloudDuration(clock, begin, end, clock.now);
  return took === null ? null : formatDuration(took);
}
