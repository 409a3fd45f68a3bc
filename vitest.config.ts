import { defineConfig } from 'vitest/config';

// Test files mocking a module (vi.mock) need a module graph of their own; every other file shares its
// worker's, which saves starting a worker and loading the sources again for each of them.
export const MOCKING = [
  'test/cli/editWatchFile.stall.test.ts',
  'test/cli/editWatchFile.writeErrors.test.ts',
  'test/cloud/auth/credential.test.ts',
  'test/cloud/client-auth.test.ts',
  'test/cloud/tls-proxy.test.ts',
  'test/e2e/cli.test.ts',
  'test/e2e/hung-volume-probes.test.ts',
  'test/e2e/standby.test.ts',
  'test/e2e/stuck-reload.test.ts',
  'test/e2e/stuck-start.test.ts',
  'test/files/createWhole.noHardLinks.test.ts',
  'test/files/writeFileAtomic.durable.test.ts',
  'test/state/folder-errors.test.ts',
  'test/state/snapshot-failure.test.ts',
];

// A test's limit is room for a loaded machine, not a bound on what it proves (a passing test ends when it
// is done): 20 s was outlived by tests that start daemons, at a load of 10.
const shared = { setupFiles: 'test/undiciTimers.setup.ts', testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' } as const;

export default defineConfig({
  test: {
    // Four files at a time on two cores: the end-to-end files mostly wait on timers, sockets and the
    // processes they start, so fewer leave the cores idle. On this machine class (3,003 tests, 250 s of CPU)
    // three took 171 s and four 150 s, both quiet; four with two busy loops beside them 242 s, all passing.
    // Four had made tests on real time fail in slow spells (twice in eleven runs, and 8-9 tests at a load of
    // 9-12) until those waited on events, the daemon's own clock or room for the load instead of tight
    // bounds; the floor is the CPU (half of it on two cores, 125 s).
    maxWorkers: 4,
    globalSetup: ['test/tmpdir.setup.ts', 'test/bundle.setup.ts'],
    projects: [
      { test: { ...shared, name: 'shared', include: ['test/**/*.test.ts'], exclude: MOCKING, isolate: false } },
      { test: { ...shared, name: 'isolated', include: MOCKING, isolate: true } },
    ],
  },
});
