// `npm run bundle` (part of `npm run build`): the command line as ES modules in dist/, with every
// production dependency inside: dist/ecs-action-watch.mjs, the entry, and dist/chunks/, what the commands
// load when they run. It is what the container image ships and what bin/ runs when it is newer than the
// sources: a few files to read and compile (with Node's compile cache) instead of hundreds of modules and
// their type stripping. Split at the command registry's import()s, so that `--help` reads 6 KB rather than
// 1.9 MB, `validate` no HTTP client and `run` no simulator (--help 30 ms sooner than from one file).
import { build, type Plugin } from 'esbuild';
import { createRequire, isBuiltin } from 'node:module';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { rewriteSources, type Rewrites } from './rewriteSources.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join(ROOT, 'dist'));

// Node's modules are required rather than imported: an ES import of `node:http` builds a facade of all
// its exports, and reading them loads Node's own undici for `http.WebSocket`, 100 ms spent on nothing.
// Each is passed on through getters (and setters, for a default import written to) named when bundling,
// and required at the first use of one: a module whose import is not used on a command's path costs
// nothing (`validate` loads no crypto, http or tls for the auth methods it only checks the settings of),
// and the property descriptors of `node:util`, which materialise its lazy exports (worker_threads among
// them), are never asked for. A module that is a function (events, assert, stream) is the import's
// default itself, so it is required as it is.
const requireOnBuild = createRequire(import.meta.url);
// Node's modules that dependencies require() (rather than import) when they load but use only later, if at
// all: their require() calls go through the facade too. `copied` names exports read at load, copied into
// the bundle as they are, so that reading them does not load the module: values taken from the Node that
// builds, so only constants that every supported Node has alike.
// - http2: undici's HTTP/2 client reads its constants (header names, error codes) at load, which loaded
//   node:http2, and through it node:tls, into every process that makes a request, although a connection
//   uses HTTP/2 only where TLS negotiates it: 12 ms and 6 MB on top of TLS, and TLS too for an http://
//   endpoint. http2 now loads at its first connect().
const REQUIRED_LAZILY: Record<string, { copied: string[] }> = {
  'node:http2': { copied: ['constants'] },
};
const builtinsRequired: Plugin = {
  name: 'builtins-required',
  setup(b) {
    // `events` as well as `node:events`: some dependencies name Node's modules without the prefix.
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      const path = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      const facade = args.namespace !== 'builtin' && (args.kind === 'import-statement' || Object.hasOwn(REQUIRED_LAZILY, path));
      return facade ? { path, namespace: 'builtin' } : { path, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const id = JSON.stringify(args.path);
      const module: unknown = requireOnBuild(args.path);
      const copied = REQUIRED_LAZILY[args.path]?.copied ?? [];
      if (typeof module === 'function') {
        if (copied.length > 0) throw new Error(`${args.path} is a function: the bundle cannot copy its ${copied.join(', ')}`);
        return { contents: `module.exports = require(${id});`, loader: 'js' };
      }
      const names = JSON.stringify(Object.getOwnPropertyNames(module).filter((k) => !copied.includes(k)));
      const copies = Object.fromEntries(copied.map((k) => [k, (module as Record<string, unknown>)[k]]));
      // Written into the bundle as JSON: a function, a symbol or undefined would be lost on the way.
      for (const [k, v] of Object.entries(copies)) {
        if (!isDeepStrictEqual(JSON.parse(JSON.stringify(v) ?? 'null'), v)) throw new Error(`${args.path}'s ${k} is not plain data: the bundle cannot copy it`);
      }
      const contents = [
        `let m;`,
        `const load = () => (m ??= require(${id}));`,
        'const through = (k) => ({ get: () => load()[k], set: (v) => { load()[k] = v; }, enumerable: true });',
        `module.exports = Object.defineProperties(${JSON.stringify(copies)}, Object.fromEntries(${names}.map((k) => [k, through(k)])));`,
      ].join('\n');
      return { contents, loader: 'js' };
    });
  },
};

// Dependencies' lines that load a Node module at their own load for a value used only later, rewritten as
// they are bundled to require it at that use (./rewriteSources.ts: a text not found once stops the build).
// - node:http: undici reads http.IncomingMessage (for one comparison in destroy()) and http.maxHeaderSize
//   (the default of an option our pools always give, src/net/dispatcher.ts) as its modules load. Node's
//   HTTP client and server, of which undici uses nothing else, were then loaded into every process that
//   makes a request: `check` of one watch took 0.95 of its time and 1 MB less without them.
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
  plugins: [builtinsRequired, rewriteSources(REWRITTEN)],
  logLevel: 'warning',
});
