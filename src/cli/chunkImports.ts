/**
 * Resolves the bundle's imports of its own chunks (`./chunk-X.mjs`, `./chunks/check-Y.mjs`) as the URLs
 * they name, without Node's ESM resolver, which checks for each import of each chunk that the file exists,
 * takes its real path and turns the URL into a path and back: `check` of one watch resolves 266, and that
 * was 6 % of its CPU, and of a daemon's to its first poll (docs/performance.md, One-shot commands). The
 * chunks are files beside the entry, written by scripts/bundle.ts, so the URL is the one the resolver would
 * give. Only for imports from the bundle's folder, where `entryUrl` is its entry: from the TypeScript
 * sources (bin/ on a stale build) nothing changes. A command's chunks are imported after this is called
 * (the command registry's import()s); the entry's own are resolved before it runs.
 */
export function resolveChunksDirectly(entryUrl: string): void {
  if (!entryUrl.endsWith('.mjs')) return;
  const folder = new URL('.', entryUrl).href;
  process.getBuiltinModule('node:module').registerHooks({
    resolve: (specifier, context, nextResolve) =>
      specifier.startsWith('./') && specifier.endsWith('.mjs') && context.parentURL?.startsWith(folder) === true
        ? { url: new URL(specifier, context.parentURL).href, format: 'module', shortCircuit: true }
        : nextResolve(specifier, context),
  });
}
