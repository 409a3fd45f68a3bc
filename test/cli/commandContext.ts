import { PassThrough } from 'node:stream';
import type { CommandContext } from '../../src/cli/context.ts';

/** What a command is given, for `configPath`, with no options and no environment: its output in streams a test reads. */
export function commandContext(configPath: string): CommandContext & { stdout: PassThrough; stderr: PassThrough } {
  return {
    configPath,
    options: {},
    env: {},
    logger: () => Promise.reject(new Error('no logger here')),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    signal: new AbortController().signal,
  };
}
