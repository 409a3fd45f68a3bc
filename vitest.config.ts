import { defineConfig } from 'vitest/config';

// Test files mocking a module (vi.mock) need a module graph of their own; every other file shares its
// worker's, which saves starting a worker and loading the sources again for each of them.
export const MOCKING = [
  'test/cloud/auth/credential.test.ts',
  'test/cloud/client-auth.test.ts',
  'test/files/createWhole.noHardLinks.test.ts',
  'test/state/snapshot-failure.test.ts',
];

const shared = { testTimeout: 20_000, hookTimeout: 20_000, pool: 'forks' } as const;

export default defineConfig({
  test: {
    // Four files at a time on two cores: the end-to-end files mostly wait on timers, sockets and the
    // processes they start, so the cores sat half idle with two (112 s of CPU in 100 s). On a machine three
    // times slower than that one (2,546 tests, 207 s of CPU), three took 128-134 s and left a fifth of the
    // cores idle; four, 116 s; five, 114 s, with a timeout test of 1.5 s failing (its bounds are now far
    // from what they tell apart).
    maxWorkers: 4,
    globalSetup: ['test/tmpdir.setup.ts', 'test/bundle.setup.ts'],
    projects: [
      { test: { ...shared, name: 'shared', include: ['test/**/*.test.ts'], exclude: MOCKING, isolate: false } },
      { test: { ...shared, name: 'isolated', include: MOCKING, isolate: true } },
    ],
  },
});
