/** Resolves when `signal` is aborted (at once if it already is); never rejects. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Called with the signal's reason when it aborts. */
export type AbortListener = (reason: unknown) => void;

const listenersOf = new WeakMap<AbortSignal, Set<AbortListener>>();

/**
 * The listeners of a signal that is not aborted yet, to which a listener is added and from which it is
 * deleted: what `addEventListener` and `removeEventListener` do, but with one event listener per signal
 * however many wait on it. A long-lived signal (a client's close, the engine's) is waited on by every
 * request in flight, thousands a second, and an EventTarget listener costs far more than a Set entry.
 */
export function abortListeners(signal: AbortSignal): Set<AbortListener> {
  // An aborted signal calls no one any more: its callers check `aborted` first.
  if (signal.aborted) return new Set();
  let listeners = listenersOf.get(signal);
  if (listeners === undefined) {
    const created = new Set<AbortListener>();
    listeners = created;
    listenersOf.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        listenersOf.delete(signal);
        for (const listener of created) listener(signal.reason);
        created.clear();
      },
      { once: true },
    );
  }
  return listeners;
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` is aborted. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const listeners = abortListeners(signal);
    listeners.add(reject);
    promise.then(resolve, reject).finally(() => listeners.delete(reject));
  });
}
