// scripts/rewriteSources.ts: the bundle's rewrites of dependencies' text, and the builds it stops when a
// dependency no longer has the text a rewrite names.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rewriteSources, type Rewrites } from '../../scripts/rewriteSources.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eaw-rewrite-'));
  mkdirSync(join(dir, 'node_modules', 'dep', 'lib'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'dep', 'lib', 'util.js'), "const { STATUS_CODES } = require('node:http')\nmodule.exports = () => STATUS_CODES[200]\n");
  writeFileSync(join(dir, 'node_modules', 'dep', 'lib', 'other.js'), "module.exports = 'other'\n");
  writeFileSync(join(dir, 'entry.js'), "console.log(require('dep/lib/util.js')(), require('dep/lib/other.js'))\n");
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The bundle's text, or the build's error messages. */
async function bundled(rewrites: Rewrites): Promise<{ text: string } | { errors: string[] }> {
  try {
    const result = await build({ entryPoints: [join(dir, 'entry.js')], bundle: true, platform: 'node', write: false, logLevel: 'silent', plugins: [rewriteSources(rewrites)] });
    return { text: result.outputFiles[0]!.text };
  } catch (err) {
    return { errors: (err as { errors: Array<{ text: string }> }).errors.map((e) => e.text) };
  }
}

const LAZY: Rewrites = {
  'dep/lib/util.js': [
    ["const { STATUS_CODES } = require('node:http')\n", ''],
    ['() => STATUS_CODES[200]', "() => require('node:http').STATUS_CODES[200]"],
  ],
};

describe('rewriteSources', () => {
  it('replaces each text in the file it names, and leaves the other files as they are', async () => {
    const out = await bundled(LAZY);
    expect(out).toHaveProperty('text');
    const { text } = out as { text: string };
    expect(text).not.toContain('const { STATUS_CODES }');
    expect(text).toContain('require("node:http").STATUS_CODES[200]');
    expect(text).toContain('"other"');
  });

  it('stops the build when a text is not in the file, naming the file and the text', async () => {
    const out = await bundled({ 'dep/lib/util.js': [['() => STATUS_CODES[404]', '() => 0']] });
    expect(out).toEqual({ errors: ['dep/lib/util.js: "() => STATUS_CODES[404]" is found 0 times, not once: the rewrite no longer fits this version'] });
  });

  it('stops the build when a text is in the file more than once', async () => {
    const out = await bundled({ 'dep/lib/util.js': [['STATUS_CODES', 'CODES']] });
    expect(out).toEqual({ errors: ['dep/lib/util.js: "STATUS_CODES" is found 2 times, not once: the rewrite no longer fits this version'] });
  });

  it('stops the build when a file it names is not bundled (moved or renamed in a new version)', async () => {
    const out = await bundled({ ...LAZY, 'dep/lib/gone.js': [['a', 'b']] });
    expect(out).toEqual({ errors: ['dep/lib/gone.js was not bundled: its rewrite no longer fits this version'] });
  });
});
