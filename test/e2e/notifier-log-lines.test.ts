// The log lines a notifier writes about one watch's notification carry the watch's ids, as the outbox's
// own lines do (a search by request id finds them), and a constant message, the variable parts in fields.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it, onTestFinished } from 'vitest';
import { startMailSink } from '../../src/sinks/mailSink.ts';
import { advance, harnessOnFakeClock, quickAction } from './harness.ts';

const env = harnessOnFakeClock();

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

it('the email notifier\'s `refused some recipients` warn line names the watch, its requestId and serverId, in a constant message', async () => {
  const { h } = env;
  const mail = await startMailSink({
    smtp: {
      onRcptTo(address, _session, callback) {
        callback(address.address.startsWith('nobody@') ? smtpError('No such user', 550) : undefined);
      },
    },
  });
  onTestFinished(() => mail.close());
  const action = quickAction();
  h.simulator.addAction(action);
  const notifiers = [
    '  ops-mail:',
    '    type: email',
    `    smtp: { host: 127.0.0.1, port: ${mail.port}, timeout: 2s }`,
    '    from: ecs-watch@example.com',
    '    to: [ops@example.com, nobody@example.com]',
  ].join('\n');
  const app = await h.app(h.yaml([{ ...action, name: 'db-reboot' }], { notifiers }));
  await advance(app, 3000);
  const refused = h.logs.lines().filter((l) => String(l['msg']).includes('refused some recipients'));
  expect(refused).toHaveLength(1);
  const line = refused[0]!;
  expect(line['notifier']).toBe('ops-mail');
  expect({ watch: line['watch'], requestId: line['requestId'], serverId: line['serverId'] }).toEqual({
    watch: 'db-reboot',
    requestId: action.requestId,
    serverId: action.serverId,
  });
  // Constant text: the SMTP host and port are a field, not part of msg.
  expect(line['msg']).not.toContain(String(mail.port));
});

it('the webhook notifier\'s warn line about a receiver whose clock is off names the watch, its requestId and serverId', async () => {
  const { h } = env;
  // A receiver that checks webhook-timestamp, its clock an hour ahead: it refuses with 400.
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(400, { date: new Date(Date.now() + 3_600_000).toUTCString() });
      res.end('timestamp too old');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const action = quickAction();
  h.simulator.addAction(action);
  const notifiers = `  chat:\n    type: webhook\n    url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const app = await h.app(h.yaml([{ ...action, name: 'db-reboot' }], { notifiers }));
  await advance(app, 3000);
  const skewed = h.logs.lines().filter((l) => String(l['msg']).startsWith('webhook refused by a receiver whose clock'));
  expect(skewed.length).toBeGreaterThan(0);
  expect(skewed[0]!['notifier']).toBe('chat');
  expect({ watch: skewed[0]!['watch'], requestId: skewed[0]!['requestId'], serverId: skewed[0]!['serverId'] }).toEqual({
    watch: 'db-reboot',
    requestId: action.requestId,
    serverId: action.serverId,
  });
});
