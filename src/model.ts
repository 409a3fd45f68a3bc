// The domain vocabulary shared by every concern. Shapes of the Nova API are kept as the API names them
// (snake_case) so that what we forward in payloads is exactly what the API returned.

export const OUTCOMES = ['success', 'failure', 'timeout', 'not_found'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What a watch follows: an instance action (the default, `requestId` + `serverId`) or a native ECS job. */
export const WATCH_KINDS = ['instance-action', 'ecs-job'] as const;
export type WatchKind = (typeof WATCH_KINDS)[number];

/** One step of an instance action. `traceback` is absent for non-admins, `events` below 2.51. */
export interface InstanceActionEvent {
  event: string;
  start_time: string | null;
  finish_time: string | null;
  result: string | null;
  traceback?: string | null;
  [extra: string]: unknown;
}

/** `instanceAction` of GET /servers/{id}/os-instance-actions/{request_id}, extra fields kept. */
export interface InstanceAction {
  action: string;
  request_id: string;
  instance_uuid?: string;
  message: string | null;
  start_time: string | null;
  events?: InstanceActionEvent[];
  [extra: string]: unknown;
}

export interface ServerFault {
  code?: number;
  message: string;
  details?: string;
  created?: string;
}

/** What we keep of GET /servers/{id}: the status, the task state and the fault. */
export interface ServerInfo {
  status: string;
  taskState: string | null;
  fault: ServerFault | null;
}

/** GET /servers/{id} as a poll reads it: the payload's part, and where the server runs. */
export interface ServerState {
  info: ServerInfo;
  /** Nova's obfuscated host id, sha224(owner project + host); null when the server has no host. */
  hostId: string | null;
  /** The owner project (`tenant_id`), with which `hostId` is hashed. */
  projectId: string | null;
  /** Its name, where the document has one (auto-tracking names watches with it). */
  name?: string | undefined;
  /** When Nova last saved it (`updated`, the cloud's clock), where the document says. */
  updated?: string | undefined;
}

/** One item of GET /servers/{id}/os-instance-actions (newest first); the list never carries events. */
export interface InstanceActionSummary {
  action: string;
  request_id: string;
  start_time: string | null;
  [extra: string]: unknown;
}

/** One server of GET /servers/detail: what auto-tracking needs of it. */
export interface ServerSummary {
  id: string;
  name: string;
  status: string;
  /** When it last changed (the API's clock); what `changes-since` compares. */
  updated: string | null;
}

/** One record of GET /os-migrations: what Nova's compute services write as a move runs. */
export interface MigrationRecord {
  id: number | string;
  status: string;
  /** From microversion 2.23: live-migration, migration (cold), resize or evacuation. */
  migration_type?: string | undefined;
  created_at: string | null;
  source_compute?: string | null | undefined;
  dest_compute?: string | null | undefined;
  [extra: string]: unknown;
}

/** One sub-job of a batch job (one per server of createServer, deleteServers...), extra fields kept. */
export interface EcsSubJob {
  status: string;
  /** `server_id` or `nic_id`; a failed one may add `errorcode_message`. */
  entities: { server_id?: string | undefined; nic_id?: string | undefined; [extra: string]: unknown };
  job_type: string | null;
  error_code: string | null;
  fail_reason: string | null;
  [extra: string]: unknown;
}

/**
 * GET /v1/{project_id}/jobs/{job_id} of Huawei Cloud / OTC's native ECS API, extra fields kept. `status`
 * is SUCCESS, FAIL, RUNNING, INIT or PENDING_PAYMENT; times are ISO 8601, "" while unknown.
 */
export interface EcsJob {
  status: string;
  job_id: string;
  job_type: string | null;
  begin_time: string | null;
  end_time: string | null;
  error_code: string | null;
  fail_reason: string | null;
  entities: {
    server_id?: string | undefined;
    nic_id?: string | undefined;
    sub_jobs_total?: number | undefined;
    sub_jobs?: EcsSubJob[] | undefined;
    [extra: string]: unknown;
  };
  [extra: string]: unknown;
}

/** Identifies one job of the native ECS API. */
export interface JobRef {
  projectId: string;
  jobId: string;
}

/** Identifies one watched action; `projectId` is already resolved against cloud.projectId. */
export interface WatchRef {
  kind?: 'instance-action' | undefined;
  name?: string | undefined;
  projectId: string;
  serverId: string;
  requestId: string;
}

/** Identifies one watched job. */
export interface JobWatchRef extends JobRef {
  kind: 'ecs-job';
  name?: string | undefined;
}

/** Whatever a watch follows, as its kind names it. */
export type WatchIdentity = WatchRef | JobWatchRef;

export const NOTIFICATION_TYPES = {
  success: 'ecs.action.succeeded',
  failure: 'ecs.action.failed',
  timeout: 'ecs.action.timed_out',
  not_found: 'ecs.action.not_found',
  test: 'ecs.watch.test',
  /** An early warning: the action still runs past its `warnAfter`; outcome null. */
  slow: 'ecs.action.slow',
} as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[keyof typeof NOTIFICATION_TYPES];

/** A watch as its notifications name it: an action as the contract always did, a job with its kind. */
export type NotificationWatch =
  | { name: string | null; projectId: string; serverId: string; requestId: string }
  | { kind: 'ecs-job'; name: string | null; projectId: string; jobId: string };

/** The contract's webhook body; email renders the same facts for people. */
export interface Notification {
  type: NotificationType;
  outcome: Outcome | null;
  watch: NotificationWatch;
  instanceAction: InstanceAction | null;
  server: ServerInfo | null;
  /** A job watch's last job document (null when never read); absent for an action. */
  job?: EcsJob | null;
  reason: string;
  detectedAt: string;
}

/** What a notifier's `on:` filter names: the outcomes, and `slow` for early warnings. */
export const NOTIFY_EVENTS = [...OUTCOMES, 'slow'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export const BATCH_NOTIFICATION_TYPES = {
  /** Every watch of the batch has an outcome. */
  finished: 'ecs.batch.finished',
  /** The batch is still unfinished `batchWindow` after its first watch began: what is known so far. */
  partial: 'ecs.batch.partial',
} as const;
export type BatchNotificationType = (typeof BATCH_NOTIFICATION_TYPES)[keyof typeof BATCH_NOTIFICATION_TYPES];

/** One watch of a batch digest; a watch that did not succeed carries its notification's facts in full. */
export interface BatchEntry extends Partial<Omit<Notification, 'type' | 'watch' | 'outcome' | 'reason' | 'detectedAt'>> {
  watch: Notification['watch'];
  /** null: still pending (a partial digest). */
  outcome: Outcome | null;
  reason: string;
  /** When its outcome was detected; null while pending. */
  detectedAt: string | null;
}

/** The contract's digest of a batch (`batch:` label on watches): one per notifier instead of one per watch. */
export interface BatchNotification {
  type: BatchNotificationType;
  batch: string;
  /** 1, then 2... when watches join a batch whose digest was already sent. */
  round: number;
  counts: Record<Outcome | 'pending', number>;
  /** Failures first (failure, timeout, not_found), then pending, then successes. */
  watches: BatchEntry[];
  detectedAt: string;
}

/** Whatever a notifier may be asked to send. */
export type OutgoingNotification = Notification | BatchNotification;
