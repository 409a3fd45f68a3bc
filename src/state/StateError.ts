/** The state file cannot be read or written; the message names the file and what to do. */
export class StateError extends Error {
  override name = 'StateError';
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`state file ${path}: ${message}`, options);
    this.path = path;
  }

  /**
   * Whether the same start may succeed later without anyone touching the file or the settings: a full
   * disk, an I/O error, another daemon that may stop. A file that is not a state file, a folder where the
   * file should be or a path under /proc must be fixed by hand first.
   */
  get transient(): boolean {
    return TRANSIENT_CODES.has(String((this.cause as NodeJS.ErrnoException | undefined)?.code));
  }
}

const TRANSIENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOMEM', 'ETIMEDOUT', 'ESTALE']);
