#!/usr/bin/env node
// `npx ecs-action-watch`: the bundle that `npm run build` makes (dist/ecs-action-watch.mjs), compiled once
// into Node's compile cache, when it is newer than every source file; else the TypeScript sources, so
// that an edit is never hidden behind an old build. Production starts the bundle directly (Dockerfile).
// Node's modules are taken with process.getBuiltinModule() rather than imported: an ES import of
// `node:fs` builds a facade of all its exports, and reading them loads fs/promises, file streams and
// readline, modules no command needs before it runs (and `node:process` reads process.report).

const { process, URL } = globalThis;

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) await onPrivateNode();
else await start();

/**
 * In a checkout, the private Node 24 that `npm run demo` and `npm test` run on (scripts/node24.mjs fetches
 * it into .node/ once, and says so) runs the command, so that the README's npx commands work on the Node 20
 * that Debian and Ubuntu ship; not under NODE_ENV=production (a service), which exits 2 naming the Node it
 * needs. Elsewhere (a package without the script), the Node it needs is named.
 */
async function onPrivateNode() {
  const { main } = await import(new URL('../scripts/node24.mjs', import.meta.url).href).catch((err) => {
    if (err?.code === 'ERR_MODULE_NOT_FOUND') return {};
    throw err;
  });
  if (main === undefined) {
    process.stderr.write(`ecs-action-watch needs Node.js 22.19 or later (24 is what it is made for); this is ${process.version}\n`);
    process.exit(2);
  }
  const { fileURLToPath } = await import('node:url');
  await main([fileURLToPath(import.meta.url), ...process.argv.slice(2)]).catch((err) => {
    process.stderr.write(`ecs-action-watch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err?.exitCode ?? 1);
  });
}

async function start() {
  // A SIGHUP before the command is known (`systemctl reload` right after a start) would end the process,
  // status 129, which systemd's Restart=on-failure takes for a clean exit: noted here, and handed over as the
  // command begins (src/cli/signals.ts, EARLY_HANGUPS), which reloads at it or ends.
  const early = { came: false, handle: undefined, listener: () => (early.handle ? early.handle() : (early.came = true)) };
  process.on('SIGHUP', early.listener);
  globalThis[Symbol.for('ecs-action-watch.early-hangups')] = early;

  const { existsSync, readdirSync, statSync } = process.getBuiltinModule('node:fs');
  const { enableCompileCache } = process.getBuiltinModule('node:module');
  const { dirname, join } = process.getBuiltinModule('node:path');
  const { fileURLToPath, pathToFileURL } = process.getBuiltinModule('node:url');

  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const bundle = join(root, 'dist', 'ecs-action-watch.mjs');

  function newestSource(dir) {
    let newest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
    }
    return newest;
  }

  const fresh = existsSync(bundle) && (!existsSync(join(root, 'src')) || statSync(bundle).mtimeMs >= newestSource(join(root, 'src')));
  if (fresh) enableCompileCache();
  await import(pathToFileURL(fresh ? bundle : join(root, 'src', 'cli', 'main.ts')).href);
}
