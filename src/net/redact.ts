import { percentDecode } from './percentDecode.ts';

/** A name that says it holds a credential: a header's (X-Auth-Token, Authorization, X-Api-Key...) or a JSON key's (routing_key, token). */
const CREDENTIAL_NAME = /auth|token|key|secret|pass|cookie|signature/i;

// Written the same in JSON: printable ASCII but `"`, `\` and `/` (which some servers write `\/`), and what
// HTML-safe encoders write as \uXXXX: `<`, `>` and `&` (Go's encoding/json: \u003c), `=` and the apostrophe
// too (Java's Gson by default: \u003d, base64's and Basic's padding), and the quote, the apostrophe, `+` and
// the backquote (.NET's System.Text.Json by default, in upper case: \u0022 for \", \u0027, \u002B, \u0060).
// Anything else is escaped by JSON.stringify (control characters) or by some
// servers (everything past ASCII as \uXXXX: Python's json.dumps, which Keystone answers with, and .NET). A
// Fernet token or a hex key is plain: one form, no copy.
const PLAIN_IN_JSON = /^[\x20-\x21\x23-\x25\x28-\x2a\x2c-\x2e\x30-\x3b\x3f-\x5b\x5d-\x5f\x61-\x7e]*$/;
// What a URL's percent-encoding leaves as it is (encodeURIComponent), where a query or a form echoes a secret.
const PLAIN_IN_URL = /^[\w.!~*'()-]*$/;
const GO_ESCAPES = /[<>&]/g;
const GSON_ESCAPES = /[<>&=']/g;
const DOTNET_ESCAPES = /\\"|[<>&'+`]/g;

const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A header and its value as one text, as curl takes them (-H "Authorization: Bearer T"): the name is the match's first group. */
export const HEADER_AND_VALUE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*\S/;

/** Whether a header or a JSON key of this name carries a credential, so that its value is a secret. */
export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

// A secret's key as the watch file names it or as other tools spell it, or a name that ends in one:
// nodemailer's `pass`, Huawei's SDK's `sk` and `secret_key`, OS_PASSWORD in lower case, `api_token`,
// `signingSecret`. Read without case, `-` or `_`.
const SECRET_NAME = /(?:pass(?:word|wd|code)?|pwd|secret|token|(?:secret|secretaccess|api|private)key)$|^(?:pw|sk|key)$/;

/** Whether a key of the watch file by this name holds a secret, however a slip or a habit spelled it. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name.toLowerCase().replace(/[-_]/g, ''));
}

const HIDDEN = '<hidden>';

// A name and a value run into one key: the space after the colon left out (`password:hunter2`), the colon
// (`token gAAAA...`), an `=` or `;` for it, or curl's form of a header (`Authorization: Bearer T`).
const NAME_AND_VALUE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(\s*[:=;]\s*|\s+)\S/;

/**
 * A key of the watch file as a path or a message may show it: one that is a credential's name (or `url`,
 * a chat webhook's token being part of its URL) with its value written after it on the same line, as the
 * name and what separates them, its value `<hidden>`; any other key as it is.
 */
export function keyShown(key: string): string {
  const [, name, separator] = NAME_AND_VALUE.exec(key) ?? [];
  return name !== undefined && (isCredentialName(name) || isSecretName(name) || name.toLowerCase() === 'url') ? `${name}${separator}${HIDDEN}` : key;
}

// The forms of the secrets last redacted: a token is redacted from every answer of every poll made with it,
// and one of several KB that is not plain (Huawei IAM's, a temporary security token, base64 with + and /)
// took 0.3-0.6 ms a poll to escape in all its ways, ten times the rest of the poll. Plain ones (an AK/SK
// signature, new at each request) are not kept; a few are enough for the credentials in use at a time.
const FORMS_KEPT = 16;
const keptForms = new Map<string, readonly string[]>();

// An HTML page's (a receiver's error page: Flask's, Spring's): `&`, `<` and `>` as every framework writes
// them, and the quotes as each does: Python's html.escape, MarkupSafe's, Go's html/template (which writes
// `+` as `&#43;` too, a base64 token's), Spring's HtmlUtils and Ruby's ERB, PHP's htmlspecialchars.
const HTML_SPECIAL = /[&<>"'+]/g;
const HTML_BASE: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const HTML_ESCAPES: readonly Readonly<Record<string, string>>[] = [
  { '"': '&quot;', "'": '&#x27;' },
  { '"': '&#34;', "'": '&#39;' },
  { '"': '&#34;', "'": '&#39;', '+': '&#43;' },
  { '"': '&quot;', "'": '&#39;' },
  { '"': '&quot;', "'": '&#039;' },
];

function htmlForms(secret: string): string[] {
  if (secret.search(HTML_SPECIAL) === -1) return [];
  return HTML_ESCAPES.map((own) => secret.replace(HTML_SPECIAL, (c) => own[c] ?? HTML_BASE[c] ?? c));
}

/** The ways `secret` can stand in a text, itself first. */
function formsOf(secret: string): readonly string[] {
  if (PLAIN_IN_JSON.test(secret) && PLAIN_IN_URL.test(secret)) return [secret];
  let forms = keptForms.get(secret);
  if (forms === undefined) {
    forms = escapedForms(secret);
    if (keptForms.size >= FORMS_KEPT) keptForms.delete(keptForms.keys().next().value!);
    keptForms.set(secret, forms);
  }
  return forms;
}

function escapedForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const ascii = json.replace(/[\u0080-\uffff]/g, unicodeEscape);
  const lower = [json, ascii].flatMap((form) => [
    form,
    form.replace(GO_ESCAPES, unicodeEscape),
    form.replace(GSON_ESCAPES, unicodeEscape),
    form.replace(DOTNET_ESCAPES, (c) => unicodeEscape(c.at(-1)!)),
  ]);
  const escaped = [...lower, ...lower.map((form) => form.replace(/\\u[0-9a-f]{4}/g, (u) => u.toUpperCase().replace('\\U', '\\u')))];
  // Escaped once more: a request body quoted as a string inside a JSON message. Percent-encoded: a query or
  // a form that repeats it (`+` for a space in a form).
  const uri = encodeURIComponent(secret);
  const forms = [secret, ...escaped, ...escaped.map((f) => JSON.stringify(f).slice(1, -1)), uri, uri.replaceAll('%20', '+'), ...htmlForms(secret)];
  return [...new Set([...forms, ...forms.map((f) => f.replaceAll('/', '\\/'))])];
}

// A secret cut short is hidden too, as a quote that stops at N characters reads (`Authorization: Bearer
// eyJhbGci…`, a reply or a body cut to a size): a run of CUT_SHORT_MIN characters or more that starts one of
// a secret's forms but is not all of it, where the text ends (whitespace aside) or right before an ellipsis
// (`...`, `…`), a broken character between taken with it (U+FFFD: a quote cut by bytes, as Go slices a
// string, or by UTF-16 units, as JavaScript does, inside a character not ASCII). Bounds: a shorter start
// is shown, so a secret of 8 characters or fewer is hidden only whole; so is a cut not marked so (a quote
// closed after it, `[truncated]`), and a secret's middle or end. 8 characters of a token are as good as
// unique; an ordinary word is hidden only where it ends a text or meets an ellipsis and a secret starts
// with it ("password" of password123, the scheme of an Authorization value), nowhere else. Half the secret
// would not do: a receiver quotes 16 or 32 characters of a long token, less than half of it, and half of a
// short secret is a word. The cost, on every answer (redact runs on each poll's): a look for an ellipsis,
// then one indexOf a form from its length before the first cut (the end, in most answers), and a comparison
// at each hit.
const CUT_SHORT_MIN = 8;
// The ellipsis and U+FFFD escaped: esbuild writes a string's non-ASCII characters as escapes, a regex's as
// they are, and one such character makes V8 hold the bundle's whole chunk two bytes a character
// (test/deploy/image.test.ts).
const CUT_SHORT_AT = /\uFFFD*(?=\.\.\.|\u2026|\s*$)/y;

/**
 * `text` with each run that is `form` cut short (above) replaced by HIDDEN, looking from `firstCut`, the
 * first place a cut is seen in it (firstCut()): a run starts at most a form's length before its cut.
 */
function hideCutShort(text: string, form: string, firstCut: number): string {
  const start = form.slice(0, CUT_SHORT_MIN);
  let out = '';
  let from = 0;
  for (let at = text.indexOf(start, Math.max(0, firstCut - form.length)); at !== -1; ) {
    let end = at + CUT_SHORT_MIN;
    while (end < text.length && end - at < form.length && text[end] === form[end - at]) end++;
    CUT_SHORT_AT.lastIndex = end;
    const broken = end - at < form.length ? CUT_SHORT_AT.exec(text) : null;
    if (broken !== null) {
      out += text.slice(from, at) + HIDDEN;
      from = end + broken[0].length;
      at = text.indexOf(start, from);
    } else {
      at = text.indexOf(start, at + 1);
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Where `text` shows its first cut: an ellipsis, else its end (whitespace aside). */
function firstCut(text: string): number {
  return Math.min(...[text.indexOf('…'), text.indexOf('...')].filter((at) => at !== -1), text.trimEnd().length);
}

/**
 * `text` with each of `secrets` replaced by `<hidden>`, as written or escaped as JSON writes it, whole or
 * cut short (CUT_SHORT_MIN): for what a receiver or a cloud answered, which may repeat the request it got
 * (a gateway echoing its headers, a validation error quoting a field) and then becomes an error message, a
 * log line, a notification or the state. A secret under 4 characters is left alone: hiding it would garble
 * ordinary text. It runs on every answer to a request sent with credentials, each poll's included.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Found at the first secret long enough to be cut short, and again after each change.
  let cut: number | undefined;
  // Longest first: a secret that holds another (a URL its token, a password the user name) is hidden
  // whole, not around the shorter one with the rest of it left in view.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length < 4) continue;
    for (const form of formsOf(secret)) {
      if (out.includes(form)) {
        out = out.replaceAll(form, HIDDEN);
        cut = undefined;
      }
      if (secret.length <= CUT_SHORT_MIN) continue;
      const hidden = hideCutShort(out, form, (cut ??= firstCut(out)));
      if (hidden !== out) {
        out = hidden;
        cut = undefined;
      }
    }
  }
  return out;
}

const SIGNATURE = /\bSignature=([^,\s]+)/i;

/** A cookie's value as sent, and as a cookie parser reads it (the cookie package, Express's): out of its quotes, percent-decoded. */
function cookieValues(value: string): string[] {
  const unquoted = /^"(.*)"$/.exec(value)?.[1] ?? value;
  const read = percentDecode(unquoted);
  return read === value ? [value] : [value, read];
}

/** An authorization's scheme and its credentials (`Bearer T`, `Basic dXNlcjpwYXNz`), RFC 9110's form. */
const SCHEME_AND_CREDENTIALS = /^[A-Za-z][\w!#$%&'*+.^`|~-]* +(\S.*)$/;

/**
 * The values of `headers` that are credentials by their names; of one with a scheme, its credentials alone
 * too, and Basic's decoded with its password, and of a Cookie each cookie's value: a receiver may repeat
 * just the token it refused.
 */
export function credentialsIn(headers: Readonly<Record<string, string>>): string[] {
  const values: string[] = [];
  for (const name in headers) {
    if (!isCredentialName(name)) continue;
    const value = headers[name]!;
    values.push(value);
    // Each cookie's value alone (`lang=en; session=X`): a receiver names the session it refused, not the header.
    if (/^cookie$/i.test(name)) values.push(...value.split(';').flatMap((pair) => cookieValues(pair.slice(pair.indexOf('=') + 1).trim())));
    const credentials = SCHEME_AND_CREDENTIALS.exec(value)?.[1];
    if (credentials === undefined) continue;
    values.push(credentials);
    // A signature scheme's (SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=<hex>): the hex alone.
    const signature = SIGNATURE.exec(credentials)?.[1];
    if (signature !== undefined) values.push(signature);
    if (!/^basic /i.test(value)) continue;
    const decoded = Buffer.from(credentials, 'base64').toString();
    values.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
  }
  return values;
}
