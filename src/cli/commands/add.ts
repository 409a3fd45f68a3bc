import { addWatch, WatchFileEditError } from '../../config/edit.ts';
import type { Command } from '../context.ts';
import { editWatchFile } from '../editWatchFile.ts';
import { ACTION_OPTIONS, JOB_OPTION, watchedIdentity } from '../options.ts';

export const add: Command = {
  summary: 'add a watch to the file, keeping its comments and layout (a running daemon picks it up)',
  usage: 'add (--server ID --request ID | --job ID) [--name N] [--notify A,B] [--deadline D] [--project ID] [--config FILE]',
  exits: '0 added; 1 the file would be invalid (nothing is written) or cannot be edited; 2 usage',
  options: {
    ...ACTION_OPTIONS,
    ...JOB_OPTION,
    name: { type: 'string', value: 'N', description: 'a label for notifications, e.g. "resize web-01"' },
    notify: { type: 'string', value: 'A,B', description: 'only these notifiers (default: every one)' },
    deadline: { type: 'string', value: 'D', description: 'this watch\'s deadline, e.g. 2h (default: poll.deadline)' },
    project: { type: 'string', value: 'ID', description: 'its project, when it is not cloud.projectId' },
  },
  async run(ctx) {
    const text = (name: string) => (typeof ctx.options[name] === 'string' ? (ctx.options[name] as string) : undefined);
    const notify = text('notify');
    const identity = watchedIdentity(ctx);
    const watch = {
      ...('jobId' in identity ? identity : { requestId: identity.requestId, serverId: identity.serverId! }),
      name: text('name'),
      projectId: text('project'),
      notify: notify === undefined ? undefined : notify.split(',').map((n) => n.trim()).filter(Boolean),
      deadline: text('deadline'),
    };
    const what = 'jobId' in watch ? `job ${watch.jobId}` : `request ${watch.requestId} on server ${watch.serverId}`;
    try {
      const done = await editWatchFile(ctx, (current) => addWatch(current, watch));
      if (!done) return 1;
      ctx.stdout.write(`added watches[${done.index}]: ${what}${watch.name ? ` (${watch.name})` : ''} to ${ctx.configPath}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof WatchFileEditError)) throw err;
      ctx.stderr.write(`ecs-action-watch add: ${ctx.configPath}: ${err.message}\n`);
      return 1;
    }
  },
};
