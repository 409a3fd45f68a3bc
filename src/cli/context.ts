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
  run(ctx: CommandContext): Promise<number>;
}
