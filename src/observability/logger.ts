import { pino, type Bindings, type DestinationStream, type LogFn, type Logger as PinoLogger } from 'pino';
import { AUTH_SECRET_KEYS } from '../cloud/auth/registry.ts';
import { NOTIFIER_SECRET_KEYS } from '../notify/registry.ts';
import { secretRedactor } from './redact.ts';

/**
 * What the app asks of a logger: pino's log calls, children and the level test. A pino logger is one; so is
 * a one-shot command's, which loads pino at its first line (deferredLogger.ts).
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Bindings): Logger;
  isLevelEnabled(level: string): boolean;
}

// Belt and braces: no code path logs a secret on purpose, but an error object or a config section
// logged in a hurry must not leak one either. Each auth method and notifier type names its own secret
// keys; the headers that carry secrets are listed here. Matched at any depth, whatever their case.
const redactSecrets = secretRedactor([
  ...AUTH_SECRET_KEYS,
  ...NOTIFIER_SECRET_KEYS,
  'authorization',
  'x-auth-token',
  'x-subject-token',
  'x-security-token',
]);

/**
 * JSON lines for machines; with `pretty` (a person at a terminal) one readable, coloured line per event, an
 * error object (`err`) on the lines after it, its stack too.
 * Redaction happens before either.
 */
export async function createLogger(
  options: { level?: string; destination?: DestinationStream; fd?: 1 | 2; pretty?: boolean } = {},
): Promise<Logger> {
  const destination = options.destination ?? pino.destination({ dest: options.fd ?? 1, sync: true });
  // Loaded only for a person at a terminal: it takes longer to load than pino itself.
  const pretty = options.pretty ? (await import('pino-pretty')).default : undefined;
  const logger = pino(
    {
      name: 'ecs-action-watch',
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        // Before any serializer and before pretty printing: what a log call is given.
        log: redactSecrets,
        // pino-pretty reads the numeric level; machines get the label.
        ...(options.pretty ? {} : { level: (label: string) => ({ level: label }) }),
      },
    },
    pretty
      ? pretty({ destination, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name', errorLikeObjectKeys: ['err'] })
      : destination,
  );
  // pino formats the bindings of the root logger only: a child's (and its children's, which inherit this) here.
  const child = logger.child;
  logger.child = function (this: PinoLogger, bindings, childOptions) {
    return child.call(this, redactSecrets(bindings), childOptions);
  } as typeof child;
  return logger;
}

/** A logger that drops everything, for commands whose output is for people and for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
