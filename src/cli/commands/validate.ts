import type { CommandContext } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';
import { environmentProblems } from '../../net/environment.ts';
import { credentialFileProblems } from '../../cloud/auth/credential.ts';

export async function run(ctx: CommandContext): Promise<number> {
  const config = await loadConfigOrReport(ctx);
  if (!config) return 1;
  // The file is valid whatever they say; what they say stops `run` all the same.
  for (const problem of [...environmentProblems(ctx.env), ...credentialFileProblems(config.cloud.auth)]) ctx.stderr.write(`warning: ${problem}\n`);
  const notifiers = Object.keys(config.notifiers);
  const track = config.track.length === 0 ? '' : `, ${config.track.length} track entr${config.track.length === 1 ? 'y' : 'ies'}`;
  ctx.stdout.write(
    `${ctx.configPath}: valid: ${config.watches.length} watch${config.watches.length === 1 ? '' : 'es'}${track}, ` +
      `notifiers: ${notifiers.length ? notifiers.join(', ') : 'none'}\n`,
  );
  return 0;
}
