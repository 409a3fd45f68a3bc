import { dirname } from 'node:path';
import { getSystemErrorMessage } from 'node:util';
import { makeRoom } from '../files/fileProblem.ts';
import { errorCode } from '../net/failure.ts';

/** The state file cannot be read or written; the message names the file, says what failed and what to do. */
export class StateError extends Error {
  override name = 'StateError';
  readonly path: string;
  /**
   * The code of the system call that failed (EACCES, ENOSPC, ...), if one did. The call's error is not kept
   * as the cause: a logged error has its causes' messages appended, and this message says it already.
   */
  readonly code: string | undefined;

  constructor(path: string, message: string, options: { code?: string | undefined } = {}) {
    super(`state file ${path}: ${message}`);
    this.path = path;
    this.code = options.code;
  }

  /**
   * Whether the same start may succeed later without anyone touching the file or the settings: a full
   * disk, an I/O error, another daemon that may stop. A file that is not a state file, a folder where the
   * file should be or a path under /proc must be fixed by hand first.
   */
  get transient(): boolean {
    return TRANSIENT_CODES.has(String(this.code));
  }
}

const TRANSIENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOMEM', 'ETIMEDOUT', 'ESTALE']);

const noPermission = (folder: string) => `the user ecs-action-watch runs as needs to read and write ${folder} and the files in it: grant it, or set state.path to a file in a folder it can write`;
const failedDisk = (folder: string) => `the disk or network file system that holds ${folder} failed: check it (the kernel log, the mount)`;
/**
 * The folder systemd made writable for the unit the daemon runs under, which it names in STATE_DIRECTORY: a
 * template's instance has its own (/var/lib/ecs-action-watch-second), and the single unit's is read-only to it.
 */
const unitStateFolder = () => process.env['STATE_DIRECTORY'] ?? '/var/lib/ecs-action-watch';
const tooManyFiles = () => 'raise the limit of open files (LimitNOFILE in the systemd unit, ulimit -n)';

/** What to do about a failed system call, by its code, given the folder of the file it was about. */
const FIXES: Record<string, (folder: string) => string> = {
  EACCES: noPermission,
  EPERM: noPermission,
  // Under the systemd unit the folder is writable to root, who reads this and finds nothing read-only.
  EROFS: (folder) =>
    `${folder} is on a read-only file system: set state.path to a file on a writable one (in a container, on its mounted volume; under the systemd unit, ` +
    `whose ProtectSystem=strict leaves only its StateDirectory writable, in ${unitStateFolder()}, or add the folder to its ReadWritePaths=)`,
  ENOENT: () => 'a folder on that path is not there (removed, or a link to nothing): create it, or set state.path to a file in a folder that exists',
  ENOTDIR: () => 'a part of that path is a file, not a folder: correct state.path',
  EEXIST: () => 'a file is where that folder should be: remove it, or correct state.path',
  EISDIR: () => 'a folder is where that file should be: remove it, or set state.path to another file',
  EIO: failedDisk,
  ESTALE: failedDisk,
  EMFILE: tooManyFiles,
  ENFILE: tooManyFiles,
};

/** A failed system call: its code, its few words, and the file it named. */
interface SystemCall {
  code: string;
  words: string;
  path: string | undefined;
}

function systemCallOf(err: unknown): SystemCall | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { errno, path, info } = err as NodeJS.ErrnoException & { info?: { code?: unknown; message?: unknown; path?: unknown } };
  const code = errorCode(err);
  // libuv's errors are negative; Node's own SystemError (rm's ERR_FS_EISDIR) keeps the call's in `info`.
  if (typeof errno === 'number' && errno < 0 && code !== undefined) return { code, words: getSystemErrorMessage(errno), path };
  if (typeof info?.code === 'string' && typeof info.message === 'string') return { code: info.code, words: info.message, path: typeof info.path === 'string' ? info.path : undefined };
  return undefined;
}

/**
 * The StateError for `err`, which stopped the state at `path` while `doing` (`cannot be written`,
 * `cannot create its lock file <path>`): a failed system call in its few words and its code, once, at the
 * file it named unless that is said already, and what to do; any other error in its own words. A
 * StateError is returned as it is.
 */
export function stateFailure(path: string, doing: string, err: unknown): StateError {
  if (err instanceof StateError) return err;
  const call = systemCallOf(err);
  if (call === undefined) return new StateError(path, `${doing}: ${err instanceof Error ? err.message : String(err)}`);
  const at = call.path === undefined || call.path === path || doing.includes(call.path) ? '' : ` at ${call.path}`;
  const folder = dirname(call.path ?? path);
  const fix = makeRoom(call.code, folder, 'the user ecs-action-watch runs as') ?? FIXES[call.code]?.(folder) ?? 'set state.path to a file in a folder ecs-action-watch can write';
  return new StateError(path, `${doing}: ${call.words} (${call.code})${at}: ${fix}`, { code: call.code });
}
