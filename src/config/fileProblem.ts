import { errorCode } from '../net/failure.ts';

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/** Why a file named in the configuration could not be read, in a few words. */
export function fileProblem(err: unknown): string {
  const code = errorCode(err);
  return (code === undefined ? undefined : READ_ERRORS[code]) ?? (err instanceof Error ? err.message : String(err));
}
