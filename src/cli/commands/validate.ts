import type { Command } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';

export const validate: Command = {
  summary: 'check the watch file; reaches no network',
  usage: 'validate [--config FILE]',
  exits: '0 valid (warnings, if any, on stderr as <line>:<col> <yaml.path>: warning: <message>); 1 invalid, each problem on stderr as <line>:<col> <yaml.path>: <message>',
  options: {},
  async run(ctx) {
    const config = await loadConfigOrReport(ctx);
    if (!config) return 1;
    const notifiers = Object.keys(config.notifiers);
    const track = config.track.length === 0 ? '' : `, ${config.track.length} track entr${config.track.length === 1 ? 'y' : 'ies'}`;
    ctx.stdout.write(
      `${ctx.configPath}: valid: ${config.watches.length} watch${config.watches.length === 1 ? '' : 'es'}${track}, ` +
        `notifiers: ${notifiers.length ? notifiers.join(', ') : 'none'}\n`,
    );
    return 0;
  },
};
