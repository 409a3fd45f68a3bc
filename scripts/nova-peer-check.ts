// Checks our verdicts against a real nova-api: Debian's python3-nova run on loopback by
// ../shared/nova-peer (docs/nova-peer.md). Each scenario is written into nova's own database through
// nova's own code (seed.py), then our real command line judges it: `check --json` once per variant and
// `wait --json` per scenario and variant, as admin and as the server's owner, at microversion auto and
// fixed ones. What each should end as is stated here, from the contract and nova's source; the table
// shows where we differ and the exit status says whether any did. Not part of npm test: nova-peer needs
// apt and takes minutes to set up.
//
//   node scripts/node24.mjs scripts/nova-peer-check.ts --url http://127.0.0.1:18774 --dir /tmp/nova-peer
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** nova-peer's project: Nova's router takes only hex project ids in the URL. */
const PROJECT = '6f70656e737461636b20342065766572';
/** noauth2: `admin:P` is an admin of P, any other user a role-less member (the owner of what it created). */
const TOKENS = { admin: `admin:${PROJECT}`, owner: `demo:${PROJECT}` } as const;
/** `auto` picks the highest tested microversion the endpoint offers, 2.84; nova 26 offers 2.93. */
const AUTO_RESOLVES_TO = 84;
const MICROVERSIONS = ['auto', '2.1', '2.51', '2.60', '2.62', '2.84'] as const;

type Role = keyof typeof TOKENS;
type Outcome = 'success' | 'failure' | 'timeout' | 'not_found';
type CheckState = Outcome | 'pending';
const EXIT: Record<Outcome, number> = { success: 0, failure: 1, timeout: 3, not_found: 4 };

interface Variant {
  microversion: (typeof MICROVERSIONS)[number];
  /** The minor version the API answers at. */
  minor: number;
  role: Role;
}

interface Expectation {
  outcome: Outcome;
  /** What one `check` poll shows: the outcome, or pending where that takes more than one poll. */
  check: CheckState;
  /** Text the reason must contain. */
  reasonHas?: string;
  /** Where the expectation is a documented limit rather than what nova did. */
  note?: string;
}

/** One seed.py step (`seed.py script`): `op` is the subcommand, the other keys its options. */
type Step = { op: string } & Record<string, string | boolean>;

interface Ids {
  server: string;
  request: string;
}

interface Scenario {
  name: string;
  covers: string;
  seed(ids: Ids): Step[];
  /** Seeded once every variant's `wait` has shown the action unfinished. */
  during?(ids: Ids): Step[];
  expect(v: Variant): Expectation;
  /** `wait --timeout`. */
  timeout: string;
}

const create = (ids: Ids, name: string, extra: Record<string, string> = {}): Step => ({ op: 'create-instance', uuid: ids.server, project: PROJECT, user: 'demo', name, ...extra });
const addAction = (ids: Ids, action: string, at: string, request = ids.request): Step => ({ op: 'add-action', uuid: ids.server, request_id: request, action, start_time: at });
const addEvent = (ids: Ids, event: string, at: string, eventHost?: string, request = ids.request): Step => ({
  op: 'add-event', uuid: ids.server, request_id: request, event, start_time: at, ...(eventHost === undefined ? {} : { host: eventHost }),
});
const finish = (ids: Ids, event: string, at: string, extra: Record<string, string> = {}, request = ids.request): Step => ({
  op: 'finish-event', uuid: ids.server, request_id: request, event, result: 'Success', finish_time: at, ...extra,
});
/** An event that started and ended, on `eventHost` (default: the instance's host). */
const step = (ids: Ids, event: string, from: string, to: string, eventHost?: string): Step[] => [addEvent(ids, event, from, eventHost), finish(ids, event, to)];
/** A server whose task is in flight: its action recorded `ago` seconds back, its first step started 2 s later. */
const started = (ids: Ids, name: string, first: { action: string; event: string; taskState: string; ago?: number; host?: string }): Step[] => {
  const ago = first.ago ?? 40;
  return [create(ids, name, { task_state: first.taskState }), addAction(ids, first.action, `now-${ago}s`), addEvent(ids, first.event, `now-${ago - 2}s`, first.host)];
};
/**
 * A build that failed on compute-1 (its row from now-48s to `failedAt`) and was built again on compute-2, its
 * row started at `retryAt` by compute-2's clock; nova writes the second build's end (now-30s) into the first row.
 */
const rescheduled = (ids: Ids, name: string, failedAt: string, retryAt: string): Step[] => [
  create(ids, name, { task_state: 'spawning' }),
  addAction(ids, 'create', 'now-50s'),
  ...step(ids, 'compute__do_build_and_run_instance', 'now-48s', failedAt, 'compute-1'),
  addEvent(ids, 'compute__do_build_and_run_instance', retryAt, 'compute-2'),
  setState(ids, { task_state: 'none' }),
  finish(ids, 'compute__do_build_and_run_instance', 'now-30s'),
];
/**
 * A build left ERROR without its event's end: a failure after 20 s of ERROR, which one `check` does not see
 * (the reason has `reasonHas`); with events hidden (a non-admin below 2.51) the server alone decides, at once.
 */
const erroredBuild = (reasonHas: string) => (v: Variant): Expectation =>
  eventsHidden(v) ? { outcome: 'failure', check: 'failure', reasonHas: 'server ERROR' } : { outcome: 'failure', check: 'pending', reasonHas };
const REBOOT = { action: 'reboot', event: 'compute_reboot_instance', taskState: 'reboot_started' };
const DELETE = { action: 'delete', event: 'compute_terminate_instance', taskState: 'deleting' };
const setState = (ids: Ids, states: Record<string, string>): Step => ({ op: 'set-state', uuid: ids.server, ...states });
/** `action` with one event that ended, then its server deleted by a newer delete action, whose event ends after the server is gone. */
const deletedAfter = (ids: Ids, name: string, action: string, event: string): Step[] => {
  const del = `req-${randomUUID()}`;
  return [
    create(ids, name),
    addAction(ids, action, 'now-60s'),
    ...step(ids, event, 'now-58s', 'now-50s'),
    addAction(ids, 'delete', 'now-40s', del),
    addEvent(ids, DELETE.event, 'now-38s', undefined, del),
    { op: 'delete-instance', uuid: ids.server },
    finish(ids, DELETE.event, 'now-30s', {}, del),
  ];
};
const migration = (ids: Ids, type: string, status: string, at: string): Step => ({
  op: 'add-migration', uuid: ids.server, migration_type: type, source: 'compute-1', dest: 'compute-2', status, created_at: at,
});
const migrationStatus = (ids: Ids, status: string, at: string): Step => ({ op: 'set-migration', uuid: ids.server, status, updated_at: at });

/** Below 2.51 nova's default policy shows events to admins only (instance_actions.py show). */
const eventsHidden = (v: Variant) => v.role === 'owner' && v.minor < 51;
const all = (outcome: Outcome, extra: Partial<Expectation> = {}) => (): Expectation => ({ outcome, check: outcome, ...extra });
/** A resetState: done at once, a success whatever the status it set (events hidden, the reason says only that). */
const resetTo = (status: string) => (v: Variant): Expectation =>
  ({ outcome: 'success', check: 'success', reasonHas: `${eventsHidden(v) ? '' : 'done without events, as Nova records it, '}server ${status}` });
/** Below 2.21 the actions of a deleted server are 404 "Instance ... could not be found" (instance_actions.py _get_instance). */
const goneBelow221 = (v: Variant, otherwise: Expectation): Expectation =>
  v.minor < 21 ? { outcome: 'not_found', check: 'pending', reasonHas: 'could not be found', note: 'below 2.21 nova hides a deleted server\'s actions' } : otherwise;

// Each scenario replays the writes nova 26 makes, by file (under /usr/lib/python3/dist-packages/nova/).
const SCENARIOS: Scenario[] = [
  {
    name: 'reboot-ok',
    covers: 'compute_reboot_instance Success, server ACTIVE',
    seed: (ids) => [create(ids, 'reboot-ok'), addAction(ids, 'reboot', 'now-40s'), ...step(ids, 'compute_reboot_instance', 'now-38s', 'now-30s')],
    expect: all('success'),
    timeout: '1m',
  },
  {
    name: 'reboot-running',
    // compute/manager.py _reboot_instance: task_state reboot_started while the driver reboots; task_state
    // None is saved before wrap_instance_event finishes the event.
    covers: 'in progress (finish_time null, task_state reboot_started) at the first polls, finished while wait runs',
    seed: (ids) => [
      ...started(ids, 'reboot-running', { ...REBOOT, ago: 10 }),
    ],
    during: (ids) => [setState(ids, { task_state: 'none' }), finish(ids, 'compute_reboot_instance', 'now')],
    expect: () => ({ outcome: 'success', check: 'pending' }),
    timeout: '2m',
  },
  {
    name: 'reboot-error',
    // _reboot_instance with the guest not running: _set_instance_obj_error_state, wrap_instance_fault adds
    // the fault, wrap_instance_event ends the event Error, reverts_task_state clears the task.
    covers: 'compute_reboot_instance Error with traceback, server ERROR with a fault',
    seed: (ids) => [
      ...started(ids, 'reboot-error', REBOOT),
      setState(ids, { vm_state: 'error', power_state: 'shutdown' }),
      { op: 'add-fault', uuid: ids.server, message: 'internal error: qemu unexpectedly closed the monitor' },
      finish(ids, 'compute_reboot_instance', 'now-30s', { result: 'Error', details: 'internal error: qemu unexpectedly closed the monitor' }),
      setState(ids, { task_state: 'none' }),
    ],
    expect: (v) => ({
      outcome: 'failure',
      check: 'failure',
      reasonHas: v.role === 'admin' && v.minor >= 84 ? 'compute_reboot_instance Error (internal error' : 'server ERROR: internal error',
    }),
    timeout: '1m',
  },
  {
    name: 'reboot-error-guest-running',
    // _reboot_instance: "Reboot failed but instance is running": the fault is recorded, the error
    // swallowed (ctxt.reraise = False), the event ends Success and the server ACTIVE. Nothing the API
    // shows tells a failure (a fault is shown only while ERROR): nova calls it a success too.
    covers: 'driver reboot failed with the guest still running: event Success, fault hidden, server ACTIVE',
    seed: (ids) => [
      ...started(ids, 'reboot-error-guest-running', REBOOT),
      { op: 'add-fault', uuid: ids.server, message: 'Timeout waiting for the guest to shut down' },
      setState(ids, { task_state: 'none' }),
      finish(ids, 'compute_reboot_instance', 'now-30s'),
    ],
    expect: all('success'),
    timeout: '1m',
  },
  {
    name: 'resize-verify',
    // conductor/tasks/migrate.py (record pre-migrating), compute/manager.py prep_resize, resize_instance
    // (migrating, post-migrating), _finish_resize (finished; vm_state resized, task_state None, host dest).
    covers: 'resize to VERIFY_RESIZE: 4 events Success, migration finished, server on the new host',
    seed: (ids) => [
      ...moveScheduled(ids, 'resize-verify', RESIZE),
      ...step(ids, 'compute_prep_resize', 'now-56s', 'now-52s', 'compute-2'),
      migrationStatus(ids, 'migrating', 'now-50s'),
      setState(ids, { task_state: 'resize_migrating' }),
      ...step(ids, 'compute_resize_instance', 'now-50s', 'now-40s'),
      migrationStatus(ids, 'post-migrating', 'now-40s'),
      addEvent(ids, 'compute_finish_resize', 'now-39s', 'compute-2'),
      { op: 'set-host', uuid: ids.server, host: 'compute-2' },
      migrationStatus(ids, 'finished', 'now-31s'),
      setState(ids, { vm_state: 'resized', task_state: 'none' }),
      finish(ids, 'compute_finish_resize', 'now-30s'),
    ],
    // README "demo and simulator": resize-ok ends in VERIFY_RESIZE as a success (the confirm is another action).
    expect: all('success', { reasonHas: 'server VERIFY_RESIZE' }),
    timeout: '1m',
  },
  {
    name: 'resize-failed',
    // prep_resize on the destination: the claim fails (InstanceFaultRollback, no reschedule):
    // errors_out_migration_ctxt sets the record error, _error_out_instance_on_exception puts vm_state back
    // to active with task_state None, the event ends Error. The fault stays hidden (status ACTIVE).
    covers: 'compute_prep_resize Error, migration error, server back ACTIVE on its source host',
    seed: (ids) => [
      ...moveScheduled(ids, 'resize-failed', RESIZE),
      addEvent(ids, 'compute_prep_resize', 'now-56s', 'compute-2'),
      migrationStatus(ids, 'error', 'now-52s'),
      { op: 'add-fault', uuid: ids.server, message: 'Insufficient compute resources: Free memory 0.00 MB < requested 4096 MB.', host: 'compute-2' },
      setState(ids, { vm_state: 'active', task_state: 'none' }),
      finish(ids, 'compute_prep_resize', 'now-51s', { result: 'Error', details: 'Insufficient compute resources: Free memory 0.00 MB < requested 4096 MB.' }),
    ],
    expect: (v) => ({ outcome: 'failure', check: 'failure', reasonHas: eventsHidden(v) ? 'action message "Error"' : 'compute_prep_resize Error' }),
    timeout: '1m',
  },
  {
    name: 'live-migration-ok',
    // conductor live_migrate_instance (record accepted), check_can_live_migrate_*, live_migration (queued;
    // the event ends when the job is handed to a thread), _do_live_migration (preparing, running),
    // post_live_migration_at_destination (host dest, task None), _post_live_migration (completed).
    covers: 'live migration completed: migration completed, host changed',
    seed: (ids) => [...liveMigration(ids, 'live-migration-ok'), { op: 'set-host', uuid: ids.server, host: 'compute-2', task_state: 'none' }, migrationStatus(ids, 'completed', 'now-30s')],
    expect: (v) => rollbackLookedFor(v) ?? { outcome: 'success', check: 'success' },
    timeout: '1m',
  },
  {
    name: 'live-migration-rolled-back',
    // _rollback_live_migration: task_state None on the source, then the record failed; no Error event, no fault.
    covers: 'live migration rolled back: every event Success, migration failed, host unchanged',
    seed: (ids) => [...liveMigration(ids, 'live-migration-rolled-back'), ...rollback(ids)],
    expect: rolledBack('failure'),
    timeout: '1m',
  },
  {
    name: 'live-migration-rollback-while-waiting',
    // The trap the contract names: compute_live_migration ends Success when the job is handed to a thread,
    // so every event has finished while the job still runs (task_state migrating, record running).
    covers: 'live migration with every event Success while the job runs (record running), rolled back while wait runs',
    seed: (ids) => liveMigration(ids, 'live-migration-rollback-while-waiting'),
    during: rollback,
    expect: rolledBack('pending'),
    timeout: '2m',
  },
  {
    name: 'live-migration-precheck-error',
    // conductor/manager.py _live_migrate: a pre-check failure (NoValidHost) sets the record error and
    // re-raises, so conductor_live_migrate_instance ends Error; the server goes back to ACTIVE, task None.
    covers: 'live migration refused by the pre-checks: conductor event Error, migration error',
    seed: (ids) => [
      ...started(ids, 'live-migration-precheck-error', { action: 'live-migration', event: 'conductor_live_migrate_instance', taskState: 'migrating', ago: 60, host: 'controller-1' }),
      migration(ids, 'live-migration', 'accepted', 'now-57s'),
      migrationStatus(ids, 'error', 'now-55s'),
      setState(ids, { task_state: 'none' }),
      finish(ids, 'conductor_live_migrate_instance', 'now-54s', { result: 'Error', details: 'No valid host was found. There are not enough hosts available.' }),
    ],
    expect: (v) => ({ outcome: 'failure', check: 'failure', reasonHas: eventsHidden(v) ? 'action message "Error"' : 'conductor_live_migrate_instance Error' }),
    timeout: '1m',
  },
  {
    name: 'create-rescheduled',
    // manager.py _do_build_and_run_instance: a build that fails on compute-1 returns RESCHEDULED (its event
    // Success) and the conductor builds again on compute-2 under the same request; db action_event_finish
    // then writes the second build's end into the FIRST row, and the second row stays unfinished.
    covers: 'a build rescheduled to another host: two rows of its event, the retry\'s never finished',
    seed: (ids) => rescheduled(ids, 'create-rescheduled', 'now-44s', 'now-40s'),
    expect: all('success'),
    timeout: '1m',
  },
  {
    name: 'create-rescheduled-clock-behind',
    // The same as create-rescheduled, compute-2's clock 2 s behind compute-1's: each row's start_time is the
    // utcnow() of the host that starts it (objects/instance_action.py pack_action_event_start), so the
    // retry's row shows a start before the first row's, and the first row's finish is compute-2's.
    covers: 'a build rescheduled to a host whose clock is behind the first\'s: the retry\'s row starts "before" the first',
    seed: (ids) => rescheduled(ids, 'create-rescheduled-clock-behind', 'now-47s', 'now-49s'),
    expect: all('success'),
    timeout: '1m',
  },
  {
    name: 'live-migration-destination-retried',
    // conductor/tasks/live_migrate.py _find_destination: the destination check failed on compute-3 (its
    // event Error, the action's message "Error" for good) and passed on compute-2, whose end nova writes
    // into the first row; then the migration completed.
    covers: 'a live migration whose destination check failed on one host and passed on the next',
    seed: (ids) => [
      ...moveScheduled(ids, 'live-migration-destination-retried', LIVE_MIGRATION),
      addEvent(ids, 'compute_check_can_live_migrate_destination', 'now-57s', 'compute-3'),
      finish(ids, 'compute_check_can_live_migrate_destination', 'now-57s', { result: 'Error', details: 'Migration pre-check error: not enough memory' }),
      addEvent(ids, 'compute_check_can_live_migrate_destination', 'now-56s', 'compute-2'),
      finish(ids, 'compute_check_can_live_migrate_destination', 'now-55s'),
      ...step(ids, 'compute_check_can_live_migrate_source', 'now-55s', 'now-54s'),
      ...step(ids, 'compute_live_migration', 'now-49s', 'now-49s'),
      ...step(ids, 'compute_pre_live_migration', 'now-48s', 'now-45s', 'compute-2'),
      { op: 'set-host', uuid: ids.server, host: 'compute-2', task_state: 'none' },
      migrationStatus(ids, 'completed', 'now-30s'),
    ],
    // Without events (a non-admin below 2.51) only the message shows, and it stays "Error".
    expect: (v) => eventsHidden(v)
      ? { outcome: 'failure', check: 'failure', reasonHas: 'action message "Error"', note: 'below 2.51 a non-admin sees no events, only the message a retried step left' }
      : rollbackLookedFor(v) ?? { outcome: 'success', check: 'success' },
    timeout: '1m',
  },
  {
    name: 'delete-ok',
    // compute/manager.py terminate_instance: _delete_instance destroys the instance inside the event,
    // which ends Success after it.
    covers: 'delete: compute_terminate_instance Success, server gone (404)',
    seed: (ids) => [
      ...started(ids, 'delete-ok', DELETE),
      { op: 'delete-instance', uuid: ids.server },
      finish(ids, 'compute_terminate_instance', 'now-30s'),
    ],
    expect: (v) => goneBelow221(v, { outcome: 'success', check: 'success', reasonHas: 'server deleted' }),
    timeout: '2m30s',
  },
  {
    name: 'delete-running',
    covers: 'delete in progress (compute_terminate_instance running) at the first polls, server destroyed while wait runs',
    seed: (ids) => started(ids, 'delete-running', { ...DELETE, ago: 10 }),
    during: (ids) => [{ op: 'delete-instance', uuid: ids.server }, finish(ids, 'compute_terminate_instance', 'now')],
    // CONTRACT: for a delete, a server that is gone (404) is settled.
    expect: () => ({ outcome: 'success', check: 'pending', reasonHas: 'server deleted' }),
    timeout: '1m',
  },
  {
    name: 'delete-local',
    // compute/api.py _delete: with the compute host down, _local_delete destroys the instance in the API
    // and records no event.
    covers: 'local delete: action without events, server gone',
    seed: (ids) => [create(ids, 'delete-local', { task_state: 'deleting' }), addAction(ids, 'delete', 'now-40s'), { op: 'delete-instance', uuid: ids.server }],
    expect: (v) => goneBelow221(v, { outcome: 'success', check: 'success', reasonHas: 'recorded without events' }),
    timeout: '2m30s',
  },
  {
    name: 'create-compute-restarted',
    // compute/manager.py _init_instance: nova-compute, started again after it stopped during a build, sets
    // the BUILDING instance ERROR with no task state (_set_instance_obj_error_state); the build's event,
    // whose process is gone, is never finished.
    covers: 'a build cut off by a restart of its compute service: the event open for good, server ERROR',
    seed: (ids) => [
      create(ids, 'create-compute-restarted', { vm_state: 'building', task_state: 'spawning' }),
      addAction(ids, 'create', 'now-900s'),
      addEvent(ids, 'compute__do_build_and_run_instance', 'now-898s'),
      setState(ids, { vm_state: 'error', task_state: 'none' }),
    ],
    expect: erroredBuild('compute__do_build_and_run_instance never finished'),
    timeout: '2m',
  },
  {
    name: 'create-no-event-error',
    // conductor/manager.py schedule_and_build_instances: the create recorded, binding its accelerator
    // requests fails (_create_and_bind_arq_for_instance) and _cleanup_build_artifacts sets the instance
    // ERROR with no task state and a fault, before any compute step: no event is ever recorded.
    covers: 'a create the conductor ended before any compute step: no event, server ERROR',
    seed: (ids) => [
      create(ids, 'create-no-event-error', { vm_state: 'building', task_state: 'scheduling' }),
      addAction(ids, 'create', 'now-900s'),
      { op: 'add-fault', uuid: ids.server, message: 'Accelerator request binding failed', host: 'controller-1' },
      setState(ids, { vm_state: 'error', task_state: 'none' }),
    ],
    expect: erroredBuild('no event ever started'),
    timeout: '2m',
  },
  {
    name: 'resize-compute-restarted',
    // compute/manager.py _init_instance: nova-compute, started again after it stopped while resize_instance
    // copied the disk (task_state resize_migrating), rolls the server back (finish_revert_migration) and
    // clears its task state; compute_resize_instance is never finished, the record stays migrating.
    covers: 'a resize cut off by a restart of its source compute service: the event open for good, server ACTIVE with no task state',
    seed: (ids) => [
      create(ids, 'resize-compute-restarted', { task_state: 'resize_prep' }),
      addAction(ids, 'resize', 'now-900s'),
      ...step(ids, 'conductor_migrate_server', 'now-898s', 'now-890s', 'controller-1'),
      migration(ids, 'resize', 'pre-migrating', 'now-897s'),
      ...step(ids, 'compute_prep_resize', 'now-889s', 'now-885s', 'compute-2'),
      migrationStatus(ids, 'migrating', 'now-884s'),
      setState(ids, { task_state: 'resize_migrating' }),
      addEvent(ids, 'compute_resize_instance', 'now-884s'),
      setState(ids, { task_state: 'none' }),
    ],
    // Events hidden (a non-admin below 2.51), nothing shows the roll-back: neither events nor the record.
    expect: (v) => eventsHidden(v)
      ? { outcome: 'success', check: 'success', reasonHas: 'not verifiable without os-migrations', note: 'below 2.51 a non-admin sees no events and no migration record: the rolled-back server shows ACTIVE' }
      : { outcome: 'failure', check: 'pending', reasonHas: 'compute_resize_instance never finished' },
    timeout: '2m',
  },
  {
    name: 'backup-compute-restarted',
    // compute/manager.py backup_instance runs _snapshot_instance inside its event; _init_instance, started
    // again after nova-compute stopped during the upload, clears image_uploading: compute_backup_instance
    // is never finished, the server ACTIVE with no task state.
    covers: 'a backup cut off by a restart of its compute service: the event open for good, server ACTIVE with no task state',
    seed: (ids) => [
      ...started(ids, 'backup-compute-restarted', { action: 'createBackup', event: 'compute_backup_instance', taskState: 'image_uploading', ago: 900 }),
      setState(ids, { task_state: 'none' }),
    ],
    expect: (v) => eventsHidden(v)
      ? { outcome: 'success', check: 'success', note: 'below 2.51 a non-admin sees no events: the server with no task state is all there is' }
      : { outcome: 'failure', check: 'pending', reasonHas: 'compute_backup_instance never finished' },
    timeout: '2m',
  },
  {
    name: 'pause-compute-restarted',
    // compute/manager.py _init_instance: nova-compute, started again after it stopped during pause_instance,
    // finds the guest running with task_state pausing, sets task_state None and vm_state active and does not
    // pause again: compute_pause_instance is never finished.
    covers: 'a pause cut off by a restart of its compute service: the event open for good, server ACTIVE with no task state',
    seed: (ids) => [
      ...started(ids, 'pause-compute-restarted', { action: 'pause', event: 'compute_pause_instance', taskState: 'pausing', ago: 900 }),
      setState(ids, { vm_state: 'active', task_state: 'none' }),
    ],
    expect: (v) => eventsHidden(v)
      ? { outcome: 'success', check: 'success', note: 'below 2.51 a non-admin sees no events: the server with no task state is all there is' }
      : { outcome: 'failure', check: 'pending', reasonHas: 'compute_pause_instance never finished' },
    timeout: '2m',
  },
  {
    name: 'unshelve-image-gone',
    // conductor/manager.py ComputeTaskManager.unshelve_instance: the snapshot image gone, ImageNotFound under
    // EventReporter get_image_info sets vm_state error and raises UnshelveException, with no
    // reverts_task_state: task_state stays unshelving for good, and no further step starts.
    covers: 'an unshelve whose snapshot image is gone: conductor event Error, server ERROR, task_state unshelving for good',
    seed: (ids) => [
      create(ids, 'unshelve-image-gone', { vm_state: 'shelved_offloaded', task_state: 'unshelving' }),
      addAction(ids, 'unshelve', 'now-60s'),
      addEvent(ids, 'get_image_info', 'now-58s', 'controller-1'),
      setState(ids, { vm_state: 'error' }),
      { op: 'add-fault', uuid: ids.server, message: 'Unshelve attempted but the image img-1 cannot be found.', host: 'controller-1' },
      finish(ids, 'get_image_info', 'now-57s', { result: 'Error', details: 'Unshelve attempted but the image img-1 cannot be found.' }),
    ],
    // A failure after 20 s of it, which one `check` does not see; events hidden, nothing tells the task state is stuck.
    expect: (v) => eventsHidden(v)
      ? { outcome: 'timeout', check: 'pending', reasonHas: 'task_state unshelving (between steps)', note: 'below 2.51 a non-admin sees no events: a task state left by a failed step looks like one between steps' }
      : { outcome: 'failure', check: 'pending', reasonHas: 'after a failed step' },
    timeout: '1m',
  },
  {
    name: 'reset-state-active',
    // api/openstack/compute/admin_actions.py _reset_state: the action recorded, vm_state set, task_state
    // None, the action finished, all in the API request; no event, ever. Here on a reboot stuck in rebooting.
    covers: 'os-resetState --active on a stuck reboot: an action without events, server ACTIVE',
    seed: (ids) => [
      create(ids, 'reset-state-active', { task_state: 'rebooting' }),
      addAction(ids, 'reboot', 'now-3600s', `req-${randomUUID()}`),
      addAction(ids, 'resetState', 'now-30s'),
      setState(ids, { vm_state: 'active', task_state: 'none' }),
    ],
    expect: resetTo('ACTIVE'),
    timeout: '1m',
  },
  {
    name: 'reset-state-error',
    covers: 'os-resetState to error: ERROR is the state asked for, not a failure',
    seed: (ids) => [
      create(ids, 'reset-state-error'),
      addAction(ids, 'resetState', 'now-30s'),
      setState(ids, { vm_state: 'error', task_state: 'none' }),
    ],
    expect: resetTo('ERROR'),
    timeout: '1m',
  },
  {
    name: 'reboot-server-deleted',
    covers: 'a finished reboot whose server was deleted afterwards (a newer delete action)',
    seed: (ids) => deletedAfter(ids, 'reboot-server-deleted', 'reboot', 'compute_reboot_instance'),
    // CONTRACT: a server that stays gone after a non-delete's events finished (several polls, 20 s) is a failure.
    // From 2.21 the server's action list names the delete, which started about 10 s after the reboot's last
    // event (the seed's steps resolve `now` one after another).
    expect: (v) => goneBelow221(v, { outcome: 'failure', check: 'pending', reasonHas: 's after its last event finished: the server\'s state after the reboot was not seen' }),
    timeout: '2m30s',
  },
  {
    name: 'detach-volume-server-deleted',
    // compute/manager.py detach_volume ends its event Success once the volume is detached and sets no state;
    // compute/api.py delete, allowed in any state, then takes the server.
    covers: 'a detach whose event succeeded, its server deleted afterwards (a newer delete action)',
    seed: (ids) => deletedAfter(ids, 'detach-volume-server-deleted', 'detach_volume', 'compute_detach_volume'),
    // README: an action that sets no state is judged by its events, whatever became of the server.
    expect: (v) => goneBelow221(v, { outcome: 'success', check: 'success', reasonHas: 'detach_volume: 1 event succeeded' }),
    timeout: '2m30s',
  },
  {
    name: 'attach-interface-refused',
    // compute/api.py attach_interface: _record_action_start, then show_port raises PortNotFound (404 to the
    // caller) before compute_rpcapi.attach_interface: no event and no message, ever.
    covers: 'an attach_interface nova-api refused after recording it (port not found): no event 12 min after its start',
    seed: (ids) => [create(ids, 'attach-interface-refused'), addAction(ids, 'attach_interface', 'now-720s')],
    expect: (v) => eventsHidden(v)
      ? { outcome: 'success', check: 'success', reasonHas: 'no error recorded', note: 'README: below 2.51 a non-admin sees no events, and a refused attach writes no Error' }
      : { outcome: 'failure', check: 'failure', reasonHas: 'no event started in 10 min' },
    timeout: '1m',
  },
  {
    name: 'create-refused-unrecorded',
    covers: 'conductor/manager.py schedule_and_build_instances: _recheck_quota fails once the scheduler has placed the create; _cleanup_build_artifacts sets the server ERROR with the fault, and no action is ever recorded',
    seed: (ids) => [
      create(ids, 'create-refused-unrecorded', { vm_state: 'error' }),
      { op: 'add-fault', uuid: ids.server, message: 'Quota exceeded for instances: Requested 1, but already used 10 of 10 instances', host: 'controller-1' },
    ],
    // One check's poll is within the not-found window: pending, as for any id not yet visible.
    expect: all('failure', { check: 'pending', reasonHas: 'no action is recorded for the server' }),
    timeout: '2m30s',
  },
  {
    name: 'request-unknown',
    covers: 'a request id nova does not know: 404 itemNotFound "Action ... not found"; the server\'s list shows the one a character off',
    // The watched id with its last character changed: the action list (GET os-instance-actions) names it.
    seed: (ids) => [create(ids, 'request-unknown'), addAction(ids, 'reboot', 'now-40s', `${ids.request.slice(0, -1)}${ids.request.endsWith('0') ? '1' : '0'}`)],
    expect: all('not_found', { check: 'pending', reasonHas: ' not found; did you mean reboot req-' }),
    timeout: '2m30s',
  },
];

interface Move {
  action: string;
  taskState: string;
  conductorEvent: string;
  migrationType: string;
  /** The status the conductor creates the migration record with. */
  status: string;
}
const RESIZE: Move = { action: 'resize', taskState: 'resize_prep', conductorEvent: 'conductor_migrate_server', migrationType: 'resize', status: 'pre-migrating' };
const LIVE_MIGRATION: Move = {
  action: 'live-migration', taskState: 'migrating', conductorEvent: 'conductor_live_migrate_instance', migrationType: 'live-migration', status: 'accepted',
};

/** A move up to the conductor's hand-over to the compute hosts: its conductor event done, its record created. */
function moveScheduled(ids: Ids, name: string, move: Move): Step[] {
  return [
    create(ids, name, { task_state: move.taskState }),
    addAction(ids, move.action, 'now-60s'),
    ...step(ids, move.conductorEvent, 'now-58s', 'now-50s', 'controller-1'),
    migration(ids, move.migrationType, move.status, 'now-57s'),
  ];
}

/** _rollback_live_migration: the destination cleaned up, task_state None, then the record failed. */
function rollback(ids: Ids): Step[] {
  return [
    ...step(ids, 'compute_rollback_live_migration_at_destination', 'now-3s', 'now-2s', 'compute-2'),
    setState(ids, { task_state: 'none' }),
    migrationStatus(ids, 'failed', 'now'),
  ];
}

/**
 * A rolled-back live migration shows in the migration record (admin) or, from 2.51, in the destination's
 * rollback event, which anyone sees; with neither (owner below 2.51) the README's verdict is success, "not
 * verifiable".
 */
function rolledBack(check: 'failure' | 'pending'): (v: Variant) => Expectation {
  return (v) =>
    v.role === 'admin' ? { outcome: 'failure', check, reasonHas: 'migration' }
    : v.minor >= 51 ? { outcome: 'failure', check, reasonHas: 'compute_rollback_live_migration_at_destination' }
    : { outcome: 'success', check: check === 'pending' ? check : 'success', reasonHas: 'not verifiable', note: 'README: no os-migrations (admin) and no events below 2.51' };
}

/**
 * A live migration that ended well, seen by one who can read neither os-migrations (admin) nor a comparable
 * hostId (2.62): a project member from 2.51 to 2.61. Its events are all Success either way, and the rollback
 * event may come after the task state is cleared (manager.py _rollback_live_migration casts it first), so
 * it is looked for until a minute after the server was last saved: `check`'s one poll, within that minute
 * of the seed, is pending. null for anyone else.
 */
function rollbackLookedFor(v: Variant): Expectation | null {
  if (v.role === 'admin' || v.minor < 51 || v.minor >= 62) return null;
  return { outcome: 'success', check: 'pending', reasonHas: 'not verifiable', note: 'a member from 2.51 to 2.61: the rollback event is looked for until a minute after the server was saved' };
}

/** The steps up to a live migration's hand-over to the hypervisor, the server still on compute-1. */
function liveMigration(ids: Ids, name: string): Step[] {
  return [
    ...moveScheduled(ids, name, LIVE_MIGRATION),
    ...step(ids, 'compute_check_can_live_migrate_destination', 'now-56s', 'now-55s', 'compute-2'),
    ...step(ids, 'compute_check_can_live_migrate_source', 'now-55s', 'now-54s'),
    migrationStatus(ids, 'queued', 'now-49s'),
    ...step(ids, 'compute_live_migration', 'now-49s', 'now-49s'),
    migrationStatus(ids, 'preparing', 'now-48s'),
    ...step(ids, 'compute_pre_live_migration', 'now-48s', 'now-45s', 'compute-2'),
    migrationStatus(ids, 'running', 'now-44s'),
  ];
}

// ------------------------------------------------------------------------------------------- running

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { input?: string; onStderr?: (text: string) => void } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    // The CLI's own defaults, as a pipeline gets them.
    delete env['LOG_LEVEL'];
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(stderr);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const cli = (args: string[], onStderr?: (text: string) => void) => run(process.execPath, [join(ROOT, 'bin', 'ecs-action-watch.mjs'), ...args], { onStderr });

async function seed(python: string, seedPy: string, dir: string, steps: Step[]): Promise<void> {
  const r = await run(python, [seedPy, '--dir', dir, 'script', '-'], { input: JSON.stringify(steps.map((s) => ({ at: 0, ...s }))) });
  if (r.code !== 0) throw new Error(`seed.py failed (exit ${r.code}):\n${r.stdout.split('\n').slice(-3).join('\n')}\n${r.stderr}`);
}

function watchFile(endpoint: string, v: Variant, watches: { scenario: Scenario; ids: Ids }[], stateDir: string): string {
  const lines = [
    'cloud:',
    `  endpoint: ${endpoint}`,
    `  projectId: ${PROJECT}`,
    `  auth: { type: token, token: "${TOKENS[v.role]}" }`,
    `  microversion: ${v.microversion === 'auto' ? 'auto' : `"${v.microversion}"`}`,
    'poll:',
    '  schedule: "* * * * * *"',
    '  retries: 1',
    'state:',
    `  path: ${join(stateDir, 'state.json')}`,
    'http:',
    '  port: 0',
    'watches:',
    ...watches.flatMap(({ scenario, ids }) => [`  - name: ${scenario.name}`, `    serverId: ${ids.server}`, `    requestId: ${ids.request}`]),
  ];
  return `${lines.join('\n')}\n`;
}

interface Row {
  scenario: string;
  variant: Variant;
  expected: Expectation;
  checkState: string;
  exit: number | null;
  outcome: string;
  reason: string;
  /** The first progress line of a wait that had to see the action unfinished. */
  sawRunning?: string;
  problems: string[];
}

interface CheckEntry {
  name: string;
  state: string;
}

interface WaitBody {
  outcome: string;
  reason: string;
}

function judgeRow(row: Omit<Row, 'problems'>): Row {
  const { expected } = row;
  const problems: string[] = [];
  if (row.checkState !== expected.check) problems.push(`check ${row.checkState}, expected ${expected.check}`);
  if (row.exit !== EXIT[expected.outcome]) problems.push(`wait exit ${row.exit} (${row.outcome}), expected ${EXIT[expected.outcome]} (${expected.outcome})`);
  if (expected.reasonHas !== undefined && !row.reason.includes(expected.reasonHas)) problems.push(`reason lacks "${expected.reasonHas}"`);
  if (row.sawRunning === '') problems.push('wait never showed the action unfinished');
  return { ...row, problems };
}

function variantName(v: Variant): string {
  return `${v.microversion}${v.microversion === 'auto' ? `=2.${v.minor}` : ''} ${v.role}`;
}

/** Every run, one line each; expectations that are a documented limit are marked * and listed below. */
function printTable(rows: Row[]): string {
  const head = ['SCENARIO', 'MICROVERSION ROLE', 'EXPECTED', 'CHECK', 'WAIT', 'OK', 'REASON'];
  const notes = [...new Set(rows.flatMap((r) => (r.expected.note === undefined ? [] : [r.expected.note])))];
  const body = rows.map((r) => [
    r.scenario,
    variantName(r.variant),
    `${r.expected.outcome}/${EXIT[r.expected.outcome]}${r.expected.note === undefined ? '' : '*'.repeat(notes.indexOf(r.expected.note) + 1)}`,
    r.checkState,
    `${r.outcome}/${r.exit}`,
    r.problems.length === 0 ? 'ok' : 'MISMATCH',
    [...r.problems, r.reason.replace(/\s+/g, ' ').slice(0, 140), ...(r.sawRunning ? [`first seen: ${r.sawRunning}`] : [])].join(' -- '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const lines = [head, ...body].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  return [...lines, ...notes.map((note, i) => `${'*'.repeat(i + 1)} ${note}`)].join('\n');
}

/** Scenarios down, variants across: what wait ended as (and check showed, where that differs), for docs/nova-peer.md. */
function printMatrix(rows: Row[], variants: Variant[]): string {
  const head = ['scenario', ...variants.map(variantName)];
  const byScenario = Map.groupBy(rows, (r) => r.scenario);
  const lines = [...byScenario].map(([scenario, runs]) => {
    const cells = variants.map((v) => {
      const r = runs.find((run) => run.variant === v);
      if (r === undefined) return '';
      const check = r.checkState === r.outcome ? '' : ` (check: ${r.checkState})`;
      return `${r.outcome}${check}${r.problems.length === 0 ? '' : ` **MISMATCH: ${r.problems.join('; ')}**`}`;
    });
    return `| ${[scenario, ...cells].join(' | ')} |`;
  });
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...lines].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8774' },
      dir: { type: 'string', default: '/tmp/nova-peer' },
      peer: { type: 'string', default: join(ROOT, '..', 'shared', 'nova-peer') },
      out: { type: 'string' },
      only: { type: 'string' },
      concurrency: { type: 'string', default: '3' },
    },
  });
  const endpoint = values.url.replace(/\/+$/, '');
  const out = values.out ?? mkdtempSync(join(tmpdir(), 'nova-peer-check-'));
  mkdirSync(out, { recursive: true });
  const only = values.only?.split(',');
  const scenarios = only === undefined ? SCENARIOS : SCENARIOS.filter((s) => only.includes(s.name));
  if (scenarios.length === 0) throw new Error(`--only names no scenario; there are: ${SCENARIOS.map((s) => s.name).join(', ')}`);

  const versionUrl = `${endpoint.replace(/\/v2(\.1)?$/, '')}/v2.1/`;
  const answer = await fetch(versionUrl).catch((err: unknown) => {
    throw new Error(`nova-peer does not answer at ${versionUrl} (${String(err)}): start it with PORT=<port> bash ${join(values.peer, 'start.sh')} ${values.dir}`);
  });
  const version = (await answer.json()) as { version: { version: string; min_version: string } };
  const nova = await run('dpkg-query', ['-W', '-f', '${Version}', 'python3-nova']).catch(() => null);
  console.log(`nova-peer ${endpoint}: python3-nova ${nova?.code === 0 ? nova.stdout : 'unknown'}, microversions ${version.version.min_version} to ${version.version.version}; answers kept in ${out}`);

  const variants: Variant[] = MICROVERSIONS.flatMap((microversion) =>
    (['admin', 'owner'] as const).map((role) => ({ microversion, role, minor: microversion === 'auto' ? AUTO_RESOLVES_TO : Number(microversion.split('.')[1]) })),
  );
  const watches = scenarios.map((scenario) => ({ scenario, ids: { server: randomUUID(), request: `req-${randomUUID()}` } }));
  const python = '/usr/bin/python3';
  const seedPy = join(values.peer, 'seed.py');
  await seed(python, seedPy, values.dir, watches.flatMap(({ scenario, ids }) => scenario.seed(ids)));

  const files = new Map<Variant, string>();
  const checks = new Map<Variant, CheckEntry[]>();
  for (const v of variants) {
    const name = variantName(v).replace(/[ =]/g, '-');
    const file = join(out, `watch-${name}.yaml`);
    writeFileSync(file, watchFile(endpoint, v, watches, out));
    files.set(v, file);
    const r = await cli(['check', '--json', '--config', file]);
    writeFileSync(join(out, `check-${name}.json`), r.stdout);
    checks.set(v, JSON.parse(r.stdout) as CheckEntry[]);
  }

  const limit = pLimit(Number(values.concurrency));
  const wait = (v: Variant, scenario: Scenario, ids: Ids, onStderr?: (text: string) => void) =>
    cli(['wait', '--json', '--config', files.get(v)!, '--server', ids.server, '--request', ids.request, '--timeout', scenario.timeout], onStderr);
  const row = async (v: Variant, scenario: Scenario, r: Run, sawRunning?: string): Promise<Row> => {
    const name = `${scenario.name}.${variantName(v).replace(/[ =]/g, '-')}`;
    writeFileSync(join(out, `wait-${name}.json`), r.stdout);
    writeFileSync(join(out, `wait-${name}.stderr`), r.stderr);
    let body: WaitBody = { outcome: 'none', reason: r.stderr.trim().split('\n').at(-1) ?? '' };
    try {
      body = JSON.parse(r.stdout) as WaitBody;
    } catch {
      // A usage or config error (exit 2) prints no body; its stderr says why.
    }
    const check = checks.get(v)!.find((c) => c.name === scenario.name);
    return judgeRow({
      scenario: scenario.name,
      variant: v,
      expected: scenario.expect(v),
      checkState: check?.state ?? 'absent',
      exit: r.code,
      outcome: body.outcome,
      reason: body.reason,
      ...(sawRunning === undefined ? {} : { sawRunning }),
    });
  };

  // Outcomes that take minutes of polls (not_found, a gone server) mostly sleep: they start at once and
  // need no turn; the rest take turns; the scenarios that change while waiting go one after the other.
  const jobs: Promise<Row>[] = [];
  const during: { scenario: Scenario; ids: Ids }[] = [];
  for (const { scenario, ids } of watches) {
    if (scenario.during !== undefined) {
      during.push({ scenario, ids });
      continue;
    }
    for (const v of variants) {
      const slow = scenario.expect(v).check === 'pending';
      jobs.push((slow ? wait(v, scenario, ids) : limit(() => wait(v, scenario, ids))).then((r) => row(v, scenario, r)));
    }
  }
  for (const { scenario, ids } of during) {
    jobs.push(...(await waitsAcross(variants, scenario, ids, wait, () => seed(python, seedPy, values.dir, scenario.during!(ids)), row)));
  }
  const rows = await Promise.all(jobs);
  const order = (r: Row) => scenarios.findIndex((s) => s.name === r.scenario) * 100 + variants.indexOf(r.variant);
  rows.sort((a, b) => order(a) - order(b));
  const table = printTable(rows);
  writeFileSync(join(out, 'results.txt'), `${table}\n`);
  writeFileSync(join(out, 'results.md'), `${printMatrix(rows, variants)}\n`);
  writeFileSync(join(out, 'results.json'), JSON.stringify(rows, null, 2));
  console.log(scenarios.map((sc) => `${sc.name.padEnd(40)}${sc.covers}`).join('\n'));
  console.log(`\n${table}`);
  const mismatches = rows.filter((r) => r.problems.length > 0).length;
  console.log(`\n${rows.length} runs of wait (and ${variants.length} of check): ${mismatches === 0 ? 'every verdict as expected' : `${mismatches} MISMATCHED`}`);
  return mismatches === 0 ? 0 : 1;
}

/**
 * Starts `wait` for every variant, seeds `finish` once each has shown the action unfinished (its first
 * progress line), and returns the rows as they end.
 */
async function waitsAcross(
  variants: Variant[],
  scenario: Scenario,
  ids: Ids,
  wait: (v: Variant, s: Scenario, ids: Ids, onStderr: (text: string) => void) => Promise<Run>,
  finish: () => Promise<void>,
  row: (v: Variant, s: Scenario, r: Run, sawRunning: string) => Promise<Row>,
): Promise<Promise<Row>[]> {
  const firstLines = variants.map(() => Promise.withResolvers<string>());
  const runs = variants.map((v, i) =>
    wait(v, scenario, ids, (text) => {
      const line = text.split('\n').find((l) => l.startsWith('ecs-action-watch wait: '));
      if (line !== undefined) firstLines[i]!.resolve(line.slice('ecs-action-watch wait: '.length));
    }),
  );
  // A wait that ended before saying anything never saw the action running.
  runs.forEach((r, i) => void r.then(() => firstLines[i]!.resolve('')));
  const seen = await Promise.all(firstLines.map((l) => l.promise));
  await finish();
  return runs.map((r, i) => r.then((done) => row(variants[i]!, scenario, done, seen[i]!)));
}

process.exitCode = await main();
