// The verdict table: one row per situation Nova's code paths produce (named in each row), as the
// contract's "When a watch ends" states them. Rows give what a poll read and what earlier polls saw.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isResourceNotFoundCode } from '../../src/cloud/ApiError.ts';
import { apiMessageFromText } from '../../src/cloud/errors/apiMessage.ts';
import { instanceActionDocumentSchema, serverDocumentSchema, toServerState } from '../../src/cloud/schemas.ts';
import {
  decide, NOTHING_READ, SERVER_GONE_WINDOW_MS, type ActionListObservation, type ActionObservation,
  type MigrationsObservation, type Observations, type Read, type ServerObservation, type Verdict,
} from '../../src/watch/verdict.ts';
import type { WatchMemory } from '../../src/watch/memory.ts';
import { NOT_FOUND_WINDOW_MS, cloudSetting } from '../../src/watch/judgement.ts';
import type { CloudClockSetting } from '../../src/state/types.ts';
import type { InstanceAction, InstanceActionEvent, InstanceActionSummary, MigrationRecord, ServerInfo } from '../../src/model.ts';
import { fixtureJson, instanceActionSamples } from '../cloud/helpers.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const HOUR = 3_600_000;
const PROJECT = 'p-owner';
const START = '2026-11-26T10:00:00.000000';
const DONE = '2026-11-26T10:00:09.500000';

function ev(event: string, finish: string | null, result: string | null = finish ? 'Success' : null, extra: Record<string, unknown> = {}): InstanceActionEvent {
  return { event, start_time: '2026-11-26T10:00:01.000000', finish_time: finish, result, ...extra };
}
function doc(name: string, events: InstanceActionEvent[] | undefined, extra: Partial<InstanceAction> = {}): InstanceAction {
  return { action: name, request_id: 'req-1', message: null, start_time: START, project_id: PROJECT, ...(events ? { events } : {}), ...extra };
}
const found = (action: InstanceAction): ActionObservation => ({ kind: 'found', action });
const server = (status: string, taskState: string | null = null, fault: ServerInfo['fault'] = null, hostId: string | null = 'host-a'): ServerObservation => ({
  kind: 'found',
  server: { info: { status, taskState, fault }, hostId, projectId: PROJECT },
});
/** A server as Nova last saved it at `updated` (its document's time, the cloud's clock). */
const savedAt = (status: string, updated: string): ServerObservation => ({
  kind: 'found',
  server: { info: { status, taskState: null, fault: null }, hostId: 'host-a', projectId: PROJECT, updated },
});
const gone: ServerObservation = { kind: 'gone' };
const list = (...actions: Array<[string, string, string]>): ActionListObservation => ({
  kind: 'read',
  actions: actions.map(([action, request_id, start_time]): InstanceActionSummary => ({ action, request_id, start_time })),
});
const onlyWatched = list(['resize', 'req-1', START]);
const migrations = (...records: Array<Partial<MigrationRecord>>): MigrationsObservation => ({
  kind: 'read',
  migrations: records.map((r, i) => ({ id: i + 1, status: 'completed', migration_type: 'live-migration', created_at: '2026-11-26T10:00:02.000000', ...r })),
});
const refused: MigrationsObservation = { kind: 'refused', message: '403 forbidden', byPolicy: true };
const pageRefused: MigrationsObservation = { kind: 'refused', message: '403 Forbidden: an HTML page ("Access Denied")', byPolicy: false };
const NOTHING: WatchMemory = { everFound: true, firstNotFoundAt: null, notFoundAnswers: 0, serverGoneSince: null, serverGoneAnswers: 0, migrationsReadable: null, migrationsRefusedAnswers: 0, stallCheckedAt: null, erroredSince: null, finishSeenAt: null };
const iso = (ms: number) => new Date(ms).toISOString();
const nova404 = { kind: 'not_found', message: 'Action req-1 not found' } as const;
/** An action that sets no state, its one event done, on a server ERROR from an older failure: its event alone judges it. */
const statelessOnErrored = (action: string, event: string, nova: string) => ({
  name: `a ${action} of a server ERROR: the same`,
  nova,
  action: found(doc(action, [ev(event, DONE)])),
  server: server('ERROR', null, { code: 500, message: 'older failure' }),
  fresh: true,
  expect: { final: true, outcome: 'success', reason: new RegExp(`the server's ERROR is not the ${action}'s, which sets no state$`) },
} as const);
/** Never found, Nova's own 404s for two minutes: the not-found window is over at this poll. */
const notFoundWindowOver = { everFound: false, firstNotFoundAt: iso(T0 + 1000 - NOT_FOUND_WINDOW_MS), notFoundAnswers: 2 };
/** conductor/manager.py _cleanup_build_artifacts after _recheck_quota failed: ERROR with the quota's fault. */
const quotaRefused = server('ERROR', null, { code: 403, message: 'Quota exceeded for instances: Requested 1, but already used 10 of 10 instances' });

interface Row {
  name: string;
  /** Where Nova produces it. */
  nova: string;
  action: ActionObservation;
  server?: ServerObservation;
  fresh?: boolean;
  actions?: ActionListObservation;
  migrations?: MigrationsObservation;
  memory?: Partial<WatchMemory>;
  lastAction?: InstanceAction;
  elapsed?: number;
  deadline?: number;
  /** How far the cloud's clock is ahead of this host's. */
  cloudAhead?: number;
  /** How far the cloud's own clock was set since the action's start was seen (one setting of the record's cloudClockSettings). */
  cloudSet?: number;
  /** From when the cloud stamps on its clock as set (ISO on that clock; the setting's at). */
  cloudSetAt?: string;
  /** Times from `cloudSetAt` on seen before a setting back (the setting's seenBefore). */
  seenBefore?: string[];
  /** Several settings, the oldest first (the record's cloudClockSettings), for `cloudSet`, `cloudSetAt` and `seenBefore`. */
  settings?: CloudClockSetting[];
  /** Since when polls have failed, before this one (ms after tracking began). */
  failingSince?: number;
  expect:
    | { final: false; next?: Read | null; pollFailed?: boolean; reason?: RegExp }
    | { final: true; outcome: string; reason?: RegExp };
}

const imageGone = 'Unshelve attempted but the image img-1 cannot be found.';
const imageGoneFault = { code: 500, message: imageGone };
const unshelveImageGone = doc('unshelve', [ev('get_image_info', DONE, 'Error', { details: imageGone })], { message: 'Error' });

// A finished step, its action done, the server read first and the action read again after it.
const settledResize = (events: InstanceActionEvent[]) => ({ action: found(doc('resize', events)), fresh: true });
/** A reboot whose events finished in time, its server's read failing since a minute in. */
const finishedServerUnread = { action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])), server: { kind: 'error', message: 'GET server → 503' } as const, failingSince: 60_000 };
const liveMigration = (eventHost = 'host-a') =>
  found(doc('live-migration', [
    ev('conductor_live_migrate_instance', DONE),
    ev('compute_check_can_live_migrate_destination', DONE, 'Success', { hostId: 'host-b' }),
    ev('compute_live_migration', DONE, 'Success', { hostId: eventHost }),
  ]));

const rows: Row[] = [
  // --- steps and events (nova/compute/utils.py EventReporter, wrap_instance_event) ---
  { name: 'events [] (action recorded, no step started yet)', nova: 'compute/api.py _record_action_start before the RPC cast', action: found(doc('resize', [])), expect: { final: false, next: null } },
  {
    name: 'an attach_interface with no event yet: it waits',
    nova: 'compute/api.py attach_interface records the action, then calls nova-compute (rpcapi cctxt.call), whose event starts as it takes the call',
    action: found(doc('attach_interface', [])),
    elapsed: 9 * 60_000,
    expect: { final: false, next: null, reason: /^attach_interface: no event started yet \(a failure if none has in 10 min, 1 min more\)$/ },
  },
  {
    name: '... none in 10 min: nova-api refused it before calling nova-compute, a failure',
    nova: 'compute/api.py attach_interface: _record_action_start before show_port (PortNotFound: 404 to the caller); no event, no message, ever',
    action: found(doc('attach_interface', [])),
    elapsed: 10 * 60_000,
    expect: { final: true, outcome: 'failure', reason: /^attach_interface failed: no event started in 10 min: nova-api refused it before calling nova-compute/ },
  },
  {
    name: '... its start unreadable: it waits (then timeout)',
    nova: '(same), a start_time this client cannot parse',
    action: found(doc('attach_interface', [], { start_time: 'not a time' })),
    elapsed: HOUR,
    expect: { final: false, next: null, reason: /^attach_interface: no event started yet$/ },
  },
  {
    name: 'a detach_interface with no event waits: nova-api casts it, and nova-compute takes it whenever it runs',
    nova: 'compute/rpcapi.py detach_interface: cctxt.cast',
    action: found(doc('detach_interface', [])),
    elapsed: HOUR,
    expect: { final: false, next: null, reason: /^detach_interface: no event started yet$/ },
  },
  { name: 'first event still running', nova: 'EventReporter.__enter__: event_start, finish_time null', action: found(doc('resize', [ev('compute_prep_resize', null)])), expect: { final: false, next: null } },
  { name: 'every present event finished: read the server first', nova: 'a resize adds its next event only when that step starts', action: found(doc('resize', [ev('compute_prep_resize', DONE)])), expect: { final: false, next: 'server' } },
  {
    name: 'between two steps: events finished, task_state set, no newer action',
    nova: 'resize_instance sets task_state resize_migrating before its event',
    action: found(doc('resize', [ev('compute_prep_resize', DONE)])),
    server: server('RESIZE', 'resize_migrating'),
    actions: onlyWatched,
    expect: { final: false, next: null, reason: /task_state resize_migrating \(between steps\)/ },
  },
  {
    name: 'a reboot that failed with the guest still running: a success, as nothing the API shows tells otherwise',
    nova: 'compute/manager.py _reboot_instance: the guest RUNNING, it records a fault and swallows the error (ctxt.reraise = False), its event Success, the server ACTIVE; views/servers.py shows a fault only for ERROR or DELETED',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])),
    server: server('ACTIVE'),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^reboot: 1 event succeeded in 9\.5 s, server ACTIVE$/ },
  },
  {
    name: 'a shelve whose snapshot failed on the compute host: its event Error, the task state reverted, a failure',
    nova: 'compute/manager.py shelve_instance (reverts_task_state, wrap_instance_event): driver.snapshot raises in _shelve_instance, vm_state left ACTIVE',
    action: found(doc('shelve', [ev('compute_shelve_instance', DONE, 'Error')], { message: 'Error' })),
    server: server('ACTIVE'),
    actions: list(['shelve', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^shelve failed: compute_shelve_instance Error$/ },
  },
  {
    name: '... whose offload failed after the snapshot (shelved_offload_time 0): SHELVED, its event Error, a failure',
    nova: 'compute/manager.py _shelve_instance saves vm_state SHELVED, then runs _shelve_offload_instance within the same event',
    action: found(doc('shelve', [ev('compute_shelve_instance', DONE, 'Error')], { message: 'Error' })),
    server: server('SHELVED'),
    actions: list(['shelve', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^shelve failed: compute_shelve_instance Error$/ },
  },
  {
    name: '... whose snapshot image nova-api failed to create: no event and its task state for good, a timeout',
    nova: 'compute/api.py shelve: task_state shelving and _record_action_start before compute_utils.create_image, whose error goes to the caller, nothing reverting the task state; the same as a shelve cast to a compute service that is down',
    action: found(doc('shelve', [])),
    server: server('ACTIVE', 'shelving'),
    deadline: HOUR,
    elapsed: 2 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /shelve: no event started yet/ },
  },
  {
    name: 'an unshelve the scheduler found no host for: its event Error, SHELVED_OFFLOADED again, a failure',
    nova: 'conductor/manager.py unshelve_instance: NoValidHost raised inside EventReporter schedule_instances, then task_state None and return',
    action: found(doc('unshelve', [ev('schedule_instances', DONE, 'Error')], { message: 'Error' })),
    server: server('SHELVED_OFFLOADED'),
    actions: list(['unshelve', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^unshelve failed: schedule_instances Error$/ },
  },
  {
    name: 'an unshelve whose snapshot image is gone, first seen: ERROR with its task state after a failed step, confirmed over 20 s',
    nova: 'conductor/manager.py unshelve_instance: ImageNotFound under get_image_info sets vm_state ERROR and raises, task_state unshelving left',
    action: found(unshelveImageGone),
    server: server('ERROR', 'unshelving', imageGoneFault),
    actions: list(['unshelve', 'req-1', START]),
    expect: { final: false, next: null, reason: /^unshelve: events finished, server ERROR \(task_state unshelving\) after a failed step for 0 ms \(a failure once so for 20 s\)$/ },
  },
  {
    name: '... so for 20 s and more: a failure, not between steps until the deadline',
    nova: '(same): no further step starts, the task state is never cleared',
    action: found(unshelveImageGone),
    server: server('ERROR', 'unshelving', imageGoneFault),
    actions: list(['unshelve', 'req-1', START]),
    memory: { erroredSince: iso(T0 + 10_000) },
    elapsed: 40_000,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^unshelve failed: get_image_info Error \(Unshelve attempted but the image img-1 cannot be found\.\); server ERROR: Unshelve attempted but the image img-1 cannot be found\.; the server has been ERROR \(task_state unshelving\) after a failed step for 30 s and no step runs: Nova left the task state when it set ERROR$/,
    },
  },
  {
    name: '... the action list refused by policy: a failure all the same, whose reason says the task state could be a newer action\'s',
    nova: 'a policy file that allows os-instance-actions:show and not os-instance-actions:list (nova/policies/instance_actions.py)',
    action: found(unshelveImageGone),
    server: server('ERROR', 'unshelving', imageGoneFault),
    actions: { kind: 'refused', message: 'GET x → 403 Policy doesn\'t allow os_compute_api:os-instance-actions:list to be performed.' },
    memory: { erroredSince: iso(T0 + 10_000) },
    elapsed: 40_000,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^unshelve failed: .*; the server has been ERROR \(task_state unshelving\) after a failed step for 30 s and no step runs: Nova left the task state when it set ERROR; whether the server's ERROR \(task_state unshelving\) is a newer action's is not known: the action list is refused \(GET x → 403 Policy/,
    },
  },
  {
    name: '... whose task state is a newer action\'s: not the watched action\'s sign',
    nova: 'a delete started on the ERROR server (compute/api.py delete is allowed in any state)',
    action: found(unshelveImageGone),
    server: server('ERROR', 'deleting', imageGoneFault),
    actions: list(['delete', 'req-2', '2026-11-26T10:01:00.000000'], ['unshelve', 'req-1', START]),
    memory: { erroredSince: iso(T0 + 10_000) },
    elapsed: 40_000,
    expect: { final: false, next: 'action', reason: /its task_state deleting belongs to a newer action|reading the action again/ },
  },
  {
    name: 'a task state may be a newer action\'s: list the server\'s actions',
    nova: 'compute/api.py delete is allowed in any task_state',
    action: found(doc('resize', [ev('compute_prep_resize', DONE)])),
    server: server('RESIZE', 'resize_migrating'),
    expect: { final: false, next: 'actions' },
  },
  {
    name: 'server read, action not read again after it: read it again (a step may have started and ended between)',
    nova: 'events are written by the compute host independently of the API reads',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])),
    server: server('ACTIVE'),
    expect: { final: false, next: 'action' },
  },
  {
    name: 'a step that started after the first read shows in the second: still running',
    nova: 'conductor_migrate_server → compute_prep_resize → compute_resize_instance',
    action: found(doc('resize', [ev('compute_prep_resize', DONE), ev('compute_resize_instance', null)])),
    server: server('RESIZE', null),
    fresh: true,
    expect: { final: false, next: null, reason: /compute_resize_instance running/ },
  },
  {
    name: 'resize after its last step, migration record finished',
    nova: 'finish_resize: migration status finished, vm_state resized (VERIFY_RESIZE)',
    ...settledResize([ev('compute_prep_resize', DONE), ev('compute_resize_instance', DONE), ev('compute_finish_resize', DONE)]),
    server: server('VERIFY_RESIZE'),
    migrations: migrations({ status: 'finished', migration_type: 'resize', source_compute: 'c1', dest_compute: 'c2' }),
    expect: { final: true, outcome: 'success', reason: /^resize: 3 events succeeded in 9\.5 s, server VERIFY_RESIZE; migration 1 finished \(c1 → c2\)$/ },
  },
  {
    name: 'failed build whose event says Success while the server is ERROR',
    nova: 'manager.py _do_build_and_run_instance catches the build failure and sets ERROR',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    fresh: true,
    server: server('ERROR', null, { code: 500, message: 'No valid host was found.' }),
    actions: list(['create', 'req-1', START]),
    expect: { final: true, outcome: 'failure', reason: /server ERROR: No valid host was found\./ },
  },
  {
    name: 'an event with result Error carries its traceback\'s last line',
    nova: 'event_finish_with_failure stores format_tb',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE, 'Error', { traceback: '  File "x.py"\nMigrationError: disk too small\n' })], { message: 'Error' })),
    fresh: true,
    server: server('ACTIVE'),
    expect: { final: true, outcome: 'failure', reason: /compute_reboot_instance Error \(traceback ends: MigrationError: disk too small\)/ },
  },
  {
    name: 'from 2.84 an event\'s details name the exception, beside the traceback\'s last line that the contract\'s reason carries',
    nova: 'instance_actions.py show_details (events:details policy)',
    action: found(doc('create', [ev('conductor_schedule_and_build_instances', DONE, 'Error', { traceback: '  File "/usr/lib/python3/dist-packages/nova/conductor/manager.py", line 1580, in schedule_and_build_instances\n    raise exception.NoValidHost(reason="")\n', details: 'No valid host was found. ' })], { message: 'Error' })),
    fresh: true,
    server: server('ERROR', null, { code: 500, message: 'No valid host was found. ' }),
    actions: list(['create', 'req-1', START]),
    expect: { final: true, outcome: 'failure', reason: /^create failed: conductor_schedule_and_build_instances Error \(No valid host was found\.; traceback ends: raise exception\.NoValidHost\(reason=""\)\); server ERROR: No valid host was found\.$/ },
  },
  {
    name: 'message "Error" with every event Success is a failure',
    nova: 'db action_event_finish sets message Error and never clears it',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)], { message: 'Error' })),
    fresh: true,
    server: server('ACTIVE'),
    expect: { final: true, outcome: 'failure', reason: /action message "Error"/ },
  },
  {
    name: 'below 2.51 a non-admin sees no events: the server decides',
    nova: 'instance_actions.py show: events only with the events policy before 2.51',
    action: found(doc('reboot', undefined)),
    fresh: true,
    server: server('ACTIVE'),
    expect: { final: true, outcome: 'success', reason: /events not visible/ },
  },
  {
    name: 'below 2.51 a confirmResize whose server is still VERIFY_RESIZE has not run: it waits',
    nova: 'compute/api.py confirm_resize sets no task state (only the migration "confirming"); manager.py _confirm_resize sets vm_state active or stopped inside compute_confirm_resize',
    action: found(doc('confirmResize', undefined)),
    fresh: true,
    server: server('VERIFY_RESIZE'),
    expect: { final: false, next: null, reason: /^confirmResize: server still VERIFY_RESIZE/ },
  },
  {
    name: '... once the server has left VERIFY_RESIZE it is judged as any action',
    nova: '(same)',
    action: found(doc('confirmResize', undefined)),
    fresh: true,
    server: server('ACTIVE'),
    expect: { final: true, outcome: 'success' },
  },
  {
    name: 'below 2.51 an attach_volume, which sets no server state, is watched 5 min for an error before it is a success',
    nova: 'compute/api.py attach_volume casts to compute; a failure sets the action\'s message Error (db action_event_finish)',
    action: found(doc('attach_volume', undefined)),
    elapsed: 60_000,
    expect: { final: false, next: null, reason: /^attach_volume: its events are not visible at this microversion, and it sets no server state: an error it meets is recorded as the action's message, looked for 4 min more$/ },
  },
  {
    name: '... then a success that says so',
    nova: 'libvirt tries a detach 8 times, 20 s apart (device_detach_attempts, device_detach_timeout)',
    action: found(doc('attach_volume', undefined)),
    fresh: true,
    server: server('ACTIVE'),
    elapsed: 5 * 60_000,
    expect: { final: true, outcome: 'success', reason: /^attach_volume: finished \(events not visible at this microversion\), server ACTIVE; no error recorded in the 5 min after it started$/ },
  },
  {
    name: '... one whose deadline comes within the 5 min gets its verdict after it, not a timeout',
    nova: '(same)',
    action: found(doc('attach_volume', undefined)),
    elapsed: 60_000,
    deadline: 30_000,
    expect: { final: false, next: null },
  },
  {
    name: '... and a failure as soon as its message says Error, with nothing said of the 5 min',
    nova: '(same)',
    action: found(doc('attach_volume', undefined, { message: 'Error' })),
    fresh: true,
    server: server('ACTIVE'),
    elapsed: 30_000,
    expect: { final: true, outcome: 'failure', reason: /^attach_volume failed: action message "Error"$/ },
  },
  {
    name: 'a server in a down cell (2.69 UNKNOWN) is not read',
    nova: 'views/servers.py _show_from_down_cell',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])),
    server: server('UNKNOWN'),
    expect: { final: false, pollFailed: true },
  },

  // --- trap 1: a gone server settles only a delete, and an action that sets no state ---
  {
    name: 'a delete: events finished, the server answers Nova\'s 404, the action read again',
    nova: 'manager.py _delete_instance: instance.destroy() inside compute_terminate_instance',
    action: found(doc('delete', [ev('compute_terminate_instance', DONE)])),
    server: gone,
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /server deleted/ },
  },
  {
    name: 'a create whose server answers 404 once is a failed poll, not a success',
    nova: '_do_build_and_run_instance: InstanceNotFound during build is caught, the event ends Success',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    expect: { final: false, pollFailed: true, reason: /404 \(1 time\)/ },
  },
  {
    name: 'a resize whose server blips 404 between steps is never a success',
    nova: 'a gateway or cell blip between compute_prep_resize and compute_resize_instance',
    action: found(doc('resize', [ev('compute_prep_resize', DONE)])),
    server: gone,
    fresh: true,
    expect: { final: false, pollFailed: true },
  },
  {
    name: 'a create whose server stays gone over several polls and 20 s: the action list tells who deleted it',
    nova: 'compute/api.py _delete records a delete action (not for a server without a host)',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    memory: { serverGoneSince: iso(T0 + 1000 - SERVER_GONE_WINDOW_MS), serverGoneAnswers: 2 },
    expect: { final: false, next: 'actions', pollFailed: false },
  },
  {
    name: 'a create whose server stays gone, no delete listed, is a failure "server deleted"',
    nova: 'a server without a host is destroyed without a delete action (compute/api.py _delete)',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    actions: list(['create', 'req-1', START]),
    memory: { serverGoneSince: iso(T0 + 1000 - SERVER_GONE_WINDOW_MS), serverGoneAnswers: 2 },
    expect: { final: true, outcome: 'failure', reason: /^create failed: server deleted \(not found for 3 polls over 20 s after 1 event finished\)$/ },
  },
  {
    name: 'the action list hidden or failing does not hold the verdict back',
    nova: 'below 2.21 a deleted server\'s actions answer 404 (instance_actions.py _get_instance)',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    actions: { kind: 'not_found', message: 'Instance s1 could not be found.' },
    memory: { serverGoneSince: iso(T0 + 1000 - SERVER_GONE_WINDOW_MS), serverGoneAnswers: 2 },
    expect: { final: true, outcome: 'failure', reason: /^create failed: server deleted \(not found for 3 polls over 20 s after 1 event finished\)$/ },
  },
  {
    name: 'deleted during the build, whose event still ends Success: the delete started before it finished',
    nova: 'manager.py _do_build_and_run_instance catches InstanceNotFound and returns FAILED',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    actions: list(['delete', 'req-del', '2026-11-26T10:00:05.000000'], ['create', 'req-1', START]),
    memory: { serverGoneSince: iso(T0 + 1000 - SERVER_GONE_WINDOW_MS), serverGoneAnswers: 2 },
    expect: { final: true, outcome: 'failure', reason: /^create failed: server deleted \(.*\); by delete req-del, started 4\.5 s before its last event finished$/ },
  },
  {
    name: 'deleted after the action finished, before any poll saw the server: still failure, its end unseen',
    nova: 'a throwaway server deleted between two passes; a failed build also ends its event Success',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    actions: list(['delete', 'req-del', '2026-11-26T10:01:09.500000'], ['reboot', 'req-2', '2026-11-26T10:00:30.000000'], ['create', 'req-1', START]),
    memory: { serverGoneSince: iso(T0 + 1000 - SERVER_GONE_WINDOW_MS), serverGoneAnswers: 2 },
    expect: { final: true, outcome: 'failure', reason: /; by delete req-del, started 1 min after its last event finished: the server's state after the create was not seen$/ },
  },
  {
    name: 'a failed step of an action whose server is gone is named, with the delete',
    nova: 'event_finish_with_failure; then the server deleted',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE, 'Error', { details: 'libvirt error' })], { message: 'Error' })),
    server: gone,
    actions: list(['delete', 'req-del', '2026-11-26T10:00:20.000000'], ['reboot', 'req-1', START]),
    memory: { serverGoneSince: iso(T0 + 1000 - SERVER_GONE_WINDOW_MS), serverGoneAnswers: 2 },
    expect: { final: true, outcome: 'failure', reason: /^reboot failed: compute_reboot_instance Error \(libvirt error\); server deleted \(.*\); by delete req-del, started 10\.5 s after/ },
  },
  {
    name: 'a detach whose event succeeded, its server deleted afterwards: a success, by its event',
    nova: 'manager.py detach_volume ends its event Success once detached, and sets no state; compute/api.py delete is allowed in any state',
    action: found(doc('detach_volume', [ev('compute_detach_volume', DONE)])),
    server: gone,
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^detach_volume: 1 event succeeded in 9\.5 s, server deleted$/ },
  },
  {
    name: '... one whose event failed: a failure, by its event',
    nova: 'event_finish_with_failure; then the server deleted',
    action: found(doc('attach_volume', [ev('compute_attach_volume', DONE, 'Error', { details: 'Volume v1 could not be attached' })], { message: 'Error' })),
    server: gone,
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^attach_volume failed: compute_attach_volume Error \(Volume v1 could not be attached\)$/ },
  },
  {
    name: '... the action read before the server: read again, as for a delete',
    nova: '(same)',
    action: found(doc('detach_volume', [ev('compute_detach_volume', DONE)])),
    server: gone,
    expect: { final: false, next: 'action', pollFailed: false },
  },
  {
    name: 'a detach last seen finished, whose action and server then answer 404: a success, by its events as last seen',
    nova: 'below 2.21 instance_actions.py _get_instance hides a deleted server\'s actions',
    action: nova404,
    lastAction: doc('detach_volume', [ev('compute_detach_volume', DONE)]),
    server: gone,
    expect: { final: true, outcome: 'success', reason: /^detach_volume: server deleted; its action is no longer shown \(below microversion 2\.21, or archived\), last seen with 1\/1 events finished$/ },
  },
  {
    name: '... last seen running: its server deleted under it, once it stays gone',
    nova: 'a server deleted while its detach ran',
    action: nova404,
    lastAction: doc('detach_volume', [ev('compute_detach_volume', null)]),
    server: gone,
    expect: { final: false, pollFailed: true, reason: /^detach_volume: the action and the server answer 404/ },
  },
  {
    name: 'gone three times but within 20 s: still a failed poll',
    nova: '(same)',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    memory: { serverGoneSince: iso(T0 + 1000 - 10_000), serverGoneAnswers: 5 },
    expect: { final: false, pollFailed: true },
  },

  // --- a step retried under the request: nova's db action_event_finish finishes the first row of its name ---
  {
    name: 'a build rescheduled to another host: its own row stays unfinished, its end written into the first',
    nova: 'manager.py _do_build_and_run_instance returns RESCHEDULED; conductor builds again on an alternate host',
    action: found(doc('create', [
      ev('compute__do_build_and_run_instance', null, null, { start_time: '2026-11-26T10:00:06.000000' }),
      ev('compute__do_build_and_run_instance', DONE),
    ])),
    server: server('ACTIVE'),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^create: 1 event succeeded in 9\.5 s, server ACTIVE$/ },
  },
  {
    name: 'a build rescheduled to a host whose clock is 1.5 s behind the first\'s: its row seems to start first, and is left out all the same',
    nova: 'each row\'s start_time is utcnow() of the host that starts it (objects/instance_action.py pack_action_event_start)',
    action: found(doc('create', [
      ev('compute__do_build_and_run_instance', null, null, { start_time: '2026-11-26T10:00:00.500000' }),
      ev('compute__do_build_and_run_instance', DONE),
    ])),
    server: server('ACTIVE'),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^create: 1 event succeeded in 9\.5 s, server ACTIVE$/ },
  },
  {
    name: 'the rescheduled build still running: the first row holds only the first attempt\'s end',
    nova: '(same), the second host still spawning',
    action: found(doc('create', [
      ev('compute__do_build_and_run_instance', null, null, { start_time: '2026-11-26T10:00:06.000000' }),
      ev('compute__do_build_and_run_instance', '2026-11-26T10:00:04.000000'),
    ])),
    expect: { final: false, next: null, reason: /compute__do_build_and_run_instance running/ },
  },
  {
    name: 'a live migration whose destination check failed on one host and passed on the next: the message "Error" was the retried attempt\'s',
    nova: 'conductor/tasks/live_migrate.py _find_destination tries the next host; the failed check set the action message for good',
    action: found(doc('live-migration', [
      ev('conductor_live_migrate_instance', DONE),
      ev('compute_check_can_live_migrate_destination', null, null, { start_time: '2026-11-26T10:00:03.000000' }),
      ev('compute_check_can_live_migrate_destination', '2026-11-26T10:00:05.000000', 'Success', { details: 'MigrationPreCheckError: not enough memory' }),
      ev('compute_live_migration', DONE),
    ], { message: 'Error' })),
    server: server('ACTIVE', null, null, 'host-b'),
    fresh: true,
    migrations: migrations({ status: 'completed', source_compute: 'c1', dest_compute: 'c3' }),
    expect: { final: true, outcome: 'success', reason: /^live-migration: 3 events succeeded .*migration 1 completed \(c1 → c3\)$/ },
  },
  {
    name: 'a retried step that failed again: the failure stands, message and all',
    nova: 'the retry\'s Error written into the first row',
    action: found(doc('live-migration', [
      ev('compute_check_can_live_migrate_destination', null, null, { start_time: '2026-11-26T10:00:03.000000' }),
      ev('compute_check_can_live_migrate_destination', '2026-11-26T10:00:05.000000', 'Error', { details: 'MigrationPreCheckError: no valid host' }),
    ], { message: 'Error' })),
    server: server('ACTIVE'),
    fresh: true,
    actions: list(['live-migration', 'req-1', START]),
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: compute_check_can_live_migrate_destination Error \(MigrationPreCheckError: no valid host\)$/ },
  },

  // --- trap 2: the deadline is judged by the action's own times ---
  {
    name: 'an action that finished before its deadline, first seen long after: the server is read, no timeout',
    nova: 'after downtime or a stretch of 401s',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])),
    elapsed: 7 * HOUR,
    expect: { final: false, next: 'server' },
  },
  {
    name: '... and it gets its real verdict once read',
    nova: '(same)',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'success' },
  },
  {
    name: 'an action whose last event finished after the deadline is a timeout, however it ended',
    nova: 'a step that took longer than the watch allowed',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T13:00:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 7 * HOUR,
    deadline: 2 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /not finished within 2 h: it ended 3 h after tracking began, as success/ },
  },
  {
    name: 'an event whose finish is later than the poll that saw it (a conductor whose clock runs fast) did not end after the deadline',
    nova: 'the cloud\'s Date right, its event times 2 min ahead: what the poll sees finished has finished by now',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T10:02:01.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 1500,
    deadline: 60_000,
    expect: { final: true, outcome: 'success' },
  },
  {
    name: '... nor when its times are another zone\'s, 8 h ahead and written without one',
    nova: 'a cloud that writes local time (UTC+8) as if it were UTC',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T18:00:09.500000')])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 1500,
    deadline: 30_000,
    expect: { final: true, outcome: 'success' },
  },
  {
    name: '... while one past the deadline by this host\'s clock still is a timeout, its finish taken as at most now',
    nova: 'the same fast conductor, polled late',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T12:30:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 2 * HOUR,
    deadline: HOUR,
    expect: { final: true, outcome: 'timeout', reason: /not finished within 1 h: it ended 2 h after tracking began, as success/ },
  },
  {
    name: 'a step that ended before its action began (clocks of two hosts apart) gives no duration rather than a negative one',
    nova: 'the API host\'s clock ahead of the compute host\'s',
    action: found({ ...doc('reboot', [ev('compute_reboot_instance', DONE)]), start_time: '2026-11-26T10:00:12.000000' }),
    server: server('ACTIVE'),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^reboot: 1 event succeeded, server ACTIVE$/ },
  },
  {
    name: 'the deadline turns a running action into timeout',
    nova: 'a compute host that never finishes the event',
    action: found(doc('reboot', [ev('compute_reboot_instance', null)])),
    elapsed: 2 * HOUR,
    deadline: 2 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /not finished 2 h after tracking began: reboot: compute_reboot_instance running/ },
  },
  {
    name: 'between steps at the deadline is a timeout',
    nova: 'a resize whose next step never starts',
    action: found(doc('resize', [ev('compute_prep_resize', DONE)])),
    server: server('RESIZE', 'resize_migrating'),
    actions: onlyWatched,
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /between steps/ },
  },
  {
    name: 'a poll error past the deadline, with nothing known, is a timeout naming the error once the API has failed 15 min past it, and that whether it finished in time is not known',
    nova: 'the API was unreachable the whole time',
    action: { kind: 'error', message: 'GET x → 503' },
    failingSince: 60_000,
    elapsed: 6 * HOUR + 15 * 60_000,
    expect: { final: true, outcome: 'timeout', reason: /^not known to have finished within 6 h: no poll could read it for the last 6 h 14 min, to 15 min past the deadline; last poll failed: GET x → 503$/ },
  },
  {
    name: '... before then it waits for the API to answer: the action may have finished in time',
    nova: 'an API down across the deadline, the action finished before it',
    action: { kind: 'error', message: 'GET x → 503' },
    failingSince: 60_000,
    elapsed: 6 * HOUR + 10 * 60_000,
    expect: { final: false, pollFailed: true, reason: /^last poll failed: GET x → 503 \(past the deadline: judged by its own times once the API answers, or a timeout in 5 min\)$/ },
  },
  {
    name: '... not where the finish is known to be past the deadline: a timeout at once',
    nova: 'an earlier poll saw the last event end after the deadline, then the API went down',
    action: { kind: 'error', message: 'GET x → 503' },
    lastAction: doc('reboot', [ev('compute_reboot_instance', '2026-11-26T16:30:00.000000')]),
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'timeout' },
  },
  {
    name: '... nor where the action was read and only a look at the server failed',
    nova: 'a step still running past the deadline: nothing the server says can change that',
    action: found(doc('resize', [ev('compute_prep_resize', null)])),
    server: { kind: 'error', message: 'GET server → 503' },
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'timeout' },
  },
  {
    name: '... the first poll after downtime failed, long past the deadline: it waits too',
    nova: 'a daemon started before its network is up',
    action: { kind: 'error', message: 'GET x → network error' },
    elapsed: 7 * HOUR,
    expect: { final: false, pollFailed: true },
  },
  {
    name: '... a shorter deadline waits as long again at most',
    nova: '(same)',
    action: { kind: 'error', message: 'GET x → 503' },
    failingSince: 5_000,
    deadline: 20_000,
    elapsed: 40_000,
    expect: { final: true, outcome: 'timeout' },
  },
  {
    name: 'a poll error past the deadline, when an earlier poll saw the events finish in time, waits for a readable API',
    nova: 'a stretch of 401s right after the last step ended',
    action: { kind: 'error', message: 'GET x → 401' },
    lastAction: doc('reboot', [ev('compute_reboot_instance', DONE)]),
    elapsed: 7 * HOUR,
    expect: { final: false, pollFailed: true },
  },
  {
    name: 'a read that confirms a finish in time, failing 15 min past the deadline: a timeout that says what it could not confirm',
    nova: 'a service behind the API down for good after the last step ended (the server read through a dead cell database)',
    ...finishedServerUnread,
    elapsed: 6 * HOUR + 15 * 60_000,
    expect: { final: true, outcome: 'timeout', reason: /^not confirmed within 6 h and 15 min more: its events finished 9\.5 s after tracking began, but reboot: events finished; the server read failed: GET server → 503$/ },
  },
  {
    name: '... one that finished before tracking began says so, not a negative time after it',
    nova: 'a watch added to the file for an action that had ended an hour before, its server read failing since',
    ...finishedServerUnread,
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T09:00:00.000000')])),
    elapsed: 6 * HOUR + 15 * 60_000,
    expect: { final: true, outcome: 'timeout', reason: /^not confirmed within 6 h and 15 min more: its events finished 1 h before tracking began, but reboot: events finished; the server read failed: GET server → 503$/ },
  },
  {
    name: '... before then it waits for the API, saying when it gives up',
    nova: '(same)',
    ...finishedServerUnread,
    elapsed: 6 * HOUR + 10 * 60_000,
    expect: { final: false, pollFailed: true, reason: /^reboot: events finished; the server read failed: GET server → 503 \(past the deadline: its events finished in time, judged once the API answers, or a timeout in 5 min\)$/ },
  },
  {
    name: 'a poll error before the deadline stays pending',
    nova: 'a 503 from the API worker',
    action: { kind: 'error', message: 'GET x → 503' },
    elapsed: 60_000,
    expect: { final: false, pollFailed: true },
  },

  // --- trap 5: only the API's own 404 counts (the engine reads any other 404 as an error) ---
  {
    name: 'a gateway 404 (APIGW.0101) for ten minutes is never not_found',
    nova: 'a wrong endpoint path never reaches instance_actions.py',
    action: { kind: 'error', message: 'GET x → 404 APIGW.0101: The API does not exist or has not been published in the environment' },
    memory: { everFound: false },
    elapsed: 10 * 60_000,
    expect: { final: false, pollFailed: true, reason: /APIGW\.0101/ },
  },

  // --- trap 6: events [] ---
  {
    name: 'a delete without events whose server is gone is a success (a local delete)',
    nova: 'compute/api.py _delete: _local_delete, then _record_action_start, no event',
    action: found(doc('delete', [])),
    server: gone,
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /recorded without events \(a local delete\)/ },
  },
  {
    name: 'a delete without events reads the server',
    nova: '(same)',
    action: found(doc('delete', [])),
    expect: { final: false, next: 'server' },
  },
  {
    name: 'a delete without events whose server still exists waits',
    nova: 'the action is recorded before terminate_instance starts its event',
    action: found(doc('delete', [])),
    server: server('ACTIVE', 'deleting'),
    actions: list(['delete', 'req-1', START]),
    fresh: true,
    expect: { final: false, next: null },
  },
  {
    name: 'a delete without events whose server is ACTIVE with no task state is no success: the server is still there',
    nova: 'os-resetState --active on a delete stuck in task_state deleting (its cast lost): vm_state active, task_state None, no event',
    action: found(doc('delete', [])),
    server: server('ACTIVE'),
    fresh: true,
    expect: { final: false, next: null, reason: /^delete: recorded without events; server still ACTIVE$/ },
  },
  {
    name: 'a delete without events whose server is SOFT_DELETED is a success',
    nova: '_do_soft_delete(local=True): vm_state soft-delete, task_state None',
    action: found(doc('delete', [])),
    server: server('SOFT_DELETED'),
    fresh: true,
    expect: { final: true, outcome: 'success' },
  },
  {
    name: 'a resetState is done once recorded: it has no events, ever',
    nova: 'admin_actions.py _reset_state: action_start, the state saved, action finish(), all in the API request',
    action: found(doc('resetState', [])),
    expect: { final: false, next: 'server' },
  },
  {
    name: 'a resetState judged by the server it left',
    nova: 'os-resetState --active: vm_state active, task_state None',
    action: found(doc('resetState', [])),
    server: server('ACTIVE'),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^resetState: done without events, as Nova records it, server ACTIVE$/ },
  },
  {
    name: 'a resetState to error is a success: ERROR is the state asked for',
    nova: 'os-resetState {"state": "error"}: vm_state error, task_state None, the fault of an earlier failure kept',
    action: found(doc('resetState', [])),
    server: server('ERROR', null, { code: 500, message: 'an earlier build failed' }),
    actions: list(['resetState', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^resetState: done without events, as Nova records it, server ERROR$/ },
  },
  {
    name: 'a resetState whose server a newer reboot left ERROR is still its own success',
    nova: 'a reboot after the reset fails: vm_state error',
    action: found(doc('resetState', [])),
    server: server('ERROR', null, { code: 500, message: 'reboot failed' }),
    actions: list(['reboot', 'req-2', '2026-11-26T11:00:00.000000'], ['resetState', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /belongs to a newer action \(reboot req-2\)/ },
  },
  {
    name: 'a resetState first seen after its deadline gets its verdict: it was done when recorded',
    nova: 'the daemon down for the whole deadline while an admin reset the server',
    action: found(doc('resetState', [])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'success' },
  },
  {
    name: 'a restore with no event yet reads the server: nova-api restores one without a host itself',
    nova: 'compute/api.py restore: no instance.host, vm_state active and task_state None saved within the request, no RPC, no event',
    action: found(doc('restore', [])),
    expect: { final: false, next: 'server' },
  },
  {
    name: '... its server ACTIVE with no task state, the action read again after it still without an event: a success',
    nova: '(same)',
    action: found(doc('restore', [])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'success', reason: /^restore: done without events, as Nova records it, server ACTIVE$/ },
  },
  {
    name: '... the action read before the server: read again (a restore with a host may have ended its event between)',
    nova: 'compute/manager.py restore_instance (wrap_instance_event) clears task_state restoring inside its event',
    action: found(doc('restore', [])),
    server: server('ACTIVE'),
    expect: { final: false, next: 'action' },
  },
  {
    name: '... its server still restoring: nova-compute has not taken up a restore with a host yet, it waits',
    nova: 'compute/api.py restore: with instance.host, task_state restoring, then the cast to restore_instance',
    action: found(doc('restore', [])),
    server: server('SOFT_DELETED', 'restoring'),
    fresh: true,
    expect: { final: false, next: null, reason: /^restore: no event started yet; server SOFT_DELETED \(task_state restoring\)$/ },
  },
  {
    name: 'any other action with events [] waits, also past the deadline (then timeout)',
    nova: 'refresh_volume_attachment (nova-manage): never an event; any other action before its first step',
    action: found(doc('reboot', [])),
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /no event started yet/ },
  },

  // --- a step that died with its compute service (manager.py _init_instance) ---
  {
    name: 'an event running 10 min or more: look at the server',
    nova: 'nova-compute stopped during _do_build_and_run_instance: its event is never finished',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'look', reason: /compute__do_build_and_run_instance running for 14 min 59 s; looking at the server/ },
  },
  {
    name: 'an event 9 min old by this host\'s clock is 11 min old by the cloud\'s, 2 min ahead, whose time it started by: look',
    nova: 'a compute host and API on NTP, this host\'s clock behind theirs',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    elapsed: 9 * 60_000,
    cloudAhead: 2 * 60_000,
    expect: { final: false, next: 'look', reason: /running for 10 min 59 s; looking at the server/ },
  },
  {
    name: 'an event 11 min old by this host\'s clock is 9 min old by the cloud\'s, 2 min behind: no look yet',
    nova: 'this host\'s clock ahead of the cloud\'s',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    elapsed: 11 * 60_000,
    cloudAhead: -2 * 60_000,
    expect: { final: false, next: null },
  },
  {
    name: 'an event running less long: no look at the server',
    nova: 'a build downloading its image',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    elapsed: 9 * 60_000,
    expect: { final: false, next: null },
  },
  {
    name: 'an event running long whose server was looked at 2 min ago: not again yet',
    nova: 'a live migration copying memory for half an hour',
    action: found(doc('live-migration', [ev('compute_live_migration', null)])),
    memory: { stallCheckedAt: iso(T0 + 13 * 60_000) },
    elapsed: 15 * 60_000,
    expect: { final: false, next: null },
  },
  {
    name: 'an action that never sets a state is not looked at however long its event runs',
    nova: 'attach_volume waiting on a slow storage backend',
    action: found(doc('attach_volume', [ev('compute_attach_volume', null)])),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null },
  },
  {
    name: 'a long-running event beside a server ERROR with no task state: check for a newer action',
    nova: '_init_instance: a BUILDING instance at the service\'s start is set ERROR, task_state None',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: server('ERROR'),
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'actions' },
  },
  {
    name: 'ERROR beside the running event, first seen: confirmed over 20 s before it counts',
    nova: '_set_instance_obj_error_state comes a moment before a failing step ends its event',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: server('ERROR'),
    actions: list(['create', 'req-1', START]),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /server ERROR with no task state for 0 ms \(a dead step once so for 20 s\)$/ },
  },
  {
    name: 'ERROR seen beside the running event a poll ago: look again at once, not in 5 min',
    nova: 'confirming _init_instance\'s ERROR over the 20 s',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 1000), erroredSince: iso(T0 + 15 * 60_000 - 1000) },
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'server' },
  },
  {
    name: 'ERROR beside an event seen for 20 s and more: the step died, a failure',
    nova: '_init_instance: vm_state error, task_state None; compute__do_build_and_run_instance open for good',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: server('ERROR'),
    actions: list(['create', 'req-1', START]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), erroredSince: iso(T0 + 15 * 60_000 - 30_000) },
    elapsed: 15 * 60_000,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^create failed: server ERROR; compute__do_build_and_run_instance never finished \(running 14 min 59 s\) and the server has been ERROR with no task state for 30 s: its compute service likely stopped during the step$/,
    },
  },
  {
    name: 'ERROR beside a running event that a newer action set is not the watched one\'s end',
    nova: 'a hard reboot started on the building server, and failed',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: server('ERROR'),
    actions: list(['reboot', 'req-2', '2026-11-26T10:05:00.000000'], ['create', 'req-1', START]),
    memory: { erroredSince: iso(T0 + 14 * 60_000) },
    elapsed: 15 * 60_000,
    expect: { final: false, next: null },
  },
  {
    name: 'ERROR seen beside the running event 10 s before the deadline: at the deadline it is looked at again, not a timeout',
    nova: '_init_instance\'s ERROR, first seen in time: the step died before the deadline, its event never finished',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), erroredSince: iso(T0 + 15 * 60_000 - 10_000) },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'server' },
  },
  {
    name: '... that look failing: it waits for one that answers, saying the server could not be seen',
    nova: '(same), nova-api answering 503',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: { kind: 'error', message: 'GET server → 503' },
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), erroredSince: iso(T0 + 15 * 60_000 - 10_000) },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: {
      final: false,
      pollFailed: true,
      reason: /^create: compute__do_build_and_run_instance running; the server showed the sign of a dead step 10 s ago, and looking at it again failed: GET server → 503 \(past the deadline: the server showed the sign of a dead step in time, judged once the API answers, or a timeout in 15 min\)$/,
    },
  },
  {
    name: '... that look answered by a down cell (2.69 UNKNOWN), which shows nothing of the server: it waits for one that does, not a timeout',
    nova: '(same), the server\'s cell unreachable from nova-api (views/servers.py _show_from_down_cell)',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: server('UNKNOWN'),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), erroredSince: iso(T0 + 15 * 60_000 - 10_000) },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: {
      final: false,
      pollFailed: true,
      reason: /^create: compute__do_build_and_run_instance running; the server showed the sign of a dead step 10 s ago, and looking at it again found its cell unreachable \(status UNKNOWN\) \(past the deadline: the server showed the sign of a dead step in time, judged once the API answers, or a timeout in 15 min\)$/,
    },
  },
  {
    name: '... the action\'s read failing 15 min past the deadline: a timeout that names the sign seen in time',
    nova: '(same), the API down for good',
    action: { kind: 'error', message: 'GET x → 503' },
    lastAction: doc('create', [ev('compute__do_build_and_run_instance', null)]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), erroredSince: iso(T0 + 15 * 60_000 - 10_000) },
    failingSince: 15 * 60_000,
    deadline: 15 * 60_000,
    elapsed: 30 * 60_000,
    expect: { final: true, outcome: 'timeout', reason: /^not confirmed within 15 min and 15 min more: the server showed the sign of a dead step 14 min 50 s after tracking began, but last poll failed: GET x → 503$/ },
  },
  {
    name: '... the list read failing as the sign is confirmed: a failed poll that says so',
    nova: '(same), GET os-instance-actions answering 500',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: server('ERROR'),
    actions: { kind: 'error', message: 'GET actions → 500' },
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), erroredSince: iso(T0 + 15 * 60_000 - 10_000) },
    elapsed: 15 * 60_000,
    expect: { final: false, pollFailed: true, reason: /^create: compute__do_build_and_run_instance running, server ERROR with no task state; the action list read failed: GET actions → 500$/ },
  },
  {
    name: '... a newer action\'s ERROR at the deadline: a timeout, as without the sign',
    nova: 'a hard reboot started on the building server, and failed',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    server: server('ERROR'),
    actions: list(['reboot', 'req-2', '2026-11-26T10:05:00.000000'], ['create', 'req-1', START]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), erroredSince: iso(T0 + 15 * 60_000 - 10_000) },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: { final: true, outcome: 'timeout', reason: /^not finished 15 min after tracking began: create: compute__do_build_and_run_instance running$/ },
  },
  {
    name: 'a delete whose event has run 15 min, its server gone: read again until it stays gone',
    nova: 'manager.py _init_instance finishes a DELETING instance with _delete_instance, which no event wraps',
    action: found(doc('delete', [ev('compute_terminate_instance', null)])),
    server: gone,
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^delete: compute_terminate_instance running for 14 min 59 s, and the server answers 404 \(1 time\)$/ },
  },
  {
    name: '... the server seen gone a poll ago: looked at again at once, not in 5 min',
    nova: 'confirming the 404 over 20 s, as for any gone server',
    action: found(doc('delete', [ev('compute_terminate_instance', null)])),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 1000), serverGoneSince: iso(T0 + 15 * 60_000 - 1000), serverGoneAnswers: 1 },
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'server' },
  },
  {
    name: '... gone over 20 s and 3 answers: the delete is done, its event left open',
    nova: '_init_instance: instance.destroy() with compute_terminate_instance never ended',
    action: found(doc('delete', [ev('compute_terminate_instance', null)])),
    server: gone,
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), serverGoneSince: iso(T0 + 15 * 60_000 - 30_000), serverGoneAnswers: 2 },
    elapsed: 15 * 60_000,
    expect: {
      final: true,
      outcome: 'success',
      reason: /^delete: server deleted \(not found for 3 polls over 30 s\); compute_terminate_instance never finished \(running 14 min 59 s\): its compute service likely restarted during the delete, which finishes it without ending the event$/,
    },
  },
  {
    name: '... seen gone 10 s before the deadline: at the deadline it is looked at again, not a timeout',
    nova: '(same), the delete done before the deadline',
    action: found(doc('delete', [ev('compute_terminate_instance', null)])),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), serverGoneSince: iso(T0 + 15 * 60_000 - 10_000), serverGoneAnswers: 2 },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'server' },
  },
  {
    name: '... and still gone then: it waits until it has stayed gone, saying so',
    nova: '(same)',
    action: found(doc('delete', [ev('compute_terminate_instance', null)])),
    server: gone,
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), serverGoneSince: iso(T0 + 15 * 60_000 - 10_000), serverGoneAnswers: 1 },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: { final: false, pollFailed: false, reason: /^delete: compute_terminate_instance running for 14 min 59 s, and the server answers 404 \(2 times\)$/ },
  },
  {
    name: '... or that look failing: it waits for one that answers, saying what the server showed',
    nova: '(same), nova-api answering 503',
    action: found(doc('delete', [ev('compute_terminate_instance', null)])),
    server: { kind: 'error', message: 'GET server → 503' },
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), serverGoneSince: iso(T0 + 15 * 60_000 - 10_000), serverGoneAnswers: 1 },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: {
      final: false,
      pollFailed: true,
      reason: /^delete: compute_terminate_instance running; the server answered 404 \(1 time\), and looking at it again failed: GET server → 503 \(past the deadline: the server answered 404 in time, judged once the API answers, or a timeout in 15 min\)$/,
    },
  },
  {
    name: '... or that look answered by a down cell (2.69 UNKNOWN): it waits for one that shows the server, not a timeout',
    nova: '(same), the server\'s cell unreachable from nova-api (views/servers.py _show_from_down_cell)',
    action: found(doc('delete', [ev('compute_terminate_instance', null)])),
    server: server('UNKNOWN'),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), serverGoneSince: iso(T0 + 15 * 60_000 - 10_000), serverGoneAnswers: 1 },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: {
      final: false,
      pollFailed: true,
      reason: /^delete: compute_terminate_instance running; the server answered 404 \(1 time\), and looking at it again found its cell unreachable \(status UNKNOWN\) \(past the deadline: the server answered 404 in time, judged once the API answers, or a timeout in 15 min\)$/,
    },
  },
  {
    name: 'a create with no event whose server answered 404 10 s before the deadline: at the deadline it is looked at again, not a timeout',
    nova: 'conductor/manager.py schedule_and_build_instances destroys a create deleted while scheduled, before any compute step',
    action: found(doc('create', [])),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 10_000), serverGoneSince: iso(T0 + 15 * 60_000 - 10_000), serverGoneAnswers: 1 },
    deadline: 15 * 60_000,
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'server' },
  },
  {
    name: 'a reboot whose event runs on, its server seen gone a poll ago: looked at again only in 5 min, as for no sign',
    nova: 'a 404 of a server whose action is no delete settles nothing while its event runs',
    action: found(doc('reboot', [ev('compute_reboot_instance', null)])),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 60_000), serverGoneSince: iso(T0 + 15 * 60_000 - 60_000), serverGoneAnswers: 1 },
    elapsed: 15 * 60_000,
    expect: { final: false, next: null },
  },
  {
    name: 'a reboot whose event runs on, its server gone: not a delete, it waits (then timeout)',
    nova: 'a server deleted under a reboot whose compute service died',
    action: found(doc('reboot', [ev('compute_reboot_instance', null)])),
    server: gone,
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), serverGoneSince: iso(T0 + 15 * 60_000 - 30_000), serverGoneAnswers: 2 },
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^reboot: compute_reboot_instance running$/ },
  },
  {
    name: 'a snapshot\'s event running long beside a server with no task state: check for a newer action',
    nova: '_init_instance clears image_uploading: a snapshot whose upload died leaves the server ACTIVE, its event open',
    action: found(doc('createImage', [ev('compute_snapshot_instance', null)])),
    server: server('ACTIVE'),
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'actions', reason: /^createImage: compute_snapshot_instance running, server ACTIVE with no task state \(a running snapshot keeps one\); checking for a newer action$/ },
  },
  {
    name: '... so for 20 s and more, no newer action: the step died, a failure',
    nova: '_snapshot_instance keeps an image_* task state until just before its event ends',
    action: found(doc('createImage', [ev('compute_snapshot_instance', null)])),
    server: server('ACTIVE'),
    actions: list(['createImage', 'req-1', START]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), erroredSince: iso(T0 + 15 * 60_000 - 30_000) },
    elapsed: 15 * 60_000,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^createImage failed: compute_snapshot_instance never finished \(running 14 min 59 s\) and the server has been ACTIVE with no task state \(a running snapshot keeps one\) for 30 s: its compute service likely stopped during the step$/,
    },
  },
  {
    name: 'a backup\'s event running long beside a server ACTIVE with no task state for 20 s and more: the step died, a failure',
    nova: 'backup_instance runs _snapshot_instance inside its event; _init_instance clears image_pending_upload and image_uploading',
    action: found(doc('createBackup', [ev('compute_backup_instance', null)])),
    server: server('ACTIVE'),
    actions: list(['createBackup', 'req-1', START]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), erroredSince: iso(T0 + 15 * 60_000 - 30_000) },
    elapsed: 15 * 60_000,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^createBackup failed: compute_backup_instance never finished \(running 14 min 59 s\) and the server has been ACTIVE with no task state \(a running backup keeps one until it rotates old backups\) for 30 s: its compute service likely stopped during the step$/,
    },
  },
  {
    name: '... a backup rotating old backups, first seen with no task state: confirmed over 20 s before it counts',
    nova: 'backup_instance: _rotate_backups deletes excess images after _snapshot_instance cleared the task state, before the event ends',
    action: found(doc('createBackup', [ev('compute_backup_instance', null)])),
    server: server('ACTIVE'),
    actions: list(['createBackup', 'req-1', START]),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /for 0 ms \(a dead step once so for 20 s\)$/ },
  },
  {
    name: '... a snapshot with its task state set runs on',
    nova: 'a large image uploading to glance',
    action: found(doc('createImage', [ev('compute_snapshot_instance', null)])),
    server: server('ACTIVE', 'image_uploading'),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^createImage: compute_snapshot_instance running$/ },
  },
  {
    name: 'a resize\'s event running long beside a server ACTIVE with no task state: check for a newer action',
    nova: '_init_instance rolls back a resize_migrating instance (finish_revert_migration) and sets task_state None; the event stays open',
    action: found(doc('resize', [ev('compute_prep_resize', DONE), ev('compute_resize_instance', null)])),
    server: server('ACTIVE'),
    elapsed: 15 * 60_000,
    expect: { final: false, next: 'actions', reason: /^resize: compute_resize_instance running, server ACTIVE with no task state \(a running resize keeps one; nova-compute rolls one back at its start\); checking for a newer action$/ },
  },
  {
    name: '... a cold migration of a stopped server so for 20 s and more, no newer action: the step died, a failure',
    nova: '(same), power_on False for an old_vm_state stopped: SHUTOFF',
    action: found(doc('migrate', [ev('compute_prep_resize', DONE), ev('compute_resize_instance', null)])),
    server: server('SHUTOFF'),
    actions: list(['migrate', 'req-1', START]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), erroredSince: iso(T0 + 15 * 60_000 - 30_000) },
    elapsed: 15 * 60_000,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^migrate failed: compute_resize_instance never finished \(running 14 min 59 s\) and the server has been SHUTOFF with no task state \(a running migrate keeps one; nova-compute rolls one back at its start\) for 30 s: its compute service likely stopped during the step$/,
    },
  },
  {
    name: 'a live migration\'s post step running long beside a server ACTIVE with no task state: it succeeded, the source cleans up',
    nova: '_post_live_migration (its own event) calls post_live_migration_at_destination, which clears task_state, then updates the host\'s resources, saves the migration and frees its allocations',
    action: found(doc('live-migration', [ev('compute_pre_live_migration', DONE), ev('compute_live_migration', DONE), ev('compute__post_live_migration', null), ev('compute_post_live_migration_at_destination', DONE)])),
    server: server('ACTIVE'),
    actions: list(['live-migration', 'req-1', START]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), erroredSince: iso(T0 + 15 * 60_000 - 30_000) },
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^live-migration: compute__post_live_migration running$/ },
  },
  {
    name: '... a resize with its task state set runs on',
    nova: 'resize_instance keeps resize_migrating while it copies the disk',
    action: found(doc('resize', [ev('compute_prep_resize', DONE), ev('compute_resize_instance', null)])),
    server: server('ACTIVE', 'resize_migrating'),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^resize: compute_resize_instance running$/ },
  },
  {
    name: 'a pause\'s event running long beside a server ACTIVE with no task state for 20 s and more: the step died, a failure',
    nova: '_init_instance: power state RUNNING, task_state pausing: task_state None, vm_state active, the pause not redone',
    action: found(doc('pause', [ev('compute_pause_instance', null)])),
    server: server('ACTIVE'),
    actions: list(['pause', 'req-1', START]),
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), erroredSince: iso(T0 + 15 * 60_000 - 30_000) },
    elapsed: 15 * 60_000,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^pause failed: compute_pause_instance never finished \(running 14 min 59 s\) and the server has been ACTIVE with no task state \(a running pause keeps one; nova-compute clears it at its start, the guest running, without redoing the step\) for 30 s: its compute service likely stopped during the step$/,
    },
  },
  {
    name: '... a reboot\'s, first seen: confirmed over 20 s before it counts',
    nova: '_init_instance: power state RUNNING, task_state reboot_started: cleared, not redone (one pending or with the guest down is redone)',
    action: found(doc('reboot', [ev('compute_reboot_instance', null)])),
    server: server('ACTIVE'),
    actions: list(['reboot', 'req-1', START]),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^reboot: compute_reboot_instance running, server ACTIVE with no task state \(a running reboot keeps one; .*\) for 0 ms \(a dead step once so for 20 s\)$/ },
  },
  {
    name: '... a pause\'s beside a server PAUSED with no task state: no sign, it waits',
    nova: 'pause_instance saves vm_state paused and task_state None just before its event ends',
    action: found(doc('pause', [ev('compute_pause_instance', null)])),
    server: server('PAUSED'),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^pause: compute_pause_instance running$/ },
  },
  {
    name: 'a suspend\'s event running long beside a server ACTIVE with no task state waits (then timeout): the sign is not every action\'s',
    nova: '_init_instance leaves task_state suspending as it is: it shows no suspend cut off',
    action: found(doc('suspend', [ev('compute_suspend_instance', null)])),
    server: server('ACTIVE'),
    elapsed: 15 * 60_000,
    expect: { final: false, next: null, reason: /^suspend: compute_suspend_instance running$/ },
  },

  // --- trap 7: moves ---
  {
    name: 'a live migration asks for its migration record',
    nova: 'conductor _live_migrate creates Migration(status accepted)',
    action: liveMigration(),
    server: server('ACTIVE'),
    fresh: true,
    expect: { final: false, next: 'migrations' },
  },
  {
    name: 'a rolled-back live migration: every event Success, server ACTIVE, the record failed',
    nova: 'manager.py _rollback_live_migration: task_state None, then migration failed; no Error event, no fault',
    action: liveMigration(),
    server: server('ACTIVE'),
    fresh: true,
    migrations: migrations({ status: 'failed', source_compute: 'compute-1', dest_compute: 'compute-2' }),
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: migration 1 failed \(compute-1 → compute-2\): rolled back$/ },
  },
  {
    name: 'task_state cleared but the record still running: the rollback (or the post-migration) is not over',
    nova: '_rollback_live_migration saves task_state None before _set_migration_status',
    action: liveMigration(),
    server: server('ACTIVE'),
    fresh: true,
    migrations: migrations({ status: 'running' }),
    expect: { final: false, next: null, reason: /migration 1 running/ },
  },
  {
    name: 'a completed live migration',
    nova: '_post_live_migration: migration completed',
    action: liveMigration(),
    server: server('ACTIVE'),
    fresh: true,
    migrations: migrations({ status: 'completed' }),
    expect: { final: true, outcome: 'success', reason: /migration 1 completed/ },
  },
  {
    name: 'a record of an earlier move is not the watched one\'s',
    nova: 'os-migrations lists every migration of the server',
    action: liveMigration('host-b'),
    server: server('ACTIVE', null, null, 'host-a'),
    fresh: true,
    migrations: migrations({ status: 'failed', created_at: '2026-11-25T10:00:00.000000' }),
    expect: { final: true, outcome: 'success', reason: /moved to another host/ },
  },
  {
    name: 'a record created 2 s before the action started, on a conductor whose clock is behind the API\'s, is the watched move\'s',
    nova: 'objects/instance_action.py pack_action_start: start_time is nova-api\'s; conductor _live_migrate creates the record on its host',
    action: liveMigration(),
    server: server('ACTIVE'),
    fresh: true,
    migrations: migrations({ status: 'completed', created_at: '2026-11-26T09:59:30.000000' }, { status: 'failed', created_at: '2026-11-26T09:59:58.000000' }),
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: migration 2 failed/ },
  },
  {
    name: '... but one created since the start comes first',
    nova: '(same)',
    action: liveMigration('host-b'),
    server: server('ACTIVE', null, null, 'host-a'),
    fresh: true,
    migrations: migrations({ status: 'failed', created_at: '2026-11-26T09:59:58.000000' }, { status: 'completed', created_at: '2026-11-26T10:00:01.000000' }),
    expect: { final: true, outcome: 'success', reason: /migration 2 completed/ },
  },
  {
    name: 'os-migrations refused (403): from 2.62 the event\'s hostId equals the server\'s: rolled back',
    nova: 'rollback leaves instance.host at the source; hostId = sha224(project + host)',
    action: liveMigration('host-a'),
    server: server('ACTIVE', null, null, 'host-a'),
    fresh: true,
    migrations: refused,
    expect: { final: true, outcome: 'failure', reason: /rolled back: the server is still on the host compute_live_migration ran on/ },
  },
  {
    name: 'os-migrations refused by an HTML page (a firewall, a gateway) for the first time: a failed read, asked again',
    nova: 'migrations.py answers no HTML: the page is from in front of nova-api, and may be a blip',
    action: liveMigration('host-a'),
    server: server('ACTIVE', null, null, 'host-b'),
    fresh: true,
    migrations: pageRefused,
    expect: { final: false, next: null, pollFailed: true, reason: /the migration record read was refused \(403 Forbidden: an HTML page .*\); asking again/ },
  },
  {
    name: 'os-migrations refused by such a page again: the refusal counts, the hostId decides',
    nova: '(same)',
    action: liveMigration('host-a'),
    server: server('ACTIVE', null, null, 'host-b'),
    fresh: true,
    migrations: pageRefused,
    memory: { migrationsRefusedAnswers: 1 },
    expect: { final: true, outcome: 'success', reason: /moved to another host/ },
  },
  {
    name: 'a live migration whose record stays queued, the server saved with no task state 3 min ago: abandoned, a failure',
    nova: 'manager.py _init_instance, task_state migrating: _reset_live_migration clears the task state and aborts only a running migration, leaving a queued record as it is',
    action: liveMigration('host-a'),
    server: savedAt('ACTIVE', '2026-11-26T10:03:00Z'),
    fresh: true,
    migrations: migrations({ status: 'queued' }),
    elapsed: 6 * 60_000,
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: migration 1 queued: abandoned, the server has had no task state for 3 min: its source's nova-compute likely started again before the migration ran/ },
  },
  {
    name: '... saved 10 s ago: a rollback marks its record a moment later, it waits',
    nova: 'manager.py _rollback_live_migration clears the task state, then sets the record\'s status',
    action: liveMigration('host-a'),
    server: savedAt('ACTIVE', '2026-11-26T10:05:50Z'),
    fresh: true,
    migrations: migrations({ status: 'preparing' }),
    elapsed: 6 * 60_000,
    expect: { final: false, next: null, reason: /^live-migration: events finished, migration 1 preparing$/ },
  },
  {
    name: 'os-migrations refused earlier, read now: the record decides',
    nova: '_rollback_live_migration: migration failed',
    action: liveMigration('host-a'),
    server: server('ACTIVE', null, null, 'host-b'),
    fresh: true,
    migrations: migrations({ status: 'failed' }),
    memory: { migrationsReadable: false, migrationsRefusedAnswers: 2 },
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: migration 1 failed: rolled back$/ },
  },
  {
    name: 'os-migrations refused earlier, not read yet in this poll: asked again',
    nova: '(same)',
    action: liveMigration('host-a'),
    server: server('ACTIVE', null, null, 'host-b'),
    fresh: true,
    memory: { migrationsReadable: false, migrationsRefusedAnswers: 1 },
    expect: { final: false, next: 'migrations' },
  },
  {
    name: 'hostIds hashed with different projects are not compared: success with a caveat',
    nova: 'instance_actions.py: the event hostId uses the action\'s project (the admin\'s)',
    action: found({ ...(liveMigration('host-a') as { action: InstanceAction }).action, project_id: 'p-admin' }),
    server: server('ACTIVE', null, null, 'host-a'),
    fresh: true,
    migrations: refused,
    expect: { final: true, outcome: 'success', reason: /result not verifiable without os-migrations \(admin\) or a comparable event hostId \(the event's hostId is hashed with another project\)/ },
  },
  {
    name: 'neither visible (2.60, no admin): success that says it is not verifiable',
    nova: 'Huawei Cloud: 2.60 at most, os-migrations admin only',
    action: found(doc('live-migration', [ev('compute_live_migration', DONE)])),
    server: server('ACTIVE'),
    fresh: true,
    migrations: refused,
    expect: { final: true, outcome: 'success', reason: /result not verifiable without os-migrations \(admin\) or a comparable event hostId \(no event hostId below microversion 2\.62\)/ },
  },
  {
    name: 'a rolled-back live migration at 2.60 without os-migrations: its destination\'s rollback event shows it, a failure',
    nova: 'manager.py _rollback_live_migration casts rollback_live_migration_at_destination (wrap_instance_event) where the destination holds what to clean up; no other path calls it',
    action: found(doc('live-migration', [
      ev('conductor_live_migrate_instance', DONE),
      ev('compute_live_migration', DONE),
      ev('compute_pre_live_migration', DONE),
      ev('compute_rollback_live_migration_at_destination', DONE),
    ])),
    server: server('ACTIVE'),
    fresh: true,
    migrations: refused,
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: rolled back: the destination ran compute_rollback_live_migration_at_destination$/ },
  },
  {
    name: '... whose server was saved ACTIVE 10 s ago: its rollback event may be still to come, looked for a minute',
    nova: 'manager.py _rollback_live_migration casts rollback_live_migration_at_destination, then clears the task state; the destination starts the event as it takes the cast',
    action: found(doc('live-migration', [
      ev('conductor_live_migrate_instance', DONE),
      ev('compute_live_migration', DONE),
      ev('compute_pre_live_migration', DONE),
    ])),
    server: savedAt('ACTIVE', '2026-11-26T10:05:50Z'),
    fresh: true,
    migrations: refused,
    elapsed: 6 * 60_000,
    expect: { final: false, next: null, reason: /^live-migration: events finished, server ACTIVE; looking 50 s more for compute_rollback_live_migration_at_destination, which the source casts/ },
  },
  {
    name: '... saved a minute ago with no rollback event: success that says it is not verifiable',
    nova: '(same)',
    action: found(doc('live-migration', [
      ev('conductor_live_migrate_instance', DONE),
      ev('compute_live_migration', DONE),
      ev('compute_pre_live_migration', DONE),
    ])),
    server: savedAt('ACTIVE', '2026-11-26T10:05:00Z'),
    fresh: true,
    migrations: refused,
    elapsed: 6 * 60_000,
    expect: { final: true, outcome: 'success', reason: /result not verifiable without os-migrations \(admin\) or a comparable event hostId \(no event hostId below microversion 2\.62\)$/ },
  },
  {
    name: '... saved again and again, a minute past the deadline: the wait for its rollback event holds it no longer',
    nova: '(same); a server whose updated_at keeps moving would otherwise hold a watch past its deadline for good',
    action: found(doc('live-migration', [
      ev('conductor_live_migrate_instance', DONE),
      ev('compute_live_migration', DONE),
      ev('compute_pre_live_migration', DONE),
    ])),
    server: savedAt('ACTIVE', '2026-11-26T10:11:50Z'),
    fresh: true,
    migrations: refused,
    deadline: 10 * 60_000,
    elapsed: 12 * 60_000,
    expect: { final: true, outcome: 'success', reason: /result not verifiable without os-migrations/ },
  },
  {
    name: '... but not below 2.51, where a non-admin sees no event to wait for',
    nova: 'instance_actions.py show: events only from 2.51 to the owner',
    action: found(doc('live-migration', undefined)),
    server: savedAt('ACTIVE', '2026-11-26T10:05:50Z'),
    fresh: true,
    migrations: refused,
    elapsed: 6 * 60_000,
    expect: { final: true, outcome: 'success', reason: /result not verifiable without os-migrations/ },
  },
  {
    name: 'a live migration its source\'s nova-compute aborted as it started again, at 2.60 without os-migrations: a failure',
    nova: 'manager.py _init_instance, task_state migrating: _reset_live_migration calls live_migration_abort (wrap_instance_event), written into the newest action (db action_event_start, a context without a project), marks the migration error and clears the task state',
    action: found(doc('live-migration', [
      ev('conductor_live_migrate_instance', DONE),
      ev('compute_live_migration', DONE),
      ev('compute_pre_live_migration', DONE),
      ev('compute_live_migration_abort', DONE),
    ])),
    server: savedAt('ACTIVE', '2026-11-26T10:05:50Z'),
    fresh: true,
    migrations: refused,
    elapsed: 6 * 60_000,
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: aborted: its source's nova-compute started again during the migration and ran compute_live_migration_abort$/ },
  },
  {
    name: '... also where the event\'s hostId is hashed with an admin\'s project, not the owner\'s',
    nova: '(same); instance_actions.py hashes the event hostId with the action\'s project',
    action: found(doc('live-migration', [
      ev('compute_live_migration', DONE, 'Success', { hostId: 'host-x' }),
      ev('compute_rollback_live_migration_at_destination', DONE, 'Success', { hostId: 'host-y' }),
    ], { project_id: 'p-admin' })),
    server: server('ACTIVE', null, null, 'host-a'),
    fresh: true,
    migrations: refused,
    expect: { final: true, outcome: 'failure', reason: /rolled back: the destination ran compute_rollback_live_migration_at_destination$/ },
  },
  {
    name: 'an evacuation whose record an admin cannot find: success that says so',
    nova: 'nova-manage db archive_deleted_rows purges migration records',
    action: found(doc('evacuate', [ev('compute_rebuild_instance', DONE)])),
    server: server('ACTIVE'),
    fresh: true,
    migrations: migrations({ status: 'done', migration_type: 'live-migration' }),
    expect: { final: true, outcome: 'success', reason: /result not verifiable: no migration record of it$/ },
  },
  {
    name: 'a cold migration without os-migrations: success that says so',
    nova: 'conductor MigrationTask',
    action: found(doc('migrate', [ev('compute_prep_resize', DONE), ev('compute_resize_instance', DONE), ev('compute_finish_resize', DONE)])),
    server: server('VERIFY_RESIZE'),
    fresh: true,
    migrations: refused,
    expect: { final: true, outcome: 'success', reason: /result not verifiable without os-migrations \(admin\)$/ },
  },

  // --- trap 8: the not-found grace ---
  {
    name: 'an early 404 is not an outcome',
    nova: 'a create is recorded only once scheduled (conductor schedule_and_build_instances)',
    action: nova404,
    memory: { everFound: false },
    elapsed: 30_000,
    expect: { final: false },
  },
  {
    name: 'the first 404 after downtime (tracking began long ago) is not an outcome: the window counts from it',
    nova: '(same)',
    action: nova404,
    memory: { everFound: false },
    elapsed: 60 * 60_000,
    expect: { final: false },
  },
  {
    name: 'the API\'s own 404 to several polls over two minutes: the server is read first',
    nova: 'conductor/manager.py schedule_and_build_instances records the create only once scheduled',
    action: nova404,
    memory: notFoundWindowOver,
    expect: { final: false, next: 'server' },
  },
  {
    // A deadline of two minutes and a little more meets that poll: seen from a daemon on a 15 s schedule.
    name: '... the deadline reached at that poll: a timeout that says where the action stands, not the read the poll was about to make',
    nova: 'the contract: timeout is "not finished within the watch\'s deadline"',
    action: nova404,
    memory: notFoundWindowOver,
    elapsed: 2 * 60_000 + 2000,
    deadline: 2 * 60_000 + 2000,
    expect: { final: true, outcome: 'timeout', reason: /^not finished 2 min 2 s after tracking began: not visible yet \(404: Action req-1 not found\)$/ },
  },
  {
    name: 'the API\'s own 404 to several polls over two minutes, its server ACTIVE, is not_found',
    nova: 'instance_actions.py show: "Action %s not found"',
    action: nova404,
    server: server('ACTIVE'),
    memory: notFoundWindowOver,
    expect: { final: true, outcome: 'not_found', reason: /answered "not found" to 3 polls over 2 min: Action req-1 not found/ },
  },
  {
    name: '... its server gone too: not_found, saying that the server is gone and that a delete may record no action',
    nova: 'a wrong server id; compute/api.py _delete: a server not yet on a host, or being deleted, is deleted with no action recorded',
    action: nova404,
    server: gone,
    memory: notFoundWindowOver,
    expect: { final: true, outcome: 'not_found', reason: /Action req-1 not found; its server is not found either: deleted \(a delete of a server not yet on a host, or during another delete, records no action, and has done its work\) or the server id is wrong$/ },
  },
  {
    name: '... its server BUILD, task_state scheduling: is any action recorded?',
    nova: 'servers.py show of a build request: BUILD, task_state scheduling',
    action: nova404,
    server: server('BUILD', 'scheduling'),
    memory: notFoundWindowOver,
    expect: { final: false, next: 'actions' },
  },
  {
    name: '... none: the create is not recorded yet, a scheduler backlogged by a wave of creates',
    nova: 'schedule_and_build_instances: _schedule_instances, then InstanceAction.action_start',
    action: nova404,
    server: server('BUILD', 'scheduling'),
    actions: list(),
    memory: { everFound: false, firstNotFoundAt: iso(T0 + 1000 - 10 * 60_000), notFoundAnswers: 30 },
    expect: { final: false, next: null, reason: /^not visible yet \(404: Action req-1 not found\): the server is BUILD \(task_state scheduling\) with no action recorded, and Nova records its create once the scheduler has placed it$/ },
  },
  {
    name: '... which times out at the deadline, saying so',
    nova: '(same)',
    action: nova404,
    server: server('BUILD', 'scheduling'),
    actions: list(),
    memory: { everFound: false, firstNotFoundAt: iso(T0 + 1000 - 10 * 60_000), notFoundAnswers: 30 },
    elapsed: 10 * 60_000,
    deadline: 5 * 60_000,
    expect: { final: true, outcome: 'timeout', reason: /^not finished 5 min after tracking began: not visible yet .*with no action recorded/ },
  },
  {
    name: '... an action recorded: the create is, and the watched id is not it',
    nova: 'a request id of another call',
    action: nova404,
    server: server('BUILD', 'scheduling'),
    actions: list(['create', 'req-9', START]),
    memory: notFoundWindowOver,
    expect: { final: true, outcome: 'not_found' },
  },
  {
    name: '... its server ERROR with no task state: is any action recorded?',
    nova: 'conductor/manager.py schedule_and_build_instances: _recheck_quota failing sets ERROR before action_start',
    action: nova404,
    server: quotaRefused,
    memory: notFoundWindowOver,
    expect: { final: false, next: 'actions' },
  },
  {
    name: '... none: the conductor refused the create before recording it, a failure with its fault',
    nova: '(same): _cleanup_build_artifacts sets vm_state ERROR with the fault; no InstanceAction is ever written',
    action: nova404,
    server: quotaRefused,
    actions: list(),
    memory: notFoundWindowOver,
    expect: {
      final: true,
      outcome: 'failure',
      reason: /^create failed: server ERROR: Quota exceeded for instances: Requested 1, but already used 10 of 10 instances; no action is recorded for the server: Nova set it ERROR before recording its create/,
    },
  },
  {
    name: '... the action list refused by policy: not_found, as the contract has it, with what the server showed and what could not be told',
    nova: 'a policy file that allows os-instance-actions:show and not os-instance-actions:list (nova/policies/instance_actions.py)',
    action: nova404,
    server: quotaRefused,
    actions: { kind: 'refused', message: 'GET x → 403 Policy doesn\'t allow os_compute_api:os-instance-actions:list to be performed.' },
    memory: notFoundWindowOver,
    expect: {
      final: true,
      outcome: 'not_found',
      reason: /^the API answered "not found" to 3 polls over 2 min: Action req-1 not found; its server is ERROR \(Quota exceeded for instances: Requested 1, but already used 10 of 10 instances\) with no task state, as Nova leaves one whose create the conductor refused before recording it \(.*\), but whether an action is recorded for it is not known: the action list is refused \(GET x → 403 Policy/,
    },
  },
  {
    name: '... an action recorded: the server\'s ERROR is that action\'s, and the watched id is not it',
    nova: 'a build that failed on a compute host, with its create recorded',
    action: nova404,
    server: server('ERROR', null, { code: 500, message: 'No valid host was found.' }),
    actions: list(['create', 'req-9', START]),
    memory: notFoundWindowOver,
    expect: { final: true, outcome: 'not_found' },
  },
  {
    name: '... a server read that failed: not an outcome yet',
    nova: 'a 503 from the API worker',
    action: nova404,
    server: { kind: 'error', message: 'GET x → 503' },
    memory: notFoundWindowOver,
    expect: { final: false, pollFailed: true, reason: /the server read failed: GET x → 503$/ },
  },
  {
    name: '... BUILD with the create scheduled (task_state spawning): not_found',
    nova: 'the build request gone, the instance in its cell',
    action: nova404,
    server: server('BUILD', 'spawning'),
    memory: notFoundWindowOver,
    expect: { final: true, outcome: 'not_found' },
  },
  {
    name: 'two minutes but only two answers: not yet',
    nova: '(same)',
    action: nova404,
    memory: { everFound: false, firstNotFoundAt: iso(T0 - 10 * 60_000), notFoundAnswers: 1 },
    elapsed: 1000,
    expect: { final: false },
  },
  {
    name: 'a 404 after the action was once found is a glitch, not not_found: a failed poll',
    nova: 'db read through a cell that blips',
    action: nova404,
    memory: { everFound: true },
    elapsed: 10 * 60_000,
    expect: { final: false, pollFailed: true },
  },

  // --- trap 10: a newer action owns the server's state ---
  {
    name: 'server ERROR from a newer action: the watched one\'s own events judge it',
    nova: 'a reboot after the resize fails and leaves the server ERROR',
    ...settledResize([ev('compute_prep_resize', DONE), ev('compute_resize_instance', DONE), ev('compute_finish_resize', DONE)]),
    server: server('ERROR', null, { code: 500, message: 'reboot failed' }),
    actions: list(['reboot', 'req-2', '2026-11-26T11:00:00.000000'], ['resize', 'req-1', START]),
    migrations: migrations({ status: 'finished', migration_type: 'resize' }),
    expect: { final: true, outcome: 'success', reason: /the server's ERROR belongs to a newer action \(reboot req-2\)/ },
  },
  {
    name: '... with the action list refused by policy, the ERROR is taken as the watched action\'s, and the reason says so',
    nova: 'a policy file that allows os-instance-actions:show and not os-instance-actions:list (nova/policies/instance_actions.py)',
    ...settledResize([ev('compute_prep_resize', DONE), ev('compute_resize_instance', DONE), ev('compute_finish_resize', DONE)]),
    server: server('ERROR', null, { code: 500, message: 'reboot failed' }),
    actions: { kind: 'refused', message: 'GET x → 403 Policy doesn\'t allow os_compute_api:os-instance-actions:list to be performed.' },
    expect: { final: true, outcome: 'failure', reason: /^resize failed: server ERROR: reboot failed; whether the server's ERROR is a newer action's is not known: the action list is refused \(GET x → 403 Policy/ },
  },
  {
    name: 'task_state of a newer action: the watched one is over',
    nova: 'compute/api.py delete: check_instance_state(task_state=None) does not apply to delete',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])),
    server: server('ACTIVE', 'deleting'),
    actions: list(['delete', 'req-2', '2026-11-26T11:00:00.000000'], ['reboot', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /belongs to a newer action \(delete req-2\)/ },
  },
  {
    name: 'the list not holding the watched request: newer by start time',
    nova: 'a paged list (2.58 limit)',
    action: found(doc('reboot', [ev('compute_reboot_instance', DONE)])),
    server: server('ERROR'),
    actions: list(['stop', 'req-3', '2026-11-26T12:00:00.000000']),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /newer action \(stop req-3\)/ },
  },
  {
    name: 'a failed build locked afterwards: a lock owns no state, the ERROR is the create\'s',
    nova: 'compute/api.py lock: only instance.locked changes (event api_lock)',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: server('ERROR', null, { code: 500, message: 'No valid host was found.' }),
    actions: list(['lock', 'req-2', '2026-11-26T10:05:00.000000'], ['create', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^create failed: server ERROR: No valid host was found\.$/ },
  },
  {
    name: 'a lock of a server ERROR from an older failure: a lock sets no state, its own event judges it',
    nova: 'compute/api.py lock has no check_instance_state; operators lock broken servers',
    action: found(doc('lock', [ev('api_lock', DONE)])),
    server: server('ERROR', null, { code: 500, message: 'older failure' }),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /^lock: 1 event succeeded in 9.5 s, server ERROR; the server's ERROR is not the lock's, which sets no state$/ },
  },
  statelessOnErrored('extend_volume', 'compute_extend_volume', 'compute/api.py external_instance_event records extend_volume whatever the vm_state'),
  statelessOnErrored('detach_share', 'compute_deny_share', 'compute/manager.py deny_share (2.97) runs under wrap_instance_event and sets neither vm_state nor task_state'),
  {
    name: 'a lock during a resize: the resize\'s task state does not keep the lock waiting',
    nova: 'lock may come at any task state, and is over as api_lock ends',
    action: found(doc('lock', [ev('api_lock', DONE)])),
    server: server('RESIZE', 'resize_migrating'),
    fresh: true,
    expect: { final: true, outcome: 'success', reason: /server RESIZE; the server's RESIZE \(task_state resize_migrating\) is not the lock's, which sets no state$/ },
  },
  {
    name: 'a lock read before the server is read again after it',
    nova: 'events are written by the compute host independently of the API reads',
    action: found(doc('lock', [ev('api_lock', DONE)])),
    server: server('ACTIVE'),
    expect: { final: false, next: 'action' },
  },
  {
    name: 'an attach_volume whose event failed on a server ERROR from before: its event, not the ERROR, is the failure',
    nova: 'manager.py attach_volume: the event ends Error, the server keeps its state',
    action: found(doc('attach_volume', [ev('compute_attach_volume', DONE, 'Error')])),
    server: server('ERROR', null, { code: 500, message: 'older failure' }),
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^attach_volume failed: compute_attach_volume Error; the server's ERROR is not the attach_volume's, which sets no state$/ },
  },
  {
    name: 'a resize between steps, locked meanwhile: its task state is still its own',
    nova: 'manager.py prep_resize casts resize_instance with task_state resize_prep; lock may come at any task state',
    action: found(doc('resize', [ev('compute_prep_resize', DONE)])),
    server: server('RESIZE', 'resize_prep'),
    actions: list(['lock', 'req-2', '2026-11-26T10:00:05.000000'], ['resize', 'req-1', START]),
    migrations: refused,
    fresh: true,
    expect: { final: false, next: null, reason: /task_state resize_prep \(between steps\)/ },
  },
  {
    name: 'a live migration still running when a force-complete is recorded: the migrating task state is still the migration\'s',
    nova: 'manager.py live_migration_force_complete only asks the driver; the task state stays the live migration\'s',
    action: liveMigration('host-a'),
    server: server('MIGRATING', 'migrating', null, 'host-a'),
    actions: list(['live_migration_force_complete', 'req-2', '2026-11-26T10:05:00.000000'], ['live-migration', 'req-1', START]),
    migrations: refused,
    fresh: true,
    expect: { final: false, next: null, reason: /task_state migrating \(between steps\)/ },
  },
  {
    name: 'a failed build being deleted: the ERROR is older than the delete that runs',
    nova: 'compute/api.py _delete leaves vm_state; terminate_instance sets ERROR only when it fails, and reverts_task_state then clears deleting',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: server('ERROR', 'deleting', { code: 500, message: 'Build of instance aborted' }),
    actions: list(['delete', 'req-2', '2026-11-26T10:00:20.000000'], ['create', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^create failed: server ERROR: Build of instance aborted; its task_state deleting belongs to a newer action \(delete req-2\)$/ },
  },
  {
    name: 'a build cut short by a delete, the server still BUILD: waits for the delete',
    nova: 'manager.py _do_build_and_run_instance returns FAILED on UnexpectedDeletingTaskStateError, its event Success',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: server('BUILD', 'deleting'),
    actions: list(['delete', 'req-2', '2026-11-26T10:00:05.000000'], ['create', 'req-1', START]),
    fresh: true,
    expect: { final: false, next: null, reason: /BUILD \(task_state deleting\)/ },
  },
  {
    name: 'a build seen with no task state and no events (below 2.51): BUILD is never an end',
    nova: 'manager.py _do_build_and_run_instance saves vm_state building, task_state None, before the build sets its next task state',
    action: found(doc('create', undefined)),
    server: server('BUILD'),
    fresh: true,
    expect: { final: false, next: null, reason: /^create: server still BUILD$/ },
  },
  {
    name: 'a snapshot a delete cut short ends its event Success: it waits for the delete, not a success',
    nova: 'manager.py _snapshot_instance catches UnexpectedDeletingTaskStateError ("Instance disappeared during snapshot") and deletes the image',
    action: found(doc('createImage', [ev('compute_snapshot_instance', DONE)])),
    server: server('ACTIVE', 'deleting'),
    actions: list(['delete', 'req-2', '2026-11-26T10:00:05.000000'], ['createImage', 'req-1', START]),
    fresh: true,
    expect: { final: false, next: null, reason: /^createImage: cut short by delete req-2, started 4\.5 s before its last event finished; server ACTIVE \(task_state deleting\)$/ },
  },
  {
    name: 'ERROR while a newer action runs, a finished one between: that one may have set it',
    nova: 'a reboot after the resize fails (ERROR, task_state cleared), then a delete starts',
    ...settledResize([ev('compute_prep_resize', DONE), ev('compute_resize_instance', DONE), ev('compute_finish_resize', DONE)]),
    server: server('ERROR', 'deleting', { code: 500, message: 'reboot failed' }),
    actions: list(['delete', 'req-3', '2026-11-26T12:00:00.000000'], ['reboot', 'req-2', '2026-11-26T11:00:00.000000'], ['resize', 'req-1', START]),
    migrations: migrations({ status: 'finished', migration_type: 'resize' }),
    expect: { final: true, outcome: 'success', reason: /the server's ERROR belongs to a newer action \(reboot req-2\)/ },
  },
  // --- rows a hand-made mutation test of verdict.ts and judgement.ts found missing ---
  {
    name: 'an action that ended after the deadline by the cloud\'s clock, 5 min ahead, but before it on this host\'s: its real verdict',
    nova: 'a compute host and API on NTP, this host\'s clock behind theirs; the daemon sees the end an hour late',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T11:02:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    deadline: HOUR,
    elapsed: 2 * HOUR,
    cloudAhead: 5 * 60_000,
    expect: { final: true, outcome: 'success' },
  },
  {
    name: 'a long-running event whose server read failed is a failed poll, though the verdict waits',
    nova: 'a cell or gateway that fails GET /servers/{id} while compute_resize_instance runs',
    action: found(doc('resize', [ev('compute_resize_instance', null)])),
    server: { kind: 'error', message: '503 Service Unavailable' },
    elapsed: 11 * 60_000,
    expect: { final: false, next: null, pollFailed: true },
  },
  {
    name: 'a create whose server has answered 404 twice over 30 s: not yet gone for good, at least 3 answers are',
    nova: 'a gateway or cell blip of two polls; SERVER_GONE_MIN_ANSWERS',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])),
    server: gone,
    memory: { serverGoneSince: iso(T0 + 1000 - 30_000), serverGoneAnswers: 1 },
    expect: { final: false, next: null, pollFailed: true, reason: /the server answers 404 \(2 times\)/ },
  },
  {
    name: 'an attach_interface with no event 6 min by this host\'s clock, 11 min by the cloud\'s 5 min ahead, whose time it started by: a failure',
    nova: 'compute/api.py attach_interface: no event ever; this host\'s clock behind the cloud\'s',
    action: found(doc('attach_interface', [])),
    elapsed: 6 * 60_000,
    cloudAhead: 5 * 60_000,
    expect: { final: true, outcome: 'failure', reason: /^attach_interface failed: no event started in 10 min/ },
  },
  {
    name: 'an event running 5 min, the cloud\'s clock set an hour forward since it started: 5 min, no look yet',
    nova: 'a controller\'s clock put right (NTP) or a failover to one whose clock is ahead, while nova-compute runs the step',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    elapsed: 5 * 60_000,
    cloudAhead: HOUR,
    cloudSet: HOUR,
    expect: { final: false, next: null, reason: /^create: compute__do_build_and_run_instance running$/ },
  },
  {
    name: 'an event running 15 min, the cloud\'s clock set an hour back since it started: look, running for 14 min 59 s',
    nova: '(same), the clock set back',
    action: found(doc('create', [ev('compute__do_build_and_run_instance', null)])),
    elapsed: 15 * 60_000,
    cloudAhead: -HOUR,
    cloudSet: -HOUR,
    expect: { final: false, next: 'look', reason: /compute__do_build_and_run_instance running for 14 min 59 s; looking at the server/ },
  },
  {
    name: 'an event started 4 min ago, after the cloud\'s clock was set an hour forward: stamped on the clock as set, 4 min',
    nova: 'a resize\'s next step, started by nova-compute after the setting',
    action: found(doc('resize', [ev('compute_prep_resize', '2026-11-26T10:05:00.000000'), { event: 'compute_resize_instance', start_time: '2026-11-26T11:11:00.000000', finish_time: null, result: null }])),
    elapsed: 15 * 60_000,
    cloudAhead: HOUR,
    cloudSet: HOUR,
    expect: { final: false, next: null, reason: /^resize: compute_resize_instance running$/ },
  },
  {
    name: 'an event started 1 min ago, after the cloud\'s clock was set an hour back: 1 min, no look, not "running for 1 h 1 min"',
    nova: 'a resize\'s next step, started by nova-compute after a controller\'s clock was put right (NTP) an hour back; seen at 10 min',
    action: found(doc('resize', [ev('compute_prep_resize', '2026-11-26T10:05:00.000000'), { event: 'compute_resize_instance', start_time: '2026-11-26T09:14:00.000000', finish_time: null, result: null }])),
    elapsed: 15 * 60_000,
    cloudAhead: -HOUR,
    cloudSet: -HOUR,
    cloudSetAt: '2026-11-26T09:10:00Z',
    seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z', '2026-11-26T10:05:00Z'],
    expect: { final: false, next: null, reason: /^resize: compute_resize_instance running$/ },
  },
  {
    name: '... one that started 20 min before the setting back, seen running then: 25 min, look',
    nova: '(same), the step started before the setting, seen at 30 min',
    action: found(doc('resize', [ev('compute_prep_resize', '2026-11-26T10:05:00.000000'), { event: 'compute_resize_instance', start_time: '2026-11-26T10:10:00.000000', finish_time: null, result: null }])),
    elapsed: 35 * 60_000,
    cloudAhead: -HOUR,
    cloudSet: -HOUR,
    cloudSetAt: '2026-11-26T09:30:00Z',
    seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z', '2026-11-26T10:05:00Z', '2026-11-26T10:10:00Z'],
    expect: { final: false, next: 'look', reason: /compute_resize_instance running for 25 min; looking at the server/ },
  },
  {
    name: 'an event started 64 min ago, after the cloud\'s clock was set an hour forward: look, running for 1 h 4 min, not 4 min',
    nova: 'a resize\'s next step, started by nova-compute after the setting, seen at 6 min, and stuck',
    action: found(doc('resize', [ev('compute_prep_resize', '2026-11-26T10:05:00.000000'), { event: 'compute_resize_instance', start_time: '2026-11-26T11:11:00.000000', finish_time: null, result: null }])),
    elapsed: 75 * 60_000,
    cloudAhead: HOUR,
    cloudSet: HOUR,
    cloudSetAt: '2026-11-26T10:06:00Z',
    expect: { final: false, next: 'look', reason: /compute_resize_instance running for 1 h 4 min; looking at the server/ },
  },
  {
    name: 'a reboot that took 1 h 5 min, the cloud\'s clock set an hour back while it ran: its success says 1 h 5 min, not 5 min',
    nova: 'a controller\'s clock put right (NTP) an hour back while nova-compute ran the step, whose end it stamped on the clock as set; seen at 10 min',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T10:05:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 65 * 60_000 + 10_000,
    cloudAhead: -HOUR,
    cloudSet: -HOUR,
    cloudSetAt: '2026-11-26T09:10:00Z',
    seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z'],
    expect: { final: true, outcome: 'success', reason: /^reboot: 1 event succeeded in 1 h 5 min( \d+ s)?, server ACTIVE$/ },
  },
  {
    name: 'a reboot that ended 2 min past its deadline, seen after the API came back on a controller whose clock is 10 min ahead: timeout, not success',
    nova: 'the API down from 11 min to 20 min across a failover to a controller 10 min ahead; the reboot\'s end stamped before it, seen at 20 min',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T10:12:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    deadline: 10 * 60_000,
    elapsed: 20 * 60_000 + 10_000,
    failingSince: 11 * 60_000,
    cloudAhead: 10 * 60_000,
    cloudSet: 10 * 60_000,
    cloudSetAt: '2026-11-26T10:20:00Z',
    expect: { final: true, outcome: 'timeout', reason: /^not finished within 10 min: it ended 12 min after tracking began, as success/ },
  },
  {
    name: 'a reboot that took 5 min, the cloud\'s clock set an hour forward while it ran: its success says 5 min, not 1 h 5 min',
    nova: 'a controller\'s clock put right (NTP) while nova-compute ran the step, whose end it stamped on the clock as set',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T11:05:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    elapsed: 5 * 60_000 + 10_000,
    cloudAhead: HOUR,
    cloudSet: HOUR,
    expect: { final: true, outcome: 'success', reason: /^reboot: 1 event succeeded in 5 min 10 s, server ACTIVE$/ },
  },
  // Each setting's boundary as engine.ts #cloudSet writes it: set back, the cloud's time at the measure
  // before (a minute apart), as set; forward, its time when the measure found it, as it stood.
  {
    name: 'an event started 7 min ago, between two settings of the cloud\'s clock, an hour back and then 10 min forward: 7 min, no look, not "running for 1 h 7 min"',
    nova: 'a resize\'s next step, started by nova-compute at 5 min, after a controller\'s clock was put right an hour back at 3 min; a failover at 8 min to one 10 min ahead of it',
    action: found(doc('resize', [ev('compute_prep_resize', '2026-11-26T10:02:00.000000'), { event: 'compute_resize_instance', start_time: '2026-11-26T09:05:00.000000', finish_time: null, result: null }])),
    elapsed: 12 * 60_000,
    cloudAhead: -50 * 60_000,
    settings: [
      { ms: -HOUR, at: '2026-11-26T09:02:05Z', seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z', '2026-11-26T10:02:00Z'] },
      { ms: 10 * 60_000, at: '2026-11-26T09:08:05Z' },
    ],
    expect: { final: false, next: null, reason: /^resize: compute_resize_instance running$/ },
  },
  {
    name: '... an hour back and then 10 min back: 7 min, no look, not "running for 1 h 7 min"',
    nova: '(same), the failover to one 10 min behind',
    action: found(doc('resize', [ev('compute_prep_resize', '2026-11-26T10:02:00.000000'), { event: 'compute_resize_instance', start_time: '2026-11-26T09:05:00.000000', finish_time: null, result: null }])),
    elapsed: 12 * 60_000,
    cloudAhead: -70 * 60_000,
    settings: [
      { ms: -HOUR, at: '2026-11-26T09:02:05Z', seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z', '2026-11-26T10:02:00Z'] },
      { ms: -10 * 60_000, at: '2026-11-26T08:57:05Z', seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z', '2026-11-26T10:02:00Z', '2026-11-26T09:05:00Z'] },
    ],
    expect: { final: false, next: null, reason: /^resize: compute_resize_instance running$/ },
  },
  {
    name: '... one that started before both, 11 min ago: look, running for 11 min',
    nova: '(same), the step started at 1 min, on the clock as it stood before either',
    action: found(doc('resize', [ev('compute_prep_resize', '2026-11-26T10:00:30.000000'), { event: 'compute_resize_instance', start_time: '2026-11-26T10:01:00.000000', finish_time: null, result: null }])),
    elapsed: 12 * 60_000,
    cloudAhead: -70 * 60_000,
    settings: [
      { ms: -HOUR, at: '2026-11-26T09:02:05Z', seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z', '2026-11-26T10:00:30Z', '2026-11-26T10:01:00Z'] },
      { ms: -10 * 60_000, at: '2026-11-26T08:57:05Z', seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z', '2026-11-26T10:00:30Z', '2026-11-26T10:01:00Z'] },
    ],
    expect: { final: false, next: 'look', reason: /compute_resize_instance running for 11 min; looking at the server/ },
  },
  {
    name: 'a reboot that ended 2 min past its deadline, on a compute node\'s clock 20 s ahead, after the cloud\'s clock was set an hour back: timeout, not a success an hour early',
    nova: 'a controller\'s clock put right (NTP) an hour back at 4 min; nova-compute, its clock 20 s ahead of the controllers\' (not measured: the API\'s Date is theirs), stamped the end at 12 min, seen 5 s later',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T09:12:20.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    deadline: 10 * 60_000,
    elapsed: 12 * 60_000 + 5000,
    cloudAhead: -HOUR,
    cloudSet: -HOUR,
    cloudSetAt: '2026-11-26T09:03:05Z',
    seenBefore: ['2026-11-26T10:00:00Z', '2026-11-26T10:00:01Z'],
    expect: { final: true, outcome: 'timeout', reason: /^not finished within 10 min: it ended 12 min 5 s after tracking began, as success/ },
  },
  {
    name: 'an attach_interface with no event for 5 min, the cloud\'s clock set an hour forward since it started: it waits',
    nova: 'compute/api.py attach_interface, nova-compute slow to take the call; a controller\'s clock put right meanwhile',
    action: found(doc('attach_interface', [])),
    elapsed: 5 * 60_000,
    cloudAhead: HOUR,
    cloudSet: HOUR,
    expect: { final: false, next: null, reason: /^attach_interface: no event started yet \(a failure if none has in 10 min, 5 min more\)$/ },
  },
  {
    name: 'a delete whose event was left open, its server gone for good, with the action message Error: a failure',
    nova: 'an earlier row of the step failed (message Error, never cleared) and its retry was left open by a compute restart',
    action: found(doc('delete', [ev('compute_terminate_instance', null)], { message: 'Error' })),
    server: gone,
    memory: { stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000), serverGoneSince: iso(T0 + 15 * 60_000 - 30_000), serverGoneAnswers: 2 },
    elapsed: 15 * 60_000,
    expect: { final: true, outcome: 'failure', reason: /^delete failed: action message "Error"; server deleted/ },
  },
  {
    name: 'two events running, the older for 11 min: the stall clock counts from the older one',
    nova: 'conductor_live_migrate_instance wraps compute_check_can_live_migrate_destination: nested events run at once',
    action: found(doc('live-migration', [
      ev('conductor_live_migrate_instance', null),
      { event: 'compute_check_can_live_migrate_destination', start_time: '2026-11-26T10:10:30.000000', finish_time: null, result: null },
    ])),
    elapsed: 11 * 60_000,
    expect: { final: false, next: 'look', reason: /running for 10 min 59 s; looking at the server/ },
  },
  {
    name: 'an action whose first event ended before the deadline and its last after: a timeout, judged by the last',
    nova: 'a reboot whose second step ran past the deadline',
    action: found(doc('reboot', [ev('compute_power_off_instance', '2026-11-26T10:30:00.000000'), ev('compute_reboot_instance', '2026-11-26T11:10:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    deadline: HOUR,
    elapsed: 2 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /its events finished 1 h 10 min after tracking began|ended 1 h 10 min after tracking began/ },
  },
  {
    name: 'events not visible (below 2.51): an action last updated after the deadline is a timeout, though it started before',
    nova: 'db action_event_finish updates the action\'s updated_at as each step ends',
    action: found(doc('reboot', undefined, { updated_at: '2026-11-26T11:10:00.000000' } as Partial<InstanceAction>)),
    server: server('ACTIVE'),
    fresh: true,
    deadline: HOUR,
    elapsed: 2 * HOUR,
    expect: { final: true, outcome: 'timeout' },
  },
  {
    name: 'a live migration whose events finished while its record is queued: not over',
    nova: 'manager.py live_migration sets the migration queued and hands _do_live_migration to a thread; compute_live_migration ends at once',
    action: liveMigration(),
    server: server('ACTIVE'),
    fresh: true,
    migrations: migrations({ status: 'queued' }),
    expect: { final: false, next: null, reason: /migration 1 queued/ },
  },
  {
    name: 'a live migration cancelled (live_migration_cancel): the record cancelled, every event Success: a failure',
    nova: 'manager.py _rollback_live_migration with migration_status cancelled after live_migration_abort',
    action: liveMigration(),
    server: server('ACTIVE'),
    fresh: true,
    migrations: migrations({ status: 'cancelled' }),
    expect: { final: true, outcome: 'failure', reason: /^live-migration failed: migration 1 cancelled: rolled back$/ },
  },
  {
    name: 'a failed step whose task state stays set, the server not ERROR: it waits for the state to clear, however long',
    nova: 'reverts_task_state clears the task state a moment after the failing step ends its event',
    action: found(doc('resize', [ev('compute_prep_resize', DONE, 'Error')], { message: 'Error' })),
    server: server('ACTIVE', 'resize_prep'),
    actions: onlyWatched,
    fresh: true,
    memory: { erroredSince: iso(T0 + 5 * 60_000 - 60_000) },
    elapsed: 5 * 60_000,
    expect: { final: false, next: null, reason: /^resize: server task_state resize_prep after a failed step \(compute_prep_resize Error\): finished once Nova clears it$/ },
  },
  {
    name: 'a resize revert across cells that failed after the instance mapping flipped back: the failed step, not a stopped compute service',
    nova: 'conductor/tasks/cross_cell_migrate.py RevertResizeTask: the conductor\'s row copied into the source cell open; rollback sets ERROR with a fault and finishes only the target cell\'s copy',
    action: found(doc('revertResize', [
      ev('conductor_revert_snapshot_based_resize', null),
      ev('compute_revert_snapshot_based_resize_at_dest', DONE, 'Error', { details: 'Timed out waiting for a reply' }),
    ], { message: 'Error' })),
    server: server('ERROR', null, { code: 500, message: 'Timed out waiting for a reply' }),
    actions: list(['revertResize', 'req-1', START]),
    fresh: true,
    elapsed: 15 * 60_000,
    memory: { erroredSince: iso(T0 + 15 * 60_000 - 30_000), stallCheckedAt: iso(T0 + 15 * 60_000 - 30_000) },
    expect: { final: true, outcome: 'failure', reason: /^revertResize failed: compute_revert_snapshot_based_resize_at_dest Error \(Timed out waiting for a reply\); server ERROR: Timed out waiting for a reply$/ },
  },
  {
    name: '... told once the server shows it, not after the 10 min a running step waits before the server is looked at',
    nova: '(same), read a second after the rollback',
    action: found(doc('revertResize', [
      ev('conductor_revert_snapshot_based_resize', null),
      ev('compute_revert_snapshot_based_resize_at_dest', DONE, 'Error', { details: 'Timed out waiting for a reply' }),
    ], { message: 'Error' })),
    server: server('ERROR', null, { code: 500, message: 'Timed out waiting for a reply' }),
    actions: list(['revertResize', 'req-1', START]),
    fresh: true,
    expect: { final: true, outcome: 'failure', reason: /^revertResize failed: compute_revert_snapshot_based_resize_at_dest Error/ },
  },
  {
    name: 'a rebuild the conductor failed with an error it does not list: REBUILD (task_state rebuilding) for good, a timeout that names the failed step',
    nova: 'conductor/manager.py rebuild_instance resets the task state for NoValidHost and a few others only; a MessagingTimeout leaves it',
    action: found(doc('rebuild', [ev('rebuild_server', DONE, 'Error')], { message: 'Error' })),
    server: server('REBUILD', 'rebuilding'),
    actions: onlyWatched,
    fresh: true,
    deadline: HOUR,
    elapsed: 2 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /rebuild: server task_state rebuilding after a failed step \(rebuild_server Error\): finished once Nova clears it/ },
  },
  {
    name: 'an action whose last event ended at the deadline exactly finished within it: its real verdict',
    nova: 'the contract: timeout is "not finished within the watch\'s deadline"',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T11:00:00.000000')])),
    server: server('ACTIVE'),
    fresh: true,
    deadline: HOUR,
    elapsed: 2 * HOUR,
    expect: { final: true, outcome: 'success' },
  },
  {
    name: '... still to be confirmed past the deadline: it waits for the server read, no timeout',
    nova: '(same), the daemon seeing the finished events only after downtime',
    action: found(doc('reboot', [ev('compute_reboot_instance', '2026-11-26T11:00:00.000000')])),
    deadline: HOUR,
    elapsed: 2 * HOUR,
    expect: { final: false, next: 'server' },
  },
];

describe('decide', () => {
  it.each(rows)('$name', (row) => {
    const verdict: Verdict = decide({
      ...NOTHING_READ,
      now: T0 + (row.elapsed ?? 1000),
      trackingSince: T0,
      deadlineMs: row.deadline ?? 6 * HOUR,
      cloudAheadMs: row.cloudAhead ?? 0,
      ...cloudSetting({ cloudClockSettings: row.settings ?? (row.cloudSet === undefined ? undefined : [{ ms: row.cloudSet, at: row.cloudSetAt, seenBefore: row.seenBefore }]) }),
      failingSince: row.failingSince === undefined ? null : T0 + row.failingSince,
      memory: { ...NOTHING, ...row.memory },
      lastAction: row.lastAction ?? null,
      action: row.action,
      server: row.server ?? NOTHING_READ.server,
      actionAfterServer: row.fresh ?? false,
      actions: row.actions ?? NOTHING_READ.actions,
      migrations: row.migrations ?? NOTHING_READ.migrations,
    });
    expect(verdict.final, verdict.reason).toBe(row.expect.final);
    if (row.expect.reason) expect(verdict.reason).toMatch(row.expect.reason);
    if (verdict.final && row.expect.final) expect(verdict.outcome).toBe(row.expect.outcome);
    if (!verdict.final && !row.expect.final) {
      if (row.expect.next !== undefined) expect(verdict.next).toBe(row.expect.next);
      if (row.expect.pollFailed !== undefined) expect(verdict.pollFailed).toBe(row.expect.pollFailed);
    }
  });

  it('every row names the Nova code path it comes from', () => {
    for (const row of rows) expect(row.nova.length).toBeGreaterThan(3);
  });
});

describe('memory', () => {
  const input = (action: ActionObservation, serverSeen: ServerObservation, memory: Partial<WatchMemory>, now = T0) =>
    decide({ ...NOTHING_READ, now, trackingSince: T0, deadlineMs: HOUR, memory: { ...NOTHING, ...memory }, lastAction: null, action, server: serverSeen }).memory;

  it('counts not-found answers from the first one, and forgets them once the action is found', () => {
    const first = input(nova404, NOTHING_READ.server, { everFound: false }, T0 + 5000);
    expect(first).toMatchObject({ firstNotFoundAt: iso(T0 + 5000), notFoundAnswers: 1, everFound: false });
    const second = input(nova404, NOTHING_READ.server, first, T0 + 9000);
    expect(second).toMatchObject({ firstNotFoundAt: iso(T0 + 5000), notFoundAnswers: 2 });
    expect(input(found(doc('create', [])), NOTHING_READ.server, second)).toMatchObject({ everFound: true, firstNotFoundAt: null, notFoundAnswers: 0 });
  });

  it('remembers each look at the server beside a running event, and since when it has been ERROR with no task state', () => {
    const running = found(doc('create', [ev('compute__do_build_and_run_instance', null)]));
    const first = input(running, server('ERROR'), {}, T0 + 600_000);
    expect(first).toMatchObject({ stallCheckedAt: iso(T0 + 600_000), erroredSince: iso(T0 + 600_000) });
    const again = input(running, server('ERROR'), first, T0 + 610_000);
    expect(again).toMatchObject({ stallCheckedAt: iso(T0 + 610_000), erroredSince: iso(T0 + 600_000) });
    expect(input(running, server('BUILD', 'spawning'), again, T0 + 620_000)).toMatchObject({ stallCheckedAt: iso(T0 + 620_000), erroredSince: null });
    // A poll that does not look keeps both; one that finds every event finished forgets the ERROR beside them.
    expect(input(running, NOTHING_READ.server, again)).toEqual(again);
    expect(input(found(doc('create', [ev('compute__do_build_and_run_instance', DONE)])), NOTHING_READ.server, again)).toMatchObject({ stallCheckedAt: iso(T0 + 610_000), erroredSince: null });
  });

  it('remembers since when a failed step has left the server ERROR with its task state, and forgets it once it does not', () => {
    const failed = found(unshelveImageGone);
    const first = input(failed, server('ERROR', 'unshelving', imageGoneFault), {}, T0 + 60_000);
    expect(first).toMatchObject({ erroredSince: iso(T0 + 60_000) });
    expect(input(failed, server('ERROR', 'unshelving', imageGoneFault), first, T0 + 70_000)).toMatchObject({ erroredSince: iso(T0 + 60_000) });
    expect(input(failed, server('SHELVED_OFFLOADED'), first, T0 + 70_000)).toMatchObject({ erroredSince: null });
    // Every event Success: ERROR with a task state is not this sign.
    expect(input(found(doc('unshelve', [ev('get_image_info', DONE)])), server('ERROR', 'unshelving'), {}, T0)).toMatchObject({ erroredSince: null });
  });

  it('leaves the memory it was given as it was: each read of one poll is judged against the memory from before the poll', () => {
    const before: WatchMemory = { ...NOTHING, serverGoneAnswers: 1, serverGoneSince: iso(T0) };
    const frozen = structuredClone(before);
    const lastAction = doc('reboot', [ev('compute_reboot_instance', null)]);
    for (const action of [nova404, { kind: 'error', message: '503' } as const]) {
      decide({ ...NOTHING_READ, now: T0 + 5000, trackingSince: T0, deadlineMs: HOUR, memory: before, lastAction, action, server: gone });
    }
    expect(before).toEqual(frozen);
  });

  it('an error between not-found answers neither counts nor resets', () => {
    expect(input({ kind: 'error', message: 'x' }, NOTHING_READ.server, { everFound: false, firstNotFoundAt: iso(T0), notFoundAnswers: 2 }))
      .toMatchObject({ firstNotFoundAt: iso(T0), notFoundAnswers: 2 });
  });

  it('counts gone-server answers and forgets them when the server is back', () => {
    const action = found(doc('create', [ev('compute__do_build_and_run_instance', DONE)]));
    const once = input(action, gone, {}, T0 + 1000);
    expect(once).toMatchObject({ serverGoneSince: iso(T0 + 1000), serverGoneAnswers: 1 });
    expect(input(action, server('ACTIVE'), once)).toMatchObject({ serverGoneSince: null, serverGoneAnswers: 0 });
  });

  const afterMigrations = (seen: MigrationsObservation, memory: WatchMemory) =>
    decide({ ...NOTHING_READ, now: T0, trackingSince: T0, deadlineMs: HOUR, memory, lastAction: null, action: liveMigration(), server: server('ACTIVE'), actionAfterServer: true, migrations: seen }).memory;

  it('remembers at once that Nova\'s policy refused os-migrations', () => {
    expect(afterMigrations(refused, NOTHING)).toMatchObject({ migrationsReadable: false, migrationsRefusedAnswers: 1 });
  });

  it('counts a refusal that may be a blip only when the next ask is refused too, and forgets it once os-migrations answers', () => {
    const once = afterMigrations(pageRefused, NOTHING);
    expect(once).toMatchObject({ migrationsReadable: null, migrationsRefusedAnswers: 1 });
    const failed = afterMigrations({ kind: 'error', message: '503' }, once);
    expect(failed).toBe(once);
    const twice = afterMigrations(pageRefused, failed);
    expect(twice).toMatchObject({ migrationsReadable: false, migrationsRefusedAnswers: 2 });
    expect(afterMigrations(migrations(), twice)).toMatchObject({ migrationsReadable: true, migrationsRefusedAnswers: 0 });
  });
});

// A time a cloud leaves blank: Nova writes a time or null, Huawei's services "" for one they have none of.
describe('an event whose finish_time the cloud sends as "" (read through the client\'s schema)', () => {
  const blank = (action: string, event: string) =>
    found(instanceActionDocumentSchema.parse({ instanceAction: { ...doc(action, []), events: [{ event, start_time: '2026-11-26T10:00:01.000000', finish_time: '', result: null }] } }).instanceAction);
  const verdictAt = (action: ActionObservation, elapsed: number, seen: Partial<Observations> = {}) =>
    decide({ ...NOTHING_READ, ...seen, now: T0 + elapsed, trackingSince: T0, deadlineMs: HOUR, memory: NOTHING, lastAction: null, action });

  it('is still running: an attach_volume whose step runs is not told failed with "no result"', () => {
    const verdict = verdictAt(blank('attach_volume', 'compute_attach_volume'), 60_000, { server: server('ACTIVE'), actionAfterServer: true });
    expect(verdict).toMatchObject({ final: false, next: null, reason: 'attach_volume: compute_attach_volume running' });
  });

  it('past the deadline, a step that never finished is a timeout, not the server\'s word', () => {
    const verdict = verdictAt(blank('reboot', 'compute_reboot_instance'), 2 * HOUR, { server: server('ACTIVE'), actionAfterServer: true, actions: onlyWatched });
    expect(verdict).toMatchObject({ final: true, outcome: 'timeout' });
  });
});

// A finish_time present but unreadable (a gateway that rewrites times, a format this client does not read):
// finished, at a time unknown but no later than a poll first saw it, and seen so since.
describe('events finished at a time that cannot be read', () => {
  const odd = 'Thu, 26 Nov 2026 11:30:00 GMT';
  const running = doc('reboot', [ev('compute_reboot_instance', null)]);
  const ended = doc('reboot', [ev('compute_reboot_instance', odd)]);
  const poll = (elapsed: number, memory: WatchMemory, lastAction: InstanceAction | null, seen: Partial<Observations>) =>
    decide({ ...NOTHING_READ, action: found(ended), ...seen, now: T0 + elapsed, trackingSince: T0, deadlineMs: HOUR, memory, lastAction });

  it('seen finished before the deadline and confirmed after it: its real verdict', () => {
    const seen = poll(HOUR - 60_000, NOTHING, running, {});
    expect(seen).toMatchObject({ final: false, next: 'server' });
    const confirmed = poll(HOUR + 60_000, seen.memory, ended, { server: server('ACTIVE'), actionAfterServer: true });
    expect(confirmed).toMatchObject({ final: true, outcome: 'success' });
  });

  it('its server refused to show: judged by its events once they have stayed finished a minute', () => {
    const refused: ServerObservation = { kind: 'error', message: '403 forbidden', refused: true };
    const first = poll(60_000, NOTHING, running, { server: refused });
    expect(first).toMatchObject({ final: false });
    expect(poll(3 * 60_000, first.memory, ended, { server: refused })).toMatchObject({ final: true, outcome: 'success' });
  });
});

// Answers a real nova-api 26 gave (test/fixtures/nova-peer/, captured with ../shared/nova-peer, see
// docs/nova-peer.md), read through the client's own schemas and error classification, one poll after another.
describe('a delete watched below microversion 2.21 (captured from nova 26)', () => {
  const captured = (name: string) => readFileSync(new URL(`../fixtures/nova-peer/delete-below-2.21/${name}`, import.meta.url), 'utf8');
  const actionIn = (name: string): ActionObservation => {
    const text = captured(name);
    const error = apiMessageFromText(text);
    if (error !== undefined) return isResourceNotFoundCode(error.code) ? { kind: 'not_found', message: error.message } : { kind: 'error', message: error.message };
    return found(instanceActionDocumentSchema.parse(JSON.parse(text)).instanceAction);
  };
  const serverIn = (name: string): ServerObservation => {
    const text = captured(name);
    return apiMessageFromText(text) === undefined ? { kind: 'found', server: toServerState(serverDocumentSchema.parse(JSON.parse(text))) } : gone;
  };

  /** One poll as the instance-action kind makes it: the action, then each read the verdict asks for. */
  function poll(answers: { action: string; server: string }, memory: WatchMemory, lastAction: InstanceAction | null, now: number): Verdict {
    let seen = { ...NOTHING_READ, action: actionIn(answers.action) };
    for (;;) {
      const verdict = decide({ ...seen, now, trackingSince: T0, deadlineMs: HOUR, memory, lastAction });
      if (verdict.final || verdict.next === null) return verdict;
      if (verdict.next === 'server') seen = { ...seen, server: serverIn(answers.server) };
      else if (verdict.next === 'action') seen = { ...seen, action: actionIn(answers.action), actionAfterServer: true };
      else throw new Error(`nova-peer captured no answer for ${verdict.next}`);
    }
  }

  it.each([
    ['admin, who sees compute_terminate_instance running', 'action-running-admin.json', /last seen with 0\/1 events finished/],
    ['the owner, who sees no events below 2.51', 'action-running-owner.json', /last seen with its events not visible/],
  ])('is a success once the action and the server both answer 404: %s', (_who, running, seenWith) => {
    const firstMemory: WatchMemory = { ...NOTHING, everFound: false };
    const first = poll({ action: running, server: 'server-deleting.json' }, firstMemory, null, T0 + 1000);
    expect(first.final, first.reason).toBe(false);
    const lastAction = (actionIn(running) as Extract<ActionObservation, { kind: 'found' }>).action;
    // nova's instance_actions.py _get_instance (2.1-2.20) reads the instance without read_deleted.
    expect(actionIn('action-404.json')).toEqual({ kind: 'not_found', message: 'Instance d1e7e7e0-0000-4000-8000-000000000021 could not be found.' });
    const second = poll({ action: 'action-404.json', server: 'server-404.json' }, first.memory, lastAction, T0 + 2000);
    expect(second).toMatchObject({ final: true, outcome: 'success' });
    expect(second.reason).toMatch(/^delete: server deleted; its action is no longer shown \(below microversion 2\.21, or archived\)/);
    expect(second.reason).toMatch(seenWith);
  });

  it('stays pending while the server still answers: the 404 is then a blip', () => {
    const lastAction = (actionIn('action-running-admin.json') as Extract<ActionObservation, { kind: 'found' }>).action;
    const verdict = poll({ action: 'action-404.json', server: 'server-deleting.json' }, NOTHING, lastAction, T0 + 1000);
    expect(verdict.final).toBe(false);
    expect(verdict.reason).toMatch(/no longer found .* although it was before/);
  });

  it('another action whose server was deleted under it is a failure once the server stays gone, as when its action is still shown', () => {
    // nova hides a reboot's action with its server just as a delete's, below 2.21.
    const running = (actionIn('action-running-admin.json') as Extract<ActionObservation, { kind: 'found' }>).action;
    const reboot = { ...running, action: 'reboot', events: running.events!.map((e) => ({ ...e, event: 'compute_reboot_instance' })) };
    let memory: WatchMemory = NOTHING;
    let verdict: Verdict | null = null;
    for (const at of [1000, 2000, 3000, SERVER_GONE_WINDOW_MS + 1000]) {
      verdict = poll({ action: 'action-404.json', server: 'server-404.json' }, memory, reboot, T0 + at);
      if (verdict.final) break;
      expect(verdict).toMatchObject({ pollFailed: true });
      expect(verdict.reason).toMatch(/^reboot: the action and the server answer 404 \(\d times?\); its action is no longer shown/);
      memory = verdict.memory;
    }
    expect(verdict).toMatchObject({ final: true, outcome: 'failure' });
    expect(verdict!.reason).toMatch(/^reboot failed: server deleted \(not found for 4 polls over 20 s\); its action is no longer shown \(below microversion 2\.21, or archived\), last seen with 0\/1 events finished$/);
  });

  it('another action last seen with its events finished in time gets its verdict after the deadline, as when its action is still shown', () => {
    // Seen between two steps of a resize before the daemon went down; the server was deleted meanwhile.
    const resize = doc('resize', [ev('compute_prep_resize', DONE), ev('compute_resize_instance', DONE)]);
    const afterDeadline = T0 + 2 * HOUR;
    let memory: WatchMemory = NOTHING;
    let verdict: Verdict | null = null;
    for (const at of [0, 1000, 2000, SERVER_GONE_WINDOW_MS]) {
      verdict = poll({ action: 'action-404.json', server: 'server-404.json' }, memory, resize, afterDeadline + at);
      if (verdict.final) break;
      memory = verdict.memory;
    }
    expect(verdict).toMatchObject({ final: true, outcome: 'failure' });
    expect(verdict!.reason).toMatch(/^resize failed: server deleted \(not found for 4 polls over 20 s\); its action is no longer shown .*, last seen with 2\/2 events finished$/);
    // Last seen running, it has no finish to go by: past the deadline it is a timeout.
    const running = doc('resize', [ev('compute_prep_resize', null)]);
    expect(poll({ action: 'action-404.json', server: 'server-404.json' }, NOTHING, running, afterDeadline)).toMatchObject({ final: true, outcome: 'timeout' });
  });

  it('a delete last seen with an Error event is a failure', () => {
    const running = (actionIn('action-running-admin.json') as Extract<ActionObservation, { kind: 'found' }>).action;
    const failed = { ...running, message: 'Error', events: running.events!.map((e) => ({ ...e, finish_time: DONE, result: 'Error' })) };
    const verdict = poll({ action: 'action-404.json', server: 'server-404.json' }, NOTHING, failed, T0 + 1000);
    expect(verdict).toMatchObject({ final: true, outcome: 'failure' });
    expect(verdict.reason).toMatch(/^delete failed: compute_terminate_instance Error; its action is no longer shown/);
  });
});

// Nova's own samples (test/fixtures/nova-api-samples/, the same as ../shared/fixtures): each is a `stop` whose
// one event finished Success, admin and non-admin, from 2.1 to 2.84; with the server stopped and no task
// state, the contract's "success". Without its events, as a non-admin reads it below 2.51, the server alone decides.
describe('the upstream instance-action samples', () => {
  const stopped = server('SHUTOFF');
  const judged = (action: InstanceAction) =>
    decide({ ...NOTHING_READ, now: T0, trackingSince: T0, deadlineMs: HOUR, memory: NOTHING, lastAction: null, action: found(action), server: stopped, actionAfterServer: true });
  const sample = (file: string) => instanceActionDocumentSchema.parse(fixtureJson(file)).instanceAction;

  it.each(instanceActionSamples())('%s is a success', (file) => {
    expect(judged(sample(file))).toMatchObject({ final: true, outcome: 'success', reason: expect.stringMatching(/^stop: 1 event succeeded in \d+ ms, server SHUTOFF$/) });
  });

  it.each(instanceActionSamples())('%s without its events (below 2.51, not an admin) is a success by the server', (file) => {
    const { events: _hidden, ...action } = sample(file);
    expect(judged(action)).toMatchObject({ final: true, outcome: 'success', reason: 'stop: finished (events not visible at this microversion), server SHUTOFF' });
  });
});
