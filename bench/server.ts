// The bench's cloud, in its own process: a Nova-shaped loopback server with `--watches N` actions
// (server srv-<i>, request req-<i>), each a reboot whose one event runs until POST /bench/finish ends
// them all, and a webhook receiver that stamps when each notification arrived. It keeps no request log:
// the daemon and autocannon are measured against the same lean answers. Prints `{"url","hooks"}` once
// listening; SIGTERM stops it. The bench runs a second one as the webhook receiver, in a process of its own.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { BENCH_MICROVERSION, BENCH_PROJECT, BENCH_TOKEN } from './polls.ts';

const { values } = parseArgs({ options: { watches: { type: 'string' } } });
const watches = Number(values.watches ?? 1000);

/** Nova's time format: UTC, microseconds, no zone. */
const novaTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000').slice(0, 26);
// Started now, so that no early warning (poll.warnAfter) fires while the bench runs.
const started = novaTime(Date.now());
let finishedAt: string | null = null;
let finishedAtMs = 0;
let requests = 0;
let firstRequestAt = 0;
/** Passes as the server sees them: runs of requests with no pause longer than BURST_GAP_MS. */
const BURST_GAP_MS = 150;
const bursts: Array<{ start: number; end: number; count: number }> = [];
/** Milliseconds from the verdict (the payload's detectedAt) to the webhook's arrival, one per webhook. */
const latencies: number[] = [];

const versionDoc = JSON.stringify({
  version: { id: 'v2.1', status: 'CURRENT', version: BENCH_MICROVERSION, min_version: '2.1', updated: '2013-07-23T11:33:21Z', links: [] },
});

function actionDoc(serverId: string, requestId: string): string {
  return JSON.stringify({
    instanceAction: {
      action: 'reboot',
      instance_uuid: serverId,
      message: null,
      project_id: BENCH_PROJECT,
      request_id: requestId,
      start_time: started,
      user_id: 'bench-user',
      updated_at: finishedAt ?? started,
      events: [
        {
          event: 'compute_reboot_instance',
          start_time: started,
          finish_time: finishedAt,
          result: finishedAt === null ? null : 'Success',
          host: 'compute-1',
          hostId: 'c3b1c0a3a1d4d1e6f7b5e0c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3',
        },
      ],
    },
  });
}

function serverDoc(serverId: string): string {
  return JSON.stringify({
    server: {
      id: serverId,
      name: `bench-${serverId}`,
      status: 'ACTIVE',
      tenant_id: BENCH_PROJECT,
      hostId: 'c3b1c0a3a1d4d1e6f7b5e0c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3',
      'OS-EXT-STS:task_state': null,
      'OS-EXT-STS:vm_state': 'active',
    },
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const notFound = JSON.stringify({ itemNotFound: { code: 404, message: 'not here' } });
const prefix = `/v2.1/${BENCH_PROJECT}/servers/`;

function count(): void {
  const now = performance.now();
  requests++;
  if (firstRequestAt === 0) firstRequestAt = Date.now();
  const last = bursts.at(-1);
  if (last !== undefined && now - last.end <= BURST_GAP_MS) {
    last.end = now;
    last.count++;
  } else {
    bursts.push({ start: now, end: now, count: 1 });
  }
}

function compute(req: IncomingMessage, res: ServerResponse): void {
  count();
  const path = req.url ?? '/';
  if (path === '/v2.1/' || path === '/v2.1') return send(res, 200, versionDoc);
  if (!path.startsWith(prefix)) return send(res, 404, notFound);
  const [serverId = '', resource, requestId] = path.slice(prefix.length).split('/');
  const index = Number(serverId.slice(4));
  if (!serverId.startsWith('srv-') || !(index >= 0 && index < watches)) return send(res, 404, notFound);
  if (resource === undefined) return send(res, 200, serverDoc(serverId));
  if (resource === 'os-instance-actions' && requestId === `req-${index}`) return send(res, 200, actionDoc(serverId, requestId));
  return send(res, 404, notFound);
}

/**
 * Keystone's password login (`POST /v3/auth/tokens`, for the daemon's `auth: { type: password }`): any
 * credentials get BENCH_TOKEN, valid for a day, in X-Subject-Token as Keystone and Huawei IAM hand it out.
 */
function login(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on('end', () => {
    const now = Date.now();
    const body = JSON.stringify({ token: { issued_at: new Date(now).toISOString(), expires_at: new Date(now + 86_400_000).toISOString(), project: { id: BENCH_PROJECT } } });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-subject-token': BENCH_TOKEN });
    res.end(body);
  });
}

function control(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/bench/finish') {
    finishedAtMs = Date.now();
    finishedAt = novaTime(finishedAtMs);
    return send(res, 200, JSON.stringify({ finishedAtMs }));
  }
  if (req.url === '/bench/stats') return send(res, 200, JSON.stringify({ requests, firstRequestAt, bursts, finishedAtMs, latencies }));
  if (req.url === '/bench/reset') {
    requests = 0;
    firstRequestAt = 0;
    bursts.length = 0;
    latencies.length = 0;
    return send(res, 200, '{}');
  }
  return send(res, 404, notFound);
}

const server = createServer((req, res) => {
  if (req.url?.startsWith('/bench/')) return control(req, res);
  if (req.method === 'POST' && req.url?.split('?')[0] === '/v3/auth/tokens') return login(req, res);
  if (req.url?.startsWith('/hooks')) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const arrived = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; detectedAt: string };
      if (body.type !== 'ecs.action.slow') latencies.push(arrived - Date.parse(body.detectedAt));
      res.writeHead(204);
      res.end();
    });
    return;
  }
  // The request's body (none for a GET) must be read for the connection to be reused.
  req.resume();
  compute(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.stdout.write(`${JSON.stringify({ url, hooks: `${url}/hooks/ecs` })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
