// How far an action has got, for people following it (`check`, `wait`). Pure.
import type { InstanceAction } from '../model.ts';
import { stepsAsEnded } from './retries.ts';

export interface ActionProgress {
  /** Events finished; null when the API shows none (below microversion 2.51 for non-admins). */
  done: number | null;
  total: number | null;
  /** Events that started and have not finished: the step the action is at. */
  running: string[];
}

export function actionProgress(answered: InstanceAction | null): ActionProgress | null {
  if (answered === null) return null;
  // A step retried under the request counts once, and a step left open for good not at all, as the verdict counts them.
  const action = stepsAsEnded(answered);
  if (action.events === undefined) return { done: null, total: null, running: [] };
  const running = action.events.filter((e) => e.finish_time === null).map((e) => e.event);
  return { done: action.events.length - running.length, total: action.events.length, running };
}

/** `2/3`, or `-` when nothing is known. */
export function formatEvents(progress: ActionProgress | null): string {
  return progress?.total == null ? '-' : `${progress.done}/${progress.total}`;
}
