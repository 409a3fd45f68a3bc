/** Resolves when `signal` is aborted (at once if it already is); never rejects. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` is aborted. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A signal aborted by any of `sources` or after `ms`; `done()` releases its timer and listeners. */
export interface Deadline {
  signal: AbortSignal;
  /** Whether it was the time that ran out. */
  readonly timedOut: boolean;
  done(): void;
}

/**
 * What `AbortSignal.any([...sources, AbortSignal.timeout(ms)])` gives, released as soon as the work is
 * done. Those built-ins keep their timer, a weak reference and a listener on every long-lived source
 * until the time is up: thousands of requests a second leave tens of thousands of each alive.
 */
export function deadline(ms: number, sources: readonly (AbortSignal | undefined)[]): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  const listening: AbortSignal[] = [];
  for (const source of sources) {
    if (source === undefined) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    source.addEventListener('abort', onAbort, { once: true });
    listening.push(source);
  }
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'));
  }, ms);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    done() {
      clearTimeout(timer);
      for (const source of listening) source.removeEventListener('abort', onAbort);
    },
  };
}
