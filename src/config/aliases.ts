// The aliases of a YAML file (the watch file, a clouds.yaml), resolved in one walk of the document before
// it becomes data.
//
// yaml's own resolution finds each alias's anchor by scanning every anchor and alias before it: quadratic,
// 26 s for 20,000 watches with two aliases each, over ten minutes for the 100,000 a file can hold. Its
// guard against alias bombs counts the uses of each anchor (a limit of 100 by default, met by 101 watches
// with `notify: *team`) and weighs a value without aliases inside as one, however large it is. Here each
// alias is resolved once, and what aliases repeat is counted in values, as the schema walks them.

import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document, type Node } from 'yaml';

/**
 * How many values the aliases of one file may repeat in all, each alias counting every value its anchor
 * holds (a list or mapping: itself and each item, key and value in it), the aliases inside it expanded.
 * 100,000 watches, each with `notify: *team` of up to three notifiers and one alias more of a single
 * value, repeat up to 500,000. The schema walks every repeated value: a file at this limit validates in
 * 0.4 s, and in about 3 s with 700 MB when every repeated value is a problem of its own (an unknown
 * notifier), each listed.
 */
export const MAX_REPEATED_VALUES = 500_000;

/** What stops the document from becoming data: at the offset of an alias or an anchor. */
export interface DataProblem {
  offset: number;
  message: string;
}

type Data = { ok: true; data: unknown } | { ok: false; problems: DataProblem[] };

/** The document (parsed from `text`) as plain data (as Document#toJS makes it), or why it cannot be made. */
export function documentData(doc: Document.Parsed, text: string): Data {
  const problems = resolveAliases(doc, text);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, data: doc.toJS() };
}

/**
 * Points each alias of `doc` at its anchor, the last one of its name before it (as YAML has it), and
 * says which aliases name none, which anchors are on no value, and the alias that takes what aliases
 * repeat past MAX_REPEATED_VALUES.
 */
function resolveAliases(doc: Document.Parsed, text: string): DataProblem[] {
  const anchors = new Map<string, Node>();
  // The values of each anchored node, itself and the aliases inside it included.
  const sizes = new Map<Node, number>();
  // Anchored nodes being walked: an alias to one of them is inside its own anchor (`a: &a {b: *a}`).
  // It repeats nothing the schema would walk: that reads the value only as deep as the schema goes.
  const open = new Set<Node>();
  const problems: DataProblem[] = [];
  let repeated = 0;

  const valuesIn = (node: unknown): number => {
    if (isAlias(node)) {
      const anchor = anchors.get(node.source);
      const offset = (node as Alias.Parsed).range[0];
      if (anchor === undefined) {
        problems.push({ offset, message: `*${node.source} names no anchor set before it: set &${node.source} on a value above, or correct the name` });
        return 1;
      }
      // Alias#resolve scans the document for the anchor at every use; it is told the anchor instead.
      node.resolve = () => anchor as ReturnType<Alias['resolve']>;
      if (open.has(anchor)) return 1;
      const size = sizes.get(anchor)!;
      const before = repeated;
      repeated += size;
      if (before <= MAX_REPEATED_VALUES && repeated > MAX_REPEATED_VALUES) {
        problems.push({ offset, message: tooManyRepeated(node.source, size) });
      }
      return size;
    }
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) return isPair(node) ? valuesIn(node.key) + valuesIn(node.value) : 0;
    if (node.anchor !== undefined) {
      anchors.set(node.anchor, node);
      open.add(node);
      if (anchorsNothing(node)) problems.push({ offset: text.lastIndexOf(`&${node.anchor}`, node.range?.[0]), message: anchorOnNothing(node.anchor) });
    }
    let size = 1;
    if (!isScalar(node)) for (const item of node.items) size += valuesIn(item);
    if (node.anchor !== undefined) {
      open.delete(node);
      sizes.set(node, size);
    }
    return size;
  };
  valuesIn(doc.contents);
  return problems;
}

/**
 * An anchor with no value after it (`password: &Xk9...` unquoted): a value that starts with `&`, whose
 * setting was then empty, and said to be missing, or silently left out where it is optional (a webhook's
 * `secret`, and its notifications went out unsigned). An empty value is nothing an alias would repeat.
 */
function anchorsNothing(node: Node): boolean {
  return isScalar(node) && node.value === null && node.source === '' && node.tag === undefined;
}

function anchorOnNothing(name: string): string {
  return `&${name} is read as an anchor (a name for the value after it), and no value comes after it: put a value that starts with & in quotes ("..." or '...')`;
}

function tooManyRepeated(name: string, size: number): string {
  const values = `${size.toLocaleString('en')} ${size === 1 ? 'value' : 'values'}`;
  return (
    `*${name} takes what the file's aliases repeat past ${MAX_REPEATED_VALUES.toLocaleString('en')} values, the most allowed (a guard ` +
    `against alias bombs): &${name} holds ${values}, the aliases inside it expanded; write the values out, or alias smaller ones`
  );
}
