import type { NodemailerError, Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { asciiDomain, bareAddress } from '../../config/fields.ts';
import { isLoopbackAddress } from '../../net/loopback.ts';
import { oneLine } from '../../net/oneLine.ts';
import { redact } from '../../net/redact.ts';
import type { EmailNotifierConfig } from './config.ts';
import { DeliveryError, type FailureReason } from '../DeliveryError.ts';
import { describeNetworkFailure, errorCode, networkReason, NOT_TLS } from '../../net/failure.ts';
import { isBatch, renderEmail, renderSubject } from '../render.ts';
import { renderForDelivery } from '../template/template.ts';
import { viewOf } from '../template/view.ts';
import type { DeliveryAttempt, Notifier, NotifierDeps } from '../types.ts';
import type { NotificationWatch, OutgoingNotification } from '../../model.ts';

/** How long a session of the pool may stay idle before it is closed. */
const SESSION_IDLE_MS = 5_000;
// Failures that come from our side of the configuration: the next attempt would send the same thing.
const CONFIGURATION_CODES = new Set(['EAUTH', 'ENOAUTH', 'ECONFIG', 'EENVELOPE', 'EMAXRECIPIENTS', 'EREQUIRETLS']);

/** How long a command's answer is waited for: a second past the greeting's (see the transport's options). */
const socketTimeout = (smtp: { timeout: number }) => smtp.timeout + 1000;

const TIMEOUT_PHASES: Record<string, string> = {
  CONNECT_TIMEOUT: 'connecting to',
  GREETING_TIMEOUT: 'waiting for the greeting of',
  UPGRADE_TIMEOUT: 'upgrading to TLS with',
  SOCKET_TIMEOUT: 'waiting for an answer from',
};

/**
 * Whether the connection must be upgraded with STARTTLS before the login: whenever there is one, unless the
 * connection is TLS from the start (`secure`) or never leaves the machine (a relay at a loopback address). A server
 * that does not offer STARTTLS, or an attacker who strips it from the server's answer, would otherwise get
 * the password in clear.
 */
export function loginNeedsTls(smtp: Pick<EmailNotifierConfig['smtp'], 'user' | 'secure' | 'host'>): boolean {
  return smtp.user !== undefined && !smtp.secure && !isLoopbackAddress(smtp.host);
}

export function createEmailNotifier(name: string, config: EmailNotifierConfig, deps: NotifierDeps): Notifier {
  const { smtp } = config;
  // An IPv6 address in brackets, as in a URL: ::1:2525 would read as an address of its own.
  const endpoint = `${smtp.host.includes(':') ? `[${smtp.host}]` : smtp.host}:${smtp.port}`;
  const prefix = `email ${name}`;
  const log = deps.logger.child({ notifier: name, notifierType: 'email' });
  // A server that quotes the AUTH line it refused quotes the credentials base64-encoded, as sent (LOGIN
  // sends the user and the password each alone, PLAIN user and password together). And what variables named
  // as secrets gave: a user that is an API key (Mailjet's, Postmark's token), which a server may name in
  // its refusal, as LOGIN sent it too.
  const variableSecrets = deps.secrets ?? [];
  const { user } = smtp;
  const secretUser = user !== undefined && variableSecrets.some((secret) => secret !== '' && user.includes(secret));
  const secrets = [
    ...(user === undefined || smtp.password === undefined ? [] : [
      smtp.password,
      Buffer.from(smtp.password).toString('base64'),
      Buffer.from(`\0${user}\0${smtp.password}`).toString('base64'),
    ]),
    ...(secretUser ? [Buffer.from(user).toString('base64')] : []),
    ...variableSecrets,
  ];
  // Whatever the server or nodemailer said, on success too: a server may echo the login in any reply (a 250
  // that names the account, a refused recipient's 550). Redacted before cutting, so that a cut cannot leave
  // part of a secret unrecognised.
  const said = (text: string) => oneLine(redact(text, secrets));
  // A pool of smtp.connections sessions, each sending message after message, as the outbox sends that many
  // at once (sendsAtOnce): a session of its own for each message left the one before still closing, so that
  // a relay that caps a client's sessions refused the next with a 421. A session idle for SESSION_IDLE_MS
  // is closed, as notifications come in waves and rarely. A session lost while sending fails that attempt
  // (maxRequeues: 0), for the outbox to retry and count, rather than be sent again within it.
  // STARTTLS is used whenever the server offers it (nodemailer's default) and certificates are checked; a
  // login requires it (loginNeedsTls).
  // nodemailer is loaded at the first message: most runs of most commands send none. Its module.exports is
  // taken as the default export: the bundle's chunk of a CommonJS package has no named exports.
  let transport: Promise<Transporter<SMTPPool.SentMessageInfo>> | undefined;
  const transporter = () =>
    (transport ??= import('nodemailer').then(({ default: { createTransport } }) => createTransport({
      pool: true,
      maxConnections: smtp.connections,
      idleTimeout: SESSION_IDLE_MS,
      maxRequeues: 0,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.user === undefined ? undefined : { user: smtp.user, pass: smtp.password },
      requireTLS: loginNeedsTls(smtp),
      connectionTimeout: smtp.timeout,
      greetingTimeout: smtp.timeout,
      // A second past the greeting's: nodemailer starts both timers at once, and when both are due in the same
      // turn of the event loop (a tie on loopback or a LAN; a busy host late by a millisecond or more) both
      // fire, and the socket's error is the one reported: a server that never greeted (an implicit TLS port:
      // tlsPort below) was said to have left a command unanswered. A millisecond apart, it still happened
      // on a loaded CI machine.
      socketTimeout: socketTimeout(smtp),
      dnsTimeout: smtp.timeout,
      // cloud.tls.caFile: a company's relay is signed by its private CA as much as its cloud and webhooks are.
      ...(deps.ca === undefined ? {} : { tls: { ca: [...deps.ca] } }),
    })));
  let closed = false;

  return {
    name,
    type: 'email',
    sendsAtOnce: smtp.connections,
    accepts: (event) => config.on.includes(event),

    async send(notification, attempt) {
      const { owedTo } = attempt;
      const owed = owedTo === undefined ? undefined : new Set(owedTo.map(mailbox));
      const to = owed === undefined ? config.to : config.to.filter((entry) => owed.has(mailbox(bareAddress(entry))));
      // Those still owed were taken out of to: since; the others have it.
      if (to.length === 0) return { answer: `nobody left to send to: ${owedTo!.join(', ')} no longer in to:`, refused: [] };
      const { subject, text } = compose(notification);
      let info;
      try {
        info = await (await transporter()).sendMail({
          from: config.from,
          // The message the others have, whose To: lists them all; the envelope takes it to those owed only.
          to: [...config.to],
          envelope: { from: bareAddress(config.from), to: to.map(bareAddress) },
          text,
          messageId: messageIdFor(attempt.deliveryId),
          headers: { ...(isBatch(notification) ? { 'X-ECS-Watch-Batch': notification.batch } : watchHeader(notification.watch)), Subject: subjectHeader(subject) },
          signal: attempt.signal,
        });
      } catch (err) {
        // The others took it at an earlier attempt: a refusal for good of every recipient still owed leaves
        // those out, as it would have had it come at that attempt, rather than give up what was delivered.
        const gone = owed === undefined ? undefined : refusedForGood(err);
        if (gone === undefined) throw smtpFailure(err, attempt.signal);
        const refused = refusedRecipients(gone, said);
        sayLeftOut(refused, attempt);
        return { answer: `${endpoint} refused every recipient still owed; the others had it already`, refused };
      }
      const refused = refusedRecipients(info, said);
      const answer = said(info.response || 'accepted');
      // Put off for now (4xx, such as greylisting): owed another attempt, to them alone, since the others have it.
      const putOffErrors = (info.rejectedErrors ?? []).filter((e) => !forGood(e));
      const putOff = new Set(putOffErrors.map((e) => String(e.recipient)));
      // Refused for good (5xx): another attempt would be refused the same way, and duplicate it for the others.
      // Said now, also when others were put off: the attempt that reaches those knows nothing of these.
      sayLeftOut(refusedRecipients({ rejected: info.rejected.filter((r) => !putOff.has(addressOf(r))), rejectedErrors: info.rejectedErrors }, said), attempt);
      if (putOff.size > 0) {
        throw new DeliveryError(`${prefix}: ${endpoint} took the message (${answer}) but refused ${refused.join('; ')}`, {
          reason: 'server',
          status: putOffErrors[0]!.responseCode,
          owedTo: [...putOff],
        });
      }
      log.debug({ ...attempt.about, deliveryId: attempt.deliveryId, attempt: attempt.attempt, accepted: info.accepted }, 'email delivered');
      return { answer, refused };
    },

    async close() {
      if (closed) return;
      closed = true;
      (await transport)?.close();
    },
  };

  /** Recipients the server refused for good while the others have the message: left out, which the log says. */
  function sayLeftOut(refused: string[], attempt: DeliveryAttempt): void {
    if (refused.length === 0) return;
    log.warn({ ...attempt.about, deliveryId: attempt.deliveryId, endpoint, refused }, 'the mail server refused some recipients for good; the message went to the others');
  }

  /**
   * The default message, with the template's subject and text where it has them. One view serves both
   * templates, and the default text is built only when it is sent: for a digest of thousands it costs
   * more than the rest of the delivery.
   */
  function compose(notification: OutgoingNotification): { subject: string; text: string } {
    const template = config.template;
    if (!template) return renderEmail(notification);
    const view = viewOf(notification);
    const render = (source: string) => renderForDelivery(source, view, 'text', prefix, `notifiers.${name}.template`);
    // A subject is one line, whatever the template or its values hold.
    const subject = template.subject === undefined ? '' : render(template.subject).replace(/\s+/g, ' ').trim();
    const text = template.text === undefined ? '' : render(template.text);
    // What renders nothing for this notification (a template for digests alone, {{#isBatch}}...) is the default.
    return {
      subject: subject || renderSubject(notification),
      // The view's text is the default text, and kept if the subject's template wrote it.
      text: text.trim() === '' ? view.text : text,
    };
  }

  /** What came of a message the server did not take, and why it failed, which decides its retry. */
  function smtpFailure(err: unknown, cancel: AbortSignal): DeliveryError {
    const e: NodemailerError = err instanceof Error ? err : new Error(String(err));
    const code = errorCode(e);
    const fail = (what: string, reason: FailureReason): DeliveryError =>
      new DeliveryError(`${prefix}: ${what}`, { ...reason, status: e.responseCode });

    if (code === 'EABORT' || cancel.aborted) return fail('aborted before the server took the message', { reason: 'other', retryable: true });
    if (typeof e.responseCode === 'number') {
      // Every recipient refused: for good only when each refusal is, whichever reply nodemailer put in the error.
      const envelope = code === 'EENVELOPE' ? e.rejectedErrors?.find((r) => !forGood(r)) ?? e : e;
      const permanent = forGood(envelope);
      const reply = said(envelope.response ?? String(envelope.responseCode));
      // nodemailer names the step (RCPT TO, AUTH PLAIN, DATA), never the arguments; API and CONN are its own.
      const step = e.command && e.command !== 'API' && e.command !== 'CONN' ? ` (${e.command})` : '';
      const hint = e.command === 'STARTTLS' && loginNeedsTls(smtp) ? ': the login goes only over TLS; enable STARTTLS on the server, or set smtp.secure: true (port 465)' : '';
      return new DeliveryError(`${prefix}: ${endpoint} answered ${reply}${step}${hint}`, { reason: permanent ? 'refused' : 'server', status: envelope.responseCode });
    }
    if (code === 'ETIMEDOUT') {
      const phase = TIMEOUT_PHASES[e.timeoutType ?? ''] ?? 'talking to';
      // The mirror of plainPort below: client and server each wait for the other to speak first. A server slow
      // to greet is as likely, so it is said as an if (`validate` warns of 465 without smtp.secure already).
      const tlsPort = e.timeoutType === 'GREETING_TIMEOUT' && !smtp.secure
        ? '; a port that speaks TLS from the start (as 465 does) says nothing until the handshake: if this is one, set smtp.secure: true'
        : '';
      const waited = e.timeoutType === 'SOCKET_TIMEOUT' ? socketTimeout(smtp) : smtp.timeout;
      return fail(`timed out ${phase} ${endpoint} after ${waited} ms${tlsPort}`, { reason: 'timeout' });
    }
    const network = describeNetworkFailure(e.originalCode ?? code, endpoint);
    // A plain port answers a TLS hello with its greeting: smtp.secure is for port 465 alone.
    const plainPort = smtp.secure && (e.originalCode ?? code) === NOT_TLS ? '; for a server on port 587 or 25, set smtp.secure: false (STARTTLS is used where it offers it)' : '';
    if (network) return fail(`${network}${plainPort}`, { reason: networkReason(e.originalCode ?? code) });
    if (code !== undefined && CONFIGURATION_CODES.has(code)) return fail(`${said(e.message)} (${code})`, { reason: 'refused' });
    return fail(`sending through ${endpoint} failed: ${said(e.message)}${code ? ` (${code})` : ''}`, { reason: 'other', retryable: true });
  }
}

/** nodemailer's error for an envelope whose every recipient the server refused for good (5xx); undefined for any other. */
function refusedForGood(err: unknown): { rejected: unknown[]; rejectedErrors: NodemailerError[] } | undefined {
  const e = err as NodemailerError | undefined;
  const rejectedErrors = e?.code === 'EENVELOPE' ? e.rejectedErrors : undefined;
  if (rejectedErrors === undefined || rejectedErrors.length === 0 || !rejectedErrors.every(forGood)) return undefined;
  return { rejected: e!.rejected ?? rejectedErrors.map((r) => String(r.recipient)), rejectedErrors };
}

/**
 * Whether the server's refusal `e` is for good. nodemailer knows RFC 5321's classes, including that 503 (bad
 * sequence) is worth another session; not that a 552 to RCPT TO is to be taken as a 452 (RFC 5321, 4.5.3.1.10):
 * RFC 821 gave it for "too many recipients", which relays still answer past their limit per message (and
 * some for a mailbox over its quota), and the recipients past it take the message in another session.
 */
function forGood(e: NodemailerError): boolean {
  if (e.responseCode === 552 && e.command === 'RCPT TO') return false;
  return e.permanent ?? (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600);
}

/** Each refused recipient with the server's reply to it, as `said` shows it: `nobody@example.com: 550 5.1.1 User unknown`. */
function refusedRecipients(info: { rejected: unknown[]; rejectedErrors?: NodemailerError[] | undefined }, said: (text: string) => string): string[] {
  const replies = new Map((info.rejectedErrors ?? []).map((e) => [String(e.recipient), said(e.response ?? e.message)]));
  return info.rejected.map((r) => {
    const address = addressOf(r);
    return `${address}: ${replies.get(address) ?? 'refused'}`;
  });
}

/** A recipient as nodemailer lists it in `rejected`: the address, or an object holding it. */
function addressOf(recipient: unknown): string {
  return typeof recipient === 'string' ? recipient : String((recipient as { address?: unknown }).address);
}

/**
 * An address as owedTo is matched by: nodemailer reports a recipient with its domain lowercased (as a URL's
 * host) and an internationalised one in A-labels (xn--bcher-kva.de) unless the local part is not ASCII, not
 * as `to:` writes it, and a `to:` edited in case only between attempts names the same mailbox.
 */
function mailbox(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at)}@${asciiDomain(address.slice(at + 1))}`.toLowerCase();
}

/** Which watch a message is about, for mail filters: the action's request id or the job's id. */
function watchHeader(watch: NotificationWatch): Record<string, string> {
  return 'jobId' in watch ? { 'X-ECS-Watch-Job-Id': watch.jobId } : { 'X-ECS-Watch-Request-Id': watch.requestId };
}

/**
 * The bytes of text an encoded word holds: 56 characters of base64, 68 with `=?UTF-8?B?` and `?=` (RFC 2047 allows 75),
 * 77 after `Subject: `, within the 78 of a line that RFC 5322 (2.1.1) asks for.
 */
const ENCODED_WORD_BYTES = 42;

/**
 * The Subject header, as mail clients will show it. nodemailer passes a valid RFC 2047 encoded word on as
 * written (for callers that encode their own), and clients decode it: a watch named `=?UTF-8?B?cHJvZC1kYg==?=`
 * (an auto-tracked server's name, which any user of the tenant sets) was shown as `prod-db`, another server.
 * A subject holding `=?` is sent encoded whole, in words of whole characters, one to a folded line.
 */
function subjectHeader(subject: string): string | { prepared: boolean; value: string } {
  if (!subject.includes('=?')) return subject;
  const words: string[] = [];
  let word = '';
  let bytes = 0;
  for (const char of subject) {
    const size = Buffer.byteLength(char);
    if (bytes + size > ENCODED_WORD_BYTES) {
      words.push(word);
      word = '';
      bytes = 0;
    }
    word += char;
    bytes += size;
  }
  words.push(word);
  return { prepared: true, value: words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ') };
}

/**
 * The Message-ID for a delivery, the same on every attempt so that mail systems can drop a redelivery.
 * Characters a Message-ID may not hold (RFC 5322 dot-atom-text) become `_`.
 */
function messageIdFor(deliveryId: string): string {
  return `<${deliveryId.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '_')}@ecs-action-watch>`;
}
