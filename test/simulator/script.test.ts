import { describe, expect, it } from 'vitest';
import { actionAt, planAction, serverAt, type ActionScript } from '../../src/simulator/script.ts';
import { PROJECT, SERVER, START } from './helpers.ts';

const base = { projectId: PROJECT, serverId: SERVER } as const;

function plan(script: Omit<ActionScript, 'projectId' | 'serverId'>) {
  return planAction({ ...base, ...script }, START);
}

describe('planAction', () => {
  it('generates a request id unless given one', () => {
    expect(plan({ action: 'stop', steps: [] }).requestId).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(plan({ action: 'stop', requestId: 'req-given', steps: [] }).requestId).toBe('req-given');
  });

  it('rejects impossible timelines', () => {
    expect(() => plan({ action: 'stop', steps: [{ event: 'e', durationMs: -1 }] })).toThrow(/steps\[0\]\.durationMs/);
    expect(() => plan({ action: 'stop', gapMs: Number.NaN, steps: [] })).toThrow(/gapMs/);
    expect(() => plan({ action: 'create', visibleAfterMs: 1000, firstStepAfterMs: 500, steps: [] })).toThrow(/firstStepAfterMs/);
    expect(() => plan({ action: 'reboot', neverFinishes: true, steps: [] })).toThrow(/neverFinishes/);
  });
});

describe('actionAt', () => {
  it('is undefined until visible, then has no events until the first step starts', () => {
    const p = plan({ action: 'create', visibleAfterMs: 1000, firstStepAfterMs: 1500, steps: [{ event: 'e', durationMs: 100 }] });
    expect(actionAt(p, START + 999)).toBeUndefined();
    expect(actionAt(p, START + 1000)).toMatchObject({ events: [], startTime: START, updatedAt: START, message: null });
    expect(actionAt(p, START + 1500)?.events).toHaveLength(1);
  });

  it('keeps result, traceback and details null until a failing step ends, then sets message Error', () => {
    const p = plan({
      action: 'rebuild',
      steps: [
        { event: 'ok', durationMs: 100 },
        { event: 'bad', durationMs: 100, result: 'Error' },
      ],
    });
    const running = actionAt(p, START + 150);
    expect(running?.message).toBeNull();
    expect(running?.events[1]).toMatchObject({ event: 'bad', result: null, traceback: null, details: null, finishTime: null });
    const failed = actionAt(p, START + 200);
    expect(failed?.message).toBe('Error');
    expect(failed?.events[1]).toMatchObject({ result: 'Error', details: 'An unknown exception occurred.', finishTime: START + 200 });
    // Nova stores format_tb output: frames only, no "Traceback" header.
    expect(failed?.events[1]?.traceback).toMatch(/^ {2}File "/);
    expect(failed?.events[0]).toMatchObject({ result: 'Success', traceback: null, details: null });
  });

  it('moves updated_at with every event start and finish', () => {
    const p = plan({ action: 'resize', gapMs: 300, steps: [{ event: 'a', durationMs: 100 }, { event: 'b', durationMs: 100 }] });
    expect(actionAt(p, START + 50)?.updatedAt).toBe(START);
    expect(actionAt(p, START + 250)?.updatedAt).toBe(START + 100);
    expect(actionAt(p, START + 450)?.updatedAt).toBe(START + 400);
    expect(actionAt(p, START + 10_000)?.updatedAt).toBe(START + 500);
  });

  it('never finishes the last step of a script that never finishes', () => {
    const p = plan({ action: 'reboot', neverFinishes: true, steps: [{ event: 'compute_reboot_instance', durationMs: 10 }] });
    const later = START + 365 * 24 * 3600 * 1000;
    expect(actionAt(p, later)?.events[0]).toMatchObject({ finishTime: null, result: null });
    expect(serverAt(p, later)).toMatchObject({ status: 'REBOOT', taskState: 'reboot_started' });
  });

  it('never finishes a step left open, while the script goes on after it', () => {
    const p = plan({
      action: 'live-migration',
      steps: [{ event: 'compute_pre_live_migration', durationMs: 100, leftOpen: true }, { event: 'b', durationMs: 100 }],
    });
    expect(actionAt(p, START + 300)?.events).toMatchObject([{ event: 'compute_pre_live_migration', finishTime: null, result: null }, { event: 'b', finishTime: START + 200 }]);
    expect(serverAt(p, START + 300)).toMatchObject({ status: 'ACTIVE', taskState: null });
  });

  it('writes the end of a step retried under the same name into the first row of that name, as Nova does, leaving the retry\'s own row open', () => {
    // nova/db/main/api.py: action_event_start adds a row per attempt; action_event_finish updates the first
    // row of the name (`.first()`) with finish_time and result (traceback and details only on an error), and
    // sets the action's message Error for good. conductor/tasks/live_migrate.py _find_destination: the check
    // failed on compute-3 and passed on compute-2.
    const p = plan({
      action: 'live-migration',
      steps: [
        { event: 'compute_check_can_live_migrate_destination', durationMs: 100, result: 'Error', host: 'compute-3', details: 'MigrationPreCheckError' },
        { event: 'compute_check_can_live_migrate_destination', durationMs: 100, host: 'compute-2' },
        { event: 'compute_live_migration', durationMs: 100 },
      ],
    });
    const retrying = actionAt(p, START + 150);
    expect(retrying?.events).toMatchObject([
      { host: 'compute-3', finishTime: START + 100, result: 'Error', details: 'MigrationPreCheckError' },
      { host: 'compute-2', startTime: START + 100, finishTime: null, result: null },
    ]);
    const done = actionAt(p, START + 300);
    expect(done?.message).toBe('Error');
    expect(done?.events).toMatchObject([
      { host: 'compute-3', startTime: START, finishTime: START + 200, result: 'Success', details: 'MigrationPreCheckError' },
      { host: 'compute-2', startTime: START + 100, finishTime: null, result: null, traceback: null },
      { event: 'compute_live_migration', finishTime: START + 300, result: 'Success' },
    ]);
  });
});

describe('serverAt', () => {
  it('uses Nova status and states per action while running and after', () => {
    const cases = [
      ['create', 'BUILD', 'building', 'scheduling', 'ACTIVE', 'active'],
      ['resize', 'RESIZE', 'active', 'resize_prep', 'VERIFY_RESIZE', 'resized'],
      ['stop', 'ACTIVE', 'active', 'powering-off', 'SHUTOFF', 'stopped'],
      ['start', 'SHUTOFF', 'stopped', 'powering-on', 'ACTIVE', 'active'],
      // compute/api.py sets a task state for each as it records the action; _STATE_MAP names the status.
      ['createImage', 'ACTIVE', 'active', 'image_snapshot_pending', 'ACTIVE', 'active'],
      ['createBackup', 'ACTIVE', 'active', 'image_backup', 'ACTIVE', 'active'],
      ['pause', 'ACTIVE', 'active', 'pausing', 'PAUSED', 'paused'],
      ['unpause', 'PAUSED', 'paused', 'unpausing', 'ACTIVE', 'active'],
      ['suspend', 'ACTIVE', 'active', 'suspending', 'SUSPENDED', 'suspended'],
      ['resume', 'SUSPENDED', 'suspended', 'resuming', 'ACTIVE', 'active'],
      ['rescue', 'ACTIVE', 'active', 'rescuing', 'RESCUE', 'rescued'],
      ['unrescue', 'RESCUE', 'rescued', 'unrescuing', 'ACTIVE', 'active'],
      ['shelve', 'ACTIVE', 'active', 'shelving', 'SHELVED_OFFLOADED', 'shelved_offloaded'],
      ['unshelve', 'SHELVED_OFFLOADED', 'shelved_offloaded', 'unshelving', 'ACTIVE', 'active'],
      ['evacuate', 'REBUILD', 'active', 'rebuilding', 'ACTIVE', 'active'],
      // confirm_resize sets no task state: the server is VERIFY_RESIZE until the step ends.
      ['confirmResize', 'VERIFY_RESIZE', 'resized', null, 'ACTIVE', 'active'],
      ['revertResize', 'REVERT_RESIZE', 'resized', 'resize_reverting', 'ACTIVE', 'active'],
      ['changePassword', 'PASSWORD', 'active', 'updating_password', 'ACTIVE', 'active'],
      ['shelveOffload', 'SHELVED', 'shelved', 'shelving_offloading', 'SHELVED_OFFLOADED', 'shelved_offloaded'],
      ['restore', 'SOFT_DELETED', 'soft-delete', 'restoring', 'ACTIVE', 'active'],
      ['lock', 'ACTIVE', 'active', null, 'ACTIVE', 'active'],
    ] as const;
    for (const [action, status, vmState, taskState, finalStatus, finalVmState] of cases) {
      const p = plan({ action, steps: [{ event: 'e', durationMs: 100 }], taskStateClearsAfterMs: 50 });
      expect(serverAt(p, START + 120)).toMatchObject({ status, vmState, taskState, fault: null });
      expect(serverAt(p, START + 150)).toMatchObject({ status: finalStatus, vmState: finalVmState, taskState: null });
    }
  });

  it('follows the task_state of the latest started step that sets one', () => {
    const p = plan({
      action: 'create',
      visibleAfterMs: 100,
      steps: [
        { event: 'a', durationMs: 100, taskState: 'networking' },
        { event: 'b', durationMs: 100 },
        { event: 'c', durationMs: 100, taskState: 'spawning' },
      ],
    });
    expect(serverAt(p, START)?.taskState).toBe('scheduling');
    expect(serverAt(p, START + 150)?.taskState).toBe('networking');
    expect(serverAt(p, START + 250)?.taskState).toBe('networking');
    expect(serverAt(p, START + 350)?.taskState).toBe('spawning');
    expect(serverAt(p, START + 400)?.taskState).toBeNull();
  });

  it('ends in ERROR with the fault when one is scripted, even if every event succeeded', () => {
    const p = plan({ action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 100 }], fault: { message: 'Build aborted' } });
    expect(actionAt(p, START + 100)?.events.every((event) => event.result === 'Success')).toBe(true);
    expect(serverAt(p, START + 100)).toMatchObject({
      status: 'ERROR',
      vmState: 'error',
      taskState: null,
      fault: { code: 500, message: 'Build aborted', details: null, created: START + 100 },
    });
  });

  it('is gone once a delete is over, and only then', () => {
    const p = plan({ action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] });
    expect(serverAt(p, START + 99)).toMatchObject({ taskState: 'deleting' });
    expect(serverAt(p, START + 100)).toBeUndefined();
    const kept = plan({ action: 'delete', deletesServer: false, steps: [] });
    expect(serverAt(kept, START)).toMatchObject({ status: 'DELETED', vmState: 'deleted' });
  });
});
