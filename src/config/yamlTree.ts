// Between the data the schema sees and the text the user wrote: a path such as ['watches', 2, 'notify', 0]
// leads to a node of the parsed document, whose offset gives the line:col an issue is reported at.

import {
  CST, isAlias, isMap, isPair, isScalar, isSeq, Lexer, Pair, visit, YAMLMap,
  type Document, type DocumentOptions, type Node, type ParseOptions, type ParsedNode, type Scalar, type SchemaOptions,
} from 'yaml';
import { cut, visible } from '../text/clipped.ts';
import { keyShown } from '../net/redact.ts';
import { parseStreamed } from './parseStreamed.ts';

export type Segment = string | number;

type Parsed = ParsedNode | null;

/** Whether an alias is `node` or inside it. */
function holdsAlias(node: Node): boolean {
  let found = false;
  visit(node, {
    Alias() {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

const scalarKeyText = (key: Scalar) => (key.value === null ? '' : String(key.value));

/**
 * Whether two keys of a mapping are the same key, as yaml's `uniqueKeys` asks: scalars that the data names
 * alike (`1` and `'1'`, `~` and `''`), of which it keeps the last without a word; yaml finds only scalars
 * of equal values. A list or mapping as a key is the same as no other.
 */
export function sameKey(a: unknown, b: unknown): boolean {
  return a === b || (isScalar(a) && isScalar(b) && scalarKeyText(a) === scalarKeyText(b));
}

/**
 * A key of `doc` as text, as the data names it (Document#toJS), and so the paths of the schema's issues:
 * an empty key is '', a list or mapping what yaml writes of it (`[ a, b ]`, not the JSON that String()
 * makes of it). A path that spelt such a key otherwise led nowhere, and its problem was reported
 * where the mapping holding it starts (1:1 at the top).
 */
export function keyText(doc: Document, pair: Pair<ParsedNode, Parsed>): string {
  const key = pair.key;
  if (isScalar(key)) return scalarKeyText(key);
  // As String() writes it, for a key no setting has: yaml would scan the document for the anchor of each
  // alias, and indent each level further than the one before (seconds for a key a few thousand deep,
  // which tooDeep refuses before any data is made).
  if (isAlias(key) || firstTooDeep(key) !== undefined || holdsAlias(key)) return String(key);
  // Written by yaml itself, with the document's options, as its toJS does.
  const alone = new YAMLMap();
  alone.items.push(new Pair(key));
  return Object.keys(alone.toJS(doc) as object)[0]!;
}

// `key:` with nothing after it holds an empty scalar that starts where the line ends; its key is the
// place a reader looks at.
function valueOffset(pair: Pair<ParsedNode, Parsed>): number {
  const value = pair.value;
  const empty = value === null || (isScalar(value) && value.range[0] === value.range[1]);
  return empty ? pair.key.range[0] : value.range[0];
}

/**
 * Offset of the value `path` names. A path that leaves the document (a required key that is missing)
 * points at the last mapping or list it reached, and one that passes through an alias at the alias: that
 * is where the value was used.
 */
export function offsetOf(doc: Document.Parsed, path: readonly Segment[]): number {
  return reach(doc, path).offset;
}

/**
 * Offset of the key `path` ends at, in `text`, the document's own. A list or mapping used as a key is
 * pointed at by the `?` that starts it, where the reader wrote it: yaml's range of a block mapping there
 * starts after its first key, a line below the `?` that made it one (a stray `?` line is the usual way).
 */
export function keyOffsetOf(doc: Document.Parsed, text: string, path: readonly Segment[]): number {
  const { offset, last } = reach(doc, path);
  if (last === undefined) return offset;
  if (isScalar(last.key) || isAlias(last.key)) return last.key.range[0];
  return explicitKeyIndicator(text, last.after) ?? last.key.range[0];
}

/** The `?` first in `text` from `from` on, past blank space, comments and a flow mapping's `{` or `,`. */
function explicitKeyIndicator(text: string, from: number): number | undefined {
  const pattern = /(?:[\s,{]|#[^\n]*)*/y;
  pattern.lastIndex = from;
  pattern.exec(text);
  const at = pattern.lastIndex;
  return text[at] === '?' ? at : undefined;
}

interface Reached {
  offset: number;
  /**
   * When the path's last step is a key that is there: the key, and where the text before it ends (the end
   * of the pair before it, or where its mapping starts).
   */
  last?: { key: ParsedNode; after: number };
}

function reach(doc: Document.Parsed, path: readonly Segment[]): Reached {
  let node: Parsed = doc.contents;
  let offset = node?.range[0] ?? 0;
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      // Of a key set twice the data holds the last value, which its problems are about.
      const index = node.items.findLastIndex((p) => keyText(doc, p) === String(segment));
      const pair = node.items[index];
      if (pair === undefined) return { offset };
      if (i === path.length - 1) {
        const before = node.items[index - 1];
        return { offset: valueOffset(pair), last: { key: pair.key, after: before === undefined ? node.range[0] : (before.value ?? before.key).range[2] } };
      }
      offset = valueOffset(pair);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return { offset };
      offset = item.range[0];
      node = item;
    } else {
      return { offset };
    }
  }
  return { offset };
}

/** Path of the innermost entry whose text contains `offset`: where in the document a syntax error is. */
export function pathAt(doc: Document.Parsed, offset: number): Segment[] {
  const path: Segment[] = [];
  let node: Parsed = doc.contents;
  const inside = (start: number, end: number) => start <= offset && offset < end;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => inside(p.key.range[0], (p.value ?? p.key).range[2]));
      if (pair === undefined) return path;
      path.push(keyText(doc, pair));
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => inside(item.range[0], item.range[2]));
      if (index === -1) return path;
      path.push(index);
      node = node.items[index] ?? null;
    } else {
      return path;
    }
  }
}

/**
 * Where the key that the key at `offset` sets again was set first in the same mapping (yaml reports a key
 * set twice at the second), by sameKey.
 */
export function firstSetting(doc: Document.Parsed, offset: number): number | undefined {
  let first: number | undefined;
  visit(doc, {
    Map(_key, node) {
      const keys = (node as YAMLMap.Parsed).items.flatMap((pair) => (isScalar(pair.key) ? [pair.key] : []));
      const again = keys.find((key) => key.range[0] <= offset && offset <= key.range[1]);
      if (again === undefined) return undefined;
      first = keys.find((key) => sameKey(key, again))?.range[0];
      return visit.BREAK;
    },
  });
  return first;
}

/**
 * Where each quoted value and each flow list or mapping (`[ ]`, `{ }`) that the file never closes starts,
 * by the offset where it ends, which is where YAML reports what is missing. Found in one walk, however
 * many there are.
 */
export function unclosedOpeners(doc: Document.Parsed, text: string): Map<number, number> {
  const found = new Map<number, number>();
  visit(doc, {
    Scalar(_key, node) {
      const scalar = node as Scalar.Parsed;
      if ((scalar.type !== 'QUOTE_DOUBLE' && scalar.type !== 'QUOTE_SINGLE') || !scalar.range) return;
      const closed = scalar.type === 'QUOTE_DOUBLE' ? CLOSED_DOUBLE : CLOSED_SINGLE;
      if (!closed.test(text.slice(scalar.range[0], scalar.range[1]))) found.set(scalar.range[1], scalar.range[0]);
    },
    Collection(_key, node) {
      // A flow list's `a: 1` is a mapping of its own, flow too, with no brackets.
      if (!node.flow || !node.range || (text[node.range[0]] !== '{' && text[node.range[0]] !== '[')) return;
      if (text[node.range[1] - 1] !== (isMap(node) ? '}' : ']')) found.set(node.range[1], node.range[0]);
    },
  });
  return found;
}

/**
 * How deep lists and mappings may be nested in a file of the project's. No setting is more than a few
 * levels deep; the walks of a document (its secrets, its tags, its data, the schema) recurse, and a file
 * of lists nested thousands deep (a `[` never closed in an editor's repeat, lines indented further and
 * further) would run them out of stack.
 */
export const MAX_NESTING = 64;

/** The offset of the first list or mapping nested deeper than MAX_NESTING in `doc`, if any. */
export function tooDeep(doc: Document.Parsed): number | undefined {
  return firstTooDeep(doc.contents)?.range?.[0];
}

/** The first list or mapping nested deeper than MAX_NESTING in `root`, if any; found without recursion. */
function firstTooDeep(root: Node | null): Node | undefined {
  const stack: Array<{ node: Node | null; depth: number }> = [{ node: root, depth: 1 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { node, depth } = next;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > MAX_NESTING) return node;
    // Pushed last to first, so that the first in the text is looked at first; no copy of the items.
    for (let i = node.items.length - 1; i >= 0; i--) {
      const item = node.items[i];
      if (isPair(item)) stack.push({ node: item.value as Node | null, depth: depth + 1 }, { node: item.key as Node | null, depth: depth + 1 });
      else stack.push({ node: item as Node | null, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * The first alias of `doc` outside the spans `cut` whose anchor (the last one of its name before it, as
 * YAML reads it) is set inside one: without those spans it would name nothing. Its name and offset.
 */
export function aliasIntoCut(doc: Document.Parsed, cut: ReadonlyArray<{ from: number; to: number }>): { name: string; offset: number } | undefined {
  const inCut = (offset: number | undefined) => offset !== undefined && cut.some(({ from, to }) => from <= offset && offset < to);
  const anchors = new Map<string, number | undefined>();
  let found: { name: string; offset: number } | undefined;
  visit(doc, {
    Node(_key, node) {
      const offset = node.range?.[0];
      if (!isAlias(node)) {
        if (node.anchor !== undefined) anchors.set(node.anchor, offset);
        return undefined;
      }
      if (inCut(offset) || !inCut(anchors.get(node.source))) return undefined;
      found = { name: node.source, offset: offset! };
      return visit.BREAK;
    },
  });
  return found;
}

/** The anchors set within `nodes`, and the anchors their aliases name (one walk). */
export function anchorNames(nodes: ReadonlyArray<ParsedNode | null>): { set: string[]; aliased: string[] } {
  const names = { set: [] as string[], aliased: [] as string[] };
  for (const node of nodes) {
    visit(node, {
      Node(_key, n) {
        if (isAlias(n)) names.aliased.push(n.source);
        else if (n.anchor !== undefined) names.set.push(n.anchor);
      },
    });
  }
  return names;
}

// A double-quoted value is closed by a quote that no backslash escapes; a single-quoted one by a quote
// (inside, '' is a quote).
const CLOSED_DOUBLE = /^"(?:[^"\\]|\\[\s\S])*"$/;
const CLOSED_SINGLE = /^'(?:[^']|'')*'$/;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** How much of a key a path shows. */
const KEY_SHOWN = 60;

/** `watches[2].notify[0]`; a key that would read ambiguously is quoted: `notifiers["ops.mail"]`, its unseen characters escaped. */
export function formatPath(path: readonly Segment[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      // A secret written on its key's line without the ": " between them (`password:hunter2`), or a header
      // copied with its value as one key (curl's -H "Authorization: Bearer T"): the name alone.
      const shown = keyShown(segment);
      if (shown !== segment) return `[${visible(JSON.stringify(shown))}]`;
      if (!PLAIN_KEY.test(segment) || segment.length > KEY_SHOWN) return `[${visible(JSON.stringify(cut(segment, KEY_SHOWN, false)))}]`;
      return i === 0 ? segment : `.${segment}`;
    })
    .join('');
}

/** Calls `visit` with every string scalar that is a value and its path, and `visitKey` with every string key. */
export function eachStringValue(
  doc: Document,
  node: Parsed,
  visit: (scalar: Scalar, text: string, path: Segment[]) => void,
  visitKey?: (key: Scalar, text: string, path: Segment[]) => void,
  path: Segment[] = [],
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const at = [...path, keyText(doc, pair)];
      if (visitKey && isScalar(pair.key) && typeof pair.key.value === 'string') visitKey(pair.key, pair.key.value, at);
      eachStringValue(doc, pair.value, visit, visitKey, at);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => eachStringValue(doc, item, visit, visitKey, [...path, i]));
  } else if (isScalar(node) && typeof node.value === 'string') {
    visit(node, node.value, path);
  }
  // An alias shares its anchor's node, which is visited where it is defined; visiting it again would
  // expand an already expanded value a second time.
}

/**
 * `text` parsed; or, where its nesting ran yaml's parser out of stack, where the first list or mapping
 * nested deeper than MAX_NESTING is. yaml's composer reports running out of stack as a problem of the
 * document, but its parser recurses once a level of block mapping and throws: keys indented level after
 * level two thousand deep did, at Node's own stack size, in a file validate, add or a reload reads.
 */
export function parseNested(text: string, options: ParseOptions & DocumentOptions & SchemaOptions, watchesAsData = false): { doc: Document.Parsed } | { deep: LinePos } {
  try {
    return { doc: parseStreamed(text, options, watchesAsData) };
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const offset = deepestLevel(text);
    return { deep: { offset, line: lineOf(text, offset), col: offset - text.lastIndexOf('\n', offset - 1) } };
  }
}

export interface LinePos {
  offset: number;
  line: number;
  col: number;
}

/** The line (from 1) of `text` that `offset` is on. */
export function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The offset of the first list or mapping nested deeper than MAX_NESTING, from yaml's tokens (its lexer
 * does not recurse): block collections by the columns their keys and `-` stand at, flow ones by their
 * brackets. For a file yaml could not parse, only to say where to look; 0 if none is found.
 */
function deepestLevel(text: string): number {
  const blocks: number[] = [];
  let flow = 0;
  let offset = 0;
  let col = 0;
  // Where the line's current item starts: after the indentation, or after a `- `.
  let item: { col: number; offset: number } | undefined;
  const open = (at: { col: number; offset: number }) => {
    while (blocks.length > 0 && blocks.at(-1)! > at.col) blocks.pop();
    if (blocks.at(-1) !== at.col) blocks.push(at.col);
    return blocks.length + flow > MAX_NESTING;
  };
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    // The lexer's markers of a document, a scalar and a flow's end are not in the text.
    if (type === 'doc-mode' || type === 'scalar' || type === 'flow-error-end') continue;
    const here = { col, offset };
    offset += token.length;
    col += token.length;
    if (type === 'newline') {
      col = 0;
      item = undefined;
    } else if (type === 'flow-seq-start' || type === 'flow-map-start') {
      flow++;
      if (blocks.length + flow > MAX_NESTING) return here.offset;
    } else if (type === 'flow-seq-end' || type === 'flow-map-end') {
      flow = Math.max(0, flow - 1);
    } else if (flow === 0 && type === 'seq-item-ind') {
      if (open(here)) return here.offset;
      item = undefined;
    } else if (flow === 0 && (type === 'map-value-ind' || type === 'explicit-key-ind')) {
      if (open(item ?? here)) return (item ?? here).offset;
    } else if (type !== 'space' && type !== 'comment' && item === undefined) {
      item = here;
    }
  }
  return 0;
}
