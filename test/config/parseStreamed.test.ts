// The watch file read a watch at a time makes the Document that yaml's parseDocument makes of the whole
// text, node for node (each offset, comment, anchor and tag), with the same line starts; and it does read
// a watch at a time wherever nothing ties one watch's text to another's. A watch of plain settings kept as
// its data gives validate the same configuration as its nodes.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Document, isScalar, LineCounter, parseDocument, visit, type ParsedNode, type YAMLMap, type YAMLSeq } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkText } from '../../src/config/load.ts';
import { asData, parseStreamed, readStreamed } from '../../src/config/parseStreamed.ts';
import { TAG_OPTIONS } from '../../src/config/tags.ts';

/** Everything a node holds but its schema (an object of its own in each parse: `described` counts them). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  // A merge key's value is a symbol of its own in each Document.
  if (typeof value === 'symbol') return value.description;
  if (value === null || typeof value !== 'object') return value;
  const fields = Object.entries(value).filter(([key]) => key !== 'schema');
  return { class: value.constructor.name, ...Object.fromEntries(fields.map(([key, v]) => [key, shape(v)])) };
}

function described(doc: Document.Parsed, lines: LineCounter): unknown {
  // Each list and mapping keeps a schema: the Document's, not one of its own (240 B a watch).
  const schemas = new Set<unknown>([doc.schema]);
  visit(doc, { Collection: (_key, node) => void schemas.add(node.schema) });
  return {
    schemas: schemas.size,
    contents: shape(doc.contents),
    comment: doc.comment,
    commentBefore: doc.commentBefore,
    range: doc.range,
    errors: doc.errors.map((e) => [e.code, e.message, e.pos]),
    warnings: doc.warnings.map((e) => [e.code, e.message, e.pos]),
    lineStarts: lines.lineStarts,
  };
}

/** parseStreamed and parseDocument of `text`, each described. */
function bothOf(text: string): { streamed: unknown; whole: unknown } {
  const [streamedLines, wholeLines] = [new LineCounter(), new LineCounter()];
  const options = { prettyErrors: false, ...TAG_OPTIONS };
  return {
    streamed: described(parseStreamed(text, { ...options, lineCounter: streamedLines }), streamedLines),
    whole: described(parseDocument(text, { ...options, lineCounter: wholeLines }), wholeLines),
  };
}

const HEAD = ['cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1'];
const watch = (i: number) => [`  - requestId: req-${i}`, `    serverId: srv-${i}`];
const watches = (count: number) => Array.from({ length: count }, (_, i) => watch(i)).flat();
const text = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('a watch file read a watch at a time', () => {
  it.each([
    { name: 'a plain list', source: text(...HEAD, 'watches:', ...watches(6)), alone: 4 },
    { name: 'a list at column 0', source: text(...HEAD, 'watches:', ...watches(6).map((l) => l.slice(2))), alone: 4 },
    {
      name: 'comments between the watches, at every column',
      source: text(...HEAD, 'watches:', ...watch(0), '# col 0', ...watch(1), '  # col 2', ...watch(2), '      # col 6, below the watch', ...watch(3), ...watch(4), '', '', ...watch(5), '    # last'),
      alone: 4,
    },
    { name: 'blank lines, an empty item and a comment after the list', source: text(...HEAD, 'watches:', ...watch(0), '', '  -', ...watch(1), '  - ', ...watch(2), ...watch(3), '# the end'), alone: 4 },
    { name: 'watches of every shape: flow, nested lists, block scalars, quoted and multi-line values', source: text(
      ...HEAD, 'watches:',
      '  - {requestId: req-0, serverId: srv-0}',
      '  - requestId: "req-1"', "    serverId: 'srv-1'", '    notify:', '      - a', '      - b',
      '  - requestId: req-2', '    serverId: srv-2', '    name: |', '      two', '      lines',
      '  - requestId: req-3', '    serverId: srv-3', '    name: a plain', '      scalar on two lines',
      '  - - nested', '    - list',
      '  - requestId: req-5 # a comment', '    serverId: srv-5',
    ), alone: 4 },
    { name: 'sections after the list, and a document end', source: text(...HEAD, 'watches:', ...watches(5), 'poll:', '  concurrency: 4', '...'), alone: 3 },
    { name: 'a document start marker and a comment before it', source: text('# head', '---', ...HEAD, 'watches:', ...watches(5)), alone: 3 },
    // An alias is found in the whole Document when its data is made, not when it is composed.
    { name: 'an anchor in one watch that another names', source: text(...HEAD, 'watches:', '  - &w', '    requestId: r', '    serverId: s', ...watches(3), '  - *w'), alone: 3 },
    { name: 'an anchor in the head that a watch names', source: text('x: &n [a]', ...HEAD, 'watches:', ...watches(3), '  - requestId: r', '    serverId: s', '    notify: *n'), alone: 2 },
    { name: 'tags of the core schema', source: text(...HEAD, 'watches:', ...watches(3), '  - !!map {requestId: !!str r, serverId: s}', ...watches(2)), alone: 4 },
  ])('$name: the same Document, $alone watches read alone', ({ source, alone }) => {
    const { streamed, whole } = bothOf(source);
    expect(streamed).toEqual(whole);
    expect(readStreamed(source, { ...TAG_OPTIONS }, new LineCounter())?.itemsAlone).toBe(alone);
  });

  it.each([
    ['a directive', text('%YAML 1.1', '---', ...HEAD, 'watches:', ...watches(4), '  - <<: {requestId: r}', '    serverId: s')],
    ['a key set twice in a watch', text(...HEAD, 'watches:', ...watches(3), '  - requestId: r', '    requestId: r2', ...watches(2))],
    ['a watch indented wrong', text(...HEAD, 'watches:', ...watches(3), '   - requestId: r', ...watches(2))],
    ['a second document', text(...HEAD, 'watches:', ...watches(4), '---', 'a: 1')],
    ['a quoted watches key', text(...HEAD, '"watches":', ...watches(4))],
    ['a flow list of watches', text(...HEAD, 'watches: [', ...Array.from({ length: 5 }, (_, i) => `  {requestId: r${i}, serverId: s${i}},`), ']')],
    ['watches set twice', text(...HEAD, 'watches:', ...watches(4), 'watches:', ...watches(4))],
  ])('%s: read whole, and the same Document', (_name, source) => {
    const { streamed, whole } = bothOf(source);
    expect(streamed).toEqual(whole);
    expect(readStreamed(source, { ...TAG_OPTIONS }, new LineCounter())?.itemsAlone ?? 0).toBe(0);
  });

  it('makes the same Document as parseDocument however watch.example.yaml is edited', () => {
    const example = readFileSync(new URL('../../watch.example.yaml', import.meta.url), 'utf8').split('\n');
    const ODD = ['-', '  -', '  - x', '    # c', '# c', '  - &a {}', '  - *a', '...', '---', '|', '  - |', '      text', '  - [a,', '    b]', 'poll:', '  - requestId: r'];
    const edit = fc.record({ at: fc.nat(example.length - 1), line: fc.oneof(fc.constantFrom(...ODD), fc.string({ maxLength: 8 })), drop: fc.boolean() });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
        const lines = [...example];
        for (const e of edits) lines.splice(e.at % lines.length, e.drop ? 1 : 0, ...(e.drop ? [] : [e.line]));
        const { streamed, whole } = bothOf(lines.join('\n'));
        expect(streamed).toEqual(whole);
      }),
      { numRuns: Number(process.env['RUNS'] ?? 200) },
    );
  });
});

describe('a watch of plain settings read as its data', () => {
  const env = { ECS_AUTH_TOKEN: 'token', HW_ACCESS_KEY: 'AK', HW_SECRET_KEY: 'SK', HW_SECURITY_TOKEN: 'st', OS_PASSWORD: 'pw', SMTP_PASSWORD: 'pw', SMTP_USER: 'user', WEBHOOK_SECRET: 'whsec_c2VjcmV0c2VjcmV0' };
  const watchNode = (lines: string[]) => {
    const doc = parseDocument(text(...lines), TAG_OPTIONS);
    return { doc, node: doc.contents as ParsedNode };
  };

  it.each([
    ['settings, a list and an empty one', ['requestId: r', 'serverId: "s"', 'deadline: 1h30m', 'notify: [a, b]', 'name:', 'retries: 3', 'on: true']],
    ['a flow mapping', ['{requestId: r, serverId: s, notify: []}']],
  ])('%s: the data yaml makes of its nodes, at the watch’s place', (_name, lines) => {
    const { doc, node } = watchNode(lines);
    const made = asData(node);
    expect(isScalar(made)).toBe(true);
    expect(made.range).toEqual(node.range);
    expect(new Document(made).toJS()).toEqual(doc.toJS());
  });

  it.each([
    ['a ${VAR}', ['requestId: ${REQ}', 'serverId: s']],
    ['a $ in a list', ['requestId: r', 'notify: [a, "$b"]']],
    ['a tag', ['requestId: !!str r', 'serverId: s']],
    ['a tagged mapping', ['!!map', 'requestId: r']],
    ['an anchor', ['requestId: &a r', 'serverId: s']],
    ['an anchored list', ['requestId: r', 'notify: &n [a]']],
    ['an alias', ['requestId: r', 'serverId: *s']],
    ['a merge key', ['<<: {requestId: r}', 'serverId: s']],
    ['__proto__', ['__proto__: {}', 'requestId: r']],
    ['a nested mapping', ['requestId: r', 'warnAfter: {a: 1}']],
    ['a list of lists', ['requestId: r', 'notify: [[a]]']],
    ['a key that is a number', ['1: r']],
  ])('%s: kept as nodes, to be checked as such', (_name, lines) => {
    const { node } = watchNode(lines);
    expect(asData(node)).toBe(node);
  });

  it('is a scalar of data in the Document of a large file, but for the two last watches', () => {
    const read = readStreamed(text(...HEAD, 'watches:', ...watches(50)), TAG_OPTIONS, new LineCounter(), true)!;
    const list = (read.doc.contents as YAMLMap).get('watches') as YAMLSeq;
    expect(list.items.map((item) => (isScalar(item) ? 'data' : 'nodes'))).toEqual([...Array<string>(48).fill('data'), 'nodes', 'nodes']);
    expect(read.doc.toJS()).toEqual(parseDocument(text(...HEAD, 'watches:', ...watches(50))).toJS());
  });

  it('gives validate the same configuration, and the same verdict, however watch.example.yaml is edited', () => {
    const example = readFileSync(new URL('../../watch.example.yaml', import.meta.url), 'utf8').split('\n');
    const at = example.indexOf('watches:                        # default: none') + 1;
    // Watches enough that most are read alone, some of them wrong.
    const more = Array.from({ length: 6 }, (_, i) => [`  - requestId: req-${i}`, `    serverId: srv-${i}`, '    deadline: 2h', '    notify: [ops-mail]']).flat();
    const base = [...example.slice(0, at), ...more, ...example.slice(at)];
    const ODD = ['    deadline: soon', '    notify: [nobody]', '    notify: []', '    serverId: ${VAR}', '    extra: 1', '    requestId: req-1', '  - requestId: x', '  -', '    name: !!str n', '    warnAfter: 99h', '    batch: b'];
    const edit = fc.record({ at: fc.integer({ min: at, max: at + more.length }), line: fc.constantFrom(...ODD), drop: fc.boolean() });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 0, maxLength: 4 }), (edits) => {
        const lines = [...base];
        for (const e of edits) lines.splice(e.at, e.drop ? 1 : 0, ...(e.drop ? [] : [e.line]));
        const source = lines.join('\n');
        const [quick, full] = [checkText(source, { env: { ...env, VAR: 'srv-v' } }, true).check, checkText(source, { env: { ...env, VAR: 'srv-v' } }, false).check];
        expect(quick.ok).toBe(full.ok);
        if (quick.ok && full.ok) expect(quick.config).toEqual(full.config);
      }),
      { numRuns: Number(process.env['RUNS'] ?? 100) },
    );
  });
});
