import { describe, expect, it } from 'vitest';
import { decide, NOT_FOUND_WINDOW_MS, type ActionObservation, type ServerObservation, type Verdict } from '../../src/watch/verdict.ts';
import type { InstanceAction, InstanceActionEvent, ServerInfo } from '../../src/model.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const HOUR = 3_600_000;

function ev(event: string, finish: string | null, result: string | null = finish ? 'Success' : null, traceback?: string): InstanceActionEvent {
  return { event, start_time: '2026-11-26T10:00:01.000000', finish_time: finish, result, ...(traceback !== undefined ? { traceback } : {}) };
}
function action(events: InstanceActionEvent[] | undefined, extra: Partial<InstanceAction> = {}): ActionObservation {
  return {
    kind: 'found',
    action: { action: 'resize', request_id: 'req-1', message: null, start_time: '2026-11-26T10:00:00.000000', ...(events ? { events } : {}), ...extra },
  };
}
const server = (status: string, taskState: string | null = null, fault: ServerInfo['fault'] = null): ServerObservation => ({ kind: 'found', server: { status, taskState, fault } });
const notRead: ServerObservation = { kind: 'not_read' };
const gone: ServerObservation = { kind: 'gone' };
const done = '2026-11-26T10:00:09.500000';

interface Row {
  name: string;
  action: ActionObservation;
  server?: ServerObservation;
  elapsed?: number;
  everFound?: boolean;
  deadline?: number;
  expect: { final: false; needsServer?: boolean } | { final: true; outcome: string; reason?: RegExp };
}

const rows: Row[] = [
  { name: 'events [] (action recorded, no step started yet)', action: action([]), expect: { final: false, needsServer: false } },
  { name: 'first event still running', action: action([ev('compute_prep_resize', null)]), expect: { final: false, needsServer: false } },
  {
    name: 'all present events finished: the server must be read before deciding',
    action: action([ev('compute_prep_resize', done)]),
    expect: { final: false, needsServer: true },
  },
  {
    name: 'multi-step resize between two steps: events finished, task_state still set',
    action: action([ev('compute_prep_resize', done)]),
    server: server('RESIZE', 'resize_migrating'),
    expect: { final: false },
  },
  {
    name: 'multi-step resize after its last step',
    action: action([ev('compute_prep_resize', done), ev('compute_resize_instance', done), ev('compute_finish_resize', done)]),
    server: server('VERIFY_RESIZE'),
    expect: { final: true, outcome: 'success', reason: /3 events succeeded in 9\.5 s, server VERIFY_RESIZE/ },
  },
  {
    name: 'failed build whose event says Success while the server is ERROR',
    action: action([ev('compute__do_build_and_run_instance', done)], { action: 'create' }),
    server: server('ERROR', null, { code: 500, message: 'No valid host was found.' }),
    expect: { final: true, outcome: 'failure', reason: /server ERROR: No valid host was found\./ },
  },
  {
    name: 'an event with result Error carries its traceback\'s last line',
    action: action([ev('compute_resize_instance', done, 'Error', 'Traceback (most recent call last):\n  File "x.py"\nMigrationError: disk too small\n')], { message: 'Error' }),
    server: server('ACTIVE'),
    expect: { final: true, outcome: 'failure', reason: /compute_resize_instance Error \(traceback ends: MigrationError: disk too small\)/ },
  },
  {
    name: 'from 2.84 an event\'s details name the exception',
    action: action([{ ...ev('conductor_schedule_and_build_instances', done, 'Error', '  File "x.py"\n    raise e\n'), details: 'No valid host was found. ' }], { action: 'create' }),
    server: server('ERROR', null, { code: 500, message: 'No valid host was found. ' }),
    expect: { final: true, outcome: 'failure', reason: /^create failed: conductor_schedule_and_build_instances Error \(No valid host was found\.\); server ERROR: No valid host was found\.$/ },
  },
  {
    name: 'message "Error" with every event Success is a failure',
    action: action([ev('compute_reboot_instance', done)], { message: 'Error', action: 'reboot' }),
    server: server('ACTIVE'),
    expect: { final: true, outcome: 'failure', reason: /action message "Error"/ },
  },
  {
    name: 'a delete: events finished and the server answers 404',
    action: action([ev('compute_terminate_instance', done)], { action: 'delete' }),
    server: gone,
    expect: { final: true, outcome: 'success', reason: /server deleted/ },
  },
  {
    name: 'below 2.51 a non-admin sees no events: the server task state decides',
    action: action(undefined, { action: 'reboot' }),
    server: server('ACTIVE'),
    expect: { final: true, outcome: 'success', reason: /events not visible/ },
  },
  {
    name: 'an early 404 is not an outcome',
    action: { kind: 'not_found', message: 'Action req-1 on instance x could not be found.' },
    elapsed: 30_000,
    expect: { final: false },
  },
  {
    name: 'a 404 that never resolves within two minutes is not_found',
    action: { kind: 'not_found', message: 'Action req-1 on instance x could not be found.' },
    elapsed: NOT_FOUND_WINDOW_MS,
    expect: { final: true, outcome: 'not_found', reason: /404 for every poll.*could not be found/ },
  },
  {
    name: 'a 404 after the action was once found is a glitch, not not_found',
    action: { kind: 'not_found', message: 'gone' },
    elapsed: 10 * 60_000,
    everFound: true,
    expect: { final: false },
  },
  {
    name: 'the deadline turns a running action into timeout',
    action: action([ev('compute_reboot_instance', null)], { action: 'reboot' }),
    elapsed: 2 * HOUR,
    deadline: 2 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /not finished 2 h after tracking began: reboot: compute_reboot_instance running/ },
  },
  {
    name: 'a poll error past the deadline is a timeout that names the error',
    action: { kind: 'error', message: 'GET x → 503' },
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'timeout', reason: /last poll failed: GET x → 503/ },
  },
  {
    name: 'a poll error before the deadline stays pending',
    action: { kind: 'error', message: 'GET x → 503' },
    elapsed: 60_000,
    expect: { final: false },
  },
  {
    name: 'a finished action is reported even when found after the deadline',
    action: action([ev('compute_reboot_instance', done)], { action: 'reboot' }),
    server: server('ACTIVE'),
    elapsed: 7 * HOUR,
    expect: { final: true, outcome: 'success' },
  },
];

describe('decide', () => {
  it.each(rows)('$name', (row) => {
    const verdict: Verdict = decide({
      now: T0 + (row.elapsed ?? 1000),
      trackingSince: T0,
      deadlineMs: row.deadline ?? 6 * HOUR,
      everFound: row.everFound ?? row.action.kind === 'found',
      action: row.action,
      server: row.server ?? notRead,
    });
    expect(verdict.final).toBe(row.expect.final);
    if (verdict.final && row.expect.final) {
      expect(verdict.outcome).toBe(row.expect.outcome);
      if (row.expect.reason) expect(verdict.reason).toMatch(row.expect.reason);
    }
    if (!verdict.final && !row.expect.final && row.expect.needsServer !== undefined) {
      expect(verdict.needsServer).toBe(row.expect.needsServer);
    }
  });
});
