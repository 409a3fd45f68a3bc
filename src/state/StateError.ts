/** The state file cannot be read or written; the message names the file and what to do. */
export class StateError extends Error {
  override name = 'StateError';
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`state file ${path}: ${message}`, options);
    this.path = path;
  }
}
