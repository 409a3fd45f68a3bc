// yaml's syntax errors worded for the person editing the file (the watch file, or a clouds.yaml it names),
// at the place to look at.

import type { Document, ErrorCode, YAMLError } from 'yaml';
import { clipped } from '../text/clipped.ts';
import { firstSetting, lineOf, MAX_NESTING } from './yamlTree.ts';

/** Lists and mappings nested past MAX_NESTING, found by tooDeep or by YAML running out of stack. */
export const TOO_DEEP =
  `lists and mappings are nested more than ${MAX_NESTING} levels deep here, far deeper than any setting goes: ` +
  'look for a [ or { that is not closed, or lines indented further and further';

// The library's wording, where it speaks of its own API or leaves the fix unsaid; undefined keeps it, for
// a code that stands for more than one error (told apart by the library's message).
const TAB_AS_INDENT = 'tabs are not allowed as indentation: indent with spaces';
// yaml: a block sequence used as an implicit key (a "-" further left than the items above it, which YAML
// reads as a list that is the key of a mapping), or sequence items that start at different columns.
const LIST_ITEM_OUT_OF_LINE = 'this list item\'s "-" is not in line with the "-" of the items above it: indent it as far as they are';

const SYNTAX_MESSAGES: Partial<Record<ErrorCode, (file: string, at: string, message: string) => string | undefined>> = {
  TAB_AS_INDENT: () => TAB_AS_INDENT,
  // Where the second one starts: its `---`, or what follows a `...` that ended the first.
  MULTIPLE_DOCS: (file, at) => `${file} must be one YAML document: ${at.startsWith('---') ? 'remove the extra ---' : 'remove the ... line above, which ends it before this'}`,
  BLOCK_AS_IMPLICIT_KEY: () => 'nested mappings are not allowed in compact mappings: quote a value that contains ": ", or check the indentation',
  // The library quotes the escape, which in a password is part of it; the column points at it.
  BAD_DQ_ESCAPE: () => "a \\ in a double-quoted value starts an escape sequence YAML does not know: write \\\\ for a backslash itself, or quote the value with ' instead",
  // `schedule: @hourly`: the library names the character, but not the way out. Only the character is said
  // (the value may be a secret).
  BAD_SCALAR_START: (_file, at) => `a value cannot start with ${at[0] === '\t' ? 'a tab' : at[0]} unless it is quoted: put the whole value in quotes ("..." or '...')`,
  // Its message is the JavaScript engine's: `Maximum call stack size exceeded`.
  RESOURCE_EXHAUSTION: () => TOO_DEEP,
  MULTILINE_IMPLICIT_KEY: () => 'this key runs on past its line: a colon, or the space after it, is missing here (write key: value), or the next line is indented too far',
  // The same slip as above, on a mapping's last line, where nothing follows for the key to run on into.
  MISSING_CHAR: (_file, _at, message) => (message.startsWith('Implicit map keys') ? 'a key with no value: a colon, or the space after it, is missing here (write key: value)' : undefined),
  UNEXPECTED_TOKEN: (_file, at, message) =>
    / at node end$/.test(message)
      ? 'more text after a value that has ended: quote the whole value if this is part of it (e.g. region: "eu-de x"), or remove it'
      : /^Unexpected flow-(seq|map)-end token/.test(message)
        ? `this ${at[0]} closes no ${at[0] === ']' ? '[' : '{'}: remove it, or add the ${at[0] === ']' ? '[' : '{'} it was meant to close`
        : undefined,
  // Said at the first key out of line, and again at each one below it, in line with it: once is enough (load.ts).
  BAD_INDENT: (_file, _at, message) =>
    message.startsWith('All mapping items') ? 'this key is not in line with the keys above it in the same mapping: indent it as far as they are'
    : message.startsWith('All sequence items') ? LIST_ITEM_OUT_OF_LINE
    : undefined,
};

const QUOTED = /"((?:[^"\\]|\\[\s\S])*)"/g;

const LONE_CR = /\r(?!\n)/g;

/**
 * The first carriage return of `text` that no line feed follows, worded for `file`. YAML 1.2 ends a line
 * there; yaml (the library) does not, and reads it as a character of the line: a file saved with classic
 * Mac OS line ends is one line to it, a mapping that runs on from its first key (a problem at 1:7 that says
 * nothing of line ends), or no document at all after a comment on its first line. It is refused, not read
 * as a line end: `add` and `remove` splice the file by its LFs, and grep, sed and git number its lines by
 * them too. Only the first is reported, at a line all of them agree on (a lone CR ends a line in some
 * editors); a normal file costs one search for a CR.
 */
export function loneCarriageReturn(text: string, file: string): { offset: number; message: string } | undefined {
  const first = text.indexOf('\r');
  if (first === -1) return undefined;
  LONE_CR.lastIndex = first;
  const offset = LONE_CR.exec(text)?.index;
  if (offset === undefined) return undefined;
  const lone = text.slice(offset).match(LONE_CR)!.length;
  const lineFeeds = text.match(/\n/g)?.length ?? 0;
  if (lone > lineFeeds) {
    return {
      offset,
      message: `${file} ends its lines with a carriage return alone (CR, as classic Mac OS did), which is not read as a line end: convert them to LF with dos2unix -c mac FILE (or mac2unix FILE), or with the editor's line-ending setting`,
    };
  }
  const count = lone === 1 ? '' : ` (the first of ${lone} in the file)`;
  return { offset, message: `a carriage return (CR) with no line feed (LF) after it, which is not read as a line end${count}: end the line with LF, or delete the CR (dos2unix -c mac FILE makes every lone CR an LF)` };
}

const CLOSER: Record<string, string> = { '"': '"', "'": "'", '[': ']', '{': '}' };

/**
 * Where and what `error` of `text` (parsed as `doc`) is, in one line; `file` is what the file is called
 * (`the watch file`), and `unclosed` gives where each quoted value or flow collection that is never closed
 * starts, by the offset where it ends (unclosedOpeners, made only when needed).
 */
export function syntaxProblem(text: string, error: YAMLError, doc: Document.Parsed, unclosed: () => ReadonlyMap<number, number>, file: string): { offset: number; message: string } {
  const [offset] = error.pos;
  // Said at the second: where the first is may be screens above (a `watches:` appended at the end).
  if (error.code === 'DUPLICATE_KEY') {
    const first = firstSetting(doc, offset);
    return { offset, message: `this key is already set ${first === undefined ? 'above' : `at line ${lineOf(text, first)}`} in the same mapping: merge the two, or remove one` };
  }
  // YAML reports a quote or a bracket never closed where what it opened ends, often at the end of the file
  // or at the next key, which says nothing of where to look: point at where it starts.
  const start = error.code === 'MISSING_CHAR' || error.code === 'BAD_INDENT' ? unclosed().get(offset) : undefined;
  if (start !== undefined) {
    const opener = text[start]!;
    const message = opener === '"' || opener === "'"
      ? `the quoted value that starts here is not closed: a closing ${opener} is missing, here or in a quoted value above`
      : `the ${opener} that starts here is not closed: a closing ${CLOSER[opener]} is missing (a value in ${opener} ${CLOSER[opener]} may go on over more lines, indented further than its key)`;
    return { offset: start, message };
  }
  const tab = tabInIndentation(text, offset);
  if (tab !== undefined) return { offset: tab, message: TAB_AS_INDENT };
  const further = indentedFurther(text, error, doc);
  if (further !== undefined) return { offset: further, message: 'this line is indented further than the keys of its mapping, and YAML reads it as going on with the value above it: indent it as far as they are' };
  const slip = outOfItem(text, error);
  if (slip !== undefined) return slip;
  // Said at the "-": yaml says where the line starts.
  if (error.code === 'BLOCK_AS_IMPLICIT_KEY' && error.message.startsWith('A block sequence')) {
    INDENTATION.lastIndex = text.lastIndexOf('\n', offset - 1) + 1;
    INDENTATION.exec(text);
    return { offset: INDENTATION.lastIndex, message: LIST_ITEM_OUT_OF_LINE };
  }
  // The library quotes the text it stumbled on, which may be half the file.
  return { offset, message: SYNTAX_MESSAGES[error.code]?.(file, text.slice(offset, offset + 3), error.message) ?? error.message.replace(QUOTED, (_, inner: string) => `"${clipped(inner)}"`) };
}

const INDENTATION = /[ \t]*/y;

/**
 * The tab in the indentation of the line where yaml reports a problem at or before its first character
 * (` \tconcurrency: 4`): yaml says a tab after spaces only that the key is out of line, or in line with a
 * list item's "-", where an editor may show it in line with the keys above.
 */
function tabInIndentation(text: string, offset: number): number | undefined {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  INDENTATION.lastIndex = lineStart;
  const indentation = INDENTATION.exec(text)![0];
  const tab = indentation.indexOf('\t');
  return tab !== -1 && offset <= lineStart + indentation.length ? lineStart + tab : undefined;
}

/**
 * Where the key starts on a line indented further than the keys of its mapping (`  retries: 3` then
 * `   concurrency: 4`), for either of the two errors yaml gives it at the value above (`3`): read as going on
 * with that value, `3 concurrency` is a key, and one with a mapping nested after it on a line of its own.
 * Not when the line is in line with the one above the value's key: that key is then the one out of line.
 */
function indentedFurther(text: string, error: YAMLError, doc: Document.Parsed): number | undefined {
  if (error.code !== 'BLOCK_AS_IMPLICIT_KEY' && error.code !== 'MULTILINE_IMPLICIT_KEY') return undefined;
  const [start] = error.pos;
  const runOn = doc.errors.find((e) => e.code === 'MULTILINE_IMPLICIT_KEY' && e.pos[0] === start);
  if (runOn === undefined || !doc.errors.some((e) => e.code === 'BLOCK_AS_IMPLICIT_KEY' && e.pos[0] === start)) return undefined;
  const lineStart = text.lastIndexOf('\n', runOn.pos[1] - 1) + 1;
  if (lineStart <= start) return undefined;
  const above = lineAbove(text, text.lastIndexOf('\n', start - 1) + 1);
  const column = keyColumn(text.slice(lineStart, runOn.pos[1]));
  return above !== undefined && keyColumn(above) === column ? undefined : lineStart + column;
}

/** The nearest line above the one starting at `lineStart` that is neither blank nor a comment. */
function lineAbove(text: string, lineStart: number): string | undefined {
  for (let end = lineStart - 1; end > 0; ) {
    const from = text.lastIndexOf('\n', end - 1) + 1;
    const line = text.slice(from, end);
    if (!/^\s*(#.*)?$/.test(line)) return line;
    end = from - 1;
  }
  return undefined;
}

/** The column (from 0) where the first key of `line` starts: after its indentation and a list item's "- ". */
function keyColumn(line: string): number {
  return /^[ \t]*(?:- +)*/.exec(line)![0].length;
}

/**
 * A line of a list item's mapping indented short of the item's keys (`  - requestId: r1` then `   serverId:`
 * or `  serverId:`): YAML says only that a sequence item lacks its `-`, or that mapping items must start at
 * one column, of a mapping (the file's top) that the line was never meant for. Said with the columns.
 */
function outOfItem(text: string, error: YAMLError): { offset: number; message: string } | undefined {
  const lacksDash = error.code === 'MISSING_CHAR' && error.message.startsWith('Sequence item without');
  if (!lacksDash && !(error.code === 'BAD_INDENT' && error.message.startsWith('All mapping items'))) return undefined;
  const lineStart = text.lastIndexOf('\n', error.pos[0] - 1) + 1;
  const indent = /^ */.exec(text.slice(lineStart))![0].length;
  const item = itemAbove(text.slice(0, lineStart), indent);
  if (item === undefined || indent < item.dash || indent >= item.keys) return undefined;
  const where = indent === item.dash ? `in line with the "-" of the list item above it (column ${item.dash + 1})` : `at column ${indent + 1}, between the "-" of the list item above it (column ${item.dash + 1}) and that item's keys`;
  return { offset: lineStart + indent, message: `this line is ${where}: indent it to column ${item.keys + 1}, as far as the item's keys, to go on with that item, or begin a new item with "- "` };
}

/** The list item nearest above the lines `above` ends with, whose lines are indented further than `indent`: the columns (0-based) of its "-" and of its first key. */
function itemAbove(above: string, indent: number): { dash: number; keys: number } | undefined {
  const lines = above.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const item = /^( *)- +(?=[^\s#])/.exec(line);
    if (item !== null) return { dash: item[1]!.length, keys: item[0].length };
    if (/^ */.exec(line)![0].length <= indent) return undefined;
  }
  return undefined;
}
