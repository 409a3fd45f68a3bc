// `${VAR}` and `${VAR:-default}` are expanded in the parsed document, one string scalar at a time, never
// in the source text: a value is then always exactly one string, whatever it contains (`: `, newlines,
// `- x`), and each expansion keeps the line:col of the scalar it came from.

import type { Document, Scalar } from 'yaml';
import { eachStringValue, type Segment } from './yamlTree.ts';
import { clipped } from '../text/clipped.ts';

export interface EnvProblem {
  message: string;
  /** Set when the problem is a variable that is not set, rather than a malformed reference. */
  missing?: string;
}

export interface EnvIssue extends EnvProblem {
  path: Segment[];
  /** Offset of the scalar in the source. */
  offset: number;
  /** Set for a `${...}` in the key `path` ends at, rather than in its value. */
  inKey?: true;
}

// `$${` is an escaped literal `${`; an unclosed `${` is caught too, so that a typo is not silently kept.
const REFERENCE = /\$\$\{|\$\{([^}]*)(\}?)/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Expands one value; `problems` receives each reference that cannot be expanded, and `read` the name of
 * each variable whose value it took. A message never quotes the value: a `${` that is no reference may be a
 * password's own text (`Xk9${q7...`), and the rest of it would be printed, and logged at each reload. It
 * says where in the value the `${` is instead.
 */
export function expand(text: string, env: NodeJS.ProcessEnv, problems: EnvProblem[], read: string[] = []): string {
  return text.replace(REFERENCE, (match, inner: string | undefined, close: string | undefined, index: number) => {
    if (match === '$${') return '${';
    const reference = close === '}' ? NAME_AND_DEFAULT.exec(inner ?? '') : null;
    const name = reference?.[1];
    if (reference === null || name === undefined) {
      const what = close === '}' ? `the \${...} at character ${index + 1} of the value is no reference` : `the \${ at character ${index + 1} of the value is not closed by a }`;
      problems.push({ message: `${what}: write \${NAME} or \${NAME:-default} ($\${ for a literal \${)` });
      return match;
    }
    const fallback = reference[2];
    // A reference ends at its first `}`: `${A:-${B}}` would send the text `${B}`, and `${A:-{}}` a stray `}`
    // whenever A is set. A default with a brace (or `$${`) is refused rather than guessed at.
    if (fallback?.includes('{')) {
      problems.push({ message: `the default of \${${clipped(name, 80, false)}:-...} holds a { (another \${...}, or a brace), which would end it early: give the default as plain text without braces` });
      return match;
    }
    // Own variables only: `${constructor}` would read the function every object inherits.
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    // As in the shell, `:-` also replaces a variable that is set but empty.
    if (value !== undefined && !(fallback !== undefined && value === '')) {
      read.push(name);
      return value;
    }
    if (fallback !== undefined) return fallback;
    problems.push({ message: `environment variable ${clipped(name)} is not set (use \${${clipped(name, 80, false)}:-default} for a default)`, missing: name });
    return match;
  });
}

/** The first `${...}` in `text` (not `$${`), if any: in a key, it is reported by substituteEnv. */
export function referenceIn(text: string): string | undefined {
  return [...text.matchAll(REFERENCE)].find(([match]) => match !== '$${')?.[0];
}

/** A value that references left empty, as written: `${TOKEN}`. */
export interface EmptiedValue {
  path: Segment[];
  text: string;
}

/**
 * A value that is `$` and a name in capitals, as a shell, docker compose or a systemd EnvironmentFile
 * reads a variable, and which is sent as it is written (`$ECS_AUTH_TOKEN` as the token): what it says.
 * It does not quote the value, which may be a password's own text.
 */
export const SHELL_STYLE_VARIABLE = "is $ and a name, as a shell writes a variable, and is read as written, $ and all: only ${NAME} takes a variable's value; put the name in braces";

const SHELL_STYLE = /^\s*\$[A-Z_][A-Z0-9_]*\s*$/;

/** A value that holds what variables gave: the names of those variables. */
export interface ExpandedValue {
  path: Segment[];
  variables: string[];
}

/**
 * The variables that gave the value at a path (none for one no variable gave), looked up by the path: made
 * once, at the first problem, where a file of ten thousand watches may have as many problems and values.
 */
export function variablesByPath(expanded: readonly ExpandedValue[]): (path: readonly Segment[]) => readonly string[] {
  const byPath = new Map(expanded.map((e) => [JSON.stringify(e.path), e.variables]));
  return (path) => byPath.get(JSON.stringify(path)) ?? [];
}

/**
 * Expands every string value of `doc` in place; a value with a problem keeps its text. The values that
 * came out empty are listed, so that a message about an empty value can name the variable behind it, and
 * those that variables gave to, so that one about a value a secret's variable gave does not quote it.
 * `unexpanded`: the values that kept their text, each said once here, wherever an alias repeats it.
 */
export function substituteEnv(
  doc: Document.Parsed,
  env: NodeJS.ProcessEnv,
): { issues: EnvIssue[]; emptied: EmptiedValue[]; expanded: ExpandedValue[]; unexpanded: ReadonlySet<unknown>; shellStyle: Segment[][] } {
  const issues: EnvIssue[] = [];
  const shellStyle: Segment[][] = [];
  const emptied: EmptiedValue[] = [];
  const expanded: ExpandedValue[] = [];
  const unexpanded = new Set<Scalar>();
  eachStringValue(doc, doc.contents, (scalar, text, path) => {
    if (!text.includes('$')) return;
    if (SHELL_STYLE.test(text)) shellStyle.push(path);
    const problems: EnvProblem[] = [];
    const variables: string[] = [];
    const value = expand(text, env, problems, variables);
    if (problems.length === 0) scalar.value = value;
    else unexpanded.add(scalar);
    if (problems.length === 0 && variables.length > 0) expanded.push({ path, variables });
    if (problems.length === 0 && value === '' && text !== '') emptied.push({ path, text });
    for (const problem of problems) issues.push({ ...problem, path, offset: scalar.range?.[0] ?? 0 });
  }, (key, text, path) => {
    // A key is a name the file is read by, never replaced: a notifier named after a variable would be
    // refused for its name, and every watch's `notify:` for naming a notifier that is not there.
    const reference = referenceIn(text);
    if (reference) {
      issues.push({ message: `${clipped(reference)} is in a key, and only values are read for \${VAR}: write the key itself`, path, offset: key.range?.[0] ?? 0, inKey: true });
    }
  });
  return { issues, emptied, expanded, unexpanded, shellStyle };
}
