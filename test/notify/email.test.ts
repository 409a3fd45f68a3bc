import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import type { SMTPServerOptions } from 'smtp-server';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmailNotifierConfig } from '../../src/notify/email/config.ts';
import { createEmailNotifier, loginNeedsTls } from '../../src/notify/email/email.ts';
import type { Notifier, NotifierDeps } from '../../src/notify/types.ts';
import { TRACEBACK, attempt, everyProperty, failedResize, failure, fleetDigest, largeFleetDigest, silentLogger } from './fixtures.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { startMailSink, type MailSink, type ReceivedMail } from '../../src/sinks/mailSink.ts';
import { makeCertificates } from '../certificates.ts';

type Smtp = { port: number; mails: ReceivedMail[] };

const sinks: MailSink[] = [];
const rawServers: TcpServer[] = [];
const notifiers: Notifier[] = [];

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  for (const s of rawServers.splice(0)) s.close();
});

/** A real SMTP server on loopback (the project's mail sink), with per-test options. */
async function smtpServer(options: Partial<SMTPServerOptions> = {}): Promise<Smtp> {
  const sink = await startMailSink({ smtp: options });
  sinks.push(sink);
  return { port: sink.port, mails: sink.received };
}

/** A server that requires a login, in clear, and takes the ones `accept` says yes to (535 otherwise). */
function loginServer(accept: (user: string, password: string) => boolean): Promise<Smtp> {
  return smtpServer({
    authOptional: false,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (accept(auth.username ?? '', auth.password ?? '')) callback(null, { user: auth.username });
      else callback(smtpError('Authentication failed', 535));
    },
  });
}

/**
 * A real SMTP server that refuses for good (552) a message past `limit` bytes, as a relay does past its
 * size limit; `received` holds each message it took, as it came.
 */
async function sizeLimitedServer(limit: number): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const { port } = await smtpServer({
    size: limit,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) return callback(smtpError('5.3.4 Message size exceeds fixed limit', 552));
        received.push(Buffer.concat(chunks));
        callback();
      });
    },
  });
  return { port, received };
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

function email(port: number, smtp: Partial<EmailNotifierConfig['smtp']> = {}, extra: Partial<EmailNotifierConfig> = {}, deps: Partial<NotifierDeps> = {}): Notifier {
  const notifier = createEmailNotifier(
    'ops-mail',
    {
      type: 'email',
      smtp: { host: '127.0.0.1', port, secure: false, timeout: 2000, connections: 3, ...smtp },
      from: 'ecs-watch@example.com',
      to: ['ops@example.com', 'oncall@example.com'],
      on: ['success', 'failure', 'timeout', 'not_found'],
      ...extra,
    },
    { logger: silentLogger, ...deps },
  );
  notifiers.push(notifier);
  return notifier;
}

describe('email notifier', () => {
  it('sends one message to every recipient with the rendered subject and body', async () => {
    const smtp = await smtpServer();
    const receipt = await email(smtp.port).send(failedResize(), attempt('0123abcd'));
    expect(receipt).toEqual({ answer: expect.stringMatching(/^250 /), refused: [] });

    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail!.from).toBe('ecs-watch@example.com');
    expect(mail!.to).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(mail!.headers.get('to')).toBe('ops@example.com, oncall@example.com');
    expect(mail!.headers.get('subject')).toBe('[ecs-action-watch] resize failed: web-01');
    expect(mail!.headers.get('message-id')).toBe('<0123abcd@ecs-action-watch>');
    expect(mail!.headers.get('x-ecs-watch-request-id')).toBe('req-5a429946-c9cc-45cc-b5bd-68864209e5cc');
    expect(mail!.body).toContain('req-5a429946-c9cc-45cc-b5bd-68864209e5cc');
    expect(mail!.body).toContain('compute_resize_instance: Error, started 2026-11-26T17:50:10.000Z');
    expect(mail!.body).toContain(TRACEBACK.split('\n').at(-1));
  });

  it('shows a watch whose name is written as an encoded word by that name, not by what it decodes to', async () => {
    // Any user of the tenant names a server, and an auto-tracked watch takes its name: mail clients decode an
    // encoded word in a subject, and this one reads `prod-db`, another server.
    const smtp = await smtpServer();
    const named = (name: string) => failedResize({ watch: { ...failedResize().watch, name } });
    const notifier = email(smtp.port);
    const names = ['=?UTF-8?B?cHJvZC1kYg==?=', `wëb =?utf-8?q?prod-db?= ${'ü'.repeat(40)}`];
    for (const name of names) await notifier.send(named(name), attempt());
    expect(smtp.mails.map((m) => m.subject)).toEqual(names.map((name) => `[ecs-action-watch] resize failed: ${name}`));
    // Encoded words of whole characters, one to a line of at most 78 characters (RFC 5322, 2.1.1).
    for (const m of smtp.mails) expect(m.raw.split('\r\n\r\n')[0]!.split('\r\n').every((line) => line.length <= 78)).toBe(true);
  });

  it('uses the same Message-ID on every attempt', async () => {
    const smtp = await smtpServer();
    const notifier = email(smtp.port);
    await notifier.send(failedResize(), attempt('stable-id', 1));
    await notifier.send(failedResize(), attempt('stable-id', 2));
    expect(smtp.mails.map((m) => m.headers.get('message-id'))).toEqual(['<stable-id@ecs-action-watch>', '<stable-id@ecs-action-watch>']);
  });

  it('makes a Message-ID of a delivery id with characters a Message-ID may not hold, the same on every attempt', async () => {
    const smtp = await smtpServer();
    const notifier = email(smtp.port);
    await notifier.send(failedResize(), attempt('nightly run:1@eu/"x"', 1));
    await notifier.send(failedResize(), attempt('nightly run:1@eu/"x"', 2));
    expect(smtp.mails.map((m) => m.headers.get('message-id'))).toEqual(['<nightly_run_1_eu/_x_@ecs-action-watch>', '<nightly_run_1_eu/_x_@ecs-action-watch>']);
  });

  it('sends message after message over at most smtp.connections sessions, which close() ends', async () => {
    let opened = 0;
    let closed = 0;
    const smtp = await smtpServer({
      onConnect: (_session, callback) => {
        opened++;
        callback();
      },
      onClose: () => closed++,
    });
    const notifier = email(smtp.port, { connections: 2 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => notifier.send(failedResize(), attempt(`wave-${i}`))));
    expect(smtp.mails).toHaveLength(6);
    expect(opened).toBe(2);
    expect(closed).toBe(0);
    await notifier.close();
    await expect.poll(() => closed).toBe(2);
  });

  it('logs in with the configured user and password', async () => {
    const logins: string[] = [];
    const smtp = await loginServer((user, password) => {
      logins.push(`${user}:${password}`);
      return password === 'right-password';
    });
    await email(smtp.port, { user: 'mailer', password: 'right-password' }).send(failedResize(), attempt());
    expect(logins).toEqual(['mailer:right-password']);
    expect(smtp.mails).toHaveLength(1);

    const err = await failure(email(smtp.port, { user: 'mailer', password: 'wrong-password' }).send(failedResize(), attempt()));
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(535);
    expect(err.message).toContain(`email ops-mail: 127.0.0.1:${smtp.port} answered 535 Authentication failed`);
    expect(err.message).not.toContain('wrong-password');
    expect(err.message).not.toContain(Buffer.from('\0mailer\0wrong-password').toString('base64'));
  });

  it('sends a login only over TLS, except to a relay at a loopback address', async () => {
    const logins: string[] = [];
    // The sink offers no STARTTLS.
    const smtp = await loginServer((_user, password) => {
      logins.push(password);
      return true;
    });
    // 0.0.0.0 is no loopback address, and Linux connects it to this machine: the server without STARTTLS gets no login.
    const err = await failure(email(smtp.port, { host: '0.0.0.0', user: 'mailer', password: 'never-in-clear' }).send(failedResize(), attempt()));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('(STARTTLS): the login goes only over TLS; enable STARTTLS on the server, or set smtp.secure: true (port 465)');
    expect(logins).toEqual([]);
    expect(smtp.mails).toHaveLength(0);
    // 127.0.0.1: the relay is on this machine, and the password never leaves it.
    await email(smtp.port, { user: 'mailer', password: 'on-loopback' }).send(failedResize(), attempt());
    expect(logins).toEqual(['on-loopback']);
    expect(loginNeedsTls({ user: 'u', secure: false, host: 'smtp.example.com' })).toBe(true);
    expect(loginNeedsTls({ user: 'u', secure: true, host: 'smtp.example.com' })).toBe(false);
    expect(loginNeedsTls({ user: undefined, secure: false, host: 'smtp.example.com' })).toBe(false);
    for (const host of ['127.0.0.1', '127.10.0.3', '::1', '::ffff:127.0.0.1']) expect(loginNeedsTls({ user: 'u', secure: false, host })).toBe(false);
    // A name is looked up, DNS included: whoever answers would get the login.
    for (const host of ['localhost', '127.300.1.1', '::ffff:10.0.0.1']) expect(loginNeedsTls({ user: 'u', secure: false, host })).toBe(true);
  });

  it('hides the credentials when the server quotes the AUTH line it refused', async () => {
    const password = 'quoted-back-password';
    for (const method of ['PLAIN', 'LOGIN']) {
      const smtp = await smtpServer({
        authOptional: false,
        allowInsecureAuth: true,
        authMethods: [method],
        onAuth(auth, _session, callback) {
          // What the client sent on the AUTH line: the user and password together (PLAIN) or the password alone (LOGIN).
          const sent = method === 'PLAIN' ? `\0${auth.username}\0${auth.password}` : auth.password ?? '';
          callback(smtpError(`rejected ${Buffer.from(sent).toString('base64')} and ${auth.password}`, 535));
        },
      });
      const err = await failure(email(smtp.port, { user: 'mailer', password }).send(failedResize(), attempt()));
      expect(err.message).toContain('answered 535 rejected <hidden> and <hidden>');
      expect(everyProperty(err)).not.toContain(password);
      for (const secret of [password, `\0mailer\0${password}`]) expect(everyProperty(err)).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });

  it("hides the value of a variable named as a secret when the server quotes it: Mailjet's API key as the login's user", async () => {
    const apiKey = 'mj-apikey-4f9a1c2e7b3d8e6f';
    const smtp = await smtpServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth: (auth, _session, callback) => callback(smtpError(`5.7.8 Unknown API key ${auth.username ?? ''}`, 535)),
    });
    const err = await failure(email(smtp.port, { user: apiKey, password: 'mj-secret-key-77c1' }, {}, { secrets: [apiKey] }).send(failedResize(), attempt()));
    expect(err.message).toContain('answered 535 5.7.8 Unknown API key <hidden>');
    expect(everyProperty(err)).not.toContain(apiKey.slice(0, 8));
  });

  it('hides a user that is a secret when the server quotes the AUTH LOGIN line that sent it, base64-encoded', async () => {
    const apiKey = 'mj-apikey-4f9a1c2e7b3d8e6f';
    const smtp = await smtpServer({
      authOptional: false,
      allowInsecureAuth: true,
      authMethods: ['LOGIN'],
      // LOGIN sends the user on a line of its own, as base64.
      onAuth: (auth, _session, callback) => callback(smtpError(`5.7.8 Unknown login ${Buffer.from(auth.username ?? '').toString('base64')}`, 535)),
    });
    const err = await failure(email(smtp.port, { user: apiKey, password: 'mj-secret-key-77c1' }, {}, { secrets: [apiKey] }).send(failedResize(), attempt()));
    expect(err.message).toContain('answered 535 5.7.8 Unknown login <hidden>');
    expect(everyProperty(err)).not.toContain(Buffer.from(apiKey).toString('base64').slice(0, 8));
  });

  it('hides the password wherever the server echoes it: in the answer, the refusals, the errors and the log lines', async () => {
    const password = 'echoed-Pa55word-9f3c';
    let login = '';
    // A server that repeats in each reply the login it took, as written and as AUTH LOGIN sent it.
    const echo = (what: string) => `${what} for mailer:${login} (${Buffer.from(login).toString('base64')})`;
    const smtp = await smtpServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        login = auth.password ?? '';
        callback(null, { user: auth.username });
      },
      onRcptTo(address, _session, callback) {
        const mailbox = address.address.split('@')[0];
        callback(mailbox === 'nobody' ? smtpError(echo('No such user'), 550) : mailbox === 'later' ? smtpError(echo('4.7.1 Greylisted'), 451) : null);
      },
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback(null, echo('Queued')));
      },
    });
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const send = (to: string[]) => email(smtp.port, { user: 'mailer', password }, { to }, { logger }).send(failedResize(), attempt());

    const receipt = await send(['ops@example.com', 'nobody@example.com']);
    expect(receipt).toEqual({ answer: '250 Queued for mailer:<hidden> (<hidden>)', refused: ['nobody@example.com: 550 No such user for mailer:<hidden> (<hidden>)'] });
    const putOff = await failure(send(['ops@example.com', 'later@example.com']));
    expect(putOff.message).toMatch(/took the message \(250 Queued for mailer:<hidden> \(<hidden>\)\) but refused later@example\.com: 451 4\.7\.1 Greylisted for mailer:<hidden> \(<hidden>\)$/);
    expect(lines.some((line) => line.includes('refused some recipients'))).toBe(true);
    for (const shown of [JSON.stringify(receipt), everyProperty(putOff), ...lines]) {
      expect(shown).not.toContain(password);
      expect(shown).not.toContain(Buffer.from(password).toString('base64'));
    }
  });

  it('hides a password that the server echoes where a long reply is cut', async () => {
    const password = 'cut-short-Pa55word-7d1e';
    const smtp = await smtpServer({
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback(smtpError(`Rejected ${'x'.repeat(266)} for mailer:${password}, try another account`, 550)));
      },
    });
    const err = await failure(email(smtp.port, { user: 'mailer', password }).send(failedResize(), attempt()));
    // 300 characters of reply: the cut falls 8 characters into the password.
    expect(err.message).toMatch(/answered 550 Rejected x+ for mailer:<hidden>… \(DATA\)$/);
    expect(everyProperty(err)).not.toContain(password.slice(0, 8));
  });

  it('retries when the server answers 451', async () => {
    const smtp = await smtpServer({
      onRcptTo(_address, _session, callback) {
        callback(smtpError('Mailbox busy, try later', 451));
      },
    });
    const err = await failure(email(smtp.port).send(failedResize(), attempt()));
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(451);
    expect(err.message).toBe(`email ops-mail: 127.0.0.1:${smtp.port} answered 451 Mailbox busy, try later (RCPT TO)`);
  });

  it('gives up when the server answers 550', async () => {
    const smtp = await smtpServer({
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback(smtpError('Message rejected as spam', 550)));
      },
    });
    const err = await failure(email(smtp.port).send(failedResize(), attempt()));
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(550);
    expect(err.message).toBe(`email ops-mail: 127.0.0.1:${smtp.port} answered 550 Message rejected as spam (DATA)`);
  });

  it('keeps the digest of a fleet whose every watch failed, each with a long traceback, within a mail server\'s size limit', async () => {
    // A mail server's limit: past it a message is refused for good (552), and the digest was lost. Postfix's
    // default is 10,240,000 bytes, which 2,000 such failures pass; 4 MB and 700 of them make the same case
    // for a third of the processor time.
    const { port, received } = await sizeLimitedServer(4_000_000);
    // A traceback of Nova's, 60 frames deep: 7 KB.
    const traceback = ['Traceback (most recent call last):', ...Array.from({ length: 60 }, (_, i) => `  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line ${2000 + i}, in _build_and_run_instance`), 'nova.exception.RescheduledException: Build of instance was re-scheduled: no valid host'].join('\n');
    const failed = failedResize();
    const action = { ...failed.instanceAction!, events: failed.instanceAction!.events!.map((e) => (e.result === 'Error' ? { ...e, traceback } : e)) };
    const watches = Array.from({ length: 700 }, (_, i) => ({
      watch: { name: `web-${i}`, projectId: failed.watch.projectId, serverId: 'server-1', requestId: `req-${i}` }, outcome: 'failure' as const, reason: failed.reason, detectedAt: failed.detectedAt, instanceAction: action, server: failed.server,
    }));
    const digest = fleetDigest({ type: 'ecs.batch.finished', counts: { success: 0, failure: 700, timeout: 0, not_found: 0, pending: 0 }, watches });
    await email(port, { timeout: 20_000 }).send(digest, attempt());
    expect(received).toHaveLength(1);
    // Quoted-printable's soft line breaks joined.
    const mail = received[0]!.toString().replaceAll('=\r\n', '');
    // Every failure is listed: the first in full, the last in brief, with its reason, as the mail says.
    expect(mail).toContain(`  - web-0\r\n    Reason:       ${failed.reason}`);
    expect(mail).toContain(`  - web-699 (server-1, req-699): ${failed.reason}`);
    expect(mail).toMatch(/\b\d+ of the failures are listed in brief, without their events and tracebacks/);
  }, 30_000);

  it('keeps the digest of a fleet of 20,000 failures, each one line in brief, within a mail server\'s size limit', async () => {
    // Postfix's default limit. In brief, each failure takes a line as long as its reason: 20,000 of these
    // 362 characters made 10.4 MB, and the digest was refused for good (552).
    const { port, received } = await sizeLimitedServer(10_240_000);
    const failed = failedResize();
    const reason = 'resize failed: compute_resize_instance Error (Resize error: not enough disk on host-17, 120 GiB asked, 37 GiB free in /var/lib/nova/instances; '
      + 'traceback ends: raise exception.ResizeError(reason=reason)); server ERROR: Build of instance e723eb40-f56e-40f9-8c8c-caa517fe06ba aborted: '
      + 'Insufficient compute resources: Free disk 37 GiB is less than requested 120 GiB.';
    const watches = Array.from({ length: 20_000 }, (_, i) => ({
      watch: { name: `web-${i}`, projectId: failed.watch.projectId, serverId: 'e723eb40-f56e-40f9-8c8c-caa517fe06ba', requestId: `req-${i}` }, outcome: 'failure' as const, reason, detectedAt: failed.detectedAt, instanceAction: failed.instanceAction, server: failed.server,
    }));
    const digest = fleetDigest({ type: 'ecs.batch.finished', counts: { success: 0, failure: 20_000, timeout: 0, not_found: 0, pending: 0 }, watches });
    await email(port, { timeout: 20_000 }).send(digest, attempt());
    expect(received).toHaveLength(1);
    const mail = received[0]!.toString().replaceAll('=\r\n', '');
    // The counts say every one; the first are listed, the rest counted, as the mail says.
    expect(mail).toContain('20000 watches: 20000 failed.');
    expect(mail).toContain('  - web-0\r\n    Reason:       resize failed: compute_resize_instance Error (Resize error: not enough disk');
    const unlisted = /^(\d+) of the watches are not listed, to keep this mail within mail servers' size limits; the counts include them/m.exec(mail)?.[1];
    expect(Number(unlisted)).toBeGreaterThan(0);
    expect(mail).toContain(`\r\n  - and ${unlisted} more, not listed\r\n`);
    expect(mail).toContain(`  - web-${19_999 - Number(unlisted)} (`);
    expect(mail).not.toContain(`  - web-${20_000 - Number(unlisted)} (`);
  }, 60_000);

  it('keeps the digest of a fleet whose servers have Chinese names within a mail server\'s size limit, as sent, not as written', async () => {
    // Quoted-printable writes each byte of a Chinese character as three (=E5): 13 of them take 117 bytes.
    // 65,000 watches one line each, within 6 MiB of characters, made 13 MB as sent, and were refused for good.
    const { port, received } = await sizeLimitedServer(10_240_000);
    const failed = failedResize();
    const watches = Array.from({ length: 65_000 }, (_, i) => ({
      watch: { name: `华东生产环境数据库服务器-${i}`, projectId: failed.watch.projectId, serverId: 'e723eb40-f56e-40f9-8c8c-caa517fe06ba', requestId: `req-${i}` },
      outcome: 'success' as const, reason: 'resize finished in 3 min', detectedAt: failed.detectedAt,
    }));
    const digest = fleetDigest({ type: 'ecs.batch.finished', counts: { success: 65_000, failure: 0, timeout: 0, not_found: 0, pending: 0 }, watches });
    await email(port, { timeout: 20_000 }).send(digest, attempt());
    expect(received).toHaveLength(1);
    expect(received[0]!.toString().replaceAll('=\r\n', '')).toMatch(/^\d+ of the watches are not listed, to keep this mail within mail servers' size limits/m);
  }, 60_000);

  it('retries when the server answers 503, a command out of sequence that a new session may get past, though it is a 5xx', async () => {
    const smtp = await smtpServer({
      onRcptTo(_address, _session, callback) {
        callback(smtpError('Bad sequence of commands', 503));
      },
    });
    const err = await failure(email(smtp.port).send(failedResize(), attempt()));
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(503);
    expect(err.message).toBe(`email ops-mail: 127.0.0.1:${smtp.port} answered 503 Bad sequence of commands (RCPT TO)`);
  });

  it('counts a message some recipients took as delivered', async () => {
    const smtp = await smtpServer({
      onRcptTo(address, _session, callback) {
        callback(address.address === 'oncall@example.com' ? smtpError('No such user', 550) : null);
      },
    });
    const receipt = await email(smtp.port).send(failedResize(), attempt());
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com']]);
    expect(receipt.refused).toEqual(['oncall@example.com: 550 No such user']);
  });

  it('retries, for them alone, the recipients the server put off with a 4xx while it took the message for the others', async () => {
    const smtp = await smtpServer({
      onRcptTo(address, _session, callback) {
        callback(address.address === 'oncall@example.com' ? smtpError('4.7.1 Greylisted', 451) : null);
      },
    });
    const notifier = email(smtp.port, {}, { to: ['ops@example.com', 'On Call <oncall@example.com>'] });
    const err = await failure(notifier.send(failedResize(), attempt()));
    expect(err).toMatchObject({ retryable: true, status: 451, owedTo: ['oncall@example.com'] });
    expect(err.message).toMatch(/^email ops-mail: 127\.0\.0\.1:\d+ took the message \(250 .*\) but refused oncall@example\.com: 451 4\.7\.1 Greylisted$/);
    await notifier.send(failedResize(), { ...attempt(), owedTo: ['ops@example.com'] });
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com'], ['ops@example.com']]);
    // The same message as the first: its To: names everyone it is for, though it goes to one.
    expect(smtp.mails.map((m) => m.headers.get('to'))).toEqual(['ops@example.com, On Call <oncall@example.com>', 'ops@example.com, On Call <oncall@example.com>']);
    const nobody = await notifier.send(failedResize(), { ...attempt(), owedTo: ['gone@example.com'] });
    expect(nobody).toEqual({ answer: 'nobody left to send to: gone@example.com no longer in to:', refused: [] });
    expect(smtp.mails).toHaveLength(2);
  });

  it('counts as delivered, with a warning, a message whose recipient put off with a 4xx is then refused for good, as the others have it', async () => {
    // A greylisted mailbox deleted before the retry: refused at once, the attempt would have been delivered.
    let refusing = 451;
    const smtp = await smtpServer({
      onRcptTo(address, _session, callback) {
        callback(address.address === 'oncall@example.com' ? smtpError(refusing === 451 ? '4.7.1 Greylisted' : '5.1.1 User unknown', refusing) : null);
      },
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const notifier = email(smtp.port, {}, {}, { logger });
    const err = await failure(notifier.send(failedResize(), attempt()));
    expect(err.owedTo).toEqual(['oncall@example.com']);
    refusing = 550;
    const receipt = await notifier.send(failedResize(), { ...attempt(), owedTo: err.owedTo });
    expect(receipt.refused).toEqual(['oncall@example.com: 550 5.1.1 User unknown']);
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com']]);
    expect(lines.map((l) => [l['msg'], l['refused']])).toEqual([
      ['the mail server refused some recipients for good; the message went to the others', ['oncall@example.com: 550 5.1.1 User unknown']],
    ]);
  });

  it('warns of a recipient refused for good at the attempt that put another off, as the attempt that reaches that one says nothing of it', async () => {
    let greylisting = true;
    const smtp = await smtpServer({
      onRcptTo(address, _session, callback) {
        if (address.address === 'gone@example.com') return callback(smtpError('5.1.1 User unknown', 550));
        callback(greylisting && address.address === 'oncall@example.com' ? smtpError('4.7.1 Greylisted', 451) : null);
      },
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const notifier = email(smtp.port, {}, { to: ['ops@example.com', 'oncall@example.com', 'gone@example.com'] }, { logger });
    const err = await failure(notifier.send(failedResize(), attempt()));
    expect(err.owedTo).toEqual(['oncall@example.com']);
    greylisting = false;
    await notifier.send(failedResize(), { ...attempt(), owedTo: err.owedTo });
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com'], ['oncall@example.com']]);
    expect(lines.map((l) => [l['msg'], l['refused']])).toEqual([
      ['the mail server refused some recipients for good; the message went to the others', ['gone@example.com: 550 5.1.1 User unknown']],
    ]);
  });

  it('takes a 552 to RCPT TO as the 452 RFC 5321 says it is: the recipients past a relay\'s limit per message are owed another attempt, not left out', async () => {
    // A relay that takes two recipients a message and answers the third as RFC 821 had it (RFC 5321, 4.5.3.1.10).
    const smtp = await smtpServer({
      onRcptTo(_address, session, callback) {
        callback(session.envelope.rcptTo.length >= 2 ? smtpError('Too many recipients', 552) : null);
      },
    });
    const notifier = email(smtp.port, {}, { to: ['ops@example.com', 'oncall@example.com', 'lead@example.com'] });
    const err = await failure(notifier.send(failedResize(), attempt()));
    expect(err).toMatchObject({ retryable: true, reason: 'server', status: 552, owedTo: ['lead@example.com'] });
    const receipt = await notifier.send(failedResize(), { ...attempt(), owedTo: err.owedTo });
    expect(receipt.refused).toEqual([]);
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com', 'oncall@example.com'], ['lead@example.com']]);
  });

  it('retries a message whose every recipient got a 552 to RCPT TO, as for a 452', async () => {
    // A mailbox over its quota, as many servers say it: the message goes once it has room.
    let full = true;
    const smtp = await smtpServer({
      onRcptTo(_address, _session, callback) {
        callback(full ? smtpError('5.2.2 Mailbox full', 552) : null);
      },
    });
    const notifier = email(smtp.port);
    const err = await failure(notifier.send(failedResize(), attempt()));
    expect(err).toMatchObject({ retryable: true, reason: 'server', status: 552 });
    expect(err.message).toBe(`email ops-mail: 127.0.0.1:${smtp.port} answered 552 5.2.2 Mailbox full (RCPT TO)`);
    full = false;
    await notifier.send(failedResize(), attempt());
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com', 'oncall@example.com']]);
  });

  it('retries a recipient put off with a 4xx whose address nodemailer wrote otherwise than to: does', async () => {
    // nodemailer lowercases the domain (a URL's host rules), and a server may see the address as it likes.
    let greylisting = true;
    const smtp = await smtpServer({
      onRcptTo(address, _session, callback) {
        callback(greylisting && address.address.toLowerCase() === 'oncall@example.com' ? smtpError('4.7.1 Greylisted', 451) : null);
      },
    });
    const notifier = email(smtp.port, {}, { to: ['ops@example.com', 'On Call <OnCall@Example.COM>'] });
    const err = await failure(notifier.send(failedResize(), attempt()));
    greylisting = false;
    await notifier.send(failedResize(), { ...attempt(), owedTo: err.owedTo });
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com'], ['OnCall@example.com']]);
  });

  it('sends to an internationalised domain in A-labels, and to a local part that is not ASCII with SMTPUTF8, retrying one put off for it alone', async () => {
    // What the client said: smtp-server shows an address's domain decoded.
    const commands: string[] = [];
    const quiet = () => undefined;
    const logger = { level: quiet, trace: quiet, info: quiet, warn: quiet, error: quiet, fatal: quiet, debug: (_meta: unknown, ...said: unknown[]) => void (said[0] === 'C:' && commands.push(String(said[1]))) };
    let greylisting = true;
    const smtp = await smtpServer({
      logger,
      onRcptTo(address, _session, callback) {
        callback(greylisting && address.address === 'oncall@bücher.de' ? smtpError('4.7.1 Greylisted', 451) : null);
      },
    });
    const notifier = email(smtp.port, {}, { from: 'ecs-watch@bücher.de', to: ['müller@bücher.de', 'On Call <oncall@BÜCHER.de>'] });
    const err = await failure(notifier.send(failedResize(), attempt()));
    expect(err.owedTo).toEqual(['oncall@xn--bcher-kva.de']);
    greylisting = false;
    await notifier.send(failedResize(), { ...attempt(), owedTo: err.owedTo });
    expect(smtp.mails.map((m) => m.to)).toEqual([['müller@bücher.de'], ['oncall@bücher.de']]);
    expect(commands.filter((c) => /^(MAIL|RCPT)/.test(c))).toEqual([
      'MAIL FROM:<ecs-watch@xn--bcher-kva.de> SMTPUTF8', 'RCPT TO:<müller@bücher.de>', 'RCPT TO:<oncall@xn--bcher-kva.de>',
      'MAIL FROM:<ecs-watch@xn--bcher-kva.de>', 'RCPT TO:<oncall@xn--bcher-kva.de>',
    ]);
  });

  it('retries when the server is down, saying so', async () => {
    const port = await closedPort();
    const err = await failure(email(port).send(failedResize(), attempt()));
    expect(err.retryable).toBe(true);
    expect(err.status).toBeUndefined();
    expect(err.message).toBe(`email ops-mail: connection refused by 127.0.0.1:${port}`);
  });

  it('writes an IPv6 server in brackets before its port, as a webhook URL does: ::1:2525 is an address of its own', async () => {
    const port = await closedPort();
    const err = await failure(email(port, { host: '::1' }).send(failedResize(), attempt()));
    expect(err.message).toBe(`email ops-mail: connection refused by [::1]:${port}`);
  });

  it('says to turn smtp.secure off when it meets a port without TLS', async () => {
    const smtp = await smtpServer();
    const err = await failure(email(smtp.port, { secure: true }).send(failedResize(), attempt()));
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(
      `email ops-mail: 127.0.0.1:${smtp.port} does not answer TLS (ERR_SSL_WRONG_VERSION_NUMBER): a port without TLS, or the wrong port; for a server on port 587 or 25, set smtp.secure: false (STARTTLS is used where it offers it)`,
    );
  });

  describe('against a server of implicit TLS, which says nothing until the handshake', () => {
    let tls: { key: string; cert: string; ca: string[] };
    beforeAll(() => {
      const made = makeCertificates(mkdtempSync(join(tmpdir(), 'eaw-smtps-')));
      tls = { key: made.key, cert: made.cert, ca: [readFileSync(made.caFile, 'utf8')] };
    });
    async function tlsServer(port?: number): Promise<MailSink> {
      const sink = await startMailSink({ smtp: { secure: true, key: tls.key, cert: tls.cert }, port });
      sinks.push(sink);
      return sink;
    }

    it('says, when a server greets nothing in time, that a port of TLS from the start does so, and smtp.secure then sends', async () => {
      const sink = await tlsServer();
      const err = await failure(email(sink.port, { timeout: 300 }).send(failedResize(), attempt()));
      expect(err.retryable).toBe(true);
      expect(err.message).toBe(
        `email ops-mail: timed out waiting for the greeting of 127.0.0.1:${sink.port} after 300 ms; a port that speaks TLS from the start (as 465 does) says nothing until the handshake: if this is one, set smtp.secure: true`,
      );
      await email(sink.port, { secure: true }, {}, { ca: tls.ca }).send(failedResize(), attempt());
      expect(sink.received).toHaveLength(1);
    });
  });

  it('retries when the server never greets within the timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
    rawServers.push(silent);
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;

    const started = performance.now();
    const err = await failure(email(port, { timeout: 200 }).send(failedResize(), attempt()));
    for (const s of sockets) s.destroy();
    // Nodemailer's own greeting timeout is 30 s: far beyond, however loaded the machine.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(new RegExp(`^email ops-mail: timed out waiting for the greeting of 127\\.0\\.0\\.1:${port} after 200 ms; a port that speaks TLS`));
  });

  /**
   * A relay of a few lines that takes every command and then, after the message: `close` closes the
   * connection before its 250, `stall` answers nothing more; `closeAtOnce` closes it before its greeting.
   */
  async function scriptedRelay(then: 'closeAtOnce' | 'close' | 'stall'): Promise<{ port: number; messages: string[] }> {
    const messages: string[] = [];
    const server = createTcpServer((socket) => {
      if (then === 'closeAtOnce') return void socket.end();
      socket.write('220 relay ESMTP\r\n');
      let data: string[] | undefined;
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString();
        for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (data && line === '.') {
            messages.push(data.join('\n'));
            if (then === 'close') socket.end();
          } else if (data) data.push(line);
          else if (line === 'DATA') {
            data = [];
            socket.write('354 go ahead\r\n');
          } else socket.write('250 OK\r\n');
        }
      });
    }).listen(0, '127.0.0.1');
    rawServers.push(server);
    await once(server, 'listening');
    return { port: (server.address() as AddressInfo).port, messages };
  }

  it('says a server that closed the connection without an answer closed it, a connection failure retried as one', async () => {
    // A relay behind a load balancer with no server up (which takes the connection and closes it), or one that
    // drops this client before its greeting; and one that closes once it has the message, before its 250.
    for (const afterMessage of [false, true]) {
      const { port, messages } = await scriptedRelay(afterMessage ? 'close' : 'closeAtOnce');
      const err = await failure(email(port).send(failedResize(), attempt('closed-on')));
      expect(err).toMatchObject({ reason: 'connection', retryable: true, status: undefined });
      expect(err.message).toBe(`email ops-mail: connection to 127.0.0.1:${port} closed unexpectedly`);
      // Sent once in the attempt; the outbox's retry carries the same Message-ID for the server to drop.
      expect(messages.map((m) => /^Message-ID: (.*)$/m.exec(m)?.[1])).toEqual(afterMessage ? ['<closed-on@ecs-action-watch>'] : []);
    }
  });

  it('says how long it waited for an answer that never came, a timeout retried as one', async () => {
    const { port, messages } = await scriptedRelay('stall');
    const err = await failure(email(port, { timeout: 200 }).send(failedResize(), attempt('stalled-on')));
    expect(err).toMatchObject({ reason: 'timeout', retryable: true });
    // The wait of a command's answer is a second past smtp.timeout (the greeting's): said as it was.
    expect(err.message).toBe(`email ops-mail: timed out waiting for an answer from 127.0.0.1:${port} after 1200 ms`);
    expect(messages).toHaveLength(1);
  });

  it('stops when the dispatcher aborts the attempt', async () => {
    const silent = createTcpServer().listen(0, '127.0.0.1');
    rawServers.push(silent);
    await once(silent, 'listening');
    const controller = new AbortController();
    const pending = email((silent.address() as AddressInfo).port).send(failedResize(), attempt('d', 1, controller.signal));
    setTimeout(() => controller.abort(), 20);
    const err = await failure(pending);
    expect(err.retryable).toBe(true);
    expect(err.message).toBe('email ops-mail: aborted before the server took the message');
  });

  // notifications_total's reason label: what tells an operator a relay down from one that refuses the login.
  it('names why it failed, as its retry goes: refused, busy, timed out, down', async () => {
    const why = async (port: number, smtp: Partial<EmailNotifierConfig['smtp']> = {}) => {
      const err = await failure(email(port, smtp).send(failedResize(), attempt()));
      return [err.reason, err.retryable];
    };
    const answering = async (code: number) => (await smtpServer({ onRcptTo: (_a, _s, callback) => callback(smtpError('not this one', code)) })).port;
    expect(await why(await answering(550))).toEqual(['refused', false]);
    expect(await why(await answering(421))).toEqual(['server', true]);
    expect(await why(await answering(451))).toEqual(['server', true]);
    // A bad sequence, which a new session may get past: nodemailer's class, and the reason with it.
    expect(await why(await answering(503))).toEqual(['server', true]);
    expect(await why((await loginServer(() => false)).port, { user: 'ops', password: 'wrong' })).toEqual(['refused', false]);
    // Put off for one recipient alone, taken for the other.
    const greylisting = await smtpServer({ onRcptTo: (address, _s, callback) => callback(address.address === 'oncall@example.com' ? smtpError('4.7.1 Greylisted', 451) : null) });
    expect(await why(greylisting.port)).toEqual(['server', true]);
    expect(await why(await closedPort())).toEqual(['connection', true]);
    expect(await why((await smtpServer()).port, { secure: true })).toEqual(['connection', true]);
    const silent = createTcpServer().listen(0, '127.0.0.1');
    rawServers.push(silent);
    await once(silent, 'listening');
    expect(await why((silent.address() as AddressInfo).port, { timeout: 200 })).toEqual(['timeout', true]);
  });

  it('accepts only the configured outcomes and closes idempotently', async () => {
    const notifier = email(1);
    expect(notifier.name).toBe('ops-mail');
    expect(notifier.type).toBe('email');
    expect(notifier.accepts('not_found')).toBe(true);
    await notifier.close();
    await notifier.close();
  });
});

describe('a templated mail', () => {
  it('takes its subject (on one line) and text from the template, nothing escaped', async () => {
    const smtp = await smtpServer();
    const mailer = email(smtp.port, {}, { template: { subject: '{{outcomeWord}}:\n{{watch.label}} <{{watch.serverId}}>', text: '{{reason}}\n& {{#events}}{{event}};{{/events}}' } });
    await mailer.send(failedResize({ reason: 'quota "exceeded" <now>' }), attempt());
    expect(smtp.mails[0]!.subject).toBe('failed: web-01 <e723eb40-f56e-40f9-8c8c-caa517fe06ba>');
    expect(smtp.mails[0]!.body).toBe('quota "exceeded" <now>\n& compute_prep_resize;compute_resize_instance;\n');
  });

  it('keeps the default for what the template leaves out, and for a subject that renders empty', async () => {
    const smtp = await smtpServer();
    const mailer = email(smtp.port, {}, { template: { subject: '{{#isBatch}}batch{{/isBatch}}', text: undefined } });
    await mailer.send(failedResize(), attempt());
    expect(smtp.mails[0]!.subject).toBe('[ecs-action-watch] resize failed: web-01');
    expect(smtp.mails[0]!.body).toContain('Traceback of compute_resize_instance:');
  });

  // A text template written for digests ({{#isBatch}}...{{/isBatch}}) sent each watch's own mail with no
  // text at all, where a subject so written gave way to the default one.
  it('keeps the default text for a text that renders nothing for this notification, as for the subject', async () => {
    const smtp = await smtpServer();
    const mailer = email(smtp.port, {}, { template: { subject: undefined, text: '{{#isBatch}}{{batch.countsText}}{{/isBatch}}\n' } });
    await mailer.send(failedResize(), attempt());
    await mailer.send(fleetDigest(), attempt('4f1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f'));
    expect(smtp.mails[0]!.body).toContain('Traceback of compute_resize_instance:');
    expect(smtp.mails[1]!.body).toBe('1 failed, 1 timed out, 1 pending, 1 succeeded\n');
  });

  it('sends nothing, and gives up at once, when its template renders a batch too large to send', async () => {
    const smtp = await smtpServer();
    const mailer = email(smtp.port, {}, { template: { subject: undefined, text: '{{#batch.watches}}{{#text}}{{.}}{{/text}}{{/batch.watches}}' } });
    const err = await failure(mailer.send(largeFleetDigest(2000), attempt()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^email ops-mail: its template renders more than 16 MiB for this notification; fix notifiers\.ops-mail\.template \(/);
    expect(smtp.mails).toHaveLength(0);
  });
});
