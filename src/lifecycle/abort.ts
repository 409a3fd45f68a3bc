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
 * Listen through `listenForAbort`; this is exported for the tests that hold what sits in the Set.
 */
export function abortListeners(signal: AbortSignal): Set<AbortListener> {
  // An aborted signal calls no one any more: listenForAbort refuses one before it adds to any.
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

/**
 * Calls `listener` once, with the reason of the first of `signals` to abort, unless the returned function is
 * called first; either way it then stops listening to all of them and lets go of `listener`. Throws the
 * reason of a signal that is already aborted, before listening to any.
 *
 * The signals are long-lived (a client's close, the engine's) and their listeners' Set is in V8's old
 * generation, as are the tables it leaves behind when it is rebuilt and a listener that outlived two
 * young-generation collections. A young-generation collection keeps alive whatever an old object points
 * to, in use or not: a listener that reached a request's handler after the request had ended dragged the
 * handler, its answer and the whole poll awaiting it into the old generation, to wait there for a full
 * collection (README, Performance, for what it cost). The listener in the Set therefore reaches `listener`
 * only through a cell, emptied when listening stops.
 */
export function listenForAbort(signals: readonly (AbortSignal | undefined)[], listener: AbortListener): () => void {
  for (const signal of signals) signal?.throwIfAborted();
  const cell: { listener: AbortListener | null } = { listener };
  const stop = () => {
    cell.listener = null;
    for (const signal of signals) if (signal !== undefined && !signal.aborted) abortListeners(signal).delete(relay);
  };
  const relay: AbortListener = (reason) => {
    const heard = cell.listener;
    stop();
    heard?.(reason);
  };
  for (const signal of signals) if (signal !== undefined) abortListeners(signal).add(relay);
  return stop;
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` is aborted. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const stop = listenForAbort([signal], reject);
    promise.then(resolve, reject).finally(stop);
  });
}
