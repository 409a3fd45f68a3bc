import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ConnectionNumbers } from './connectionNumbers.ts';
import { listenOn } from './listen.ts';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  raw: string;
  body: unknown;
  /** The status the sink answered. */
  status: number;
  /** Which connection it came on: 1 for the first that brought a webhook, 2 for the next... */
  connection: number;
}

export interface WebhookSink {
  url: string;
  received: ReceivedWebhook[];
  /** The statuses to answer, in order, before the standing answer again (e.g. [503, 503]). */
  failNext(...statuses: number[]): void;
  /** The standing answer (default 204 at once), e.g. a receiver that is down (503) or slow (delayMs). */
  setAnswer(answer: { status?: number; delayMs?: number }): void;
  close(): Promise<void>;
}

/** Where the sink receives webhooks; any other path is answered 404. */
const HOOK_PATH = '/hooks/ecs';

/** A local webhook receiver on loopback: the demo prints what it gets, tests assert on it. */
export async function startWebhookSink(
  options: { onReceive?: (hook: ReceivedWebhook) => void; port?: number; tls?: { key: string; cert: string } } = {},
): Promise<WebhookSink> {
  const received: ReceivedWebhook[] = [];
  const script: number[] = [];
  let standing = { status: 204, delayMs: 0 };
  const connections = new ConnectionNumbers();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // As a receiver answers a URL it does not serve: a notifier set to a wrong path is told so (notify-test).
      const path = URL.parse(req.url ?? '/', 'http://sink')?.pathname;
      if (path !== HOOK_PATH) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `no webhook receiver at ${path ?? req.url}: this one receives at ${HOOK_PATH}` }));
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        // A sender that posts something other than JSON is what tests want to see, not a crash: kept, and refused.
        body = null;
      }
      const status = body === null ? 400 : (script.shift() ?? standing.status);
      const hook = { headers: req.headers, raw, body, status, connection: connections.of(req.socket) };
      received.push(hook);
      options.onReceive?.(hook);
      const reply = () => {
        // Its Date by the process's clock (Date, which tests may set), as a receiver's Date is its own clock's.
        const date = new Date().toUTCString();
        res.writeHead(status, status >= 400 ? { date, 'retry-after': '0' } : { date });
        res.end();
      };
      if (standing.delayMs > 0) setTimeout(reply, standing.delayMs);
      else reply();
    });
  };
  const server = options.tls === undefined ? createServer(handler) : createTlsServer(options.tls, handler);
  await listenOn(server, options.port ?? 0, 'webhook sink');
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}${HOOK_PATH}`,
    received,
    failNext: (...statuses) => script.push(...statuses),
    setAnswer: ({ status = 204, delayMs = 0 }) => {
      standing = { status, delayMs };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
