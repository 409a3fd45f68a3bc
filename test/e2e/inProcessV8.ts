import type * as DaemonV8 from '../../src/cli/daemonV8.ts';

/**
 * daemonV8.ts for a `run` in the test's own process (vi.mock), whose heap (the runner's and every module it
 * loaded) is many times a daemon's. The daemon's V8 settings stay set for the whole worker, and every file
 * it runs after would run with them: the flags alone took a parse-heavy file from 7-9 to 13-14 s of
 * processor. Each full collection the daemon asks for collects the runner's whole heap (89 in cli.test.ts:
 * 5 of its 16 s). No test that runs `run` in-process looks at V8 or the heap; test/cli/daemonV8.test.ts and
 * test/e2e/process.test.ts check both in processes of their own.
 */
export function inTestProcess(real: typeof DaemonV8): typeof DaemonV8 {
  return { ...real, tuneV8ForDaemon: () => undefined, collectGarbage: () => undefined, parseBetweenCollections: <T>(parse: () => T): T => parse() };
}
