// When Nova is done recording an action's steps. Pure.
import type { InstanceAction } from '../model.ts';
import { novaTimeMs } from '../cloud/time.ts';

/**
 * Actions over once Nova has recorded them, which it does without events: os-resetState sets the server's
 * state and finishes its action within the API request (api/openstack/compute/admin_actions.py), so its
 * `events` stay [] for good. The finish is not in the API: `finish_time` is not shown, and `updated_at`
 * (2.58) moves with it only where the reset crossed a second, as Nova's database keeps whole seconds.
 * The status it leaves is the one asked for, ERROR included: that is the reset's result, not a failure.
 */
export const DONE_WITHOUT_EVENTS = new Set(['resetState']);

/**
 * Whether every step the action shows has ended: true with events hidden (below 2.51), which tell nothing;
 * false for an action without events that Nova records with events, whose first step has not started.
 */
export function eventsFinished(action: InstanceAction): boolean {
  const events = action.events;
  if (events === undefined) return true;
  if (events.length === 0) return action.action === 'delete' || DONE_WITHOUT_EVENTS.has(action.action);
  return events.every((e) => e.finish_time !== null);
}

/**
 * When the action finished as far as its own times show: its last event's finish, or (events hidden
 * or none) its last update or its start. null when unfinished or unreadable.
 */
export function finishedBy(action: InstanceAction): number | null {
  if (!eventsFinished(action)) return null;
  const events = action.events ?? [];
  if (events.length > 0) {
    const times = events.map((e) => novaTimeMs(e.finish_time));
    return times.some((t) => t === null) ? null : Math.max(...(times as number[]));
  }
  const updated = typeof action['updated_at'] === 'string' ? action['updated_at'] : null;
  return novaTimeMs(updated) ?? novaTimeMs(action.start_time);
}

/**
 * Whether both show the action finished, and at the same time (not a later step, nor a finish that moved);
 * where a finish time cannot be read, as the same texts.
 */
export function sameFinish(before: InstanceAction | null, now: InstanceAction | null): boolean {
  if (before === null || now === null || !eventsFinished(before) || !eventsFinished(now)) return false;
  const finished = finishedBy(before);
  return finished === null ? finishTexts(before) === finishTexts(now) : finishedBy(now) === finished;
}

/** The times its finish is read from, as the API wrote them. */
function finishTexts(action: InstanceAction): string {
  const events = action.events ?? [];
  if (events.length > 0) return JSON.stringify(events.map((e) => e.finish_time));
  return JSON.stringify([action['updated_at'] ?? null, action.start_time]);
}
