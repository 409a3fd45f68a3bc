// What a notification says, kept apart from how it travels so that the text can be tested without a
// server and every transport tells the same story. Pure: no I/O, no clock.
import { parseNovaTime } from '../cloud/time.ts';
import { NOTIFICATION_TYPES, type InstanceActionEvent, type Notification, type Outcome } from '../model.ts';

/** The contract's webhook body. */
export function renderWebhookBody(n: Notification): string {
  // Rebuilt field by field: the key order is the contract's whatever order the caller's object has, and
  // nothing the caller happened to add to the notification leaks into the payload.
  return JSON.stringify({
    type: n.type,
    outcome: n.outcome,
    watch: { name: n.watch.name, projectId: n.watch.projectId, serverId: n.watch.serverId, requestId: n.watch.requestId },
    instanceAction: n.instanceAction,
    server: n.server === null ? null : { status: n.server.status, taskState: n.server.taskState, fault: n.server.fault },
    reason: n.reason,
    detectedAt: n.detectedAt,
  });
}

const OUTCOME_WORDS: Record<Outcome, string> = {
  success: 'succeeded',
  failure: 'failed',
  timeout: 'timed out',
  not_found: 'not found',
};

export function renderEmail(n: Notification): { subject: string; text: string } {
  const headline = renderHeadline(n);
  return { subject: `[ecs-action-watch] ${headline}`, text: `${[headline, ...renderFacts(n)].join('\n')}\n` };
}

/** The outcome to report, or null for a test notification. */
function outcomeOf(n: Notification): Outcome | null {
  return n.type === NOTIFICATION_TYPES.test ? null : n.outcome;
}

function renderHeadline(n: Notification): string {
  // A name is a person's label and may hold anything YAML allows, a line break included; a subject is one line.
  const label = (n.watch.name || n.watch.serverId).replace(/\s+/g, ' ').trim();
  const outcome = outcomeOf(n);
  if (outcome === null) return label ? `test notification: ${label}` : 'test notification';
  return `${n.instanceAction?.action || 'action'} ${OUTCOME_WORDS[outcome]}: ${label}`;
}

function renderFacts(n: Notification): string[] {
  const test = outcomeOf(n) === null;
  const lines: string[] = [''];
  if (test) lines.push('This is a test notification from ecs-action-watch: if you can read it, this notifier works.', '');
  if (n.reason) lines.push(`Reason: ${n.reason}`, '');

  const field = (label: string, value: string): void => {
    lines.push(`${`${label}:`.padEnd(14)}${value}`);
  };
  if (n.watch.name) field('Watch', n.watch.name);
  if (n.watch.requestId) field('Request', n.watch.requestId);
  if (n.watch.serverId) field('Server', n.watch.serverId);
  if (n.watch.projectId) field('Project', n.watch.projectId);

  const action = n.instanceAction;
  if (action) {
    field('Action', `${action.action}, started ${formatNovaTime(action.start_time)}`);
    if (action.message) field('Message', action.message);
  } else if (!test) {
    field('Action', 'never read from the API');
  }

  if (n.server) {
    field('Server state', `${n.server.status}, task state ${n.server.taskState ?? 'none'}`);
    const fault = n.server.fault;
    if (fault) field('Server fault', fault.code === undefined ? fault.message : `${fault.code} ${fault.message}`);
  }
  field('Detected', n.detectedAt);

  if (action) lines.push('', ...renderEvents(action.events));
  return lines;
}

function renderEvents(events: InstanceActionEvent[] | undefined): string[] {
  // Below microversion 2.51 Nova hides events from non-admins; saying so beats an empty list.
  if (!events || events.length === 0) return ['Events: none reported by the API'];
  const lines = ['Events:'];
  for (const e of events) {
    const finished = e.finish_time === null ? 'not finished' : `finished ${formatNovaTime(e.finish_time)}`;
    lines.push(`  - ${e.event}: ${e.result ?? 'in progress'}, started ${formatNovaTime(e.start_time)}, ${finished}`);
  }
  for (const e of events) {
    if (e.result === null || e.result === 'Success') continue;
    lines.push('', `Traceback of ${e.event}:`);
    if (e.traceback) lines.push(...e.traceback.trimEnd().split(/\r?\n/).map((line) => `    ${line}`));
    else lines.push('    (not shown: the API shows tracebacks to administrators only)');
  }
  return lines;
}

/** Nova writes `2026-11-26T17:50:00.000000` and means UTC; people should not have to know that. */
function formatNovaTime(value: string | null): string {
  if (value === null) return 'unknown';
  try {
    return parseNovaTime(value).toISOString();
  } catch {
    // Shown as the API gave it: an odd timestamp is no reason to withhold the rest of the notification.
    return value;
  }
}
