// What every client of the bench asks bench/server.ts for, in one place: the daemon (through its watch file),
// autocannon and undici alone read the same actions of the same project, with the headers the daemon sends.

import { computeHeaders } from '../src/cloud/headers.ts';

export const BENCH_PROJECT = 'bench-project';

/** The path of watch `n`'s action: server srv-<n>, request req-<n>. */
export function actionPath(n: number): string {
  return `/v2.1/${BENCH_PROJECT}/servers/srv-${n}/os-instance-actions/req-${n}`;
}

/**
 * The token of the bench's credentials (bench/run.ts, BENCH_AUTH), in the watch file or handed out by the
 * bench's Keystone at a password login: 6 KB, base64 with + and / as Huawei IAM's are.
 */
export const BENCH_TOKEN = `MII${Buffer.from(Array.from({ length: 4608 }, (_, i) => (i * 131 + 7) % 256)).toString('base64')}`.slice(0, 6144);

/** The compute microversion of the bench: the server's, the one the daemon's watch file fixes. */
export const BENCH_MICROVERSION = '2.60';

/** What the daemon sends with each poll at that microversion (no auth headers: the bench's cloud has none). */
export const POLL_HEADERS = computeHeaders(BENCH_MICROVERSION);

/**
 * Passes polled before the daemon, and undici alone in passes, are measured. V8 optimises what a poll runs
 * over its first seconds, and the compiles themselves take CPU; a daemon runs for days, so its rate and
 * CPU are taken once they have settled. At 1,000 watches, in two runs of 25 s, the second pass swept
 * 6.4-6.7k polls/s and the 11th to the 24th 8.7-16.9k (median 13-14k).
 */
export const WARM_UP_PASSES = 10;

/**
 * The passes measured after those. Slow passes recur (at 1,000 watches the one about 10 s after the start
 * takes about twice as long as most, for undici alone in passes too), and over a few passes one of them
 * weighs a lot: in the same 4 runs at 1,000 watches, 5 passes swept 10.3-12.8k polls/s, 15 passes
 * 13.0-15.3k (docs/performance.md).
 */
export const MEASURED_PASSES = 15;
