import { defineConfig } from 'vitest/config';

// Test files mocking a module (vi.mock) need a module graph of their own; every other file shares its
// worker's, which saves starting a worker and loading the sources again for each of them.
const MOCKING = ['test/cloud/auth/credential.test.ts', 'test/cloud/client-auth.test.ts', 'test/state/snapshot-failure.test.ts'];

const shared = { testTimeout: 20_000, hookTimeout: 20_000, pool: 'forks' } as const;

export default defineConfig({
  test: {
    // Two files at a time, on two cores as on one: the end-to-end files mostly wait on timers and
    // sockets, and one at a time took the suite from 68 s to 120 s.
    maxWorkers: 2,
    globalSetup: ['test/tmpdir.setup.ts'],
    projects: [
      { test: { ...shared, name: 'shared', include: ['test/**/*.test.ts'], exclude: MOCKING, isolate: false } },
      { test: { ...shared, name: 'isolated', include: MOCKING, isolate: true } },
    ],
  },
});
