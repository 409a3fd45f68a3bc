// Verdicts of paths through Nova's code that the API shows only over time (nova master, see each test's
// comment): each test replays, poll by poll, what the API shows, asking decide() for the reads it wants, its
// memory carried from poll to poll as the engine carries it.
import { describe, expect, it } from 'vitest';
import { decide, NOTHING_READ, type ActionListObservation, type MigrationsObservation, type Observations, type ServerObservation, type Verdict } from '../../src/watch/verdict.ts';
import type { WatchMemory } from '../../src/watch/memory.ts';
import type { InstanceAction, InstanceActionEvent } from '../../src/model.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const HOUR = 3_600_000;
const PROJECT = 'p-owner';
const FRESH: WatchMemory = { everFound: false, firstNotFoundAt: null, notFoundAnswers: 0, serverGoneSince: null, serverGoneAnswers: 0, migrationsReadable: null, migrationsRefusedAnswers: 0, stallCheckedAt: null, erroredSince: null, finishSeenAt: null };

/** `mm:ss` or `mm:ss.f` after 10:00 as Nova writes it (microseconds). */
const at = (s: string) => { const [m, sec] = s.split(':'); const [whole, frac = ''] = sec!.split('.'); return `2026-11-26T10:${m}:${whole}.${frac.padEnd(6, '0')}`; };
const row = (event: string, start: string, finish: string | null, extra: Record<string, unknown> = {}): InstanceActionEvent => ({
  event, start_time: at(start), finish_time: finish === null ? null : at(finish), result: finish === null ? null : 'Success', ...extra,
});
const action = (name: string, events: InstanceActionEvent[] | undefined, message: string | null = null): InstanceAction => ({
  action: name, request_id: 'req-1', message, start_time: at('00:00'), project_id: PROJECT, ...(events ? { events } : {}),
});
const server = (status: string, taskState: string | null = null, hostId = 'host-b', fault: { message: string } | null = null): ServerObservation => ({
  kind: 'found', server: { info: { status, taskState, fault }, hostId, projectId: PROJECT },
});

/** What the API answers while a scenario holds. */
interface World {
  action: InstanceAction;
  server: ServerObservation;
  actions?: ActionListObservation;
  migrations?: MigrationsObservation;
}

/** One poll as the instance-action kind makes it: the action, then each read the verdict asks for. */
function poll(world: World, memory: WatchMemory, lastAction: InstanceAction | null, now: number, deadlineMs = 6 * HOUR): Verdict {
  let seen: Observations = { ...NOTHING_READ, action: { kind: 'found', action: world.action } };
  for (let i = 0; i < 6; i++) {
    const verdict = decide({ ...seen, now, trackingSince: T0, deadlineMs, memory, lastAction });
    if (verdict.final || verdict.next === null) return verdict;
    if (verdict.next === 'server' || verdict.next === 'look') seen = { ...seen, server: world.server };
    else if (verdict.next === 'action') seen = { ...seen, action: { kind: 'found', action: world.action }, actionAfterServer: true };
    else if (verdict.next === 'actions') seen = { ...seen, actions: world.actions ?? { kind: 'read', actions: [{ action: world.action.action, request_id: 'req-1', start_time: world.action.start_time }] } };
    else seen = { ...seen, migrations: world.migrations ?? { kind: 'refused', message: '403', byPolicy: true } };
  }
  throw new Error('too many reads');
}

/** Polls every 15 s from `from` until a final verdict or `until` (ms after tracking began). */
function run(world: World, from: number, until: number, deadlineMs = 6 * HOUR): Verdict {
  let memory: WatchMemory = FRESH;
  let verdict: Verdict | null = null;
  for (let t = from; t <= until; t += 15_000) {
    verdict = poll(world, memory, world.action, T0 + t, deadlineMs);
    if (verdict.final) return verdict;
    memory = verdict.memory;
  }
  return verdict!;
}

describe('a retried step whose retry ran on a host whose clock is a little behind the first host\'s', () => {
  // nova/db/main/api.py action_event_start adds a row per attempt; action_event_finish updates the FIRST row
  // of that name (.first()), with finish_time = timeutils.utcnow() of the host that finishes. start_time is
  // written by each attempt's own host (objects/instance_action.py pack_action_event_start). So the first
  // row's start is host A's clock and the retry row's start host B's. Nova never finishes any row but the
  // first, so a finished row and an unfinished one of the same name are "the first row, holding the
  // retry's end" and "the retry" whatever their start times say.

  it('a live migration whose destination check failed on compute-3 and passed on compute-2 (2 s behind) is a success', () => {
    // conductor/tasks/live_migrate.py _find_destination: compute-3's check raised MigrationPreCheckError at
    // 10:00:03 (its clock), the scheduler gave compute-2, whose check started at 10:00:04.5 real time =
    // 10:00:02.5 on its clock (2 s behind), and passed; its end (10:00:03.5 on its clock) went into row 1.
    const world: World = {
      action: action('live-migration', [
        row('compute_live_migration', '00:06', '00:06', { hostId: 'host-a' }),
        row('compute_check_can_live_migrate_source', '00:03', '00:03'),
        row('compute_check_can_live_migrate_destination', '00:02.5', null),
        row('compute_check_can_live_migrate_destination', '00:03', '00:03.5', { details: 'MigrationPreCheckError: not enough memory' }),
        row('conductor_live_migrate_instance', '00:01', '00:07'),
      ], 'Error'),
      server: server('ACTIVE', null, 'host-b'),
      migrations: { kind: 'read', migrations: [{ id: 7, status: 'completed', migration_type: 'live-migration', created_at: at('00:01'), source_compute: 'compute-1', dest_compute: 'compute-2' }] },
    };
    const soon = run(world, 60_000, 15 * 60_000);
    expect(soon.final ? soon.outcome : `pending: ${soon.reason}`).toBe('success');
  });

  it('the same rescheduled build with compute-2\'s clock in step is a success', () => {
    const world: World = {
      action: action('create', [
        row('compute__do_build_and_run_instance', '00:03', null),
        row('compute__do_build_and_run_instance', '00:02', '00:40'),
      ]),
      server: server('ACTIVE'),
    };
    expect(run(world, 60_000, 60_000)).toMatchObject({ final: true, outcome: 'success' });
  });

  it('a build rescheduled from compute-1 to compute-2 (1.5 s behind) after a failed claim is a success', () => {
    // compute/manager.py _do_build_and_run_instance: the claim on compute-1 failed at once
    // (ComputeResourcesUnavailable -> RescheduledException), it returned RESCHEDULED (row 1 Success), the
    // conductor's build_instances sent it to the alternate compute-2, which started 1 s later (real time)
    // on a clock 1.5 s behind, built it, and ended row 1 (db action_event_finish).
    const world: World = {
      action: action('create', [
        row('compute__do_build_and_run_instance', '00:01.5', null),
        row('compute__do_build_and_run_instance', '00:02', '00:40'),
      ]),
      server: server('ACTIVE'),
    };
    const soon = run(world, 60_000, 6 * HOUR + 15_000);
    expect(soon.final ? soon.outcome : `pending: ${soon.reason}`).toBe('success');
  });
});

describe('a create that Nova\'s conductor ended without any event', () => {
  // conductor/manager.py schedule_and_build_instances: objects.InstanceAction.action_start(CREATE) is written,
  // then _create_and_bind_arq_for_instance (Cyborg) fails and _cleanup_build_artifacts sets the instance
  // vm_state ERROR, task_state None, with a fault (set_vm_state_and_notify); no event is ever recorded
  // and nova-compute never hears of the server.
  const world: World = {
    action: action('create', []),
    server: server('ERROR', null, '', { message: 'Failed to bind accelerator requests' }),
  };

  it('is a failure, as it is below 2.51 where the events are hidden', () => {
    const hidden = run({ ...world, action: action('create', undefined) }, 60_000, 60_000);
    expect(hidden).toMatchObject({ final: true, outcome: 'failure' });
    const shown = run(world, 60_000, 30 * 60_000);
    expect(shown.final ? `${shown.outcome}: ${shown.reason}` : `pending: ${shown.reason}`).toMatch(
      /^failure: create failed: server ERROR: Failed to bind accelerator requests; no event ever started \(in 10 min 30 s\) and the server has been ERROR with no task state for 30 s: Nova ended the create before any step of it$/,
    );
  });

  it('whose server the conductor destroyed (deleted while scheduling) ends as "server deleted", not a timeout', () => {
    // conductor/manager.py _delete_build_request: the build request was already deleted (compute/api.py
    // _delete_while_booting, which records no delete action), so the conductor destroys the instance after
    // recording the create: the create has no event, and the server answers 404.
    const deleted: World = { action: action('create', []), server: { kind: 'gone' }, actions: { kind: 'read', actions: [] } };
    const late = run(deleted, 60_000, 6 * HOUR + 15_000);
    expect(late.final ? `${late.outcome}: ${late.reason}` : `pending: ${late.reason}`).toBe('failure: create failed: server deleted (not found for 3 polls over 30 s with no event started)');
  });
});

describe('a resize whose source nova-compute restarted during compute_resize_instance', () => {
  // compute/manager.py _init_instance: task_state RESIZE_MIGRATING at start-up -> "We crashed during
  // resize/migration, so roll back for safety": driver.finish_revert_migration, then task_state None
  // (vm_state stays active). compute_resize_instance is never finished. During a resize the task state
  // is never None while one of its events runs (resize_prep, resize_migrating, resize_migrated, resize_finish).
  it('ends as a failure (the resize was rolled back), not a timeout', () => {
    const world: World = {
      action: action('resize', [
        row('compute_resize_instance', '00:05', null),
        row('compute_prep_resize', '00:02', '00:04'),
        row('conductor_migrate_server', '00:01', '00:02'),
      ]),
      server: server('ACTIVE', null, 'host-a'),
    };
    const end = run(world, 60_000, 6 * HOUR + 15_000);
    expect(end.final ? `${end.outcome}: ${end.reason}` : `pending: ${end.reason}`).toMatch(/^failure: resize failed: compute_resize_instance never finished \(running 10 min 40 s\) and the server has been ACTIVE with no task state \(a running resize keeps one; nova-compute rolls one back at its start\) for 30 s: its compute service likely stopped during the step$/);
  });
});
