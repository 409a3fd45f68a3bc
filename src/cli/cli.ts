import { parseArgs } from 'node:util';
import { pino, type DestinationStream } from 'pino';
import { createLogger, logLevelFromEnv } from '../observability/logger.ts';
import type { Command } from './context.ts';
import { commands } from './commands/index.ts';
import { signalExitStatus } from './signals.ts';

const USAGE_EXIT = 2;
/** A one-shot command interrupted by SIGINT/SIGTERM has this long to stop before it is abandoned. */
const STOP_WITHIN_MS = 1000;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on SIGTERM/SIGINT by the entry point; tests abort it themselves. */
  signal: AbortSignal;
  /** Where pino writes; stdout by default, as the contract says. */
  logDestination?: DestinationStream;
}

function usage(): string {
  const lines = Object.values(commands).map((c) => `  ${c.usage.padEnd(62)} ${c.summary}`);
  return [
    'usage: ecs-action-watch <command> [--config FILE] [options]',
    '',
    'commands:',
    ...lines,
    '',
    'The watch file is --config, else $ECS_WATCH_CONFIG, else ./watch.yaml. LOG_LEVEL sets the log level.',
  ].join('\n');
}

/** Parses the command line, runs one command and returns its exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? io.stdout : io.stderr).write(`${usage()}\n`);
    return name ? 0 : USAGE_EXIT;
  }
  const command: Command | undefined = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.stderr.write(`ecs-action-watch: unknown command '${name}' (commands: ${Object.keys(commands).join(', ')})\n\n${usage()}\n`);
    return USAGE_EXIT;
  }
  const fail = (message: string) => {
    io.stderr.write(`ecs-action-watch ${name}: ${message}\nusage: ecs-action-watch ${command.usage}\n`);
    return USAGE_EXIT;
  };
  let values: Record<string, string | boolean | undefined>;
  let level: string;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { config: { type: 'string', short: 'c' }, ...command.options },
      allowPositionals: false,
      strict: true,
    }));
    level = logLevelFromEnv(io.env);
  } catch (err) {
    return fail((err as Error).message);
  }
  const configPath = (values['config'] as string | undefined) ?? io.env['ECS_WATCH_CONFIG'] ?? './watch.yaml';
  const destination = io.logDestination ?? pino.destination({ dest: command.logsTo === 'stdout' ? 1 : 2, sync: true });
  const logger = createLogger({ level, destination });
  const stopped = command.drainsOnStop ? null : abandonAfterSignal(io, name);
  try {
    const running = command.run({ configPath, options: values, env: io.env, logger, stdout: io.stdout, stderr: io.stderr, signal: io.signal });
    return await (stopped ? Promise.race([running, stopped.status]) : running);
  } catch (err) {
    // Errors that stop a command (an unreadable state file, a port in use) say what to fix in their
    // message; the stack is for those who asked for detail.
    const verbose = level === 'debug' || level === 'trace';
    const text = err instanceof Error ? (verbose ? (err.stack ?? err.message) : err.message) : String(err);
    io.stderr.write(`ecs-action-watch ${name}: ${text}\n`);
    return 1;
  } finally {
    stopped?.dispose();
  }
}

/**
 * Every command honours SIGINT/SIGTERM within a second, even one stuck in I/O that no signal reaches:
 * this resolves with the signal's exit status once the command has had STOP_WITHIN_MS to stop itself.
 */
function abandonAfterSignal(io: CliIo, name: string): { status: Promise<number>; dispose(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const status = new Promise<number>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => {
        io.stderr.write(`ecs-action-watch ${name}: did not stop within ${STOP_WITHIN_MS} ms of ${String(io.signal.reason)}; exiting\n`);
        resolve(signalExitStatus(io.signal));
      }, STOP_WITHIN_MS);
      timer.unref();
    };
    if (io.signal.aborted) onAbort();
    else io.signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    status,
    dispose() {
      clearTimeout(timer);
      if (onAbort) io.signal.removeEventListener('abort', onAbort);
    },
  };
}
