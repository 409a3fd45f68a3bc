import { removeWatch, WatchFileEditError } from '../../config/edit.ts';
import { UsageError, type Command } from '../context.ts';
import { editWatchFile } from '../editWatchFile.ts';
import { ACTION_OPTIONS, JOB_OPTION, watchedIdentity } from '../options.ts';

export const remove: Command = {
  summary: 'remove a watch from the file, keeping its comments and layout',
  usage: 'remove (--request ID [--server ID] | --job ID) [--config FILE]',
  exits: '0 removed; 1 no such watch, or the file would be invalid (nothing is written); 2 usage, or several watches have that request id',
  options: {
    request: ACTION_OPTIONS.request,
    server: { ...ACTION_OPTIONS.server, description: `${ACTION_OPTIONS.server.description}, needed when several watches have that request id` },
    ...JOB_OPTION,
  },
  async run(ctx) {
    const match = watchedIdentity(ctx, { server: false });
    try {
      const done = await editWatchFile(ctx, (text) => removeWatch(text, match));
      if (!done) return 1;
      const name = typeof done.entry['name'] === 'string' ? ` (${done.entry['name']})` : '';
      const what = 'jobId' in match ? `job ${match.jobId}` : `request ${match.requestId} on server ${String(done.entry['serverId'])}`;
      ctx.stdout.write(`removed watches[${done.index}]: ${what}${name} from ${ctx.configPath}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof WatchFileEditError)) throw err;
      if (err.kind === 'ambiguous') throw new UsageError(err.message);
      ctx.stderr.write(`ecs-action-watch remove: ${ctx.configPath}: ${err.message}\n`);
      return 1;
    }
  },
};
