// `npm run bundle` (part of `npm run build`): the command line as ES modules in dist/, with every
// production dependency inside: dist/ecs-action-watch.mjs, the entry, and dist/chunks/, what the commands
// load when they run. It is what the container image ships and what bin/ runs when it is newer than the
// sources: a few files to read and compile (with Node's compile cache) instead of hundreds of modules and
// their type stripping. Split at the command registry's import()s, so that `--help` reads 6 KB rather than
// 1.9 MB, `validate` no HTTP client and `run` no simulator (--help 30 ms sooner than from one file).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtinsRequired, REQUIRE_BANNER } from './builtinsRequired.ts';
import { REQUIRED_LAZILY, REWRITTEN } from './bundleRules.ts';
import { rewriteSources } from './rewriteSources.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join(ROOT, 'dist'));

// Chunk names carry a hash of their content: the chunks of an earlier build would stay beside the new ones.
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [{ in: join(ROOT, 'src', 'cli', 'main.ts'), out: 'ecs-action-watch' }],
  outdir,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22.19',
  // The demo's mail sink is a dev dependency: left to resolve at run time, where `demo` says it is missing.
  external: ['smtp-server'],
  // Whitespace and syntax minified, identifiers not: functions and classes keep the names of the sources,
  // which stack traces and error names show, without esbuild's keepNames (a name that two bundled modules
  // share gets a digit, `poll2` in a stack trace; no error class is among them). keepNames gives the names
  // back by calling Object.defineProperty on each function and class as it is created, closures included: 3
  // calls a poll in the daemon (counted), each giving a fresh closure a property of its own. Against the
  // minified build with keepNames, in interleaved runs of 16 s of polling (the image's settings), the CPU
  // per poll was lower in each of 9 pairs (81-116 against 83-127 us at 1,000 watches, 71-80 against 75-100
  // at 2,000, 60-93 against 62-99 at 10,000), with fewer full collections and peaks 0-3 MB lower; the
  // one-shot commands took as long (`check` of one watch 0.27-0.28 against 0.29 s through bin/, medians of
  // 9). The bundle is 1.9 MB instead of 1.5 MB.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  banner: { js: REQUIRE_BANNER },
  plugins: [builtinsRequired(REQUIRED_LAZILY), rewriteSources(REWRITTEN)],
  logLevel: 'warning',
});
