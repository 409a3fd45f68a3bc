// The HTTP client's own ceiling, for bench/run.ts: undici's dispatcher API with the least a poll needs (the
// body's chunks collected, joined and parsed as JSON), `--concurrency` requests in flight on the same paths as
// the daemon's polls, for `--seconds`. It runs as a process of its own, as the daemon and autocannon do, and
// prints one JSON line: requests per second over the whole run, and this process's CPU time per request.
// The gap between this and the daemon's sweep is the daemon's own work per poll; between this and
// autocannon, undici's.
import { parseArgs } from 'node:util';
import { Agent, type Dispatcher } from 'undici';

const { values } = parseArgs({
  options: { url: { type: 'string' }, watches: { type: 'string' }, seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '64' }, project: { type: 'string' } },
});
const origin = new URL(values.url!).origin;
const watches = Number(values.watches);
const concurrency = Number(values.concurrency);
const agent = new Agent({ connections: concurrency });
const headers = { accept: 'application/json', 'x-openstack-nova-api-version': '2.60' };

function get(path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // undici checks that each of the four is a function.
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => undefined,
      onResponseStart: () => undefined,
      onResponseData: (_controller, chunk) => void chunks.push(chunk),
      onResponseEnd: () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))),
      onResponseError: (_controller, err) => reject(err),
    };
    agent.dispatch({ origin, path, method: 'GET', headers }, handler);
  });
}

let sent = 0;
const end = performance.now() + Number(values.seconds) * 1000;
const cpuBefore = process.cpuUsage();
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const n = sent++ % watches;
      await get(`/v2.1/${values.project}/servers/srv-${n}/os-instance-actions/req-${n}`);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await agent.close();
process.stdout.write(`${JSON.stringify({ perS: sent / seconds, cpuPerRequestUs: (cpu.user + cpu.system) / sent })}\n`);
