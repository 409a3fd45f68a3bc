import { removeWatch, WatchFileEditError } from '../../config/edit.ts';
import { UsageError, type CommandContext } from '../context.ts';
import { editWatchFile } from '../editWatchFile.ts';
import { watchedIdentity } from '../options.ts';
import { signalExitStatus } from '../signals.ts';
import { printable } from '../table.ts';

export async function run(ctx: CommandContext): Promise<number> {
  const match = watchedIdentity(ctx, { server: false });
  try {
    const done = await editWatchFile(ctx, (text) => removeWatch(text, match, ctx.env));
    if (!done) return 1;
    const name = typeof done.entry['name'] === 'string' ? ` (${printable(done.entry['name'])})` : '';
    const what = 'jobId' in match ? `job ${match.jobId}` : `request ${match.requestId} on server ${String(done.entry['serverId'])}`;
    const duplicates = done.duplicates.map((index) => `watches[${index}]`).join(', ');
    const also = duplicates === '' ? '' : ` and its ${done.duplicates.length === 1 ? 'duplicate' : 'duplicates'} ${duplicates}`;
    ctx.stdout.write(`removed watches[${done.index}]${also}: ${what}${name} from ${ctx.configPath}\n`);
    return 0;
  } catch (err) {
    // Interrupted while another edit held the file: nothing was written.
    if (ctx.signal.aborted) return signalExitStatus(ctx.signal);
    if (!(err instanceof WatchFileEditError)) throw err;
    if (err.kind === 'ambiguous') throw new UsageError(err.message);
    ctx.stderr.write(`ecs-action-watch remove: ${ctx.configPath}: ${err.message}\n`);
    return 1;
  }
}
