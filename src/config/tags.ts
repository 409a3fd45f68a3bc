// Tags a file gives its values (`token: !env ECS_AUTH_TOKEN`, `!!binary ...`) that yaml does not apply.
// yaml reads such a value as if the tag were not there and says so only in a warning: `!env X` would
// send the text "X" as the token. The files are read with YAML 1.2's core schema alone (parse options
// below), also one that starts with %YAML 1.1, for which yaml would otherwise take YAML 1.1's: a
// notifier's `on:` would be the key `true`, `1:30` the number 90, `<<` a merge, and binary data, dates,
// sets and ordered maps would be read (a !!omap of notifiers as none, a date said to be "a mapping").
// Their tags are refused the same way, as no key takes one, and `2001-12-14` unquoted is text.
//
// yaml's other warnings are left alone: each leaves the value as written. A flow collection's closing
// bracket indented as far as its key (BAD_INDENT), an unknown directive or YAML version (read as 1.2),
// and an anchor or alias name ending in `:` (an alias that then names no anchor is reported as such).

import { isAlias, isMap, isScalar, isSeq, type Document, type ParsedNode } from 'yaml';
import { clipped } from '../text/clipped.ts';
import { keyText, sameKey, type Segment } from './yamlTree.ts';

const CORE = 'tag:yaml.org,2002:';

/** How every file of the project's is parsed: the types its values may have, and no output of its own. */
export const TAG_OPTIONS = {
  // Given here, it wins over the schema a %YAML 1.1 directive would choose.
  schema: 'core' as const,
  resolveKnownTags: false,
  // yaml prints its warnings through process.emitWarning (a key that is a list, in words of its own API);
  // every problem of a file is reported at its line instead, the daemon's in its log.
  logLevel: 'error' as const,
  uniqueKeys: sameKey,
};

export interface TagProblem {
  /** Offset of the tag in the text. */
  offset: number;
  /** Path of the value it is on. */
  path: Segment[];
  message: string;
}

const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((name) => CORE + name));
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Each tag of `doc` (parsed from `text` with TAG_OPTIONS) that yaml did not apply, at the tag;
 * `variables` when the file's values may be `${VAR}` (the watch file's, not clouds.yaml's).
 */
export function tagProblems(doc: Document.Parsed, text: string, variables: boolean): TagProblem[] {
  // yaml warns of a collection's tag once it has read what the collection holds: after the tags inside it.
  const warnings = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED').sort((a, b) => a.pos[0] - b.pos[0]);
  if (warnings.length === 0) return [];
  const tagged = taggedNodes(doc, doc.contents);
  let next = 0;
  return warnings.map((warning) => {
    const [offset, end] = warning.pos;
    // The value a tag is on comes after it, an anchor or a line break between them at most.
    while (next < tagged.length && tagged[next]!.node.range[0] < end) next++;
    const value = tagged[next];
    return { offset, path: value?.path ?? [], message: problem(clipped(text.slice(offset, end), 60), value?.node, variables) };
  });
}

function problem(tag: string, node: ParsedNode | undefined, variables: boolean): string {
  const name = node?.tag ?? '';
  if (CORE_TAGS.has(name)) {
    return `the value is not what the tag ${tag} says it is, and would be read without it: remove the tag, or write a value of that type`;
  }
  const read = `${tag} is no tag ecs-action-watch reads (only YAML 1.2's !!str, !!int, !!float, !!bool, !!null, !!map and !!seq), and the value would be read as if it were not there`;
  if (!variables) return `${read}: remove it, and write the value itself`;
  if (/env/i.test(name) && isScalar(node) && typeof node.value === 'string' && VARIABLE.test(node.value)) {
    return `${read}: write \${${node.value}} for the environment variable`;
  }
  return `${read}: remove it, and write the value itself (\${VAR} takes one from the environment)`;
}

/** The nodes under `node` that carry a tag, with their paths, in the order of the text. */
function taggedNodes(doc: Document.Parsed, node: ParsedNode | null, path: Segment[] = [], found: Array<{ node: ParsedNode; path: Segment[] }> = []) {
  if (node === null || isAlias(node)) return found;
  if (node.tag !== undefined) found.push({ node, path });
  if (isMap(node)) {
    for (const pair of node.items) {
      const at = [...path, keyText(doc, pair)];
      taggedNodes(doc, pair.key, at, found);
      taggedNodes(doc, pair.value, at, found);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => taggedNodes(doc, item, [...path, i], found));
  }
  return found;
}
