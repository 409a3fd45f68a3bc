// A one-shot command (`check`, `wait`) logs at warn, and most runs log nothing at all: loading pino, its
// destination and its transports' modules was 9 % of `check`'s time for nothing (0.91 of the time without
// it, pair by pair over 15 pairs). This logger takes the calls, and loads the real one at the first line its
// level lets through; lines asked for while it loads are written once it has, in the order asked, with the
// time they are written at (a few milliseconds later).
import type { Bindings } from 'pino';
import type { Logger } from './logger.ts';
import { LOG_LEVELS } from './logLevel.ts';

// pino's levels, lowest first.
const LEVELS = [...LOG_LEVELS, 'fatal'] as const;
type Level = (typeof LEVELS)[number];

export interface DeferredLogger {
  logger: Logger;
  /** Settles once every line asked for so far is written (at once when none was); rejects if the logger failed to load. */
  written(): Promise<void>;
}

/** `level` is one of pino's, as the command line checked LOG_LEVEL; `load` makes the real logger at that level. */
export function deferredLogger(level: string, load: () => Promise<Logger>): DeferredLogger {
  const lowest = LEVELS.indexOf(level as Level);
  if (lowest < 0) throw new Error(`${level} is not a log level (allowed: ${LEVELS.join(', ')})`);
  const isLevelEnabled = (asked: string) => LEVELS.indexOf(asked as Level) >= lowest;
  let root: Logger | undefined;
  // Lines asked for before the real logger was there, written in one go as it comes: none asked for later
  // can pass them.
  const waiting: Array<() => void> = [];
  let loading: Promise<void> | undefined;

  /** The logger with `chain`'s bindings, root first: the real one's child with the same, once it is loaded. */
  function node(chain: readonly Bindings[]): Logger {
    let real: Logger | undefined;
    const resolved = () => (real ??= root && chain.reduce<Logger>((logger, bindings) => logger.child(bindings), root));
    const method = (name: Level) => (...args: unknown[]) => {
      if (!isLevelEnabled(name)) return;
      const write = () => (resolved()![name] as (...a: unknown[]) => void)(...args);
      if (root) return void write();
      waiting.push(write);
      loading ??= load().then((logger) => {
        root = logger;
        for (const each of waiting) each();
        waiting.length = 0;
      });
    };
    return {
      trace: method('trace'),
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
      fatal: method('fatal'),
      child: (bindings) => node([...chain, bindings]),
      isLevelEnabled,
    };
  }

  return { logger: node([]), written: () => loading ?? Promise.resolve() };
}
