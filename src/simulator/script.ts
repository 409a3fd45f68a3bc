// A scripted instance action and what Nova's database holds for it at any moment.
//
// Times in a script are relative to the moment it was added; everything here is a pure function of
// the clock, so tests move time (fake Date, or the simulator's `now` option) instead of sleeping.
// The snapshots mirror Nova's tables (instance_actions, instance_actions_events, instances,
// instance_faults); shaping them into API JSON per microversion and role is render.ts's job.

import { randomUUID } from 'node:crypto';

export type EventResult = 'Success' | 'Error';

/**
 * One step of an action. Nova records an event when the step starts (finish_time and result null)
 * and completes it when the step ends, so the next step's event does not exist until it starts.
 */
export interface StepScript {
  /**
   * Nova's event name, e.g. `compute_prep_resize` or `compute__do_build_and_run_instance`. An earlier step's
   * name makes this step a retry of it (a rescheduled build, a destination check tried on the next host).
   */
  event: string;
  durationMs: number;
  /** Default `Success`. With `Error` the action's `message` becomes "Error" when the step ends. */
  result?: EventResult;
  /**
   * Shown to admins once an `Error` step ends. Nova stores `''.join(traceback.format_tb(tb))`: the
   * stack frames only, without the "Traceback" header and without the exception line (that goes
   * to `details`). Defaults to a generic frame list.
   */
  traceback?: string;
  /** The exception message of an `Error` step (admin, 2.84+). Default: Nova's generic message. */
  details?: string;
  /** The server's task_state from the start of this step on; default: unchanged. */
  taskState?: string;
  /** The host that runs the step (admin `host`, everyone's `hostId` from 2.62). Default: the script's. */
  host?: string;
  /**
   * The service running the step stopped during it: its event is never finished, while the script goes on
   * after `durationMs` as Nova's other services go on without it (a live migration's source rolls it back
   * when its call to the destination's pre_live_migration fails).
   */
  leftOpen?: boolean;
}

/** The server's fault once the action has left it in ERROR. */
export interface FaultScript {
  /** Default 500. Non-admins see `details` only when the code is not 500, as in Nova. */
  code?: number;
  message: string;
  details?: string;
}

/**
 * The migration record a move writes (GET /os-migrations), and where it leaves the server. Nova creates
 * the record (accepted, or pre-migrating for a cold move), runs the move, and on success puts the server on the
 * destination host before it marks the record completed; a failed live migration is rolled back: the
 * server stays on its source host, task_state is cleared, and only the record says `failed` (no Error
 * event, no fault).
 */
export interface MigrationScript {
  /** Default from the action: live-migration, migration (migrate), resize, evacuation (evacuate). */
  type?: string;
  /** Default the script's host. */
  sourceHost?: string;
  destHost: string;
  /**
   * The record's status once the move is over. Default completed (live-migration), finished (migration,
   * resize) or done (evacuation); `failed`, `error` or `cancelled` is a move rolled back.
   */
  finalStatus?: string;
  /** How long after task_state clears the record keeps its in-progress status. Default 0. */
  statusLagMs?: number;
}

/**
 * An instance action to simulate. All times are milliseconds after {@link Simulator.addAction}.
 *
 * Timeline: the action is invisible (404) until `visibleAfterMs`; the first step starts at
 * `firstStepAfterMs`; each further step starts `gapMs` after the previous one ended; the server
 * keeps its running status and task_state until `taskStateClearsAfterMs` after the last step ended,
 * then takes its final status (or disappears, with `deletesServer`). Steps run as scripted whatever
 * their results: a failing step stops nothing, like a script author decides.
 */
export interface ActionScript {
  projectId: string;
  serverId: string;
  /** Default: a generated `req-<uuid>`, returned by addAction. */
  requestId?: string;
  /** Nova's action name: create, delete, reboot, resize, migrate, rebuild, stop, start, live-migration, ... */
  action: string;
  /** Default `sim-<first 8 characters of serverId>`. */
  serverName?: string;
  /** Default: a fixed user id. */
  userId?: string;
  /** Default `compute-1`. */
  host?: string;
  /** 404 until then: a create is recorded only once the scheduler has placed it. Default 0. */
  visibleAfterMs?: number;
  /** When the first step starts; until then the action has an empty `events` list. Default `visibleAfterMs`. */
  firstStepAfterMs?: number;
  /** An empty list is an action that never gets events (Nova has such actions, e.g. `resetState`). */
  steps: readonly StepScript[];
  /** Pause between one step's end and the next one's start. Default 0. */
  gapMs?: number;
  /** Server status while the action runs. Default per action, e.g. BUILD for create, RESIZE for resize. */
  status?: string;
  /** OS-EXT-STS:vm_state while the action runs. Default per action. */
  vmState?: string;
  /** OS-EXT-STS:task_state before a step sets its own. Default per action, e.g. `scheduling` for create. */
  taskState?: string | null;
  /** Status once the action is over. Default per action (ACTIVE, VERIFY_RESIZE, SHUTOFF...), or ERROR with a fault. */
  finalStatus?: string;
  /** vm_state once the action is over. Default derived from finalStatus. */
  finalVmState?: string;
  /** The fault once the action is over; implies finalStatus ERROR unless given (Nova shows faults only in ERROR and DELETED). */
  fault?: FaultScript;
  /** How long task_state stays set after the last event finished. Default 0. */
  taskStateClearsAfterMs?: number;
  /** The server is gone (404) once the action is over. Default true for `delete`. */
  deletesServer?: boolean;
  /** The last step never ends: its event stays unfinished and the task_state set. */
  neverFinishes?: boolean;
  /**
   * The project of whoever requested the action: the action's `project_id`, with which its events'
   * hostIds are hashed. Default the server's; an admin working from another project differs.
   */
  actionProjectId?: string;
  /** A move's migration record (live-migration, migrate, resize, evacuate). */
  migration?: MigrationScript;
}

export interface EventSnapshot {
  event: string;
  startTime: number;
  finishTime: number | null;
  result: EventResult | null;
  traceback: string | null;
  details: string | null;
  host: string;
}

export interface ActionSnapshot {
  action: string;
  requestId: string;
  instanceUuid: string;
  projectId: string;
  userId: string;
  startTime: number;
  updatedAt: number;
  message: string | null;
  /** Oldest first, as created; Nova's API lists them newest first. */
  events: EventSnapshot[];
}

export interface MigrationSnapshot {
  id: number;
  uuid: string;
  type: string;
  status: string;
  instanceUuid: string;
  sourceHost: string;
  destHost: string;
  userId: string;
  projectId: string;
  createdAt: number;
  updatedAt: number | null;
}

export interface FaultSnapshot {
  code: number;
  message: string;
  details: string | null;
  created: number;
}

export interface ServerSnapshot {
  id: string;
  name: string;
  projectId: string;
  userId: string;
  status: string;
  vmState: string;
  taskState: string | null;
  /** instance.host; null while a new server waits for the scheduler to place it (no step started). */
  host: string | null;
  created: number;
  updated: number;
  fault: FaultSnapshot | null;
}

interface PlannedStep {
  event: string;
  result: EventResult;
  traceback: string | null;
  details: string | null;
  taskState: string | undefined;
  host: string;
  startAt: number;
  /** Infinity for the last step of a script that never finishes. */
  endAt: number;
  leftOpen: boolean;
}

/** A script fixed to absolute times: what the simulator keeps and evaluates on every request. */
export interface ActionPlan {
  readonly requestId: string;
  readonly action: string;
  readonly projectId: string;
  readonly serverId: string;
  readonly serverName: string;
  readonly userId: string;
  readonly host: string;
  readonly addedAt: number;
  readonly visibleAt: number;
  readonly steps: readonly PlannedStep[];
  readonly running: { readonly status: string; readonly vmState: string; readonly taskState: string | null };
  readonly final: { readonly status: string; readonly vmState: string };
  readonly fault: FaultScript | undefined;
  /** When task_state clears and the final status shows; Infinity when the action never finishes. */
  readonly settledAt: number;
  readonly deletesServer: boolean;
  readonly actionProjectId: string;
  readonly migration: PlannedMigration | undefined;
}

interface PlannedMigration {
  readonly id: number;
  readonly uuid: string;
  readonly type: string;
  readonly sourceHost: string;
  readonly destHost: string;
  readonly createdAt: number;
  /** `created` until then, `running` after: its type's MIGRATION_PROGRESS. */
  readonly runningAt: number;
  readonly progress: { readonly created: string; readonly running: string };
  readonly finalStatus: string;
  readonly finalAt: number;
  readonly rolledBack: boolean;
}

/** Nova's migration_type per action, and the status a successful move ends with. */
const MIGRATION_TYPES: Readonly<Record<string, { type: string; done: string }>> = {
  'live-migration': { type: 'live-migration', done: 'completed' },
  migrate: { type: 'migration', done: 'finished' },
  resize: { type: 'resize', done: 'finished' },
  evacuate: { type: 'evacuation', done: 'done' },
};

/**
 * The statuses a record of each migration_type shows before and while its move runs. A cold move's record
 * is created pre-migrating by the conductor (conductor/tasks/migrate.py) and is migrating while the source
 * copies the disk (compute/manager.py resize_instance); an evacuation's is created accepted by the API
 * (compute/api.py evacuate) and claimed pre-migrating on the destination (resource_tracker.py
 * rebuild_claim); a live migration's is accepted, then running. None of the others is ever `running`.
 */
const MIGRATION_PROGRESS: Readonly<Record<string, { created: string; running: string }>> = {
  'live-migration': { created: 'accepted', running: 'running' },
  migration: { created: 'pre-migrating', running: 'migrating' },
  resize: { created: 'pre-migrating', running: 'migrating' },
  evacuation: { created: 'accepted', running: 'pre-migrating' },
};
const ROLLED_BACK = new Set(['failed', 'error', 'cancelled']);

interface ActionDefaults {
  status: string;
  vmState: string;
  taskState: string | null;
  finalStatus: string;
  finalVmState: string;
}

// Status and states Nova shows for the common actions (nova/compute/vm_states.py, task_states.py
// and the status mapping in nova/api/openstack/common.py).
const ACTION_DEFAULTS: Readonly<Record<string, ActionDefaults>> = {
  create: { status: 'BUILD', vmState: 'building', taskState: 'scheduling', finalStatus: 'ACTIVE', finalVmState: 'active' },
  delete: { status: 'ACTIVE', vmState: 'active', taskState: 'deleting', finalStatus: 'DELETED', finalVmState: 'deleted' },
  reboot: { status: 'REBOOT', vmState: 'active', taskState: 'reboot_started', finalStatus: 'ACTIVE', finalVmState: 'active' },
  rebuild: { status: 'REBUILD', vmState: 'active', taskState: 'rebuilding', finalStatus: 'ACTIVE', finalVmState: 'active' },
  resize: { status: 'RESIZE', vmState: 'active', taskState: 'resize_prep', finalStatus: 'VERIFY_RESIZE', finalVmState: 'resized' },
  migrate: { status: 'RESIZE', vmState: 'active', taskState: 'resize_prep', finalStatus: 'VERIFY_RESIZE', finalVmState: 'resized' },
  'live-migration': { status: 'MIGRATING', vmState: 'active', taskState: 'migrating', finalStatus: 'ACTIVE', finalVmState: 'active' },
  stop: { status: 'ACTIVE', vmState: 'active', taskState: 'powering-off', finalStatus: 'SHUTOFF', finalVmState: 'stopped' },
  start: { status: 'SHUTOFF', vmState: 'stopped', taskState: 'powering-on', finalStatus: 'ACTIVE', finalVmState: 'active' },
  // Each of these sets a task state in compute/api.py as it records the action (snapshot, backup, pause,
  // unpause, suspend, resume, rescue, unrescue, shelve, unshelve, evacuate), which the step keeps until
  // its event ends: none runs with a server that shows no task state.
  createImage: { status: 'ACTIVE', vmState: 'active', taskState: 'image_snapshot_pending', finalStatus: 'ACTIVE', finalVmState: 'active' },
  createBackup: { status: 'ACTIVE', vmState: 'active', taskState: 'image_backup', finalStatus: 'ACTIVE', finalVmState: 'active' },
  pause: { status: 'ACTIVE', vmState: 'active', taskState: 'pausing', finalStatus: 'PAUSED', finalVmState: 'paused' },
  unpause: { status: 'PAUSED', vmState: 'paused', taskState: 'unpausing', finalStatus: 'ACTIVE', finalVmState: 'active' },
  suspend: { status: 'ACTIVE', vmState: 'active', taskState: 'suspending', finalStatus: 'SUSPENDED', finalVmState: 'suspended' },
  resume: { status: 'SUSPENDED', vmState: 'suspended', taskState: 'resuming', finalStatus: 'ACTIVE', finalVmState: 'active' },
  rescue: { status: 'ACTIVE', vmState: 'active', taskState: 'rescuing', finalStatus: 'RESCUE', finalVmState: 'rescued' },
  unrescue: { status: 'RESCUE', vmState: 'rescued', taskState: 'unrescuing', finalStatus: 'ACTIVE', finalVmState: 'active' },
  // shelved_offload_time 0 (the default): the server is offloaded as the shelve ends.
  shelve: { status: 'ACTIVE', vmState: 'active', taskState: 'shelving', finalStatus: 'SHELVED_OFFLOADED', finalVmState: 'shelved_offloaded' },
  unshelve: { status: 'SHELVED_OFFLOADED', vmState: 'shelved_offloaded', taskState: 'unshelving', finalStatus: 'ACTIVE', finalVmState: 'active' },
  // common.py _STATE_MAP: an active server rebuilding is REBUILD, an evacuated one too.
  evacuate: { status: 'REBUILD', vmState: 'active', taskState: 'rebuilding', finalStatus: 'ACTIVE', finalVmState: 'active' },
  // compute/api.py confirm_resize marks only the migration confirming: the server stays VERIFY_RESIZE, with no
  // task state, until the step ends it; revert_resize, set_admin_password, shelve_offload and restore (of a
  // server with a host) set these task states as they record the action.
  confirmResize: { status: 'VERIFY_RESIZE', vmState: 'resized', taskState: null, finalStatus: 'ACTIVE', finalVmState: 'active' },
  revertResize: { status: 'REVERT_RESIZE', vmState: 'resized', taskState: 'resize_reverting', finalStatus: 'ACTIVE', finalVmState: 'active' },
  changePassword: { status: 'PASSWORD', vmState: 'active', taskState: 'updating_password', finalStatus: 'ACTIVE', finalVmState: 'active' },
  shelveOffload: { status: 'SHELVED', vmState: 'shelved', taskState: 'shelving_offloading', finalStatus: 'SHELVED_OFFLOADED', finalVmState: 'shelved_offloaded' },
  restore: { status: 'SOFT_DELETED', vmState: 'soft-delete', taskState: 'restoring', finalStatus: 'ACTIVE', finalVmState: 'active' },
};

/** For actions without an entry above: a server that stays ACTIVE and has no task_state. */
const OTHER_ACTION: ActionDefaults = {
  status: 'ACTIVE',
  vmState: 'active',
  taskState: null,
  finalStatus: 'ACTIVE',
  finalVmState: 'active',
};

const VM_STATE_OF_STATUS: Readonly<Record<string, string>> = {
  ACTIVE: 'active',
  ERROR: 'error',
  SHUTOFF: 'stopped',
  VERIFY_RESIZE: 'resized',
  DELETED: 'deleted',
};

const DEFAULT_USER_ID = '0ba1c8b4e7e34b1a9b1a4a0c2f6d1e21';
const DEFAULT_HOST = 'compute-1';

/** NovaException's message when nothing better is known. */
const DEFAULT_ERROR_DETAILS = 'An unknown exception occurred.';

/** The frames every compute manager failure passes through; enough for a reader to recognise. */
const DEFAULT_TRACEBACK = [
  '  File "/usr/lib/python3/dist-packages/nova/compute/utils.py", line 1439, in decorated_function',
  '    return function(self, context, *args, **kwargs)',
  '  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 214, in decorated_function',
  '    with excutils.save_and_reraise_exception():',
  '  File "/usr/lib/python3/dist-packages/oslo_utils/excutils.py", line 227, in __exit__',
  '    self.force_reraise()',
  '  File "/usr/lib/python3/dist-packages/oslo_utils/excutils.py", line 200, in force_reraise',
  '    raise self.value',
  '  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 204, in decorated_function',
  '    return function(self, context, *args, **kwargs)',
  '',
].join('\n');

/** A script's time in ms, `fallback` when left out, refused when negative or not finite (action and job scripts). */
export function duration(name: string, value: number | undefined, fallback: number): number {
  const ms = value ?? fallback;
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${ms}`);
  return ms;
}

/**
 * Validates a script and fixes it to absolute times, `addedAt` being the clock when it was added;
 * `sequence` numbers the simulator's plans (a migration record's id).
 */
export function planAction(script: ActionScript, addedAt: number, sequence = 1): ActionPlan {
  const defaults = ACTION_DEFAULTS[script.action] ?? OTHER_ACTION;
  const visibleAfter = duration('visibleAfterMs', script.visibleAfterMs, 0);
  const firstStepAfter = duration('firstStepAfterMs', script.firstStepAfterMs, visibleAfter);
  if (firstStepAfter < visibleAfter) {
    throw new RangeError('firstStepAfterMs must not be before visibleAfterMs: events cannot exist before their action');
  }
  if (script.neverFinishes === true && script.steps.length === 0) {
    throw new RangeError('neverFinishes needs at least one step to leave unfinished');
  }
  const gap = duration('gapMs', script.gapMs, 0);
  const host = script.host ?? DEFAULT_HOST;

  const steps: PlannedStep[] = [];
  let startAt = addedAt + firstStepAfter;
  script.steps.forEach((step, index) => {
    const last = index === script.steps.length - 1;
    const endAt = last && script.neverFinishes === true ? Infinity : startAt + duration(`steps[${index}].durationMs`, step.durationMs, 0);
    const failed = step.result === 'Error';
    steps.push({
      event: step.event,
      result: step.result ?? 'Success',
      traceback: failed ? (step.traceback ?? DEFAULT_TRACEBACK) : null,
      details: failed ? (step.details ?? DEFAULT_ERROR_DETAILS) : null,
      taskState: step.taskState,
      host: step.host ?? host,
      startAt,
      endAt,
      leftOpen: step.leftOpen === true,
    });
    startAt = endAt + gap;
  });

  const lastEnd = steps.at(-1)?.endAt ?? addedAt + firstStepAfter;
  const settledAt = lastEnd + duration('taskStateClearsAfterMs', script.taskStateClearsAfterMs, 0);
  const finalStatus = script.finalStatus ?? (script.fault === undefined ? defaults.finalStatus : 'ERROR');
  const finalVmState =
    script.finalVmState ??
    (finalStatus === defaults.finalStatus ? defaults.finalVmState : (VM_STATE_OF_STATUS[finalStatus] ?? finalStatus.toLowerCase()));

  return {
    requestId: script.requestId ?? `req-${randomUUID()}`,
    action: script.action,
    projectId: script.projectId,
    serverId: script.serverId,
    serverName: script.serverName ?? `sim-${script.serverId.slice(0, 8)}`,
    userId: script.userId ?? DEFAULT_USER_ID,
    host,
    addedAt,
    visibleAt: addedAt + visibleAfter,
    steps,
    running: {
      status: script.status ?? defaults.status,
      vmState: script.vmState ?? defaults.vmState,
      taskState: script.taskState === undefined ? defaults.taskState : script.taskState,
    },
    final: { status: finalStatus, vmState: finalVmState },
    fault: script.fault,
    settledAt,
    deletesServer: script.deletesServer ?? script.action === 'delete',
    actionProjectId: script.actionProjectId ?? script.projectId,
    migration: script.migration === undefined ? undefined : planMigration(script, script.migration, steps, host, addedAt + firstStepAfter, settledAt, sequence),
  };
}

function planMigration(
  script: ActionScript,
  migration: MigrationScript,
  steps: readonly PlannedStep[],
  host: string,
  firstStepAt: number,
  settledAt: number,
  id: number,
): PlannedMigration {
  const known = MIGRATION_TYPES[script.action];
  const type = migration.type ?? known?.type;
  if (type === undefined) throw new RangeError(`migration.type is needed for action ${script.action}`);
  const finalStatus = migration.finalStatus ?? known?.done ?? 'completed';
  return {
    id,
    uuid: randomUUID(),
    type,
    sourceHost: migration.sourceHost ?? host,
    destHost: migration.destHost,
    createdAt: firstStepAt,
    runningAt: steps[0]?.endAt ?? firstStepAt,
    // A type a script names beyond Nova's four goes as a live migration's record does.
    progress: MIGRATION_PROGRESS[type] ?? MIGRATION_PROGRESS['live-migration']!,
    finalStatus,
    finalAt: settledAt + duration('migration.statusLagMs', migration.statusLagMs, 0),
    rolledBack: ROLLED_BACK.has(finalStatus),
  };
}

/** The migration record at `now`, or undefined while the action has none (yet). */
export function migrationAt(plan: ActionPlan, now: number): MigrationSnapshot | undefined {
  const m = plan.migration;
  if (m === undefined || now < m.createdAt) return undefined;
  const [status, updatedAt] = now >= m.finalAt ? [m.finalStatus, m.finalAt] : now >= m.runningAt ? [m.progress.running, m.runningAt] : [m.progress.created, null];
  return {
    id: m.id,
    uuid: m.uuid,
    type: m.type,
    status,
    instanceUuid: plan.serverId,
    sourceHost: m.sourceHost,
    destHost: m.destHost,
    userId: plan.userId,
    projectId: plan.actionProjectId,
    createdAt: m.createdAt,
    updatedAt,
  };
}

/** Where the server runs: a move keeps it on its source until it succeeds; otherwise the latest step's host. */
function hostAt(plan: ActionPlan, started: readonly PlannedStep[], settled: boolean): string {
  const m = plan.migration;
  if (m !== undefined) return settled && !m.rolledBack ? m.destHost : m.sourceHost;
  return (settled ? plan.steps.at(-1)?.host : started.at(-1)?.host) ?? plan.host;
}

/** The action record at `now`, or undefined while it is not yet visible. */
export function actionAt(plan: ActionPlan, now: number): ActionSnapshot | undefined {
  if (now < plan.visibleAt) return undefined;
  const started = plan.steps.filter((step) => step.startAt <= now);
  const ended = started.filter((step) => step.endAt <= now && !step.leftOpen);
  // Nova finishes an event by its name (db action_event_finish updates the `.first()` row of it): a step
  // retried under the same request id writes each end into the first row, its own row staying open. An end
  // without an error leaves the traceback and details an earlier one wrote there.
  const events = started.map((step): EventSnapshot => {
    const first = started.find((s) => s.event === step.event) === step;
    const ends = first ? ended.filter((s) => s.event === step.event) : [];
    const last = ends.at(-1);
    const failed = ends.findLast((s) => s.result === 'Error');
    return {
      event: step.event,
      startTime: step.startAt,
      finishTime: last?.endAt ?? null,
      result: last?.result ?? null,
      traceback: failed?.traceback ?? null,
      details: failed?.details ?? null,
      host: step.host,
    };
  });
  // Nova moves updated_at on every event start and finish (nova/db/main/api.py action_event_*).
  const changes = events.flatMap((event) => (event.finishTime === null ? [event.startTime] : [event.startTime, event.finishTime]));
  return {
    action: plan.action,
    requestId: plan.requestId,
    instanceUuid: plan.serverId,
    projectId: plan.actionProjectId,
    userId: plan.userId,
    startTime: plan.addedAt,
    updatedAt: Math.max(plan.addedAt, ...changes),
    // Set by every failed end and never cleared, also where a retry's end wrote over the failed row.
    message: ended.some((step) => step.result === 'Error') ? 'Error' : null,
    events,
  };
}

/**
 * The record Nova keeps of a server an action deleted: what a `changes-since` listing shows of it.
 * `createdAt` as for {@link serverAt}.
 */
export function deletedServerAt(plan: ActionPlan, createdAt = plan.addedAt): ServerSnapshot {
  return {
    id: plan.serverId,
    name: plan.serverName,
    projectId: plan.projectId,
    userId: plan.userId,
    created: createdAt,
    status: 'DELETED',
    vmState: 'deleted',
    taskState: null,
    host: plan.host,
    updated: plan.settledAt,
    fault: null,
  };
}

/**
 * The server as the action leaves it at `now`, or undefined once the action has deleted it. `createdAt` is
 * the server's instance.created_at, which no later action moves: its first action's start (default this one's).
 */
export function serverAt(plan: ActionPlan, now: number, createdAt = plan.addedAt): ServerSnapshot | undefined {
  const base = {
    id: plan.serverId,
    name: plan.serverName,
    projectId: plan.projectId,
    userId: plan.userId,
    created: createdAt,
  };
  if (now >= plan.settledAt) {
    if (plan.deletesServer) return undefined;
    return {
      ...base,
      status: plan.final.status,
      vmState: plan.final.vmState,
      taskState: null,
      host: hostAt(plan, plan.steps, true),
      updated: plan.settledAt,
      fault:
        plan.fault === undefined
          ? null
          : { code: plan.fault.code ?? 500, message: plan.fault.message, details: plan.fault.details ?? null, created: plan.settledAt },
    };
  }
  const started = plan.steps.filter((step) => step.startAt <= now);
  const taskState = started.findLast((step) => step.taskState !== undefined)?.taskState ?? plan.running.taskState;
  const lastChange = Math.max(plan.addedAt, ...started.map((step) => (step.endAt <= now ? step.endAt : step.startAt)));
  return {
    ...base,
    status: plan.running.status,
    vmState: plan.running.vmState,
    taskState,
    // A server being created has no host until its first step starts: the scheduler has not placed it yet.
    host: plan.action === 'create' && started.length === 0 ? null : hostAt(plan, started, false),
    updated: lastChange,
    fault: null,
  };
}
