// The watch file parsed without its whole syntax tree at once. yaml builds the CST of a document (its
// tokens, about 2.3 KB a watch) before it composes any node of it, so a file of 10,000 watches held 23 MB
// of tokens beside the 11 MB of its Document, at every start and every reload. Here each item of the
// top-level `watches:` list is composed as soon as the parser has moved past it, and its tokens dropped:
// the tokens of two items are held at a time. The Document made is the one parseDocument makes (an alias
// is looked up in the whole Document when its data is made, not when it is composed).
//
// The parser's stack is public, but that it leaves alone every item of a list but the last two is what
// its code does, not what it promises: parseStreamed.test.ts compares the two Documents node for node,
// and would tell at an upgrade of yaml.
import { Composer, CST, Document, LineCounter, Lexer, Parser, Scalar, isMap, isScalar, isSeq, parseDocument, type DocumentOptions, type ParseOptions, type ParsedNode, type SchemaOptions, type YAMLSeq } from 'yaml';

type Options = ParseOptions & DocumentOptions & SchemaOptions;

/**
 * parseDocument(text, options), without holding the tokens of every watch at once. A text with a directive
 * (a version or tag handles the items alone would not know of), or with any error or warning, is parsed
 * again whole, so that what is reported is exactly what parseDocument reports. With `watchesAsData`, the
 * watches read alone that are plain settings are their data (asData): the same data, not the same nodes.
 */
export function parseStreamed(text: string, options: Options, watchesAsData = false): Document.Parsed {
  // Tokens kept on the nodes (to edit the text around them) are the whole tree.
  if (options.keepSourceTokens === true) return parseDocument(text, options);
  const lines = new LineCounter();
  const streamed = readStreamed(text, options, lines, watchesAsData);
  if (streamed === undefined) return parseDocument(text, options);
  for (const start of lines.lineStarts) options.lineCounter?.addNewLine(start);
  return streamed.doc;
}

/**
 * The Document of `text`, and how many watches were composed alone; undefined where one could not be and
 * the Document is not whole. `lines` gets the line starts. With `watchesAsData`, each watch composed alone
 * that asData can make data of is that data, in a scalar at the watch's place.
 */
export function readStreamed(
  text: string,
  options: Options,
  lines: LineCounter,
  watchesAsData = false,
): { doc: Document.Parsed; itemsAlone: number } | undefined {
  const parser = new Parser(lines.addNewLine);
  // One schema for the Document and every watch's: yaml would make one for each, and each list and
  // mapping keeps its own (2.4 MB more at 10,000 watches).
  const shared = { ...options, schema: new Document(null, options).schema };
  const items = new Composer(shared);
  const composed: ParsedNode[] = [];
  let alone = true;
  function* tokens(): Generator<CST.Token> {
    // As Parser#parse does before its first token.
    lines.addNewLine(0);
    for (const lexeme of new Lexer().lex(text)) {
      if (CST.tokenType(lexeme) === 'directive-line') alone = false;
      yield* parser.next(lexeme);
      const list = alone ? watchesBeingRead(parser.stack) : undefined;
      // The parser may still add to the item before the last (a comment indented below it): the two last stay.
      if (list === undefined || list.items.length <= 2) continue;
      for (const item of list.items.splice(0, list.items.length - 2)) {
        const node = composeAlone(items, list, item);
        if (node === undefined) {
          alone = false;
          break;
        }
        composed.push(watchesAsData ? asData(node) : node);
      }
    }
    yield* parser.end();
  }
  let doc: Document.Parsed | undefined;
  for (const made of new Composer(shared).compose(tokens(), true, text.length)) {
    if (doc !== undefined) return undefined;
    doc = made;
  }
  if (!alone || doc === undefined || doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  if (composed.length > 0) {
    const watches = watchList(doc);
    if (watches === undefined) return undefined;
    watches.items = [...composed, ...watches.items];
  }
  return { doc, itemsAlone: composed.length };
}

/** The list of the top-level `watches:` key; undefined for anything else there. */
function watchList(doc: Document.Parsed): YAMLSeq.Parsed | undefined {
  const watches = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'watches')?.value : undefined;
  return isSeq(watches) ? watches : undefined;
}

/** Whether asData made data of a watch of `doc`: no scalar the file writes holds an object. */
export function holdsWatchData(doc: Document.Parsed): boolean {
  return watchList(doc)?.items.some((item) => isScalar(item) && typeof item.value === 'object' && item.value !== null) ?? false;
}

/** The block list of the top-level `watches:` key, while the parser is inside it. */
function watchesBeingRead(stack: readonly CST.Token[]): CST.BlockSequence | undefined {
  const [document, top, list] = stack;
  if (document?.type !== 'document' || top?.type !== 'block-map' || list?.type !== 'block-seq') return undefined;
  const key = top.items.at(-1)?.key;
  return key?.type === 'scalar' && key.source === 'watches' ? list : undefined;
}

/** One item of `list` composed in a document of its own, its offsets those of the whole text; undefined if it had a problem. */
function composeAlone(composer: Composer, list: CST.BlockSequence, item: CST.BlockSequence['items'][number]): ParsedNode | undefined {
  const document: CST.Document = { type: 'document', offset: list.offset, start: [], value: { ...list, items: [item] } };
  const [doc] = [...composer.compose([document], true)];
  if (doc === undefined || doc.errors.length > 0 || doc.warnings.length > 0 || !isSeq(doc.contents)) return undefined;
  return doc.contents.items[0] as ParsedNode;
}

/**
 * A watch that is a mapping of plain settings (a key, and a value or a list of values: no anchor, alias,
 * tag, `$` or nested mapping) as the scalar of its data, which is what the Document's data would have of it
 * (yaml's toJS). Its nodes take a kilobyte a watch while a file is checked; the data, a fraction of that.
 * Anything else is kept as it is: a setting that has more to check (a ${VAR}, a tag) is checked in the nodes.
 */
export function asData(node: ParsedNode): ParsedNode {
  if (!isMap(node) || node.anchor !== undefined || node.tag !== undefined) return node;
  const data: Record<string, unknown> = {};
  for (const { key, value } of node.items) {
    if (!plain(key) || typeof key.value !== 'string' || !SETTING.test(key.value)) return node;
    if (value === null || plain(value)) data[key.value] = value?.value ?? null;
    else if (isSeq(value) && value.anchor === undefined && value.tag === undefined && value.items.every(plain)) data[key.value] = value.items.map((item) => item.value);
    else return node;
  }
  const scalar = new Scalar(data) as Scalar.Parsed;
  scalar.range = node.range;
  return scalar;
}

/** A setting's name as the schema knows them: never `<<` (a merge) or `__proto__`. */
const SETTING = /^[A-Za-z][A-Za-z0-9]*$/;

/** A scalar of the value it reads as: not tagged, anchored, or holding a `$` (a ${VAR}, read later). */
function plain(node: unknown): node is Scalar.Parsed {
  return isScalar(node) && node.anchor === undefined && node.tag === undefined && !(typeof node.value === 'string' && node.value.includes('$'));
}
