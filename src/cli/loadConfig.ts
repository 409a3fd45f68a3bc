import type { Config } from '../config/schema.ts';
import { loadConfigFile, type LoadOptions } from '../config/load.ts';
import { ConfigError, formatIssue, type ConfigIssue } from '../config/ConfigError.ts';
import type { CommandContext } from './context.ts';

/**
 * Loads the watch file (less `omitSections`, and the notifiers but `onlyNotifier`: see LoadOptions) or writes
 * each problem to stderr as `<line>:<col> <path>: <message>`; warnings of a valid file go to stderr too
 * (`<line>:<col> <path>: warning: <message>`) and stop nothing.
 */
export function loadConfigOrReport(ctx: CommandContext, options: Pick<LoadOptions, 'omitSections' | 'onlyNotifier'> = {}): Promise<Config | null> {
  return configOrReport(ctx, (onWarning) => loadConfigFile(ctx.configPath, { ...options, env: ctx.env, onWarning }));
}

/** What `load` makes of the watch file, reported as loadConfigOrReport reports it: null when it threw a ConfigError. */
export async function configOrReport(ctx: CommandContext, load: (onWarning: (issue: ConfigIssue) => void) => Promise<Config>): Promise<Config | null> {
  const onWarning = (issue: ConfigIssue) => ctx.stderr.write(`${formatIssue({ ...issue, message: `warning: ${issue.message}` })}\n`);
  try {
    return await load(onWarning);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.stderr.write(`${err.message}\n`);
    return null;
  }
}
