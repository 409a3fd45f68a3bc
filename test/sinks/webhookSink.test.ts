// The webhook receiver of the demo, the simulator command and the tests: it answers as a receiver would
// what is not a webhook for it, so that a notifier pointed at a wrong path is told so.
import { Client } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { describeWebhook } from '../../src/cli/sandbox.ts';
import { startWebhookSink, type WebhookSink } from '../../src/sinks/webhookSink.ts';

let sink: WebhookSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

const post = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

it('answers 404 at any other path, saying where it receives, and keeps nothing of it', async () => {
  sink = await startWebhookSink();
  const wrong = sink.url.replace('/hooks/ecs', '/hooks/nope');
  const res = await post(wrong, '{"type":"ecs.watch.test"}');
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: 'no webhook receiver at /hooks/nope: this one receives at /hooks/ecs' });
  expect(sink.received).toEqual([]);
});

it('answers 400 to a body that is not JSON, keeps it, and describes it as such', async () => {
  sink = await startWebhookSink();
  const res = await post(sink.url, 'not json');
  expect(res.status).toBe(400);
  expect(sink.received).toMatchObject([{ raw: 'not json', body: null, status: 400 }]);
  expect(describeWebhook(sink.received[0]!)).toBe('a body that is not JSON (8 characters), answered 400 (webhook-id undefined, signed: no)');
  expect((await post(`${sink.url}?x=1`, '{"type":"ecs.watch.test"}')).status).toBe(204);
  expect(describeWebhook(sink.received[1]!)).toBe('ecs.watch.test (webhook-id undefined, signed: no)');
});

it('answers the statuses it was told to fail with in order, with Retry-After: 0, then its standing answer, and numbers the connection they came on', async () => {
  sink = await startWebhookSink();
  sink.failNext(503, 500);
  // A client of one connection, kept alive: it brings all three.
  const client = new Client(new URL(sink.url).origin);
  try {
    const answers: Array<[number, unknown]> = [];
    for (let i = 0; i < 3; i++) {
      const res = await client.request({ method: 'POST', path: '/hooks/ecs', headers: { 'content-type': 'application/json' }, body: '{"type":"ecs.watch.test"}' });
      await res.body.dump();
      answers.push([res.statusCode, res.headers['retry-after']]);
    }
    expect(answers).toEqual([[503, '0'], [500, '0'], [204, undefined]]);
    expect(sink.received.map((hook) => [hook.status, hook.connection])).toEqual([[503, 1], [500, 1], [204, 1]]);
  } finally {
    await client.close();
  }
});
