import type {
  InstanceAction, InstanceActionEvent, InstanceActionSummary, MigrationRecord, ServerInfo, ServerState,
} from '../model.ts';
import { novaTimeMs } from '../cloud/time.ts';
import { deadStepSign, failedStepSign } from './deadStep.ts';
import { DONE_WITHOUT_EVENTS, eventsFinished, finishedBy } from './eventsFinished.ts';
import { formatDuration, lastLine } from './format.ts';
import { cloudDuration, judgeNotFound, pending as pendingJudgement, startOnThisClock, withDeadline, type Clock, type Judgement as AnyJudgement, type Verdict as AnyVerdict } from './judgement.ts';
import { inDownCell, remember, type WatchMemory } from './memory.ts';
import { stepsAsEnded } from './retries.ts';

/** A non-delete whose server stays gone this long after its events finished ends as a failure. */
export const SERVER_GONE_WINDOW_MS = 20_000;
const SERVER_GONE_MIN_ANSWERS = 3;

/** What one read of the action saw. */
export type ActionObservation =
  | { kind: 'found'; action: InstanceAction }
  /** The API's own not-found answer (Nova's itemNotFound, Huawei's Ecs.0114). */
  | { kind: 'not_found'; message: string }
  /** Anything else, a gateway's 404 included. */
  | { kind: 'error'; message: string };

/** What the read of the server saw; read only once the action's events have finished. */
export type ServerObservation =
  | { kind: 'not_read' }
  | { kind: 'found'; server: ServerState }
  /** The API's own not-found answer. */
  | { kind: 'gone' }
  /**
   * `refused`: the cloud's policy refuses to show the server (a 403 that is no HTML page), for good: a look
   * (Read) counts as one made (memory.ts); a read once the action's events have finished leaves them to judge
   * alone (judgedByEvents).
   */
  | { kind: 'error'; message: string; refused?: boolean };

/** The server's action list: read only when the server's state may belong to a newer action. */
export type ActionListObservation =
  | { kind: 'not_read' }
  | { kind: 'read'; actions: InstanceActionSummary[] }
  /** The API's own not-found answer: below 2.21 Nova hides a deleted server's actions. */
  | { kind: 'not_found'; message: string }
  /** Refused by the cloud's policy (a 403): Nova's policy for the list is its own, apart from showing one action's. */
  | { kind: 'refused'; message: string }
  | { kind: 'error'; message: string };

/** The server's migration records: read only for a move (live-migration, migrate, resize, evacuate). */
export type MigrationsObservation =
  | { kind: 'not_read' }
  | { kind: 'read'; migrations: MigrationRecord[] }
  /**
   * Refused: by Nova's policy (a JSON 403, `byPolicy`), or by something that may answer otherwise next
   * time (an HTML page, a 404 or 400 from in front of Nova); memory.ts counts the latter only when repeated.
   */
  | { kind: 'refused'; message: string; byPolicy: boolean }
  | { kind: 'error'; message: string };

/** Everything one poll has read so far. */
export interface Observations {
  action: ActionObservation;
  server: ServerObservation;
  /** Whether `action` was read after `server`, so that no step can have started and ended unseen between. */
  actionAfterServer: boolean;
  actions: ActionListObservation;
  migrations: MigrationsObservation;
}

export const NOTHING_READ: Observations = {
  action: { kind: 'error', message: 'not read' },
  server: { kind: 'not_read' },
  actionAfterServer: false,
  actions: { kind: 'not_read' },
  migrations: { kind: 'not_read' },
};

export interface VerdictInput extends Observations, Clock {
  /** The memory as it was before this poll. */
  memory: WatchMemory;
  /** The action document an earlier poll found, if any: evidence when this poll could not read it. */
  lastAction: InstanceAction | null;
  /**
   * When `action` was read (this host's clock; `now` when not given): a finish it shows happened by then,
   * not by the end of the reads after it (a slow or retried server read), which may come past the deadline.
   */
  actionReadAt?: number;
  /** When `server` was read, likewise: what it shows was seen then, not once the action list read after it answered. */
  serverReadAt?: number | undefined;
}

/**
 * The next read a poll should make: the server, the action again, the server's action list, its migrations;
 * `look`, the server too, looked at beside a long step in case it died (judgeRunning), which no verdict waits on.
 */
export type Read = 'server' | 'look' | 'action' | 'actions' | 'migrations';

export type Verdict = AnyVerdict<Read, WatchMemory>;

type Judgement = AnyJudgement<Read>;
const pending = pendingJudgement<Read>;

/**
 * The verdict of one poll: a pure function of what the API answered and what earlier polls saw, so that
 * every rule of the contract is tested as a table without servers. Nova has no "finished" flag: events
 * are created as each step starts, so "every event finished" can hold between two steps of a resize;
 * the server's task_state is what tells the action is over. When the verdict needs another read, it
 * says which (`next`); the caller reads it and asks again.
 */
export function decide(answered: VerdictInput): Verdict {
  const input = withStepsAsEnded(answered);
  const memory = remember(input.memory, input, input.now);
  const judged = judge(input, memory);
  const readFailed = failedRead(input.action) || failedRead(input.server) || failedRead(input.actions) || failedRead(input.migrations);
  const action = input.action.kind === 'found' ? input.action.action : null;
  const evidence = action ?? input.lastAction;
  // Where its events never finish, the end is when the server showed it, on this host's clock.
  const open = evidence === null ? null : openEndSeen(evidence, memory);
  // An action seen before that now answers Nova's 404 (judgeHiddenAction).
  const hidden = input.action.kind === 'not_found' && memory.everFound && input.lastAction !== null;
  const evidenceFinishedAt = open === null ? (evidence === null ? null : finishedBy(evidence)) : Date.parse(open.at);
  const ends = {
    // A hidden action ended as last seen, or, where its events never finished, when its server was first seen gone.
    finishedAt: action !== null ? finishedBy(action) : hidden ? evidenceFinishedAt : null,
    evidenceFinishedAt,
    // Nor is a hidden action read while its server is there: a blip across the deadline must not end it as a
    // timeout before it answers again.
    unread: input.action.kind === 'error' || (hidden && input.server.kind !== 'gone'),
    ...(open === null ? { seenAt: memory.finishSeenAt === null ? null : Date.parse(memory.finishSeenAt) } : { ended: open.ended, onThisClock: true }),
  };
  return withDeadline(judged, input, ends, readFailed, memory);
}

/**
 * Whether an action whose server Nova's policy refuses to show is judged by its events alone: each one
 * visible and finished. Hidden (below 2.51), or none (a delete, a resetState), only the server tells the end.
 */
export function judgedByEvents(action: InstanceAction): boolean {
  return action.events !== undefined && action.events.length > 0 && eventsFinished(action);
}

/**
 * How long a step one service casts to another may take to start, its event written as it does: how long the
 * events must stay finished as they are before an action whose server is refused is judged by them, and a
 * live migration that nothing else verifies waits for its rollback event (rollbackWait).
 */
const CAST_STEP_STARTS_MS = 60_000;

/**
 * Events all finished, and the server Nova's policy refuses to show (os_compute_api:servers:show not granted,
 * the action's show granted): no read can confirm the end, so the events and the action's message judge it,
 * once they have stayed finished as they are for CAST_STEP_STARTS_MS, as a resize's next step, cast by the one
 * before, would have started by then; the reason says what was not checked and what to grant.
 */
function judgeUnshown(input: VerdictInput, memory: WatchMemory, action: InstanceAction, refusal: string): Judgement {
  const seenFor = memory.finishSeenAt === null ? 0 : input.now - Date.parse(memory.finishSeenAt);
  if (seenFor < CAST_STEP_STARTS_MS) {
    const left = formatDuration(CAST_STEP_STARTS_MS - seenFor);
    return pending(`${action.action}: events finished; showing the server is refused (${refusal}): judged by its events once they have stayed so for ${formatDuration(CAST_STEP_STARTS_MS)}, ${left} more`, { confirming: true });
  }
  return settle(input, memory, action, null, NO_OWNERS, refusal);
}

/** Whether a read failed: a look the cloud refuses for good is an answer, one made (memory.ts), which fails no poll. */
export function failedRead(
  observation: ActionObservation | ServerObservation | ActionListObservation | MigrationsObservation,
): observation is Extract<typeof observation, { kind: 'error' }> {
  return observation.kind === 'error' && !('refused' in observation && observation.refused === true);
}

/** The actions as their steps ended: each step retried under the request counted once, none left open for good (retries.ts). */
function withStepsAsEnded(input: VerdictInput): VerdictInput {
  const seen = input.action.kind === 'found' ? input.action.action : null;
  const action = seen === null ? null : stepsAsEnded(seen);
  const lastAction = input.lastAction === null ? null : stepsAsEnded(input.lastAction);
  if (action === seen && lastAction === input.lastAction) return input;
  return { ...input, action: action === null ? input.action : { kind: 'found', action }, lastAction };
}

function judge(input: VerdictInput, memory: WatchMemory): Judgement {
  const { action: seen } = input;
  if (seen.kind === 'not_found') {
    const last = input.lastAction;
    if (memory.everFound && last !== null) return judgeHiddenAction(input, memory, last, seen.message);
    const notFound = judgeNotFound<Read>(input.now, memory, { what: 'action', answer: '404', message: seen.message });
    return notFound.settled ? judgeUnscheduled(input, notFound, seen.message) : notFound;
  }
  if (seen.kind === 'error') {
    // What the last poll read had ended: its events, or an open step as the server showed (judgeRunning).
    const confirming = input.lastAction !== null && (eventsFinished(input.lastAction) || openEndSeen(input.lastAction, memory) !== null);
    return pending(`last poll failed: ${seen.message}`, { confirming, pollFailed: true });
  }
  const action = seen.action;
  const events = action.events;
  const name = action.action;
  const isDelete = name === 'delete';
  if (events !== undefined) {
    const running = runningEvents(events);
    if (running !== null) return judgeRunning(input, memory, action, running);
    // A delete is recorded without events when it is local (compute host down, server shelved-offloaded),
    // a resetState always; anything else without events has not started a step yet. A create may never
    // (judgeRunning); a restore of a server without a host never does (judgeEventlessRestore); nor does an
    // attach_interface that nova-api refused (judgeUncalledAttach).
    if (!eventsFinished(action)) {
      if (name === 'create') return judgeRunning(input, memory, action, null);
      if (name === 'restore') return judgeEventlessRestore(input, memory, action);
      return name === 'attach_interface' ? judgeUncalledAttach(input, action) : pending(`${name}: no event started yet`);
    }
  } else if (STATELESS_ACTIONS.has(name) && messageOf(action) === '') {
    const left = leftSinceStart(input, action, STATELESS_UNSEEN_MS);
    // Confirming: one that ran out its look before the deadline gets its verdict however late.
    if (left > 0) return pending(`${name}: its events are not visible at this microversion, and it sets no server state: an error it meets is recorded as the action's message, looked for ${formatDuration(left)} more`, { confirming: true });
  }
  // From here on every visible event has finished: only confirming reads are missing.
  const confirming = { confirming: true };
  const { server } = input;
  if (server.kind === 'not_read') return pending(`${name}: events finished`, { ...confirming, next: 'server', reading: '; reading the server' });
  if (server.kind === 'error' && server.refused === true && judgedByEvents(action)) return judgeUnshown(input, memory, action, server.message);
  if (server.kind === 'error') return pending(`${name}: events finished; the server read failed: ${server.message}`, { ...confirming, pollFailed: true });
  if (server.kind === 'gone') {
    // A delete ends with its server gone; an action that sets no state has its whole result in its events,
    // whatever became of the server after them (compute/api.py delete is allowed in any state).
    if (isDelete || STATELESS_ACTIONS.has(name)) return input.actionAfterServer ? settle(input, memory, action, null, NO_OWNERS) : pending(`${name}: server deleted`, { ...confirming, next: 'action', reading: '; reading the action again' });
    return judgeGoneServer(input, memory, action);
  }
  const info = server.server.info;
  if (inDownCell(info)) return pending(`${name}: server status UNKNOWN (its cell is unreachable)`, { ...confirming, pollFailed: true });
  // A lock or a volume call sets no state: whatever the server shows is another action's, older or newer.
  if (STATELESS_ACTIONS.has(name)) {
    if (!input.actionAfterServer) return pending(`${name}: server ${describeServer(info)}`, { ...confirming, next: 'action', reading: '; reading the action again' });
    return settle(input, memory, action, server.server, NO_OWNERS);
  }
  if (isDelete && events?.length === 0 && !DELETED_STATUSES.has(info.status)) {
    return pending(`delete: recorded without events; server still ${describeServer(info)}`);
  }
  let owners: Owners = NO_OWNERS;
  // A task state or ERROR may be a newer action's (delete and a few others start whatever the state);
  // where events are visible, they alone then judge the watched action.
  if ((info.taskState !== null || info.status === 'ERROR') && events !== undefined) {
    const list = input.actions;
    if (list.kind === 'not_read') return pending(`${name}: events finished, server ${describeServer(info)}`, { ...confirming, next: 'actions', reading: '; checking for a newer action' });
    if (list.kind === 'error' || list.kind === 'not_found') return pending(`${name}: events finished; the action list read failed: ${list.message}`, { ...confirming, pollFailed: true });
    owners = ownersRead(list, action, info);
  }
  if (owners.task === null && info.taskState !== null) {
    const left = failedStepSign(action, info);
    if (left === null) return pending(`${name}: server task_state ${info.taskState} ${afterStep(action)}`);
    // Nova sets ERROR and reverts a failing step's task state around the end of its event, as for a dead step.
    const errored = erroredFor(input, memory);
    if (errored < STALL_ERROR_WINDOW_MS) return pending(`${name}: events finished, server ${left} for ${formatDuration(errored)} (a failure once so for ${formatDuration(STALL_ERROR_WINDOW_MS)})`, confirming);
    const stuck = `the server has been ${left} for ${formatDuration(errored)} and no step runs: Nova left the task state when it set ERROR`;
    return { settled: true, outcome: 'failure', reason: describeFailure(action, failedEvents(action), messageOf(action), info, withOwnersUnknown(stuck, owners, info)) };
  }
  // A delete that started before the last event finished cut the action short, and Nova then ends the
  // step Success (manager.py _do_build_and_run_instance, _snapshot_instance catch the delete): only
  // the delete's end tells, as for a server deleted under the action.
  const deleting = owners.task?.action === 'delete' ? owners.task : null;
  const offset = deleting === null ? null : deleteOffset(action, deleting);
  if (deleting !== null && offset !== null && offset < 0) {
    return pending(`${name}: cut short by delete ${deleting.request_id}, started ${formatDuration(-offset)} before its last event finished; server ${describeServer(info)}`);
  }
  // Only a create sets vm_state building: while the server shows BUILD, its create has not ended.
  if (owners.status === null && info.status === 'BUILD') return pending(`${name}: server still ${describeServer(info)}`);
  // A confirmResize sets no task state (compute/api.py confirm_resize marks only its migration confirming):
  // while the server shows VERIFY_RESIZE, the step that leaves it active or stopped has not run
  // (manager.py _confirm_resize), which below 2.51 nothing else shows.
  if (owners.status === null && name === 'confirmResize' && info.status === 'VERIFY_RESIZE') return pending(`${name}: server still ${describeServer(info)}`);
  if (!input.actionAfterServer) return pending(`${name}: server ${describeServer(info)}`, { ...confirming, next: 'action', reading: '; reading the action again' });
  return settle(input, memory, action, server.server, owners);
}

/**
 * Where a task state stands after every event has finished: between two steps, or after a failed one. The
 * contract finishes an action only once its task state is cleared, and Nova's conductor leaves some for
 * good (rebuild_instance resets it only for the errors it lists: a scheduler call timing out leaves the
 * server REBUILD, task_state rebuilding, with rebuild_server Error), so such a watch ends as a
 * timeout: its reason says which step failed rather than that the next one is due.
 */
function afterStep(action: InstanceAction): string {
  const failed = failedEvents(action).map((e) => `${e.event} ${e.result ?? 'no result'}`);
  return failed.length === 0 ? '(between steps)' : `after a failed step (${failed.join(', ')}): finished once Nova clears it`;
}

/** The newer actions the server's task state and its status belong to; null where they are the watched action's. */
interface Owners {
  task: InstanceActionSummary | null;
  status: InstanceActionSummary | null;
  /** Why no newer action could be looked for (the action list refused), when none could. */
  unknown?: string;
}
const NO_OWNERS: Owners = { task: null, status: null };

/**
 * The owners the action list shows; refused for good (a policy), judged as if no newer action held the
 * server, as the contract reads the server, and the reason says that it could not be told (ownersUnknown).
 */
function ownersRead(list: Extract<ActionListObservation, { kind: 'read' | 'refused' }>, action: InstanceAction, info: ServerInfo): Owners {
  return list.kind === 'refused' ? { ...NO_OWNERS, unknown: list.message } : ownersOf(newerActions(list.actions, action), info);
}

function ownersUnknown(info: ServerInfo, refusal: string): string {
  return `whether the server's ${describeServer(info)} is a newer action's is not known: ${listRefused(refusal)}`;
}

/** A dead step's note, and that the server's state may be a newer action's when the list was refused. */
function withOwnersUnknown(note: string, owners: Owners, info: ServerInfo): string[] {
  return owners.unknown === undefined ? [note] : [note, ownersUnknown(info, owners.unknown)];
}

function listRefused(refusal: string): string {
  return `the action list is refused (${refusal})`;
}

/**
 * Actions Nova records that never set a task state or vm_state, so cannot own either: lock and unlock
 * change only `locked` (compute/api.py), trigger_crash_dump, extend_volume and the volume and interface
 * calls only call the driver (compute/manager.py), and force-complete and cancel act on a live migration
 * whose task state stays the migration's.
 */
const STATELESS_ACTIONS = new Set([
  'lock', 'unlock', 'trigger_crash_dump', 'extend_volume', 'attach_volume', 'detach_volume', 'swap_volume',
  'attach_interface', 'detach_interface', 'live_migration_force_complete', 'live_migration_cancel',
  // 2.97's shares: manager.py allow_share and deny_share only call the driver and Manila.
  'attach_share', 'detach_share',
]);

/**
 * How long a stateless action whose events are hidden (below 2.51, not an admin) is watched for an error:
 * nothing else tells its end. A step that fails sets the action's message to Error (db action_event_finish),
 * and may take minutes to: libvirt tries a detach 8 times 20 s apart, behind the instance's lock.
 */
const STATELESS_UNSEEN_MS = 5 * 60_000;

/** What is left of `windowMs` since the action started, on this host's clock; 0 once it has passed or the start is unreadable. */
function leftSinceStart(input: VerdictInput, action: InstanceAction, windowMs: number): number {
  const start = novaTimeMs(action.start_time);
  if (start === null) return 0;
  return Math.max(0, startOnThisClock(input, start) + windowMs - input.now);
}

/**
 * A restore without an event. nova-api restores a server that has no host itself, within the request that
 * records the action: vm_state active, no task state, no call to nova-compute and no event, ever (compute/api.py
 * restore). One with a host it gives the task state restoring before it casts to nova-compute, whose
 * restore_instance starts the event and clears that state within it. So a server no longer SOFT_DELETED and
 * with no task state, the action read after it still without an event, is the restore done.
 */
function judgeEventlessRestore(input: VerdictInput, memory: WatchMemory, action: InstanceAction): Judgement {
  const { server } = input;
  const waiting = 'restore: no event started yet';
  if (server.kind === 'not_read') return pending(waiting, { next: 'server', reading: '; reading the server, which a restore of a server without a host leaves restored at once' });
  if (server.kind === 'error' && server.refused !== true) return pending(`${waiting}; the server read failed: ${server.message}`, { pollFailed: true });
  if (server.kind !== 'found') return pending(waiting);
  const info = server.server.info;
  if (info.taskState !== null || info.status === 'SOFT_DELETED' || inDownCell(info)) return pending(`${waiting}; server ${describeServer(info)}`);
  if (!input.actionAfterServer) return pending(`restore: server ${describeServer(info)}`, { next: 'action', reading: '; reading the action again' });
  return settle(input, memory, action, server.server, NO_OWNERS);
}

/**
 * How long an attach_interface may show no event before it is taken as never having reached nova-compute.
 * nova-api calls nova-compute and waits for its answer (compute/rpcapi.py attach_interface, cctxt.call),
 * whose manager starts the event as it takes the call; nova-api gives up, answering its caller with an
 * error, after rpc_response_timeout: 60 s by default, a few minutes where operators raise it.
 */
const ATTACH_UNCALLED_MS = 10 * 60_000;

/**
 * An attach_interface without an event. nova-api records it before it checks the port (compute/api.py
 * attach_interface: show_port, the accelerator and compute version checks), and a refusal there (404 port
 * not found, 400) answers the caller with no event ever recorded and no message set.
 */
function judgeUncalledAttach(input: VerdictInput, action: InstanceAction): Judgement {
  if (novaTimeMs(action.start_time) === null) return pending('attach_interface: no event started yet');
  const left = leftSinceStart(input, action, ATTACH_UNCALLED_MS);
  if (left > 0) return pending(`attach_interface: no event started yet (a failure if none has in ${formatDuration(ATTACH_UNCALLED_MS)}, ${formatDuration(left)} more)`);
  const why = 'nova-api refused it before calling nova-compute (a port not found or not usable), or the call never reached nova-compute, which starts the event as it takes it';
  return { settled: true, outcome: 'failure', reason: `attach_interface failed: no event started in ${formatDuration(ATTACH_UNCALLED_MS)}: ${why}` };
}

/**
 * A task state belongs to the newest newer action that can set one. That action still runs, so the
 * status is older than it: Nova lets a delete, a hard reboot or a stop start on an ERROR server, and an
 * action that fails clears its task state as it sets ERROR (manager.py reverts_task_state). The status
 * then belongs to the newer action before it, if any, else to the watched one.
 */
function ownersOf(newer: InstanceActionSummary[], info: ServerInfo): Owners {
  const able = newer.filter((a) => !STATELESS_ACTIONS.has(a.action));
  if (info.taskState === null) return { task: null, status: able[0] ?? null };
  return { task: able[0] ?? null, status: able[1] ?? null };
}

/** An event running this long may have died with its compute service: the server is looked at then. */
const STALL_CHECK_AFTER_MS = 10 * 60_000;
/** And again this often while the event still runs. */
const STALL_CHECK_EVERY_MS = 5 * 60_000;
/** How long the server must show the sign of a dead step (deadStep.ts) beside the running event to be one. */
const STALL_ERROR_WINDOW_MS = 20_000;

/**
 * When the server first showed (on this host's clock) that the open step of an action whose events have not
 * all finished is over, and that end in words; null where it has not. The sign of a dead step, or, for a
 * delete or a create with no event, its 404 (judgeRunning): the end of an action whose events never finish.
 */
function openEndSeen(action: InstanceAction, memory: WatchMemory): { at: string; ended: string } | null {
  if (eventsFinished(action)) return null;
  if (memory.erroredSince !== null) return { at: memory.erroredSince, ended: 'the server showed the sign of a dead step' };
  const goneEnds = action.action === 'delete' || (action.action === 'create' && action.events?.length === 0);
  return goneEnds && memory.serverGoneSince !== null ? { at: memory.serverGoneSince, ended: 'the server answered 404' } : null;
}

/** How long the server has shown the sign it is remembered by (WatchMemory.erroredSince); 0 while it shows none. */
function erroredFor(input: VerdictInput, memory: WatchMemory): number {
  return memory.erroredSince === null ? 0 : input.now - Date.parse(memory.erroredSince);
}

/**
 * An action whose event is running, or (`running` null) that has not started its first. An event runs
 * until the compute service ends it, and one whose service stopped (crashed, restarted) during the step is
 * never ended: at its start nova-compute sets a server it was building or rebuilding to ERROR with no task
 * state, clears a snapshot's task state, rolls back a resize it finds migrating and clears its task state
 * (manager.py _init_instance, deadStep.ts), and the event stays open for good. A create may have no event
 * for good: the conductor sets the server ERROR when binding its accelerators fails, or destroys it when
 * it was deleted while scheduled (conductor/manager.py schedule_and_build_instances), before any compute
 * step. So once an event has run (or the action has waited for one) STALL_CHECK_AFTER_MS, the server is
 * looked at every STALL_CHECK_EVERY_MS; such a sign that is the watched action's and lasts
 * STALL_ERROR_WINDOW_MS (Nova sets ERROR a moment before a failing step ends its event) is a failure, as is
 * a server that stays gone under an action with no event. Anything else waits, as the contract has it, and
 * ends as timeout.
 */
function judgeRunning(input: VerdictInput, memory: WatchMemory, action: InstanceAction, running: string | null): Judgement {
  const name = action.action;
  const waiting = pending(`${name}: ${running === null ? 'no event started yet' : `${running} running`}`);
  if (STATELESS_ACTIONS.has(name)) return waiting;
  const since = running === null ? novaTimeMs(action.start_time) : oldestRunningStart(action);
  if (since === null) return waiting;
  const runFor = input.now - startOnThisClock(input, since);
  if (runFor < STALL_CHECK_AFTER_MS) return waiting;
  const step = running === null ? `no event started in ${formatDuration(runFor)}` : `${running} running for ${formatDuration(runFor)}`;
  const { server } = input;
  // Once the server has shown the end (a dead step's sign, a delete's 404), every poll looks again until it
  // has lasted; a deadline that comes meanwhile waits for those looks, as for any read confirming an end
  // seen in time (withDeadline).
  const confirming = openEndSeen(action, memory) !== null;
  if (server.kind === 'not_read') {
    const lastLook = memory.stallCheckedAt === null ? null : Date.parse(memory.stallCheckedAt);
    const due = confirming || lastLook === null || input.now - lastLook >= STALL_CHECK_EVERY_MS;
    return due ? pending(`${name}: ${step}`, { next: confirming ? 'server' : 'look', reading: '; looking at the server', confirming }) : waiting;
  }
  if (server.kind === 'gone') {
    if (running === null) return judgeGoneServer(input, memory, action);
    if (name === 'delete') return judgeDeleteLeftOpen(input, memory, action, running, runFor);
  }
  const doing = running === null ? 'no event started' : `${running} running`;
  const errored = erroredFor(input, memory);
  const signSeen = memory.erroredSince !== null;
  // Written only for the looks that fail: most polls of a long step reach here with nothing to say.
  const shown = () => `${name}: ${doing}; ${signSeen ? `the server showed the sign of a dead step ${formatDuration(errored)} ago` : `the server answered 404 (${goneAnswers(memory)})`}`;
  // A server in a down cell (2.69's stub, UNKNOWN) shows nothing of its state: a look that failed too.
  const unseen = server.kind === 'error' ? `failed: ${server.message}` : server.kind === 'found' && inDownCell(server.server.info) ? 'found its cell unreachable (status UNKNOWN)' : null;
  if (confirming && unseen !== null) return pending(`${shown()}, and looking at it again ${unseen}`, { confirming, pollFailed: true });
  // Not a delete: its server gone is a failed poll (gateways and cells blip), as the contract has it.
  if (signSeen && server.kind === 'gone') return pending(`${shown()}, and now answers 404 (${goneAnswers(memory)})`, { confirming, pollFailed: true });
  if (server.kind === 'error' && server.refused === true) return pending(`${name}: ${doing}; looking at the server was refused: ${server.message}`);
  if (server.kind !== 'found' || !signSeen) return waiting;
  const info = server.server.info;
  const sign = deadStepSign(action, info) ?? `${info.status} with no task state`;
  const list = input.actions;
  if (list.kind === 'not_read') return pending(`${name}: ${doing}, server ${sign}`, { next: 'actions', reading: '; checking for a newer action', confirming: true });
  if (list.kind === 'error' || list.kind === 'not_found') return pending(`${name}: ${doing}, server ${sign}; the action list read failed: ${list.message}`, { confirming: true, pollFailed: true });
  const owners = ownersRead(list, action, info);
  if (owners.status !== null) return waiting;
  if (errored < STALL_ERROR_WINDOW_MS) return pending(`${name}: ${doing}, server ${sign} for ${formatDuration(errored)} (a dead step once so for ${formatDuration(STALL_ERROR_WINDOW_MS)})`, { confirming: true });
  const dead =
    running === null
      ? `no event ever started (in ${formatDuration(runFor)}) and the server has been ${sign} for ${formatDuration(errored)}: Nova ended the ${name} before any step of it`
      : `${running} never finished (running ${formatDuration(runFor)}) and the server has been ${sign} for ${formatDuration(errored)}: its compute service likely stopped during the step`;
  return { settled: true, outcome: 'failure', reason: describeFailure(action, failedEvents(action).filter((e) => e.result !== null), messageOf(action), info, withOwnersUnknown(dead, owners, info)) };
}

/**
 * A delete whose event runs on while its server is gone. nova-compute restarted during the delete finishes
 * it at its start (manager.py _init_instance, task_state deleting) through _delete_instance, which no event
 * wraps, so the request's compute_terminate_instance stays open for good; so does a delete cut short by
 * its compute host going down, then done again locally. The server gone is the delete's outcome, once it
 * stays gone as for any other action (a blip of 404s is not).
 */
function judgeDeleteLeftOpen(input: VerdictInput, memory: WatchMemory, action: InstanceAction, running: string, runFor: number): Judgement {
  const span = serverGoneFor(input, memory);
  if (span === null) return pending(`delete: ${running} running for ${formatDuration(runFor)}, and the server answers 404 (${goneAnswers(memory)})`, { confirming: true });
  const notes = [`server deleted (not found for ${memory.serverGoneAnswers} polls over ${formatDuration(span)})`, `${running} never finished (running ${formatDuration(runFor)}): its compute service likely restarted during the delete, which finishes it without ending the event`];
  const failed = failedEvents(action).filter((e) => e.result !== null);
  const message = messageOf(action);
  if (failed.length > 0 || message !== '') return { settled: true, outcome: 'failure', reason: describeFailure(action, failed, message, null, notes) };
  return { settled: true, outcome: 'success', reason: `delete: ${notes.join('; ')}` };
}

/** When the longest-running event started (the API's clock); null when none runs or a time is unreadable. */
function oldestRunningStart(action: InstanceAction): number | null {
  let oldest: number | null = null;
  for (const e of action.events ?? []) {
    if (e.finish_time !== null) continue;
    const start = novaTimeMs(e.start_time);
    if (start === null) return null;
    oldest = oldest === null ? start : Math.min(oldest, start);
  }
  return oldest;
}

/** How long the server has answered 404, once it has for long enough to be an outcome rather than a blip; null before. */
function serverGoneFor(input: VerdictInput, memory: WatchMemory): number | null {
  const since = memory.serverGoneSince === null ? input.now : Date.parse(memory.serverGoneSince);
  const span = input.now - since;
  return memory.serverGoneAnswers >= SERVER_GONE_MIN_ANSWERS && span >= SERVER_GONE_WINDOW_MS ? span : null;
}

function goneAnswers(memory: WatchMemory): string {
  return `${memory.serverGoneAnswers} time${memory.serverGoneAnswers === 1 ? '' : 's'}`;
}

function judgeGoneServer(input: VerdictInput, memory: WatchMemory, action: InstanceAction): Judgement {
  const name = action.action;
  const span = serverGoneFor(input, memory);
  // Gateways and cells blip: only a server that stays gone is an outcome.
  const events = action.events?.length === 0 ? 'no event started' : 'events finished';
  if (span === null) return pending(`${name}: ${events} but the server answers 404 (${goneAnswers(memory)})`, { confirming: true, pollFailed: true });
  // The outcome is failure whatever the list shows; it can only tell who deleted the server, worth one read.
  if (input.actions.kind === 'not_read') return pending(`${name}: the server stays gone`, { confirming: true, next: 'actions', reading: '; looking for its delete' });
  const after = action.events?.length === 0 ? 'with no event started' : `after ${describeEvents(action)}`;
  const gone = `server deleted (not found for ${memory.serverGoneAnswers} polls over ${formatDuration(span)} ${after})`;
  const deletion = input.actions.kind === 'read' ? newerActions(input.actions.actions, action).findLast((a) => a.action === 'delete') : undefined;
  const notes = [gone, ...(deletion === undefined ? [] : [describeDeletion(action, deletion)])];
  const failed = failedEvents(action);
  const message = messageOf(action);
  if (failed.length > 0 || message !== '') return { settled: true, outcome: 'failure', reason: describeFailure(action, failed, message, null, notes) };
  return { settled: true, outcome: 'failure', reason: `${name} failed: ${notes.join('; ')}` };
}

/**
 * Who deleted the server, and when against the watched action: a delete started before its last event
 * finished cut it short (a build then ends its event Success: manager.py _do_build_and_run_instance
 * catches InstanceNotFound); one started after it leaves the action's own end unseen.
 */
function describeDeletion(action: InstanceAction, deletion: InstanceActionSummary): string {
  const offset = deleteOffset(action, deletion);
  const by = `by delete ${deletion.request_id}`;
  if (offset === null) return by;
  return offset < 0
    ? `${by}, started ${formatDuration(-offset)} before its last event finished`
    : `${by}, started ${formatDuration(offset)} after its last event finished: the server's state after the ${action.action} was not seen`;
}

/** When a delete started against the action's last finish (negative: before it); null when a time is missing. */
function deleteOffset(action: InstanceAction, deletion: InstanceActionSummary): number | null {
  const started = novaTimeMs(deletion.start_time);
  const finished = finishedBy(action);
  return started === null || finished === null ? null : started - finished;
}

/**
 * An action seen before that now answers Nova's 404. Below 2.21 nova looks the server up without
 * read_deleted before it shows an action (instance_actions.py _get_instance), and an archived server is
 * not found at any version: an action disappears with its server. So the server is read. Found, the 404
 * is a blip. Gone, a delete is done, judged by its events as last seen, and so is an action that sets no
 * state last seen with its events finished; any other action ended with its server deleted under it, once
 * the server stays gone as for an action still shown (judgeGoneServer).
 */
function judgeHiddenAction(input: VerdictInput, memory: WatchMemory, last: InstanceAction, message: string): Judgement {
  const { server } = input;
  const name = last.action;
  const isDelete = name === 'delete';
  // Confirming as for an action still shown: the deadline then goes by the events as last seen, so one
  // that finished in time gets its verdict however late (an unfinished one has no finish and times out).
  const confirming = { confirming: true };
  if (server.kind === 'not_read') return pending(`${name}: the action is no longer found (${message})`, { ...confirming, next: 'server', reading: '; reading the server' });
  if (server.kind === 'error') return pending(`${name}: the action is no longer found; the server read failed: ${server.message}`, { ...confirming, pollFailed: true });
  if (server.kind === 'found') return judgeNotFound(input.now, memory, { what: 'action', answer: '404', message });
  const events = last.events;
  const seen = events === undefined ? 'its events not visible' : `${events.filter((e) => e.finish_time !== null).length}/${events.length} events finished`;
  const note = `its action is no longer shown (below microversion 2.21, or archived), last seen with ${seen}`;
  const byEvents = isDelete || (STATELESS_ACTIONS.has(name) && events !== undefined && eventsFinished(last));
  if (!byEvents) {
    const span = serverGoneFor(input, memory);
    // Past the deadline, one last seen running has no finish in time to wait for (withDeadline), unless its
    // server was first seen gone in time: that end is then confirmed, as a dead step's sign is.
    const deadlineAt = input.trackingSince + input.deadlineMs;
    const late = input.now >= deadlineAt && !eventsFinished(last) && Date.parse(memory.serverGoneSince ?? '') >= deadlineAt;
    if (span === null) return pending(`${name}: the action and the server answer 404 (${goneAnswers(memory)}); ${note}`, { ...confirming, pollFailed: !late });
    return { settled: true, outcome: 'failure', reason: `${name} failed: server deleted (not found for ${memory.serverGoneAnswers} polls over ${formatDuration(span)}); ${note}` };
  }
  const failed = (events ?? []).filter((e) => e.result !== null && e.result !== 'Success');
  const actionMessage = messageOf(last);
  if (failed.length > 0 || actionMessage !== '') return { settled: true, outcome: 'failure', reason: describeFailure(last, failed, actionMessage, null, [note]) };
  return { settled: true, outcome: 'success', reason: `${name}: server deleted; ${note}` };
}

/**
 * An action not found for long enough to be `not_found`, unless its server has no action recorded: Nova
 * records a create only once the scheduler has placed it (conductor/manager.py
 * schedule_and_build_instances), and until then shows the server from its build request, BUILD with
 * task_state scheduling. A scheduler backlogged by a wave of creates takes minutes. Between the placing and
 * the recording, the conductor checks the quota again (`_recheck_quota`, parallel creates near the limit)
 * and claims the resources (fill_provider_mapping): when either fails it sets the server ERROR with a fault
 * (`_cleanup_build_artifacts`) and records nothing, for good, and the create has failed. Any action listed
 * means the create is recorded, and the watched id is not it.
 */
function judgeUnscheduled(input: VerdictInput, notFound: Judgement, message: string): Judgement {
  const { server, actions } = input;
  if (server.kind === 'not_read') return pending(`not visible yet (404: ${message})`, { next: 'server', reading: '; reading the server, which a create not yet scheduled shows alone' });
  if (server.kind === 'error') return pending(`not visible yet (404: ${message}); the server read failed: ${server.message}`, { pollFailed: true });
  // Nova deletes a server not yet on a host within the request, and lets a second delete of one being
  // deleted go through: neither records an action (compute/api.py _delete), so the id is never found.
  if (server.kind === 'gone') return { ...notFound, reason: `${notFound.reason}; its server is not found either: deleted (a delete of a server not yet on a host, or during another delete, records no action, and has done its work) or the server id is wrong` };
  if (server.kind !== 'found') return notFound;
  const info = server.server.info;
  const scheduling = info.status === 'BUILD' && info.taskState === 'scheduling';
  const refused = info.status === 'ERROR' && info.taskState === null;
  if (!scheduling && !refused) return notFound;
  if (actions.kind === 'not_read') return pending(`not visible yet (404: ${message}); server ${describeServer(info)}`, { next: 'actions', reading: ': checking for a recorded action' });
  if (actions.kind === 'error') return pending(`not visible yet (404: ${message}); the action list read failed: ${actions.message}`, { pollFailed: true });
  if (actions.kind === 'refused') {
    // Refused for good (a policy): what the server shows is all there is. While it is being scheduled its
    // create is not recorded yet, as with a list that shows none; once not, the id is not found, as the
    // contract has it, and the reason says what the server showed, which a list would have made a failure.
    const unknown = `whether an action is recorded for it is not known: ${listRefused(actions.message)}`;
    if (scheduling) return pending(`not visible yet (404: ${message}): the server is BUILD (task_state scheduling), and Nova records its create once the scheduler has placed it; ${unknown}`);
    const fault = info.fault?.message.trim();
    return { ...notFound, reason: `${notFound.reason}; its server is ERROR${fault ? ` (${fault})` : ''} with no task state, as Nova leaves one whose create the conductor refused before recording it (its second quota check, or its resource claim, failed), but ${unknown}` };
  }
  if (actions.kind !== 'read' || actions.actions.length > 0) return notFound;
  if (refused) {
    const why = 'no action is recorded for the server: Nova set it ERROR before recording its create (the conductor\'s second quota check, or its resource claim, failed)';
    return { settled: true, outcome: 'failure', reason: describeFailure({ action: 'create' }, [], '', info, [why]) };
  }
  return pending(`not visible yet (404: ${message}): the server is BUILD (task_state scheduling) with no action recorded, and Nova records its create once the scheduler has placed it`);
}


/** Status of a server that a delete has dealt with: Nova shows DELETED only with read_deleted, SOFT_DELETED with reclaim. */
const DELETED_STATUSES = new Set(['DELETED', 'SOFT_DELETED']);

/**
 * The end of an action whose events (where visible) have finished and whose server has no task of it
 * in flight: its events, its message and (unless a newer action owns it) the server's state decide,
 * and for a move the record of the move.
 */
function settle(input: VerdictInput, memory: WatchMemory, action: InstanceAction, server: ServerState | null, owners: Owners, refused: string | null = null): Judgement {
  const failed = failedEvents(action);
  const message = messageOf(action);
  const info = owners.status === null ? (server?.info ?? null) : null;
  const unshown = refused === null ? null : `server not checked: showing it is refused (${refused}), so an ERROR it was left in is not seen: grant these credentials the right to show a server (Nova's os_compute_api:servers:show)`;
  const notes: string[] = [];
  if (server !== null) {
    const { status, task } = owners;
    if (status !== null) notes.push(`the server's ${server.info.status} belongs to a newer action (${describeAction(status)})`);
    if (task !== null) notes.push(`its task_state ${server.info.taskState} belongs to a newer action (${describeAction(task)})`);
    if (owners.unknown !== undefined) notes.push(ownersUnknown(server.info, owners.unknown));
  }
  const stateless = STATELESS_ACTIONS.has(action.action);
  if (stateless && server !== null && (server.info.status === 'ERROR' || server.info.taskState !== null)) {
    notes.push(`the server's ${describeServer(server.info)} is not the ${action.action}'s, which sets no state`);
  }
  const errorIsFailure = info?.status === 'ERROR' && !DONE_WITHOUT_EVENTS.has(action.action) && !stateless;
  if (failed.length > 0 || message !== '' || errorIsFailure) {
    return { settled: true, outcome: 'failure', reason: describeFailure(action, failed, message, stateless ? null : info, unshown === null ? notes : [unshown, ...notes]) };
  }
  if (stateless && action.events === undefined && novaTimeMs(action.start_time) !== null) notes.push(`no error recorded in the ${formatDuration(STATELESS_UNSEEN_MS)} after it started`);
  if ((server !== null || refused !== null) && MOVE_TYPES.has(action.action)) {
    const move = judgeMove(input, memory, action, server);
    if (move.kind === 'pending') return move.judgement;
    if (move.kind === 'failed') return { settled: true, outcome: 'failure', reason: `${action.action} failed: ${move.reason}` };
    notes.push(move.note);
  }
  const where = server === null ? (unshown ?? 'server deleted') : `server ${server.info.status}`;
  return { settled: true, outcome: 'success', reason: describeSuccess(action, actionDuration(action, input, memory), where, notes) };
}

/** Nova's action name → the migration_type of the record it writes. */
const MOVE_TYPES = new Map([
  ['live-migration', 'live-migration'],
  ['migrate', 'migration'],
  ['resize', 'resize'],
  ['evacuate', 'evacuation'],
]);
// nova/objects/migration.py and the compute manager: statuses a move passes through, and how it ends.
const MOVE_IN_PROGRESS = new Set(['accepted', 'queued', 'preparing', 'running', 'post-migrating', 'pre-migrating', 'migrating']);
const MOVE_FAILED = new Set(['failed', 'error', 'cancelled']);

type MoveJudgement =
  | { kind: 'pending'; judgement: Judgement }
  | { kind: 'failed'; reason: string }
  | { kind: 'done'; note: string };

/**
 * A move's events can all say Success while it failed: Nova ends `compute_live_migration` when it hands
 * the job to a thread, and a failed job is rolled back with no Error event, no fault and the server
 * ACTIVE on its source host. What shows the truth is the migration record (admin), or from 2.62 the
 * event's hostId against the server's. `memory` is after this poll: whether a refusal counts yet.
 */
function judgeMove(input: VerdictInput, memory: WatchMemory, action: InstanceAction, server: ServerState | null): MoveJudgement {
  const name = action.action;
  const seen = input.migrations;
  if (seen.kind === 'not_read') {
    // A record the cloud refuses is not asked for again while the wait for a rollback event lasts.
    const waiting = memory.migrationsReadable === false ? rollbackWait(input, action, server) : null;
    return { kind: 'pending', judgement: waiting ?? pending(`${name}: events finished`, { confirming: true, next: 'migrations', reading: '; reading its migration record' }) };
  }
  if (seen.kind === 'error') return { kind: 'pending', judgement: pending(`${name}: the migration record read failed: ${seen.message}`, { confirming: true, pollFailed: true }) };
  if (seen.kind === 'refused' && memory.migrationsReadable !== false) {
    const why = `${name}: the migration record read was refused (${seen.message}); asking again before judging without it`;
    return { kind: 'pending', judgement: pending(why, { confirming: true, pollFailed: true }) };
  }
  if (seen.kind === 'read') {
    const record = migrationOf(seen.migrations, action);
    if (record !== null) {
      const what = `migration ${record.id} ${record.status}${hosts(record)}`;
      if (MOVE_IN_PROGRESS.has(record.status)) {
        const abandoned = abandonedFor(input, action, record, server);
        if (abandoned !== null) return { kind: 'failed', reason: `${what}: abandoned, the server ${abandoned}` };
        return { kind: 'pending', judgement: pending(`${name}: events finished, ${what}`) };
      }
      if (MOVE_FAILED.has(record.status)) return { kind: 'failed', reason: `${what}: rolled back` };
      return { kind: 'done', note: what };
    }
  }
  // Readable but without a record of this move (purged, or created on a clock behind the API's).
  const records = seen.kind === 'read' ? 'no migration record of it' : 'os-migrations (admin)';
  const without = seen.kind === 'read' ? `result not verifiable: ${records}` : `result not verifiable without ${records}`;
  if (name === 'live-migration') {
    // Seen by anyone from 2.51, where neither the record (admin) nor a comparable hostId (2.62) may be.
    const undone = undoneBy(action);
    if (undone !== null) return { kind: 'failed', reason: undone };
    const compared = compareHosts(action, server);
    if (compared === 'same') return { kind: 'failed', reason: 'rolled back: the server is still on the host compute_live_migration ran on (same hostId)' };
    if (compared === 'moved') return { kind: 'done', note: 'moved to another host (hostId changed)' };
    const why = server === null ? 'the server is not shown' : compared === 'other-project' ? 'the event\'s hostId is hashed with another project' : 'no event hostId below microversion 2.62';
    const waiting = rollbackWait(input, action, server);
    if (waiting !== null) return { kind: 'pending', judgement: waiting };
    return { kind: 'done', note: `${without} or a comparable event hostId (${why})` };
  }
  return { kind: 'done', note: without };
}

/**
 * The event a live migration's destination records as it cleans up after the migration failed or was cancelled:
 * only the source's _rollback_live_migration calls it (compute/manager.py), where the destination holds what
 * to clean up (not a shared instance path); a rolled-back migration otherwise leaves every event Success.
 */
const ROLLBACK_EVENT = 'compute_rollback_live_migration_at_destination';

/**
 * The event the source records in the live migration's own action when its nova-compute, started again
 * during the migration, aborts it (manager.py _init_instance, _reset_live_migration: the migration marked
 * error, the task state cleared, the server left on its source). A context without a project writes it
 * into the server's newest action (db action_event_start); a user's cancel writes it into its own action.
 */
const ABORT_EVENT = 'compute_live_migration_abort';

/** Why the live migration's own events show it undone, or null where they do not. */
function undoneBy(action: InstanceAction): string | null {
  const events = action.events ?? [];
  if (events.some((e) => e.event === ROLLBACK_EVENT)) return `rolled back: the destination ran ${ROLLBACK_EVENT}`;
  if (events.some((e) => e.event === ABORT_EVENT)) return `aborted: its source's nova-compute started again during the migration and ran ${ABORT_EVENT}`;
  return null;
}

/**
 * The wait of a live migration that nothing else verifies (no record, no comparable hostId) for its
 * destination's rollback event, until CAST_STEP_STARTS_MS after Nova last saved the server (its `updated`):
 * the source casts rollback_live_migration_at_destination, then clears the task state (manager.py
 * _rollback_live_migration), and the destination starts the event only as it takes the cast, so a server
 * seen ACTIVE with no task state may show it a moment later. null once over, where the server says no time,
 * and where events are not shown.
 */
function rollbackWait(input: VerdictInput, action: InstanceAction, server: ServerState | null): Judgement | null {
  // Below 2.51 a non-admin sees no events, that one neither.
  const events = action.events;
  if (action.action !== 'live-migration' || server === null || events === undefined || undoneBy(action) !== null) return null;
  // Past the deadline, a finish in time waits for what confirms it: a server saved again and again (a cloud's
  // periodic saves, a controller's clock ahead) would hold the watch for good. A minute is the wait's own.
  if (input.now >= input.trackingSince + input.deadlineMs + CAST_STEP_STARTS_MS) return null;
  const compared = compareHosts(action, server);
  const ago = savedAgo(input, server);
  if (compared === 'same' || compared === 'moved' || ago === null || ago >= CAST_STEP_STARTS_MS) return null;
  const due = CAST_STEP_STARTS_MS - ago;
  const wait = `${action.action}: events finished, server ${describeServer(server.info)}; looking ${formatDuration(due)} more for ${ROLLBACK_EVENT}, which the source casts to the destination before it clears the task state of a migration it rolls back`;
  return pending(wait, { confirming: true });
}

/** How long before the action was read (this host's clock) Nova last saved the server, by its `updated`; null where it says no time. */
function savedAgo(input: VerdictInput, server: ServerState): number | null {
  const updated = novaTimeMs(server.updated ?? null);
  return updated === null ? null : (input.actionReadAt ?? input.now) - startOnThisClock(input, updated);
}

/** A live migration's record statuses from before it runs: created by the conductor, set by the source until it starts the migration. */
const LIVE_MIGRATION_NOT_RUN = new Set(['accepted', 'queued', 'preparing']);

/**
 * Why a live migration whose record has not run yet is abandoned, or null. A source nova-compute started
 * again while a migration of it was queued or preparing finds the server migrating, clears its task state
 * and aborts only a running migration (manager.py _init_instance, _reset_live_migration): the record keeps
 * its status for good, the server ACTIVE on its source. Every other end of such a record sets its status
 * just after it clears the task state (_rollback_live_migration), so a server saved (its `updated`) without
 * a task state CAST_STEP_STARTS_MS before is no migration still to run.
 */
function abandonedFor(input: VerdictInput, action: InstanceAction, record: MigrationRecord, server: ServerState | null): string | null {
  if (action.action !== 'live-migration' || !LIVE_MIGRATION_NOT_RUN.has(record.status) || server === null || server.info.taskState !== null) return null;
  const since = savedAgo(input, server);
  if (since === null || since < CAST_STEP_STARTS_MS) return null;
  return `has had no task state for ${formatDuration(since)}: its source's nova-compute likely started again before the migration ran, which clears the task state and leaves such a record as it is`;
}

/**
 * How far before the action's start its move's record may be created: the action's start is nova-api's
 * clock (context.timestamp), the record's nova-conductor's (conductor/manager.py _live_migrate,
 * migration.create()), and the two hosts' clocks may be apart.
 */
const MIGRATION_CLOCK_SLACK_MS = 60_000;

/**
 * The record of the watched move: the first of its type created once the action had started, else (a
 * conductor whose clock is behind the API's) the last one created within MIGRATION_CLOCK_SLACK_MS before.
 */
function migrationOf(records: MigrationRecord[], action: InstanceAction): MigrationRecord | null {
  const type = MOVE_TYPES.get(action.action);
  const start = novaTimeMs(action.start_time);
  const candidates = records
    .filter((r) => r.migration_type === undefined || r.migration_type === type)
    .map((r) => ({ record: r, created: novaTimeMs(r.created_at) }));
  if (start === null) return candidates.sort((a, b) => (a.created ?? Infinity) - (b.created ?? Infinity))[0]?.record ?? null;
  const since = candidates.filter(({ created }) => created !== null && created >= start).sort((a, b) => a.created! - b.created!);
  if (since.length > 0) return since[0]!.record;
  const justBefore = candidates.filter(({ created }) => created !== null && created >= start - MIGRATION_CLOCK_SLACK_MS).sort((a, b) => b.created! - a.created!);
  return justBefore[0]?.record ?? null;
}

function hosts(record: MigrationRecord): string {
  return record.source_compute && record.dest_compute ? ` (${record.source_compute} → ${record.dest_compute})` : '';
}

/**
 * Both hostIds are sha224(project + host): the event's with the action's project, the server's with its
 * owner's; they compare only when the two are the same project.
 */
function compareHosts(action: InstanceAction, server: ServerState | null): 'same' | 'moved' | 'other-project' | 'unknown' {
  const event = action.events?.find((e) => e.event === 'compute_live_migration');
  const eventHost = typeof event?.['hostId'] === 'string' && event['hostId'] !== '' ? event['hostId'] : null;
  if (eventHost === null || server === null || server.hostId === null) return 'unknown';
  const actionProject = typeof action['project_id'] === 'string' && action['project_id'] !== '' ? action['project_id'] : server.projectId;
  if (actionProject !== server.projectId) return 'other-project';
  return eventHost === server.hostId ? 'same' : 'moved';
}

/** Newer actions of the same server, newest first: those the list shows before the watched one. */
function newerActions(list: InstanceActionSummary[], action: InstanceAction): InstanceActionSummary[] {
  const index = list.findIndex((a) => a.request_id === action.request_id);
  if (index !== -1) return list.slice(0, index);
  const start = novaTimeMs(action.start_time);
  return start === null ? [] : list.filter((a) => (novaTimeMs(a.start_time) ?? -Infinity) > start);
}

/** The names of the events not finished, `a, b`, null for none; asked at every poll of a running action. */
function runningEvents(events: InstanceActionEvent[]): string | null {
  let names: string | null = null;
  for (const e of events) if (e.finish_time === null) names = names === null ? e.event : `${names}, ${e.event}`;
  return names;
}

/** The action's `message`, which Nova sets to Error when a step fails and never clears; '' for none. */
function messageOf(action: InstanceAction): string {
  return action.message?.trim() ?? '';
}

function failedEvents(action: InstanceAction): InstanceActionEvent[] {
  return (action.events ?? []).filter((e) => e.result !== 'Success');
}

function describeAction(a: InstanceActionSummary): string {
  return `${a.action} ${a.request_id}`;
}

function describeServer(info: ServerInfo): string {
  return info.taskState === null ? info.status : `${info.status} (task_state ${info.taskState})`;
}

function describeEvents(action: InstanceAction | null): string {
  const events = action?.events;
  if (events === undefined) return 'its events finished';
  if (events.length === 0) return 'no events';
  return `${events.length} event${events.length === 1 ? '' : 's'} finished`;
}

function describeSuccess(action: InstanceAction, took: string | null, where: string, notes: string[]): string {
  const events = action.events;
  const steps =
    events === undefined ? 'finished (events not visible at this microversion)'
    : events.length === 0 ? (action.action === 'delete' ? 'recorded without events (a local delete)' : 'done without events, as Nova records it')
    : `${events.length} event${events.length === 1 ? '' : 's'} succeeded`;
  return [`${action.action}: ${steps}${took ? ` in ${took}` : ''}, ${where}`, ...notes].join('; ');
}

function describeFailure(action: Pick<InstanceAction, 'action'>, failed: InstanceActionEvent[], message: string, server: ServerInfo | null, notes: string[]): string {
  const parts = failed.map((e) => {
    const why = failureDetail(e);
    return `${e.event} ${e.result ?? 'no result'}${why ? ` (${why})` : ''}`;
  });
  if (message && failed.length === 0) parts.push(`action message "${message}"`);
  const fault = server?.fault?.message.trim();
  if (server?.status === 'ERROR') parts.push(`server ERROR${fault ? `: ${fault}` : ''}`);
  else if (fault) parts.push(`server fault: ${fault}`);
  return `${action.action} failed: ${[...parts, ...notes].join('; ')}`;
}

/** The exception's message (2.84's `details`) and the traceback's last line, each where the API shows it. */
function failureDetail(e: InstanceActionEvent): string {
  const details = typeof e['details'] === 'string' ? e['details'].trim() : '';
  // Nova stores only the stack frames, so the last line is often code rather than the exception: with the
  // message beside it, it says where the step failed.
  const traceback = e.traceback ? `traceback ends: ${lastLine(e.traceback)}` : '';
  return [details, traceback].filter(Boolean).join('; ');
}

function actionDuration(action: InstanceAction, input: VerdictInput, memory: WatchMemory): string | null {
  const finishes = (action.events ?? []).map((e) => novaTimeMs(e.finish_time)).filter((t): t is number => t !== null);
  const start = novaTimeMs(action.start_time);
  if (start === null || finishes.length === 0) return null;
  // A step that ended before its action began (null): the API's host and the compute host's clocks disagree.
  const took = cloudDuration(input, start, Math.max(...finishes), memory.finishSeenAt === null ? input.now : Date.parse(memory.finishSeenAt));
  return took === null ? null : formatDuration(took);
}
