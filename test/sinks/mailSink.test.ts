// The mail receiver of the demo, the simulator command and the tests: what it says it received (the subject
// that `simulator` prints, the body tests read) is what was sent, however nodemailer encoded it.
import { createTransport } from 'nodemailer';
import { afterEach, expect, it } from 'vitest';
import { startMailSink, type MailSink } from '../../src/sinks/mailSink.ts';

let sink: MailSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

it('decodes a subject and a text that are not ASCII: encoded words, folded over lines, and a base64 body', async () => {
  sink = await startMailSink();
  const transport = createTransport({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
  try {
    // A watch named in Chinese, as Huawei Cloud's users name servers; long enough for several encoded words.
    const subject = '[ecs-action-watch] create failed: 创建 web-01 在 华为云 的 服务器, 一个很长的名字 — résumé';
    const text = '没有找到有效的主机\n'.repeat(8);
    await transport.sendMail({ from: 'ecs-watch@example.com', to: 'ops@example.com', subject, text });
    expect(sink.received[0]!.headers.get('content-transfer-encoding')).toBe('base64');
    expect(sink.received[0]).toMatchObject({ subject, body: text });
  } finally {
    transport.close();
  }
});
