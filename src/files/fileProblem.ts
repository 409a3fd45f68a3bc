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
