// Notifier templates: logic-less Mustache over the view of ./view.ts. A webhook template writes JSON: each
// `{{value}}` is escaped as the inside of a JSON string (quotes, backslashes, control characters), so
// `"text": "{{headline}}"` is valid whatever the headline holds; `{{{value}}}` inserts it as it is (for
// `{{{body}}}`, the contract's JSON body). A mail template writes plain text: nothing is escaped.
import Mustache from 'mustache';
import type { OutgoingNotification } from '../../model.ts';
import { SAMPLES } from './samples.ts';
import { viewOf } from './view.ts';

/** `json` for a webhook body, `text` for a mail's subject and body. */
export type TemplateMode = 'json' | 'text';

/** A value inside a JSON string: JSON's own escapes, without the quotes (which the template writes). */
function jsonEscape(value: unknown): string {
  return JSON.stringify(plain(value)).slice(1, -1);
}

function plain(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

export function renderTemplate(source: string, n: OutgoingNotification, mode: TemplateMode): string {
  return Mustache.render(source, viewOf(n), undefined, { escape: mode === 'json' ? jsonEscape : plain });
}

/** `line 3, column 12` of `index` in `text`. */
function position(text: string, index: number): string {
  const before = text.slice(0, index).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

// mustache.js says what is wrong and where it noticed (often the end of the template); the place to fix
// is the tag that opened what is not closed, and the fix is said here.
const SYNTAX: Array<{ pattern: RegExp; explain: (name: string) => string; opening: (source: string, name: string, at: number) => number }> = [
  {
    pattern: /^Unclosed tag at (\d+)$/,
    explain: () => 'a tag opened with {{ is not closed with }}',
    opening: (source, _name, at) => source.lastIndexOf('{{', at),
  },
  {
    pattern: /^Unopened section "(.*)" at (\d+)$/,
    explain: (name) => `{{/${name}}} closes a section that is not open (open it with {{#${name}}} or {{^${name}}}, or check the order)`,
    opening: (_source, _name, at) => at,
  },
  {
    pattern: /^Unclosed section "(.*)" at (\d+)$/,
    explain: (name) => `the section {{#${name}}} is not closed: add {{/${name}}}`,
    opening: (source, name, at) => lastMatch(source.slice(0, at), new RegExp(`\\{\\{\\s*[#^]\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\}\\}`, 'g')) ?? at,
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
    const name = match.length > 2 ? match[1]! : '';
    const at = opening(source, name, Number(match.at(-1)));
    return `template ${position(source, Math.max(0, at))}: ${explain(name)}`;
  }
  return `template: ${message}`;
}

type Token = Mustache.TemplateSpans[number];

type View = ReturnType<typeof viewOf>;
let sampleViews: View[] | undefined;

/** Every sample's view, for checking which names a template may use; made when a template is first checked. */
function viewsOfSamples(): View[] {
  return (sampleViews ??= SAMPLES.map(([, n]) => viewOf(n)));
}

/**
 * Names the template uses that no notification's view has, and partials (there are none to include).
 * A name counts as known when it resolves in at least one sample view at that place, sections followed
 * into their first item.
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
    const found = contexts.filter((c) => name === '.' || c.lookup(name) !== undefined);
    if (found.length === 0) {
      const topLevel = [...new Set(viewsOfSamples().flatMap((v) => Object.keys(v)))].join(', ');
      problems.push(`template ${position(source, start)}: unknown field '${name}' (the fields are listed in the README under "Notifier templates"; at the top: ${topLevel})`);
      continue;
    }
    if (type === '#' || type === '^') {
      const inner = type === '^' ? contexts : found.flatMap((c) => sectionContext(c, name));
      problems.push(...nameProblems(source, token[4] as Token[], inner.length > 0 ? inner : contexts));
    }
  }
  return problems;
}

/** The context a section's content is rendered in, as mustache.js does: each list item, or the value. */
function sectionContext(context: Mustache.Context, name: string): Mustache.Context[] {
  const value: unknown = context.lookup(name);
  if (Array.isArray(value)) return value.slice(0, 1).map((item) => context.push(item));
  if (value !== null && typeof value === 'object') return [context.push(value)];
  return value ? [context] : [];
}

/**
 * What is wrong with a template, each problem one line with the template's line and column; empty when
 * it is good. A `json` template must render valid JSON for every kind of notification, hostile values
 * included.
 */
export function templateProblems(source: string, mode: TemplateMode): string[] {
  let tokens: Token[];
  try {
    tokens = Mustache.parse(source);
  } catch (err) {
    return [syntaxProblem(source, err)];
  }
  const names = nameProblems(source, tokens, viewsOfSamples().map((v) => new Mustache.Context(v)));
  if (names.length > 0 || mode === 'text') return names;
  for (const [what, sample] of SAMPLES) {
    const output = renderTemplate(source, sample, mode);
    try {
      JSON.parse(output);
    } catch (err) {
      return [`template does not render valid JSON for ${what}: ${jsonProblem(output, err)} (write text values in quotes as "{{field}}", which escapes them; {{{field}}} inserts them unescaped)`];
    }
  }
  return [];
}

/** `Expected ',' ... at line 2, column 14 of the output: "text": "a"b"` */
function jsonProblem(output: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /position (\d+)/.exec(message);
  if (!at) return message;
  const index = Number(at[1]);
  const excerpt = output.slice(Math.max(0, index - 30), index + 10).replace(/\s+/g, ' ');
  return `${message.replace(/ in JSON at position \d+.*$/s, '').replace(/ \(line \d+ column \d+\)$/, '')} at ${position(output, index)} of the output, near: ${excerpt}`;
}
