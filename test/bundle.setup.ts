import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the run's bundle is, for the tests that start the daemon as a process (test/e2e/daemon.ts). */
export const BUNDLE_VARIABLE = 'EAW_TEST_BUNDLE';

/**
 * The command line bundled once per run, under the run's temporary folder (tmpdir.setup.ts, which runs
 * first): the daemons that the crash and kill tests start, dozens per run, are the bundle the image runs,
 * and each starts on a third of the processor time that the sources take to load (type stripping and
 * hundreds of modules).
 */
export default function setup(): void {
  const outdir = join(process.env['TMPDIR']!, 'bundle');
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/bundle.ts', import.meta.url)), '--outdir', outdir], { stdio: 'inherit' });
  process.env[BUNDLE_VARIABLE] = join(outdir, 'ecs-action-watch.mjs');
}
