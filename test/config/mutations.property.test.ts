// Whatever a slip of the keyboard, an editor or a copy does to a valid watch file (a character deleted,
// added or replaced, tabs, a byte order mark, CRLF or CR line ends, NUL, a line of 3,000 characters, a value
// of another type, a key set twice or in another script, lists nested thousands deep, anchors and aliases,
// an alias bomb, a `${...}` that is no reference or names a member every object has), `validate` answers with
// problems at a line and column, in words, and never throws. Line-level edits of the example are in
// edits.property.test.ts; how long a file of each kind takes was checked by running this with many more runs.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/config/load.ts';
import { CPU_BOUND_TEST_TIMEOUT_MS } from '../cpuBound.ts';

const example = readFileSync(new URL('../../watch.example.yaml', import.meta.url), 'utf8');
const FILES = [
  example,
  'cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\nwatches:\n  - requestId: r1\n    serverId: s1\n    deadline: 2h\n',
  'cloud: {endpoint: "https://ecs.example.com", projectId: p1, timeout: 10s}\npoll:\n  warnAfter: { resize: 2h, other: 30m }\nhttp: {port: 0}\n'
    + 'notifiers:\n  chat: {type: webhook, url: "https://hooks.example.com/x", headers: { X-Team: infra }}\ntrack:\n  - servers: [a, b]\n    notify: [chat]\n',
];
const env = { ECS_AUTH_TOKEN: 'token', WEBHOOK_SECRET: 'whsec_c2VjcmV0c2VjcmV0', VAR: 'value', EMPTY: '', NL: 'a\nb' };

const CHARS = ['\t', '\0', '\uFEFF', '\r', '\n', ' ', ':', '-', '#', '&', '*', '!', '{', '}', '[', ']', '"', "'", '|', '>', '?', ',', '%', '@', '`', '$', '\\', 'é', '\u2028', '\uD800', '😀'];
const VALUES = [
  '-0', '1e309', '-.inf', '.nan', '9'.repeat(400), '0x7FFFFFFFFFFFFFFFFF', 'true', '~', '', "'s'", '[]', '{}', '[1, [2]]', '{a: {b: 1}}', '{a: 1, a: 2}', '|\n  block',
  '1e309s', '-0s', '0s', '-1s', 'NaNs', '99999999999999999999d', '24d1ms', '1h1h', '5 m',
  '${VAR}', '${}', '${', '${VAR:-${X}}', '${UNSET}', '${EMPTY}', '${NL}', '$${VAR}', '${1X}', '${__proto__}', '${constructor}', '${toString:-x}',
  '*nope', '&a 1', '!!binary AA', '!env VAR', '!!int x', '__proto__', '"\\uD800"', '"\\0"', 'x'.repeat(3000), '@x', '`x',
];
const KEYS = ['__proto__', 'constructor', 'ｃloud', 'cloud\u200b', '😀', '""', '[a, b]', '{a: 1}', '1', 'null', '<<', '"a.b"', 'x'.repeat(300), '${VAR}', '*nope'];

type Mutation =
  | { k: 'delete'; at: number }
  | { k: 'insert' | 'replace'; at: number; ch: string }
  | { k: 'dropLine' | 'doubleLine' | 'indent' | 'tabs' | 'twice'; at: number }
  | { k: 'value'; at: number; text: string }
  | { k: 'key'; at: number; text: string }
  | { k: 'bom' | 'crlf' | 'cr' }
  | { k: 'nest'; at: number; depth: number; how: 'flow' | 'block' }
  | { k: 'alias'; from: number; to: number }
  | { k: 'bomb'; levels: number; at: number };

const at = fc.nat();
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('delete' as const), at }),
  fc.record({ k: fc.constantFrom('insert' as const, 'replace' as const), at, ch: fc.constantFrom(...CHARS) }),
  fc.record({ k: fc.constantFrom('dropLine' as const, 'doubleLine' as const, 'indent' as const, 'tabs' as const, 'twice' as const), at }),
  fc.record({ k: fc.constant('value' as const), at, text: fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 8 })) }),
  fc.record({ k: fc.constant('key' as const), at, text: fc.constantFrom(...KEYS) }),
  fc.record({ k: fc.constantFrom('bom' as const, 'crlf' as const, 'cr' as const) }),
  fc.record({ k: fc.constant('nest' as const), at, depth: fc.constantFrom(3, 63, 64, 65, 2000), how: fc.constantFrom('flow' as const, 'block' as const) }),
  fc.record({ k: fc.constant('alias' as const), from: at, to: at }),
  fc.record({ k: fc.constant('bomb' as const), levels: fc.integer({ min: 2, max: 30 }), at }),
);

/** `key: value` lines, where a value can be swapped: the key (with a list's dash) and the value. */
const VALUE_LINE = /^(\s*(?:- )?[^\s#:][^:#]*:)[ \t]+(\S.*)$/;

function mutate(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const line = (n: number) => n % lines.length;
  const values = lines.flatMap((l, i) => (VALUE_LINE.test(l) ? [i] : []));
  const valueLine = (n: number) => (values.length === 0 ? undefined : values[n % values.length]!);
  const setValue = (i: number | undefined, value: (key: string, old: string) => string) => {
    if (i !== undefined) lines[i] = lines[i]!.replace(VALUE_LINE, (_, key: string, old: string) => `${key} ${value(key, old)}`);
  };
  switch (m.k) {
    case 'delete': return text.slice(0, m.at % text.length) + text.slice((m.at % text.length) + 1);
    case 'insert': return text.slice(0, m.at % (text.length + 1)) + m.ch + text.slice(m.at % (text.length + 1));
    case 'replace': return text.slice(0, m.at % text.length) + m.ch + text.slice((m.at % text.length) + 1);
    case 'bom': return `\uFEFF${text}`;
    case 'crlf': return text.replaceAll('\n', '\r\n');
    case 'cr': return text.replaceAll('\n', '\r');
    case 'dropLine': lines.splice(line(m.at), 1); break;
    case 'doubleLine': lines.splice(line(m.at), 0, lines[line(m.at)]!); break;
    case 'indent': lines[line(m.at)] = `   ${lines[line(m.at)]}`; break;
    case 'tabs': lines[line(m.at)] = lines[line(m.at)]!.replace(/^ +/, '\t'); break;
    case 'twice': { const i = valueLine(m.at); if (i !== undefined) lines.splice(i, 0, lines[i]!); break; }
    case 'value': setValue(valueLine(m.at), (key) => m.text.replaceAll('\n', `\n${' '.repeat(key.length - key.trimStart().length + 2)}`)); break;
    case 'key': { const i = valueLine(m.at); if (i !== undefined) lines[i] = lines[i]!.replace(/^(\s*(?:- )?)[^:]*:/, (_, lead: string) => `${lead}${m.text}:`); break; }
    case 'nest': {
      const i = valueLine(m.at);
      if (m.how === 'flow') setValue(i, () => `${'['.repeat(m.depth)}${']'.repeat(m.depth)}`);
      else if (i !== undefined) {
        const indent = lines[i]!.length - lines[i]!.trimStart().length;
        lines.splice(i + 1, 0, ...Array.from({ length: m.depth }, (_, d) => `${' '.repeat(indent + 2 * (d + 1))}k${d}:`));
        setValue(i, () => '');
      }
      break;
    }
    case 'alias': {
      const [i, j] = [valueLine(m.from), valueLine(m.to)];
      if (i === j) break;
      setValue(i, (_, old) => `&an ${old}`);
      setValue(j, () => '*an');
      break;
    }
    case 'bomb': {
      // Each level holds the one before ten times: 10 ** levels values, were aliases expanded.
      const levels = Array.from({ length: m.levels }, (_, l) => `  b${l}: &b${l} [${Array(10).fill(l === 0 ? 'x' : `*b${l - 1}`).join(', ')}]`);
      setValue(valueLine(m.at), () => `*b${m.levels - 1}`);
      return `bombs:\n${levels.join('\n')}\n${lines.join('\n')}`;
    }
  }
  return lines.join('\n');
}

describe('validate, after any slip in a valid watch file', () => {
  it('lists problems at a line and column, in words, and never throws', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FILES), fc.array(mutation, { minLength: 1, maxLength: 4 }), (file, mutations) => {
        const check = validateConfigText(mutations.reduce(mutate, file), { env });
        const issues = check.ok ? check.warnings : check.issues;
        if (!check.ok) expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) {
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.col).toBeGreaterThanOrEqual(1);
          expect(issue.message).toMatch(/\w/);
          expect(issue.message).not.toMatch(/\bundefined\b|\[object Object\]|\bNaN\b|Infinity|\n\s+at |Maximum call stack|mapAsMap/);
          expect(issue.message.length, issue.message.slice(0, 200)).toBeLessThan(800);
        }
      }),
      { numRuns: Number(process.env['RUNS'] ?? 200), seed: 20261126 },
    );
  }, CPU_BOUND_TEST_TIMEOUT_MS);
});
