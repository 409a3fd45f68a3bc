// The notifications a template is rendered against when the watch file is loaded, so that a webhook
// template that would send broken JSON, or names a field that does not exist, is refused before anything
// is sent. Every kind of notification comes in each shape its facts take, since a template that writes a
// value where JSON wants one breaks only where the value is empty (`"code": {{server.faultCode}}` for a
// server without a fault): every field set, with the values a template must survive (quotes,
// backslashes, line breaks, control characters, non-BMP and line-separator characters, template syntax);
// every object read but its fields empty; its lists empty; nothing read.
import {
  BATCH_NOTIFICATION_TYPES, NOTIFICATION_TYPES, type BatchEntry, type BatchNotification, type EcsJob, type InstanceAction, type Notification,
  type NotificationType, type Outcome, type OutgoingNotification,
} from '../../model.ts';
import { FIRST_FAILURES } from './view.ts';

/** Everything people or an API may put in a name, a message or a traceback. */
export const HOSTILE = 'web-01 "prod" \\ back\\slash\n\ttabbed </script> {{x}} ✓ 𝄞 \u2028\u2029 \u0001 \'quoted\'';

const PROJECT = '89655fe61c4c4a08b9f3e7f9095441b8';
const SERVER = 'e723eb40-f56e-40f9-8c8c-caa517fe06ba';
const REQUEST = 'req-5a429946-c9cc-45cc-b5bd-68864209e5cc';
const JOB = 'ff808082843684110184e155fdb36461';
const DETECTED = '2026-11-26T18:00:00.000Z';

type Facts = Pick<Notification, 'watch' | 'instanceAction' | 'server' | 'job'>;

/** The facts of an action's and of a job's watch in one shape, and what a message calls that shape. */
interface Shape {
  says: string;
  action: Facts;
  job: Facts;
}

const actionWatch = (name: string | null) => ({ name, projectId: PROJECT, serverId: SERVER, requestId: REQUEST });
const jobWatch = (name: string | null) => ({ kind: 'ecs-job' as const, name, projectId: PROJECT, jobId: JOB });

const action = (message: string | null, events: InstanceAction['events']): InstanceAction => ({
  action: 'resize', request_id: REQUEST, message, start_time: message === null ? null : '2026-11-26T17:50:00.000000', events,
});

const job = (fields: Partial<EcsJob>): EcsJob => ({
  status: 'FAIL', job_id: JOB, job_type: null, begin_time: null, end_time: null, error_code: null, fail_reason: null, entities: {}, ...fields,
});

const SHAPES: Shape[] = [
  {
    says: 'with every field set',
    action: {
      watch: actionWatch(HOSTILE),
      instanceAction: action(`Error: ${HOSTILE}`, [
        { event: 'compute_prep_resize', start_time: '2026-11-26T17:50:01.000000', finish_time: '2026-11-26T17:50:09.000000', result: 'Success', traceback: null },
        {
          event: 'compute_resize_instance', start_time: '2026-11-26T17:50:10.000000', finish_time: '2026-11-26T17:51:02.000000', result: 'Error',
          traceback: `Traceback (most recent call last):\n  File "manager.py", line 5201\nResizeError: ${HOSTILE}`,
        },
      ]),
      server: { status: 'ERROR', taskState: 'resize_finish', fault: { code: 500, message: HOSTILE } },
    },
    job: {
      watch: jobWatch(HOSTILE), instanceAction: null, server: null,
      job: job({
        job_type: 'createServer', begin_time: '2026-11-26T17:50:00.000Z', end_time: '2026-11-26T17:55:00.000Z', error_code: 'Ecs.0039', fail_reason: HOSTILE,
        // Two, as an action has two events: a list that breaks JSON between its items (no `{{^last}},{{/last}}`)
        // shows it with a second item only, as every job creating more than one server has.
        entities: {
          sub_jobs: [
            { status: 'FAIL', entities: { server_id: 'srv-1' }, job_type: 'createSingleServer', error_code: 'Ecs.0039', fail_reason: HOSTILE },
            { status: 'SUCCESS', entities: { server_id: 'srv-2' }, job_type: 'createSingleServer', error_code: null, fail_reason: null },
          ],
        },
      }),
    },
  },
  {
    says: 'with empty fields (no name, a server without a fault or task state, an event without result, times or traceback, a job without codes)',
    action: {
      watch: actionWatch(null),
      instanceAction: action(null, [{ event: 'compute_resize_instance', start_time: null, finish_time: null, result: null, traceback: null }]),
      server: { status: 'ACTIVE', taskState: null, fault: null },
    },
    job: {
      watch: jobWatch(null), instanceAction: null, server: null,
      job: job({ entities: { sub_jobs: [{ status: 'FAIL', entities: {}, job_type: null, error_code: null, fail_reason: null }] } }),
    },
  },
  {
    says: 'with empty lists (an action without events, a job without sub-jobs, a fault without a code)',
    action: {
      watch: actionWatch('web-01'),
      instanceAction: action('Error', []),
      server: { status: 'ERROR', taskState: null, fault: { message: 'No valid host was found.' } },
    },
    job: { watch: jobWatch('web-01'), instanceAction: null, server: null, job: job({ job_type: 'createServer' }) },
  },
  {
    says: 'with nothing read (no action, no server, no job)',
    action: { watch: actionWatch(null), instanceAction: null, server: null },
    job: { watch: jobWatch(null), instanceAction: null, server: null, job: null },
  },
];

const KINDS: Array<{ what: string; type: NotificationType; outcome: Outcome | null; watch: 'action' | 'job' }> = [
  { what: 'an action\'s success', type: NOTIFICATION_TYPES.success, outcome: 'success', watch: 'action' },
  { what: 'an action\'s failure', type: NOTIFICATION_TYPES.failure, outcome: 'failure', watch: 'action' },
  { what: 'an action that timed out', type: NOTIFICATION_TYPES.timeout, outcome: 'timeout', watch: 'action' },
  { what: 'an action not found', type: NOTIFICATION_TYPES.not_found, outcome: 'not_found', watch: 'action' },
  { what: 'an early warning of an action', type: NOTIFICATION_TYPES.slow, outcome: null, watch: 'action' },
  { what: 'a test notification', type: NOTIFICATION_TYPES.test, outcome: null, watch: 'action' },
  { what: 'a job\'s success', type: NOTIFICATION_TYPES.success, outcome: 'success', watch: 'job' },
  { what: 'a job\'s failure', type: NOTIFICATION_TYPES.failure, outcome: 'failure', watch: 'job' },
  { what: 'a job that timed out', type: NOTIFICATION_TYPES.timeout, outcome: 'timeout', watch: 'job' },
  { what: 'a job not found', type: NOTIFICATION_TYPES.not_found, outcome: 'not_found', watch: 'job' },
  { what: 'an early warning of a job', type: NOTIFICATION_TYPES.slow, outcome: null, watch: 'job' },
];

function digest(type: BatchNotification['type'], watches: BatchEntry[]): BatchNotification {
  const counts = { success: 0, failure: 0, timeout: 0, not_found: 0, pending: 0 };
  for (const w of watches) counts[w.outcome ?? 'pending']++;
  return { type, batch: HOSTILE, round: 2, counts, watches, detectedAt: DETECTED };
}

/** A digest's entry: one that ended carries its facts, as digests do for what did not succeed. */
function entry(outcome: Outcome | null, facts: Pick<Facts, 'watch'> | Facts): BatchEntry {
  return { ...facts, outcome, reason: HOSTILE, detectedAt: outcome === null ? null : DETECTED };
}

/**
 * A digest's watches in the order it lists them: failures, then pending (a partial digest), then successes;
 * an outcome of each kind, so that every count is shown.
 */
function entries(shape: Shape, partial: boolean): BatchEntry[] {
  const { watch } = shape.action;
  return [
    entry('failure', shape.action), entry('failure', shape.job), entry('timeout', shape.action), entry('not_found', shape.job),
    ...(partial ? [entry(null, { watch })] : []),
    entry('success', { watch }),
  ];
}

const { watch } = SHAPES[0]!.action;

/** By what each is, for messages that name the one a template failed on; ordinary ones first. */
export const SAMPLES: ReadonlyArray<[string, OutgoingNotification]> = [
  ...KINDS.flatMap((kind) => SHAPES.map((shape): [string, OutgoingNotification] => [
    `${kind.what} ${shape.says}`, { type: kind.type, outcome: kind.outcome, ...shape[kind.watch], reason: HOSTILE, detectedAt: DETECTED },
  ])),
  ...SHAPES.flatMap((shape): Array<[string, OutgoingNotification]> => [
    [`a batch digest ${shape.says}`, digest(BATCH_NOTIFICATION_TYPES.finished, entries(shape, false))],
    [`a partial batch digest ${shape.says}`, digest(BATCH_NOTIFICATION_TYPES.partial, entries(shape, true))],
  ]),
  ['a batch digest in which every watch succeeded', digest(BATCH_NOTIFICATION_TYPES.finished, [entry('success', { watch }), entry('success', { watch })])],
  ['a partial batch digest in which no watch has ended', digest(BATCH_NOTIFICATION_TYPES.partial, [entry(null, { watch }), entry(null, { watch })])],
  [
    `a batch digest of more failures than it lists (${FIRST_FAILURES + 1})`,
    digest(BATCH_NOTIFICATION_TYPES.finished, Array<BatchEntry>(FIRST_FAILURES + 1).fill(entry('failure', SHAPES.at(-1)!.action))),
  ],
];
