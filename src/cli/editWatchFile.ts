import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cannotReadWatchFile, formatIssue, readWatchFile, validateConfigText, type ConfigIssue } from '../config/load.ts';
import { withEditLock } from '../files/editLock.ts';
import { makeRoom } from '../files/fileProblem.ts';
import { fileSignature, sameSignature } from '../files/fileSignature.ts';
import { removeLeftBehind, writeFileAtomic } from '../files/writeFileAtomic.ts';
import { errorCode } from '../net/failure.ts';
import type { CommandContext } from './context.ts';

const WRITE_ERRORS: Record<string, string> = {
  EROFS: 'the file system is read-only (a Kubernetes ConfigMap is: edit the ConfigMap instead)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  // What rename(2) answers over a mount point: a file mounted alone can be written in, never replaced.
  EBUSY:
    'it is a mount point of its own (a file bind-mounted alone, as docker run -v file:file or a Kubernetes subPath does), ' +
    'which can only be replaced where it is mounted from: edit that file (or ConfigMap), or mount its folder instead',
};

/** How a write that found no room is said: its error names no file (a write's), or one the operator never named (the lock's, the new copy's). */
const NO_ROOM: Record<string, string> = {
  ENOSPC: 'its file system is full',
  EDQUOT: 'the disk quota on its file system is used up',
};

/** Why the watch file at `path` could not be written, when `err` is a failure this knows; undefined otherwise. */
function writeProblem(err: unknown, path: string): string | undefined {
  const code = errorCode(err) ?? '';
  const room = makeRoom(code, dirname(path), 'the user running this');
  if (room !== undefined) return `${NO_ROOM[code]} (${code}): ${room}, then run this again`;
  return WRITE_ERRORS[code];
}

/** The watch file changed since the edit read it: the edit is made again on the version there now. */
class ChangedMeanwhile extends Error {}

/** How many times an edit is made again on a file that changed meanwhile before it gives up. */
const EDIT_ATTEMPTS = 5;

/**
 * Reads the watch file, applies `edit` to its text, checks the result as `validate` would and replaces the
 * file atomically, keeping its mode, owner and group (through a symlink, the file it points at), all under
 * the file's edit lock, so that edits run side by side each build on the other's. A result equal to the file
 * is neither checked nor written. A result with problems is not written: they go to stderr and the answer is
 * null. Variables that are not set in this shell do not count: they are the daemon's environment's business,
 * not the file's. An owner this user cannot give the file back (only root can give a file away) is said on
 * stderr: a daemon running as that user may no longer read it. A problem that `option` names (the
 * command's option that gave what the edit wrote) is told by that name, not at a line of the result,
 * which was never written.
 */
export async function editWatchFile<T>(
  ctx: CommandContext,
  edit: (text: string) => { text: string } & T,
  option: (issue: ConfigIssue, result: T) => string | undefined = () => undefined,
): Promise<({ text: string } & T) | null> {
  const path = await realpath(ctx.configPath).catch(() => ctx.configPath);
  try {
    const lockedEdit = async () => {
      // New copies that edits killed before their rename left: every edit takes this lock, so none is writing them.
      await removeLeftBehind(path);
      return readEditWrite(ctx, path, edit, option);
    };
    return await withEditLock(path, lockedEdit, ctx.signal);
  } catch (err) {
    // The lock could not be made beside the file: the folder is missing (or its path is no way to one), read-only or not ours.
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') throw new Error(cannotReadWatchFile(ctx.configPath, err), { cause: err });
    // The file itself may well be writable by this user: the folder is what is denied, and says why `ls -l` looks fine.
    if (code === 'EACCES' || code === 'EPERM') {
      const why = `permission denied in its folder ${dirname(path)}, where an edit writes its new copy before renaming it over the file: edit it as a user who may write in that folder`;
      throw new Error(`cannot write ${ctx.configPath}: ${why}`, { cause: err });
    }
    const problem = writeProblem(err, path);
    if (problem !== undefined) throw new Error(`cannot write ${ctx.configPath}: ${problem}`, { cause: err });
    throw err;
  }
}

async function readEditWrite<T>(
  ctx: CommandContext,
  path: string,
  edit: (text: string) => { text: string } & T,
  option: (issue: ConfigIssue, result: T) => string | undefined,
  attempt = 1,
): Promise<({ text: string } & T) | null> {
  let text: string;
  let file: Stats;
  try {
    // Looked at before the read, so that a change during the read is a change since.
    file = await stat(path);
    text = await readWatchFile(path);
  } catch (err) {
    throw new Error(cannotReadWatchFile(ctx.configPath, err), { cause: err });
  }
  const result = edit(text);
  // Nothing changed (`add` of a watch the file has): nothing to vouch for, nor to write.
  if (result.text === text) return result;
  // rename(2) asks only the folder: without this, a user whom the file's own permissions keep out (another's
  // 0644 file, one made read-only on purpose) would replace it whole, where `echo >>` or an editor is refused.
  // Root may write any file, as it may with those. A read-only mount is left to the write, which tells a file
  // mounted alone (EBUSY) from a read-only file system.
  await access(path, constants.W_OK).catch((err: unknown) => {
    const code = errorCode(err);
    if (code !== 'EACCES' && code !== 'EPERM') return;
    const why = 'permission denied: the user running this may not write the file, only replace it in its folder: edit it as a user who may write it (its owner, or root), or make it writable first';
    throw new Error(`cannot write ${ctx.configPath}: ${why}`, { cause: err });
  });
  const check = validateConfigText(result.text, { env: ctx.env });
  const problems = check.ok ? [] : check.issues.filter((issue) => issue.cause !== 'environment');
  if (problems.length > 0) {
    // A file already invalid is told as it is, at its own lines, rather than at those of a result never written.
    const before = validateConfigText(text, { env: ctx.env });
    const already = before.ok ? [] : before.issues.filter((issue) => issue.cause !== 'environment');
    const byOption = (issue: ConfigIssue) => {
      const name = option(issue, result);
      return name === undefined ? formatIssue(issue) : `${name}: ${issue.message}`;
    };
    const [shown, why] = already.length > 0
      ? [already.map((i) => formatIssue(i)), 'is invalid as it is, so it was left as it is (fix it first)']
      : [problems.map(byOption), 'would be invalid, so it was left as it is'];
    ctx.stderr.write(`${ctx.configPath} ${why}:\n${shown.join('\n')}\n`);
    return null;
  }
  // An editor's save or a copy takes no edit lock, and an edit stalled longer than the lock's 10 s (Ctrl-Z, a
  // frozen VM, a sync of its new copy that hangs) has its lock taken over: renamed over, the version either
  // made would be lost for the edit of the one before it. Looked at last, once the new copy is synced.
  const unchanged = async () => {
    if (!sameSignature(await fileSignature(path), file)) throw new ChangedMeanwhile();
  };
  try {
    await writeFileAtomic(path, result.text, { mode: file.mode & 0o7777, owner: file, beforeRename: unchanged });
  } catch (err) {
    if (!(err instanceof ChangedMeanwhile)) throw new Error(`cannot write ${ctx.configPath}: ${writeProblem(err, path) ?? (err as Error).message}`, { cause: err });
    if (attempt === EDIT_ATTEMPTS) throw new Error(`${ctx.configPath} kept changing while it was being edited (is something writing to it?); it was left as it is`, { cause: err });
    return readEditWrite(ctx, path, edit, option, attempt + 1);
  }
  const written = await stat(path);
  if (written.uid !== file.uid || written.gid !== file.gid) {
    const was = `${file.uid}:${file.gid}`;
    ctx.stderr.write(
      `warning: ${ctx.configPath} now belongs to ${written.uid}:${written.gid}, not ${was} as before (only root can give a file to another user, or to a group it is not in): ` +
        `a daemon running as ${was} may no longer read it; give it back as root (chown ${was} ${ctx.configPath}), or edit it as its owner\n`,
    );
  }
  return result;
}
