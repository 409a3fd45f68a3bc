// The log level from the environment, apart from the logger itself: the command line checks LOG_LEVEL
// while it parses the arguments, before it loads pino.

import { meant } from '../text/closest.ts';

/** The levels LOG_LEVEL may name, lowest first, as pino orders them (pino's `fatal` above them is ours only to log at). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** LOG_LEVEL outside the allowed set is refused loudly rather than silently logging at info. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const level = (env['LOG_LEVEL'] || 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`LOG_LEVEL=${env['LOG_LEVEL']} is not a log level (allowed: ${LOG_LEVELS.join(', ')})${meant(level, LOG_LEVELS)}`);
  }
  return level;
}
