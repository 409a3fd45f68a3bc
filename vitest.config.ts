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

const shared = { testTimeout: 20_000, hookTimeout: 20_000, pool: 'forks' } as const;

export default defineConfig({
  test: {
    // Three files at a time on two cores: the end-to-end files mostly wait on timers, sockets and the
    // processes they start, so the cores sat half idle with two (112 s of CPU in 100 s). On a machine three
    // times slower than that one (2,546 tests, 207-240 s of CPU), three took 128-134 s and left a fifth of
    // the cores idle; four took 104-129 s, but in its slow spells (165 s once) tests that wait on real time
    // in a worker shared with three others failed, twice in eleven runs, a fresh clone's CI run among them.
    maxWorkers: 3,
    globalSetup: ['test/tmpdir.setup.ts', 'test/bundle.setup.ts'],
    projects: [
      { test: { ...shared, name: 'shared', include: ['test/**/*.test.ts'], exclude: MOCKING, isolate: false } },
      { test: { ...shared, name: 'isolated', include: MOCKING, isolate: true } },
    ],
  },
});
