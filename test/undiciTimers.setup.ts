import { createRequire } from 'node:module';

/** undici's own timers, the module its clients take their timeouts from (not part of its typed API). */
interface UndiciTimers {
  setFastTimeout(callback: () => void, delay: number): unknown;
  clearFastTimeout(timeout: unknown): void;
}

const PRIMED = Symbol.for('ecs-action-watch.test.undici-timer-primed');

/**
 * undici runs every timeout over a second (a connect's, the pools' headers and body timeouts) off one
 * Node timer of its own, made by the first such timeout and refreshed, never made again, for the life of
 * the process. Made while a test had faked setTimeout, it is a fake timer that nothing advances once that
 * test puts the real ones back: every later test in the worker (the shared project runs dozens in one)
 * waited for ever on a connect or an answer that should have timed out, and a client's close on the
 * requests still queued behind such a connect (a hang of 60 s in 2 of 7 runs of the rate-limit test of a
 * black-holed cloud). Made here, as the first test file of the process is set up, it is a real timer; a
 * fake setTimeout cannot replace it (undici only refreshes it). Once a process: this runs before each file.
 */
const global = globalThis as { [PRIMED]?: true };
if (!global[PRIMED]) {
  global[PRIMED] = true;
  const timers = createRequire(import.meta.url)('undici/lib/util/timers.js') as UndiciTimers;
  timers.clearFastTimeout(timers.setFastTimeout(() => {}, 2000));
}
