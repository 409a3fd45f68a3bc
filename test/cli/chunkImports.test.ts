// src/cli/chunkImports.ts: the bundle's imports of its own chunks, resolved as the URLs they name. Module
// hooks are the process's, so each case runs in a process of its own, on a folder laid out as the bundle is.
import { execFile } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempFolderEach } from '../tempFolder.ts';

const CHUNK_IMPORTS = new URL('../../src/cli/chunkImports.ts', import.meta.url).href;

let dir: string;
tempFolderEach('eaw-chunks-', (made) => {
  // Node's resolver gives real paths: the URLs expected are of the folder's real path.
  dir = realpathSync(made);
  mkdirSync(join(dir, 'dist', 'chunks'), { recursive: true });
  mkdirSync(join(dir, 'elsewhere'));
  // A hook registered first runs last: it sees what resolveChunksDirectly hands on to Node's resolver.
  writeFileSync(
    join(dir, 'dist', 'entry.mjs'),
    [
      "import { registerHooks } from 'node:module';",
      `import { resolveChunksDirectly } from ${JSON.stringify(CHUNK_IMPORTS)};`,
      'const handedOn = [];',
      'registerHooks({ resolve: (specifier, context, next) => { handedOn.push(specifier); return next(specifier, context); } });',
      'resolveChunksDirectly(process.argv[2] ?? import.meta.url);',
      "const { answer } = await import('./chunks/command-A.mjs');",
      "const { other } = await import('../elsewhere/other.mjs');",
      "process.stdout.write(JSON.stringify({ answer, other, handedOn, resolved: import.meta.resolve('./chunks/chunk-B.mjs') }));",
    ].join('\n'),
  );
  writeFileSync(join(dir, 'dist', 'chunks', 'command-A.mjs'), "import { b } from './chunk-B.mjs';\nimport { sep } from 'node:path';\nexport const answer = b + sep;\n");
  writeFileSync(join(dir, 'dist', 'chunks', 'chunk-B.mjs'), "export const b = 'B';\n");
  writeFileSync(join(dir, 'elsewhere', 'other.mjs'), "export { b as other } from './b.mjs';\n");
  writeFileSync(join(dir, 'elsewhere', 'b.mjs'), "export const b = 'elsewhere';\n");
});

async function run(entryUrl?: string): Promise<{ answer: string; other: string; handedOn: string[]; resolved: string }> {
  const args = [join(dir, 'dist', 'entry.mjs'), ...(entryUrl === undefined ? [] : [entryUrl])];
  const { stdout } = await promisify(execFile)(process.execPath, args);
  return JSON.parse(stdout) as { answer: string; other: string; handedOn: string[]; resolved: string };
}

describe('resolveChunksDirectly', () => {
  it('resolves the bundle folder\'s imports of its .mjs files itself, to the URLs Node gives, and hands on every other', async () => {
    const out = await run();
    expect(out.answer).toBe('B/');
    expect(out.other).toBe('elsewhere');
    expect(out.resolved).toBe(pathToFileURL(join(dir, 'dist', 'chunks', 'chunk-B.mjs')).href);
    expect(out.handedOn).toEqual(['node:path', '../elsewhere/other.mjs', './b.mjs']);
  });

  it('leaves every import to Node when the entry is not the bundle (the TypeScript sources)', async () => {
    const out = await run(pathToFileURL(join(dir, 'dist', 'main.ts')).href);
    expect(out.answer).toBe('B/');
    expect(out.resolved).toBe(pathToFileURL(join(dir, 'dist', 'chunks', 'chunk-B.mjs')).href);
    expect(out.handedOn).toEqual(['./chunks/command-A.mjs', './chunk-B.mjs', 'node:path', '../elsewhere/other.mjs', './b.mjs', './chunks/chunk-B.mjs']);
  });
});
