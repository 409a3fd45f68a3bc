// What a notifier template sees: every notification as one flat, documented view (README, "Notifier
// templates"), the same for mail and webhooks, so that a template never needs logic to find a fact. Pure.
import { subJobEntity, subJobFailure } from '../../watch/jobVerdict.ts';
import {
  BATCH_NOTIFICATION_TYPES, NOTIFICATION_TYPES, type BatchEntry, type BatchNotification, type EcsJob, type InstanceAction,
  type Notification, type NotificationWatch, type Outcome, type OutgoingNotification, type ServerInfo,
} from '../../model.ts';
import { OUTCOME_WORDS, flat, formatNovaTime, isBatch, labelOf, renderCounts, renderEmail, renderHeadline, renderWebhookBody, watchesText } from '../render.ts';
import { shortened } from '../../text/shortened.ts';
import { once } from '../../data/once.ts';

/** How many failures `batch.firstFailures` lists: enough to act on, few enough for a chat message's limits. */
export const FIRST_FAILURES = 10;

/**
 * The most UTF-8 bytes each short field holds (shortened.ts), so that a ready chat template stays within its
 * system's limit whatever a notification holds: a digest's headline and its first failures, each a name
 * and a reason, fit WeCom's 4,096 bytes and one Slack section's 3,000 characters; a notification's own
 * reason has its message to itself.
 */
export const SHORT_BYTES = { name: 64, reason: 200, ownReason: 2000 };

const shortName = (name: string) => shortened(name, SHORT_BYTES.name, 'middle');

/** Each item of a list knows where it stands, so that a template can put separators between items. */
type Positioned<T> = T & { index: number; first: boolean; last: boolean };

function positioned<T extends object>(items: readonly T[]): Array<Positioned<T>> {
  return items.map((item, index) => ({ ...item, index, first: index === 0, last: index === items.length - 1 }));
}

/** `ok`, `warning` or `problem`: what colour a chat card takes. */
type Severity = 'ok' | 'warning' | 'problem';

function severityOf(outcome: Outcome | null, running: boolean): Severity {
  if (outcome === 'success') return 'ok';
  return outcome === null && running ? 'warning' : 'problem';
}

function flags(severity: Severity) {
  return { severity, ok: severity === 'ok', warning: severity === 'warning', problem: severity === 'problem' };
}

function watchView(w: NotificationWatch) {
  const job = 'jobId' in w;
  return {
    kind: job ? 'ecs-job' : 'instance-action',
    name: w.name ?? '',
    label: labelOf(w),
    projectId: w.projectId,
    serverId: job ? '' : w.serverId,
    requestId: job ? '' : w.requestId,
    jobId: job ? w.jobId : '',
  };
}

/**
 * A time of the API as the view gives it, UTC as formatNovaTime writes it: '' where there is none, as for
 * every value absent (a job's end_time is "" while it runs, in some of Huawei's services).
 */
const timeOf = (value: string | null) => (value === null || value.trim() === '' ? '' : formatNovaTime(value));

function actionView(action: InstanceAction | null) {
  if (action === null) return { action: null, events: [] };
  return {
    action: { name: action.action, startTime: timeOf(action.start_time), message: action.message ?? '' },
    events: positioned(
      (action.events ?? []).map((e) => ({
        event: e.event,
        result: e.result ?? '',
        startTime: timeOf(e.start_time),
        finishTime: timeOf(e.finish_time),
        traceback: e.traceback ?? '',
        failed: e.result !== null && e.result !== 'Success',
      })),
    ),
  };
}

function serverView(server: ServerInfo | null) {
  if (server === null) return null;
  return { status: server.status, taskState: server.taskState ?? '', faultCode: server.fault?.code ?? '', faultMessage: server.fault?.message ?? '' };
}

function jobView(job: EcsJob | null | undefined) {
  if (!job) return null;
  return {
    type: job.job_type ?? '',
    status: job.status,
    beginTime: timeOf(job.begin_time),
    endTime: timeOf(job.end_time),
    errorCode: job.error_code ?? '',
    failReason: job.fail_reason ?? '',
    subJobs: positioned(
      (job.entities.sub_jobs ?? []).map((sub) => ({
        type: sub.job_type ?? '',
        status: sub.status,
        entity: subJobEntity(sub),
        failure: sub.status === 'FAIL' ? subJobFailure(sub) : '',
        failed: sub.status === 'FAIL',
      })),
    ),
  };
}

/** The facts of one watch: its notification's, or a batch entry's. */
function factsView(n: Pick<Notification, 'watch' | 'instanceAction' | 'server' | 'job'>) {
  return { watch: watchView(n.watch), ...actionView(n.instanceAction), server: serverView(n.server), job: jobView(n.job) };
}

function entryView(e: BatchEntry) {
  return {
    label: labelOf(e.watch),
    outcome: e.outcome ?? 'pending',
    outcomeWord: e.outcome === null ? 'pending' : OUTCOME_WORDS[e.outcome],
    reason: e.reason,
    detectedAt: e.detectedAt ?? '',
    ...flags(severityOf(e.outcome, true)),
    ...factsView({ watch: e.watch, instanceAction: e.instanceAction ?? null, server: e.server ?? null, job: e.job }),
  };
}

// The lists are getters, each made when a template first reads it: a chat template reads the first
// failures of a digest of thousands, not a view of every watch with its events four times over.
function batchView(n: BatchNotification) {
  const entries = once(() => n.watches.map(entryView));
  const listOf = (keep: (e: ReturnType<typeof entryView>) => boolean) => once(() => positioned(entries().filter(keep)));
  const watches = once(() => positioned(entries()));
  const failures = listOf((e) => e.problem);
  const pendings = listOf((e) => e.outcome === 'pending');
  const successes = listOf((e) => e.ok);
  const failed = n.watches.filter(isFailure);
  // Only the first failures have short fields: only a list of bounded length keeps a message within bounds.
  const firstFailures = once(() => positioned(failed.slice(0, FIRST_FAILURES).map((e) => ({
    ...entryView(e), shortLabel: shortName(labelOf(e.watch)), shortReason: shortened(e.reason, SHORT_BYTES.reason, 'end'),
  }))));
  const { success, failure, timeout, not_found: notFound, pending } = n.counts;
  return {
    label: n.batch,
    round: n.round,
    final: n.type === BATCH_NOTIFICATION_TYPES.finished,
    total: n.watches.length,
    totalText: watchesText(n.watches.length),
    counts: { success, failure, timeout, notFound, pending },
    countsText: renderCounts(n.counts),
    get watches() {
      return watches();
    },
    get failures() {
      return failures();
    },
    get pending() {
      return pendings();
    },
    get successes() {
      return successes();
    },
    get firstFailures() {
      return firstFailures();
    },
    moreFailures: Math.max(0, failed.length - FIRST_FAILURES),
  };
}

/** A watch that ended otherwise than in success: what a batch lists under its failures. */
function isFailure(e: BatchEntry): boolean {
  return e.outcome !== null && e.outcome !== 'success';
}

/** A short text for a chat line: the headline, then the reason, or a batch's first failures. */
function summaryOf(n: OutgoingNotification, headline: string): string {
  if (!isBatch(n)) return n.reason ? `${headline}\n${n.reason}` : headline;
  const failures = n.watches.filter(isFailure);
  const lines = failures.slice(0, FIRST_FAILURES).map((e) => `- ${labelOf(e.watch)}: ${flat(e.reason)}`);
  if (failures.length > FIRST_FAILURES) lines.push(`- and ${failures.length - FIRST_FAILURES} more`);
  return [headline, ...lines].join('\n');
}

/**
 * Sections that are always shown, within which template.ts escapes each value for a chat's markup: they
 * sit in the view for the template's check to know them, wherever a template opens them.
 */
const MARKUP_SECTIONS = { slack: true, larkMd: true, dingtalkMd: true, wecomMd: true, teamsMd: true } as const;
export type MarkupSection = keyof typeof MARKUP_SECTIONS;

/** The view of a notification; every field is described in the README. */
export function viewOf(n: OutgoingNotification) {
  const headline = renderHeadline(n);
  const text = once(() => renderEmail(n).text);
  const body = once(() => renderWebhookBody(n));
  // The whole message and the contract's body are getters: for a digest of thousands they cost more than
  // the rest of the view, on the daemon's only thread, and most templates never write them. A getter keeps
  // its place among the keys, so a template writing the view as JSON ({{.}}) gets the same bytes.
  const common = {
    type: n.type,
    headline,
    shortHeadline: renderHeadline(n, shortName),
    summary: summaryOf(n, headline),
    get text() {
      return text();
    },
    get body() {
      return body();
    },
    detectedAt: n.detectedAt,
    ...MARKUP_SECTIONS,
  };
  if (isBatch(n)) {
    const anyProblem = n.watches.some(isFailure);
    const severity: Severity = anyProblem ? 'problem' : n.type === BATCH_NOTIFICATION_TYPES.finished ? 'ok' : 'warning';
    // Assigned rather than spread, which would call the getters.
    return Object.assign(common, {
      isAction: false, isSlow: false, isBatch: true, isPartial: n.type === BATCH_NOTIFICATION_TYPES.partial, isTest: false,
      ...flags(severity),
      batch: batchView(n),
    });
  }
  const isTest = n.type === NOTIFICATION_TYPES.test;
  const isSlow = n.type === NOTIFICATION_TYPES.slow;
  return Object.assign(common, {
    isAction: !isTest && !isSlow, isSlow, isBatch: false, isPartial: false, isTest,
    ...flags(isTest ? 'ok' : severityOf(n.outcome, isSlow)),
    outcome: n.outcome ?? '',
    outcomeWord: n.outcome === null ? (isSlow ? 'still running' : '') : OUTCOME_WORDS[n.outcome],
    reason: n.reason,
    shortReason: shortened(n.reason, SHORT_BYTES.ownReason, 'end'),
    ...factsView(n),
  });
}

/** What a template renders against. */
export type View = ReturnType<typeof viewOf>;
