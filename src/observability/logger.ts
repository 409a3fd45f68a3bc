import { pino, type DestinationStream, type Logger } from 'pino';
import { AUTH_SECRET_KEYS } from '../cloud/auth/registry.ts';
import { NOTIFIER_SECRET_KEYS } from '../notify/registry.ts';

export type { Logger } from 'pino';

// Belt and braces: no code path logs a secret on purpose, but an error object or a config section
// logged in a hurry must not leak one either. Each auth method and notifier type names its own secret
// keys; the headers that carry secrets are listed here.
const SECRET_KEYS = [
  ...new Set([...AUTH_SECRET_KEYS, ...NOTIFIER_SECRET_KEYS]),
  'authorization',
  'Authorization',
  '"x-auth-token"',
  '"X-Auth-Token"',
  '"x-subject-token"',
  '"X-Subject-Token"',
  '"x-security-token"',
  '"X-Security-Token"',
];
// pino's wildcards match one level each: cover a secret up to four levels deep (notifiers.x.smtp.password).
// Header names with a dash need bracket notation, which pino accepts only after a parent (hence `*[...]`).
const REDACT_PATHS = [
  ...new Set(
    SECRET_KEYS.flatMap((key) =>
      ['', '*.', '*.*.', '*.*.*.', '*.*.*.*.'].map((prefix) => (key.startsWith('"') ? `${prefix.slice(0, -1) || '*'}[${key}]` : `${prefix}${key}`)),
    ),
  ),
];

/**
 * JSON lines for machines; with `pretty` (a person at a terminal) one readable, coloured line per event.
 * Redaction happens before either.
 */
export async function createLogger(
  options: { level?: string; destination?: DestinationStream; fd?: 1 | 2; pretty?: boolean } = {},
): Promise<Logger> {
  const destination = options.destination ?? pino.destination({ dest: options.fd ?? 1, sync: true });
  // Loaded only for a person at a terminal: it takes longer to load than pino itself.
  const pretty = options.pretty ? (await import('pino-pretty')).default : undefined;
  return pino(
    {
      name: 'ecs-action-watch',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // pino-pretty reads the numeric level; machines get the label.
      ...(options.pretty ? {} : { formatters: { level: (label: string) => ({ level: label }) } }),
    },
    pretty
      ? pretty({ destination, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name', errorLikeObjectKeys: ['err'] })
      : destination,
  );
}

/** A logger that drops everything, for commands whose output is for people and for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
