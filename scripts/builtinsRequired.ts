// An esbuild plugin: how the bundle (scripts/bundle.ts) takes Node's own modules.
//
// Node's modules are required rather than imported: an ES import of `node:http` builds a facade of all
// its exports, and reading them loads Node's own undici for `http.WebSocket`, 100 ms spent on nothing.
// Each is passed on through getters (and setters, for a default import written to) named when bundling,
// and required at the first use of one: a module whose import is not used on a command's path costs
// nothing (`validate` loads no crypto, http or tls for the auth methods it only checks the settings of),
// and the property descriptors of `node:util`, which materialise its lazy exports (worker_threads among
// them), are never asked for. A module that is a function (events, assert, stream) is the import's
// default itself, so it is required as it is, unless it has a stand-in (below).
import type { Plugin } from 'esbuild';
import { createRequire, isBuiltin } from 'node:module';
import { isDeepStrictEqual } from 'node:util';

/**
 * Node's modules that dependencies require() (rather than import) when they load but use only later, if at
 * all: their require() calls go through the getters too.
 * - `copied` names exports read at load, copied into the bundle as they are, so that reading them does not
 *   load the module: values taken from the Node that builds, so only constants that every supported Node
 *   has alike.
 * - `standIn` is for a module that is a function the dependencies call: the source of a function that stands
 *   for it, which may call `load()` for the module itself. The module's properties go through to it.
 */
export type RequiredLazily = Record<string, { copied?: readonly string[]; standIn?: string }>;

/**
 * The banner each chunk of the bundle starts with. CommonJS dependencies (pino, undici, nodemailer) require
 * Node's modules, and so does the code this plugin writes; an ES module has no require. In every chunk:
 * each of them may be the first to need it.
 */
export const REQUIRE_BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** A function's properties that are the stand-in's own, not the module's. */
const FUNCTION_PROPERTIES = ['length', 'name', 'prototype'];

export function builtinsRequired(requiredLazily: RequiredLazily): Plugin {
  const requireOnBuild = createRequire(import.meta.url);
  return {
    name: 'builtins-required',
    setup(b) {
      // `events` as well as `node:events`: some dependencies name Node's modules without the prefix.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (!isBuiltin(args.path)) return undefined;
        const path = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
        const facade = args.namespace !== 'builtin' && (args.kind === 'import-statement' || Object.hasOwn(requiredLazily, path));
        return facade ? { path, namespace: 'builtin' } : { path, external: true };
      });
      b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
        const id = JSON.stringify(args.path);
        const module: unknown = requireOnBuild(args.path);
        const { copied = [], standIn } = requiredLazily[args.path] ?? {};
        const isFunction = typeof module === 'function';
        if (isFunction && copied.length > 0) throw new Error(`${args.path} is a function: the bundle cannot copy its ${copied.join(', ')}`);
        if (!isFunction && standIn !== undefined) throw new Error(`${args.path} is not a function: nothing calls it, so it needs no stand-in`);
        if (isFunction && standIn === undefined) return { contents: `module.exports = require(${id});`, loader: 'js' };
        const own = Object.getOwnPropertyNames(module).filter((k) => !(isFunction && FUNCTION_PROPERTIES.includes(k)));
        const names = JSON.stringify(own.filter((k) => !copied.includes(k)));
        const copies = Object.fromEntries(copied.map((k) => [k, (module as Record<string, unknown>)[k]]));
        // Written into the bundle as JSON: a function, a symbol or undefined would be lost on the way.
        for (const [k, v] of Object.entries(copies)) {
          if (!isDeepStrictEqual(JSON.parse(JSON.stringify(v) ?? 'null'), v)) throw new Error(`${args.path}'s ${k} is not plain data: the bundle cannot copy it`);
        }
        const contents = [
          `let m;`,
          `const load = () => (m ??= require(${id}));`,
          'const through = (k) => ({ get: () => load()[k], set: (v) => { load()[k] = v; }, enumerable: true });',
          `module.exports = Object.defineProperties(${standIn ?? JSON.stringify(copies)}, Object.fromEntries(${names}.map((k) => [k, through(k)])));`,
        ].join('\n');
        return { contents, loader: 'js' };
      });
    },
  };
}
