import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temporary file of a run (state files, watch files, daemons' folders: thousands per run) goes under
 * one folder that is removed when the run ends. The test processes inherit TMPDIR, and so do the daemons
 * they spawn.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'eaw-test-run-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = root;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
