// The HTTP client's own ceiling, for bench/run.ts: undici's dispatcher API with the least a poll needs (the
// body's chunks collected, joined and parsed as JSON), `--concurrency` requests in flight on the same paths and
// with the same headers as the daemon's polls, for `--seconds`. It runs as a process of its own, as the daemon
// does, and prints one JSON line: requests per second over the whole run, and this process's CPU time per
// request. A rough split, not an exact one: the daemon parses only an answer whose sha256 changed, and its
// sweep is a pass's burst where this is a steady rate; but what the daemon spends per poll beyond this is
// its own work, not the client's. Any answer but 200, or a failed request, ends the run with an error.
import { parseArgs } from 'node:util';
import { Agent, type Dispatcher } from 'undici';
import { POLL_HEADERS, actionPath } from './polls.ts';

const { values } = parseArgs({
  options: { url: { type: 'string' }, watches: { type: 'string' }, seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '64' } },
});
const origin = new URL(values.url!).origin;
const watches = Number(values.watches);
const concurrency = Number(values.concurrency);
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

let sent = 0;
const end = performance.now() + Number(values.seconds) * 1000;
const cpuBefore = process.cpuUsage();
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await get(actionPath(sent++ % watches));
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await agent.close();
process.stdout.write(`${JSON.stringify({ perS: sent / seconds, cpuPerRequestUs: (cpu.user + cpu.system) / sent })}\n`);
