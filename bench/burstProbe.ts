import { Agent, type Dispatcher } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { POLL_HEADERS, actionPath } from './polls.ts';
const url = process.argv[2]!; const watches = Number(process.argv[3]); const passes = Number(process.argv[4] ?? 8);
const origin = new URL(url).origin;
const agent = new Agent({ connections: 64 });
function get(path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    agent.dispatch({ origin, path, method: 'GET', headers: POLL_HEADERS }, {
      onRequestStart: () => undefined, onResponseStart: () => undefined,
      onResponseData: (_c, chunk) => void chunks.push(chunk),
      onResponseEnd: () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))),
      onResponseError: (_c, err) => reject(err),
    } as Dispatcher.DispatchHandler);
  });
}
for (let p = 0; p < passes; p++) {
  const t0 = performance.now(); let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => { while (next < watches) await get(actionPath(next++)); }));
  const ms = performance.now() - t0;
  process.stdout.write(`pass ${p}: ${(watches / ms * 1000).toFixed(0)}/s client view\n`);
  await sleep(1000 - (Date.now() % 1000));
}
const stats = await (await fetch(`${url}/bench/stats`)).json() as { bursts: Array<{ start: number; end: number; count: number }> };
process.stdout.write(`server view: ${stats.bursts.map((b) => (b.count / ((b.end - b.start) / 1000)).toFixed(0)).join(' ')}\n`);
await agent.close();
