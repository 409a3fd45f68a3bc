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
    // Three files at a time on two cores: the end-to-end files mostly wait on timers, sockets and the
    // processes they start, so the cores sat half idle with two (112 s of CPU in 100 s). Three took the
    // suite to 73-80 s, to 91 s beside a process that kept one core busy and 99 s beside two, every test
    // passing; four, 68 s, with less room on a slower machine.
    maxWorkers: 3,
    globalSetup: ['test/tmpdir.setup.ts', 'test/bundle.setup.ts'],
    projects: [
      { test: { ...shared, name: 'shared', include: ['test/**/*.test.ts'], exclude: MOCKING, isolate: false } },
      { test: { ...shared, name: 'isolated', include: MOCKING, isolate: true } },
    ],
  },
});
