import type { Config } from '../config/schema.ts';
import { loadConfigFile, type LoadOptions } from '../config/load.ts';
import { ConfigError, formatIssue, type ConfigIssue } from '../config/ConfigError.ts';
import { CredentialError } from '../cloud/auth/CredentialError.ts';
import { CommandError, type CommandContext } from './context.ts';

/** The exit status of a file whose settings cannot be used, for the one-shot commands that poll. */
export const CONFIG_ERROR = 2;

/**
 * Loads the watch file (less `omitSections`, the notifiers but `onlyNotifier`, and `unsetAllowedOutside`'s
 * unset variables: see LoadOptions) or writes
 * each problem to stderr as `<line>:<col> <path>: <message>`; warnings of a valid file go to stderr too
 * (`<line>:<col> <path>: warning: <message>`) and stop nothing.
 */
export function loadConfigOrReport(ctx: CommandContext, options: Pick<LoadOptions, 'omitSections' | 'onlyNotifier' | 'unsetAllowedOutside'> = {}): Promise<Config | null> {
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

/**
 * What `check` and `wait` make of an error that stopped them making their client. A credential file that
 * cloud.auth names and that cannot be used here (missing, another user's, empty) is read as the client is
 * made, before any request: a setting that cannot be used, as an unreadable cloud.tls.caFile is (which the
 * file's load refuses), not a poll that failed nor an action that did. No poll error is counted for it.
 */
export function settingError(err: unknown): never {
  if (err instanceof CredentialError) throw new CommandError(err.message, CONFIG_ERROR, { cause: err });
  throw err;
}
