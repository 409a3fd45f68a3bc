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
 * Keeps SIGHUP from ending a process that runs until stopped (its default action, status 129, which
 * systemd's Restart=on-failure counts as a clean exit: the service stays down). From the process's start to
 * its end: `systemctl reload` is accepted as soon as the process runs, before the daemon is made, and may
 * come while it stops.
 */
export function holdHangups(): void {
  process.on('SIGHUP', () => {
    if (hangupListener) hangupListener();
    else hangupWaiting = true;
  });
}

/** `listener` for every SIGHUP from now on, and for one that came before it. */
export function onHangup(listener: () => void): void {
  hangupListener = listener;
  if (!hangupWaiting) return;
  hangupWaiting = false;
  listener();
}
