import type { CommandContext } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';
import { environmentProblems } from '../../net/environment.ts';
import { credentialFileProblems } from '../../cloud/auth/credential.ts';
import { uncreatableFile } from '../../files/creatable.ts';

export async function run(ctx: CommandContext): Promise<number> {
  const config = await loadConfigOrReport(ctx);
  if (!config) return 1;
  // The file is valid whatever they say; what they say stops `run` all the same.
  const state = uncreatableFile(config.state.path);
  const stateProblems = state === undefined ? [] : [`state.path ${config.state.path} ${state}: run stops at its start with it`];
  for (const problem of [...environmentProblems(ctx.env), ...credentialFileProblems(config.cloud.auth), ...stateProblems]) ctx.stderr.write(`warning: ${problem}\n`);
  const notifiers = Object.keys(config.notifiers);
  // Valid, and polled all the same: but nobody is told (wait and check leave the section out, so it is said here).
  if (notifiers.length === 0 && config.watches.length + config.track.length > 0) {
    ctx.stderr.write('warning: no notifiers: every outcome is only logged and kept in the state (and the metrics); add one under notifiers: to be told\n');
  }
  const track = config.track.length === 0 ? '' : `, ${config.track.length} track entr${config.track.length === 1 ? 'y' : 'ies'}`;
  ctx.stdout.write(
    `${ctx.configPath}: valid: ${config.watches.length} watch${config.watches.length === 1 ? '' : 'es'}${track}, ` +
      `notifiers: ${notifiers.length ? notifiers.join(', ') : 'none'}\n`,
  );
  return 0;
}
