import type { Logger } from 'pino';

/** What every command receives: parsed options, where to write, and a signal for SIGTERM/SIGINT. */
export interface CommandContext {
  configPath: string;
  options: Record<string, string | boolean | undefined>;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on SIGTERM or SIGINT. */
  signal: AbortSignal;
}

export interface Command {
  summary: string;
  usage: string;
  /** Where the command's logs go: only the daemon logs on stdout; the others keep it for their result. */
  logsTo?: 'stdout' | 'stderr';
  /** parseArgs option definitions beyond the global --config. */
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  /**
   * True for a command that stops by draining its work within its own budget (`run`); any other is
   * abandoned one second after SIGINT/SIGTERM if it has not stopped by then.
   */
  drainsOnStop?: boolean;
  run(ctx: CommandContext): Promise<number>;
}
