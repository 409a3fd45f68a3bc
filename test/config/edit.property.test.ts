// `add` and `remove` edit a file people maintain by hand. Whatever the ids and the name (values YAML would
// read as something else: true, null, 123, 0x1F, 2026-12-02; a name with quotes, a line break, `---`, a
// `#` or `${`), and wherever the list is (missing, empty, with a comment, anchored, with keys below an
// entry's dash, written as a flow entry with a comment after it, without a last line end), the added entry
// reads back exactly as given, the file stays valid, and `remove` gives back the file byte for byte, or
// with `watches: []` where the file had no list to keep.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addWatch, removeWatch, WatchFileEditError } from '../../src/config/edit.ts';
import { validateConfigText } from '../../src/config/load.ts';
import { CPU_BOUND_TEST_TIMEOUT_MS } from '../cpuBound.ts';

const example = readFileSync(new URL('../../watch.example.yaml', import.meta.url), 'utf8');
const env = {
  ECS_AUTH_TOKEN: 'token', HW_ACCESS_KEY: 'AK', HW_SECRET_KEY: 'SK', HW_SECURITY_TOKEN: 'st', OS_PASSWORD: 'pw',
  SMTP_PASSWORD: 'pw', SMTP_USER: 'user', VAR: 'value', WEBHOOK_SECRET: 'whsec_c2VjcmV0c2VjcmV0',
};
/** The example up to its watch list: every other section. */
const sections = example.slice(0, example.indexOf('\nwatches:') + 1);
const FILES = [
  example,
  sections,
  `${sections}watches: []\n`,
  `${sections}watches:   # none yet\n`,
  `${sections}watches:\n- requestId: a1\n  serverId: s1\n# the end\n`,
  // Kept, as every other byte before and after the entry.
  `\uFEFF${sections}watches:\n  - requestId: a1\n    serverId: s1\n`,
  `${sections}watches:\n    - requestId: a1\n      serverId: s1\n\n\n`,
  `${sections}watches:\n  - requestId: "a1"\n    serverId: 's1'\n    name: "x # y"\n`,
  `${sections}watches:\n  - {requestId: a1, serverId: s1}\n  - requestId: a2\n    serverId: s2`,
  `${sections}watches: &all\n  - # the first\n    requestId: a1\n    serverId: s1\n  - {requestId: a2, serverId: s2}   # the last\n`,
];

/** Ids as the watch file allows them (letters, digits and -), among them values YAML reads as something else. */
const id = fc.oneof(
  fc.constantFrom('true', 'null', 'yes', 'off', '123', '1e3', '0x1F', '0o17', '2026-12-02', 'NaN', 'Infinity', '-1'),
  fc.array(fc.constantFrom('a', 'Z', '0', '9', '-'), { minLength: 1, maxLength: 8 }).map((chars) => chars.join('')),
);
const nameChars = fc.constantFrom('a', 'Z', '0', '-', ':', '#', ' ', '"', "'", '\\', '{', '[', '&', '*', '!', '%', '@', 'é', '\t', '\n', '$', '|', '>', '.', '?', ',', '\u2028');
const name = fc.oneof(
  fc.constantFrom('--- migration ---', '... end', 'a: b', '${VAR}', '"quoted"', "it's", ' lead', 'trail '),
  fc.array(nameChars, { minLength: 1, maxLength: 10 }).map((chars) => chars.join('')),
);

/** How many watches each starting file has; every one of them must be valid to start from. */
const watchCounts = new Map(
  FILES.map((file) => {
    const check = validateConfigText(file, { env });
    if (!check.ok) throw new Error(`not a valid starting file: ${JSON.stringify(check.issues)}`);
    return [file, check.config.watches.length];
  }),
);

const emptied = (file: string) => (/^watches:/m.test(file) ? file.replace(/^watches:(?=[ \t]*(#.*)?\n?$)/m, 'watches: []') : `${file}watches: []\n`);

describe('add, then remove, on any watch file', () => {
  it('writes the entry as given, keeps the file valid, and gives the file back', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FILES), id, id, fc.option(name, { nil: undefined }), (file, requestId, serverId, label) => {
        let added: ReturnType<typeof addWatch>;
        try {
          added = addWatch(file, { requestId, serverId, name: label });
        } catch (err) {
          // A flow list with entries is refused, with the way to write it instead.
          expect(err).toBeInstanceOf(WatchFileEditError);
          return;
        }
        const after = validateConfigText(added.text, { env });
        if (!after.ok) throw new Error(`invalid after add: ${JSON.stringify(after.issues)}`);
        expect(after.config.watches).toHaveLength(watchCounts.get(file)! + 1);
        expect(after.config.watches[added.index]).toMatchObject(label === undefined ? { requestId, serverId } : { requestId, serverId, name: label });
        expect([file, emptied(file)]).toContain(removeWatch(added.text, { requestId, serverId }).text);
      }),
      { numRuns: 300 },
    );
  }, CPU_BOUND_TEST_TIMEOUT_MS);
});
