// The places in the README and watch.example.yaml that name every notifier type or every auth method are
// written by hand; held here to the registries, so that a type added there cannot be left out of them
// unnoticed (a reader of the README would be told it does not exist). Each failure names the place to edit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUTH_TYPE_NAMES } from '../../src/cloud/auth/registry.ts';
import { NOTIFIER_TYPES, NOTIFIER_TYPE_NAMES } from '../../src/notify/registry.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const EXAMPLE = readFileSync(join(ROOT, 'watch.example.yaml'), 'utf8');
const README_LINES = README.split('\n');

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();
const quoted = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** The line of the README that starts with `start`; fails, naming it, when there is none. */
function readmeLine(start: string): string {
  const line = README_LINES.find((l) => l.startsWith(start));
  if (line === undefined) throw new Error(`README: no line starts with ${start}`);
  return line;
}

/** The `accepts` cell of the configuration reference's row for `key`. */
function accepts(key: string): string {
  return readmeLine(`| \`${key}\` |`).split(' | ')[1]!;
}

const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

describe('the README names every auth method of the registry', () => {
  it('in the configuration reference, as the values of cloud.auth.type', () => {
    expect(sorted(quoted(accepts('cloud.auth.type'))), 'README, row `cloud.auth.type`').toEqual(sorted(AUTH_TYPE_NAMES));
  });

  it('in the Authentication section: how many, and a paragraph each', () => {
    const section = README.slice(README.indexOf('\n## Authentication\n'), README.indexOf('\n## ', README.indexOf('\n## Authentication\n') + 1));
    expect(section, 'README, Authentication: "picks one of N methods"').toContain(`picks one of ${NUMBERS[AUTH_TYPE_NAMES.length]} methods`);
    const described = [...section.matchAll(/^- \*\*`([a-z]+)`\*\*:/gm)].map((m) => m[1]!);
    expect(sorted(described), 'README, Authentication: a "- **`<method>`**:" paragraph each').toEqual(sorted(AUTH_TYPE_NAMES));
  });

  it('in Layout, on the row of src/cloud/', () => {
    const row = readmeLine('| `src/cloud/` |');
    const folders = /one folder per auth method \(([^)]*)\)/.exec(row)?.[1] ?? '';
    expect(sorted(quoted(folders)), 'README, Layout, row `src/cloud/`').toEqual(sorted(AUTH_TYPE_NAMES));
  });
});

describe('the README names every notifier type of the registry', () => {
  it('in the configuration reference, as the values of notifiers.<name>.type', () => {
    expect(sorted(quoted(accepts('notifiers.<name>.type'))), 'README, row `notifiers.<name>.type`').toEqual(sorted(NOTIFIER_TYPE_NAMES));
  });

  it('in the configuration reference, with a row for each key of each type', () => {
    for (const type of NOTIFIER_TYPES) {
      const name = type.schema.shape.type.value;
      const rows = README_LINES.filter((l) => l.startsWith(`| ${name} \``)).map((l) => l.split(' | ')[0]!);
      // `on` has a row of its own, shared by every type.
      const keys = Object.keys(type.schema.shape).filter((key) => key !== 'type' && key !== 'on');
      const missing = keys.filter((key) => !rows.some((row) => quoted(row).some((k) => k === key || k.startsWith(`${key}.`))));
      expect(missing, `README, configuration reference: rows "| ${name} \`<key>\` |" for these keys of ${name}`).toEqual([]);
    }
  });

  it('in its first lines, which say how people are told', () => {
    const sentence = /tells people by ([^,]*),/.exec(README)?.[1] ?? '';
    expect(sorted(sentence.split(/, | or /)), 'README, first lines: "tells people by ..."').toEqual(sorted(NOTIFIER_TYPE_NAMES));
  });

  it('in Layout, on the row of src/notify/', () => {
    const row = readmeLine('| `src/notify/` |');
    const folders = /one folder per type \(([^:)]*)/.exec(row)?.[1] ?? '';
    expect(sorted(quoted(folders).map((f) => f.replace(/\/$/, ''))), 'README, Layout, row `src/notify/`').toEqual(sorted(NOTIFIER_TYPE_NAMES));
  });
});

describe('watch.example.yaml names every type of the registries in its comments', () => {
  it('the notifier types, after the first `type:` under notifiers', () => {
    const comment = /^ {4}type: \w+ +# ([a-z |]+)$/m.exec(EXAMPLE)?.[1] ?? '';
    expect(sorted(comment.split(' | ')), 'watch.example.yaml: "type: email   # email | webhook"').toEqual(sorted(NOTIFIER_TYPE_NAMES));
  });

  it('the auth methods, in the list above auth:', () => {
    const list = EXAMPLE.slice(EXAMPLE.indexOf('{ type: none } (no authentication header). One of:'));
    // The list ends at the first comment line that is not one of its entries or their continuation.
    const block = list.split('\n').slice(1);
    const end = block.findIndex((l) => !/^ {2}# {3}/.test(l));
    const inList = block.slice(0, end).map((l) => /^ {2}# {3}([a-z]+) {2,}\S/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
    expect(sorted(inList), 'watch.example.yaml: the list of methods in the comment above auth:').toEqual(sorted(AUTH_TYPE_NAMES));
  });
});
