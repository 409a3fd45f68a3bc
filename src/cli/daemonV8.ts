import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived its last full collection, in percent. Its
 * own choice for a process as idle as the daemon is up to 300 %: at 10,000 watches the objects of polls in
 * flight that age out of the young generation pile up between two collections, and the pages stay
 * resident. Measured back to back at 10,000 watches (npm run bench, load 1.2-2): V8's own 320 MB peak,
 * 85-100 µs CPU per poll; 200 %: 270 MB, 112-115 µs; 100 %: 218-223 MB, 96-105 µs; 50 %: 196-199 MB,
 * 109-178 µs, the collections costing CPU and the verdict-to-webhook p99 (159-209 ms against 102-108 ms).
 */
const OLD_GENERATION_GROWTH_PERCENT = 100;

/**
 * WebAssembly stays in V8's baseline compiler (Liftoff). undici parses HTTP with llhttp, compiled to wasm at
 * the first HTTP/1 connection, and V8 recompiles it with its optimising compiler in the background: about
 * 22 MB of malloc'ed memory at its peak, part of which glibc keeps resident once freed. Measured on a
 * daemon of 10 watches: a peak of 111 MB against 91 MB, then 98-100 MB resident against 86-91 MB. The CPU
 * per poll at 1,000 and 10,000 watches, and undici alone's CPU per request, did not change beyond the
 * machine's noise. Both flags: with dynamic tiering on, turning tier-up off changes nothing; with it off,
 * V8 recompiles the whole module at once.
 */
const WASM_BASELINE_ONLY = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'];

/**
 * JavaScript is optimised by TurboFan alone, without Maglev, V8's mid-tier compiler, and after 800 calls of
 * a function rather than 3,000. Maglev compiles the daemon's hot functions once more, in the background,
 * into zones of malloc'ed memory that glibc keeps resident once they are freed (one arena,
 * MALLOC_ARENA_MAX=1): at 2,000 watches V8's malloc peak is 15-16 MB with it and 6 MB without, glibc's heap
 * 23-25 MB against 8-11 MB. Without Maglev a function runs in the baseline code until TurboFan takes it,
 * hence TurboFan's earlier start (with Maglev, TurboFan takes a function late: a small test function called
 * 4,000 times had been compiled by Maglev twice and not yet by TurboFan). Measured in 5-6 interleaved pairs
 * of 16 seconds of polling with no verdict (the bundle, the image's settings): peak resident 120-128 ->
 * 106-117 MB at 1,000 watches, 127-136 -> 118-124 at 2,000, 176-185 -> 160-166 at 10,000; median CPU per
 * poll from 6 s after the start 130 -> 89 us at 1,000 (105-107 -> 77-92 from 40 s), 92 -> 87 at 2,000, 75
 * -> 72 at 10,000. A one-shot command keeps Maglev (main.ts): `validate` of 10,000 watches is 7 % faster
 * with it. The daemon reads its watch file after these are set, so that read goes without Maglev too: at
 * 10,000 watches perhaps 50-100 ms more to the first poll (the bench's start-up, 1,015-1,021 against
 * 1,071-1,129 ms, on a differently loaded machine).
 */
const TURBOFAN_ALONE = ['--no-maglev', '--invocation-count-for-turbofan=800'];

/**
 * V8's settings for the daemon's long run. Set once the process runs rather than on its command line, so
 * that every way of starting it has them. V8 reads the heap's at each full collection and the wasm ones
 * when it compiles a module: they must be set before the process's first HTTP connection, since a module
 * compiled earlier keeps its tiering. The JavaScript compilers' are read each time a function is due for
 * optimisation.
 */
export function tuneV8ForDaemon(): void {
  setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWTH_PERCENT}`);
  for (const flag of WASM_BASELINE_ONLY) setFlagsFromString(flag);
  for (const flag of TURBOFAN_ALONE) setFlagsFromString(flag);
}
