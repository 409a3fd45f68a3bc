import type { Logger } from '../observability/logger.ts';

/** What every command receives: parsed options, where to write, and a signal for SIGTERM/SIGINT. */
export interface CommandContext {
  configPath: string;
  options: Record<string, string | boolean | undefined>;
  env: NodeJS.ProcessEnv;
  /**
   * The command's logger, made at the first call: a command that logs nothing (`validate`, `add`, `remove`)
   * loads no logging library.
   */
  logger(): Promise<Logger>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on SIGTERM or SIGINT. */
  signal: AbortSignal;
}

/** One option of a command, as `--help` shows it and parseArgs reads it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** What a string option's value is, in the help: `--server ID`. */
  value?: string;
  description: string;
}

/**
 * What the command line knows of a command before running it: what `--help` shows, which options it
 * parses, and where the implementation lives. The implementation is loaded only to run the command, so
 * that `--help`, a usage error and one command do not pay for every other command's modules.
 */
export interface Command {
  summary: string;
  /** The synopsis after `ecs-action-watch `, e.g. `wait --server ID --request ID [--timeout D]`. */
  usage: string;
  /** Exit statuses, for `--help`: `0 valid; 1 invalid`. */
  exits: string;
  /** Options beyond the global --config and --help. */
  options: Record<string, OptionSpec>;
  /** Whether the command reads the watch file (and so takes --config). Default true. */
  usesConfig?: boolean;
  /** Where the command's logs go: only the daemon logs on stdout; the others keep it for their result. */
  logsTo?: 'stdout' | 'stderr';
  /** The log level when LOG_LEVEL is not set. Default: info for the daemon (stdout), warn for the others. */
  defaultLogLevel?: 'info' | 'warn' | 'error';
  /**
   * True for a command that stops by draining its work within its own budget (`run`); any other is
   * abandoned one second after SIGINT/SIGTERM if it has not stopped by then.
   */
  drainsOnStop?: boolean;
  /**
   * Runs until it is stopped (`run`, `simulator`): V8's settings for a command that runs in one burst
   * (main.ts) are not for it.
   */
  longRunning?: boolean;
  /** The implementation: `() => import('./name.ts')`. */
  load(): Promise<CommandImplementation>;
}

/** A command's module: the one function that runs it and returns its exit status. */
export interface CommandImplementation {
  run(ctx: CommandContext): Promise<number>;
}

/** What stops a command with an exit status of its own; the message says what to fix. */
export class CommandError extends Error {
  override readonly name = 'CommandError';

  readonly exitStatus: number;

  constructor(message: string, exitStatus: number, options?: { cause?: unknown }) {
    super(message, options);
    this.exitStatus = exitStatus;
  }
}

/** A command line that cannot be run as given: reported with the command's usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
