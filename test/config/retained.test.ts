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
const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
const stringType = snapshot.snapshot.meta.node_types[0].indexOf('string');
// Strings at least as big as the text that hold its first line (a snapshot shows the first 1,024 characters).
const kept = (first, length) => {
  let count = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (snapshot.nodes[i + type] === stringType && snapshot.nodes[i + size] >= length && snapshot.strings[snapshot.nodes[i + name]].includes(first)) count++;
  }
  return count;
};
const { watches: parsed, cloud } = config;
process.stdout.write(JSON.stringify({ kept: kept(marker, bytes), cloudsKept: kept(process.env.CLOUDS_MARKER, cloudsBytes), bytes, cloudsBytes, watches: parsed.length, first: parsed[0].requestId, region: cloud.region, project: cloud.projectId }));
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
  const result = JSON.parse(stdout) as { kept: number; cloudsKept: number; bytes: number; cloudsBytes: number; watches: number; first: string; region: string; project: string };
  expect(result).toMatchObject({ watches: 300, first: '0-0c3f2d5e-9a1b-4f6e-8d7c-2b4a6e8f1c3d', region: 'eu-de-region-one', project: '0f1e2d3c4b5a69788796' });
  expect(result.bytes).toBeGreaterThan(30_000);
  expect(result.cloudsBytes).toBeGreaterThan(10_000);
  expect([result.kept, result.cloudsKept]).toEqual([0, 0]);
});
