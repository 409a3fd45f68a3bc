// Tests that measure V8 itself (a heap, a flag, what a compile chose) run their code in a Node process of
// their own: V8's flags are process-wide, and the test runner's own objects would blur a heap measurement.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CPU_BOUND_TEST_TIMEOUT_MS } from './cpuBound.ts';
import { COMPILE_CACHE } from './e2e/daemon.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A source module's file URL, quoted, for `import(...)` in a body given to runIsolated. */
export function sourceModule(path: string): string {
  return JSON.stringify(new URL(`../src/${path}`, import.meta.url).href);
}

/**
 * What `body`, an ES module, writes to stdout when a Node process of its own runs it with `flags`, from the
 * repository's root (so that it imports the packages the project installed). With the compile cache the
 * daemons share: the sources it imports cost half the processor time to load (no type stripping again).
 * Ended at half of a processor-bound test's time (cpuBound.ts): a test of the V8 settings starts two.
 */
export function runIsolated(body: string, flags: readonly string[] = [], timeoutMs = CPU_BOUND_TEST_TIMEOUT_MS / 2): string {
  const env = { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE };
  return execFileSync(process.execPath, [...flags, '--input-type=module', '-e', body], { encoding: 'utf8', cwd: ROOT, env, timeout: timeoutMs });
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

/**
 * What the heap holds of the actions `setup` (statements of an ES module) keeps in `kept`, each with one
 * event whose hostId the actions share as Nova sends them: `copies`, how many strings equal that hostId;
 * `spilled`, how many of the actions and events hold fields in a second object (a property array) rather
 * than in themselves; `objects`, how many actions and events the snapshot showed. A process of its own: a
 * heap snapshot counts every string equal to it, in this process only.
 */
export function keptActions(setup: string): { copies: number; spilled: number; objects: number; kept: number; hostId: string } {
  const body = `
    import { getHeapSnapshot } from 'node:v8';
    const kept = [];
    ${setup}
    const hostId = kept[0].events[0].hostId;
    // Found in the snapshot by this name: the actions and their events, and nothing else.
    globalThis.keptAnswers = [...kept, ...kept.map((action) => action.events[0])];
    const chunks = [];
    for await (const chunk of getHeapSnapshot()) chunks.push(chunk);
    const { snapshot: { meta }, nodes, edges, strings } = JSON.parse(chunks.join(''));
    const nodeFields = meta.node_fields.length;
    const edgeFields = meta.edge_fields.length;
    const [type, name, selfSize, edgeCount] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
    const [edgeType, edgeName, toNode] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
    const firstEdge = new Map();
    for (let i = 0, e = 0; i < nodes.length; e += nodes[i + edgeCount] * edgeFields, i += nodeFields) firstEdge.set(i, e);
    const edgesOf = (node) => {
      const out = [];
      for (let e = firstEdge.get(node), n = 0; n < nodes[node + edgeCount]; n++, e += edgeFields) {
        const kind = meta.edge_types[0][edges[e + edgeType]];
        out.push({ kind, name: kind === 'element' || kind === 'hidden' ? null : strings[edges[e + edgeName]], to: edges[e + toNode] });
      }
      return out;
    };
    let copies = 0;
    let list;
    for (let i = 0; i < nodes.length; i += nodeFields) {
      if (meta.node_types[0][nodes[i + type]].includes('string') && strings[nodes[i + name]] === hostId) copies++;
      list ??= edgesOf(i).find((e) => e.kind === 'property' && e.name === 'keptAnswers')?.to;
    }
    const elements = edgesOf(list).find((e) => e.name === 'elements').to;
    // A backing store's slots are internal edges named by their index.
    const objects = edgesOf(elements).filter((e) => /^\\d+$/.test(e.name ?? '')).map((e) => e.to);
    const spilled = objects.filter((o) => edgesOf(o).some((e) => e.name === 'properties' && nodes[e.to + selfSize] > 16)).length;
    process.stdout.write(JSON.stringify({ copies, spilled, objects: objects.length, kept: kept.length, hostId }));
  `;
  return JSON.parse(runIsolated(body)) as { copies: number; spilled: number; objects: number; kept: number; hostId: string };
}
