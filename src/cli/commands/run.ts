import type { Command } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';

export const run: Command = {
  summary: 'the daemon: poll on the schedule, notify, reload the file on change',
  usage: 'run [--config FILE] [--until-done]',
  exits: '0 after SIGTERM/SIGINT and a clean stop; 2 the file is invalid at start; with --until-done: 0 every watch succeeded, 1 any other outcome, 3 a notification was given up',
  logsTo: 'stdout',
  options: {
    'until-done': { type: 'boolean', description: 'exit once every watch has an outcome and every notification is delivered or given up' },
  },
  drainsOnStop: true,
  async run(ctx) {
    const config = await loadConfigOrReport(ctx);
    if (!config) return 2;
    // The daemon's parts are loaded only for it: `--help` and the one-shot commands do without them.
    const { Daemon } = await import('../daemon.ts');
    const daemon = new Daemon(ctx, config);
    try {
      await daemon.start();
      return ctx.options['until-done'] ? await daemon.untilDone() : await daemon.untilStopped();
    } catch (err) {
      // Stopped while still starting (waiting for the state lock): a clean stop, not a failure.
      if (ctx.signal.aborted && !daemon.started) return 0;
      throw err;
    } finally {
      await daemon.close();
    }
  },
};
