import { addWatch, WatchFileEditError } from '../../config/edit.ts';
import type { ConfigIssue } from '../../config/load.ts';
import { watchedAlready } from '../../config/watched.ts';
import { UsageError, type CommandContext } from '../context.ts';
import { editWatchFile } from '../editWatchFile.ts';
import { optionText, watchedIdentity } from '../options.ts';
import { signalExitStatus } from '../signals.ts';
import { printable } from '../table.ts';
import { OPTION_OF, parsedWatchOptions } from '../watchOptions.ts';

/**
 * What a problem of the entry added at `index` is told by: the option that gave the value (`--notify` for
 * `watches[6].notify[0]`), else its path alone. Its line would be one of a file never written.
 */
function optionOf(issue: ConfigIssue, index: number): string | undefined {
  const entry = `watches[${index}]`;
  if (issue.path !== entry && !issue.path.startsWith(`${entry}.`)) return undefined;
  const key = /^[^.[]*/.exec(issue.path.slice(entry.length + 1))![0];
  return Object.hasOwn(OPTION_OF, key) ? OPTION_OF[key] : issue.path;
}

export async function run(ctx: CommandContext): Promise<number> {
  const text = (name: string) => optionText(ctx, name);
  const notify = text('notify')?.split(',').map((n) => n.trim()).filter(Boolean);
  // `notify: []` is valid (nobody is told), so the file's check would let through a variable left unset.
  if (notify?.length === 0) throw new UsageError('--notify names no notifier: give their names (--notify chat,ops-mail), or leave --notify out for every one');
  const identity = watchedIdentity(ctx);
  const watch = {
    ...('jobId' in identity ? identity : { requestId: identity.requestId, serverId: identity.serverId! }),
    name: text('name'),
    projectId: text('project'),
    notify,
    deadline: text('deadline'),
  };
  parsedWatchOptions(watch);
  const what = 'jobId' in watch ? `job ${watch.jobId}` : `request ${watch.requestId} on server ${watch.serverId}`;
  try {
    const done = await editWatchFile(ctx, (current) => {
      const there = watchedAlready(current, watch, ctx.env);
      if (there === undefined) return { ...addWatch(current, watch), added: true };
      // A project the file names by a variable this shell does not set is the daemon's to resolve, as the
      // check of an edit leaves such variables to it: taken as the one wanted, since a server's id and a
      // request id name one action whatever the project. A pipeline retrying its step, whose shell lacks the
      // daemon's variables, would otherwise fail at each retry for a conflict it can neither see nor mend.
      const differ = there.project !== there.wanted;
      if (differ && there.unset === undefined) {
        const fix = 'jobId' in watch ? `remove --job ${watch.jobId}` : `remove --request ${watch.requestId} --server ${watch.serverId}`;
        throw new WatchFileEditError(
          'conflict',
          `line ${there.line} (watches[${there.index}]) already watches ${what}, for project ${there.project ?? '(none)'}, not ${there.wanted ?? '(none)'}: ` +
            `correct --project, or take that entry out first (ecs-action-watch ${fix})`,
        );
      }
      // A retried step: the file stays as it is, byte for byte.
      const note = differ ? ` (its project ${there.project ?? '(none)'} not compared with ${there.wanted ?? '(none)'}: ${there.unset} is not set in this shell)` : '';
      return { text: current, index: there.index, added: false, line: there.line, note };
    }, (issue, { index }) => optionOf(issue, index));
    if (!done) return 1;
    if (done.added) ctx.stdout.write(`added watches[${done.index}]: ${what}${watch.name ? ` (${printable(watch.name)})` : ''} to ${ctx.configPath}\n`);
    else ctx.stdout.write(`already watched: watches[${done.index}] at line ${done.line} has ${what} in ${ctx.configPath}; left as it is${done.note}\n`);
    return 0;
  } catch (err) {
    // Interrupted while another edit held the file: nothing was written.
    if (ctx.signal.aborted) return signalExitStatus(ctx.signal);
    if (!(err instanceof WatchFileEditError)) throw err;
    ctx.stderr.write(`ecs-action-watch add: ${ctx.configPath}: ${err.message}\n`);
    return 1;
  }
}
