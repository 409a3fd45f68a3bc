import { addWatch, WatchFileEditError } from '../../config/edit.ts';
import { UsageError, type CommandContext } from '../context.ts';
import { editWatchFile } from '../editWatchFile.ts';
import { watchedIdentity } from '../options.ts';

export async function run(ctx: CommandContext): Promise<number> {
  const text = (name: string) => {
    const value = typeof ctx.options[name] === 'string' ? (ctx.options[name] as string) : undefined;
    // A line break would end the YAML entry written for it early.
    if (value !== undefined && /[\r\n]/.test(value)) throw new UsageError(`--${name}: must be one line`);
    return value;
  };
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
}
