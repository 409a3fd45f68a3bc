// A secret written inline and unquoted is read by YAML as what its first character makes it (`*` an alias,
// `!` a tag, `|` a block scalar) or, holding ": ", as a mapping; YAML's problem then quotes it (`*Xk9...
// names no anchor`), or the path names it as a key (`cloud.auth.password.Summer2024`). Such a problem is
// printed by `validate` and logged at every reload of the watch file: what it quotes of a secret is hidden.

import { isAlias, isMap, isScalar, isSeq, type Document, type Pair, type ParsedNode, type Scalar } from 'yaml';
import { AUTH_SECRET_KEYS } from '../cloud/auth/registry.ts';
import { credentialsIn, isCredentialName, isSecretName, redact } from '../net/redact.ts';
import { hiddenPartsOf } from '../net/shortUrl.ts';
import { urlWithLogin } from '../net/basicCredentials.ts';
import { isMapping } from '../data/dictionary.ts';
import type { ConfigIssue } from './ConfigError.ts';
import { expand, variablesByPath, type ExpandedValue } from './env.ts';
import { NOTIFIER_SECRET_KEYS } from '../notify/registry.ts';
import { formatPath, keyText, MAX_NESTING, pathAt, type Segment } from './yamlTree.ts';

// The secrets of keystoneauth's other methods, which a clouds.yaml (or its secure.yaml) holds for other
// clouds than the one read: the whole file is parsed all the same.
const CLOUDS_YAML_SECRET_KEYS = ['application_credential_secret', 'client_secret', 'access_token', 'passcode'];

// The keys the logger redacts, wherever they are (a clouds.yaml's `password` too), and credential headers.
const SECRET_KEYS = new Set([...AUTH_SECRET_KEYS, ...NOTIFIER_SECRET_KEYS, ...CLOUDS_YAML_SECRET_KEYS].map((key) => key.toLowerCase()));

/** Said after a problem whose text about a secret was hidden: what most likely went wrong. */
const SECRET_NOT_SHOWN = '(the value is a secret, not shown here: quote a secret that starts with * ! & | > % @ or ` or holds ": ")';

/** Said after a problem of a value under a secret's key name, whose text was hidden. */
const SECRET_VALUE_NOT_SHOWN = '(a value under a secret\'s key name is not shown)';

/** Shorter runs are ordinary text, as for redact(). */
const MIN_SHOWN_RUN = 4;

interface SecretValue {
  /** From the end of its key to the end of its value, in the file's text. */
  start: number;
  end: number;
  path: Segment[];
  /** Its text as written, whole and word by word, with and without the characters YAML read as syntax. */
  forms: string[];
  /** Its words alone: a run of the whole would match the spaces and words of ordinary text. */
  words: string[];
  /** What it is read as, a `${VAR}`'s value put in: a line of its own. */
  value?: string;
  /**
   * For a value (or a line of a block value) written on the line below its key, in line with it, which
   * YAML reads as a key of its own: the path of the key it belongs to, and what is said there instead.
   */
  below?: { keyPath: Segment[]; message: string };
}

/** Said of a secret on the line below its key, in line with it. */
const NEXT_LINE = 'the value is on the line below its key, in line with it, and YAML reads it as a key of its own: write it on the line of its key, or indent it further than the key (the value is a secret, not shown here)';

/** Said of a line of a secret's block value (`password: |`) in line with its key, which ended the value above it. */
const BLOCK_LINE_IN_LINE = 'a line of the | or > value is in line with its key, and YAML reads it as a key of its own: indent every line of the value further than its key (the value is a secret, not shown here)';

export interface ShownProblem {
  message: string;
  path: Segment[];
}

/**
 * Hides, in a problem YAML found at `offset` (and `path`) of `text`, whatever it quotes of a secret value
 * there: its text is replaced by `<hidden>`, and a path that runs on into it ends at its key. A message that
 * still holds a run of the value's text (a quote cut short, an escape sequence) says less instead.
 */
export function secretHider(doc: Document.Parsed, text: string): (offset: number, path: Segment[], message: string) => ShownProblem {
  // Made at the first problem: a file without one is not walked for them.
  let secrets: SecretValue[] | undefined;
  return (offset, path, message) => {
    secrets ??= secretValues(doc, doc.contents, text);
    const secret = secrets.find((s) => (s.start <= offset && offset < s.end) || startsWith(path, s.path));
    if (secret === undefined) return { message, path };
    if (secret.below !== undefined) return { message: secret.below.message, path: secret.below.keyPath };
    const hidden = redact(message, secret.forms);
    const shown = sharesRun(hidden, secret.words) ? 'YAML cannot read the value as it is written' : hidden;
    const cut = path.length > secret.path.length && startsWith(path, secret.path) ? secret.path : path;
    return { message: shown === message && cut === path ? message : `${shown} ${SECRET_NOT_SHOWN}`, path: cut };
  };
}

// A secret looked for in every problem: 8 characters and more (as good as unique), not all letters. A
// shorter one, or a word (`password: changeme`), could be a word of any problem (`required: password`).
const REPEATABLE = /^(?![A-Za-z]*$).{8,}$/s;

/**
 * `issues` with each secret of the file (from `doc`, the file as checked, its `${VAR}`s from `env`) that a
 * problem's path or message repeats hidden, and said whose it is: one pasted a second time on a line of its
 * own, which YAML reads as a key (`poll.gAAAA...: a key with no value`). A problem of the value itself is
 * secretHider's and schemaProblemHider's.
 */
export function withoutRepeatedSecrets(issues: ConfigIssue[], doc: Document.Parsed, text: string, env: NodeJS.ProcessEnv): ConfigIssue[] {
  if (issues.length === 0) return issues;
  // A file with a syntax error was not read for its variables.
  const secrets = secretValues(doc, doc.contents, text)
    .map((s) => ({ path: s.path, value: s.value?.includes('${') ? expand(s.value, env, []) : s.value }))
    .filter((s): s is { path: Segment[]; value: string } => s.value !== undefined && REPEATABLE.test(s.value));
  return issues.map((issue) => {
    const repeated = secrets.filter((s) => redact(issue.path + issue.message, [s.value]) !== issue.path + issue.message);
    if (repeated.length === 0) return issue;
    const values = repeated.map((s) => s.value);
    const note = `(it repeats the value of ${formatPath(repeated[0]!.path)}, a secret, which is not shown)`;
    return { ...issue, path: redact(issue.path, values), message: `${redact(issue.message, values)} ${note}` };
  });
}

/** Whether a value under `key` (in the mapping at `within`) is a secret, wherever it is in the file. */
const isSecretKey = (key: string, within: readonly Segment[]) =>
  SECRET_KEYS.has(key.toLowerCase()) || (isHeaders(within) && isCredentialName(key)) || (!isNamePlace(within) && isSecretName(key));

/** Whether the mapping at `path` is headers: `headers:`'s, or an item of it written as a list (`- Authorization: ...`, as a compose file's environment). */
const isHeaders = (path: readonly Segment[]) => path.at(typeof path.at(-1) === 'number' ? -2 : -1) === 'headers';

/**
 * What says, of a schema problem or a warning at `path` of `data` (the file as the schema read it), that its
 * value is not shown, when it is a secret: when its key is a secret's name, wherever that key is; when it
 * holds the value of a secret of the file (`cloud.auth.token`, a credential header's, the token in a
 * webhook's URL); when a variable whose name says it is a secret (`${WEBHOOK_SECRET}`) gave it; and when it
 * is a URL with a user name or password. A line swap puts `token: ${ECS_AUTH_TOKEN}`
 * under a setting whose message quotes what it refuses, and a slip `schedule: ${WEBHOOK_SECRET}`: the schema
 * sees the variable's value, not what the file says. `expanded`: the values that variables gave.
 */
export function schemaProblemHider(data: unknown, expanded: readonly ExpandedValue[]): (path: readonly Segment[], message: string) => string {
  // Made at the first problem whose value could quote one: a valid file is not walked for them.
  let secrets: NamedSecret[] | undefined;
  let variablesAt: ((path: readonly Segment[]) => readonly string[]) | undefined;
  // What secrets' variables gave, by value: an alias repeats one at a setting that is not where it was written.
  let given: { variable: string; value: string }[] | undefined;
  return (path, message) => {
    // Read from the data, not the issue: a check of a whole section gives the section as the issue's input.
    const value = valueAt(data, path);
    if (value === undefined || value === null || typeof value === 'object') return message;
    const text = String(value);
    const keyAt = path.findLastIndex((segment) => typeof segment === 'string');
    if (keyAt >= 0 && isSecretKey(path[keyAt] as string, path.slice(0, keyAt))) return valueHidden(message, text, SECRET_VALUE_NOT_SHOWN);
    variablesAt ??= variablesByPath(expanded);
    given ??= variableGifts(data, expanded);
    const variable = variablesAt(path).find(isSecretVariable) ?? given.find((gift) => text.includes(gift.value))?.variable;
    if (variable !== undefined) return valueHidden(message, text, `(the value comes from \${${variable}}, a secret by its name, and is not shown)`);
    if (text.length < MIN_SHOWN_RUN) return message;
    const held = (secrets ??= dataSecrets(data)).find((secret) => secret.value.length >= MIN_SHOWN_RUN && text.includes(secret.value));
    if (held !== undefined) return valueHidden(message, text, `(the value holds that of ${held.name}, a secret, and is not shown)`);
    // An SMTP or proxy URL carries its login so (smtps://user:password@host), wherever a slip puts it.
    return urlWithLogin(text) !== null ? valueHidden(message, text, '(the value is a URL with a user name or password, and is not shown)') : message;
  };
}

/** The values that variables named as secrets gave (of MIN_SHOWN_RUN characters and more), each with the first such variable. */
function variableGifts(data: unknown, expanded: readonly ExpandedValue[]): { variable: string; value: string }[] {
  return expanded.flatMap(({ path, variables }) => {
    const variable = variables.find(isSecretVariable);
    const value = valueAt(data, path);
    return variable !== undefined && typeof value === 'string' && value.length >= MIN_SHOWN_RUN ? [{ variable, value }] : [];
  });
}

/** `message` with `value` hidden and `note` said, or as it was when it does not quote the value. */
function valueHidden(message: string, value: string, note: string): string {
  const { forms, words } = formsOf(value);
  const hidden = redact(message, forms);
  if (hidden === message) return message;
  // A part of the value quoted on its own (`'x' after 5`) would still show.
  return `${sharesRun(hidden, words) ? 'not valid here' : hidden} ${note}`;
}

/** A secret of the file as the schema read it, and the setting that holds it. */
interface NamedSecret {
  value: string;
  name: string;
  path: Segment[];
}

function dataSecrets(value: unknown, path: Segment[] = [], found: NamedSecret[] = []): NamedSecret[] {
  if (path.length > MAX_NESTING) return found;
  if (Array.isArray(value)) value.forEach((item, i) => dataSecrets(item, [...path, i], found));
  if (!isMapping(value)) return found;
  for (const [key, item] of Object.entries(value)) {
    const at = [...path, key];
    // A chat webhook's credential is part of its URL: what shortUrl hides of it (a path token, access_token=).
    const url = typeof item === 'string' && isNotifierUrl(at) ? URL.parse(item) : null;
    if (url !== null) {
      for (const part of hiddenPartsOf(url)) found.push({ value: part, name: formatPath(at), path: at });
      continue;
    }
    if (!isSecretKey(key, path) || (typeof item !== 'string' && isNamePlace(path))) {
      dataSecrets(item, at, found);
      continue;
    }
    // A header's credentials alone too (`Bearer T`'s T): a slip may copy just the token. A secret written
    // as a list or a mapping (`password: [hunter2]`), which the schema refuses: each text in it.
    const values = typeof item !== 'string' ? textsIn(item) : isHeaders(path) ? credentialsIn({ [key]: item }) : [item];
    for (const secret of values) found.push({ value: secret, name: formatPath(at), path: at });
  }
  return found;
}

/** The texts in `value`, its keys' too, as far down as MAX_NESTING. */
function textsIn(value: unknown, depth = 0, found: string[] = []): string[] {
  if (typeof value === 'string') found.push(value);
  if (typeof value !== 'object' || value === null || depth > MAX_NESTING) return found;
  if (!Array.isArray(value)) found.push(...Object.keys(value));
  for (const item of Object.values(value)) textsIn(item, depth + 1, found);
  return found;
}

/**
 * The settings of `data` (the file as the schema read it) that hold a secret written into the file itself,
 * not given by a variable (`expanded`: the values that variables gave) nor taken from elsewhere (`foreign`:
 * a clouds.yaml profile's): what a copy of the file gives away.
 */
export function writtenSecrets(data: unknown, expanded: readonly ExpandedValue[], foreign: (path: readonly Segment[]) => boolean): Segment[][] {
  const given = new Set(expanded.map((e) => pathKey(e.path)));
  const written = new Map<string, Segment[]>();
  for (const { value, path } of dataSecrets(data)) {
    const key = pathKey(path);
    if (value !== '' && !given.has(key) && !foreign(path)) written.set(key, path);
  }
  return [...written.values()];
}

/** Whether the keys of the mapping at `path` are names of one's choosing: notifiers', clouds.yaml's profiles'. */
const isNamePlace = (path: readonly Segment[]) => path.length === 1 && (path[0] === 'notifiers' || path[0] === 'clouds');

const isNotifierUrl = (path: readonly Segment[]) => path.length === 3 && path[0] === 'notifiers' && path[2] === 'url';

function valueAt(data: unknown, path: readonly Segment[]): unknown {
  let value = data;
  for (const segment of path) value = typeof value === 'object' && value !== null && Object.hasOwn(value, segment) ? (value as Record<Segment, unknown>)[segment] : undefined;
  return value;
}

// The words of a variable's name that say it holds a secret: ECS_AUTH_TOKEN, SMTP_PASSWORD, hookSecret, HUAWEICLOUD_SDK_SK.
const SECRET_WORDS = new Set(['PASSWORD', 'PASSWD', 'PASS', 'PWD', 'SECRET', 'SECRETS', 'TOKEN', 'TOKENS', 'CREDENTIAL', 'CREDENTIALS', 'KEY', 'APIKEY', 'SK', 'PRIVATE']);
/** Whether a variable by this name holds a secret, by a word of its name (ECS_AUTH_TOKEN, HONEYCOMB_API_KEY). */
export const isSecretVariable = (name: string) => name.split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/).some((word) => SECRET_WORDS.has(word.toUpperCase()));

const pathKey = (path: readonly Segment[]) => JSON.stringify(path);
const startsWith = (path: readonly Segment[], prefix: readonly Segment[]) => path.length >= prefix.length && prefix.every((s, i) => path[i] === s);

/** Whether `message` holds MIN_SHOWN_RUN characters in a row of any of `words`. */
function sharesRun(message: string, words: readonly string[]): boolean {
  return words.some((form) => {
    for (let i = 0; i + MIN_SHOWN_RUN <= form.length; i++) if (message.includes(form.slice(i, i + MIN_SHOWN_RUN))) return true;
    return false;
  });
}

function secretValues(doc: Document.Parsed, node: ParsedNode | null, text: string, path: Segment[] = [], found: SecretValue[] = []): SecretValue[] {
  // What is nested deeper is reported as such (tooDeep), and holds no setting.
  if (path.length > MAX_NESTING) return found;
  if (isSeq(node)) node.items.forEach((item, i) => secretValues(doc, item, text, [...path, i], found));
  if (!isMap(node)) return found;
  for (const [i, pair] of node.items.entries()) {
    const key = keyText(doc, pair);
    const at = [...path, key];
    const value = pair.value;
    // A mapping below the key is settings where the key is a name of one's choosing (a notifier named
    // `secret`, a clouds.yaml profile named `token`); anywhere else a list or a mapping below it is the secret
    // written as one (`password:` and `- hunter2` below it), and one on its line is a value YAML misread.
    const block = value !== null && !isScalar(value) && !isAlias(value) && text.slice(pair.key.range[1], value.range[0]).includes('\n');
    const misread = value !== null && !(block && isNamePlace(path));
    // `!env NAME`, `!vault path`: a tag that a secrets tool reads, on what names the secret, not the secret.
    const named = isScalar(value) && value.tag !== undefined && value.range[0] < value.range[1];
    const start = pair.key.range[1];
    const end = value?.range[2] ?? start;
    // A chat webhook's URL holds its token, wherever a slip of its indentation puts its line.
    const secret = isSecretKey(key, path) || (key === 'url' && misread && holdsToken(text.slice(start, end)));
    const empty = value === null || (isScalar(value) && value.range[0] === value.range[1]);
    const below = secret && (empty || isBlockScalar(value)) ? valueBelow(text, pair, node.items[i + 1]) : undefined;
    if (below !== undefined) {
      const message = isBlockScalar(value) ? BLOCK_LINE_IN_LINE : NEXT_LINE;
      found.push({ ...below, path: [...path, keyText(doc, node.items[i + 1]!)], below: { keyPath: at, message }, ...formsOf(text.slice(below.start, below.end)) });
    }
    // A block value's lines above the one in line with its key are the secret too.
    if (below !== undefined && !isBlockScalar(value)) continue;
    if (secret && misread && !named) {
      found.push({ start, end, path: at, ...formsOf(text.slice(start, end)), ...(isScalar(value) && typeof value.value === 'string' ? { value: value.value } : {}) });
      // The value an alias gives it, wherever its anchor set it (`schedule: &tok ...`, `token: *tok`).
      const anchored = isAlias(value) ? value.resolve(doc) : undefined;
      if (anchored?.range) {
        const [from, , to] = anchored.range;
        found.push({ start: from, end: to, path: pathAt(doc, from), ...formsOf(text.slice(from, to)) });
      }
    } else {
      secretValues(doc, value, text, at, found);
    }
  }
  return found;
}

const isBlockScalar = (node: ParsedNode | null): node is Scalar.Parsed => isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED');

/**
 * Where the value of `pair`, a key with nothing after it, is when it was written on the next line in line
 * with the key (`token:` and below it `gAAAA...`): YAML reads that line as the key of `next`, which holds no
 * `key: value` on its line. So is a line of a block value (`token: |`), which ends the value above it, past
 * blank lines and comments. Undefined when the next line is a setting of its own.
 */
function valueBelow(text: string, pair: Pair<ParsedNode, ParsedNode | null>, next: Pair<ParsedNode, ParsedNode | null> | undefined): { start: number; end: number } | undefined {
  if (next === undefined || !isScalar(next.key)) return undefined;
  const start = next.key.range[0];
  const value = pair.value;
  const adjoins = isBlockScalar(value)
    ? /^(?:[ \t]*(?:#.*)?\n)*[ \t]*$/.test(text.slice(value.range[1], start))
    : /^[ \t]*:[ \t]*(#.*)?\n[ \t]*$/.test(text.slice(pair.key.range[1], start));
  if (!adjoins) return undefined;
  const lineEnd = text.indexOf('\n', start);
  const end = lineEnd === -1 ? text.length : lineEnd;
  return /:(\s|$)/.test(text.slice(start, end)) ? undefined : { start, end };
}

/** Whether the first word of a value as written is a URL with a part that shortUrl hides (a token in its path or query, a login). */
function holdsToken(source: string): boolean {
  const url = URL.parse(source.replace(/^\s*:/, '').trim().split(/\s/)[0]!.replace(/^['"]/, '').replace(/[:,}\]'"]+$/, ''));
  return url !== null && hiddenPartsOf(url).some((part) => part !== '');
}

function formsOf(source: string): { forms: string[]; words: string[] } {
  const written = source.replace(/^\s*:/, '').trim();
  const words = written.split(/\s+/);
  const bare = words.map((word) => word.replace(/^[*&!|>%@`'"{[]+/, '').replace(/[:,}\]'"]+$/, ''));
  const long = (forms: string[]) => [...new Set(forms)].filter((form) => form.length >= MIN_SHOWN_RUN);
  return { forms: long([written, ...words, ...bare]), words: long(words) };
}
