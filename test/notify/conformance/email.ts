import { startMailSink } from '../../../src/sinks/mailSink.ts';
import { closedPort } from '../../../scripts/closedPort.ts';
import type { ConformanceReceiver, ReceiverMode } from './receiver.ts';

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

export async function startReceiver(): Promise<ConformanceReceiver> {
  let mode: ReceiverMode = 'accept';
  const ids: string[] = [];
  const secrets = ['smtp-password-of-the-suite'];
  const sent = new Set<string>();
  const sink = await startMailSink({
    smtp: {
      allowInsecureAuth: true,
      // A server that quotes what it was sent quotes the login first.
      onAuth(auth, _session, callback) {
        // The login as it came on the wire: PLAIN's user and password in one base64 line, LOGIN's password in its own.
        const login = [Buffer.from(`\0${auth.username ?? ''}\0${auth.password ?? ''}`).toString('base64'), Buffer.from(auth.password ?? '').toString('base64')];
        for (const credential of login) sent.add(credential);
        if (mode === 'quote') callback(smtpError(`authentication refused for ${login.join(' ')} ${auth.username ?? ''} ${auth.password ?? ''}`, 535));
        else callback(null, { user: auth.username });
      },
      onData(stream, _session, callback) {
        let raw = '';
        stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
        stream.on('end', () => {
          ids.push(/^message-id:\s*(\S+)/im.exec(raw)?.[1] ?? '');
          if (mode === 'accept') callback();
          else if (mode === 'later') callback(smtpError('Mailbox busy, try later', 451));
          else if (mode !== 'silent') callback(smtpError(`Message refused: ${raw}`, 550));
        });
      },
    },
  });
  const entry = (port: number) => ({
    type: 'email',
    smtp: { host: '127.0.0.1', port, user: 'mailer', password: secrets[0], timeout: '60s' },
    from: 'ecs-watch@example.com',
    to: ['ops@example.com'],
  });
  return {
    config: entry(sink.port),
    secrets,
    get sent() {
      return [...sent];
    },
    configWhenDown: entry(await closedPort()),
    ids,
    answer: (next) => (mode = next),
    close: () => sink.close(),
  };
}
