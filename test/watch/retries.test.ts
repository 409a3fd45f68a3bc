// A step retried under the same request (nova's db action_event_finish finishes the first row of a name):
// counted once by the verdict and by what check and wait show.
import { describe, expect, it } from 'vitest';
import type { InstanceAction, InstanceActionEvent } from '../../src/model.ts';
import { actionProgress } from '../../src/watch/progress.ts';
import { foldRetries, stepsAsEnded } from '../../src/watch/retries.ts';

const row = (event: string, start: string, finish: string | null, result: string | null = finish ? 'Success' : null): InstanceActionEvent => ({
  event, start_time: `2026-11-26T10:00:${start}.000000`, finish_time: finish === null ? null : `2026-11-26T10:00:${finish}.000000`, result,
});
const action = (events: InstanceActionEvent[], message: string | null = null): InstanceAction => ({ action: 'create', request_id: 'req-1', message, start_time: '2026-11-26T10:00:00.000000', events });
const BUILD = 'compute__do_build_and_run_instance';

describe('foldRetries', () => {
  it('leaves out the retry\'s row once the first row holds its end, and keeps the same object when nothing was retried', () => {
    const retried = action([row(BUILD, '06', null), row(BUILD, '01', '20')]);
    expect(foldRetries(retried).events).toEqual([row(BUILD, '01', '20')]);
    const plain = action([row('a', '01', '02'), row('b', '03', null)]);
    expect(foldRetries(plain)).toBe(plain);
  });

  it('leaves out a finished retry whose host\'s clock is behind the first host\'s, so that it seems to start first', () => {
    const behind = action([row(BUILD, '01', null), row(BUILD, '02', '40')]);
    expect(foldRetries(behind).events).toEqual([row(BUILD, '02', '40')]);
  });

  it('keeps the retry running while the first row holds only the first attempt\'s end', () => {
    const running = action([row(BUILD, '06', null), row(BUILD, '01', '04')]);
    expect(foldRetries(running)).toBe(running);
    expect(actionProgress(running)).toEqual({ done: 1, total: 2, running: [BUILD] });
  });

  it('drops the message "Error" a retried attempt left, unless a step still failed', () => {
    const passed = action([row('check', '03', null), row('check', '01', '05', 'Success')], 'Error');
    expect(foldRetries(passed).message).toBeNull();
    const failed = action([row('check', '03', null), row('check', '01', '05', 'Error')], 'Error');
    expect(foldRetries(failed).message).toBe('Error');
  });

  it('shows a finished retry as one finished step in check\'s and wait\'s progress', () => {
    expect(actionProgress(action([row(BUILD, '06', null), row(BUILD, '01', '20')]))).toEqual({ done: 1, total: 1, running: [] });
  });
});

describe('stepsAsEnded: a resize across cells (conductor/tasks/cross_cell_migrate.py)', () => {
  const copied = [row('conductor_migrate_server', '01', null), row('cold_migrate', '01', null), row('compute_prep_snapshot_based_resize_at_dest', '02', '04')];
  const finish = 'compute_finish_snapshot_based_resize_at_dest';

  it('leaves out the conductor\'s two rows copied into the target cell open once its last step has ended', () => {
    const done = action([...copied, row(finish, '06', '09')]);
    expect(stepsAsEnded(done).events).toEqual([copied[2], row(finish, '06', '09')]);
    expect(actionProgress(done)).toEqual({ done: 2, total: 2, running: [] });
  });

  it('keeps them running while that step runs, and in any move that has no such step', () => {
    const finishing = action([...copied, row(finish, '06', null)]);
    expect(stepsAsEnded(finishing)).toBe(finishing);
    const sameCell = action([row('conductor_migrate_server', '01', null), row('cold_migrate', '01', null), row('compute_prep_resize', '02', '04')]);
    expect(stepsAsEnded(sameCell)).toBe(sameCell);
  });
});

describe('stepsAsEnded: a resize revert across cells (cross_cell_migrate.py RevertResizeTask)', () => {
  // Copied into the source cell open before the instance mapping flips back; only the revert's last step finishes it there.
  const conductor = row('conductor_revert_snapshot_based_resize', '01', null);
  const atDest = 'compute_revert_snapshot_based_resize_at_dest';
  const atSource = 'compute_finish_revert_snapshot_based_resize_at_source';

  it('leaves out the conductor\'s row once a step of the revert has failed: its rollback finishes only the target cell\'s copy', () => {
    const failedAtDest = action([conductor, row(atDest, '02', '05', 'Error')], 'Error');
    expect(stepsAsEnded(failedAtDest).events).toEqual([row(atDest, '02', '05', 'Error')]);
    const failedAtSource = action([conductor, row(atDest, '02', '05'), row(atSource, '06', '09', 'Error')], 'Error');
    expect(stepsAsEnded(failedAtSource).events).toEqual([row(atDest, '02', '05'), row(atSource, '06', '09', 'Error')]);
    expect(actionProgress(failedAtSource)).toEqual({ done: 2, total: 2, running: [] });
  });

  it('keeps it running while the revert\'s steps succeed: the conductor finishes it after the last', () => {
    const finishing = action([conductor, row(atDest, '02', '05'), row(atSource, '06', '09')]);
    expect(stepsAsEnded(finishing)).toBe(finishing);
  });
});
