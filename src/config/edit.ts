// `add` and `remove` change the watch list of a file people maintain by hand. The document (yaml's
// Document API) says where the list and each entry are; the change is then spliced into the text, so that
// every comment, blank line, quote and alignment outside the entry stays byte for byte, and removing an
// added entry gives back the file as it was. Pure: text in, text out.
import { isMap, isPair, isScalar, isSeq, parse as parseYaml, stringify, type CST, type Document, type Pair, type ParsedNode, type YAMLSeq } from 'yaml';
import { meant } from '../text/closest.ts';
import { TAG_OPTIONS } from './tags.ts';
import { aliasIntoCut, formatPath, lineOf, parseNested, pathAt } from './yamlTree.ts';
import { fileData, watchList } from './watched.ts';
import { isMapping } from '../data/dictionary.ts';

/** What a new entry names: an action (`requestId`, `serverId`), or a job of the native ECS API (`jobId`). */
export type WatchEntry = ({ requestId: string; serverId: string } | { kind: 'ecs-job'; jobId: string }) & {
  name?: string | undefined;
  projectId?: string | undefined;
  notify?: string[] | undefined;
  deadline?: string | undefined;
};

/** Which entry `remove` takes out: a job by its id, or an action by its request id (and server, when ambiguous). */
export type WatchMatch = { jobId: string } | { requestId: string; serverId?: string | undefined };

/** The edit cannot be made: the message says why, for the person at the command line. */
export class WatchFileEditError extends Error {
  override readonly name = 'WatchFileEditError';
  /**
   * `unknown`: no such watch; `ambiguous`: several match; `file`: the file's shape does not allow it;
   * `conflict`: the file has the ids already, for another project.
   */
  readonly kind: 'unknown' | 'ambiguous' | 'file' | 'conflict';
  constructor(kind: WatchFileEditError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

type Parsed = { doc: Document.Parsed; watches: Pair<ParsedNode, ParsedNode | null> | undefined };

function parse(text: string): Parsed {
  // The source tokens say where a `-`, an anchor or a tag is: the document keeps no place for them.
  const parsed = parseNested(text, { ...TAG_OPTIONS, keepSourceTokens: true });
  const doc = 'doc' in parsed ? parsed.doc : undefined;
  if (doc === undefined || doc.errors.length > 0) throw new WatchFileEditError('file', 'the file is not valid YAML: run `ecs-action-watch validate` and fix it first');
  const root = doc.contents;
  if (root !== null && !isMap(root)) throw new WatchFileEditError('file', 'the file is not a mapping of sections: run `ecs-action-watch validate`');
  const watches = root?.items.find((p) => isScalar(p.key) && p.key.value === 'watches');
  return { doc, watches };
}

const lineStart = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
/** A byte order mark (a Windows editor's UTF-8) is no indentation: YAML reads the first line without it. */
const columnOf = (text: string, offset: number) => {
  const start = lineStart(text, offset);
  return offset - start - (start === 0 && text.startsWith('\uFEFF') && offset > 0 ? 1 : 0);
};

/**
 * A value as YAML writes it, quoted where needed, on one line: YAML writes a value that starts with `---`
 * or holds a line break over several (a block scalar, or quotes across lines), which would not be indented
 * under the key; such a value, or one that would not read back the same, is double-quoted with its
 * special characters escaped. `${` is doubled so that it is not read as a variable. An item of a `[ ]`
 * (`inFlow`) is also quoted where a `,`, `]` or `}` in it would end it, as YAML writes them only outside.
 */
function scalar(value: string, inFlow = false): string {
  // A function, because in a replacement string `$$` means one `$`.
  const text = value.replaceAll('${', () => '$${');
  const written = stringify(text, { lineWidth: 0 }).trimEnd();
  if (!written.includes('\n') && readsBack(inFlow ? `[${written}, ~]` : written, text, inFlow)) return written;
  return stringify(text, { lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE' }).trimEnd();
}

/** Whether `written` reads back as `text` (a plain value ending in U+2028, for one, loses it), as the list's first item `inFlow`. */
function readsBack(written: string, text: string, inFlow: boolean): boolean {
  try {
    // Warnings (an unknown tag: `!*`) are only a no, not lines on stderr.
    const read: unknown = parseYaml(written, { logLevel: 'error' });
    return (inFlow ? (Array.isArray(read) && read.length === 2 ? read[0] : undefined) : read) === text;
  } catch {
    // `[chat], ~]` is not YAML.
    return false;
  }
}

function entryLines(watch: WatchEntry): string[] {
  const lines = 'jobId' in watch
    ? ['kind: ecs-job', `jobId: ${scalar(watch.jobId)}`]
    : [`requestId: ${scalar(watch.requestId)}`, `serverId: ${scalar(watch.serverId)}`];
  if (watch.name !== undefined) lines.push(`name: ${scalar(watch.name)}`);
  if (watch.projectId !== undefined) lines.push(`projectId: ${scalar(watch.projectId)}`);
  if (watch.notify !== undefined) lines.push(`notify: [${watch.notify.map((name) => scalar(name, true)).join(', ')}]`);
  if (watch.deadline !== undefined) lines.push(`deadline: ${scalar(watch.deadline)}`);
  return lines;
}

/** The entry as a block list item: `-` at `dash`, keys at `key` columns, lines ended as the file ends them. */
function blockItem(watch: WatchEntry, dash: number, key: number, eol: string): string {
  const [first, ...rest] = entryLines(watch);
  const head = `${' '.repeat(dash)}-${' '.repeat(Math.max(1, key - dash - 1))}${first}${eol}`;
  return head + rest.map((line) => `${' '.repeat(key)}${line}${eol}`).join('');
}

/** `lines` (each ended by `eol`) put at the end of a file without a final line end: it keeps having none, their line break going before them. */
function placed(lines: string, eol: string, atUnendedEnd: boolean): string {
  return atUnendedEnd ? eol + lines.slice(0, -eol.length) : lines;
}

/**
 * Where `[]` goes when the list is emptied: after the `:` and the list's anchor or tag (`watches: &all []`;
 * `[] &all` is not YAML), before a comment.
 */
function emptyListAt(pair: Pair<ParsedNode, ParsedNode | null>): number {
  // A pair with a value has its `:` among these tokens.
  const last = pair.srcToken!.sep!.findLast((token) => token.type === 'map-value-ind' || token.type === 'anchor' || token.type === 'tag')!;
  return last.offset + last.source.length;
}

/**
 * Where the `-` of each item of a block list is. It need not be on the item's first line: a comment, an
 * anchor or nothing may follow it, with the entry's keys on the lines below (`- # resize web-01`).
 */
function dashes(list: YAMLSeq<ParsedNode>): number[] {
  // Comments after the last item are an item of the source without a `-`, and none of the document.
  return (list.srcToken as CST.BlockSequence).items.flatMap(({ start }) => start.filter((token) => token.type === 'seq-item-ind').map((token) => token.offset));
}

/**
 * Where a node's last value ends. A block collection's own range runs on over the comments after its last
 * value when that value is a block list (into the next line's indentation): they are not its content.
 */
function contentEnd(node: ParsedNode): number {
  if (!(isMap(node) || isSeq(node)) || node.flow || node.items.length === 0) return node.range[1];
  const last = node.items.at(-1)!;
  const inner = (isPair(last) ? (last.value ?? last.key) : last) as ParsedNode | null;
  return inner === null ? node.range[1] : contentEnd(inner);
}

/**
 * Where an item of a block list ends, its line end included: an entry written as a flow mapping ends at
 * its `}`, and the comment after it (`- {requestId: ..., serverId: db-1}  # the db server`) is its own, as
 * are the comment lines right below it indented more than its `-` at `dash` (`    # until the change is
 * closed`): they go with it, and a new entry goes after them.
 */
function itemEnd(text: string, item: ParsedNode, dash: number): number {
  const end = contentEnd(item);
  const lineEnd = text[end - 1] === '\n' ? end - 1 : text.indexOf('\n', end);
  let at = lineEnd === -1 ? text.length : lineEnd + 1;
  const column = columnOf(text, dash);
  const comment = /([ \t]*)#[^\n]*(?:\n|$)/y;
  comment.lastIndex = at;
  for (let found = comment.exec(text); found !== null && found[1]!.length > column; found = comment.exec(text)) at = comment.lastIndex;
  return at;
}

/** Adds `watch` at the end of `watches:`; returns the new text and the entry's index. */
export function addWatch(text: string, watch: WatchEntry): { text: string; index: number } {
  const { doc, watches } = parse(text);
  const value = watches?.value ?? null;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const root = doc.contents;
  // Block lines inside `{ }` are not YAML, whatever `watches` holds there.
  if (isMap(root) && root.flow) {
    throw new WatchFileEditError('file', 'the file is written as one flow mapping { ... }: write its sections as a block mapping (each "section:" at the start of its line) to edit it with add and remove');
  }
  if (watches === undefined) {
    // A new last section at column 0: after the sections, before a `...` that ends the document.
    if (isMap(root) && columnOf(text, root.range[0]) !== 0) {
      throw new WatchFileEditError('file', 'the file has no watches: list, and its sections are indented: add "watches: []" at the level of its other sections first');
    }
    const end = /^\.\.\.(?=[ \t]*(?:#.*)?\r?$)/m.exec(text.slice(root?.range[1] ?? 0));
    const at = end === null ? text.length : (root?.range[1] ?? 0) + end.index;
    const before = text.slice(0, at);
    const unended = before !== '' && !before.endsWith('\n');
    return { text: `${before}${placed(`watches:${eol}${blockItem(watch, 2, 4, eol)}`, eol, unended)}${text.slice(at)}`, index: 0 };
  }
  if (value === null || (isScalar(value) && value.value === null)) {
    // `watches:` with nothing after it, or `~`, `null` (or a `!!null` tag) saying so: the items go on the
    // lines below, what said "none" out, an anchor and a comment kept.
    const said = [
      ...(watches.srcToken?.sep ?? []).filter((token) => token.type === 'tag').map((token) => [token.offset, token.offset + token.source.length] as const),
      ...(value !== null && value.range[0] < value.range[1] ? [[value.range[0], value.range[1]] as const] : []),
    ];
    const base = said.reduceRight((rest, [from, to]) => rest.slice(0, text[from - 1] === ' ' ? from - 1 : from) + rest.slice(to), text);
    const at = base.indexOf('\n', watches.key.range[0]);
    const indent = columnOf(base, watches.key.range[0]) + 2;
    const insertAt = at === -1 ? base.length : at + 1;
    return { text: base.slice(0, insertAt) + placed(blockItem(watch, indent, indent + 2, eol), eol, at === -1) + base.slice(insertAt), index: 0 };
  }
  if (!isSeq(value)) throw new WatchFileEditError('file', 'watches is not a list: run `ecs-action-watch validate`');
  if (value.flow) {
    if (value.items.length > 0) {
      throw new WatchFileEditError('file', 'watches is written as a flow list [ ... ]: write it as a block list (one "- requestId: ..." per entry) to edit it with add and remove');
    }
    // `watches: []` becomes a block list; removing its last entry writes `[]` back. A comment inside the
    // brackets (`[  # filled by the pipeline`) stays, after the key.
    const [start, end] = value.range;
    const from = text[start - 1] === ' ' ? start - 1 : start;
    const comments = text.slice(start, end).match(/#[^\r\n]*/g) ?? [];
    const indent = columnOf(text, watches.key.range[0]) + 2;
    const lineEnd = text.indexOf('\n', end);
    const insertAt = lineEnd === -1 ? text.length : lineEnd + 1;
    const item = placed(blockItem(watch, indent, indent + 2, eol), eol, lineEnd === -1);
    const kept = comments.map((comment) => ` ${comment.trimEnd()}`).join('');
    return { text: text.slice(0, from) + kept + text.slice(end, insertAt) + item + text.slice(insertAt), index: 0 };
  }
  const items = value.items as ParsedNode[];
  const first = items[0]!;
  const dashAt = dashes(value as YAMLSeq<ParsedNode>);
  const dash = columnOf(text, dashAt[0]!);
  // Keys where the first entry has them, on its dash's line or below; beside the dash after anything else.
  const key = isMap(first) && !first.flow ? columnOf(text, first.range[0]) : dash + 2;
  const end = itemEnd(text, items.at(-1)!, dashAt.at(-1)!);
  const insert = placed(blockItem(watch, dash, key, eol), eol, text[end - 1] !== '\n');
  return { text: text.slice(0, end) + insert + text.slice(end), index: value.items.length };
}

/** `requestId req-1 on server s1`, `jobId ff80...`: the entry a match names, for messages. */
function describeMatch(match: WatchMatch): string {
  if ('jobId' in match) return `jobId ${match.jobId}`;
  return `requestId ${match.requestId}${match.serverId === undefined ? '' : ` on server ${match.serverId}`}`;
}

/** Why no entry matches, and the one a slip in the id likely meant (a character lost in copying). */
function notFound(entries: Record<string, unknown>[], match: WatchMatch): string {
  const none = `no watch with ${describeMatch(match)} in the file`;
  const ids = (key: 'jobId' | 'requestId', jobs: boolean) => [
    ...new Set(entries.flatMap((entry) => ((entry['kind'] === 'ecs-job') === jobs && typeof entry[key] === 'string' ? [entry[key]] : []))),
  ];
  if ('jobId' in match) return `${none}${meant(match.jobId, ids('jobId', true))}`;
  if (match.serverId !== undefined) {
    const servers = entries.filter((entry) => entry['kind'] !== 'ecs-job' && entry['requestId'] === match.requestId).map((entry) => String(entry['serverId']));
    if (servers.length > 0) return `${none}: that request is watched on server ${servers.join(', ')}`;
  }
  return `${none}${meant(match.requestId, ids('requestId', false))}`;
}

function matches(entry: Record<string, unknown>, match: WatchMatch): boolean {
  if ('jobId' in match) return entry['kind'] === 'ecs-job' && entry['jobId'] === match.jobId;
  return entry['requestId'] === match.requestId && (match.serverId === undefined || entry['serverId'] === match.serverId);
}

/**
 * Removes the entry with `jobId`, or with `requestId` (and `serverId` when the request is watched on several
 * servers), its ids as `run` reads them (`${VAR}`s from `env`). An entry listed again with the same ids,
 * which validate refuses as a duplicate, goes too: the ids are the watch, and after `remove` the file no
 * longer has it. `index` and `entry` are the first entry removed; `duplicates` the indexes of the others.
 */
export function removeWatch(text: string, match: WatchMatch, env: NodeJS.ProcessEnv = {}): { text: string; index: number; entry: Record<string, unknown>; duplicates: number[] } {
  const { doc, watches } = parse(text);
  const value = watches?.value;
  if (watches === undefined || !isSeq(value) || value.items.length === 0) {
    throw new WatchFileEditError('unknown', `no watch with ${describeMatch(match)}: the file has no watches`);
  }
  const list = value as YAMLSeq<ParsedNode>;
  // Each entry as validate and add read it, an alias's id and a ${VAR}'s included; the document above
  // says only where each is. A file with neither (most) is read from its nodes, sparing a second parse.
  const data = text.includes('*') || text.includes('${') ? watchList(fileData(text, env)?.data) : [];
  const entries = list.items.map((item, index) => ({ item, index, entry: isMapping(data[index]) ? data[index] : isMap(item) ? (item.toJSON() as Record<string, unknown>) : {} }));
  const found = entries.filter(({ entry }) => matches(entry, match));
  if (found.length === 0) throw new WatchFileEditError('unknown', notFound(entries.map(({ entry }) => entry), match));
  const servers = [...new Set(found.map(({ entry }) => String(entry['serverId'])))];
  if (servers.length > 1 && 'requestId' in match) {
    throw new WatchFileEditError('ambiguous', `${servers.length} watches have requestId ${match.requestId} (servers ${servers.join(', ')}): name one with --server`);
  }
  if (list.flow) {
    throw new WatchFileEditError('file', 'watches is written as a flow list [ ... ]: write it as a block list (one "- requestId: ..." per entry) to edit it with add and remove');
  }
  const dash = dashes(list);
  // From the line of each entry's dash to its last line end. Entries one after the other are one cut, so that
  // a run of them ending a file without a final line end takes the line break before the run.
  const cuts: { from: number; to: number }[] = [];
  for (const { item, index } of found) {
    const from = lineStart(text, dash[index]!);
    // `? watches` and then `: - requestId: ...`: the line holds the key's `:` too, which must stay, and the
    // entry after it could not take its place there.
    if (text.slice(from, dash[index]).trim() !== '') {
      throw new WatchFileEditError('file', `watches[${index}] begins on line ${lineOf(text, dash[index]!)} after the ":" of its key: put its "-" at the start of a line of its own to remove it`);
    }
    const end = itemEnd(text, item, dash[index]!);
    // Between two blank lines, one of them goes with it: entries set apart by one stay so.
    const blankBefore = from > 0 && /^[ \t]*\r?\n$/.test(text.slice(lineStart(text, from - 1), from));
    const to = end + (blankBefore ? (/^[ \t]*\r?\n/.exec(text.slice(end))?.[0].length ?? 0) : 0);
    const previous = cuts.at(-1);
    if (previous?.to === from) previous.to = to;
    else cuts.push({ from, to });
  }
  // Said here, at the alias's line in this file: the check of the result would say it at a line of a text
  // never written, and ask for an anchor that the reader sees set above.
  const orphan = aliasIntoCut(doc, cuts);
  if (orphan !== undefined) {
    const where = `${formatPath(pathAt(doc, orphan.offset))} at line ${lineOf(text, orphan.offset)}`;
    throw new WatchFileEditError('file', `the entry to remove sets &${orphan.name}, which ${where} uses: write its value out there first`);
  }
  let rest = text;
  // The last first, so that the offsets of those before still hold.
  for (const { from, to } of cuts.reverse()) {
    // The last line of a file without a final line end: its line break before goes with it, as `add` put it there.
    const start = to === text.length && !text.endsWith('\n') && from > 0 ? from - (text[from - 2] === '\r' ? 2 : 1) : from;
    rest = rest.slice(0, start) + rest.slice(to);
  }
  // The list emptied: `watches: []` says "none" and keeps what followed the key on its line.
  if (found.length === list.items.length) {
    const at = emptyListAt(watches);
    rest = `${rest.slice(0, at)} []${rest.slice(at)}`;
  }
  const { index, entry } = found[0]!;
  return { text: rest, index, entry, duplicates: found.slice(1).map((other) => other.index) };
}
