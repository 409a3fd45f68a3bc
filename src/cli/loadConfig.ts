import type { Config } from '../config/schema.ts';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError } from '../config/ConfigError.ts';
import type { CommandContext } from './context.ts';

/** Loads the watch file or writes each problem to stderr as `<line>:<col> <path>: <message>`. */
export async function loadConfigOrReport(ctx: CommandContext): Promise<Config | null> {
  try {
    return await loadConfigFile(ctx.configPath, { env: ctx.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.stderr.write(`${err.message}\n`);
    return null;
  }
}
