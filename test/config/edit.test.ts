import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addWatch, removeWatch, WatchFileEditError } from '../../src/config/edit.ts';
import { parseConfig, validateConfigText } from '../../src/config/load.ts';
import { watchedAlready } from '../../src/config/watched.ts';

const EXAMPLE = readFileSync(new URL('../../watch.example.yaml', import.meta.url), 'utf8');
const env = { ECS_AUTH_TOKEN: 't' };
const CLOUD = 'cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\nnotifiers:\n  chat: { type: webhook, url: "https://hooks.example.com" }\n';
const full = { requestId: 'req-new-1', serverId: 'srv-new-1', name: 'resize web-09', notify: ['chat'], deadline: '30m', projectId: 'p2' };

function thrown(fn: () => unknown): WatchFileEditError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WatchFileEditError) return err;
    throw err;
  }
  throw new Error('expected a WatchFileEditError');
}

describe('add then remove', () => {
  it.each([
    ['the commented example', EXAMPLE],
    ['an empty flow list with a comment', `${CLOUD}watches: []   # none yet\nhttp:\n  port: 0\n`],
    ['a list whose dashes sit at the key column', `${CLOUD}watches:\n- requestId: req-1\n  serverId: s1\n# the end\n`],
    ['a list followed by a commented-out entry', `${CLOUD}watches:\n  - requestId: req-1   # first\n    serverId: s1\n\n  # - requestId: req-2\n  #   serverId: s2\n`],
    ['a file without a final line end', `${CLOUD}watches:\n  - requestId: req-1\n    serverId: s1`],
    ['CRLF line ends', `${CLOUD}watches:\r\n  - requestId: req-1\r\n    serverId: s1\r\n`.replaceAll(/(?<!\r)\n/g, '\r\n')],
    // The first entry's keys on the lines below its dash: the dash's column is found on its own line.
    ['a first entry with a comment after its dash', `${CLOUD}watches:\n  - # resize web-01\n    requestId: req-1\n    serverId: s1\n`],
    ['a first entry with an anchor after its dash', `${CLOUD}watches:\n  -   &w1\n      requestId: req-1\n      serverId: s1\n`],
    ['a first entry with nothing after its dash', `${CLOUD}watches:\n  -\n    requestId: req-1\n    serverId: s1\n`],
  ])('leaves %s byte-identical', (_what, text) => {
    const added = addWatch(text, full);
    expect(added.text).not.toBe(text);
    const config = parseConfig(added.text, { env });
    expect(config.watches[added.index]).toEqual({ ...full, deadline: 30 * 60_000 });
    const removed = removeWatch(added.text, { requestId: full.requestId });
    expect(removed.index).toBe(added.index);
    expect(removed.text).toBe(text);
  });

  it.for([
    ['watches: []', 'watches: []'],
    ['watches: []   # none yet', 'watches: []   # none yet'],
    ['watches: ~', 'watches: []'],
    ['watches:', 'watches: []'],
    ['', 'watches: []'],
  ])('keeps a file without a final line end without one, its list `%s` as it was or `[]`', ([line, emptied]) => {
    const text = line === '' ? CLOUD.slice(0, -1) : `${CLOUD}${line}`;
    const added = addWatch(text, full);
    expect(added.text.endsWith('\n')).toBe(false);
    expect(parseConfig(added.text, { env }).watches[0]).toEqual({ ...full, deadline: 30 * 60_000 });
    expect(removeWatch(added.text, { requestId: full.requestId }).text).toBe(`${CLOUD}${emptied}`);
  });

  it('writes a name that YAML would spread over lines (a line break, a leading ---) on its one line, quoted', () => {
    const text = `${CLOUD}watches: []\n`;
    for (const name of ['resize\nweb-01', '--- migration ---', '... end', 'ends in a line separator\u2028']) {
      const added = addWatch(text, { requestId: 'req-1', serverId: 's1', name });
      expect(added.text.split('\n').filter((line) => line.includes('name:'))).toEqual([`    name: ${JSON.stringify(name).replace('\\u2028', '\\L')}`]);
      expect(parseConfig(added.text, { env }).watches[0]?.name).toBe(name);
    }
  });

  it('adds and removes a job of the native ECS API the same way', () => {
    const text = `${CLOUD}watches:\n  - requestId: req-1\n    serverId: s1\n`;
    const added = addWatch(text, { kind: 'ecs-job', jobId: 'ff808082843684110184e155fdb36461', name: 'batch create' });
    expect(added.text).toBe(`${text}  - kind: ecs-job\n    jobId: ff808082843684110184e155fdb36461\n    name: batch create\n`);
    expect(parseConfig(added.text, { env }).watches[1]).toEqual({ kind: 'ecs-job', jobId: 'ff808082843684110184e155fdb36461', name: 'batch create', projectId: 'p1' });
    expect(thrown(() => removeWatch(added.text, { jobId: 'req-1' }))).toMatchObject({ kind: 'unknown', message: 'no watch with jobId req-1 in the file' });
    expect(thrown(() => removeWatch(added.text, { jobId: 'ff808082843684110184e155fdb3646' }))).toMatchObject({
      message: "no watch with jobId ff808082843684110184e155fdb3646 in the file; did you mean 'ff808082843684110184e155fdb36461'?",
    });
    expect(removeWatch(added.text, { jobId: 'ff808082843684110184e155fdb36461' })).toMatchObject({ text, index: 1 });
  });

  it('keeps the comment after an entry on its line: after a flow mapping\'s `}` and after a block entry\'s last value', () => {
    const flow = `${CLOUD}watches:\n  - {requestId: req-1, serverId: s1}\n  - {requestId: req-2, serverId: s2}   # the db server\n`;
    const added = addWatch(flow, { requestId: 'req-3', serverId: 's3' });
    expect(added.text).toBe(`${flow}  - requestId: req-3\n    serverId: s3\n`);
    expect(removeWatch(flow, { requestId: 'req-1' }).text).toBe(`${CLOUD}watches:\n  - {requestId: req-2, serverId: s2}   # the db server\n`);
    expect(removeWatch(flow, { requestId: 'req-2' }).text).toBe(`${CLOUD}watches:\n  - {requestId: req-1, serverId: s1}\n`);
    const block = `${CLOUD}watches:\n  - {requestId: req-1, serverId: s1}   # the web server\n  - requestId: req-2\n    serverId: s2   # the db server\n`;
    expect(addWatch(block, { requestId: 'req-3', serverId: 's3' }).text).toBe(`${block}  - requestId: req-3\n    serverId: s3\n`);
    expect(removeWatch(block, { requestId: 'req-1' }).text).toBe(`${CLOUD}watches:\n  - requestId: req-2\n    serverId: s2   # the db server\n`);
  });

  it('appends after the last entry, indented like it, touching no other byte', () => {
    const added = addWatch(EXAMPLE, { requestId: 'req-9', serverId: 's9' });
    const tail = EXAMPLE.endsWith('\n') ? '' : '\n';
    expect(added.text).toBe(`${EXAMPLE}${tail}  - requestId: req-9\n    serverId: s9\n`);
  });
});

describe('addWatch', () => {
  it('creates the list when the file has none', () => {
    const added = addWatch(`${CLOUD}# no watches yet`, { requestId: 'req-1', serverId: 's1' });
    expect(added.text).toBe(`${CLOUD}# no watches yet\nwatches:\n  - requestId: req-1\n    serverId: s1`);
  });

  it('ends the entry\'s lines as the file ends its own: CRLF in a CRLF file', () => {
    const crlf = `${CLOUD}watches:\n  - requestId: req-1\n    serverId: s1\n`.replaceAll('\n', '\r\n');
    expect(addWatch(crlf, { requestId: 'req-2', serverId: 's2' }).text).toBe(`${crlf}  - requestId: req-2\r\n    serverId: s2\r\n`);
  });

  it('fills a `watches:` with nothing after it', () => {
    const added = addWatch(`${CLOUD}watches:\nhttp: { port: 0 }\n`, { requestId: 'req-1', serverId: 's1' });
    expect(parseConfig(added.text, { env }).watches).toEqual([{ requestId: 'req-1', serverId: 's1', projectId: 'p1' }]);
    expect(added.text).toContain('http: { port: 0 }');
  });

  it.for([
    ['watches: ~', 'watches:\n'],
    ['watches: null', 'watches:\n'],
    ['watches: ~   # none yet', 'watches:   # none yet\n'],
    ['watches: !!null', 'watches:\n'],
    ['watches: &all ~', 'watches: &all\n'],
  ])('fills a `%s`, taking out what said "none" and keeping an anchor and a comment', ([line, kept]) => {
    const added = addWatch(`${CLOUD}${line}\n`, { requestId: 'req-1', serverId: 's1' });
    expect(added.text).toBe(`${CLOUD}${kept}  - requestId: req-1\n    serverId: s1\n`);
    expect(parseConfig(added.text, { env }).watches).toEqual([{ requestId: 'req-1', serverId: 's1', projectId: 'p1' }]);
  });

  it('creates the list in a file saved with a byte order mark (Windows Notepad\'s UTF-8), its sections at column 0 all the same', () => {
    const added = addWatch(`\uFEFF${CLOUD}`, { requestId: 'req-1', serverId: 's1' });
    expect(added.text).toBe(`\uFEFF${CLOUD}watches:\n  - requestId: req-1\n    serverId: s1\n`);
    expect(addWatch(`\uFEFFwatches:\n${CLOUD}`, { requestId: 'req-1', serverId: 's1' }).text).toBe(`\uFEFFwatches:\n  - requestId: req-1\n    serverId: s1\n${CLOUD}`);
  });

  it('creates the list inside a document that a `...` line ends', () => {
    const added = addWatch(`---\n${CLOUD}...\n`, { requestId: 'req-1', serverId: 's1' });
    expect(added.text).toBe(`---\n${CLOUD}watches:\n  - requestId: req-1\n    serverId: s1\n...\n`);
    expect(parseConfig(added.text, { env }).watches).toHaveLength(1);
  });

  it('keeps a comment written inside the brackets of an empty list', () => {
    const added = addWatch(`${CLOUD}watches: [   # filled by the pipeline\n]\n`, { requestId: 'req-1', serverId: 's1' });
    expect(added.text).toBe(`${CLOUD}watches: # filled by the pipeline\n  - requestId: req-1\n    serverId: s1\n`);
    expect(parseConfig(added.text, { env }).watches).toHaveLength(1);
  });

  it('quotes what YAML would misread, and keeps ${ literal', () => {
    const watch = { requestId: 'req-1', serverId: '0123', name: 'web: 01 # not a comment ${HOME}', notify: ['yes'] };
    const added = addWatch(`${CLOUD}  "yes": { type: webhook, url: "https://h.example.com" }\nwatches: []\n`, watch);
    expect(parseConfig(added.text, { env: { HOME: '/root' } }).watches[0]).toEqual({ ...watch, projectId: 'p1' });
  });

  it('quotes a notifier name that would end or break the [ ] it is written in: a list given YAML-style, --notify "[chat,ops-mail]"', () => {
    const added = addWatch(`${CLOUD}watches: []\n`, { requestId: 'req-1', serverId: 's1', notify: ['[chat', 'ops-mail]', 'a}b'] });
    const check = validateConfigText(added.text, { env });
    // Told as the names given, which --notify then names, not as a syntax error at a line of a file never written.
    expect(check.ok ? [] : check.issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      "watches[0].notify[0]: unknown notifier '[chat' (configured: chat); did you mean 'chat'?",
      "watches[0].notify[1]: unknown notifier 'ops-mail]' (configured: chat)",
      "watches[0].notify[2]: unknown notifier 'a}b' (configured: chat)",
    ]);
  });

  it('refuses a file it cannot edit faithfully, saying why', () => {
    expect(thrown(() => addWatch(`${CLOUD}watches: [{ requestId: a, serverId: b }]\n`, full))).toMatchObject({ kind: 'file', message: expect.stringContaining('block list') });
    expect(thrown(() => addWatch('cloud: [oops\n', full))).toMatchObject({ kind: 'file', message: expect.stringContaining('validate') });
    expect(thrown(() => addWatch(`${CLOUD}watches: nope\n`, full))).toMatchObject({ kind: 'file' });
    expect(thrown(() => addWatch('  cloud: { endpoint: "https://ecs.example.com", projectId: p1 }\n', full))).toMatchObject({ kind: 'file', message: expect.stringContaining('add "watches: []"') });
    // Written in { }, with the list or without: the entry's block lines would break the file, and `watches: []` added to it would not help.
    for (const file of ['{ cloud: { endpoint: "https://ecs.example.com", projectId: p1 }, watches: [] }\n', '{ watches: ~, cloud: { endpoint: "https://ecs.example.com" } }\n', '{ cloud: { endpoint: "https://ecs.example.com", projectId: p1 } }\n']) {
      expect(thrown(() => addWatch(file, full))).toMatchObject({ kind: 'file', message: expect.stringContaining('write its sections as a block mapping') });
    }
  });
});

describe('removeWatch', () => {
  const two = `${CLOUD}watches:\n  - { requestId: req-1, serverId: s1 }\n  - requestId: req-1\n    serverId: s2\n    name: second\n`;

  it('removes the one entry with that request id and server', () => {
    const removed = removeWatch(two, { requestId: 'req-1', serverId: 's2' });
    expect(removed).toMatchObject({ index: 1, entry: { name: 'second' } });
    expect(removed.text).toBe(`${CLOUD}watches:\n  - { requestId: req-1, serverId: s1 }\n`);
  });

  it('writes `[]` for a list it empties, after its anchor and tag, keeping the comment after the key', () => {
    const text = `${CLOUD}watches:   # what we watch\n  - requestId: req-1\n    serverId: s1\nhttp: { port: 0 }\n`;
    expect(removeWatch(text, { requestId: 'req-1' }).text).toBe(`${CLOUD}watches: []   # what we watch\nhttp: { port: 0 }\n`);
    // `watches: [] &all` is not YAML.
    const anchored = removeWatch(text.replace('watches:', 'watches: !!seq &all'), { requestId: 'req-1' }).text;
    expect(anchored).toBe(`${CLOUD}watches: !!seq &all []   # what we watch\nhttp: { port: 0 }\n`);
    expect(parseConfig(anchored, { env }).watches).toEqual([]);
  });

  it('takes an entry from its dash, whatever comes between the dash and its keys', () => {
    const text = `${CLOUD}watches:\n  - # resize web-01\n    requestId: req-1\n    serverId: s1\n  - requestId: req-2\n    serverId: s2\n`;
    expect(removeWatch(text, { requestId: 'req-1' }).text).toBe(`${CLOUD}watches:\n  - requestId: req-2\n    serverId: s2\n`);
  });

  it('takes out an entry whose last value is a block list ending in a comment, and no line of the entry after it', () => {
    // yaml ends such an entry after the comments below it, inside the next line, after its indentation.
    const first = '  - requestId: req-1\n    serverId: s1\n    notify:\n      - chat\n      # ops-mail once it has a relay\n';
    const second = '  - requestId: req-2\n    serverId: s2\n';
    expect(removeWatch(`${CLOUD}watches:\n${first}${second}`, { requestId: 'req-1' }).text).toBe(`${CLOUD}watches:\n${second}`);
    expect(removeWatch(`${CLOUD}watches:\n${second}${first}  # the end\n`, { requestId: 'req-1' }).text).toBe(`${CLOUD}watches:\n${second}  # the end\n`);
    // And `add` writes after that entry, before the comment that follows it at the dashes' column, as after any other.
    expect(addWatch(`${CLOUD}watches:\n${first}  # the end\n`, { requestId: 'req-3', serverId: 's3' }).text).toBe(`${CLOUD}watches:\n${first}  - requestId: req-3\n    serverId: s3\n  # the end\n`);
  });

  it('keeps the comment lines below an entry, indented under it, with it: add writes after them, remove takes them', () => {
    const first = '  - requestId: req-1\n    serverId: s1\n    # until CHG-1234 is closed\n';
    const second = '  - requestId: req-2\n    serverId: s2\n';
    expect(addWatch(`${CLOUD}watches:\n${first}`, { requestId: 'req-3', serverId: 's3' }).text).toBe(`${CLOUD}watches:\n${first}  - requestId: req-3\n    serverId: s3\n`);
    expect(removeWatch(`${CLOUD}watches:\n${first}${second}`, { requestId: 'req-1' }).text).toBe(`${CLOUD}watches:\n${second}`);
    // A blank line ends the entry: what comes after it is the list's.
    expect(removeWatch(`${CLOUD}watches:\n${second}\n    # later\n${first}`, { requestId: 'req-2' }).text).toBe(`${CLOUD}watches:\n\n    # later\n${first}`);
  });

  it('leaves one blank line where entries set apart by blank lines lose one between them', () => {
    const entry = (n: number) => `  - requestId: req-${n}\n    serverId: s${n}\n`;
    const text = `${CLOUD}watches:\n${entry(1)}\n${entry(2)}\n${entry(3)}\nhttp: { port: 0 }\n`;
    expect(removeWatch(text, { requestId: 'req-2' }).text).toBe(`${CLOUD}watches:\n${entry(1)}\n${entry(3)}\nhttp: { port: 0 }\n`);
    expect(removeWatch(text, { requestId: 'req-3' }).text).toBe(`${CLOUD}watches:\n${entry(1)}\n${entry(2)}\nhttp: { port: 0 }\n`);
    expect(removeWatch(text.replaceAll('\n', '\r\n'), { requestId: 'req-2' }).text).toBe(`${CLOUD}watches:\n${entry(1)}\n${entry(3)}\nhttp: { port: 0 }\n`.replaceAll('\n', '\r\n'));
  });

  it('refuses an entry whose dash shares its line with the `:` of an explicit key (`? watches`), saying how to write it', () => {
    const text = `${CLOUD}? watches\n: - requestId: req-1\n    serverId: s1\n  - requestId: req-2\n    serverId: s2\n`;
    expect(thrown(() => removeWatch(text, { requestId: 'req-1' }))).toMatchObject({
      kind: 'file',
      message: 'watches[0] begins on line 7 after the ":" of its key: put its "-" at the start of a line of its own to remove it',
    });
    expect(removeWatch(text, { requestId: 'req-2' }).text).toBe(`${CLOUD}? watches\n: - requestId: req-1\n    serverId: s1\n`);
  });

  it('takes out a watch listed twice (a duplicate validate refuses) with every listing of it, as its ids were given', () => {
    const text = `${CLOUD}watches:\n  - requestId: req-1\n    serverId: s1\n  - requestId: req-2\n    serverId: s2\n  - requestId: req-1\n    serverId: s1\n    projectId: p2\n`;
    const remaining = `${CLOUD}watches:\n  - requestId: req-2\n    serverId: s2\n`;
    for (const match of [{ requestId: 'req-1', serverId: 's1' }, { requestId: 'req-1' }]) {
      expect(removeWatch(text, match)).toMatchObject({ text: remaining, index: 0, entry: { serverId: 's1' }, duplicates: [2] });
    }
    // One after the other, at the end of a file without a final line end: the file still ends without one.
    const last = `${remaining}  - requestId: req-1\n    serverId: s1\n  - {requestId: req-1, serverId: s1}`;
    expect(removeWatch(last, { requestId: 'req-1' })).toMatchObject({ text: remaining.slice(0, -1), index: 1, duplicates: [2] });
    // Listed twice on one server and once on another: two watches, counted and named once each.
    expect(thrown(() => removeWatch(`${text}  - requestId: req-1\n    serverId: s3\n`, { requestId: 'req-1' }))).toMatchObject({
      kind: 'ambiguous',
      message: '2 watches have requestId req-1 (servers s1, s3): name one with --server',
    });
  });

  it('reads the ids as validate does: through an alias, and from a ${VAR} with the environment given', () => {
    const aliased = `${CLOUD}watches:\n  - requestId: &multi req-5a42\n    serverId: srv-a\n  - requestId: *multi\n    serverId: srv-b\n`;
    const removed = removeWatch(aliased, { requestId: 'req-5a42', serverId: 'srv-b' });
    expect(removed.index).toBe(1);
    expect(parseConfig(removed.text, { env }).watches).toEqual([{ requestId: 'req-5a42', serverId: 'srv-a', projectId: 'p1' }]);
    expect(thrown(() => removeWatch(aliased, { requestId: 'req-5a42' }))).toMatchObject({ kind: 'ambiguous', message: expect.stringMatching(/^2 watches have requestId req-5a42/) });
    const fromEnv = `${CLOUD}watches:\n  - requestId: \${REQUEST}\n    serverId: s1\n`;
    expect(removeWatch(fromEnv, { requestId: 'req-77' }, { REQUEST: 'req-77' }).index).toBe(0);
    expect(thrown(() => removeWatch(fromEnv, { requestId: 'req-77' }))).toMatchObject({ kind: 'unknown' });
  });

  it('refuses to take out an anchor that an entry it leaves aliases, saying where that alias is', () => {
    const text = `${CLOUD}watches:\n  - requestId: req-1\n    serverId: s1\n    notify: &team [chat]\n  - requestId: req-2\n    serverId: s2\n    notify: *team\n`;
    expect(thrown(() => removeWatch(text, { requestId: 'req-1' }))).toMatchObject({
      kind: 'file',
      message: 'the entry to remove sets &team, which watches[1].notify at line 12 uses: write its value out there first',
    });
    // The alias goes with its entry; an anchor set again before an alias is the one it names.
    expect(removeWatch(text, { requestId: 'req-2' }).index).toBe(1);
    const setAgain = `${CLOUD}watches:\n  - {requestId: req-1, serverId: s1, notify: &team [chat]}\n  - {requestId: req-2, serverId: s2, notify: &team [chat]}\n  - {requestId: req-3, serverId: s3, notify: *team}\n`;
    expect(removeWatch(setAgain, { requestId: 'req-1' }).index).toBe(0);
  });

  it('says when the id is unknown or ambiguous', () => {
    expect(thrown(() => removeWatch(two, { requestId: 'resize-7' }))).toMatchObject({ kind: 'unknown', message: 'no watch with requestId resize-7 in the file' });
    // An id a character off, or cut short in copying, gets the one it likely is; a right id on another server, where it is.
    expect(thrown(() => removeWatch(two, { requestId: 'req-2' }))).toMatchObject({ kind: 'unknown', message: "no watch with requestId req-2 in the file; did you mean 'req-1'?" });
    expect(thrown(() => removeWatch(two, { requestId: 'req-1', serverId: 's3' }))).toMatchObject({
      kind: 'unknown',
      message: 'no watch with requestId req-1 on server s3 in the file: that request is watched on server s1, s2',
    });
    expect(thrown(() => removeWatch(two, { requestId: 'req-1' }))).toMatchObject({ kind: 'ambiguous', message: '2 watches have requestId req-1 (servers s1, s2): name one with --server' });
    expect(thrown(() => removeWatch(CLOUD, { requestId: 'req-1' }))).toMatchObject({ kind: 'unknown' });
  });
});

describe('watchedAlready', () => {
  it('finds the entry in a file that repeats an anchor in more than 100 watches', () => {
    const rows = ['watches:', '  - {requestId: req-0, serverId: s0, notify: &team [chat]}'];
    for (let i = 1; i <= 101; i++) rows.push(`  - {requestId: req-${i}, serverId: s${i}, notify: *team}`);
    const text = `${CLOUD}${rows.join('\n')}\n`;
    expect(watchedAlready(text, { requestId: 'req-101', serverId: 's101' }, env)).toMatchObject({ index: 101, line: 108 });
  });

  it('says which variable, not set here, a project compared stands as: only the daemon knows that project', () => {
    const text = `${CLOUD.replace(/projectId: .*/, 'projectId: ${PID}')}watches:\n  - { requestId: req-1, serverId: s1 }\n  - { requestId: req-2, serverId: s2, projectId: p1 }\n`;
    expect(watchedAlready(text, { requestId: 'req-1', serverId: 's1', projectId: 'p2' }, {})).toMatchObject({ project: '${PID}', wanted: 'p2', unset: '${PID}' });
    expect(watchedAlready(text, { requestId: 'req-2', serverId: 's2' }, {})).toMatchObject({ project: 'p1', wanted: '${PID}', unset: '${PID}' });
    // The default is not what these are compared by: the entry's own project, and the one given.
    expect(watchedAlready(text, { requestId: 'req-2', serverId: 's2', projectId: 'p2' }, {})).toMatchObject({ project: 'p1', wanted: 'p2', unset: undefined });
    expect(watchedAlready(text, { requestId: 'req-1', serverId: 's1', projectId: 'p2' }, { PID: 'p3' })).toMatchObject({ project: 'p3', wanted: 'p2', unset: undefined });
  });

  it('takes the project of an entry that names none from the clouds.yaml profile, as run does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-watched-'));
    try {
      const clouds = join(dir, 'clouds.yaml');
      writeFileSync(clouds, 'clouds:\n  lab:\n    auth: { auth_url: "https://k.test/v3", user_id: u, password: p, project_id: p9 }\n');
      const text = `cloud:\n  cloudsYaml: ${clouds}\n  cloud: lab\nwatches:\n  - { requestId: req-1, serverId: s1 }\n`;
      expect(watchedAlready(text, { requestId: 'req-1', serverId: 's1', projectId: 'p9' }, {})).toEqual({ index: 0, line: 5, project: 'p9', wanted: 'p9' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
