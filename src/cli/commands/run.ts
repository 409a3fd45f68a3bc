import { StateError } from '../../state/StateError.ts';
import { CredentialError } from '../../cloud/auth/CredentialError.ts';
import { CommandError, type CommandContext } from '../context.ts';
import { configOrReport } from '../loadConfig.ts';
import { collectGarbage, tuneV8ForDaemon } from '../daemonV8.ts';
import type { FileSignature } from '../../files/fileSignature.ts';
import type { Config } from '../../config/schema.ts';
import { parseConfig } from '../../config/load.ts';
import { keptChanging, readSettledWatchFile } from '../settledWatchFile.ts';
import { onHangup } from '../signals.ts';

export async function run(ctx: CommandContext): Promise<number> {
  // First: the wasm settings hold only for what is compiled after them, undici's parser at the first connection.
  tuneV8ForDaemon();
  // Stopped by a signal before anything was polled: a clean stop, but `--until-done` saw nothing done, and
  // `run --until-done && next-step` must not go on (its documented 1, as for a stop once it runs).
  const stoppedEarly = ctx.options['until-done'] ? 1 : 0;
  // The signature of the version read: an edit made while the daemon starts (waiting for the state lock,
  // say) differs from it, and is reloaded once the daemon runs.
  let loaded: FileSignature | null = null;
  let config: Config | null;
  try {
    config = await configOrReport(ctx, async (onWarning) => {
      const file = await readSettledWatchFile(ctx.configPath, ctx.signal);
      // With no configuration running yet there is none to keep: a log is refused as invalid, a file that
      // is still being copied is read as far as it goes, and reloaded once it has been still.
      if (!file.settled) ctx.stderr.write(`warning: the watch file ${ctx.configPath} ${keptChanging()}; read as it was then\n`);
      loaded = file.signature;
      return parseConfig(file.text, { env: ctx.env, onWarning, source: ctx.configPath, mode: file.signature?.mode });
    });
  } catch (err) {
    // Stopped while waiting for the file to stop changing: nothing has started, a clean stop.
    if (ctx.signal.aborted) return stoppedEarly;
    throw err;
  }
  if (!config) return 2;
  collectGarbage();
  // The daemon's parts are loaded only for it: `--help` and the one-shot commands do without them.
  const [{ Daemon }, logger] = await Promise.all([import('../daemon.ts'), ctx.logger()]);
  const daemon = new Daemon(ctx, config, logger, loaded);
  // Until the process ends: a SIGHUP while the daemon stops is too late to read the file, and harmless.
  onHangup(() => daemon.reloadAsked());
  try {
    await daemon.start();
    return ctx.options['until-done'] ? await daemon.untilDone() : await daemon.untilStopped();
  } catch (err) {
    // Stopped while still starting (waiting for the state lock): a clean stop, not a failure.
    if (ctx.signal.aborted && !daemon.started) return stoppedEarly;
    // In the log as well as on stderr, before the log's `stopping`: a collector that keeps only the JSON
    // lines, or alerts on the log's errors, keeps why the daemon ended.
    logger.fatal({ error: (err as Error).message }, `the daemon cannot ${daemon.started ? 'go on' : 'start'}; stopping`);
    // As for an invalid file: a supervisor that restarts on failure (systemd's RestartPreventExitStatus=2)
    // should not restart every few seconds into a state file, or a credential file that cloud.auth names and
    // this user cannot read (an unreadable cloud.tls.caFile is an invalid file), that someone has to fix first.
    const toFix = err instanceof StateError ? !err.transient : err instanceof CredentialError;
    if (!daemon.started && toFix) throw new CommandError((err as Error).message, 2, { cause: err });
    throw err;
  } finally {
    await daemon.close();
  }
}
