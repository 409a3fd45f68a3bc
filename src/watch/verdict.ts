import type { InstanceAction, InstanceActionEvent, Outcome, ServerInfo } from '../model.ts';
import { parseNovaTime } from '../cloud/time.ts';
import { formatDuration, lastLine } from './format.ts';

/** A create becomes visible only after scheduling: 404s inside this window are not an outcome yet. */
export const NOT_FOUND_WINDOW_MS = 2 * 60_000;

/** What one poll saw of the action. */
export type ActionObservation =
  | { kind: 'found'; action: InstanceAction }
  | { kind: 'not_found'; message: string }
  | { kind: 'error'; message: string };

/** What one poll saw of the server; read only once every visible event has finished. */
export type ServerObservation =
  | { kind: 'found'; server: ServerInfo }
  | { kind: 'gone' }
  | { kind: 'not_read' };

export interface VerdictInput {
  now: number;
  trackingSince: number;
  deadlineMs: number;
  /** Whether any earlier poll found the action (a later 404 is then a glitch, not "not found"). */
  everFound: boolean;
  action: ActionObservation;
  server: ServerObservation;
}

export type Verdict =
  | { final: false; reason: string; needsServer: boolean }
  | { final: true; outcome: Outcome; reason: string };

/** Every visible event has finished (or the API shows no events at all, below microversion 2.51). */
function eventsSettled(action: InstanceAction): boolean {
  if (action.events === undefined) return true;
  return action.events.length > 0 && action.events.every((e) => e.finish_time !== null);
}

/**
 * The verdict of one poll: a pure function of what the API answered, so that every rule of the
 * contract is tested as a table without servers. Nova has no "finished" flag: events are created as
 * each step starts, so "every event finished" can hold between two steps of a resize; the server's
 * task_state is what tells the action is over.
 */
export function decide(input: VerdictInput): Verdict {
  const settled = judgeSettled(input);
  if (settled) return settled;
  const elapsed = input.now - input.trackingSince;
  const pendingReason = describePending(input);
  if (elapsed >= input.deadlineMs) {
    return { final: true, outcome: 'timeout', reason: `not finished ${formatDuration(input.deadlineMs)} after tracking began: ${pendingReason}` };
  }
  const needsServer = input.action.kind === 'found' && eventsSettled(input.action.action) && input.server.kind === 'not_read';
  return { final: false, reason: pendingReason, needsServer };
}

function judgeSettled(input: VerdictInput): Verdict | null {
  const { action, server } = input;
  if (action.kind === 'not_found') {
    if (!input.everFound && input.now - input.trackingSince >= NOT_FOUND_WINDOW_MS) {
      return {
        final: true,
        outcome: 'not_found',
        reason: `the API answered 404 for every poll since tracking began ${formatDuration(input.now - input.trackingSince)} ago: ${action.message}`,
      };
    }
    return null;
  }
  if (action.kind !== 'found' || !eventsSettled(action.action)) return null;
  if (server.kind === 'not_read') return null;
  if (server.kind === 'found' && server.server.taskState !== null) return null;
  const failed = failedEvents(action.action);
  const serverInfo = server.kind === 'found' ? server.server : null;
  const message = action.action.message?.trim() ?? '';
  const ok = failed.length === 0 && message === '' && serverInfo?.status !== 'ERROR';
  if (ok) return { final: true, outcome: 'success', reason: describeSuccess(action.action, server) };
  return { final: true, outcome: 'failure', reason: describeFailure(action.action, failed, message, serverInfo) };
}

function failedEvents(action: InstanceAction): InstanceActionEvent[] {
  return (action.events ?? []).filter((e) => e.result !== 'Success');
}

function describeSuccess(action: InstanceAction, server: ServerObservation): string {
  const events = action.events ?? [];
  const took = actionDuration(action);
  const steps = events.length ? `${events.length} event${events.length === 1 ? '' : 's'} succeeded` : 'finished (events not visible at this microversion)';
  const where = server.kind === 'gone' ? 'server deleted' : `server ${server.kind === 'found' ? server.server.status : 'unknown'}`;
  return `${action.action}: ${steps}${took ? ` in ${took}` : ''}, ${where}`;
}

function describeFailure(action: InstanceAction, failed: InstanceActionEvent[], message: string, server: ServerInfo | null): string {
  const parts = failed.map((e) => {
    const why = failureDetail(e);
    return `${e.event} ${e.result ?? 'no result'}${why ? ` (${why})` : ''}`;
  });
  if (message && failed.length === 0) parts.push(`action message "${message}"`);
  const fault = server?.fault?.message.trim();
  if (server?.status === 'ERROR') parts.push(`server ERROR${fault ? `: ${fault}` : ''}`);
  else if (fault) parts.push(`server fault: ${fault}`);
  return `${action.action} failed: ${parts.join('; ')}`;
}

/** From 2.84 an event's `details` names the exception; before, the traceback's last line is the best we have. */
function failureDetail(e: InstanceActionEvent): string {
  if (typeof e['details'] === 'string' && e['details'].trim()) return e['details'].trim();
  // Nova stores only the stack frames, so the last line is often code rather than the exception.
  return e.traceback ? `traceback ends: ${lastLine(e.traceback)}` : '';
}

function describePending(input: VerdictInput): string {
  const { action, server } = input;
  if (action.kind === 'error') return `last poll failed: ${action.message}`;
  if (action.kind === 'not_found') return input.everFound ? `the action is no longer found (${action.message})` : `not visible yet (404: ${action.message})`;
  const events = action.action.events;
  if (events !== undefined && events.length === 0) return `${action.action.action}: no event started yet`;
  const running = (events ?? []).filter((e) => e.finish_time === null).map((e) => e.event);
  if (running.length) return `${action.action.action}: ${running.join(', ')} running`;
  if (server.kind === 'found' && server.server.taskState !== null) {
    return `${action.action.action}: server task_state ${server.server.taskState} (between steps)`;
  }
  return `${action.action.action}: waiting for the server's state`;
}

function actionDuration(action: InstanceAction): string | null {
  const finishes = (action.events ?? []).map((e) => e.finish_time).filter((t): t is string => t !== null);
  const start = action.start_time;
  if (!start || finishes.length === 0) return null;
  try {
    const end = Math.max(...finishes.map((t) => parseNovaTime(t).getTime()));
    return formatDuration(end - parseNovaTime(start).getTime());
  } catch {
    // An odd timestamp must not cost the verdict, only the duration in its reason.
    return null;
  }
}
