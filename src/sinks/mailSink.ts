import type { AddressInfo } from 'node:net';
import { listenOn } from './listen.ts';
import type { SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** Lower-case names, folded lines joined. */
  headers: Map<string, string>;
  /** Quoted-printable or base64 decoded, `\n` line ends. */
  body: string;
  /** Its encoded words decoded. */
  subject: string;
  messageId: string;
}

export interface MailSink {
  host: string;
  port: number;
  received: ReceivedMail[];
  close(): Promise<void>;
}

/** Quoted-printable's bytes: `=XX` is the byte XX. */
const quotedPrintable = (text: string) => Buffer.from(text.replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');

const ENCODED_WORD = /=\?[^?]+\?([BQ])\?([^?]*)\?=/gi;
/** Encoded words one after the other, with only white space between them, which is part of neither (RFC 2047, 6.2). */
const ENCODED_WORDS = new RegExp(`${ENCODED_WORD.source}(?:\\s+${ENCODED_WORD.source})*`, 'gi');

/**
 * RFC 2047's encoded words, in which nodemailer writes a header that is not ASCII (`=?UTF-8?Q?...?=`), always
 * in UTF-8. Those of a run are decoded together: a character's bytes may be split between two.
 */
function decodeWords(value: string): string {
  return value.replace(ENCODED_WORDS, (run) =>
    Buffer.concat([...run.matchAll(ENCODED_WORD)].map(([, encoding, text = '']) => (encoding!.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : quotedPrintable(text.replaceAll('_', ' '))))).toString('utf8'),
  );
}

/** Enough of RFC 5322, 2047 and the transfer encodings to read what nodemailer writes. */
function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.slice(split + 4);
  const encoding = headers.get('content-transfer-encoding');
  // nodemailer writes a text that is mostly not ASCII (Chinese, say) in base64, any other in quoted-printable.
  if (encoding === 'quoted-printable') body = quotedPrintable(body.replace(/=\r\n/g, '')).toString('utf8');
  if (encoding === 'base64') body = Buffer.from(body, 'base64').toString('utf8');
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

/**
 * A local SMTP server on loopback (the `smtp-server` package, a dev dependency, so it is loaded only
 * when a demo or a test asks for it). It accepts any credentials and offers no STARTTLS (its certificate
 * would be self-signed, and we verify certificates); `smtp` overrides its options, e.g. to refuse a recipient.
 */
export async function startMailSink(
  options: {
    onReceive?: (mail: ReceivedMail) => void;
    /** The answer to a message's DATA: an SMTP refusal (a 451, a 554) leaves it untaken, and out of `received`. */
    refuse?: (mail: ReceivedMail) => { responseCode: number; message: string } | null;
    smtp?: Partial<SMTPServerOptions>;
    port?: number;
  } = {},
): Promise<MailSink> {
  const { SMTPServer } = await import('smtp-server').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(
      'the local mail sink needs smtp-server, a dev dependency that a production install (npm ci --omit=dev, the container image) leaves out: run demo or simulator from a full checkout after npm ci',
      { cause: err },
    );
  });
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    // Sessions still open at close() end after this, rather than smtp-server's 30 s: a mail notifier keeps
    // its idle sessions for a few seconds, and a sink closes when its demo or test is done.
    closeTimeout: 100,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'sink' }),
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const { headers, body } = parseMessage(raw);
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          headers,
          body,
          subject: decodeWords(headers.get('subject') ?? ''),
          messageId: headers.get('message-id') ?? '',
        };
        const refusal = options.refuse?.(mail) ?? null;
        if (refusal !== null) {
          callback(Object.assign(new Error(refusal.message), { responseCode: refusal.responseCode }));
          return;
        }
        received.push(mail);
        options.onReceive?.(mail);
        callback();
      });
    },
    ...options.smtp,
  });
  // smtp-server re-emits socket and listen errors; unheard, an 'error' event ends the process. listenOn
  // reports a failed listen, and a client's broken connection is no concern of a sink.
  server.on('error', () => undefined);
  await listenOn(server.server, options.port ?? 0, 'mail sink');
  const { port } = server.server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    received,
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}
