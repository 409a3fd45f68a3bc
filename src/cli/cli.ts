// The command line's shell: it parses the arguments and prints help from the registry's descriptions
// alone, then loads the one command that runs (and the logger when that command first asks for it).
// Nothing here imports a library, so that `--help` and a usage error cost little more than starting Node.
import { parseArgs } from 'node:util';
import type { DestinationStream } from 'pino';
import type { Logger } from '../observability/logger.ts';
import { deferredLogger, type DeferredLogger } from '../observability/deferredLogger.ts';
import { closest, meant } from '../text/closest.ts';
import { logLevelFromEnv } from '../observability/logLevel.ts';
import { VERSION } from '../version.ts';
import { CommandError, UsageError, type Command, type OptionSpec } from './context.ts';
import { isTerminal } from './terminal.ts';
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
  /** Where pino writes; by default stdout for `run` and stderr for the other commands, as the contract says. */
  logDestination?: DestinationStream;
  /**
   * Called once the command's module (and what it imports) is loaded, before the command runs; not for
   * `--help`, a usage error or a module that failed to load.
   */
  commandLoaded?: () => void;
}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c', value: 'FILE', description: 'the watch file (default: $ECS_WATCH_CONFIG, else ./watch.yaml)' },
};
const HELP_OPTION: Record<string, OptionSpec> = { help: { type: 'boolean', short: 'h', description: 'show this help' } };

function unknownCommand(name: string, io: Pick<CliIo, 'stderr'>, args: readonly string[] = []): number {
  const names = Object.keys(commands);
  // `--config FILE check`: an option before the command, which comes first.
  const given = name.startsWith('-') ? args.find((arg) => Object.hasOwn(commands, arg)) : undefined;
  const hint = given === undefined ? meant(name, names) : `; the command comes first, its options after it: ecs-action-watch ${given} ${name} ...`;
  io.stderr.write(`ecs-action-watch: unknown command '${name}' (commands: ${names.join(', ')})${hint}\n\n${usage()}\n`);
  return USAGE_EXIT;
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: ecs-action-watch <command> [--config FILE] [options]',
    '',
    'commands:',
    ...lines,
    '',
    '`ecs-action-watch <command> --help` shows its options and exit statuses; `--version` the version.',
    'The watch file is --config, else $ECS_WATCH_CONFIG, else ./watch.yaml. LOG_LEVEL sets the log level.',
  ].join('\n');
}

// A one-shot command's result is its output; its logs say only what went wrong unless asked for more.
function defaultLogLevel(command: Command): string {
  return command.defaultLogLevel ?? (command.logsTo === 'stdout' ? 'info' : 'warn');
}

function optionsOf(command: Command): Record<string, OptionSpec> {
  return { ...(command.usesConfig === false ? {} : GLOBAL_OPTIONS), ...command.options, ...HELP_OPTION };
}

function commandHelp(name: string, command: Command): string {
  const options = Object.entries(optionsOf(command)).map(([long, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${long}${spec.value ? ` ${spec.value}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...options.map(([flag]) => flag.length));
  return [
    `usage: ecs-action-watch ${command.usage}`,
    '',
    `${command.summary}.`,
    '',
    'options:',
    ...options.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`),
    '',
    `exit status: ${command.exits}`,
    `(logs go to ${command.logsTo ?? 'stderr'}; LOG_LEVEL=trace|debug|info|warn|error sets how much, default ${defaultLogLevel(command)})`,
  ].join('\n');
}

/** Parses the command line, runs one command and returns its exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write(`ecs-action-watch ${VERSION} (Node.js ${process.versions.node})\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0];
    if (name === 'help' && topic !== undefined) {
      if (!Object.hasOwn(commands, topic)) return unknownCommand(topic, io);
      io.stdout.write(`${commandHelp(topic, commands[topic]!)}\n`);
      return 0;
    }
    (name ? io.stdout : io.stderr).write(`${usage()}\n`);
    return name ? 0 : USAGE_EXIT;
  }
  const command: Command | undefined = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) return unknownCommand(name, io, rest);
  const fail = (message: string) => {
    io.stderr.write(`ecs-action-watch ${name}: ${message}\nusage: ecs-action-watch ${command.usage}\n(ecs-action-watch ${name} --help for more)\n`);
    return USAGE_EXIT;
  };
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${commandHelp(name, command)}\n`);
    return 0;
  }
  let values: Record<string, string | boolean | undefined>;
  let level: string;
  try {
    const options = Object.fromEntries(
      Object.entries(optionsOf(command)).map(([long, spec]) => [long, spec.short ? { type: spec.type, short: spec.short } : { type: spec.type }]),
    );
    const parsed = parseArgs({ args: rest, options, allowPositionals: false, strict: true, tokens: true });
    values = parsed.values;
    const repeated = repeatedValue(parsed.tokens);
    if (repeated !== undefined) return fail(repeated);
    // Given empty on purpose (`--config "$UNSET"`): not the default file, which the user did not ask for.
    if (values['config'] === '') return fail('--config is empty: name the watch file');
    // Set but empty (a chart's or a unit's unset value) counts as unset, as ECS_WATCH_CONFIG does.
    level = io.env['LOG_LEVEL'] ? logLevelFromEnv(io.env) : defaultLogLevel(command);
  } catch (err) {
    return fail(usageMessage(err as Error & { code?: string }, name, Object.keys(optionsOf(command))));
  }
  // An empty ECS_WATCH_CONFIG (`ECS_WATCH_CONFIG= cmd`) counts as unset, as shells and container specs leave it.
  const configPath = (values['config'] as string | undefined) ?? (io.env['ECS_WATCH_CONFIG'] || './watch.yaml');
  const toStdout = command.logsTo === 'stdout';
  const makeLogger = async () => {
    const { createLogger } = await import('../observability/logger.ts');
    return createLogger({ level, destination: io.logDestination, fd: toStdout ? 1 : 2, pretty: !io.logDestination && isTerminal(toStdout ? io.stdout : io.stderr) });
  };
  // A command that runs until stopped logs from its start. One that runs once logs nothing in most runs (at
  // warn), so pino loads at its first line.
  let logger: Promise<Logger> | undefined;
  let deferred: DeferredLogger | undefined;
  const commandLogger = () =>
    command.longRunning ? (logger ??= makeLogger()) : Promise.resolve((deferred ??= deferredLogger(level, makeLogger)).logger);
  const implementation = await command.load();
  io.commandLoaded?.();
  const stopped = command.drainsOnStop ? null : abandonAfterSignal(io, name);
  try {
    const running = implementation.run({ configPath, options: values, env: io.env, logger: commandLogger, stdout: io.stdout, stderr: io.stderr, signal: io.signal });
    return await (stopped ? Promise.race([running, stopped.status]) : running);
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message);
    // Errors that stop a command (an unreadable state file, a port in use) say what to fix in their
    // message; the stack is for those who asked for detail.
    const verbose = level === 'debug' || level === 'trace';
    const shown = err instanceof CommandError && err.cause instanceof Error ? err.cause : err;
    const text = shown instanceof Error ? (verbose ? (shown.stack ?? shown.message) : shown.message) : String(shown);
    io.stderr.write(`ecs-action-watch ${name}: ${text}\n`);
    return err instanceof CommandError ? err.exitStatus : 1;
  } finally {
    stopped?.dispose();
    await deferred?.written();
  }
}

/**
 * parseArgs's complaint in the words of the rest of the command line's (its own are capitalised sentences):
 * an unknown option with the one a slip likely meant (`unknown option '--sever'; did you mean '--server'?`),
 * an option without its value, a value for a flag, a word that is no option.
 */
function usageMessage(err: Error & { code?: string }, command: string, longs: string[]): string {
  const option = /--[\w-]+/.exec(err.message)?.[0];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const given = /^Unknown option '--([^'=]+)'/.exec(err.message)?.[1];
      const guess = given === undefined ? undefined : closest(given, longs);
      const said = err.message.replace(/^Unknown option/, 'unknown option');
      return guess === undefined ? said : `${said}; did you mean '--${guess}'?`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (option !== undefined && err.message.endsWith('argument missing')) return `${option} needs a value`;
      if (option !== undefined && err.message.endsWith('does not take an argument')) return `${option} takes no value`;
      break;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const word = /^Unexpected argument '(.*)'\./.exec(err.message)?.[1];
      if (word !== undefined) return `unexpected '${word}': ${command} takes options only`;
      break;
    }
  }
  return err.code?.startsWith('ERR_PARSE_ARGS') ? err.message.charAt(0).toLowerCase() + err.message.slice(1) : err.message;
}

/**
 * An option given twice with different values: parseArgs keeps the last one, so `--config a.yaml --config
 * b.yaml` (one of them added by a script) would read b.yaml without a word. The values are not repeated in
 * the message (one may be a token, or a screenful); the same value twice, or a flag twice, says it once.
 */
function repeatedValue(tokens: ReadonlyArray<{ kind: string; name?: string; value?: string | undefined }>): string | undefined {
  const given = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined || token.value === undefined) continue;
    const earlier = given.get(token.name);
    if (earlier !== undefined && earlier !== token.value) return `--${token.name} is given twice, with different values: give it once`;
    given.set(token.name, token.value);
  }
  return undefined;
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
