// Field schemas shared by several sections of the watch file. Each carries its own message, written for
// the person editing the file: what was wrong and the form that would be accepted. Values that may be
// secrets (tokens, passwords, URLs with credentials) are never quoted back.

import cron from 'node-cron';
import * as z from 'zod';
import { hasLogin } from '../net/basicCredentials.ts';
import { isHttpFieldText, NOT_HTTP_FIELD_TEXT_PROBLEM } from '../net/httpFieldText.ts';
import { keyShown } from '../net/redact.ts';
import { isMapping } from '../data/dictionary.ts';
import { NOTIFY_EVENTS } from '../model.ts';
import { meant } from '../text/closest.ts';
import { clipped, quoted } from '../text/clipped.ts';

const UNIT_MS = new Map([
  ['ms', 1],
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
]);
// Sticky: each part of `1h30m` must start where the one before it ended.
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
const DURATION_FORMS = 'a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s';
// Every duration may end up in a setTimeout, which fires after 1 ms for anything longer than 2^31-1 ms.
const MAX_DURATION = '24d';
const MAX_DURATION_MS = 24 * 86_400_000;

/**
 * `500ms`, `1.5h`, `1h30m`... in milliseconds, or what is wrong with it, for the person who wrote it. The
 * units go from the largest down, each once, as Prometheus has them: `30m1h` or `1m1m` is more likely a
 * slip than meant.
 */
function readDuration(text: string): { ms: number } | { problem: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { problem: `is empty: write a duration as ${DURATION_FORMS} (${EMPTY_FROM_ENV})` };
  if (/^\d+(\.\d+)?$/.test(trimmed)) return { problem: `${quoted(text)} has no unit: write a duration as ${DURATION_FORMS}` };
  let ms = 0;
  let at = 0;
  let previous: { unit: string; scale: number } | undefined;
  while (at < trimmed.length) {
    DURATION_PART.lastIndex = at;
    const part = DURATION_PART.exec(trimmed);
    const unit = part?.[2] ?? '';
    const scale = UNIT_MS.get(unit);
    if (part === null || scale === undefined) {
      const rest = at === 0 ? '' : ` (${quoted(trimmed.slice(at))} after ${clipped(trimmed.slice(0, at))} is not a number and a unit)`;
      return { problem: `${quoted(text)} is not a duration${rest}: write ${DURATION_FORMS}` };
    }
    if (previous !== undefined && scale >= previous.scale) {
      return { problem: `${quoted(text)} is not a duration: write its units from the largest down, each once (${unit} comes after ${previous.unit}), e.g. 1h30m` };
    }
    ms += Number(part[1]) * scale;
    previous = { unit, scale };
    at = DURATION_PART.lastIndex;
  }
  ms = Math.round(ms);
  // Timers count whole milliseconds: one is the shortest time there is (0.4ms would be none at all).
  if (ms < 1) return { problem: `${quoted(text)} is too short: at least 1ms` };
  if (ms > MAX_DURATION_MS) return { problem: `${quoted(text)} is too long: at most ${MAX_DURATION}` };
  return { ms };
}

// Editors check a field against these as it is typed (the JSON Schema, `npm run schema`); zod's checks
// above stay the ones that decide and explain (the order of the units is theirs alone).
const DURATION_JSON_PATTERN = '(\\d+(\\.\\d+)?(ms|s|m|h|d))+';
const DURATION_JSON = { pattern: `^\\s*${DURATION_JSON_PATTERN}\\s*$`, description: `A duration: ${DURATION_FORMS}` };

/** A duration string in, milliseconds out. */
export function duration() {
  return durationText().transform(toMilliseconds).meta(DURATION_JSON);
}

export const DURATION_OR_OFF_JSON = { pattern: `^\\s*(off|${DURATION_JSON_PATTERN})\\s*$`, description: `A duration (${DURATION_FORMS}), or off` };

/** A duration, or `off` (null) for a feature turned off. */
export function durationOrOff() {
  // `off` is the other value the key takes, and the one a person who wants none is looking for (who may
  // have written `false`).
  return durationText(OR_OFF)
    .transform((text, ctx) => {
      if (text.trim() === 'off') return null;
      // `auto`, written where poll.warnAfter's was meant, would otherwise read as a duration misspelt.
      const auto = text.trim() === 'auto' ? " (auto is for poll.warnAfter as a whole: leave this key out to take the duration poll.warnAfter gives the action's type)" : '';
      return toMilliseconds(text, ctx, `${OR_OFF}${auto}`);
    })
    .meta(DURATION_OR_OFF_JSON);
}

const OR_OFF = '; or off for none';

/** `otherwise`: what else the key takes, said after why the value is no duration. */
function durationText(otherwise = '') {
  return z.string({
    error: (iss) => {
      const input = iss.input;
      if (typeof input === 'number' && !Number.isFinite(input)) return `expected a duration, got ${numberText(input)}: write ${DURATION_FORMS}${otherwise}`;
      if (typeof input === 'number') return `${input} has no unit: write a duration as ${DURATION_FORMS}${otherwise}`;
      // Left out: the common wording. Anything else is no text to put in quotes, but a duration to write.
      if (input === undefined) return undefined;
      if (input === null) return `is empty: write a duration as ${DURATION_FORMS}, or leave the key out${otherwise}`;
      const got = Array.isArray(input) ? 'a list' : typeof input === 'object' ? 'a mapping' : String(input);
      return `expected a duration, got ${got}: write ${DURATION_FORMS}${otherwise}`;
    },
  });
}

/** `otherwise`: what else the key takes, said after why the text is no duration. */
function toMilliseconds(text: string, ctx: z.core.$RefinementCtx<string>, otherwise = ''): number {
  const read = readDuration(text);
  if ('ms' in read) return read.ms;
  ctx.issues.push({ code: 'custom', input: text, message: `${read.problem}${otherwise}` });
  return z.NEVER;
}

/** A number as a message shows it: YAML's .nan and .inf (which a number too large to hold becomes too) by name, not as NaN or Infinity. */
export function numberText(value: number): string {
  if (Number.isNaN(value)) return '.nan (not a number)';
  if (!Number.isFinite(value)) return `${value < 0 ? '-' : ''}.inf (infinity, or a number too large to hold, such as 1e309)`;
  return String(value);
}

/** Why a value that must not be empty may be: most often a variable. */
export const EMPTY_FROM_ENV = 'a ${VAR} set to "" or a ${VAR:-} with an empty default gives that; leave the key out for its default';

// Numbers and booleans arrive as strings when they come from `${VAR}`, which only ever yields text.
const fromEnvText = (parse: (text: string) => unknown) => (value: unknown) =>
  typeof value === 'string' ? (parse(value.trim()) ?? value) : value;

/** A whole number in [min, max]; also the decimal text of one. */
export function integer(min: number, max: number) {
  return alsoWrittenAs(
    z.preprocess(
      fromEnvText((text) => (/^-?\d+$/.test(text) ? Number(text) : undefined)),
      // The range first, and alone: z.int()'s own bounds (±2^53-1) would say a second, looser one of 1e20.
      z.number().min(min, { abort: true }).max(max, { abort: true }).int(),
    ),
    // Its range is the loader's to check then, as for a ${VAR}.
    { type: 'string', pattern: '^\\s*-?\\d+\\s*$' },
  );
}

// YAML 1.2's core schema reads these written in the file: a variable's `True` is no less meant.
const BOOLEAN_TEXT = new Map([...['true', 'True', 'TRUE'].map((t) => [t, true] as const), ...['false', 'False', 'FALSE'].map((t) => [t, false] as const)]);

/** `true` or `false`; also their text. */
export function boolean() {
  return alsoWrittenAs(
    z.preprocess(
      fromEnvText((text) => BOOLEAN_TEXT.get(text)),
      z.boolean(),
    ),
    { type: 'string', pattern: `^\\s*(${[...BOOLEAN_TEXT.keys()].join('|')})\\s*$` },
  );
}

const RATE = /^(\d+)\/(s|m|h)$/;

/** `50/s`, `600/m`, `1000/h` → at most `count` requests in any `perMs`. */
export function rateLimit() {
  const forms = 'a count per unit, e.g. 50/s, 600/m or 1000/h';
  return z
    .string({ error: `expected a rate: ${forms}` })
    .transform((text, ctx) => {
      const match = RATE.exec(text.trim());
      const perMs = UNIT_MS.get(match?.[2] ?? '');
      const count = Number(match?.[1] ?? 0);
      if (perMs === undefined || count < 1) {
        ctx.issues.push({ code: 'custom', input: text, message: `${quoted(text)} is not a rate: write ${forms}` });
        return z.NEVER;
      }
      return { count, perMs };
    })
    .meta({ pattern: '^\\s*\\d+/(s|m|h)\\s*$', description: `A rate: ${forms}` });
}

/** A rate as rateLimit() reads it, written back: `{ count: 600, perMs: 60_000 }` is `600/m`. */
export function rateText({ count, perMs }: { count: number; perMs: number }): string {
  return `${count}/${['s', 'm', 'h'].find((unit) => UNIT_MS.get(unit) === perMs)}`;
}

/** node-cron's names of the fields, as the message that lists them writes them. */
const CRON_FIELD_NAMES: Record<string, string> = { dayOfMonth: 'day-of-month', dayOfWeek: 'day-of-week' };

/** A node-cron expression; a leading seconds field is allowed. */
export function cronExpression() {
  return z.string().superRefine((expression, ctx) => {
    const { valid, errors } = cron.validateDetailed(expression);
    if (valid) {
      if (!everFires(expression)) {
        ctx.addIssue({
          code: 'custom',
          input: expression,
          message:
            `${quoted(expression)} never fires: no time in the next 100 years matches every field (node-cron takes a day only when ` +
            'both day-of-month and day-of-week match it, where other crons take either); write one that does, e.g. "*/15 * * * * *"',
        });
      }
      return;
    }
    const reason = errors
      .map((e) => {
        if (e.field === 'expression') return e.message;
        // A day each month named lacks (31 in 2 or 4): valid alone, so said as such.
        if (e.field === 'dayOfMonth' && /impossible/.test(e.message)) return `day-of-month ${quoted(e.value ?? '')} never comes in the months given`;
        return `${CRON_FIELD_NAMES[e.field] ?? e.field} ${quoted(e.value ?? '')} is not valid`;
      })
      .join(', ');
    ctx.addIssue({
      code: 'custom',
      input: expression,
      message:
        `${quoted(expression)} is not a cron expression (${reason}): write 5 or 6 fields, ` +
        `[second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *"`,
    });
  }).meta({ description: 'A node-cron expression: [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *"' });
}

/**
 * Whether node-cron finds a next time for a valid expression: it looks 100 years ahead, and one that matches
 * none (`0 0 1 * 1#5`, the 1st of a month that is its fifth Monday; `0 0 30 2 *`) passes its validation yet
 * throws when scheduled, at `run`'s start or at a reload. Asked in UTC: a day exists in every zone, and a
 * schedule in UTC makes no Intl object in the bundle (scripts/bundleRules.ts). Asked only of one whose
 * day-of-month is set with its month or day-of-week, the only fields that can rule each other out: a task
 * node-cron makes loads node:crypto for its id, which a one-shot command with the default schedule need not.
 */
function everFires(expression: string): boolean {
  const [dayOfMonth, month, dayOfWeek] = fieldsOf(expression).slice(-3);
  if (isAny(dayOfMonth) || (isAny(month) && isAny(dayOfWeek))) return true;
  const task = cron.createTask(expression, () => undefined, { timezone: 'UTC' });
  try {
    task.getNextRuns(1);
    return true;
  } catch {
    return false;
  } finally {
    void task.destroy();
  }
}

// node-cron's nicknames, read as it reads them (trimmed, in any case): of these only @hourly names no hour.
const NICKNAMES = new Map([['@hourly', '0 * * * *'], ['@daily', '0 0 * * *'], ['@midnight', '0 0 * * *'], ['@weekly', '0 0 * * 0'], ['@monthly', '0 0 1 * *'], ['@yearly', '0 0 1 1 *'], ['@annually', '0 0 1 1 *']]);

/**
 * True for a cron expression whose hour, day-of-month, month and day-of-week are all `*` (or `?`, which
 * node-cron reads as `*` in the day fields): it means the same in every zone.
 */
export function namesNoHourDayOrMonth(expression: string): boolean {
  const [hour, dayOfMonth, month, dayOfWeek] = fieldsOf(expression).slice(-4);
  return hour === '*' && isAny(dayOfMonth) && month === '*' && isAny(dayOfWeek);
}

/** The fields of an expression, as node-cron reads them (a nickname as what it stands for). */
function fieldsOf(expression: string): string[] {
  const trimmed = expression.trim();
  return (NICKNAMES.get(trimmed.toLowerCase()) ?? trimmed).split(/\s+/);
}

/** `*`, or `?`, which node-cron reads as `*` in the day fields. */
const isAny = (field: string | undefined) => field === '*' || field === '?';

// What editors check of one (the JSON Schema): its scheme, as URL.parse reads it, after spaces and in any case.
const HTTP_URL_JSON_PATTERN = '^\\s*[Hh][Tt][Tt][Pp][Ss]?://';

/**
 * An absolute http(s) URL, with what is wrong with one that is not, where that can be told. Not quoted
 * back: webhook URLs often carry a token. `bare`: an API's address, to which a user name, password, query
 * or fragment in it would not be sent (credentials go in the auth settings): refused rather than dropped.
 */
export function httpUrl(example: string, options: { bare?: boolean } = {}) {
  return z.string().superRefine((text, ctx) => {
    const url = URL.parse(text.trim());
    const problem =
      url === null ? whyNoUrl(text.trim())
      : url.protocol !== 'http:' && url.protocol !== 'https:' ? ': its scheme is neither http nor https'
      : options.bare ? extraParts(url)
      : undefined;
    if (problem === undefined) return;
    ctx.addIssue({ code: 'custom', input: text, message: `expected an http:// or https:// URL, e.g. ${example}${problem}` });
  }).meta({ pattern: HTTP_URL_JSON_PATTERN, description: `An http:// or https:// URL, e.g. ${example}` });
}

// Up to the port: scheme, user name and password, host (an IPv6 one in brackets).
const URL_PORT = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*):(\d+)(?:[/?#]|$)/;

/** Why `text`, which URL.parse refused, is no URL, as the end of a message (`: ...`); '' when that cannot be told. */
function whyNoUrl(text: string): string {
  if (text === '') return '';
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) return ': it has no scheme (write https:// or http:// before the host)';
  const port = URL_PORT.exec(text)?.[1];
  return port !== undefined && Number(port) > 65535 ? `: its port ${port} is above 65535` : '';
}

/** What of an API's address would not be sent to it, as the end of a message; undefined for none. */
function extraParts(url: URL): string | undefined {
  if (hasLogin(url)) return ': it holds a user name or password, which are not sent to it (credentials go under cloud.auth): leave them out';
  if (url.search !== '' || url.hash !== '') return ': it holds a query or a fragment (?... or #...), which is not sent: leave it out';
  return undefined;
}

/**
 * An IP address to listen on, not a host name: a name may resolve to another address than the one meant,
 * or to none when the daemon starts. zod's patterns rather than node:net's isIP, which `validate` would
 * load for this one field.
 */
export function listenAddress() {
  return z.string().refine((text) => z.regexes.ipv4.test(text) || z.regexes.ipv6.test(text), {
    error: (iss) => {
      const bracketed = /^\[(.*)\]$/.exec(String(iss.input))?.[1];
      const unbracketed = bracketed !== undefined && z.regexes.ipv6.test(bracketed) ? `; write it without the brackets a URL puts around it: ${bracketed}` : '';
      return `expected an IP address of this machine to listen on: :: (every interface, IPv6 and IPv4), 0.0.0.0 (every IPv4 interface), 127.0.0.1 or ::1 (this machine only)${unbracketed}`;
    },
  }).meta({
    pattern: `(?:${z.regexes.ipv4.source})|(?:${z.regexes.ipv6.source})`,
    description: 'An IP address of this machine to listen on, e.g. :: (every interface, IPv6 and IPv4), 0.0.0.0 (every IPv4 interface) or 127.0.0.1 (this machine only)',
  });
}

const LINE_BREAK = /[\r\n]/;
const ONE_LINE = 'must be one line: it contains a line break (CR or LF), which would end the header it is sent in';

/**
 * A value sent in a protocol header (a token, an HTTP header, a mail address). A line break would end
 * the header early: rejected here rather than failing every request for hours. Not quoted back.
 */
export function headerValue() {
  return z.string().refine((text) => !LINE_BREAK.test(text), { message: ONE_LINE });
}

/**
 * A secret sent in no header (a password, a secret key), whose `<key>File` is read without the newline
 * around it: given by a variable read from a file (a Kubernetes Secret made from one), it keeps the file's
 * last newline, and sent with it, the cloud's refusal would blame the secret, which is right. Not quoted back.
 */
export function oneLineSecret(fileKey: string) {
  return z.string().refine((text) => !LINE_BREAK.test(text), {
    // A variable that ends in one is named after it (load.ts endsInLineBreak).
    message: `must be one line: it contains a line break (CR or LF), which a YAML | block adds too: remove it, or name the file under cloud.auth.${fileKey}, which is read without it`,
  });
}

/**
 * A value sent in an HTTP header (a token, a webhook's header): one line, and nothing undici refuses, which
 * would otherwise fail every request (or every delivery until it is given up) with no line to look at.
 */
export function httpHeaderValue() {
  return headerValue().refine(isHttpFieldText, { message: `holds ${NOT_HTTP_FIELD_TEXT_PROBLEM}` });
}

/**
 * A server's id, as a URL's path carries it: Nova's and Huawei's are UUIDs. A character a URL would escape
 * (a space copied along, a /, ?, # or %) is no id, and would end as not_found two minutes later.
 */
export function serverId() {
  // `.` and `..` alone are a URL's dot-segments, which step out of the path rather than name a server.
  return z.string().min(1).regex(/^(?!\.+$)[A-Za-z0-9._~-]*$/, {
    error: (iss) => `expected a server id: letters, digits, -, ., _ and ~, e.g. 2b2e4c5a-4a6d-4b9c-9d2f-3f1e5c7a9b10${strayCharacter(iss.input, /[A-Za-z0-9._~-]/)}`,
  });
}

/**
 * For a path that starts with `~` (`~/ecs/state.json`), what a shell would read as the home folder: what
 * names it here, as the end of a sentence about the path; undefined for any other. No shell reads the watch
 * file, and Node reads such a path as a folder named ~ in the working folder.
 */
export function homeTilde(path: string): string | undefined {
  const rest = /^~(?=\/|$)/.test(path) ? path.slice(1) : undefined;
  return rest === undefined ? undefined : `write the path from /, or \${HOME}${rest}`;
}

/** Said of a path that starts with ~, before homeTilde's way out. */
export const NO_HOME_HERE = '~ names no home folder here, as no shell reads this file';

/** What a project id's character may be: visible ASCII, no space of any kind (a no-break space too). */
const PROJECT_ID_CHARACTER = /[\x21-\x7e]/;

/**
 * A project's id, as a URL's path and AK/SK's signed X-Project-Id carry it: Nova's and Huawei's are 32 hex
 * digits. A space copied along from a web console (a no-break space there) is said here, at its line:
 * sent, the cloud's refusal of every poll would blame the project or, with AK/SK, the access key. A
 * character beyond Latin-1 (a dash an editor made typographic) cannot go in a header at all: with AK/SK
 * every poll failed unsent, as a fault of ours.
 */
export function projectId() {
  return z.string().min(1).regex(/^[\x21-\x7e]*$/, {
    error: (iss) => `expected a project id: visible ASCII characters, no spaces, e.g. 89655fe61c4c4a08b9f3e7f9095441b8${strayCharacter(iss.input, PROJECT_ID_CHARACTER)}`,
  });
}

/**
 * Which character of an id `character` (what one of its characters may be) does not take, and where, as
 * the end of a message: a space copied along, a `_`, a line end, which the id's text does not show.
 * '' when it takes every one. Ids are no secrets: quoted.
 */
export function strayCharacter(input: unknown, character: RegExp): string {
  if (typeof input !== 'string') return '';
  const characters = [...input];
  const at = characters.findIndex((c) => !character.test(c));
  if (at === -1) return '';
  const stray = characters[at]!;
  return `; ${quoted(input)} has ${stray === ' ' ? 'a space' : quoted(stray)} at character ${at + 1}`;
}

const NAMED_ADDRESS = /^[^<>]*<([^<>]+)>$/;

/** The address alone of an `emailAddress()`: `ops@example.com` of `Ops Team <ops@example.com>`. */
export function bareAddress(text: string): string {
  return NAMED_ADDRESS.exec(text.trim())?.[1] ?? text.trim();
}

// What a browser's <input type=email> takes, with letters, marks and digits of any script besides, which
// SMTPUTF8 (RFC 6531) allows in a local part and nodemailer sends with it where the relay offers it. Its
// domain: unlike zod's default, one without a dot too, which internal relays deliver to (root@localhost,
// ops@mailhost); labels of at most 63 characters, as DNS has them.
const LOCAL_PART = /^[\p{L}\p{M}\p{N}.!#$%&'*+/=?^_`{|}~-]+$/u;
const ASCII_DOMAIN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
// An internationalised domain's labels: letters, marks and digits, hyphens between them. URL's host parser
// alone would take more (a symbol, a fullwidth dot, a hyphen that starts a label).
const UNICODE_DOMAIN = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?(?:\.[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?)*$/u;
const NOT_ASCII = /\P{ASCII}/u;

/**
 * A mail domain as DNS and nodemailer write it: an internationalised one (bücher.de) as its A-labels
 * (xn--bcher-kva.de), lowercased as IDNA maps it; '' for one IDNA refuses (a label starting with an accent).
 * An ASCII one as it is.
 */
export function asciiDomain(domain: string): string {
  if (!NOT_ASCII.test(domain)) return domain;
  return UNICODE_DOMAIN.test(domain) ? (URL.parse(`http://${domain}/`)?.hostname ?? '') : '';
}

function isEmailAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return at > 0 && LOCAL_PART.test(address.slice(0, at)) && ASCII_DOMAIN.test(asciiDomain(address.slice(at + 1)));
}

/** `ops@example.com` or `Ops Team <ops@example.com>`, as mail headers allow; `ops@bücher.de` too. */
export function emailAddress() {
  return headerValue().refine(
    (text) => isEmailAddress(bareAddress(text)),
    {
      error: (iss) =>
        `${quoted(String(iss.input))} is not an email address: write ops@example.com or "Ops Team <ops@example.com>"`,
    },
  ).meta({ pattern: '@', description: 'An email address: ops@example.com or "Ops Team <ops@example.com>"' });
}

/** YAML 1.1's merge key, which compose files and CI configurations use: the file is read as YAML 1.2. */
export const MERGE_KEY = `'<<' merges a mapping in YAML 1.1, which this file is not read as: write the keys out (an alias still repeats a whole value, as in notify: *team)`;

/**
 * A mapping that rejects keys it does not know, so that a misspelt key is an error instead of ignored. An
 * unknown key is named with the allowed ones, and either what `elsewhere` says of it (a key of another kind
 * of the same entry) or the key it most likely meant. zod gives all the unknown keys of a mapping as one
 * issue; each is a slip of its own, to be told at its own line: the issue's message holds one line per key,
 * in the order of its `keys`, which keyMessages takes apart.
 */
export function strict<Shape extends z.ZodRawShape>(shape: Shape, elsewhere: Readonly<Record<string, string>> = {}) {
  const names = Object.keys(shape);
  const allowed = names.join(', ');
  const unknownKey = (key: string) => {
    const other = Object.hasOwn(elsewhere, key) ? `; ${elsewhere[key]}` : meant(key, names);
    return `unknown key ${quoted(keyShown(key))} (allowed: ${allowed})${other}${key === '<<' ? `; ${MERGE_KEY}` : ''}`;
  };
  return z.strictObject(shape, {
    // A key is quoted with its line breaks escaped: a message is one line.
    error: (iss) => (iss.code === 'unrecognized_keys' ? iss.keys.map(unknownKey).join('\n') : undefined),
  });
}

/** The message of each key of an issue of unknown keys (`unrecognized_keys`) that strict() raised, in the order of its `keys`. */
export function keyMessages(message: string): string[] {
  return message.split('\n');
}

/**
 * What a value may also be written as, besides what the JSON Schema zod makes of its schema says: a
 * preprocessing step (a key with nothing after it read as left out, a number's text read as the number)
 * is invisible to z.toJSONSchema, and an editor would flag what `validate` takes. ./jsonSchema.ts offers
 * each form as an alternative.
 */
export const ALSO_WRITTEN_AS = z.registry<{ forms: readonly z.core.JSONSchema.BaseSchema[] }>();

function alsoWrittenAs<T extends z.ZodType>(schema: T, ...forms: z.core.JSONSchema.BaseSchema[]): T {
  ALSO_WRITTEN_AS.add(schema, { forms });
  return schema;
}

const NOTHING: z.core.JSONSchema.BaseSchema = { type: 'null' };

/** `key:` with nothing after it means the same as leaving the key out. */
export function orEmpty<T extends z.ZodType>(schema: T) {
  return alsoWrittenAs(z.preprocess((value) => (value === null ? undefined : value), schema), NOTHING);
}

/** An optional string for which `""` (typically `${VAR:-}`) also means "not set". */
export function optionalText<T extends z.ZodType<string>>(schema: T) {
  return alsoWrittenAs(z.preprocess((value) => (value === '' || value === null ? undefined : value), schema.optional()), NOTHING, { type: 'string', maxLength: 0 });
}

/** A notifier's `on:` filter: the outcomes it is told about, and `slow` for early warnings; all by default. */
export function outcomes() {
  return orEmpty(z.array(z.enum(NOTIFY_EVENTS)).min(1).prefault([...NOTIFY_EVENTS]));
}

/**
 * The options of a check across an object's keys. zod skips such a check once any key of the object has
 * the wrong type, so `validate` would not list what it finds (a password missing beside a port written as
 * text) until that key is fixed. It runs whenever the value is a mapping, on the keys as written: it must
 * take a value of any type.
 */
export const ACROSS_KEYS = { when: (payload: { value: unknown }) => isMapping(payload.value) };

/**
 * For keys that say the same thing two ways (`token` or `tokenFile`, `projectId` or `projectName`):
 * exactly one of them, or at most one when `required` is false.
 */
export function oneOf(config: Record<string, unknown>, ctx: z.RefinementCtx, keys: readonly [string, string], required = true): void {
  const [a, b] = keys;
  if (config[a] !== undefined && config[b] !== undefined) {
    ctx.addIssue({ code: 'custom', path: [b], input: undefined, message: `set ${a} or ${b}, not both` });
  } else if (required && config[a] === undefined && config[b] === undefined) {
    ctx.addIssue({ code: 'custom', path: [a], input: undefined, message: `required: ${a} (or ${b})` });
  }
}
