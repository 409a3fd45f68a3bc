// What a notification says, kept apart from how it travels so that the text can be tested without a
// server and every transport tells the same story. Pure: no I/O, no clock.
import { parseNovaTime } from '../cloud/time.ts';
import { subJobEntity, subJobFailure } from '../watch/jobVerdict.ts';
import {
  NOTIFICATION_TYPES, type EcsJob, type InstanceActionEvent, type Notification, type NotificationWatch, type Outcome,
} from '../model.ts';

/** The contract's webhook body. */
export function renderWebhookBody(n: Notification): string {
  // Rebuilt field by field: the key order is the contract's whatever order the caller's object has, and
  // nothing the caller happened to add to the notification leaks into the payload.
  return JSON.stringify({
    type: n.type,
    outcome: n.outcome,
    watch: watchFields(n.watch),
    instanceAction: n.instanceAction,
    server: n.server === null ? null : { status: n.server.status, taskState: n.server.taskState, fault: n.server.fault },
    // A job's notification carries the job; an action's keeps the shape the contract gave it before jobs.
    ...(n.job === undefined ? {} : { job: n.job }),
    reason: n.reason,
    detectedAt: n.detectedAt,
  });
}

function watchFields(w: NotificationWatch): NotificationWatch {
  return 'jobId' in w
    ? { kind: w.kind, name: w.name, projectId: w.projectId, jobId: w.jobId }
    : { name: w.name, projectId: w.projectId, serverId: w.serverId, requestId: w.requestId };
}

const OUTCOME_WORDS: Record<Outcome, string> = {
  success: 'succeeded',
  failure: 'failed',
  timeout: 'timed out',
  not_found: 'not found',
};

export function renderEmail(n: Notification): { subject: string; text: string } {
  const headline = renderHeadline(n);
  return { subject: `[ecs-action-watch] ${headline}`, text: `${[headline, ...renderFacts(n)].join('\n')}\n` };
}

/** The outcome to report, or null for a test notification. */
function outcomeOf(n: Notification): Outcome | null {
  return n.type === NOTIFICATION_TYPES.test ? null : n.outcome;
}

function renderHeadline(n: Notification): string {
  // A name is a person's label and may hold anything YAML allows, a line break included; a subject is one line.
  const w = n.watch;
  const label = (w.name || ('jobId' in w ? w.jobId : w.serverId)).replace(/\s+/g, ' ').trim();
  const outcome = outcomeOf(n);
  if (outcome === null) return label ? `test notification: ${label}` : 'test notification';
  const what = 'jobId' in w ? n.job?.job_type || 'job' : n.instanceAction?.action || 'action';
  return `${what} ${OUTCOME_WORDS[outcome]}: ${label}`;
}

function renderFacts(n: Notification): string[] {
  const test = outcomeOf(n) === null;
  const lines: string[] = [''];
  if (test) lines.push('This is a test notification from ecs-action-watch: if you can read it, this notifier works.', '');
  if (n.reason) lines.push(`Reason: ${n.reason}`, '');

  const field = (label: string, value: string): void => {
    lines.push(`${`${label}:`.padEnd(14)}${value}`);
  };
  const w = n.watch;
  if (w.name) field('Watch', w.name);
  if ('jobId' in w) {
    field('Job', w.jobId);
    if (w.projectId) field('Project', w.projectId);
    return [...lines, ...renderJob(n.job ?? null, field, n.detectedAt)];
  }
  if (w.requestId) field('Request', w.requestId);
  if (w.serverId) field('Server', w.serverId);
  if (w.projectId) field('Project', w.projectId);

  const action = n.instanceAction;
  if (action) {
    field('Action', `${action.action}, started ${formatNovaTime(action.start_time)}`);
    if (action.message) field('Message', action.message);
  } else if (!test) {
    field('Action', 'never read from the API');
  }

  if (n.server) {
    field('Server state', `${n.server.status}, task state ${n.server.taskState ?? 'none'}`);
    const fault = n.server.fault;
    if (fault) field('Server fault', fault.code === undefined ? fault.message : `${fault.code} ${fault.message}`);
  }
  field('Detected', n.detectedAt);

  if (action) lines.push('', ...renderEvents(action.events));
  return lines;
}

/** A job and each of its sub-jobs, with what each acted on, its status and, for a failed one, why. */
function renderJob(job: EcsJob | null, field: (label: string, value: string) => void, detectedAt: string): string[] {
  if (job === null) {
    field('Job type', 'never read from the API');
    field('Detected', detectedAt);
    return [];
  }
  field('Job type', `${job.job_type ?? 'unknown'}, ${job.status}`);
  field('Began', formatJobTime(job.begin_time));
  field('Ended', formatJobTime(job.end_time));
  if (job.error_code || job.fail_reason) field('Failure', [job.error_code, job.fail_reason].filter(Boolean).join(' '));
  field('Detected', detectedAt);
  const subs = job.entities.sub_jobs ?? [];
  if (subs.length === 0) return job.entities.server_id ? ['', `Server: ${job.entities.server_id}`] : [];
  const lines = ['', `Sub-jobs (${subs.length}):`];
  for (const sub of subs) {
    const why = sub.status === 'FAIL' ? subJobFailure(sub) : '';
    lines.push(`  - ${sub.job_type ?? 'sub-job'} on ${subJobEntity(sub)}: ${sub.status}${why ? ` (${why})` : ''}`);
  }
  return lines;
}

function formatJobTime(value: string | null): string {
  return value === null || value.trim() === '' ? 'not yet' : formatNovaTime(value);
}

function renderEvents(events: InstanceActionEvent[] | undefined): string[] {
  // Below microversion 2.51 Nova hides events from non-admins; saying so beats an empty list.
  if (!events || events.length === 0) return ['Events: none reported by the API'];
  const lines = ['Events:'];
  for (const e of events) {
    const finished = e.finish_time === null ? 'not finished' : `finished ${formatNovaTime(e.finish_time)}`;
    lines.push(`  - ${e.event}: ${e.result ?? 'in progress'}, started ${formatNovaTime(e.start_time)}, ${finished}`);
  }
  for (const e of events) {
    if (e.result === null || e.result === 'Success') continue;
    lines.push('', `Traceback of ${e.event}:`);
    if (e.traceback) lines.push(...e.traceback.trimEnd().split(/\r?\n/).map((line) => `    ${line}`));
    else lines.push('    (not shown: the API shows tracebacks to administrators only)');
  }
  return lines;
}

/** Nova writes `2026-11-26T17:50:00.000000` and means UTC; people should not have to know that. */
function formatNovaTime(value: string | null): string {
  if (value === null) return 'unknown';
  try {
    return parseNovaTime(value).toISOString();
  } catch {
    // Shown as the API gave it: an odd timestamp is no reason to withhold the rest of the notification.
    return value;
  }
}
