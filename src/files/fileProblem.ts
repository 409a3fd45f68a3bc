import { lstatSync, readlinkSync } from 'node:fs';
import { errorCode } from '../net/failure.ts';
import { NotARegularFileError } from './readRegularFile.ts';

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ELOOP: 'its path runs in a loop of symbolic links',
  ENOTDIR: 'a part of its path is a file, not a folder',
  ENAMETOOLONG: 'its path is too long',
};

/** Why a file named in the configuration could not be read, in a few words. */
export function fileProblem(err: unknown): string {
  if (err instanceof NotARegularFileError) return err.message;
  const code = errorCode(err);
  const said = (code === undefined ? undefined : READ_ERRORS[code]) ?? (err instanceof Error ? err.message : String(err));
  return code === 'ENOENT' ? `${said}${danglingLink(err)}` : said;
}

/**
 * ` (it is a symbolic link to ..., which is not there)` for a file not there that is such a link, which `ls`
 * lists as any file: "no such file" alone would have the operator look at the wrong name. '' otherwise.
 */
function danglingLink(err: unknown): string {
  const path = (err as { path?: unknown }).path;
  if (typeof path !== 'string') return '';
  try {
    return lstatSync(path).isSymbolicLink() ? ` (it is a symbolic link to ${readlinkSync(path)}, which is not there)` : '';
  } catch {
    return '';
  }
}

/**
 * What to do when a write in `folder` found no room, by `user`: the file system full (ENOSPC), or that
 * user's disk quota used up (EDQUOT), which `df` does not show; undefined for any other `code`.
 */
export function makeRoom(code: string | undefined, folder: string, user: string): string | undefined {
  if (code === 'ENOSPC') return `free space on the disk that holds ${folder}`;
  if (code === 'EDQUOT') return `free space in ${folder}, or raise the disk quota of ${user}`;
  return undefined;
}
