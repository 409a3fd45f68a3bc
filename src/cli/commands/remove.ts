import { removeWatch, WatchFileEditError } from '../../config/edit.ts';
import { requiredOption, UsageError, type Command } from '../context.ts';
import { editWatchFile } from '../editWatchFile.ts';
import { ACTION_OPTIONS } from '../options.ts';

export const remove: Command = {
  summary: 'remove a watch from the file, keeping its comments and layout',
  usage: 'remove --request ID [--server ID] [--config FILE]',
  exits: '0 removed; 1 no such watch, or the file would be invalid (nothing is written); 2 usage, or several watches have that request id',
  options: {
    request: ACTION_OPTIONS.request,
    server: { ...ACTION_OPTIONS.server, description: `${ACTION_OPTIONS.server.description}, needed when several watches have that request id` },
  },
  async run(ctx) {
    const match = { requestId: requiredOption(ctx, 'request'), serverId: typeof ctx.options['server'] === 'string' ? ctx.options['server'] : undefined };
    try {
      const done = await editWatchFile(ctx, (text) => removeWatch(text, match));
      if (!done) return 1;
      const name = typeof done.entry['name'] === 'string' ? ` (${done.entry['name']})` : '';
      ctx.stdout.write(`removed watches[${done.index}]: request ${match.requestId} on server ${String(done.entry['serverId'])}${name} from ${ctx.configPath}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof WatchFileEditError)) throw err;
      if (err.kind === 'ambiguous') throw new UsageError(err.message);
      ctx.stderr.write(`ecs-action-watch remove: ${ctx.configPath}: ${err.message}\n`);
      return 1;
    }
  },
};
