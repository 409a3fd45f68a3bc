// scripts/rewriteSources.ts: the bundle's rewrites of dependencies' text, and the builds it stops when a
// dependency no longer has the text a rewrite names.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { REWRITTEN } from '../../scripts/bundleRules.ts';
import { rewriteSources, type Rewrites } from '../../scripts/rewriteSources.ts';
import { tempFolderEach } from '../tempFolder.ts';
import { ROOT } from './dockerfile.ts';

let dir: string;
tempFolderEach('eaw-rewrite-', (made) => {
  dir = made;
  mkdirSync(join(dir, 'node_modules', 'dep', 'lib'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'dep', 'lib', 'util.js'), "const { STATUS_CODES } = require('node:http')\nmodule.exports = () => STATUS_CODES[200]\n");
  writeFileSync(join(dir, 'node_modules', 'dep', 'lib', 'other.js'), "module.exports = 'other'\n");
  writeFileSync(join(dir, 'entry.js'), "console.log(require('dep/lib/util.js')(), require('dep/lib/other.js'))\n");
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

describe("undici's header value check, as the bundle rewrites it (scripts/bundleRules.ts)", () => {
  /** isValidHeaderValue of undici's util.js bundled with the bundle's rewrites of that file. */
  async function rewrittenCheck(): Promise<(value: string) => boolean> {
    const file = 'undici/lib/core/util.js';
    const entry = join(dir, 'check.js');
    writeFileSync(entry, `module.exports = require('${file}').isValidHeaderValue\n`);
    const out = join(dir, 'check.cjs');
    await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', logLevel: 'silent', nodePaths: [join(ROOT, 'node_modules')], plugins: [rewriteSources({ [file]: REWRITTEN[file]! })] });
    return createRequire(import.meta.url)(out) as (value: string) => boolean;
  }

  it('passes a long token again without a scan, and still refuses a long or short value with a line break', async () => {
    const isValid = await rewrittenCheck();
    const token = `MII${'a+b/'.repeat(1536)}`;
    const broken = `${token.slice(0, -1)}\n`;
    const scans = vi.spyOn(RegExp.prototype, 'test');
    try {
      expect(isValid(token)).toBe(true);
      expect(scans).toHaveBeenCalledTimes(1);
      expect(isValid(token)).toBe(true);
      // The same text in another string is compared, not scanned.
      expect(isValid(['MII', 'a+b/'.repeat(1536)].join(''))).toBe(true);
      expect(scans).toHaveBeenCalledTimes(1);
      expect(isValid(broken)).toBe(false);
      expect(isValid(`${token.slice(1)}\r`)).toBe(false);
      // The token is still the one remembered after a long value that failed.
      expect(isValid(token)).toBe(true);
      expect(isValid(broken)).toBe(false);
      expect(isValid('short\nvalue')).toBe(false);
      expect(isValid('application/json')).toBe(true);
    } finally {
      scans.mockRestore();
    }
  });
});

describe("node-cron's time in UTC, as the bundle rewrites it (scripts/bundleRules.ts)", () => {
  interface Task { match(date: Date): boolean; timeMatcher: { getNextMatch(date: Date): Date } }
  /** node-cron's createTask, bundled from the installed node-cron with or without the bundle's rewrites. */
  async function createTask(rewritten: boolean): Promise<(expression: string, func: () => void, options: { timezone: string }) => Task> {
    const entry = join(dir, 'cron.mjs');
    writeFileSync(entry, "export { createTask } from 'node-cron'\n");
    const out = join(dir, `cron-${String(rewritten)}.mjs`);
    const file = 'node-cron/dist/_shared.js';
    await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'esm', logLevel: 'silent', nodePaths: [join(ROOT, 'node_modules')], plugins: rewritten ? [rewriteSources({ [file]: REWRITTEN[file]! })] : [] });
    return ((await import(out)) as { createTask: (expression: string, func: () => void, options: { timezone: string }) => Task }).createTask;
  }

  it('finds the same ticks in UTC as node-cron itself, without an Intl object', async () => {
    const [original, rewritten] = [await createTask(false), await createTask(true)];
    const formats = vi.spyOn(Intl, 'DateTimeFormat');
    // A seeded walk over 2024-2030, leap days and the ends of months included, at any millisecond.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const from = Date.UTC(2024, 0, 1);
    const dates = [Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2025, 11, 31, 23, 59, 59, 500), ...Array.from({ length: 300 }, () => from + Math.floor(random() * 7 * 365 * 86_400_000))];
    try {
      for (const expression of ['* * * * * *', '*/15 * * * * *', '0 */5 8-18 * * 1-5', '30 2 * * sun', '0 0 L * *', '0 0 29 2 *', '0 0 12 15W * *']) {
        const [a, b] = [original(expression, () => {}, { timezone: 'UTC' }), rewritten(expression, () => {}, { timezone: 'UTC' })];
        formats.mockClear();
        const seen = dates.map((ms) => [b.match(new Date(ms)), b.timeMatcher.getNextMatch(new Date(ms)).toISOString()]);
        expect(formats).not.toHaveBeenCalled();
        expect(seen, expression).toEqual(dates.map((ms) => [a.match(new Date(ms)), a.timeMatcher.getNextMatch(new Date(ms)).toISOString()]));
      }
      // Another zone still goes through Intl.
      formats.mockClear();
      rewritten('0 30 4 * * *', () => {}, { timezone: 'Europe/Berlin' }).timeMatcher.getNextMatch(new Date(from));
      expect(formats).toHaveBeenCalled();
    } finally {
      formats.mockRestore();
    }
  });
});
