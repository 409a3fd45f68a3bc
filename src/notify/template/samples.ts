// One notification of every kind, with every field set and the values a template must survive (quotes,
// backslashes, line breaks, control characters, non-BMP and line-separator characters, template syntax):
// a template is rendered against each when the watch file is loaded, so that a webhook template that
// would send broken JSON, or names a field that does not exist, is refused before anything is sent.
import {
  BATCH_NOTIFICATION_TYPES, NOTIFICATION_TYPES, type BatchNotification, type EcsJob, type InstanceAction, type Notification,
  type OutgoingNotification,
} from '../../model.ts';

/** Everything people or an API may put in a name, a message or a traceback. */
export const HOSTILE = 'web-01 "prod" \\ back\\slash\n\ttabbed </script> {{x}} ✓ 𝄞 \u2028\u2029 \u0001 \'quoted\'';

const action: InstanceAction = {
  action: 'resize',
  request_id: 'req-5a429946-c9cc-45cc-b5bd-68864209e5cc',
  message: `Error: ${HOSTILE}`,
  start_time: '2026-11-26T17:50:00.000000',
  events: [
    { event: 'compute_prep_resize', start_time: '2026-11-26T17:50:01.000000', finish_time: '2026-11-26T17:50:09.000000', result: 'Success', traceback: null },
    {
      event: 'compute_resize_instance', start_time: '2026-11-26T17:50:10.000000', finish_time: '2026-11-26T17:51:02.000000', result: 'Error',
      traceback: `Traceback (most recent call last):\n  File "manager.py", line 5201\nResizeError: ${HOSTILE}`,
    },
  ],
};

const job: EcsJob = {
  status: 'FAIL', job_id: 'ff808082843684110184e155fdb36461', job_type: 'createServer', begin_time: '2026-11-26T17:50:00.000Z',
  end_time: '2026-11-26T17:55:00.000Z', error_code: 'Ecs.0039', fail_reason: HOSTILE,
  entities: { sub_jobs: [{ status: 'FAIL', entities: { server_id: 'srv-1' }, job_type: 'createSingleServer', error_code: 'Ecs.0039', fail_reason: HOSTILE }] },
};

const watch = { name: HOSTILE, projectId: '89655fe61c4c4a08b9f3e7f9095441b8', serverId: 'e723eb40-f56e-40f9-8c8c-caa517fe06ba', requestId: action.request_id };
const jobWatch = { kind: 'ecs-job' as const, name: HOSTILE, projectId: watch.projectId, jobId: job.job_id };
const server = { status: 'ERROR', taskState: 'resize_finish', fault: { code: 500, message: HOSTILE } };

const failedAction: Notification = {
  type: NOTIFICATION_TYPES.failure, outcome: 'failure', watch, instanceAction: action, server, reason: HOSTILE, detectedAt: '2026-11-26T18:00:00.000Z',
};

const failedJob: Notification = {
  type: NOTIFICATION_TYPES.failure, outcome: 'failure', watch: jobWatch, instanceAction: null, server: null, job, reason: HOSTILE, detectedAt: '2026-11-26T18:00:00.000Z',
};

const slow: Notification = { ...failedAction, type: NOTIFICATION_TYPES.slow, outcome: null };

const test: Notification = { ...failedAction, type: NOTIFICATION_TYPES.test, outcome: null, instanceAction: null, server: null };

function digest(type: BatchNotification['type']): BatchNotification {
  return {
    type,
    batch: HOSTILE,
    round: 2,
    counts: { success: 1, failure: 2, timeout: 0, not_found: 0, pending: type === BATCH_NOTIFICATION_TYPES.partial ? 1 : 0 },
    watches: [
      { watch, outcome: 'failure', reason: HOSTILE, detectedAt: failedAction.detectedAt, instanceAction: action, server },
      { watch: jobWatch, outcome: 'failure', reason: HOSTILE, detectedAt: failedAction.detectedAt, instanceAction: null, server: null, job },
      ...(type === BATCH_NOTIFICATION_TYPES.partial ? [{ watch, outcome: null, reason: HOSTILE, detectedAt: null }] : []),
      { watch, outcome: 'success', reason: HOSTILE, detectedAt: failedAction.detectedAt },
    ],
    detectedAt: '2026-11-26T18:00:00.000Z',
  };
}

/** By what each is, for messages that name the one a template failed on. */
export const SAMPLES: ReadonlyArray<[string, OutgoingNotification]> = [
  ['an action\'s outcome', failedAction],
  ['a job\'s outcome', failedJob],
  ['an early warning', slow],
  ['a test notification', test],
  ['a batch digest', digest(BATCH_NOTIFICATION_TYPES.finished)],
  ['a partial batch digest', digest(BATCH_NOTIFICATION_TYPES.partial)],
];
