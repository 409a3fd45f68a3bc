import { StateError } from '../../state/StateError.ts';
import { CommandError, type CommandContext } from '../context.ts';
import { loadConfigOrReport } from '../loadConfig.ts';
import { tuneV8ForDaemon } from '../daemonV8.ts';
import { fileSignature } from '../../files/fileSignature.ts';

export async function run(ctx: CommandContext): Promise<number> {
  // First: the wasm settings hold only for what is compiled after them, undici's parser at the first connection.
  tuneV8ForDaemon();
  // Taken before the file is read: an edit made while the daemon starts (waiting for the state lock, say)
  // differs from it, and is reloaded once the daemon runs.
  const loaded = await fileSignature(ctx.configPath);
  const config = await loadConfigOrReport(ctx);
  if (!config) return 2;
  // The daemon's parts are loaded only for it: `--help` and the one-shot commands do without them.
  const [{ Daemon }, logger] = await Promise.all([import('../daemon.ts'), ctx.logger()]);
  const daemon = new Daemon(ctx, config, logger, loaded);
  try {
    await daemon.start();
    return ctx.options['until-done'] ? await daemon.untilDone() : await daemon.untilStopped();
  } catch (err) {
    // Stopped while still starting (waiting for the state lock): a clean stop, not a failure.
    if (ctx.signal.aborted && !daemon.started) return 0;
    // As for an invalid file: a supervisor that restarts on failure (systemd's RestartPreventExitStatus=2)
    // should not restart every few seconds into a state file that someone has to fix first.
    if (!daemon.started && err instanceof StateError && !err.transient) throw new CommandError(err.message, 2, { cause: err });
    throw err;
  } finally {
    await daemon.close();
  }
}
