#!/usr/bin/env node
// The entry point: bundled into dist/ecs-action-watch.mjs for the image, run through bin/ by systemd and `npx ecs-action-watch`.
import { runCli } from './cli.ts';
import { commands } from './commands/index.ts';

// A one-shot command allocates in one burst and exits: on the way V8 would double its young generation
// up to 2 × 16 MiB, a third of the command's peak memory for no gain in speed (`validate` of 10,000
// watches: 174 MB instead of 115 MB, the same CPU). The daemon's is set for its steady load by NODE_OPTIONS
// (the Dockerfile's --max-semi-space-size). The growth factor is read at each collection, so it can be
// set once the process runs. Not for `--help` or an unknown command: loading node:v8 would be a tenth of their time.
const [name, ...rest] = process.argv.slice(2);
if (name !== undefined && name !== 'run' && Object.hasOwn(commands, name) && !rest.some((arg) => arg === '--help' || arg === '-h')) {
  process.getBuiltinModule('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
}

const stop = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (stop.signal.aborted) {
    // A second signal: the operator does not want to wait for a clean stop.
    process.stderr.write(`ecs-action-watch: second ${signal}, exiting now\n`);
    process.exit(130);
  }
  stop.abort(signal);
};
// Node as PID 1 ignores signals it does not handle, so both are handled explicitly.
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: stop.signal }).then(
  // Exit explicitly rather than waiting for the event loop: a stray keep-alive socket must not keep us up.
  (code) => process.exit(code),
  // runCli reports a command's errors itself; this is a bug in the command line, so show the stack.
  (err: unknown) => {
    process.stderr.write(`ecs-action-watch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
