// Whatever an edit does to a valid watch file (a line deleted, doubled, moved or indented wrong, a value
// replaced by something odd: a flow mapping, an anchor, a tag, a huge number, a variable cut short),
// `validate` answers with the file's problems, each at a line and column with words a person can act on,
// and never with an exception or a value printed as `[object Object]`. The edits start from
// watch.example.yaml, which sets every section.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/config/load.ts';
import { CPU_BOUND_TEST_TIMEOUT_MS } from '../cpuBound.ts';

const example = readFileSync(new URL('../../watch.example.yaml', import.meta.url), 'utf8').split('\n');
const env = {
  ECS_AUTH_TOKEN: 'token', HW_ACCESS_KEY: 'AK', HW_SECRET_KEY: 'SK', HW_SECURITY_TOKEN: 'st', OS_PASSWORD: 'pw',
  SMTP_PASSWORD: 'pw', SMTP_USER: 'user', VAR: 'value', WEBHOOK_SECRET: 'whsec_c2VjcmV0c2VjcmV0',
};
const ODD = [
  '[', ']', '{', '}', '[]', '{}', '{a: 1}', '[1, 2]', '*a', '&a x', '!!binary AA', '!!js/function x', '~', 'null', '1e999', '-1', '-0', '0.5',
  '0x1F', '9999999999999999999999', '.inf', '.nan', 'true', '-', '? a', ': b', '|', '>-', "'", '"\\u0000"', '<<: *x', '%YAML 1.2', '---', '...',
  '@', '`', '"${NOPE}"', '${VAR', '\t', '2026-13-45', '__proto__', 'constructor', 'x'.repeat(3000),
];

type Edit =
  | { kind: 'delete' | 'double' | 'indent' | 'dedent'; at: number }
  | { kind: 'value' | 'insert'; at: number; text: string }
  | { kind: 'swap'; at: number; with: number };

const line = fc.nat(example.length - 1);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete' as const, 'double' as const, 'indent' as const, 'dedent' as const), at: line }),
  fc.record({ kind: fc.constantFrom('value' as const, 'insert' as const), at: line, text: fc.oneof(fc.constantFrom(...ODD), fc.string({ maxLength: 12 })) }),
  fc.record({ kind: fc.constant('swap' as const), at: line, with: line }),
);

function edited(edits: readonly Edit[]): string {
  const lines = [...example];
  for (const e of edits) {
    const at = e.at % lines.length;
    const text = lines[at] ?? '';
    if (e.kind === 'delete') lines.splice(at, 1);
    else if (e.kind === 'double') lines.splice(at, 0, text);
    else if (e.kind === 'indent') lines[at] = `  ${text}`;
    else if (e.kind === 'dedent') lines[at] = text.replace(/^ {1,2}/, '');
    else if (e.kind === 'insert') lines.splice(at, 0, e.text);
    else if (e.kind === 'value') lines[at] = text.replace(/:(\s.*)?$/, `: ${e.text}`);
    else if (e.kind === 'swap') [lines[at], lines[e.with % lines.length]] = [lines[e.with % lines.length] ?? '', text];
  }
  return lines.join('\n');
}

describe('validate, after any edit of a valid watch file', () => {
  it('lists problems at a line and column, in words, and never throws', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        const check = validateConfigText(edited(edits), { env });
        if (check.ok) return;
        expect(check.issues.length).toBeGreaterThan(0);
        for (const issue of check.issues) {
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.col).toBeGreaterThanOrEqual(1);
          expect(issue.message).toMatch(/\w/);
          expect(issue.message).not.toMatch(/\bundefined\b|\[object Object\]/);
          // A value of 3,000 characters is quoted in part: the message stays a line to read.
          expect(issue.message.length, issue.message.slice(0, 200)).toBeLessThan(600);
          expect(issue.path.length).toBeLessThan(400);
        }
      }),
      { numRuns: Number(process.env['RUNS'] ?? 400) },
    );
  }, CPU_BOUND_TEST_TIMEOUT_MS);
});
