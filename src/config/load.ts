// Watch file text → Config, or every problem found, each at the line:col where the user has to fix it.
// Order: YAML syntax (nothing else is trustworthy while it is broken), then `${VAR}` expansion and the
// schema together, so that one `validate` run lists all of them.

import { NotUtf8Error, readRegularFile } from '../files/readRegularFile.ts';
import { readCaFile } from '../net/caFile.ts';
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Document, type ParsedNode, type YAMLError, type YAMLMap } from 'yaml';
import { documentData } from './aliases.ts';
import { applyCloudsYaml } from './cloudsYaml.ts';
import { ConfigError, type ConfigIssue } from './ConfigError.ts';
import { fileProblem } from '../files/fileProblem.ts';
import { errorCode } from '../net/failure.ts';
import { SHELL_STYLE_VARIABLE, substituteEnv, variablesByPath, type EmptiedValue, type EnvIssue, type ExpandedValue } from './env.ts';
import { EMPTY_FROM_ENV, keyMessages } from './fields.ts';
import { configErrorMap, missingSpaceHint } from './messages.ts';
import type { z } from 'zod';
import { ConfigSchema, WatchSchema, configSchema, type Config } from './schema.ts';
import { tagProblems, TAG_OPTIONS } from './tags.ts';
import { loneCarriageReturn, syntaxProblem, TOO_DEEP } from './yamlSyntax.ts';
import { isSecretVariable, schemaProblemHider, secretHider, withoutRepeatedSecrets, writtenSecrets } from './yamlSecrets.ts';
import { configWarnings } from './warnings.ts';
import { holdsWatchData } from './parseStreamed.ts';
import { anchorNames, formatPath, keyOffsetOf, keyText, offsetOf, parseNested, pathAt, tooDeep, unclosedOpeners, type Segment } from './yamlTree.ts';
import { withoutByteOrderMark } from '../text/byteOrderMark.ts';

export { ConfigError, formatIssue, type ConfigIssue } from './ConfigError.ts';

export interface LoadOptions {
  /** Where `${VAR}` values come from; process.env when left out. */
  env?: NodeJS.ProcessEnv | undefined;
  /** The file name a ConfigError carries. */
  source?: string | undefined;
  /** Told each warning of a valid file (a setting that works, but worse than likely expected). */
  onWarning?: ((warning: ConfigIssue) => void) | undefined;
  /**
   * Sections of the file left out before anything is read from them, for a command that uses none of them
   * (`wait`, which takes the cloud settings only; `check`, which sends nothing): their `${VAR}`s need not
   * be set where it runs (a pipeline's job has the cloud's credentials, not the notifiers' secrets), and
   * their problems are the daemon's. They take their defaults. A left-out notifiers section still gives
   * its names, which the watches' `notify:` lists must name.
   */
  omitSections?: readonly string[] | undefined;
  /**
   * The one notifier a command sends to (`notify-test --notifier NAME`): the others are left out as the
   * sections above are, so that their `${VAR}`s need not be set; their names are kept.
   */
  onlyNotifier?: string | undefined;
  /**
   * For a command that uses only these parts of the file (notify-test: the notifiers, and cloud.tls for
   * the CA their receivers may need): a `${VAR}` elsewhere that is not set where it runs (the cloud's
   * token, the state folder) is no problem; its value keeps its text, and `onUnset` is told each such
   * variable once the file is read. Everything else is checked as ever, that value too: one whose type
   * its text is not (a port, a URL) is still refused for the variable. One these parts alias is theirs.
   */
  unsetAllowedOutside?: { paths: readonly (readonly Segment[])[]; onUnset: (unset: readonly UnsetVariable[]) => void } | undefined;
  /**
   * The watch file's mode (stat's), when it was read from a file: a secret written into a file that every
   * user of the machine may read is warned of.
   */
  mode?: number | undefined;
}

/** A variable that unsetAllowedOutside let be unset, and the settings that kept its `${...}` text. */
export interface UnsetVariable {
  variable: string;
  paths: string[];
}

export type ConfigCheck = { ok: true; config: Config; warnings: ConfigIssue[]; unset?: UnsetVariable[] } | { ok: false; issues: ConfigIssue[] };

/** A syntax error of the watch file (yamlSyntax's), or a `${VAR}` that YAML read as the start of a flow mapping. */
function watchFileSyntaxProblem(text: string, error: YAMLError, doc: Document.Parsed, unclosed: () => ReadonlyMap<number, number>): { offset: number; path: Segment[]; message: string } {
  const [offset] = error.pos;
  // In `{ token: ${TOKEN} }` or `to: [${TO}]` the `{` of the reference opens a flow mapping as far as YAML is
  // concerned, and in a list the `$` before it is the key of a mapping of its own, not part of the path.
  if (text[offset] === '{' && text[offset - 1] === '$') {
    const path = pathAt(doc, offset - 1);
    if (path.at(-1) === '$') path.pop();
    const inside = typeof path.at(-1) === 'number' ? '[ ]' : '{ }';
    // `Bearer ${TOKEN}`: quoting the reference alone leaves a `{` in the value, and the same problem.
    const start = valueStart(text, offset - 1);
    if (start < offset - 1) return { offset: start, path, message: `inside ${inside} a \${VAR} value must be quoted, the whole value and not the \${VAR} alone: write "...\${VAR}"` };
    return { offset: offset - 1, path, message: `inside ${inside} a \${VAR} value must be quoted: write "\${VAR}"` };
  }
  const problem = syntaxProblem(text, error, doc, unclosed, 'the watch file');
  return { ...problem, path: pathAt(doc, problem.offset) };
}

/** Where the plain value of a flow collection that holds `dollar` (a `${` that YAML stopped at) starts, on its line. */
function valueStart(text: string, dollar: number): number {
  const lineStart = text.lastIndexOf('\n', dollar - 1) + 1;
  const before = text.slice(lineStart, dollar);
  // After the last `{`, `[`, `,` or `: ` before it, and the spaces after that.
  const opener = [...before.matchAll(/(?:[{[,]|:\s)\s*/g)].at(-1);
  return opener === undefined ? dollar : lineStart + opener.index + opener[0].length;
}

/**
 * The syntax errors worth telling: past the first one that throws the parser off its track, a token it
 * meets outside any place it expects one (`Unexpected scalar token in YAML stream`) is that error's echo,
 * one a token to the end of the file; so is a key out of line after one out of line, in line with it (a
 * key indented a space too few is said at it, and at every key below it), or after a tab that moved the
 * first key of a mapping (`-\trequestId: r1`: every key below it is out of line with it). A key set twice
 * leaves the parser on track.
 */
function followingFirst(errors: readonly YAMLError[]): readonly YAMLError[] {
  const offTrack = errors.find((error) => error.code !== 'DUPLICATE_KEY');
  if (offTrack === undefined) return errors;
  const echo = (error: YAMLError) =>
    error.pos[0] > offTrack.pos[0] &&
    ((error.code === 'UNEXPECTED_TOKEN' && / in YAML stream\b/.test(error.message)) || (error.code === 'BAD_INDENT' && (offTrack.code === 'BAD_INDENT' || offTrack.code === 'TAB_AS_INDENT')));
  return errors.filter((error) => !echo(error));
}

/**
 * Replaces every string in `value` (parsed YAML: plain objects and arrays, and the core schema's scalars,
 * as TAG_OPTIONS reads it) with a copy of its own. The parser slices values out of the
 * file's text, and V8 keeps the whole string a slice was taken from for as long as the slice lives: the
 * daemon would hold its watch file's text (and clouds.yaml's) for as long as it runs. (A toJS reviver
 * cannot do this: it keeps a returned value that is equal to the old one.)
 */
function ownStrings(value: unknown, seen = new WeakSet<object>()): unknown {
  // V8 copies a string shorter than 13 characters rather than slice it (SlicedString::kMinLength). Through
  // JSON, not UTF-8: a lone surrogate (a "\uD800" escape in the file) comes back as it was.
  if (typeof value === 'string') return value.length < 13 ? value : (JSON.parse(JSON.stringify(value)) as string);
  // An alias makes one object appear twice, or inside itself (`a: &a {b: *a}`).
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  const entries = value as Record<string, unknown>;
  // Each key is an own property, `__proto__` included: assigning to it sets that key, not the prototype.
  for (const key of Object.keys(entries)) entries[key] = ownStrings(entries[key], seen);
  return value;
}

const startsWith = (path: readonly Segment[], prefix: readonly Segment[]) => prefix.every((s, i) => path[i] === s);

/** The node `path` names in `doc`, each alias on the way taken for the value it names. */
function nodeAt(doc: Document.Parsed, path: readonly Segment[]): unknown {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    node = isMap(node) || isSeq(node) ? node.get(segment, true) : undefined;
  }
  return isAlias(node) ? node.resolve(doc) : node;
}

/** Problems listed when the file has too many to check at once, before a last one that says so. */
const MAX_PROBLEMS_WATCH_BY_WATCH = 1000;

type SchemaResult = { success: true; data: z.output<typeof ConfigSchema>; error?: undefined } | { success: false; error: { issues: z.core.$ZodIssue[] } };

/**
 * The file checked against the schema. zod gathers the problems of a list by spreading them into one
 * array, which runs out of stack past about 100,000 (a file of 100,000 empty watches): then the watches
 * are checked one by one, the rest of the file on its own, and the first problems are listed. Such a file
 * is not valid anyway, so the checks between sections (notifier names) can wait for the next run.
 */
function parseSchema(data: unknown, schema: typeof ConfigSchema): SchemaResult {
  const options = { error: configErrorMap, jitless: true };
  try {
    return schema.safeParse(data, options);
  } catch (err) {
    if (!(err instanceof RangeError) || typeof data !== 'object' || data === null) throw err;
    try {
      return watchByWatch(data as { watches?: unknown }, schema, options);
    } catch (again) {
      if (!(again instanceof RangeError)) throw again;
      // A section besides watches, or one watch, with that many problems.
      return { success: false, error: { issues: [{ code: 'custom', path: [], input: data, message: 'too many problems to check at once: validate a copy of the file with fewer entries, then the rest' }] } };
    }
  }
}

/** The rest of the file on its own, then each watch, up to the first problems. */
function watchByWatch(data: { watches?: unknown }, schema: typeof ConfigSchema, options: { error: typeof configErrorMap; jitless: boolean }): SchemaResult {
  const { watches, ...rest } = data;
  const issues = schema.safeParse({ ...rest, watches: [] }, options).error?.issues ?? [];
  const list = Array.isArray(watches) ? watches : [];
  for (let i = 0; i < list.length && issues.length < MAX_PROBLEMS_WATCH_BY_WATCH; i++) {
    for (const issue of WatchSchema.safeParse(list[i], options).error?.issues ?? []) issues.push({ ...issue, path: ['watches', i, ...issue.path] });
  }
  if (issues.length >= MAX_PROBLEMS_WATCH_BY_WATCH) {
    issues.push({ code: 'custom', path: ['watches'], input: watches, message: `more problems than the first ${MAX_PROBLEMS_WATCH_BY_WATCH} listed: fix these and run validate again` });
  }
  return { success: false, error: { issues } };
}

/** Checks watch file text without throwing; for `validate`, and for `add`/`remove` before they write. */
export function validateConfigText(text: string, options: CheckOptions = {}): ConfigCheck {
  const quick = checkText(text, options, true);
  const clean = quick.check.ok && quick.check.warnings.length === 0;
  // A check that read no watch as its data (a small file, or one parsed whole for its syntax errors) placed
  // every problem at its setting already.
  return clean || !quick.readAsData ? quick.check : checkText(text, options, false).check;
}

type CheckOptions = Pick<LoadOptions, 'env' | 'omitSections' | 'onlyNotifier' | 'unsetAllowedOutside' | 'mode'>;

/**
 * validateConfigText's check, with `watchesAsData` each watch of plain settings read as its data rather
 * than as nodes (parseStreamed's asData): a tenth of the memory at 10,000 watches, at the start and at
 * every reload, and the same configuration; but a problem or a warning in such a watch is placed at the
 * watch, not at its setting, so a file that has one is checked again without. `readAsData`: whether a
 * watch was.
 */
export function checkText(fileText: string, options: CheckOptions, watchesAsData: boolean): { check: ConfigCheck; readAsData: boolean } {
  const text = withoutByteOrderMark(fileText);
  const lineCounter = new LineCounter();
  const parsed = parseNested(text, { lineCounter, prettyErrors: false, ...TAG_OPTIONS }, watchesAsData);
  // Before the check, which changes the Document (${VAR}s, sections left out).
  const readAsData = 'doc' in parsed && holdsWatchData(parsed.doc);
  const check = checkParsed(text, options, parsed, lineCounter);
  if ('deep' in parsed) return { check, readAsData };
  const hide = (issues: ConfigIssue[]) => withoutRepeatedSecrets(issues, parsed.doc, text, options.env ?? process.env);
  const hidden = check.ok ? { ...check, warnings: hide(check.warnings) } : { ok: false as const, issues: hide(check.issues) };
  return { check: hidden, readAsData };
}

function checkParsed(text: string, options: CheckOptions, parsed: ReturnType<typeof parseNested>, lineCounter: LineCounter): ConfigCheck {
  if ('deep' in parsed) return { ok: false, issues: [{ line: parsed.deep.line, col: parsed.deep.col, path: formatPath([]), message: TOO_DEEP }] };
  const { doc } = parsed;
  const issueAt = (offset: number, path: readonly Segment[], message: string): ConfigIssue => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col, path: formatPath(path), message };
  };
  // A problem of YAML's own (syntax, tags, aliases) may quote the text it stumbled on: a secret's too.
  const hide = secretHider(doc, text);
  const yamlIssueAt = (offset: number, path: Segment[], message: string): ConfigIssue => {
    const shown = hide(offset, path, message);
    return issueAt(offset, shown.path, shown.message);
  };

  // Alone: YAML read the lines after it as part of one line, and every problem it found there says so.
  const cr = loneCarriageReturn(text, 'the watch file');
  if (cr !== undefined) return { ok: false, issues: [issueAt(cr.offset, [], cr.message)] };
  // Alone: YAML's errors inside are of its running out of stack, and the walks below would run out too.
  const deep = tooDeep(doc);
  if (deep !== undefined) return { ok: false, issues: [yamlIssueAt(deep, pathAt(doc, deep), TOO_DEEP)] };

  // After the first error on a line the parser is off track, and what follows on that line is noise.
  const lines = new Set<number>();
  const syntaxIssues: ConfigIssue[] = [];
  let unclosed: ReadonlyMap<number, number> | undefined;
  for (const error of followingFirst(doc.errors)) {
    const { offset, path, message } = watchFileSyntaxProblem(text, error, doc, () => (unclosed ??= unclosedOpeners(doc, text)));
    const issue = yamlIssueAt(offset, path, message);
    if (!lines.has(issue.line)) syntaxIssues.push(issue);
    lines.add(issue.line);
  }
  // A key set twice leaves a whole document (the last value read): the rest of the file is checked too, so
  // that one run lists every problem. Any other syntax error leaves the parser off track.
  if (!doc.errors.every((error) => error.code === 'DUPLICATE_KEY')) return { ok: false, issues: sorted(syntaxIssues) };
  const root = doc.contents;
  if (!isMap(root)) {
    const empty = root === null || (isScalar(root) && root.value === null);
    const got = isSeq(root) ? 'a list' : 'a single value';
    const message = empty
      ? 'the watch file is empty: it needs at least a cloud section with an endpoint'
      : `the watch file must be a mapping of sections (cloud, poll, notifiers, ...), not ${got}${isScalar(root) ? missingSpaceHint(root.value) : ''}`;
    return { ok: false, issues: [{ line: 1, col: 1, path: formatPath([]), message }] };
  }

  const isNotifiers = (pair: TopPair) => isScalar(pair.key) && pair.key.value === 'notifiers';
  const omitted = leftOut(root.items, (pair) => isScalar(pair.key) && (options.omitSections ?? []).includes(String(pair.key.value)));
  const omittedKeys = new Set([...omitted].map((pair) => keyText(doc, pair)));
  const kept = root.items.find((pair) => isNotifiers(pair) && !omitted.has(pair));
  const only = options.onlyNotifier;
  const others =
    // A name the file lacks leaves every notifier in: the command says which there are.
    only === undefined || kept === undefined || !isMap(kept.value) || !kept.value.items.some((pair) => keyText(doc, pair) === only)
      ? new Set<TopPair>()
      : leftOut(kept.value.items, (pair) => keyText(doc, pair) !== only, [kept.key, ...root.items.filter((pair) => pair !== kept && !omitted.has(pair)).flatMap((pair) => [pair.key, pair.value])]);
  const otherKeys = new Set([...others].map((pair) => keyText(doc, pair)));
  // Like a key set twice, a tag leaves the rest of the document as it was: it is checked too.
  const tagIssues = tagProblems(doc, text, true).filter(
    (t) => t.path.length === 0 || (!omittedKeys.has(String(t.path[0])) && !(t.path[0] === 'notifiers' && otherKeys.has(String(t.path[1])))),
  );
  const notifiers = [...omitted].find(isNotifiers) ?? (others.size > 0 ? kept : undefined);
  const schema = notifiers === undefined ? ConfigSchema : configSchema({ names: keysOf(doc, notifiers.value) });
  if (omitted.size > 0) root.items = root.items.filter((pair) => !omitted.has(pair));
  if (others.size > 0 && isMap(kept!.value)) kept!.value.items = kept!.value.items.filter((pair) => !others.has(pair));
  const env = options.env ?? process.env;
  const { issues: envIssues, emptied, expanded, unexpanded, shellStyle } = substituteEnv(doc, env);
  const used = options.unsetAllowedOutside && scalarsUnder(doc, options.unsetAllowedOutside.paths);
  const unsetAllowed = (e: EnvIssue) => used !== undefined && e.missing !== undefined && !used.has(e.offset);
  const envIssueAt = (e: EnvIssue): ConfigIssue => ({ ...issueAt(e.offset, e.path, e.message), ...(e.missing ? { cause: 'environment', variable: e.missing } : {}) });
  const converted = documentData(doc, text);
  if (!converted.ok) {
    return { ok: false, issues: converted.problems.map(({ offset, message }) => yamlIssueAt(offset, pathAt(doc, offset), message)) };
  }
  const data = converted.data;
  const profile = applyCloudsYaml(data, env);
  // After the profile: its values are slices of the clouds.yaml text.
  ownStrings(data);
  // jitless: zod would compile a parser (new Function) for each object shape at its first parse, which a
  // watch file, parsed once, never earns back: `validate` of one watch 5 % sooner, of 10,000 as soon.
  const result = parseSchema(data, schema);
  const shown = schemaProblemHider(data, expanded);
  // As ever, also a variable unsetAllowedOutside lets be unset, when clouds.yaml's lookup failed: `cloud:
  // ${OS_CLOUD}` looked for a cloud of that text.
  const reported = new Set(envIssues.filter((e) => !unsetAllowed(e) || profile.issues.some((p) => startsWith(e.path, p.path))));
  const issues = [
    ...syntaxIssues,
    ...tagIssues.map((t) => yamlIssueAt(t.offset, t.path, t.message)),
    ...[...reported].map(envIssueAt),
    ...profile.issues.map((p) => issueAt(offsetOf(doc, p.path), p.path, p.message)),
  ];
  const schemaIssues = (result.error?.issues ?? []).map((issue) => ({ issue, path: issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s)) }));
  // What a notifier named `<<` lacks is noise: its value is a mapping meant to be merged, not settings.
  const mergeKeys = schemaIssues.filter(({ issue, path }) => issue.code === 'invalid_key' && path.at(-1) === '<<').map(({ path }) => path);
  let variablesAt: ((path: readonly Segment[]) => readonly string[]) | undefined;
  const lineBreakFrom = (path: readonly Segment[]) => endsInLineBreak((variablesAt ??= variablesByPath(expanded))(path), env);
  // Variables unsetAllowedOutside let be unset, but whose value's text the schema refuses.
  const refused = new Set<EnvIssue>();
  for (const { issue, path } of schemaIssues) {
    // A value whose variable is missing still has its `${...}` text, which the schema may reject too, also
    // where an alias repeats it; and a tagged one, the text it is read as.
    const node = unexpanded.size > 0 ? nodeAt(doc, path) : undefined;
    const repeated = isScalar(node) && unexpanded.has(node);
    const fromVariable = envIssues.filter((e) => startsWith(path, e.path) || (repeated && e.offset === node.range?.[0]));
    for (const e of fromVariable) refused.add(e);
    if (fromVariable.length > 0 || repeated || tagIssues.some((t) => startsWith(path, t.path))) continue;
    if (mergeKeys.some((key) => path.length > key.length && startsWith(path, key))) continue;
    // Without the profile that failed, the endpoint it would have come with is missing too: noise.
    if (profile.issues.length > 0 && startsWith(path, ['cloud', 'endpoint']) && issue.input === undefined) continue;
    const message = shown(path, issue.message);
    if (profile.source !== undefined && path[0] === 'cloud' && profile.filled?.includes(String(path[1])) === true) {
      issues.push(issueAt(offsetOf(doc, path), path, `${message} (from ${profile.source})`));
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      // Each at its key; left out: the keys said already to hold a ${VAR} (only a plain key is; a list or
      // mapping as a key is not). A variable missing in the value of a misspelt key leaves the key to be said.
      const said = (k: string) => envIssues.some((e) => e.inKey === true && e.path.length === path.length + 1 && startsWith(e.path, [...path, k]));
      const messages = keyMessages(message);
      issue.keys.forEach((k, i) => {
        if (said(k)) return;
        const keyPath = [...path, k];
        issues.push(issueAt(keyOffsetOf(doc, text, keyPath), keyPath, messages[i]!));
      });
    } else if (issue.code === 'invalid_key') {
      issues.push(issueAt(keyOffsetOf(doc, text, path), path, message));
    } else {
      issues.push(issueAt(offsetOf(doc, path), path, `${message}${emptiedBy(emptied, path, message)}${lineBreakFrom(path)}`));
    }
  }
  issues.push(...[...refused].filter((e) => !reported.has(e)).map(envIssueAt));
  const unset = envIssues.filter((e) => !reported.has(e) && !refused.has(e));
  // A file of this machine's: like a variable, it may exist only where the daemon runs (add and remove skip it).
  const ca = readCa(doc, data, profile.source);
  const problem = ca?.problem;
  const caTaken = problem === undefined || envIssues.some((e) => startsWith(CA_FILE_PATH, e.path)) || issues.some((i) => i.path === formatPath(CA_FILE_PATH));
  if (!caTaken) issues.push({ ...issueAt(offsetOf(doc, problem.path), problem.path, problem.message), cause: 'environment' });
  if (result.success && issues.length === 0) {
    const fromProfile = (path: readonly Segment[]) => profile.source !== undefined && path[0] === 'cloud' && profile.filled?.includes(String(path[1])) === true;
    const exactly = (path: readonly Segment[]) => (at: readonly Segment[]) => at.length === path.length && startsWith(path, at);
    // A value left as `${TOKEN}` is no secret written into the file; nor is one written `$TOKEN`, a slip said as such.
    const notWritten = (path: readonly Segment[]) => fromProfile(path) || unset.some((e) => exactly(path)(e.path)) || shellStyle.some(exactly(path));
    const readable = options.mode !== undefined && (options.mode & 0o004) !== 0 ? writtenSecrets(data, expanded, notWritten).map((path) => ({ path, message: readableSecret(options.mode!) })) : [];
    // One that judges a value left as its `${...}` text judges nothing the daemon would read.
    const judgesUnset = (w: { path: readonly Segment[]; message: string }) => unset.some((e) => startsWith(w.path, e.path) || w.message.includes(`\${${e.missing}}`));
    const shellVariables = shellStyle.map((path) => ({ path, message: SHELL_STYLE_VARIABLE }));
    const warnings = sorted([...configWarnings(result.data).filter((w) => !judgesUnset(w)), ...readable, ...shellVariables].map((w) => issueAt(offsetOf(doc, w.path), w.path, shown(w.path, w.message))));
    const { cloud } = result.data;
    const secrets = variableSecrets(expanded, env);
    const config = { ...result.data, cloud: { ...cloud, tls: { ...cloud.tls, ca: ca?.pem } }, ...(secrets.length > 0 ? { variableSecrets: secrets } : {}) };
    return { ok: true, config, warnings, ...(unset.length > 0 ? { unset: unsetVariables(unset) } : {}) };
  }
  return { ok: false, issues: sorted(issues) };
}

const CA_FILE_PATH = ['cloud', 'tls', 'caFile'];

/**
 * The offsets of the scalars at or under `paths` in `doc`, also those an alias there names (wherever the
 * anchor is): the values read from those parts.
 */
function scalarsUnder(doc: Document.Parsed, paths: readonly (readonly Segment[])[]): Set<number> {
  const offsets = new Set<number>();
  const seen = new Set<unknown>();
  const visit = (node: unknown): void => {
    const value = isAlias(node) ? node.resolve(doc) : node;
    if (seen.has(value)) return;
    seen.add(value);
    if (isMap(value)) for (const pair of value.items) visit(pair.value);
    else if (isSeq(value)) for (const item of value.items) visit(item);
    else if (isScalar(value) && value.range) offsets.add(value.range[0]);
  };
  for (const path of paths) visit(nodeAt(doc, path));
  return offsets;
}

/** Each variable of `issues` once, with the settings that name it. */
function unsetVariables(issues: readonly EnvIssue[]): UnsetVariable[] {
  const byName = new Map<string, UnsetVariable>();
  for (const e of issues) {
    const variable = byName.get(e.missing!) ?? { variable: e.missing!, paths: [] };
    byName.set(variable.variable, variable);
    variable.paths.push(formatPath(e.path));
  }
  return [...byName.values()];
}

/**
 * Said at a secret written into a watch file that every user may read: as ssh says of a private key, but
 * a warning, since a file of a container's or a checkout's (0644) may be read by nobody else where it runs.
 */
function readableSecret(mode: number): string {
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return `a secret written into the watch file, which every user of this machine may read (mode ${octal}): give it as \${VAR} (kept in a file of mode 0600: a systemd EnvironmentFile, a Kubernetes Secret), or let only the daemon's user read the watch file (chmod o-r)`;
}

/** The value of each variable named as a secret that the file read, once each (Config.variableSecrets). */
function variableSecrets(expanded: readonly ExpandedValue[], env: NodeJS.ProcessEnv): string[] {
  const names = new Set(expanded.flatMap((e) => e.variables).filter(isSecretVariable));
  return [...names].map((name) => env[name]).filter((value): value is string => value !== undefined && value !== '');
}

type CaFile = { pem: string; problem?: undefined } | { pem?: undefined; problem: { path: string[]; message: string } };

/**
 * The CA file the configuration names (the watch file's `cloud.tls.caFile`, or the clouds.yaml profile's
 * `cacert`): its text, read once for the load and kept in the configuration (the daemon's parts trust what
 * was checked; a reload reads a renewed one), or what is wrong with it, so that `validate` finds it and
 * not `run`; checked whatever else is wrong, so that one run lists it too. Undefined when none is named.
 */
function readCa(doc: Document, data: unknown, profileSource: string | undefined): CaFile | undefined {
  const caFile = (data as { cloud?: { tls?: { caFile?: unknown } } } | null)?.cloud?.tls?.caFile;
  if (typeof caFile !== 'string' || caFile === '') return undefined;
  const own = doc.hasIn(CA_FILE_PATH);
  try {
    return { pem: readCaFile(caFile, own ? 'cloud.tls.caFile' : 'cacert') };
  } catch (err) {
    // A relative path is read from the working folder, which the daemon's may not be.
    const where = isAbsolute(caFile) ? '' : ` (relative to the working folder, ${process.cwd()})`;
    const message = `${(err as Error).message}${where}`;
    const path = own ? CA_FILE_PATH : doc.hasIn(['cloud', 'cloud']) ? ['cloud', 'cloud'] : ['cloud'];
    return { problem: { path, message: own ? message : `${message} (from ${profileSource})` } };
  }
}

/**
 * The pairs of a mapping's `items` that are `wanted` out and can be left out. One holding an anchor that an
 * alias elsewhere (the other items, or `beside`: the rest of the document) names stays, with what it needs
 * in turn: without it the alias would name nothing (`deadline: *age` in `poll` with `&age` under
 * `delivery`), and a file `validate` accepts would be refused.
 */
function leftOut(items: readonly TopPair[], wanted: (pair: TopPair) => boolean, beside: ReadonlyArray<ParsedNode | null> = []): Set<TopPair> {
  const omitted = new Set(items.filter(wanted));
  const names = new Map([...omitted].map((pair) => [pair, anchorNames([pair.key, pair.value]).set]));
  for (let putBack = omitted.size > 0; putBack; ) {
    putBack = false;
    const aliased = new Set(anchorNames([...beside, ...items.filter((pair) => !omitted.has(pair)).flatMap((pair) => [pair.key, pair.value])]).aliased);
    for (const pair of omitted) {
      if (names.get(pair)!.some((anchor) => aliased.has(anchor))) {
        omitted.delete(pair);
        putBack = true;
      }
    }
  }
  return omitted;
}

type TopPair = YAMLMap.Parsed['items'][number];

/**
 * The keys of a mapping, read without its values; none for an empty value (`notifiers:`, `~`), which the
 * schema reads as left out; undefined for anything else.
 */
function keysOf(doc: Document, node: ParsedNode | null): string[] | undefined {
  if (isMap(node)) return node.items.map((pair) => keyText(doc, pair));
  return node === null || (isScalar(node) && node.value === null) ? [] : undefined;
}

/** ` (from ${TOKEN}, which is empty)` when the value at `path` came out empty, unless the message says so already. */
function emptiedBy(emptied: readonly EmptiedValue[], path: readonly Segment[], message: string): string {
  if (message.includes(EMPTY_FROM_ENV)) return '';
  const value = emptied.find((e) => e.path.length === path.length && startsWith(path, e.path));
  return value ? ` (from ${value.text}, which is empty)` : '';
}

/**
 * ` (the value of ${TOKEN} ends with a line break, ...)` when one of `variables` (those that gave a value)
 * does: a file holding a secret often ends so, and the value's problem (no signing key, no project id, not
 * one line) would not say that this is what makes it one.
 */
function endsInLineBreak(variables: readonly string[], env: NodeJS.ProcessEnv): string {
  const variable = variables.find((name) => /[\r\n]$/.test(env[name] ?? ''));
  return variable === undefined ? '' : ` (the value of \${${variable}} ends with a line break, as a file it was read from often does, such as one a Kubernetes Secret was made from: set the variable without it)`;
}

function sorted(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** Parses watch file text; throws ConfigError listing every problem. */
export function parseConfig(text: string, options: LoadOptions = {}): Config {
  const result = validateConfigText(text, options);
  if (!result.ok) throw new ConfigError(result.issues, { file: options.source });
  for (const warning of result.warnings) options.onWarning?.(warning);
  if (result.unset) options.unsetAllowedOutside?.onUnset(result.unset);
  return result.config;
}

/** Ten thousand watches take about 1.5 MB; a watch file far beyond that is something else. */
const MAX_WATCH_FILE_BYTES = 16 * 1024 * 1024;

/** The watch file's text: a regular file, at most 16 MiB, UTF-8. Throws what readRegularFile throws. */
export function readWatchFile(path: string): Promise<string> {
  return readRegularFile(path, MAX_WATCH_FILE_BYTES, { strictUtf8: true });
}

/** What to tell an operator when the watch file at `path` cannot be read (`err` from readWatchFile). */
export function cannotReadWatchFile(path: string, err: unknown): string {
  // Another file is the way out of most, but not of an encoding (that file is to be saved again) nor of a
  // permission (that file is to be made readable).
  const code = errorCode(err);
  const hint =
    err instanceof NotUtf8Error ? ''
    : code === 'EACCES' || code === 'EPERM' ? ': let the user this runs as read it (and enter its folders), or name another file with --config or ECS_WATCH_CONFIG'
    : ' (name another file with --config or ECS_WATCH_CONFIG)';
  return `cannot read the watch file ${path}: ${fileProblem(err)}${hint}`;
}

/** The watch file's text at `path` (readWatchFile); one that cannot be read is a ConfigError that says why. */
export async function readWatchFileOrThrow(path: string): Promise<string> {
  try {
    return await readWatchFile(path);
  } catch (err) {
    throw new ConfigError([], { file: path, message: cannotReadWatchFile(path, err), cause: err });
  }
}

/** Reads and parses the watch file at `path`; throws ConfigError when it cannot be read or is invalid. */
export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<Config> {
  const text = await readWatchFileOrThrow(path);
  // Synchronously, as the file was read: node:fs/promises would load readline, file watching and more for one stat.
  const mode = statSync(path, { throwIfNoEntry: false })?.mode;
  return parseConfig(text, { ...options, source: options.source ?? path, mode });
}
