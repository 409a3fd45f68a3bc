// `npm run bundle` (part of `npm run build`): the command line as one ES module, dist/ecs-action-watch.mjs,
// with every production dependency inside. It is what the container image ships and what bin/ runs
// when it is newer than the sources: one file to read and compile (with Node's compile cache) instead of
// hundreds of modules and their type stripping, so that a one-shot command starts at once.
import { build, type Plugin } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join('dist', 'ecs-action-watch.mjs');

const { values } = parseArgs({ options: { outfile: { type: 'string' } } });

// Node's modules are required rather than imported: an ES import of `node:http` builds a facade of all
// its exports, and reading them loads Node's own undici for `http.WebSocket`, 100 ms spent on nothing.
const builtinsRequired: Plugin = {
  name: 'builtins-required',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' && args.namespace !== 'builtin' ? { path: args.path, namespace: 'builtin' } : { path: args.path, external: true },
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

await build({
  entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
  outfile: resolve(values.outfile ?? join(ROOT, BUNDLE)),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22.19',
  // The demo's mail sink is a dev dependency: left to resolve at run time, where `demo` says it is missing.
  external: ['smtp-server'],
  // Minified (2.4 MB -> 1.7 MB: less to read, hold and compile at every start; --help 10-30 ms sooner and
  // 2 MB smaller). keepNames gives every function and class its name from the sources, which is what
  // stack traces and error names show.
  minify: true,
  keepNames: true,
  legalComments: 'none',
  // CommonJS dependencies (pino, undici, nodemailer) require Node's modules; an ES module has no require.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [builtinsRequired],
  logLevel: 'warning',
});
