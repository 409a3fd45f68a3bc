import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { closedPort } from '../../../scripts/closedPort.ts';
import type { ConformanceReceiver, ReceiverMode } from './receiver.ts';

const ANSWERS: Record<Exclude<ReceiverMode, 'silent'>, (req: IncomingMessage, body: string, res: ServerResponse) => void> = {
  accept: (_req, _body, res) => res.writeHead(204).end(),
  later: (_req, _body, res) => res.writeHead(503, { 'retry-after': '0' }).end('try again later'),
  refuse: (_req, _body, res) => res.writeHead(400).end('bad request'),
  quote: (req, body, res) =>
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`refused: ${credentials(req).join(' ')} ${req.url} ${JSON.stringify(req.headers)} ${body}`),
};

/** What the notifier made of its secrets: the Authorization header, the signature, and that's MAC alone. */
function credentials(req: IncomingMessage): string[] {
  const signature = String(req.headers['webhook-signature']);
  return [String(req.headers.authorization), signature, signature.slice('v1,'.length)];
}

export async function startReceiver(): Promise<ConformanceReceiver> {
  let mode: ReceiverMode = 'accept';
  const ids: string[] = [];
  const sent = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      ids.push(String(req.headers['webhook-id']));
      for (const credential of credentials(req)) sent.add(credential);
      if (mode !== 'silent') ANSWERS[mode](req, body, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const secrets = ['whsec_c2lnbmluZy1rZXktb2YtdGhlLXN1aXRl', 'bearer-of-the-suite-0d1e', 'url-password-of-the-suite', 'PathToken0fTheSuite', 'query-token-of-the-suite'];
  const entry = (port: number) => ({
    type: 'webhook',
    // A chat webhook's token is part of its URL: Slack's in the path, DingTalk's in the query.
    url: `http://hooks:${secrets[2]}@127.0.0.1:${port}/hook/${secrets[3]}?access_token=${secrets[4]}`,
    secret: secrets[0],
    headers: { Authorization: `Bearer ${secrets[1]}` },
    timeout: '60s',
  });
  return {
    config: entry((server.address() as AddressInfo).port),
    secrets,
    get sent() {
      return [...sent];
    },
    configWhenDown: entry(await closedPort()),
    ids,
    answer: (next) => (mode = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
