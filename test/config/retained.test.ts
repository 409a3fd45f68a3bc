// A running daemon keeps its parsed watch file, not the file's text: the values parsed from it must not hold
// that text alive (V8 keeps the whole string a value was sliced from for as long as the value lives), nor
// the text of the clouds.yaml whose profile it names. A child process parses a file, lets its text go, and
// looks for both texts in a heap snapshot.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const LOAD = new URL('../../src/config/load.ts', import.meta.url).href;

const CHILD = `
import { statSync } from 'node:fs';
import { getHeapSnapshot } from 'node:v8';
const { parseConfig } = await import(process.env.LOAD);
const marker = ['watch', 'file', 'text', process.pid].join('-');
const watches = Array.from({ length: 300 }, (_, i) => '  - requestId: ' + i + '-0c3f2d5e-9a1b-4f6e-8d7c-2b4a6e8f1c3d\\n    serverId: ' + i + '-5b7d9f1a-3c5e-4a2b-9d8f-7e6c4a2b0d9f').join('\\n');
let text = '# ' + marker + '\\ncloud:\\n  endpoint: http://127.0.0.1:1\\n  cloudsYaml: ' + process.env.CLOUDS + '\\n  cloud: prod\\nwatches:\\n' + watches + '\\n';
const bytes = text.length;
// Its size from the file system: a copy of its text read here could itself be what the snapshot finds, if
// anything of this frame still pointed at it (one copy was found once in a full run, never alone).
const cloudsBytes = statSync(process.env.CLOUDS).size;
const config = parseConfig(text, { env: {} });
text = null;
// RegExp's last match (RegExp.lastMatch and the like) holds its subject until the next match, which a
// running daemon makes at once: made here, in case the parser's last match was on a file's text.
/./.test('another subject');
globalThis.gc();
const chunks = [];
for await (const chunk of getHeapSnapshot()) chunks.push(chunk);
const snapshot = JSON.parse(Buffer.concat(chunks).toString());
const fields = snapshot.snapshot.meta.node_fields;
const [type, name, size, edgeCount] = ['type', 'name', 'self_size', 'edge_count'].map((f) => fields.indexOf(f));
const nodeTypes = snapshot.snapshot.meta.node_types[0];
const stringType = nodeTypes.indexOf('string');
const edgeFields = snapshot.snapshot.meta.edge_fields;
const [edgeType, edgeName, toNode] = ['type', 'name_or_index', 'to_node'].map((f) => edgeFields.indexOf(f));
const nameOf = (node) => nodeTypes[snapshot.nodes[node + type]] + ' ' + snapshot.strings[snapshot.nodes[node + name]].slice(0, 60);
// What holds a kept copy, from it up towards a root: what says why, should a run ever find one (a full run
// found one copy once, and none alone in many runs).
const retainedBy = (node) => {
  const from = new Map();
  for (let i = 0, e = 0; i < snapshot.nodes.length; i += fields.length) {
    for (let n = 0; n < snapshot.nodes[i + edgeCount]; n++, e += edgeFields.length) {
      const to = snapshot.edges[e + toNode];
      const kind = snapshot.snapshot.meta.edge_types[0][snapshot.edges[e + edgeType]];
      if (!from.has(to) && kind !== 'weak') from.set(to, { by: i, edge: kind === 'element' || kind === 'hidden' ? '[' + snapshot.edges[e + edgeName] + ']' : snapshot.strings[snapshot.edges[e + edgeName]] });
    }
  }
  const path = [nameOf(node)];
  for (let at = node, hops = 0; from.has(at) && hops < 12; hops++) {
    const { by, edge } = from.get(at);
    path.push(edge + ' of ' + nameOf(by));
    at = by;
  }
  return path;
};
// Strings at least as big as the text that hold its first line (a snapshot shows the first 1,024 characters).
const kept = (first, length) => {
  const found = [];
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (snapshot.nodes[i + type] === stringType && snapshot.nodes[i + size] >= length && snapshot.strings[snapshot.nodes[i + name]].includes(first)) found.push(i);
  }
  return found;
};
// What the heap holds from its roots, through no weak edge, and not through V8's handle scopes: a handle
// there is the engine's own for a moment (a compile job's, the snapshot's), which held a parse's closure
// context, and the text with it, in about one run in four, where nothing of the program did.
const firstEdge = new Uint32Array(snapshot.nodes.length / fields.length + 1);
for (let i = 0, n = 0; i < snapshot.nodes.length; i += fields.length, n++) firstEdge[n + 1] = firstEdge[n] + snapshot.nodes[i + edgeCount] * edgeFields.length;
const reached = new Uint8Array(firstEdge.length);
const weak = snapshot.snapshot.meta.edge_types[0].indexOf('weak');
for (const queue = [0]; queue.length > 0;) {
  const node = queue.pop();
  const n = node / fields.length;
  if (reached[n] === 1 || snapshot.strings[snapshot.nodes[node + name]] === '(Handle scope)') continue;
  reached[n] = 1;
  for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += edgeFields.length) {
    if (snapshot.edges[e + edgeType] !== weak) queue.push(snapshot.edges[e + toNode]);
  }
}
const held = (found) => found.filter((node) => reached[node / fields.length] === 1);
const copies = held(kept(marker, bytes));
const cloudsCopies = held(kept(process.env.CLOUDS_MARKER, cloudsBytes));
const { watches: parsed, cloud } = config;
process.stdout.write(JSON.stringify({
  kept: copies.length, cloudsKept: cloudsCopies.length, retainedBy: [...copies, ...cloudsCopies].map(retainedBy),
  bytes, cloudsBytes, watches: parsed.length, first: parsed[0].requestId, region: cloud.region, project: cloud.projectId,
}));
`;

it("keeps no copy of the watch file's text, nor of its clouds.yaml's, once they are parsed", async () => {
  const clouds = join(await mkdtemp(join(tmpdir(), 'eaw-retained-')), 'clouds.yaml');
  const cloudsMarker = `clouds-yaml-text-${process.pid}`;
  const others = Array.from({ length: 300 }, (_, i) => `  other-${i}:\n    region_name: region-of-profile-${i}`).join('\n');
  const prod = '  prod:\n    region_name: eu-de-region-one\n    auth: { auth_url: "https://iam.example.com/v3", username: a-user-name-long-enough, password: a-password-long-enough, project_id: 0f1e2d3c4b5a69788796, domain_name: Default }';
  await writeFile(clouds, `# ${cloudsMarker}\nclouds:\n${prod}\n${others}\n`);
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD], {
    env: { ...process.env, LOAD, CLOUDS: clouds, CLOUDS_MARKER: cloudsMarker },
  });
  const result = JSON.parse(stdout) as { kept: number; cloudsKept: number; retainedBy: string[][]; bytes: number; cloudsBytes: number; watches: number; first: string; region: string; project: string };
  expect(result).toMatchObject({ watches: 300, first: '0-0c3f2d5e-9a1b-4f6e-8d7c-2b4a6e8f1c3d', region: 'eu-de-region-one', project: '0f1e2d3c4b5a69788796' });
  expect(result.bytes).toBeGreaterThan(30_000);
  expect(result.cloudsBytes).toBeGreaterThan(10_000);
  expect([result.kept, result.cloudsKept], JSON.stringify(result.retainedBy, null, 1)).toEqual([0, 0]);
});
