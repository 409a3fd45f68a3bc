import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { deferredLogger } from '../../src/observability/deferredLogger.ts';
import type { Logger } from '../../src/observability/logger.ts';

/** A real pino logger at `level` whose lines land in `lines`, and how many times it was made. */
function realLogger(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  let made = 0;
  const load = async (): Promise<Logger> => {
    made++;
    const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
    const logger: Logger = pino({ level, base: null, timestamp: false }, destination);
    return logger;
  };
  return { lines, load, made: () => made };
}

describe('deferredLogger', () => {
  it('never makes the real logger while every line is below its level', async () => {
    const real = realLogger('warn');
    const { logger, written } = deferredLogger('warn', real.load);
    logger.info('started');
    logger.child({ watch: 'a' }).debug({ reason: 'x' }, 'still pending');
    await written();
    expect(real.made()).toBe(0);
    expect(logger.isLevelEnabled('info')).toBe(false);
    expect(logger.isLevelEnabled('warn')).toBe(true);
    expect(logger.isLevelEnabled('fatal')).toBe(true);
  });

  it('writes the lines asked for while the real logger loads, in the order asked, with their children\'s bindings', async () => {
    const real = realLogger('info');
    const { logger, written } = deferredLogger('info', real.load);
    const watch = logger.child({ requestId: 'req-1' });
    const poll = watch.child({ serverId: 'srv-1' });
    watch.warn({ error: '503' }, 'poll failed');
    logger.debug('below the level');
    poll.info('still pending');
    logger.error('last');
    await written();
    // Once it is there, a line goes straight through.
    poll.warn('after');
    expect(real.lines).toEqual([
      { level: 40, requestId: 'req-1', error: '503', msg: 'poll failed' },
      { level: 30, requestId: 'req-1', serverId: 'srv-1', msg: 'still pending' },
      { level: 50, msg: 'last' },
      { level: 40, requestId: 'req-1', serverId: 'srv-1', msg: 'after' },
    ]);
    expect(real.made()).toBe(1);
  });

  it('settles written() only once a logger slow to load has written the lines, and rejects it when none can be loaded', async () => {
    const real = realLogger('info');
    // Loaded after other I/O has had its turn, as an import from disk is.
    const slow = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return real.load();
    };
    const { logger, written } = deferredLogger('info', slow);
    logger.warn('late');
    await written();
    expect(real.lines).toEqual([{ level: 40, msg: 'late' }]);
    const failing = deferredLogger('info', () => Promise.reject(new Error('cannot load pino-pretty')));
    failing.logger.error('lost');
    await expect(failing.written()).rejects.toThrow('cannot load pino-pretty');
  });

  it('refuses a level pino does not have', () => {
    expect(() => deferredLogger('loud', realLogger('warn').load)).toThrow('loud is not a log level (allowed: trace, debug, info, warn, error, fatal)');
  });
});
