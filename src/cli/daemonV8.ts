import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How far V8 lets the old generation grow past what survived its last full collection, in percent. Its own
 * choice for a process as idle as the daemon is up to 300 %; the peak resident memory is where the old
 * generation reaches that limit, just before a full collection. A low limit costs full collections, as many
 * as the young generation promotes enough to reach it, so this goes with NO_PRETENURING below and the slots
 * of listenForAbort (src/lifecycle/abort.ts), with which it promotes a sixth of what it did. Measured in
 * interleaved runs of 16 s of polling (the bundle, the image's settings, CPU from 6 s), the three together
 * against 100 % with pretenuring and a Set of listeners: peaks of 101-103 against 114-117 MB at 1,000
 * watches, 107-109 against 120-123 MB at 2,000, 146-150 against 168-185 MB at 10,000; CPU per poll 107-109
 * against 124-132, 99-106 against 112-119, 70-73 against 78-91 us (a slow spell of the machine's); full
 * collections in 10 s 1 against 1-2, 1 against 3, 4-5 against 7-10. With pretenuring off alone, 50 % peaked
 * at 110-111 MB at 2,000 watches and 146-155 at 10,000; 20 % no lower than 30 % at 1,000 (105-107 MB), with
 * slower passes at 10,000.
 */
const OLD_GENERATION_GROWTH_PERCENT = 30;

/**
 * Every object an allocation site makes is allocated in the young generation, as V8 does before it has
 * seen the site's objects survive. V8 pretenures a site (allocates its objects straight into the old
 * generation) when most of those it sampled survived a young-generation collection; in the daemon that
 * happens to sites whose objects live for a pass or across one. What such an object points to then stays
 * alive through every young-generation collection until the next full one, and ages into the old
 * generation with it: the buffers undici's parser makes for each header name and value among them (a
 * sampling heap profile at 1,000 watches: 1,016 B a poll survived young collections with pretenuring, 91 B
 * without). Measured with --trace-gc-nvp over 10 s at 1,000 watches: 22-24.5 MB promoted with pretenuring,
 * 9.6-11.2 MB without; in interleaved runs at 2,000 watches, 1-2 full collections in 10 s against 3-4, and
 * 63-71 against 71-75 us CPU per poll (at the same growth the peak did not change: the limit above sets it).
 */
const NO_PRETENURING = ['--no-allocation-site-pretenuring'];

/**
 * WebAssembly stays in V8's baseline compiler (Liftoff). undici parses HTTP with llhttp, compiled to wasm at
 * the first HTTP/1 connection, and V8 recompiles it with its optimising compiler in the background: about
 * 22 MB of malloc'ed memory at its peak, part of which glibc keeps resident once freed. Measured on a
 * daemon of 10 watches: a peak of 111 MB against 91 MB, then 98-100 MB resident against 86-91 MB. The CPU
 * per poll at 1,000 and 10,000 watches, and undici alone's CPU per request, did not change beyond the
 * machine's noise. Both flags: with dynamic tiering on, turning tier-up off changes nothing; with it off,
 * V8 recompiles the whole module at once. The one-shot commands have them too (main.ts).
 */
export const WASM_BASELINE_ONLY = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'];

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
 * -> 72 at 10,000. A one-shot command keeps Maglev (main.ts), its only optimising compiler there. The
 * daemon reads its watch file after these are set, so that read goes without Maglev too: at
 * 10,000 watches perhaps 50-100 ms more to the first poll (the bench's start-up, 1,015-1,021 against
 * 1,071-1,129 ms, on a differently loaded machine).
 */
const TURBOFAN_ALONE = ['--no-maglev', '--invocation-count-for-turbofan=800'];

/**
 * V8's memory saver mode: every full collection reduces memory (`--trace-gc` marks each `(reduce)`). It
 * compacts the old generation and gives back the pages it freed, which V8 otherwise keeps pooled for reuse
 * until a collection that reduces memory, and runs one only for a process idle or short of memory, never for
 * one polling every second: 11-18 MB pooled at 10,000 watches. The heap also grows by less before the next
 * collection. Measured in 3 interleaved pairs of 40 s of polling after 15 s, then every action finished at
 * once (the bundle, the image's settings): peaks of 113.9-118.6 against 119.4-122.5 MB at 10,000 watches, and
 * 115.9-118.6 against 124.1-125.8 with all finishing, for the same CPU per poll (47.8-50.7 against 46-58.6
 * us); at 2,000, 94.0-94.3 against 97.0-99.6 MB and 97.5-99.9 against 101.1-105.0. On a small heap the
 * collections come often enough to cost: at 1,000 watches 65-85 against 50-54 us of CPU per poll over the
 * whole run (about 1.5 % of a core more) for peaks no lower while polling and 2-3 MB lower with all
 * finishing. The passes themselves are no slower: in 3 interleaved rounds of the bench at 1,000 watches the
 * sweep was 11.5-15.8 against 15.2-17.0 thousand polls/s (medians 15.4 and 15.8), 0.64-0.93 against
 * 0.75-0.85 of undici alone in passes, within the machine's spread.
 */
const MEMORY_SAVER = ['--memory-saver-mode'];

/**
 * V8's settings for the daemon's long run. Set once the process runs rather than on its command line, so
 * that every way of starting it has them. V8 reads the heap's at each full collection and the wasm ones
 * when it compiles a module: they must be set before the process's first HTTP connection, since a module
 * compiled earlier keeps its tiering. The JavaScript compilers' are read each time a function is due for
 * optimisation.
 */
export function tuneV8ForDaemon(): void {
  setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWTH_PERCENT}`);
  for (const flag of NO_PRETENURING) setFlagsFromString(flag);
  for (const flag of WASM_BASELINE_ONLY) setFlagsFromString(flag);
  for (const flag of TURBOFAN_ALONE) setFlagsFromString(flag);
  for (const flag of MEMORY_SAVER) setFlagsFromString(flag);
}

/**
 * A full collection, called once a parse of the watch file is garbage (at the start, and after a reload's).
 * V8 sets the heap's next limit from what a full collection finds alive, and one that lands while the file is
 * parsed finds yaml's syntax tree and Document of the whole file alive (39 MB at 10,000 watches, where the
 * daemon polls with 25-30): the heap then grows that far past it before the next, and at the start that set
 * the peak in some runs. Measured in 5 interleaved pairs at 10,000 watches (the bundle, the image's
 * settings, the first 8 s): peaks of 111.7-114.4 against 114.4-123.9 MB. V8's only call for it is `gc()`,
 * which `--expose-gc` gives to a context made after it is set; one full collection, 10-30 ms.
 *
 * Called again once the first pass has polled every watch, before its save (each app's engine, see
 * EngineOptions.firstPassPolled). That pass makes every record and action, and its save writes them all as
 * the snapshot. A full collection of V8's own that ran into that save kept what it had promoted and what
 * was made while it marked: `--trace-gc-nvp` at 10,000 watches showed one beginning at 44.9 MB of objects
 * and keeping 38.5 MB (9.9 MB promoted), where others kept 29-31 MB, and the heap then grew past the
 * limit it set. Collected whole before the save, the pass keeps 28.3-29.5 MB (15-20 ms). Measured at
 * 10,000 watches, 5 s of polling from the start (the bundle, the image's settings), in 22 interleaved
 * pairs: peaks of 102.5-108.0 MB with it, 103.2-121.1 without (7 of 22 above 110).
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * `parse`, a reload's read of the whole watch file, between two full collections. The one after is
 * collectGarbage's. The one before frees what the daemon's passes left for V8's next full collection, so
 * that the parse does not bring the heap to its limit. Once it did, V8 marked the heap while the parse went
 * on, and the heap grew by what the parse allocated meanwhile: `--trace-gc-nvp` of the bench's daemon at
 * 10,000 watches showed no young collection from the marking's start to its end (77 ms) and the collection
 * beginning with 59.9 MB of objects and 70.8 MB committed, against 35.1 and 49.8 at the last young one.
 * That was a reload's peak of resident memory. Measured on the daemon of 10,000 finished watches, each
 * reload's peak alone (an edit of a comment, 5 daemons of 4 reloads each way, interleaved): 110-119 MB with
 * it, 114-144 without; the parse took 0.38-0.57 s either way and the collection before it 25-50 ms. The
 * start has none: its heap holds little else yet.
 */
export function parseBetweenCollections<T>(parse: () => T): T {
  collectGarbage();
  try {
    return parse();
  } finally {
    // What the parse made is garbage, whether the file is valid or not.
    collectGarbage();
  }
}
