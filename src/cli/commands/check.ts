import { createApp } from '../../app.ts';
import { dictionary } from '../../data/dictionary.ts';
import { signalExitStatus } from '../signals.ts';
import type { WatchStatus } from '../../watch/engine.ts';
import type { Command } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';
import { renderTable } from '../table.ts';

export const check: Command = {
  summary: 'poll each watch once and print its state (a table, or --json)',
  usage: 'check [--config FILE] [--json]',
  options: { json: { type: 'boolean' } },
  async run(ctx) {
    const config = await loadConfigOrReport(ctx);
    if (!config) return 2;
    // The daemon's state gives each watch its tracking start; `check` reads it and never writes it.
    const app = await createApp(config, { logger: ctx.logger, readOnlyState: true });
    // Ctrl-C cuts the polls in flight at once: nothing of check's is worth waiting for.
    const interrupt = () => void app.close({ drainMs: 0 });
    ctx.signal.addEventListener('abort', interrupt, { once: true });
    try {
      for (const [, record] of app.store.entries()) {
        record.verdict = null;
        record.deliveries = dictionary();
      }
      const statuses = await app.engine.pollOnce();
      if (ctx.signal.aborted) return signalExitStatus(ctx.signal);
      ctx.stdout.write(ctx.options['json'] ? `${JSON.stringify(statuses.map(toJson), null, 2)}\n` : `${table(statuses)}\n`);
      return statuses.some((s) => s.pollFailed) ? 1 : 0;
    } finally {
      ctx.signal.removeEventListener('abort', interrupt);
      await app.close({ drainMs: 0 });
    }
  },
};

function toJson(s: WatchStatus) {
  return {
    name: s.target.name ?? null,
    projectId: s.target.projectId,
    serverId: s.target.serverId,
    requestId: s.target.requestId,
    state: s.state,
    pollFailed: s.pollFailed,
    detail: s.detail,
    instanceAction: s.record.instanceAction,
    server: s.record.server,
  };
}

function table(statuses: WatchStatus[]): string {
  if (statuses.length === 0) return 'no watches in the file';
  const rows = statuses.map((s) => [
    s.target.name ?? s.target.requestId,
    s.target.serverId,
    s.record.instanceAction?.action ?? '-',
    s.pollFailed ? 'poll failed' : s.state,
    s.detail,
  ]);
  return renderTable(['WATCH', 'SERVER', 'ACTION', 'STATE', 'DETAIL'], rows);
}
