// Notifier templates: logic-less Mustache over the view of ./view.ts. A webhook template writes JSON: each
// `{{value}}` is escaped as the inside of a JSON string (quotes, backslashes, control characters), so
// `"text": "{{headline}}"` is valid whatever the headline holds; `{{{value}}}` inserts it as it is (for
// `{{{body}}}`, the contract's JSON body). A mail template writes plain text: nothing is escaped. Inside
// `{{#slack}}`, `{{#larkMd}}`, `{{#dingtalkMd}}`, `{{#wecomMd}}` or `{{#teamsMd}}`, each `{{value}}` is
// escaped for that chat's markup first (MARKUP_ESCAPES).
import Mustache from 'mustache';
import type { OutgoingNotification } from '../../model.ts';
import { isCredentialName } from '../../net/redact.ts';
import { DeliveryError } from '../DeliveryError.ts';
import { SAMPLES } from './samples.ts';
import { viewOf, type MarkupSection, type View } from './view.ts';

/** `json` for a webhook body, `text` for a mail's subject and body. */
export type TemplateMode = 'json' | 'text';

/** A value inside a JSON string: JSON's own escapes, without the quotes (which the template writes). */
function jsonEscape(value: unknown): string {
  return JSON.stringify(plain(value)).slice(1, -1);
}

function plain(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/**
 * A markdown that documents no escape (DingTalk's: open.dingtalk.com, robot message types; WeCom's:
 * developer.work.weixin.qq.com, group robot; an Adaptive Card's in Teams: learn.microsoft.com, "Format
 * cards in Teams", its TextBlock and Fact.Value) is kept from reading a value as markup by a zero-width
 * space after the character that would open it, which shows nothing: `<` opens HTML (`<font>`,
 * `<a href>`) and WeCom's mention `<@userid>`, `](` joins a link's or an image's text to its URL.
 */
const ZERO_WIDTH_SPACE = '\u200B';
const MARKDOWN_BREAKS = { '<': `<${ZERO_WIDTH_SPACE}`, ']': `]${ZERO_WIDTH_SPACE}` };

/**
 * The view's sections (view.ts, MARKUP_SECTIONS) within which a value is escaped for a chat's markup, where
 * `&`, `<` and `>` start a mention, a link or an entity: a name or a reason holding `<!channel>` (Slack) or
 * `<at id=all></at>` (Lark) would call the whole channel. Each as its system documents: Slack's three
 * entities (api.slack.com, "Escaping text"); Lark's lark_md decodes HTML's numeric ones (open.feishu.cn,
 * message card Markdown), which, as in CommonMark, show a character without making markup of it: `[` and
 * `]` too, whose `[text](https://…)` would show a link to anywhere under any text. None longer than
 * ESCAPED_BYTES (src/text/shortened.ts), which the view's short fields allow for.
 */
const MARKUP_ESCAPES: Record<MarkupSection, Record<string, string>> = {
  slack: { '&': '&amp;', '<': '&lt;', '>': '&gt;' },
  larkMd: { '&': '&#38;', '<': '&#60;', '>': '&#62;', '[': '&#91;', ']': '&#93;' },
  dingtalkMd: MARKDOWN_BREAKS,
  wecomMd: MARKDOWN_BREAKS,
  teamsMd: MARKDOWN_BREAKS,
};

/** Each section's characters to escape, as one pattern. */
const MARKUP_PATTERNS = Object.fromEntries(
  Object.entries(MARKUP_ESCAPES).map(([name, entities]) => [name, new RegExp(`[${Object.keys(entities).map((c) => `\\${c}`).join('')}]`, 'g')]),
) as Record<MarkupSection, RegExp>;

function isMarkupSection(name: string): name is MarkupSection {
  return Object.hasOwn(MARKUP_ESCAPES, name);
}

/**
 * What one rendering may cost. A template checked against the samples can still explode on a real batch:
 * `{{{text}}}` inside `{{#batch.watches}}` writes the whole batch once per watch. A render runs on the
 * daemon's only thread, so it is stopped at a size no receiver takes anyway rather than allowed to block
 * polling for minutes. Tokens count the work, so that sections that write nothing are bounded too.
 */
export const RENDER_LIMITS = { characters: 16 * 1024 * 1024, tokens: 4_000_000 };

/**
 * The characters one rendering of `view` may write: RENDER_LIMITS.characters, or for a notification whose
 * own text and body are larger (a digest of thousands of failures with their tracebacks, which is sent
 * as large without a template), twice as much as they hold, so that a template embedding `{{{body}}}`
 * or `"{{text}}"` (escaped) still sends what the default would have.
 */
function characterLimit(view: View): number {
  return Math.max(RENDER_LIMITS.characters, 2 * (view.text.length + view.body.length));
}

/** A template whose output for one notification went past RENDER_LIMITS. */
class TemplateTooLargeError extends Error {
  override readonly name = 'TemplateTooLargeError';
}

/** mustache.js's writer, counting what it renders: each call renders one list of tokens for one item. */
class BoundedWriter extends Mustache.Writer {
  private tokens = 0;
  private characters = 0;
  private characterLimit = RENDER_LIMITS.characters;
  /**
   * The view being rendered, until the output passes RENDER_LIMITS.characters and the view's own size may
   * raise the limit: only then are its text and body built for a template that does not write them.
   */
  private raising: View | null = null;
  /** The characters the nested calls of each open call wrote, so that each character counts once. */
  private readonly nested: number[] = [];

  renderBounded(source: string, view: View, escape: (value: unknown) => string): string {
    this.tokens = 0;
    this.characters = 0;
    this.characterLimit = RENDER_LIMITS.characters;
    this.raising = view;
    this.nested.length = 0;
    try {
      return this.render(source, view, undefined, { escape });
    } finally {
      // The writer outlives the rendering, and a digest's view can hold hundreds of MB once built.
      this.raising = null;
    }
  }

  override renderSection(...args: Parameters<Mustache.Writer['renderSection']>): string {
    const [token, context, partials, originalTemplate, config] = args;
    const name = token[1]!;
    if (!isMarkupSection(name)) return super.renderSection(...args);
    const entities = MARKUP_ESCAPES[name];
    const pattern = MARKUP_PATTERNS[name];
    const escape = config!.escape!;
    const markup = (value: unknown) => escape(plain(value).replace(pattern, (c) => entities[c]!));
    return this.renderTokens(token[4] as unknown as string[][], context, partials, originalTemplate, { ...config, escape: markup });
  }

  override renderTokens(...args: Parameters<Mustache.Writer['renderTokens']>): string {
    this.tokens += args[0].length + 1;
    if (this.tokens > RENDER_LIMITS.tokens) {
      throw new TemplateTooLargeError(`its template renders more than ${RENDER_LIMITS.tokens.toLocaleString('en')} values and sections for this notification`);
    }
    this.nested.push(0);
    const out = super.renderTokens(...args);
    this.characters += out.length - this.nested.pop()!;
    if (this.nested.length > 0) this.nested[this.nested.length - 1]! += out.length;
    if (this.characters > this.characterLimit && this.raising !== null) {
      this.characterLimit = characterLimit(this.raising);
      this.raising = null;
    }
    if (this.characters > this.characterLimit) {
      throw new TemplateTooLargeError(`its template renders more than ${Math.ceil(this.characterLimit / 1024 / 1024)} MiB for this notification`);
    }
    return out;
  }
}

const writer = new BoundedWriter();

/** Throws TemplateTooLargeError when the output goes past RENDER_LIMITS. */
export function renderTemplate(source: string, n: OutgoingNotification, mode: TemplateMode): string {
  return renderView(source, viewOf(n), mode);
}

function renderView(source: string, view: View, mode: TemplateMode): string {
  return writer.renderBounded(source, view, mode === 'json' ? jsonEscape : plain);
}

/**
 * renderTemplate for a delivery attempt, of one view (viewOf) for all of a notifier's templates, which
 * keeps what it built for one for the next: a template too large for this notification fails the
 * delivery for good (every attempt would render the same), naming the setting to fix.
 */
export function renderForDelivery(source: string, view: View, mode: TemplateMode, prefix: string, setting: string): string {
  try {
    return renderView(source, view, mode);
  } catch (err) {
    if (!(err instanceof TemplateTooLargeError)) throw err;
    throw new DeliveryError(`${prefix}: ${err.message}; fix ${setting} (${REPEATS_THE_BATCH})`, { reason: 'template' });
  }
}

const REPEATS_THE_BATCH = 'a section over a batch\'s list inside another, or {{{text}}} or {{{body}}} inside one, repeats the whole batch for every watch';

/** `line 3, column 12` of `index` in `text`. */
function position(text: string, index: number): string {
  const before = text.slice(0, index).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// mustache.js says what is wrong and where it noticed (often the end of the template); the place to fix
// is the tag that opened what is not closed, and the fix is said here. `name` and `at` are what its
// message gives: a section's name or the tags, and an offset in the template.
const SYNTAX: Array<{ pattern: RegExp; explain: (name: string) => string; opening: (source: string, name: string, at: number) => number }> = [
  {
    pattern: /^Unclosed tag at (?<at>\d+)$/,
    explain: () => 'a tag opened with {{ is not closed with }}',
    opening: (source, _name, at) => source.lastIndexOf('{{', at),
  },
  {
    pattern: /^Unopened section "(?<name>.*)" at (?<at>\d+)$/,
    explain: (name) => `{{/${name}}} closes a section that is not open (open it with {{#${name}}} or {{^${name}}}, or check the order)`,
    opening: (_source, _name, at) => at,
  },
  {
    pattern: /^Unclosed section "(?<name>.*)" at (?<at>\d+)$/,
    explain: (name) => `the section {{#${name}}} is not closed: add {{/${name}}}`,
    opening: (source, name, at) => lastMatch(source.slice(0, at), new RegExp(`\\{\\{\\s*[#^]\\s*${escapeRegExp(name)}\\s*\\}\\}`, 'g')) ?? at,
  },
  {
    // A tag that sets the tags ({{=<% %>=}}) to one word; mustache.js says which, not where.
    pattern: /^Invalid tags: (?<name>.*)$/s,
    explain: (tags) => `{{=${tags}=}} sets the tags to '${tags}', not to two tags with a space between them: write them so, as {{=<% %>=}}`,
    opening: (source, tags) => new RegExp(`\\{\\{\\s*=\\s*${escapeRegExp(tags)}\\s*=`).exec(source)?.index ?? 0,
  },
];

function lastMatch(text: string, pattern: RegExp): number | undefined {
  let index: number | undefined;
  for (const match of text.matchAll(pattern)) index = match.index;
  return index;
}

function syntaxProblem(source: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  for (const { pattern, explain, opening } of SYNTAX) {
    const match = pattern.exec(message);
    if (!match) continue;
    const name = match.groups?.['name'] ?? '';
    const at = opening(source, name, Number(match.groups?.['at']));
    return `template ${position(source, Math.max(0, at))}: ${explain(name)}`;
  }
  return `template: ${message}`;
}

type Token = Mustache.TemplateSpans[number];

let sampleViews: View[] | undefined;

/** Every sample's view, for checking which names a template may use; made when a template is first checked. */
function viewsOfSamples(): View[] {
  return (sampleViews ??= SAMPLES.map(([, n]) => viewOf(n)));
}

/**
 * Names the template uses that no notification's view has, and partials (there are none to include).
 * A name counts as known when it resolves in at least one sample view at that place, sections followed
 * into every item (a batch's first watch may be an action's, and `{{#job}}` then needs a later one).
 */
function nameProblems(source: string, tokens: readonly Token[], contexts: readonly Mustache.Context[]): string[] {
  const problems: string[] = [];
  for (const token of tokens) {
    const [type, name, start] = token;
    if (type === '>') {
      problems.push(`template ${position(source, start)}: {{> ${name}}} includes a partial, and templates have none: write the text in place`);
      continue;
    }
    if (type !== 'name' && type !== '&' && type !== '#' && type !== '^') continue;
    const found = contexts.filter((c) => name === '.' || ownLookup(c, name) !== undefined);
    if (found.length === 0) {
      const topLevel = [...new Set(viewsOfSamples().flatMap((v) => Object.keys(v)))].join(', ');
      problems.push(`template ${position(source, start)}: unknown field '${name}' (the fields are listed in the README under "Notifier templates"; at the top: ${topLevel})`);
      continue;
    }
    const repeated = found.find((c) => repeatsTheBatch(c, type, name));
    if (repeated) {
      problems.push(`template ${position(source, start)}: ${tagOf(type, name)} inside {{#${listItemName.get(itemOf(repeated)!)}}} repeats the whole batch for every item (${REPEATS_THE_BATCH}): close the list's section first, or use the item's own fields`);
      continue;
    }
    if (type === '#' || type === '^') {
      const inner = type === '^' ? contexts : found.flatMap((c) => sectionContext(c, name));
      problems.push(...nameProblems(source, token[4] as Token[], inner.length > 0 ? inner : contexts));
    }
  }
  return problems;
}

/**
 * Context.lookup, with each step of the name an own property of the value before. mustache.js follows
 * `in`, so the names every object or list inherits (`constructor`, `toString`, `events.map`) would pass as
 * fields and write "[object Object]" or "{}", and it calls a function it finds: `events.map` threw.
 */
function ownLookup(context: Mustache.Context, name: string): unknown {
  for (let c: Mustache.Context | undefined = context; c; c = c.parent) {
    let value: unknown = c.view;
    let hit = true;
    for (const key of name.split('.')) {
      // Object() for a text's own `length`, which mustache.js reads too.
      if (value === null || value === undefined || !Object.hasOwn(Object(value), key)) {
        hit = false;
        break;
      }
      value = (value as Record<string, unknown>)[key];
    }
    if (hit) return value;
  }
  return undefined;
}

/** The contexts of the items of a batch's lists, with the list's name, for telling an item's fields from the batch's. */
const listItemName = new WeakMap<Mustache.Context, string>();

/** The view's `batch`, if it has one. */
function batchOf(context: Mustache.Context): object | undefined {
  let root = context;
  while (root.parent) root = root.parent;
  const batch: unknown = (root.view as { batch?: unknown }).batch;
  return batch !== null && typeof batch === 'object' ? batch : undefined;
}

/** Whether `list` is one of the view's `batch` lists, which are as long as the batch. */
function isBatchList(context: Mustache.Context, list: unknown[]): boolean {
  const batch = batchOf(context);
  return batch !== undefined && Object.values(batch).includes(list);
}

/** The innermost item of a batch's list that `context` is in, if any. */
function itemOf(context: Mustache.Context): Mustache.Context | undefined {
  for (let c: Mustache.Context | undefined = context; c; c = c.parent) if (listItemName.has(c)) return c;
  return undefined;
}

/** Whether `name` resolves inside the list item, not from the batch around it. */
function resolvesInItem(context: Mustache.Context, item: Mustache.Context, name: string): boolean {
  for (let c: Mustache.Context | undefined = context; c; c = c.parent) {
    if (new Mustache.Context(c.view).lookup(name) !== undefined) return true;
    if (c === item) return false;
  }
  return false;
}

/**
 * Whether the tag, inside a list item, takes from outside it something as large as the batch: a batch's
 * list or the batch itself, opened (a list within its own list is N × N) or written out as JSON, or the
 * whole message's text or body, written or opened (`{{#text}}{{.}}{{/text}}`). The batch's small values
 * (`{{#batch.counts}}`) are fine.
 */
function repeatsTheBatch(context: Mustache.Context, type: string, name: string): boolean {
  if (type !== '#' && type !== 'name' && type !== '&') return false;
  const item = itemOf(context);
  if (!item || resolvesInItem(context, item, name)) return false;
  if (WHOLE_NOTIFICATION_FIELDS.has(name)) return true;
  const value: unknown = context.lookup(name);
  return value !== null && typeof value === 'object' && (value === batchOf(context) || (Array.isArray(value) && isBatchList(context, value)));
}

const WHOLE_NOTIFICATION_FIELDS = new Set(['text', 'body']);

function tagOf(type: string, name: string): string {
  return type === '#' || type === '^' ? `{{${type}${name}}}` : type === '&' ? `{{{${name}}}}` : `{{${name}}}`;
}

/** The context a section's content is rendered in, as mustache.js does: each list item, or the value. */
function sectionContext(context: Mustache.Context, name: string): Mustache.Context[] {
  const value: unknown = context.lookup(name);
  if (Array.isArray(value)) {
    const ofBatch = isBatchList(context, value);
    return value.map((item) => {
      const pushed = context.push(item);
      if (ofBatch) listItemName.set(pushed, name);
      return pushed;
    });
  }
  if (value !== null && typeof value === 'object') return [context.push(value)];
  return value ? [context] : [];
}

/**
 * What is wrong with a template, each problem one line with the template's line and column; empty when
 * it is good. A `json` template must render valid JSON for every kind of notification in every shape,
 * hostile values and empty ones included.
 */
export function templateProblems(source: string, mode: TemplateMode): string[] {
  // A mail's text would be sent empty: a file made and not yet written, or cut short by what copied it.
  if (source.trim() === '') return ['template holds nothing to send: write the template, or leave it out for the default'];
  let tokens: Token[];
  try {
    tokens = Mustache.parse(source);
  } catch (err) {
    return [syntaxProblem(source, err)];
  }
  const names = nameProblems(source, tokens, viewsOfSamples().map((v) => new Mustache.Context(v)));
  if (names.length > 0 || mode === 'text') return names;
  const tracer = new TracingWriter();
  const views = viewsOfSamples();
  const broken = SAMPLES.flatMap(([what], i) => {
    const { output, pieces } = tracer.trace(source, views[i]!);
    try {
      JSON.parse(output);
      return [];
    } catch (err) {
      return [{ what, output, pieces, err }];
    }
  });
  const first = broken[0];
  if (first === undefined) return [];
  const others = broken.length === 1 ? '' : ` (and ${broken.length - 1} other kind${broken.length === 2 ? '' : 's'} of notification)`;
  return [invalidJson(source, first.output, first.pieces, first.err, `${first.what}${others}`)];
}

/** A piece of a rendering's output, `start` to `end`, and the tag or text of the template that wrote it. */
interface Piece {
  token: string[];
  start: number;
  end: number;
}

/**
 * A rendering that notes which tag or text of the template wrote each piece of the output: mustache.js
 * writes them in the order the output holds them, so their lengths add up to where each piece starts.
 */
class TracingWriter extends BoundedWriter {
  private pieces: Piece[] = [];

  trace(source: string, view: View): { output: string; pieces: Piece[] } {
    this.pieces = [];
    return { output: this.renderBounded(source, view, jsonEscape), pieces: this.pieces };
  }

  override rawValue(token: string[]): string {
    return this.noted(token, super.rawValue(token));
  }

  override escapedValue(token: string[], context: Mustache.Context, config?: Mustache.RenderOptions): string {
    return this.noted(token, super.escapedValue(token, context, config));
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    return this.noted(token, super.unescapedValue(token, context));
  }

  override renderSection(...args: Parameters<Mustache.Writer['renderSection']>): string {
    return this.section(args[0], () => super.renderSection(...args));
  }

  override renderInverted(...args: Parameters<Mustache.Writer['renderInverted']>): string {
    return this.section(args[0], () => super.renderInverted(...args));
  }

  /**
   * A section that shows nothing (false, absent, an empty list) is noted, as an empty value is: what JSON
   * misses where it breaks may be its content. One shown has its own values noted, empty ones included.
   */
  private section(token: string[], render: () => string): string {
    const before = this.pieces.length;
    const out = render();
    return this.pieces.length === before ? this.noted(token, out) : out;
  }

  /** mustache.js appends nothing for undefined (a value null or absent, a section not shown), anything else as a string. */
  private noted<T>(token: string[], value: T): T {
    const start = this.pieces.at(-1)?.end ?? 0;
    this.pieces.push({ token, start, end: start + (value === undefined ? 0 : String(value).length) });
    return value;
  }
}

/**
 * Why a sample's output is not JSON, at the place of the template to fix: the value written where it
 * breaks, or a value left empty just before (`"code": {{server.faultCode}}}` for a server without a
 * fault), or else the template's own text there.
 */
function invalidJson(source: string, output: string, pieces: readonly Piece[], err: unknown, what: string): string {
  const { index } = jsonError(output, err);
  const problem = jsonProblem(output, err);
  const found = pieces.findIndex((p) => p.end > index);
  // Past the last piece when the output ends before its JSON does.
  const piece = found === -1 ? undefined : pieces[found]!;
  if (piece && piece.token[0] !== 'text') {
    const [type, name, start] = piece.token as [string, string, number];
    return `template ${position(source, start)}: ${tagOf(type, name)} does not write valid JSON there for ${what}: ${problem} `
      + '(write text values in quotes as "{{field}}", which escapes them; {{{field}}} inserts them unescaped)';
  }
  // Text is never empty: the empty pieces just before are values or sections that wrote nothing. A value
  // among them is what is missing rather than a section, which often stays out while its counterpart shows.
  let first = piece ? found : pieces.length;
  while (first > 0 && pieces[first - 1]!.start === pieces[first - 1]!.end) first--;
  const empty = pieces.slice(first, piece ? found : pieces.length);
  const missing = empty.find((p) => p.token[0] === 'name' || p.token[0] === '&') ?? empty.at(-1);
  if (missing && output.slice(missing.end, index).trim() === '') {
    const [type, name, start] = missing.token as [string, string, number];
    const fix = type === '#' || type === '^'
      ? `write the key inside it too, or what stands there otherwise in ${tagOf(type === '#' ? '^' : '#', name)}...{{/${name}}}`
      : `write it in quotes, "{{${name}}}", or, with its key, inside {{#${name}}}...{{/${name}}}`;
    return `template ${position(source, start)}: ${tagOf(type, name)} writes nothing for ${what}, where JSON needs something: ${problem} (${fix})`;
  }
  const offset = piece ? Number(piece.token[2]) + index - piece.start : Number(pieces.at(-1)?.token[3] ?? 0);
  return `template ${position(source, offset)}: does not render valid JSON for ${what}: ${problem}`;
}

/**
 * Why `output` is not JSON, from JSON.parse's error `err`, in one line: `Expected ',' or '}' after
 * property value at line 2, column 14 of the output, near: "text": "a"b"`.
 */
export function jsonProblem(output: string, err: unknown): string {
  const { index, what } = jsonError(output, err);
  // A value inserted as it is ({{{reason}}}) may bring line breaks and control characters.
  const excerpt = withoutCredentials(output, Math.max(0, index - 30), index + 10).replace(/[\s\p{Cc}]+/gu, ' ').trim();
  return `${what} at ${position(output, index)} of the output${excerpt === '' ? '' : `, near: ${excerpt}`}`;
}

// A key and its string value, which may be cut off where the JSON breaks; else any string, taken whole so
// that no look starts at a quote inside it (a value of many \" took seconds, each one a look to its end).
const KEY_AND_VALUE = /"((?:[^"\\]|\\.)*)"\s*:\s*"((?:[^"\\]|\\.)*)"?|"(?:[^"\\]|\\.)*"?/dg;

/**
 * `output` from `from` to `to`, with each value under a key whose name says it is a credential shown as
 * `<hidden>`: a receiver that takes its key in the body (PagerDuty's routing_key) has it written there.
 */
function withoutCredentials(output: string, from: number, to: number): string {
  let shown = '';
  let at = from;
  for (const match of output.matchAll(KEY_AND_VALUE)) {
    if (match.index >= to) break;
    const [, key, value] = match;
    if (key === undefined || value === undefined) continue;
    const [start, end] = match.indices![2]!;
    if (value === '' || end <= at || start >= to || !isCredentialName(key)) continue;
    shown += `${output.slice(at, Math.max(at, start))}<hidden>`;
    at = Math.min(end, to);
  }
  return shown + output.slice(at, to);
}

/**
 * What JSON.parse's error `err` says, without its position, and the offset in `output` where it stopped.
 * V8 gives the position of most errors but quotes, for an unexpected token, the text around it instead
 * (line breaks and all): that excerpt is dropped and the position found.
 */
function jsonError(output: string, err: unknown): { index: number; what: string } {
  const message = err instanceof Error ? err.message : String(err);
  const at = /position (\d+)/.exec(message);
  return {
    index: at ? Number(at[1]) : jsonStop(output),
    what: message
      .replace(/(?: in JSON)? at position \d+.*$/s, '')
      .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '')
      .replace(/\s+/g, ' '),
  };
}

const JSON_SPACE = /[ \t\n\r]*/y;
// A control character in a string is an error JSON.parse gives the position of: no string before an
// unexpected token holds one.
const JSON_STRING = /"(?:[^"\\]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The offset where `text` stops being JSON (its length when it does not), for JSON.parse's errors that give none. */
function jsonStop(text: string): number {
  let i = 0;
  const match = (pattern: RegExp) => {
    pattern.lastIndex = i;
    const found = pattern.test(text);
    if (found) i = pattern.lastIndex;
    return found;
  };
  const char = (expected: string) => {
    if (text[i] !== expected) return false;
    i++;
    return true;
  };
  const key = () => match(JSON_STRING) && match(JSON_SPACE) && char(':');
  const scalar = () => {
    if (text[i] === '"') return match(JSON_STRING);
    // A word is read letter by letter, as JSON.parse reads it: `fa` of `failed` stops at the `i`.
    const word = ['true', 'false', 'null'].find((w) => w[0] === text[i]);
    return word === undefined ? match(JSON_NUMBER) : [...word].every(char);
  };
  // What closes each container open, innermost last: a loop and not a recursion, since JSON.parse reads
  // a text nested deeper than the stack would let a recursion follow.
  const closers: string[] = [];
  for (;;) {
    match(JSON_SPACE);
    const open = text[i];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      i++;
      match(JSON_SPACE);
      if (!char(close)) {
        closers.push(close);
        if (close === '}' && !key()) return i;
        continue;
      }
    } else if (!scalar()) {
      return i;
    }
    // A value ended: it ends the containers it closes, until a comma asks for the next value.
    for (;;) {
      match(JSON_SPACE);
      const close = closers.at(-1);
      if (close === undefined) return i;
      if (char(close)) {
        closers.pop();
        continue;
      }
      if (!char(',')) return i;
      match(JSON_SPACE);
      if (close === '}' && !key()) return i;
      break;
    }
  }
}
