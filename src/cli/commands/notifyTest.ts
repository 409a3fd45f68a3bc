import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { NOTIFICATION_TYPES, type Notification } from '../../model.ts';
import { trustedCertificates } from '../../net/tls.ts';
import { createNotifiers } from '../../notify/registry.ts';
import type { Notifier } from '../../notify/types.ts';
import { CommandError, UsageError, type CommandContext } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';
import { signalExitStatus } from '../signals.ts';
import { renderTable, stateStyle } from '../table.ts';
import { wantsColour } from '../terminal.ts';
import { meant } from '../../text/closest.ts';
import { clipped } from '../../text/clipped.ts';
import type { UnsetVariable } from '../../config/load.ts';

interface Result {
  notifier: Notifier;
  delivered: boolean;
  answer: string;
}

export async function run(ctx: CommandContext): Promise<number> {
  // The contract gives notify-test two statuses: 0 all delivered, 1 otherwise, a file or a name that
  // delivers nothing included.
  const only = ctx.options['notifier'];
  // Given empty (`--notifier "$NOTIFIER"` with the variable unset): neither a notifier of that name nor every
  // one, which was not asked for; a wrong command line, as an empty --server or --config is.
  if (only === '') throw new UsageError('--notifier is empty: name a notifier, or leave --notifier out to test every one');
  // The whole file is checked, as the daemon reads it; but one notifier asked for, the others' secrets need
  // not be set here, nor the variables of what no test uses (the cloud's credentials, the state folder):
  // a receiver is often tried from a machine or a job that has only its own.
  const onlyNotifier = typeof only === 'string' ? only : undefined;
  let unset: readonly UnsetVariable[] = [];
  const used = [onlyNotifier === undefined ? ['notifiers'] : ['notifiers', onlyNotifier], ['cloud', 'tls']];
  const config = await loadConfigOrReport(ctx, { onlyNotifier, unsetAllowedOutside: { paths: used, onUnset: (variables) => (unset = variables) } });
  if (!config) return 1;
  if (unset.length > 0) ctx.stderr.write(`${unsetLine(unset)}\n`);
  const names = Object.keys(config.notifiers);
  if (typeof only === 'string' && !names.includes(only)) {
    throw new CommandError(`no notifier '${only}' in ${ctx.configPath} (${names.length ? `configured: ${names.join(', ')}` : 'none configured'})${meant(only, names)}`, 1);
  }
  const selected = Object.entries(config.notifiers).filter(([name]) => only === undefined || name === only);
  if (selected.length === 0) {
    ctx.stderr.write(`${ctx.configPath} has no notifiers: add one under notifiers: (see watch.example.yaml)\n`);
    return 1;
  }
  // The receivers the daemon reaches through the private CA are tested through it too.
  const notifiers = createNotifiers(Object.fromEntries(selected), { logger: await ctx.logger(), ca: trustedCertificates(config.cloud.tls.ca), secrets: config.variableSecrets });
  try {
    // Not the `${...}` text of a variable left unset.
    const projectId = unset.some((u) => u.paths.includes('cloud.projectId')) ? '' : (config.cloud.projectId ?? '');
    const notification = testNotification(projectId);
    const results = await Promise.all([...notifiers.values()].map((n) => attempt(n, notification, ctx.signal)));
    const colour = wantsColour(ctx.stdout, ctx.env);
    const rows = results.map((r) => [r.notifier.name, r.notifier.type, r.delivered ? 'delivered' : 'failed', r.answer]);
    ctx.stdout.write(`${renderTable(['NOTIFIER', 'TYPE', 'RESULT', 'ANSWER'], rows, colour ? (_r, column, cell) => (column === 2 ? stateStyle(cell as 'delivered' | 'failed') : null) : undefined)}\n`);
    // Stopped by a signal, the attempts cut short say so in the table; the status is the signal's, as for every command.
    if (ctx.signal.aborted) return signalExitStatus(ctx.signal);
    return results.every((r) => r.delivered) ? 0 : 1;
  } finally {
    await Promise.all([...notifiers.values()].map((n) => n.close()));
  }
}

/** What the operator is told of the variables left unset: each once, at its first setting. */
function unsetLine(unset: readonly UnsetVariable[]): string {
  const each = unset.map(({ variable, paths }) => `${clipped(variable)} (${paths[0]}${paths.length > 1 ? ` and ${paths.length - 1} more` : ''})`);
  return `not set, left unresolved as no notifier uses them: ${each.join(', ')}`;
}

function testNotification(projectId: string): Notification {
  return {
    type: NOTIFICATION_TYPES.test,
    outcome: null,
    watch: { name: 'notify-test', projectId, serverId: '', requestId: '' },
    instanceAction: null,
    server: null,
    reason: `a test notification sent by ecs-action-watch notify-test from ${hostname()}`,
    detectedAt: new Date().toISOString(),
  };
}

/** One attempt, no retries: the operator wants to see what the receiver says now. */
async function attempt(notifier: Notifier, notification: Notification, signal: AbortSignal): Promise<Result> {
  try {
    // A fresh id each run: a receiver that drops redeliveries must not drop the second test.
    const receipt = await notifier.send(notification, { deliveryId: `test-${randomUUID()}`, attempt: 1, signal });
    // A message some recipients refused reached the others, but the setting is still wrong.
    if (receipt.refused.length > 0) return { notifier, delivered: false, answer: `${receipt.answer}; refused ${receipt.refused.join('; ')}` };
    return { notifier, delivered: true, answer: receipt.answer };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Notifier errors start with "<type> <name>: ", which the table already shows.
    const prefix = `${notifier.type} ${notifier.name}: `;
    return { notifier, delivered: false, answer: message.startsWith(prefix) ? message.slice(prefix.length) : message };
  }
}
