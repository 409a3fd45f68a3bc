// Tests that measure V8 itself (a heap, a flag, what a compile chose) run their code in a Node process of
// their own: V8's flags are process-wide, and the test runner's own objects would blur a heap measurement.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A source module's file URL, quoted, for `import(...)` in a body given to runIsolated. */
export function sourceModule(path: string): string {
  return JSON.stringify(new URL(`../src/${path}`, import.meta.url).href);
}

/**
 * What `body`, an ES module, writes to stdout when a Node process of its own runs it with `flags`, from the
 * repository's root (so that it imports the packages the project installed).
 */
export function runIsolated(body: string, flags: readonly string[] = [], timeoutMs = 15_000): string {
  return execFileSync(process.execPath, [...flags, '--input-type=module', '-e', body], { encoding: 'utf8', cwd: ROOT, timeout: timeoutMs });
}

/**
 * Heap bytes each of `count` values costs while kept: `make`, an expression of `i`, makes them after
 * `setup` (statements, such as an import). A round of them is made and dropped first, so that compiling
 * `make` is not counted.
 */
export function heapBytesEach(setup: string, make: string, count = 20_000): number {
  const body = `
    ${setup}
    const made = (i) => ${make};
    function cost() {
      const kept = new Array(${count});
      gc(); gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < kept.length; i++) kept[i] = made(i);
      gc(); gc();
      return (process.memoryUsage().heapUsed - before) / kept.length;
    }
    cost();
    process.stdout.write(String(cost()));
  `;
  return Number(runIsolated(body, ['--expose-gc']));
}
