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
import { builtinsRequired, type RequiredLazily } from './builtinsRequired.ts';
import { rewriteSources, type Rewrites } from './rewriteSources.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join(ROOT, 'dist'));

// Node's modules that dependencies require() (rather than import) when they load but use only later, if at
// all (./builtinsRequired.ts, which also says how every import of Node's modules is bundled):
// - http2: undici's HTTP/2 client reads its constants (header names, error codes) at load, which loaded
//   node:http2, and through it node:tls, into every process that makes a request, although a connection
//   uses HTTP/2 only where TLS negotiates it: 12 ms and 6 MB on top of TLS, and TLS too for an http://
//   endpoint. http2 now loads at its first connect().
// - assert: undici calls assert(condition) on its request path (34 of its modules require it at load) and
//   nothing else of it. Node's assert (with its diff and its deep comparisons) loads at the first false
//   condition, which would be a bug of undici's, so never in a sound run: `check` of one watch 0.4 MB
//   less, 0.985 of its time (30 pairs).
const REQUIRED_LAZILY: RequiredLazily = {
  'node:http2': { copied: ['constants'] },
  'node:assert': { standIn: '(...args) => { if (!args[0]) load()(...args); }' },
};

// Dependencies' lines that load a Node module at their own load for a value used only later, rewritten as
// they are bundled to require it at that use (./rewriteSources.ts: a text not found once stops the build).
// - node:http: undici reads http.IncomingMessage (for one comparison in destroy()) and http.maxHeaderSize
//   (the default of an option our pools always give, src/net/dispatcher.ts) as its modules load. Node's
//   HTTP client and server, of which undici uses nothing else, were then loaded into every process that
//   makes a request: `check` of one watch took 0.94 of its time and 0.8 MB less without them (30 pairs).
const REWRITTEN: Rewrites = {
  'undici/lib/core/util.js': [
    ["const { IncomingMessage } = require('node:http')\n", ''],
    ['.constructor === IncomingMessage)', ".constructor === require('node:http').IncomingMessage)"],
  ],
  'undici/lib/dispatcher/client.js': [
    ["const http = require('node:http')\n", ''],
    [
      [
        'const getDefaultNodeMaxHeaderSize = http &&',
        '  http.maxHeaderSize &&',
        '  Number.isInteger(http.maxHeaderSize) &&',
        '  http.maxHeaderSize > 0',
        '  ? () => http.maxHeaderSize',
        "  : () => { throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid') }",
      ].join('\n'),
      [
        'const getDefaultNodeMaxHeaderSize = () => {',
        "  const http = require('node:http')",
        '  if (http && Number.isInteger(http.maxHeaderSize) && http.maxHeaderSize > 0) return http.maxHeaderSize',
        "  throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid')",
        '}',
      ].join('\n'),
    ],
  ],
};

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
  // CommonJS dependencies (pino, undici, nodemailer) require Node's modules; an ES module has no require.
  // (In every chunk: each of them may be the first to need it.)
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [builtinsRequired(REQUIRED_LAZILY), rewriteSources(REWRITTEN)],
  logLevel: 'warning',
});
