// Nova finishes an event by its name: db action_event_finish updates the first row of that name of the
// action (`.first()`), while action_event_start adds a row each time. So a step retried under the same
// request id (a build rescheduled to another host, a live migration's destination check tried on the
// next host) leaves the retry's own row unfinished for good, and writes the retry's finish and result into
// the earlier row. And a cross-cell move, or a failed revert of one, leaves conductor rows open for good (stepsAsEnded). Pure.
import { novaTimeMs } from '../cloud/time.ts';
import type { InstanceAction, InstanceActionEvent } from '../model.ts';

/**
 * The action as its steps ended: each retry's row left out once another row of its name holds a finish no
 * earlier than the retry's start (Nova wrote the retry's end there: it finishes no row but the first).
 * While the retry runs, the first row keeps the first attempt's finish, before the retry started, and the
 * retry reads as running. The two rows' starts are not compared: each was stamped by its own host's clock,
 * and a retry's host a second or two behind the first's would make the retry seem to start first, and
 * run for good; its finish and start were both stamped by the retry's host. A failed
 * attempt set the action's message "Error" for good; once no step shows a failure any more, that message
 * was the retried attempt's and is left out too. The same object when nothing was retried.
 */
export function foldRetries(action: InstanceAction): InstanceAction {
  const events = action.events;
  // Asked at every poll of a running action: nothing is made unless a retry is there to fold.
  if (events === undefined || events.length < 2 || !events.some((e) => isFinishedRetry(e, events))) return action;
  const folded = events.filter((e) => !isFinishedRetry(e, events));
  const stillFailed = folded.some((e) => e.result !== null && e.result !== 'Success');
  const message = action.message?.trim() === 'Error' && !stillFailed ? null : action.message;
  return { ...action, events: folded, message };
}

function isFinishedRetry(row: InstanceActionEvent, events: InstanceActionEvent[]): boolean {
  if (row.finish_time !== null) return false;
  const started = novaTimeMs(row.start_time);
  if (started === null) return false;
  return events.some((first) => {
    if (first === row || first.event !== row.event) return false;
    const finished = novaTimeMs(first.finish_time);
    return finished !== null && finished >= started;
  });
}

/**
 * The rows a cross-cell resize or cold migration leaves open for good in the cell the API reads once it is
 * done: conductor/tasks/cross_cell_migrate.py TargetDBSetupTask copies the action and its events into the
 * target cell while the conductor's own two steps run (migrate_server, and cold_migrate around the task),
 * and the conductor finishes them in the source cell only, after the instance mapping points at the target.
 * Only a cross-cell move has a compute_finish_snapshot_based_resize_at_dest step: once it has ended, those
 * two rows are no step still running.
 *
 * Its revert (RevertResizeTask) copies the action and its conductor_revert_snapshot_based_resize row, open,
 * back into the source cell before the instance mapping flips back to it, and finishes that row there only
 * after its last step succeeded. A step of it that fails (the destination's cleanup, which the conductor
 * records in the source cell, or the source's finish) ends the task in its rollback, which sets the server
 * ERROR and finishes only the target cell's copy (wrap_instance_event around revert_snapshot_based_resize):
 * once such a step has failed, the row is no step still running.
 */
const REVERT_STEPS = new Set(['compute_revert_snapshot_based_resize_at_dest', 'compute_finish_revert_snapshot_based_resize_at_source']);
/** Each copy's rows, and the event whose showing says they are no step still running. */
const COPIED_CONDUCTOR_ROWS: ReadonlyArray<{ rows: ReadonlySet<string>; overOnce: (e: InstanceActionEvent) => boolean }> = [
  {
    rows: new Set(['conductor_migrate_server', 'cold_migrate']),
    overOnce: (e) => e.event === 'compute_finish_snapshot_based_resize_at_dest' && e.finish_time !== null,
  },
  {
    rows: new Set(['conductor_revert_snapshot_based_resize']),
    overOnce: (e) => REVERT_STEPS.has(e.event) && e.finish_time !== null && e.result !== null && e.result !== 'Success',
  },
];

/** The action as its steps ended: retries counted once, and a cross-cell move's or revert's copied conductor rows left out once it is over. */
export function stepsAsEnded(action: InstanceAction): InstanceAction {
  const folded = foldRetries(action);
  const events = folded.events;
  if (events === undefined) return folded;
  const leftOpen = COPIED_CONDUCTOR_ROWS.filter((copied) => events.some(copied.overOnce)).flatMap((copied) => [...copied.rows]);
  if (leftOpen.length === 0) return folded;
  const kept = events.filter((e) => e.finish_time !== null || !leftOpen.includes(e.event));
  return kept.length === events.length ? folded : { ...folded, events: kept };
}
