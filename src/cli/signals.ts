import { constants } from 'node:os';

/** 128 + the signal's number, as shells report a command stopped by it: 130 for SIGINT, 143 for SIGTERM. */
export function signalExitStatus(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  const name = typeof reason === 'string' && reason in constants.signals ? (reason as keyof typeof constants.signals) : 'SIGINT';
  return 128 + constants.signals[name];
}
