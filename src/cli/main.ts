#!/usr/bin/env node
// The entry point: `node src/cli/main.ts` in production (Dockerfile, systemd), `npx ecs-action-watch` by hand.
import { runCli } from './cli.ts';

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
  (err: unknown) => {
    // Operators get the message, which says what to fix; the stack only when they asked for detail.
    const verbose = ['debug', 'trace'].includes(process.env['LOG_LEVEL'] ?? '');
    const text = err instanceof Error ? (verbose ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`ecs-action-watch: ${text}\n`);
    process.exit(1);
  },
);
