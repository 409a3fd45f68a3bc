import { setFlagsFromString } from 'node:v8';
import type { CommandContext } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';

/**
 * How far V8 lets the old generation grow past what survived its last full collection, in percent. Its
 * own choice for a process as idle as the daemon is up to 300 %: at 10,000 watches the objects of polls in
 * flight that age out of the young generation pile up between two collections, and the pages stay
 * resident. Measured back to back at 10,000 watches (npm run bench, load 1.2-2): V8's own 320 MB peak,
 * 85-100 µs CPU per poll; 200 %: 270 MB, 112-115 µs; 100 %: 218-223 MB, 96-105 µs; 50 %: 196-199 MB,
 * 109-178 µs, the collections costing CPU and the verdict-to-webhook p99 (159-209 ms against 102-108 ms).
 */
const OLD_GENERATION_GROWTH_PERCENT = 100;

export async function run(ctx: CommandContext): Promise<number> {
  // Read at each full collection, so it may be set once the process runs.
  setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWTH_PERCENT}`);
  const config = await loadConfigOrReport(ctx);
  if (!config) return 2;
  // The daemon's parts are loaded only for it: `--help` and the one-shot commands do without them.
  const [{ Daemon }, logger] = await Promise.all([import('../daemon.ts'), ctx.logger()]);
  const daemon = new Daemon(ctx, config, logger);
  try {
    await daemon.start();
    return ctx.options['until-done'] ? await daemon.untilDone() : await daemon.untilStopped();
  } catch (err) {
    // Stopped while still starting (waiting for the state lock): a clean stop, not a failure.
    if (ctx.signal.aborted && !daemon.started) return 0;
    throw err;
  } finally {
    await daemon.close();
  }
}
