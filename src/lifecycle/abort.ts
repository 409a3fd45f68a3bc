/** Resolves when `signal` is aborted (at once if it already is); never rejects. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Called with the signal's reason when it aborts. */
export type AbortListener = (reason: unknown) => void;

/**
 * The listeners of one signal, each in a slot of an array that it keeps until it stops listening; a freed
 * slot is taken by the next, so they are called in slot order, not in the order they came. A Set did this
 * job before, and rebuilt its table each time it filled as listeners came and went: the table it left
 * behind, an object of V8's old generation like the Set, still pointed at the listeners in flight then, and
 * a young-generation collection keeps alive whatever an old object points to, so each rebuild aged them
 * into the old generation (test/lifecycle/abort.test.ts measures it). The array grows only when more
 * listen at once than ever before.
 */
class SignalListeners implements Iterable<AbortListener> {
  readonly #slots: (AbortListener | undefined)[] = [];
  readonly #free: number[] = [];

  /** The slot that `listener` now holds, to give back to `delete`. */
  add(listener: AbortListener): number {
    const slot = this.#free.pop() ?? this.#slots.length;
    this.#slots[slot] = listener;
    return slot;
  }

  delete(slot: number): void {
    this.#slots[slot] = undefined;
    this.#free.push(slot);
  }

  get size(): number {
    return this.#slots.length - this.#free.length;
  }

  /** The listeners in their slots, read as it goes: one that stops listening meanwhile is skipped. */
  *[Symbol.iterator](): Iterator<AbortListener> {
    for (const listener of this.#slots) if (listener !== undefined) yield listener;
  }
}

const listenersOf = new WeakMap<AbortSignal, SignalListeners>();

/**
 * The listeners of a signal that is not aborted yet, to which a listener is added and from which it is
 * deleted: what `addEventListener` and `removeEventListener` do, but with one event listener per signal
 * however many wait on it. A long-lived signal (a client's close, the engine's) is waited on by every
 * request in flight, thousands a second, and an EventTarget listener costs far more than an array slot.
 * Listen through `listenForAbort`; this is exported for the tests that hold what sits in the slots.
 */
export function abortListeners(signal: AbortSignal): SignalListeners {
  // An aborted signal calls no one any more: listenForAbort refuses one before it adds to any.
  if (signal.aborted) return new SignalListeners();
  let listeners = listenersOf.get(signal);
  if (listeners === undefined) {
    const created = new SignalListeners();
    listeners = created;
    listenersOf.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        listenersOf.delete(signal);
        for (const listener of created) listener(signal.reason);
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
 * The signals are long-lived (a client's close, the engine's) and their listeners' slots are in V8's old
 * generation, as is the array they leave behind when they grow and a listener that outlived two
 * young-generation collections. A young-generation collection keeps alive whatever an old object points
 * to, in use or not: a listener that reached a request's handler after the request had ended dragged the
 * handler, its answer and the whole poll awaiting it into the old generation, to wait there for a full
 * collection (docs/performance.md, for what it cost). The listener in the slots therefore reaches `listener`
 * only through the variable `heard` of its closure, emptied when listening stops.
 */
export function listenForAbort(signals: readonly (AbortSignal | undefined)[], listener: AbortListener): () => void {
  for (const signal of signals) signal?.throwIfAborted();
  let heard: AbortListener | null = listener;
  const relay: AbortListener = (reason) => {
    const called = heard;
    stop();
    called?.(reason);
  };
  const slots: number[] = [];
  for (const signal of signals) slots.push(signal === undefined ? -1 : abortListeners(signal).add(relay));
  // Once only: a slot given back twice would be handed to two listeners. An aborted signal's listeners
  // are forgotten with it (listenersOf has them no more), and its slot with them.
  function stop(): void {
    if (heard === null) return;
    heard = null;
    for (let i = 0; i < signals.length; i++) {
      const signal = signals[i];
      if (signal !== undefined) listenersOf.get(signal)?.delete(slots[i]!);
    }
  }
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
