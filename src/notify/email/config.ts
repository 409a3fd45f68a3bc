// The `type: email` entry of `notifiers:` in the watch file: what each key accepts and its default.
import * as z from 'zod';
import { ACROSS_KEYS, boolean, duration, emailAddress, integer, optionalText, outcomes, strict } from '../../config/fields.ts';
import { urlWithLogin } from '../../net/basicCredentials.ts';
import { quoted } from '../../text/clipped.ts';
import { emailTemplate } from '../template/config.ts';
import type { NotifierWarning } from '../types.ts';

/** A name or an IPv4 address: labels between dots, and a last dot for a name not to be searched for. */
const HOST_NAME = /^[\p{L}\p{N}_-]+(?:\.[\p{L}\p{N}_-]+)*\.?$/u;

/**
 * The server alone: a port or a scheme written with it (`smtp.example.com:587`, `smtp://smtp.example.com`)
 * would be looked up as part of the name, and every mail fail to send, long after `validate` passed.
 */
const smtpHost = () =>
  z
    .string()
    .min(1, { abort: true })
    .refine((text) => HOST_NAME.test(text) || z.regexes.ipv6.test(text), {
      error: (iss) => notHost(String(iss.input)),
    });

/** What to write instead of `text`; a URL with a login, as many mailers take (smtps://user:password@host:465), not quoted. */
function notHost(text: string): string {
  const url = urlWithLogin(text);
  if (url === null) {
    return `${quoted(text)} is not a host: write a host name or address only, e.g. smtp.example.com or 10.0.0.25; the port goes in smtp.port`;
  }
  return `a URL with a login, not a host: write its host alone, ${url.hostname}, its port in smtp.port, and its user name and password in smtp.user and smtp.password`;
}

/** SMTP over implicit TLS (RFC 8314): its server says nothing until the client's TLS handshake. */
const IMPLICIT_TLS_PORT = 465;
/** What mends a plain session to IMPLICIT_TLS_PORT, which waits for a greeting that never comes, as the server waits for a handshake. */
const IMPLICIT_TLS_ADVICE = `port ${IMPLICIT_TLS_PORT} speaks TLS from the start: set smtp.secure: true, or use port 587 for STARTTLS`;

const SmtpSchema = strict({
  host: smtpHost(),
  // Left out: 465 with secure (implicit TLS), else 587 (submission, STARTTLS): a secure session on 587
  // would meet a server that greets in clear, and never send.
  port: integer(1, 65535).optional().meta({ description: 'default: 587, or 465 with secure: true' }),
  secure: boolean().default(false),
  user: optionalText(z.string()),
  password: optionalText(z.string()),
  timeout: duration().prefault('30s'),
  // Sessions open at once, each sending message after message: relays commonly cap one client's sessions,
  // hosted ones at a handful, and refuse one more with a 421, which a wave would then wait out in backoff.
  connections: integer(1, 64).default(3),
}).superRefine((smtp, ctx) => {
  if ((smtp.user === undefined) === (smtp.password === undefined)) return;
  const [set, missing] = smtp.user === undefined ? ['password', 'user'] : ['user', 'password'];
  ctx.addIssue({ code: 'custom', path: [set], input: undefined, message: `${set} is set but ${missing} is not: set both, or neither for no login` });
}, ACROSS_KEYS).transform((smtp) => ({ ...smtp, port: smtp.port ?? (smtp.secure ? IMPLICIT_TLS_PORT : 587) }));

export const EmailConfigSchema = strict({
  type: z.literal('email'),
  smtp: SmtpSchema,
  from: emailAddress(),
  to: z.array(emailAddress()).min(1),
  on: outcomes(),
  /** Absent: the default subject and text. */
  template: emailTemplate(),
});

export type EmailNotifierConfig = z.output<typeof EmailConfigSchema>;

/**
 * A plain session to the port of implicit TLS fails every mail with a greeting timeout, after retries for
 * delivery.maxAge. A warning, not an error: some relays do run plain SMTP on 465.
 */
export function emailWarnings(config: EmailNotifierConfig): NotifierWarning[] {
  if (config.smtp.secure || config.smtp.port !== IMPLICIT_TLS_PORT) return [];
  return [{
    path: ['smtp', 'port'],
    message: `${IMPLICIT_TLS_ADVICE} (with smtp.secure false, every mail would wait for a greeting such a server never sends, and time out; a relay that does speak plain SMTP on ${IMPLICIT_TLS_PORT} may keep it)`,
  }];
}

/** Keys of this config whose values are secrets, redacted wherever a log line carries them. */
export const EMAIL_SECRET_KEYS = ['password'] as const;
