import { constants } from 'node:os';

/** 128 + the signal's number, as shells report a command stopped by it: 130 for SIGINT, 143 for SIGTERM. */
export function signalExitStatus(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  const name = typeof reason === 'string' && reason in constants.signals ? (reason as keyof typeof constants.signals) : 'SIGINT';
  return 128 + constants.signals[name];
}

/** What SIGHUP does once something listens for it (`run`'s daemon reads its file again); null before. */
let hangupListener: (() => void) | null = null;
/** A SIGHUP came before anything listened: given to the listener when it comes. */
let hangupWaiting = false;

/**
 * Where the launcher (bin/ecs-action-watch.mjs) leaves its SIGHUP listener, which it adds at its first line:
 * until the command line is read, no one knows whether a hangup ends the process or reloads it, and loading
 * the command took 60-80 ms in which `systemctl reload` right after a start ended the daemon for good.
 */
const EARLY_HANGUPS = Symbol.for('ecs-action-watch.early-hangups');

/** What the launcher leaves at EARLY_HANGUPS. */
export interface EarlyHangups {
  /** A SIGHUP came before `handle` was set. */
  came: boolean;
  /** What a SIGHUP does, once the command has said. */
  handle?: () => void;
  /** The launcher's, which calls `handle` (or notes that one came): kept, as a SIGHUP Node has caught may be still to reach it. */
  readonly listener: () => void;
}

function earlyHangups(): EarlyHangups | undefined {
  return (globalThis as { [EARLY_HANGUPS]?: EarlyHangups })[EARLY_HANGUPS];
}

/** `handle` for every SIGHUP from now on, and at once for one the launcher took before. */
function onEveryHangup(handle: () => void): void {
  const early = earlyHangups();
  if (early === undefined) {
    process.on('SIGHUP', handle);
    return;
  }
  early.handle = handle;
  if (!early.came) return;
  early.came = false;
  handle();
}

/**
 * Keeps SIGHUP from ending a process that runs until stopped (its default action, status 129, which
 * systemd's Restart=on-failure counts as a clean exit: the service stays down). From the process's start to
 * its end: `systemctl reload` is accepted as soon as the process runs, before the daemon is made (one the
 * launcher took too), and may come while it stops.
 */
export function holdHangups(): void {
  onEveryHangup(() => {
    if (hangupListener) hangupListener();
    else hangupWaiting = true;
  });
}

/** A one-shot command ends at a hangup (its terminal gone) by its default action, also at one the launcher took. */
export function endAtHangups(): void {
  const early = earlyHangups();
  if (early === undefined) return;
  onEveryHangup(() => {
    process.off('SIGHUP', early.listener);
    process.kill(process.pid, 'SIGHUP');
  });
}

/** `listener` for every SIGHUP from now on, and for one that came before it. */
export function onHangup(listener: () => void): void {
  hangupListener = listener;
  if (!hangupWaiting) return;
  hangupWaiting = false;
  listener();
}
