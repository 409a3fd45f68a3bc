// What a notification says, kept apart from how it travels so that the text can be tested without a
// server and every transport tells the same story. Pure: no I/O, no clock.
import { oneLine } from '../net/oneLine.ts';
import { novaTimeIso } from '../cloud/time.ts';
import { jobEnded, subJobEntity, subJobFailure } from '../watch/jobVerdict.ts';
import { BIDI_CONTROLS } from '../text/bidi.ts';
import {
  NOTIFICATION_TYPES, type BatchEntry, type BatchNotification, type EcsJob, type InstanceActionEvent, type Notification,
  type NotificationWatch, type Outcome, type OutgoingNotification,
} from '../model.ts';

/** A batch digest, as opposed to one watch's notification. */
export function isBatch(n: OutgoingNotification): n is BatchNotification {
  return 'batch' in n;
}

/** The contract's webhook body. */
export function renderWebhookBody(n: OutgoingNotification): string {
  return JSON.stringify(isBatch(n) ? batchBody(n) : actionBody(n));
}

/** What a watch's notification says of what it follows; a batch entry carries the same for a watch that did not succeed. */
type Facts = Pick<Notification, 'watch' | 'instanceAction' | 'server' | 'job'>;

// Rebuilt field by field: the key order is the contract's whatever order the caller's object has, and
// nothing the caller happened to add to the notification leaks into the payload.
function actionBody(n: Notification): object {
  return { type: n.type, outcome: n.outcome, watch: watchBody(n.watch), ...factsBody(n), reason: n.reason, detectedAt: n.detectedAt };
}

function batchBody(n: BatchNotification): object {
  const { success, failure, timeout, not_found, pending } = n.counts;
  return {
    type: n.type,
    batch: n.batch,
    round: n.round,
    counts: { success, failure, timeout, not_found, pending },
    watches: n.watches.map((e) => ({
      watch: watchBody(e.watch),
      outcome: e.outcome,
      reason: e.reason,
      detectedAt: e.detectedAt,
      // A watch that did not succeed comes with everything its own notification would have said.
      ...(e.outcome === null || e.outcome === 'success' ? {} : factsBody(factsOf(e))),
    })),
    detectedAt: n.detectedAt,
  };
}

function watchBody(w: NotificationWatch): NotificationWatch {
  return 'jobId' in w
    ? { kind: w.kind, name: w.name, projectId: w.projectId, jobId: w.jobId }
    : { name: w.name, projectId: w.projectId, serverId: w.serverId, requestId: w.requestId };
}

/** What the API showed: the action and its server, and for a job the job. */
function factsBody(n: Facts): object {
  return {
    instanceAction: n.instanceAction,
    server: n.server === null ? null : { status: n.server.status, taskState: n.server.taskState, fault: n.server.fault },
    // A job's notification carries the job; an action's keeps the shape the contract gave it before jobs.
    ...(n.job === undefined ? {} : { job: n.job }),
  };
}

/**
 * An entry's facts, null where the digest had them no more when it was sent (its record gone, or its
 * details); a job's entry carries its job as its notification does.
 */
function factsOf(e: BatchEntry): Facts {
  return { watch: e.watch, instanceAction: e.instanceAction ?? null, server: e.server ?? null, ...('jobId' in e.watch ? { job: e.job ?? null } : {}) };
}

export const OUTCOME_WORDS: Record<Outcome, string> = {
  success: 'succeeded',
  failure: 'failed',
  timeout: 'timed out',
  not_found: 'not found',
};

/** Count words in reading order: the failures before the successes. */
const COUNT_ORDER: ReadonlyArray<[keyof BatchNotification['counts'], string]> = [
  ['failure', 'failed'],
  ['timeout', 'timed out'],
  ['not_found', 'not found'],
  ['pending', 'pending'],
  ['success', 'succeeded'],
];

export function renderEmail(n: OutgoingNotification): { subject: string; text: string } {
  const facts = isBatch(n) ? renderBatchFacts(n) : renderFacts(n);
  return { subject: renderSubject(n), text: `${[renderHeadline(n), ...facts].join('\n')}\n` };
}

/** The default mail's subject alone, for a mail whose template writes the text. */
export function renderSubject(n: OutgoingNotification): string {
  return `[ecs-action-watch] ${renderHeadline(n)}`;
}

/** One line saying what happened: the email's subject, a chat message's title; `name` shapes the watch's or batch's name in it. */
export function renderHeadline(n: OutgoingNotification, name: (label: string) => string = (label) => label): string {
  if (isBatch(n)) {
    const round = n.round > 1 ? ` (round ${n.round})` : '';
    return `batch ${name(flat(n.batch))}${round} ${n.type === 'ecs.batch.finished' ? 'finished' : 'still running'}: ${renderCounts(n.counts)}`;
  }
  const label = name(labelOf(n.watch));
  if (n.type === NOTIFICATION_TYPES.test) return label ? `test notification: ${label}` : 'test notification';
  const what = 'jobId' in n.watch ? n.job?.job_type || 'job' : n.instanceAction?.action || 'action';
  if (n.outcome === null) return `${what} still running: ${label}`;
  return `${what} ${OUTCOME_WORDS[n.outcome]}: ${label}`;
}

/** `1 watch`, `48 watches`: how many a digest reports. */
export function watchesText(total: number): string {
  return `${total} watch${total === 1 ? '' : 'es'}`;
}

/** `2 failed, 48 succeeded`: the counts that are not zero, failures first. */
export function renderCounts(counts: BatchNotification['counts']): string {
  const parts = COUNT_ORDER.filter(([key]) => counts[key] > 0).map(([key, word]) => `${counts[key]} ${word}`);
  return parts.length > 0 ? parts.join(', ') : 'no watches';
}

/** A watch as people name it: its name, else what it follows; one line, whatever YAML let the name hold. */
export function labelOf(watch: NotificationWatch): string {
  // Judged on one line: a name of blanks (`"${APP:-} ${ENV:-}"`, neither set) names nothing.
  return flat(watch.name ?? '') || flat('jobId' in watch ? watch.jobId : watch.serverId);
}

/** Names and reasons on one line, never cut: a notification says them whole, each bidi control as its code point. */
export function flat(text: string): string {
  return oneLine(text, Infinity).replace(BIDI_CONTROLS, (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase()}]`);
}

function renderFacts(n: Notification): string[] {
  const test = n.type === NOTIFICATION_TYPES.test;
  const lines: string[] = [''];
  if (test) lines.push('This is a test notification from ecs-action-watch: if you can read it, this notifier works.', '');
  if (n.outcome === null && !test) lines.push('No outcome yet: this is an early warning, the outcome follows when it ends.', '');
  if (n.reason) lines.push(`Reason: ${n.reason}`, '');
  return [...lines, ...renderWatchFacts(n, n.detectedAt, test ? null : NEVER_READ)];
}

const FIELD_WIDTH = 14;

/** `Label:       value`, a value of several lines (a libvirt error as a fault) aligned under its first. */
function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(FIELD_WIDTH)}${value.replace(/\r?\n/g, `\n${' '.repeat(FIELD_WIDTH)}`)}`;
}

/** Said of an action or a job the API never answered with. */
const NEVER_READ = 'never read from the API';

/**
 * The watch's ids and what it follows: the action, its server and events, or the job and its sub-jobs.
 * `unread`: what to say of an action or job that is not there, null for nothing.
 */
function renderWatchFacts(n: Facts, detectedAt: string | null, unread: string | null): string[] {
  const lines: string[] = [];
  const add = (label: string, value: string) => lines.push(field(label, value));
  const w = n.watch;
  if (w.name) add('Watch', w.name);
  if ('jobId' in w) {
    add('Job', w.jobId);
    if (w.projectId) add('Project', w.projectId);
    return [...lines, ...renderJob(n.job ?? null, detectedAt, unread)];
  }
  if (w.requestId) add('Request', w.requestId);
  if (w.serverId) add('Server', w.serverId);
  if (w.projectId) add('Project', w.projectId);

  const action = n.instanceAction;
  if (action) {
    add('Action', `${action.action}, started ${formatNovaTime(action.start_time)}`);
    if (action.message) add('Message', action.message);
  } else if (unread !== null) {
    add('Action', unread);
  }

  if (n.server) {
    add('Server state', `${n.server.status}, task state ${n.server.taskState ?? 'none'}`);
    const fault = n.server.fault;
    if (fault) add('Server fault', fault.code === undefined ? fault.message : `${fault.code} ${fault.message}`);
  }
  if (detectedAt) add('Detected', detectedAt);
  if (action) lines.push('', ...renderEvents(action.events));
  return lines;
}

/** A job and each of its sub-jobs, with what each acted on, its status and, for a failed one, why. */
function renderJob(job: EcsJob | null, detectedAt: string | null, unread: string | null): string[] {
  const detected = detectedAt ? [field('Detected', detectedAt)] : [];
  if (job === null) return [...(unread === null ? [] : [field('Job type', unread)]), ...detected];
  const lines = [
    field('Job type', `${job.job_type ?? 'unknown'}, ${job.status}`),
    field('Began', formatJobTime(job, job.begin_time)),
    field('Ended', formatJobTime(job, job.end_time)),
    ...(job.error_code || job.fail_reason ? [field('Failure', [job.error_code, job.fail_reason].filter(Boolean).join(' '))] : []),
    ...detected,
  ];
  const subs = job.entities.sub_jobs ?? [];
  if (subs.length === 0) return job.entities.server_id ? [...lines, '', `Server: ${job.entities.server_id}`] : lines;
  lines.push('', `Sub-jobs (${subs.length}):`);
  for (const sub of subs) {
    const why = sub.status === 'FAIL' ? subJobFailure(sub) : '';
    lines.push(`  - ${sub.job_type ?? 'sub-job'} on ${subJobEntity(sub)}: ${sub.status}${why ? ` (${why})` : ''}`);
  }
  return lines;
}

/** A time the job leaves blank is to come while it runs, and unknown once it has ended (SUCCESS, FAIL). */
function formatJobTime(job: EcsJob, value: string | null): string {
  if (value !== null && value.trim() !== '') return formatNovaTime(value);
  return jobEnded(job) ? 'unknown' : 'not yet';
}

/**
 * The bytes (as sent: sentSize) of a digest's text that its failures in full may take; past them each further
 * failure is listed as a success is (name, ids, reason). A mail server refuses for good a message past its
 * size limit (10 MB is Postfix's default): 2,000 failures, each with a traceback of Nova's, went past it, and
 * the digest was lost just when a fleet run failed.
 */
const DIGEST_IN_FULL_BYTES = 2 * 1024 * 1024;

/**
 * The bytes (as sent: sentSize) of a digest's whole text; past them the further watches are counted, not
 * listed. In brief a watch takes a line as long as its reason: 20,000 failures of a fleet run, each with a
 * reason of 360 characters (its event's error, its traceback's last line, the server's fault), made 10.4 MB,
 * and the digest was refused for good all the same.
 */
const DIGEST_BYTES = 6 * 1024 * 1024;

/**
 * What lines take in a mail as quoted-printable sends them (nodemailer's choice for a text mostly of Latin
 * letters): each byte of a character past ASCII as three (`=E5`), 9 for a Chinese character. Base64, its
 * choice for a text mostly of other characters, takes 4 bytes for 3, far less for such a text. Counted in
 * characters, 65,000 servers with Chinese names made a digest of 13 MB.
 */
function sentSize(lines: string[]): number {
  return lines.reduce((sum, line) => {
    const ascii = line.replace(/[^\0-\x7F]/g, '').length;
    return sum + 3 * Buffer.byteLength(line) - 2 * ascii + 1;
  }, 0);
}

/** The digest for people: the counts, then each group of watches, failures first and in full (as DIGEST_IN_FULL_BYTES allows). */
function renderBatchFacts(n: BatchNotification): string[] {
  const head = ['', `${watchesText(n.watches.length)}: ${renderCounts(n.counts)}.`];
  if (n.type !== 'ecs.batch.finished') head.push('Not finished yet: the final digest follows once every watch has an outcome.');
  head.push(field('Detected', n.detectedAt));
  const lines: string[] = [];
  let room = DIGEST_IN_FULL_BYTES;
  let left = DIGEST_BYTES;
  let inBrief = 0;
  let unlisted = 0;
  for (const [key, word] of COUNT_ORDER) {
    const group = n.watches.filter((e) => (e.outcome ?? 'pending') === key);
    if (group.length === 0) continue;
    lines.push('', `${word[0]!.toUpperCase()}${word.slice(1)} (${group.length}):`);
    const brief = key === 'success' || key === 'pending';
    const unlistedBefore = unlisted;
    group.forEach((e, i) => {
      // In the order read: once one watch is not listed, neither are those after it; once one failure is in
      // brief, so are those after it, which are not rendered in full.
      if (unlisted > 0) {
        unlisted++;
        return;
      }
      const full = brief || inBrief > 0 ? null : renderInFull(e);
      const size = full === null ? 0 : sentSize(full);
      if (full === null || size > room) {
        const line = renderBrief(e);
        const lineSize = sentSize(line);
        if (lineSize > left) {
          unlisted++;
          return;
        }
        left -= lineSize;
        if (!brief) inBrief++;
        lines.push(...line);
        return;
      }
      room -= size;
      left -= size;
      lines.push(...(i > 0 ? [''] : []), ...full);
    });
    if (unlisted > unlistedBefore) lines.push(`  - and ${unlisted - unlistedBefore} more, not listed`);
  }
  if (inBrief > 0) head.push('', `${inBrief} of the failures are listed in brief, without their events and tracebacks, to keep this mail within mail servers' size limits; each one's reason names its failed events and the last line of their tracebacks.`);
  if (unlisted > 0) head.push('', `${unlisted} of the watches are not listed, to keep this mail within mail servers' size limits; the counts include them, and a webhook's digest lists every one.`);
  return [...head, ...lines];
}

function renderBrief(e: BatchEntry): string[] {
  const w = e.watch;
  const ids = ('jobId' in w ? [w.jobId] : [w.serverId, w.requestId]).filter(Boolean).join(', ');
  return [`  - ${labelOf(w)}${ids ? ` (${ids})` : ''}${e.reason ? `: ${flat(e.reason)}` : ''}`];
}

function renderInFull(e: BatchEntry): string[] {
  // An entry without its facts (factsOf) may well have had them: not "never read".
  const unread = 'instanceAction' in e ? NEVER_READ : null;
  const facts = [...(e.reason ? [field('Reason', e.reason)] : []), ...renderWatchFacts(factsOf(e), e.detectedAt, unread)];
  return [`  - ${labelOf(e.watch)}`, ...facts.flatMap((l) => l.split('\n')).map((l) => (l ? `    ${l}` : l))];
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
export function formatNovaTime(value: string | null): string {
  if (value === null) return 'unknown';
  // Shown as the API gave it: an odd timestamp is no reason to withhold the rest of the notification.
  return novaTimeIso(value) ?? value;
}
