// scripts/builtinsRequired.ts with the bundle's own rules (scripts/bundleRules.ts): Node's modules in the
// bundle, each loaded at its first use, through a bundle of a few lines run in a process of its own (what it
// loaded is that process's moduleLoadList).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinsRequired, REQUIRE_BANNER, type RequiredLazily } from '../../scripts/builtinsRequired.ts';
import { REQUIRED_LAZILY } from '../../scripts/bundleRules.ts';
import { tempFolderEach } from '../tempFolder.ts';

let dir: string;
tempFolderEach('eaw-builtins-', (made) => {
  dir = made;
});


async function bundle(source: string, requiredLazily: RequiredLazily): Promise<string> {
  writeFileSync(join(dir, 'entry.mjs'), source);
  const out = join(dir, 'out.mjs');
  await build({
    entryPoints: [join(dir, 'entry.mjs')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    banner: { js: REQUIRE_BANNER },
    plugins: [builtinsRequired(requiredLazily)],
  });
  return out;
}

/** What the bundle printed as JSON, with the Node modules it had loaded by its end. */
function run(file: string): { printed: unknown; loaded: string[] } {
  const loaded = "process.on('exit', () => console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)))));";
  const child = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(loaded)}`, file], { encoding: 'utf8' });
  expect(child.status, child.stderr).toBe(0);
  const [printed, modules] = child.stdout.trim().split('\n');
  return { printed: JSON.parse(printed!), loaded: JSON.parse(modules!) as string[] };
}

describe('builtinsRequired', () => {
  it('loads no module whose import a run does not use', async () => {
    // Used only with a sixth argument, which the run has not: the bundler must keep the import.
    const out = await bundle("import { gzipSync } from 'node:zlib';\nconsole.log(JSON.stringify(typeof process.argv[5] === 'string' ? gzipSync('x').length : 'unused'));\n", REQUIRED_LAZILY);
    const { printed, loaded } = run(out);
    expect(printed).toBe('unused');
    expect(loaded).not.toContain('zlib');
  });

  it('copies the constants named, so that reading them at load loads nothing', async () => {
    const out = await bundle("const { constants } = require('node:http2');\nconsole.log(JSON.stringify(constants.HTTP2_HEADER_PATH));\n", REQUIRED_LAZILY);
    const { printed, loaded } = run(out);
    expect(printed).toBe(':path');
    expect(loaded).not.toContain('http2');
  });

  it('stands in for assert: a true condition loads nothing, a false one throws Node\'s AssertionError with its message', async () => {
    const source = [
      "const assert = require('node:assert');",
      'assert(true); assert(1, "not thrown");',
      "const before = process.moduleLoadList.includes('NativeModule assert');",
      'let thrown;',
      "try { assert(0, 'the condition failed'); } catch (err) { thrown = { isAssertion: err instanceof assert.AssertionError, message: err.message, code: err.code }; }",
      'let empty;',
      'try { assert(); } catch (err) { empty = err.code; }',
      "console.log(JSON.stringify({ before, thrown, empty, strictEqual: typeof assert.strictEqual }));",
    ].join('\n');
    const { printed, loaded } = run(await bundle(source, REQUIRED_LAZILY));
    expect(printed).toEqual({
      before: false,
      thrown: { isAssertion: true, message: 'the condition failed', code: 'ERR_ASSERTION' },
      empty: 'ERR_ASSERTION',
      strictEqual: 'function',
    });
    expect(loaded).toContain('assert');
  });

  it('requires a module that is a function as it is, without a stand-in', async () => {
    const out = await bundle("const EventEmitter = require('node:events');\nconsole.log(JSON.stringify(new EventEmitter() instanceof EventEmitter));\n", REQUIRED_LAZILY);
    expect(run(out).printed).toBe(true);
  });

  it('refuses a stand-in for a module that is no function, and copies of a function\'s properties', async () => {
    await expect(bundle("require('node:http2');\n", { 'node:http2': { standIn: '() => {}' } })).rejects.toThrow('node:http2 is not a function: nothing calls it, so it needs no stand-in');
    await expect(bundle("require('node:assert');\n", { 'node:assert': { copied: ['strict'] } })).rejects.toThrow('node:assert is a function: the bundle cannot copy its strict');
  });
});
