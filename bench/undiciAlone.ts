// The HTTP client's own ceiling, for bench/run.ts: undici's dispatcher API with the least a poll needs (the
// body's chunks collected, joined and parsed as JSON), `--concurrency` requests in flight on the same paths
// and with the same headers as the daemon's polls, for `--seconds` after as many of warm-up. It runs as a
// process of its own, as the daemon does, and prints one JSON line: requests per second, and this process's
// CPU time per request. With `--passes` it polls as the daemon does instead of without a pause: every watch
// once, from the start of each second, then idle until the next, for WARM_UP_PASSES and MEASURED_PASSES passes
// (`--seconds` is for the steady run); its rate is within the measured passes, here from the client's side
// (first request sent to last answer read): bench/run.ts takes the server's view of the same passes instead,
// as it takes the daemon's. A rough split, not an exact one: the daemon parses only an answer whose sha256
// changed; but what the daemon spends per poll beyond this is its own work, not the client's.
// Any answer but 200, or a failed request, ends the run with an error.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Agent, type Dispatcher } from 'undici';
import { tuneV8ForDaemon } from '../src/cli/daemonV8.ts';
import { MEASURED_PASSES, POLL_HEADERS, WARM_UP_PASSES, actionPath } from './polls.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    watches: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '64' },
    passes: { type: 'boolean', default: false },
  },
});
const origin = new URL(values.url!).origin;
const watches = Number(values.watches);
const concurrency = Number(values.concurrency);
// The daemon's V8 settings, before the first connection compiles undici's parser: the CPU figures compare.
tuneV8ForDaemon();
const agent = new Agent({ connections: concurrency });

function get(path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // undici checks that each of the four is a function.
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => undefined,
      onResponseStart: (controller, status) => {
        if (status !== 200) controller.abort(new Error(`${path} answered ${status}: the yardstick measures answers the daemon would read`));
      },
      onResponseData: (_controller, chunk) => void chunks.push(chunk),
      onResponseEnd: () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))),
      onResponseError: (_controller, err) => reject(err),
    };
    agent.dispatch({ origin, path, method: 'GET', headers: POLL_HEADERS }, handler);
  });
}

/** `concurrency` requests in flight, each taking the next path, until there is none. */
async function drive(nextPath: () => string | undefined): Promise<void> {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let path = nextPath(); path !== undefined; path = nextPath()) await get(path);
    }),
  );
}

let sent = 0;
let cpuBefore = process.cpuUsage();
/** Time spent making `sent` requests: in passes, within them, the warm-up's left out as the daemon's are. */
let busyMs = 0;
if (values.passes) {
  for (let pass = 0; pass < WARM_UP_PASSES + MEASURED_PASSES; pass++) {
    if (pass > 0) await sleep(1000 - (Date.now() % 1000));
    const passStart = performance.now();
    let next = 0;
    await drive(() => (next < watches ? actionPath(next++) : undefined));
    if (pass < WARM_UP_PASSES) cpuBefore = process.cpuUsage();
    else {
      busyMs += performance.now() - passStart;
      sent += watches;
    }
  }
} else {
  const run = (seconds: number) => {
    const end = performance.now() + seconds * 1000;
    return drive(() => (performance.now() < end ? actionPath(sent++ % watches) : undefined));
  };
  // As long a warm-up first, left out as the daemon's warm-up passes and autocannon's warm-up are: a fresh
  // process's first second took 2-7 times the CPU a request of the seconds after it (58-283 µs against 35-55).
  await run(Number(values.seconds));
  sent = 0;
  cpuBefore = process.cpuUsage();
  const started = performance.now();
  await run(Number(values.seconds));
  busyMs = performance.now() - started;
}
const cpu = process.cpuUsage(cpuBefore);
await agent.close();
process.stdout.write(`${JSON.stringify({ perS: sent / (busyMs / 1000), cpuPerRequestUs: (cpu.user + cpu.system) / sent })}\n`);
