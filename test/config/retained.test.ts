// A running daemon keeps its parsed watch file, not the file's text: the values parsed from it must not hold
// that text alive (V8 keeps the whole string a value was sliced from for as long as the value lives). A
// child process parses a file, lets its text go, and looks for it in a heap snapshot.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const LOAD = new URL('../../src/config/load.ts', import.meta.url).href;

const CHILD = `
import { getHeapSnapshot } from 'node:v8';
const { parseConfig } = await import(process.env.LOAD);
const marker = ['watch', 'file', 'text', process.pid].join('-');
const watches = Array.from({ length: 300 }, (_, i) => '  - requestId: ' + i + '-0c3f2d5e-9a1b-4f6e-8d7c-2b4a6e8f1c3d\\n    serverId: ' + i + '-5b7d9f1a-3c5e-4a2b-9d8f-7e6c4a2b0d9f').join('\\n');
let text = '# ' + marker + '\\ncloud:\\n  endpoint: http://127.0.0.1:1\\n  projectId: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\\nwatches:\\n' + watches + '\\n';
const bytes = text.length;
const config = parseConfig(text, { env: {} });
text = null;
// RegExp's last match (RegExp.lastMatch and the like) holds its subject until the next match, which a
// running daemon makes at once: made here, so that only what the parsed values keep is counted.
/./.test('another subject');
globalThis.gc();
const chunks = [];
for await (const chunk of getHeapSnapshot()) chunks.push(chunk);
const snapshot = JSON.parse(Buffer.concat(chunks).toString());
const fields = snapshot.snapshot.meta.node_fields;
const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
const stringType = snapshot.snapshot.meta.node_types[0].indexOf('string');
let kept = 0;
for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
  if (snapshot.nodes[i + type] === stringType && snapshot.nodes[i + size] >= bytes && snapshot.strings[snapshot.nodes[i + name]].includes(marker)) kept++;
}
process.stdout.write(JSON.stringify({ kept, bytes, watches: config.watches.length, first: config.watches[0].requestId }));
`;

it('keeps no copy of the watch file\'s text once it is parsed', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD], { env: { ...process.env, LOAD } });
  const result = JSON.parse(stdout) as { kept: number; bytes: number; watches: number; first: string };
  expect(result).toMatchObject({ watches: 300, first: '0-0c3f2d5e-9a1b-4f6e-8d7c-2b4a6e8f1c3d' });
  expect(result.bytes).toBeGreaterThan(30_000);
  expect(result.kept).toBe(0);
});
