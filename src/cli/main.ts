#!/usr/bin/env node
// The entry point: bundled into dist/ecs-action-watch.mjs for the image, run through bin/ by systemd and `npx ecs-action-watch`.
import { resolveChunksDirectly } from './chunkImports.ts';
import { runCli } from './cli.ts';
import { commands } from './commands/index.ts';
import { WASM_BASELINE_ONLY } from './daemonV8.ts';
import { endAtHangups, holdHangups, signalExitStatus } from './signals.ts';

resolveChunksDirectly(import.meta.url);

// V8's settings for a command that runs in one burst, every command but those that run until stopped
// (`longRunning`: the daemon's are set for its steady load in daemonV8.ts and by NODE_OPTIONS'
// --max-semi-space-size in the Dockerfile). `wait` may poll for hours, but one request every few seconds,
// and `demo` runs a daemon of eight watches for about ten seconds. V8 reads each setting when it is
// needed (the growth factor at each collection, the compiler when a function is due for optimisation,
// laziness when a module is compiled), so they can be set once the process runs. Not for `--help` or an
// unknown command: loading node:v8 would be a tenth of their time.
// - The young generation keeps its first size: V8 would double it up to 2 × 16 MiB on the way, a third of
//   the command's peak memory for no gain in speed (`validate` of 10,000 watches: 174 MB instead of 115 MB,
//   the same CPU).
// - No TurboFan: its compiles, in the background, of functions that will have run their last by the time
//   the code is ready, take memory that the command's peak counts. `check` of one watch peaks 6-7 MB lower
//   (70.6 against 77.2 MB, the same 0.31-0.32 s); `validate` of 10,000 watches 0.82 s, 110 MB against 0.85
//   s, 118 MB; `check` of 10,000 watches 2.62-2.65 s against 2.66-2.81 s. Maglev stays: without it too,
//   `validate` of 10,000 watches takes 1.7 times as long (9 interleaved pairs) and `check` of 10,000 took
//   45-55 % longer.
// - WebAssembly in V8's baseline compiler only, as for the daemon (daemonV8.ts): a few answers are enough
//   for V8 to recompile undici's HTTP parser with its optimising compiler, 22 MB of malloc. `check` of an
//   action whose events have finished reads it, the server, the action again and the migrations: 93.5 MB
//   at its peak against 71 MB with the flags, as long (6 interleaved runs: 0.23-0.34 against 0.19-0.29 s);
//   of an action that one read judges, 70 MB either way. `wait` polls on for minutes.
// - With the compile cache on (bin/ turns it on for the bundle), every function of the command's module and
//   of the modules it imports is compiled with the module (`--no-lazy`) rather than at its first call, and
//   V8 is lazy again once they are loaded. Node's compile cache keeps the code V8 made when it compiled a
//   module, not what it compiles later, so each run compiled the yaml parser, zod's checks and the watch
//   file's schema again at their first use. With the cache warm, in interleaved pairs: `validate` of one
//   watch 0.86-0.89 of the time, `check` 0.91, for 2 MB more at the peak (58.8 against 56.9 MB, 68.0
//   against 66.4). What loads later (undici, pino) stays lazy: compiled whole too, it took `check` to 71 MB,
//   over its 70 MB target. Without the cache every run would compile what it never calls. The first run
//   after a build, which fills the cache, takes about 9 % longer. V8 refuses a code cache made under other
//   flags, so a chunk that one command loads with its module and another only later is compiled again when
//   the two alternate (a few small chunks, such as the delivery ids' that `wait` loads with its module and
//   `check` later); `run` and the one-shot commands refuse each other's anyway (their flags differ).
const ONE_SHOT_V8_FLAGS = ['--semi-space-growth-factor=1', '--no-turbofan', ...WASM_BASELINE_ONLY];
const [name, ...rest] = process.argv.slice(2);
const oneShot = name !== undefined && Object.hasOwn(commands, name) && commands[name]!.longRunning !== true && !rest.some((arg) => arg === '--help' || arg === '-h');
const eagerWhileLoading = oneShot && process.getBuiltinModule('node:module').getCompileCacheDir() !== undefined;
const setV8Flags = (flags: string[]) => {
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  for (const flag of flags) setFlagsFromString(flag);
};
if (oneShot) setV8Flags(eagerWhileLoading ? [...ONE_SHOT_V8_FLAGS, '--no-lazy'] : ONE_SHOT_V8_FLAGS);

const stop = new AbortController();
// A wrapper that passes on a signal its process group got too (scripts/node24.mjs on an old Node, a shell
// script that traps and forwards) delivers it twice within milliseconds: the same signal again within this
// window is that one, not an operator's second.
const SAME_SIGNAL_MS = 200;
let first: { signal: NodeJS.Signals; at: number } | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  if (stop.signal.aborted) {
    if (first?.signal === signal && performance.now() - first.at < SAME_SIGNAL_MS) return;
    // A second signal: the operator does not want to wait for a clean stop.
    process.stderr.write(`ecs-action-watch: second ${signal}, exiting now\n`);
    process.exit(signal === 'SIGTERM' ? 143 : 130);
  }
  first = { signal, at: performance.now() };
  stop.abort(signal);
};
// Node as PID 1 ignores signals it does not handle, so both are handled explicitly.
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
// A command that runs until stopped outlives SIGHUP, whose default action (status 129) systemd's
// Restart=on-failure takes for a clean exit; a one-shot command ends at a hangup (its terminal gone).
if (name !== undefined && Object.hasOwn(commands, name) && commands[name]!.longRunning === true) holdHangups();
else endAtHangups();

// A reader that has gone (`wait ... | true`, `check | head` past the pipe's buffer) makes a write fail with
// EPIPE, which Node raises as an unhandled 'error' event: a stack trace and status 1, whatever the action's
// outcome. What is left to write has nowhere to go; the exit status stays the command's.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const commandLoaded = eagerWhileLoading ? () => setV8Flags(['--lazy']) : undefined;

/**
 * Resolves once what was written to `stream` has left the process (true), or at a signal (false). On a
 * pipe (`check --json | jq`) Node writes asynchronously, and what the pipe could not take yet (beyond its
 * 64 KiB) is queued in the process: process.exit() would drop it, cutting the JSON short with the
 * command's status unchanged. A reader that never reads is waited for as any writer waits, until a signal.
 */
function flushed(stream: NodeJS.WriteStream): Promise<boolean> {
  if (stream.destroyed || stream.writableLength === 0 || stop.signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    stream.write('', () => resolve(true));
    stop.signal.addEventListener('abort', () => resolve(false), { once: true });
  });
}
const exit = async (code: number) => {
  const written = await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(written.every(Boolean) ? code : signalExitStatus(stop.signal));
};

runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: stop.signal, commandLoaded }).then(
  // Exit explicitly rather than waiting for the event loop: a stray keep-alive socket must not keep us up.
  (code) => exit(code),
  // runCli reports a command's errors itself; this is a bug in the command line, so show the stack.
  (err: unknown) => {
    process.stderr.write(`ecs-action-watch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return exit(1);
  },
);
