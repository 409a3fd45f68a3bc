// A test on fake timers leaves undici's timeouts working for the tests after it in the worker
// (test/undiciTimers.setup.ts).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, expect, it, vi } from 'vitest';

const answering = createServer((_req, res) => res.end('ok'));
const silent = createServer(() => {});
await Promise.all([answering, silent].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
afterAll(async () => {
  silent.closeAllConnections();
  await Promise.all([answering, silent].map((server) => new Promise((resolve) => server.close(resolve))));
});
const url = (server: typeof answering) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

it('makes a request with a timeout of more than a second while setTimeout is faked', async () => {
  vi.useFakeTimers();
  const agent = new Agent({ headersTimeout: 5000 });
  try {
    const answer = await request(url(answering), { dispatcher: agent });
    expect(await answer.body.text()).toBe('ok');
  } finally {
    await agent.close();
    vi.useRealTimers();
  }
});

it('then times out an answer that never comes on the real timers', async () => {
  const agent = new Agent({ headersTimeout: 1100 });
  try {
    await expect(request(url(silent), { dispatcher: agent })).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
  } finally {
    await agent.destroy();
  }
}, 10_000);
