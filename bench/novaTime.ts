// `node scripts/node24.mjs bench/novaTime.ts`: what reading one Nova time costs, in µs a call: formatNovaTime
// (every time a mail text or a template view shows) and novaTimeMs (every action's and event's times on the
// poll path). A measurement, not a test: it asserts nothing. 10,000 distinct times a pass, as separate
// strings as an API answer's JSON gives them; the median of 15 passes after as many to let V8 optimise.
// With `node --expose-gc` it also weighs what formatNovaTime's results keep while held (as a template's
// view holds them).
import { performance } from 'node:perf_hooks';
import { novaTimeMs } from '../src/cloud/time.ts';
import { formatNovaTime } from '../src/notify/render.ts';

const COUNT = 10_000;
const ROUNDS = 15;

/** `COUNT` distinct times a second apart from 2026-11-26 17:50, written by `write` from their ISO form. */
function times(write: (iso: string, i: number) => string): string[] {
  const start = Date.parse('2026-11-26T17:50:00Z');
  const texts = Array.from({ length: COUNT }, (_, i) => write(new Date(start + i * 1000 + (i % 1000)).toISOString(), i));
  return JSON.parse(JSON.stringify(texts)) as string[];
}

const INPUTS: Array<[string, string[]]> = [
  ["Nova's form, 2026-11-26T17:50:00.123456", times((iso, i) => iso.replace('Z', String(i % 1000).padStart(3, '0')))],
  ['with Z, 2026-11-26T17:50:00.123Z', times((iso) => iso)],
  ['with an offset, ...+08:00', times((iso) => iso.replace('Z', '+08:00'))],
  ['impossible, 2026-02-30T...', times((iso) => iso.replace('-11-26', '-02-30'))],
];

/** Median µs a call of `read` over `texts`. */
function median(read: (text: string) => unknown, texts: string[]): number {
  const pass = () => {
    const start = performance.now();
    for (const text of texts) read(text);
    return performance.now() - start;
  };
  for (let i = 0; i < ROUNDS; i++) pass();
  const ms = Array.from({ length: ROUNDS }, pass).sort((a, b) => a - b);
  return (ms[Math.floor(ROUNDS / 2)]! * 1000) / texts.length;
}

for (const [name, read] of [['formatNovaTime', formatNovaTime], ['novaTimeMs', novaTimeMs]] as const) {
  console.log(`\n${name}, µs a call`);
  for (const [what, texts] of INPUTS) console.log(`  ${what.padEnd(44)}${median(read, texts).toFixed(3).padStart(7)}`);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  const texts = INPUTS[0]![1];
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = texts.map(formatNovaTime);
  gc();
  console.log(`\nformatNovaTime's result, Nova's form, held: ${((process.memoryUsage().heapUsed - before) / kept.length).toFixed(0)} bytes`);
}
