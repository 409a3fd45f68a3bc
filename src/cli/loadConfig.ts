import type { Config } from '../config/schema.ts';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError, formatIssue, type ConfigIssue } from '../config/ConfigError.ts';
import type { CommandContext } from './context.ts';

/**
 * Loads the watch file (less `omitSections`, see LoadOptions) or writes each problem to stderr as `<line>:<col> <path>: <message>`; warnings
 * of a valid file go to stderr too (`<line>:<col> <path>: warning: <message>`) and stop nothing.
 */
export async function loadConfigOrReport(ctx: CommandContext, options: { omitSections?: readonly string[] } = {}): Promise<Config | null> {
  const onWarning = (issue: ConfigIssue) => ctx.stderr.write(`${formatIssue({ ...issue, message: `warning: ${issue.message}` })}\n`);
  try {
    return await loadConfigFile(ctx.configPath, { env: ctx.env, onWarning, omitSections: options.omitSections });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.stderr.write(`${err.message}\n`);
    return null;
  }
}
