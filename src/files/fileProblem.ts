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
  return (code === undefined ? undefined : READ_ERRORS[code]) ?? (err instanceof Error ? err.message : String(err));
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
