/** One problem of a watch file, at a 1-based line and column. */
export interface ConfigIssue {
  line: number;
  col: number;
  /** Where in the data, e.g. `watches[2].notify[0]`; `(root)` for the document itself. */
  path: string;
  message: string;
  /** `environment`: a `${VAR}` that is not set here, or a CA file that is not here: a problem of this machine rather than of the file. */
  cause?: 'environment';
  /** The `${VAR}` that is not set, for a daemon to say that its environment is read only at its start. */
  variable?: string;
}

/** `<line>:<col> <path>: <message>`, as `validate` prints it; `file:` in front when given. */
export function formatIssue(issue: ConfigIssue, file?: string): string {
  return `${file === undefined ? '' : `${file}:`}${issue.line}:${issue.col} ${issue.path}: ${issue.message}`;
}

/**
 * The watch file cannot be used. `message` is what to show: one formatted issue per line, or for a file
 * that cannot be read (no `issues`), why not.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  readonly file: string | undefined;

  constructor(issues: readonly ConfigIssue[], options: { file?: string | undefined; message?: string; cause?: unknown } = {}) {
    super(options.message ?? issues.map((issue) => formatIssue(issue)).join('\n'), { cause: options.cause });
    this.issues = issues;
    this.file = options.file;
  }
}
