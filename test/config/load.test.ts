import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REPEATED_VALUES } from '../../src/config/aliases.ts';
import { ConfigError, cannotReadWatchFile, formatIssue, loadConfigFile, parseConfig, validateConfigText } from '../../src/config/load.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecs-watch-config-'));
  // Paths that no file can be read at, as a mistyped --config may name.
  await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
  await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
  await writeFile(join(dir, 'file.yaml'), '');
  // A byte past the 16 MiB a watch file may have (sparse: nothing is written).
  await writeFile(join(dir, 'huge.yaml'), '');
  await truncate(join(dir, 'huge.yaml'), 16 * 1024 * 1024 + 1);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CLOUD_AND_OPS = ['cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', 'notifiers:', '  ops: {type: webhook, url: "https://h.example.com/x"}', 'watches:'];

const BROKEN = 'cloud:\n  endpoint: https://ecs.example.com\n  timeout: 10\npoll:\n  retries: -1\n';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('parseConfig', () => {
  it('throws a ConfigError whose message is one contract line per problem', () => {
    const err = thrown(() => parseConfig(BROKEN, { env: {}, source: 'watch.yaml' }));
    expect(err).toBeInstanceOf(ConfigError);
    const configError = err as ConfigError;
    expect(configError.file).toBe('watch.yaml');
    expect(configError.issues).toEqual([
      {
        line: 3,
        col: 12,
        path: 'cloud.timeout',
        message: '10 has no unit: write a duration as a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s',
      },
      { line: 5, col: 12, path: 'poll.retries', message: 'must be at least 0 (got -1)' },
    ]);
    expect(configError.message).toBe(
      '3:12 cloud.timeout: 10 has no unit: write a duration as a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s\n' +
        '5:12 poll.retries: must be at least 0 (got -1)',
    );
  });

  /** Six lines, each a list of ten aliases of the one above: before f, 123,440 values; each *e in f 111,111 more. */
  const bomb = () => ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...['b', 'c', 'd', 'e', 'f'].map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcde'[i]}`).join(', ')}]`)];
  const bombProblem = (line: number) =>
    `${line}:20 f[3]: *e takes what the file's aliases repeat past 500,000 values, the most allowed (a guard against alias bombs): &e holds 111,111 values, the aliases inside it expanded; write the values out, or alias smaller ones`;

  it('refuses an alias bomb at the alias that takes what aliases repeat past the limit, saying what to do', () => {
    const result = validateConfigText(bomb().join('\n'), { env: {} });
    // The fourth *e in f passes 500,000.
    expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([bombProblem(6)]);
  });

  it('refuses a bomb below an alias inside its own anchor, which repeats nothing', () => {
    const result = validateConfigText(['o: &o [*o]', ...bomb()].join('\n'), { env: {} });
    expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([bombProblem(7)]);
  });

  it('refuses a bomb of any depth once (2 ** 1100 values, past what a number holds)', () => {
    const rows = ['l0: &l0 x', ...Array.from({ length: 1100 }, (_, i) => `l${i + 1}: &l${i + 1} [*l${i}, *l${i}]`)];
    const result = validateConfigText(rows.join('\n'), { env: {} });
    expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([expect.stringMatching(/^18:18 l17\[1\]: \*l16 takes what the file's aliases repeat past 500,000 values/)]);
  });

  it('lets aliases repeat MAX_REPEATED_VALUES values in all, and refuses one more', () => {
    const team = Array<string>(MAX_REPEATED_VALUES / 1000 - 1).fill('ops');
    const rows = [...CLOUD_AND_OPS, '  - {requestId: r0, serverId: s0, deadline: &long 2h, notify: &team [' + team.join(', ') + ']}'];
    for (let i = 1; i <= 1000; i++) rows.push(`  - {requestId: r${i}, serverId: s${i}, notify: *team}`);
    expect(validateConfigText(rows.join('\n'), { env: {} }).ok).toBe(true);
    rows.push('  - {requestId: r1001, serverId: s1001, deadline: *long}');
    const result = validateConfigText(rows.join('\n'), { env: {} });
    expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([expect.stringMatching(/^1008:51 watches\[1001\]\.deadline: \*long takes what the file's aliases repeat past 500,000 values, .*: &long holds 1 value,/)]);
  });

  it('reports a section that holds itself through an alias as the key that does not belong', () => {
    const result = validateConfigText('cloud: &c\n  endpoint: https://ecs.example.com\n  loop: *c\n', { env: {} });
    expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([expect.stringMatching(/^3:3 cloud\.loop: unknown key 'loop'/)]);
  });

  it('reports a list or mapping written as a key, and nothing on stderr besides', async () => {
    // yaml warns of such a key through process.emitWarning, which the daemon would print at each reload,
    // naming an option of the library's.
    const warnings: Error[] = [];
    const listener = (warning: Error) => warnings.push(warning);
    process.on('warning', listener);
    try {
      const result = validateConfigText([...CLOUD_AND_OPS.slice(0, 3), 'notifiers:', '  {x: 1}: {type: webhook, url: "https://h.example.com/x"}'].join('\n'), { env: {} });
      expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([
        "5:3 notifiers[\"{ x: 1 }\"]: notifier name '{ x: 1 }' may only contain letters, digits, _, . and -",
      ]);
      // Node emits a warning on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.message)).toEqual([]);
    } finally {
      process.off('warning', listener);
    }
  });

  it.each([
    ['a list at the top', '[a, b]: 1', `6:1 ["[ a, b ]"]: unknown key '[ a, b ]'`],
    ['a mapping at the top', '? {x: 1}\n: 2', `6:1 ["{ x: 1 }"]: unknown key '{ x: 1 }'`],
    ['nothing at the top', '~: 1', `6:1 [""]: unknown key ''`],
    ['a list below the first key of a mapping', '  ? [a, b]\n  : {type: webhook, url: "https://h.example.com/x"}', `6:3 notifiers["[ a, b ]"]: notifier name '[ a, b ]' may only`],
    // yaml's own range of such a mapping starts after its first key, on the line below the `?`.
    ['a mapping on the lines below a lone `?`, a comment before it', '# what follows\n?  # a comment\n  x: 1\n: 2', `7:1 ["{ x: 1 }"]: unknown key '{ x: 1 }'`],
    ['a list first in a flow mapping', 'poll: { ? [a, b] : 1 }', `6:9 poll["[ a, b ]"]: unknown key '[ a, b ]'`],
    ['a list after a key of a flow mapping', 'poll: { concurrency: 4 , ? [a, b] : 1 }', `6:26 poll["[ a, b ]"]: unknown key '[ a, b ]'`],
  ])('reports %s written as a key at its own line', (_case, key, expected) => {
    // The data names such a key as yaml writes it (`[ a, b ]`, '' for nothing): a path that spelt it
    // otherwise led to where its mapping starts, 1:1 at the top. A list or mapping is pointed at by the
    // `?` that made it a key.
    const result = validateConfigText([...CLOUD_AND_OPS.slice(0, 5), key, ''].join('\n'), { env: {} });
    expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([expect.stringContaining(expected)]);
  });

  it('keeps every string value as the file wrote it, escapes and lone surrogates included', () => {
    const config = parseConfig('cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\n  region: "r\\uD800-\\u00e9-\\U0001F600-region"\n', { env: {} });
    expect(config.cloud.region).toBe('r\uD800-\u00e9-\u{1F600}-region');
  });

  it('copes with a byte order mark and CRLF line ends', () => {
    const result = validateConfigText('\uFEFFcloud:\r\n  endpoint: https://ecs.example.com\r\n  regoin: eu\r\n', { env: {} });
    expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([
      "3:3 cloud.regoin: unknown key 'regoin' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout); did you mean 'region'?",
    ]);
  });

  it('counts the columns of line 1 from after a byte order mark, which editors do not show', () => {
    const problems = (text: string) => {
      const result = validateConfigText(text, { env: {} });
      return !result.ok && result.issues.map((i) => formatIssue(i));
    };
    const flow = 'cloud: { endpoint: "https://ecs.example.com", regoin: eu }\n';
    expect(problems(`\uFEFF${flow}`)).toEqual([
      "1:47 cloud.regoin: unknown key 'regoin' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout); did you mean 'region'?",
    ]);
    // Found before the file is parsed, by columns of their own: a [ too deep, a carriage return alone.
    for (const text of [`cloud: ${'['.repeat(3000)}\n`, 'cloud: {}\r  x: 1\n']) expect(problems(`\uFEFF${text}`)).toEqual(problems(text));
  });

  it('refuses classic Mac OS line ends (CR alone) at the first one, saying how to convert them', () => {
    const mac = 'the watch file ends its lines with a carriage return alone (CR, as classic Mac OS did), which is not read as a line end: ' +
      "convert them to LF with dos2unix -c mac FILE (or mac2unix FILE), or with the editor's line-ending setting";
    const text = ['cloud:', '  endpoint: https://ecs.example.com', '  regoin: eu', ''];
    // yaml reads such a file as one line: a mapping that runs on from `cloud:` (1:7), or, after a comment, nothing.
    for (const file of [text, ['# the watch file', ...text]]) {
      const result = validateConfigText(file.join('\r'), { env: {} });
      expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([`1:${file[0]!.length + 1} (root): ${mac}`]);
    }
  });

  it('refuses a CR alone in a file of LF or CRLF line ends at its line and column, where yaml read no line end', () => {
    const stray = (count: string) => `a carriage return (CR) with no line feed (LF) after it, which is not read as a line end${count}: end the line with LF, or delete the CR (dos2unix -c mac FILE makes every lone CR an LF)`;
    const cases: Array<[string, string]> = [
      // yaml read `p1\rwatches` as a key of p1's line.
      ['cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\rwatches: []\n', `3:16 (root): ${stray('')}`],
      // yaml read this one as part of the comment, and the value as "p\r1": the file was valid to it.
      ['cloud: # the\rcloud\r\n  endpoint: https://ecs.example.com\r\n  projectId: "p\r1"\r\n', `1:13 (root): ${stray(' (the first of 2 in the file)')}`],
      // As many CRs alone as LFs: still stray CRs in a file of LF line ends, not a file of classic Mac OS ones.
      ['cloud:\n  endpoint: https://ecs.example.com\r  projectId: p1\rwatches: []\n', `2:36 (root): ${stray(' (the first of 2 in the file)')}`],
    ];
    for (const [text, expected] of cases) {
      const result = validateConfigText(text, { env: {} });
      expect(!result.ok && result.issues.map((i) => formatIssue(i))).toEqual([expected]);
    }
  });
});

describe('what HTTP headers carry', () => {
  it('keeps accepting what they do: Latin-1, tabs, base64 and the headers a client may set', () => {
    const text = [
      'cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', '  auth:', '    type: token', '    token: "abc+/def=="',
      'notifiers:', '  chat:', '    type: webhook', '    url: https://hooks.example.com/x', '    headers:',
      '      X-Team: "caf\u00e9\tops"', '      X-Host: a', '      content-type: text/plain', '      Host: hooks.internal', '      Connection: close',
      'watches: []', '',
    ].join('\n');
    const config = parseConfig(text, { env: {} });
    expect(config.notifiers['chat']).toMatchObject({ headers: { 'X-Team': 'caf\u00e9\tops', Host: 'hooks.internal', Connection: 'close', 'content-type': 'text/plain' } });
  });
});

describe('formatIssue', () => {
  it('puts the file in front when given', () => {
    const issue = { line: 4, col: 7, path: 'watches[2].notify[0]', message: "unknown notifier 'x' (configured: a)" };
    expect(formatIssue(issue)).toBe("4:7 watches[2].notify[0]: unknown notifier 'x' (configured: a)");
    expect(formatIssue(issue, 'watch.yaml')).toBe("watch.yaml:4:7 watches[2].notify[0]: unknown notifier 'x' (configured: a)");
  });
});

describe('loadConfigFile', () => {
  it('loads a file', async () => {
    const path = join(dir, 'good.yaml');
    await writeFile(path, 'cloud:\n  endpoint: https://ecs.example.com\n  region: ${REGION:-eu-de}\n');
    const config = await loadConfigFile(path, { env: {} });
    expect(config.cloud).toMatchObject({ endpoint: 'https://ecs.example.com', region: 'eu-de' });
  });

  it('names the file in the ConfigError of an invalid one', async () => {
    const path = join(dir, 'broken.yaml');
    await writeFile(path, BROKEN);
    const err = await loadConfigFile(path, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).file).toBe(path);
    expect((err as ConfigError).issues).toHaveLength(2);
  });

  it.each([
    ['a missing file', 'missing.yaml', 'no such file'],
    ['a directory', '.', 'is a directory, not a regular file'],
    ['a loop of symbolic links', 'loop-a', 'its path runs in a loop of symbolic links'],
    ['a path through a file', 'file.yaml/watch.yaml', 'a part of its path is a file, not a folder'],
    ['a name longer than a file system takes', 'x'.repeat(300), 'its path is too long'],
    ['a file a byte past the 16 MiB allowed', 'huge.yaml', 'is 16.1 MiB, more than the 16 MiB allowed'],
  ])('says why %s cannot be read, and how to name another', async (_what, name, reason) => {
    const path = join(dir, name);
    const err = await loadConfigFile(path, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([]);
    expect((err as ConfigError).message).toBe(
      `cannot read the watch file ${path}: ${reason} (name another file with --config or ECS_WATCH_CONFIG)`,
    );
  });

  // Made as fs makes it: a test run as root reads any file, so the refusal itself cannot be had here.
  it.each([['EACCES', 'permission denied'], ['EPERM', 'operation not permitted']])('says how to mend a file it may not read (%s)', (code, reason) => {
    const err = Object.assign(new Error(`${code}: operation not permitted, open '/etc/eaw/watch.yaml'`), { code });
    expect(cannotReadWatchFile('/etc/eaw/watch.yaml', err)).toBe(
      `cannot read the watch file /etc/eaw/watch.yaml: ${reason}: let the user this runs as read it (and enter its folders), or name another file with --config or ECS_WATCH_CONFIG`,
    );
  });
});

describe('onlyNotifier', () => {
  const text = [
    'cloud:',
    '  endpoint: https://ecs.example.com',
    '  projectId: p1',
    'notifiers:',
    '  chat: { type: webhook, url: "https://hooks.example.com/x", secret: "${UNSET_SECRET}" }',
    '  pager: { type: webhook, url: "https://pager.example.com/x", headers: &h { X-Team: infra } }',
    '  ops: { type: webhook, url: "https://ops.example.com/x", headers: *h }',
    '  mail: { type: email, smtp: { host: smtp.example.com, password: !env UNSET_PASSWORD }, from: a@example.com, to: [b@example.com] }',
    'watches:',
    '  - { requestId: req-1, serverId: s1, notify: [chat] }',
    '',
  ].join('\n');

  it('reads only the one notifier, and what it aliases: the others\' variables and tags need not be set; their names stay', () => {
    expect(validateConfigText(text, { env: {} })).toMatchObject({ ok: false });
    const ops = validateConfigText(text, { env: {}, onlyNotifier: 'ops' });
    expect(ops).toMatchObject({ ok: true, config: { notifiers: { ops: { url: 'https://ops.example.com/x', headers: { 'X-Team': 'infra' } } } } });
    // pager holds the anchor ops aliases: kept. chat and mail, with their unset variable and tag, are not read.
    expect(ops.ok && Object.keys(ops.config.notifiers).sort()).toEqual(['ops', 'pager']);
    // A watch's notify list is checked against every name all the same.
    expect(validateConfigText(text.replace('notify: [chat]', 'notify: [chta]'), { env: {}, onlyNotifier: 'ops' })).toMatchObject({
      ok: false,
      issues: [{ path: 'watches[0].notify[0]', message: expect.stringContaining("unknown notifier 'chta'") as string }],
    });
  });

  it('reads every notifier for a name the file lacks, and the one asked for with its own problems', () => {
    expect(validateConfigText(text, { env: {}, onlyNotifier: 'nope' })).toMatchObject({ ok: false, issues: [{ path: 'notifiers.chat.secret' }, { path: 'notifiers.mail.smtp.password' }] });
    expect(validateConfigText(text, { env: {}, onlyNotifier: 'chat' })).toMatchObject({ ok: false, issues: [{ path: 'notifiers.chat.secret' }] });
  });
});

describe('unsetAllowedOutside', () => {
  const text = [
    'cloud:',
    '  endpoint: https://ecs.example.com',
    '  projectId: p1',
    '  auth: { type: token, token: "${UNSET_TOKEN}" }',
    'notifiers:',
    '  chat: { type: webhook, url: "https://hooks.example.com/x", secret: "${HOOK_SECRET}" }',
    'state:',
    '  path: ${UNSET_DIR}/state.json',
    'watches:',
    '  - { requestId: req-1, serverId: s1, name: "${UNSET_DIR}" }',
    '',
  ].join('\n');
  const notifiersOnly = { paths: [['notifiers'], ['cloud', 'tls']], onUnset: () => undefined };
  const env = { HOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };

  it('lets a variable outside the parts named be unset, each said once with its settings, its value kept as written; not one of theirs', () => {
    const check = validateConfigText(text, { env, unsetAllowedOutside: notifiersOnly, mode: 0o644 });
    // No warning of a secret written into a file every user may read: ${UNSET_TOKEN} is none.
    expect(check).toEqual({
      ok: true,
      config: expect.objectContaining({ cloud: expect.objectContaining({ auth: { type: 'token', token: '${UNSET_TOKEN}' } }) }) as unknown,
      warnings: [],
      unset: [
        { variable: 'UNSET_TOKEN', paths: ['cloud.auth.token'] },
        { variable: 'UNSET_DIR', paths: ['state.path', 'watches[0].name'] },
      ],
    });
    // Nor a warning that judges a value left as its text: the endpoint's project against "${UNSET_PROJECT}".
    const project = text.replace('  endpoint: https://ecs.example.com\n  projectId: p1', '  endpoint: https://ecs.example.com/v2.1/p1\n  projectId: ${UNSET_PROJECT}');
    expect(validateConfigText(project, { env, unsetAllowedOutside: notifiersOnly })).toMatchObject({ ok: true, warnings: [] });
    expect(validateConfigText(project, { env: { ...env, UNSET_TOKEN: 't', UNSET_DIR: 'd', UNSET_PROJECT: 'p2' } })).toMatchObject({ ok: true, warnings: [{ path: 'cloud.endpoint' }] });
    expect(validateConfigText(text, { env: {}, unsetAllowedOutside: notifiersOnly })).toMatchObject({
      ok: false,
      issues: [{ path: 'notifiers.chat.secret', message: 'environment variable HOOK_SECRET is not set (use ${HOOK_SECRET:-default} for a default)', variable: 'HOOK_SECRET' }],
    });
    // Without the option, as validate reads it: every one.
    expect(validateConfigText(text, { env })).toMatchObject({ ok: false, issues: [{ path: 'cloud.auth.token' }, { path: 'state.path' }, { path: 'watches[0].name' }] });
  });

  it('refuses an unset variable that a notifier reads through an alias, and one whose text is no value of its type, as before', () => {
    const aliased = text.replace('"${UNSET_TOKEN}" }', '&token "${UNSET_TOKEN}" }').replace('secret: "${HOOK_SECRET}" }', 'secret: "${HOOK_SECRET}", headers: { X-Token: *token } }');
    expect(validateConfigText(aliased, { env, unsetAllowedOutside: notifiersOnly })).toMatchObject({ ok: false, issues: [{ path: 'cloud.auth.token', variable: 'UNSET_TOKEN' }] });
    const port = `${text}http:\n  port: \${UNSET_PORT}\n`;
    expect(validateConfigText(port, { env, unsetAllowedOutside: notifiersOnly })).toMatchObject({
      ok: false,
      issues: [{ path: 'http.port', message: 'environment variable UNSET_PORT is not set (use ${UNSET_PORT:-default} for a default)' }],
    });
    // Nor is clouds.yaml looked up for a cloud named `${OS_CLOUD}` and the variable kept quiet.
    const profile = text.replace('  auth: { type: token, token: "${UNSET_TOKEN}" }', '  cloud: ${UNSET_CLOUD}\n  cloudsYaml: /nonexistent/clouds.yaml');
    expect(validateConfigText(profile, { env, unsetAllowedOutside: notifiersOnly })).toMatchObject({
      ok: false,
      issues: [{ path: 'cloud.cloud', variable: 'UNSET_CLOUD' }, { path: 'cloud.cloud' }],
    });
    // Anything else stays strict: a misspelt key beside an unset variable.
    expect(validateConfigText(text.replace('  path:', '  paht:'), { env, unsetAllowedOutside: notifiersOnly })).toMatchObject({ ok: false, issues: [{ path: 'state.paht' }] });
  });
});

describe('omitSections', () => {
  const text = [
    'cloud:',
    '  endpoint: https://ecs.example.com',
    '  projectId: 89655fe61c4c4a08b9f3e7f9095441b8',
    'delivery:',
    '  maxAge: &age 2h',
    'notifiers:',
    '  chat: { type: webhook, url: "https://hooks.example.com/x", secret: "${UNSET_SECRET}" }',
    'poll:',
    '  deadline: *age',
    '',
  ].join('\n');

  it('keeps a left-out section whose anchor a kept one names, so that a file validate accepts is read alike', () => {
    // notifiers, which no kept section names, is still left out: its variable need not be set.
    const check = validateConfigText(text, { env: {}, omitSections: ['delivery', 'notifiers'] });
    expect(check).toMatchObject({ ok: true, config: { poll: { deadline: 2 * 3_600_000 }, notifiers: {} } });
  });

  it('checks the notify lists against the names of a left-out notifiers section, whose settings it does not read', () => {
    const watches = `${text}watches:\n  - { requestId: req-1, serverId: s1, notify: [chat] }\n  - { requestId: req-2, serverId: s2, notify: [pager] }\n`;
    const check = validateConfigText(watches, { env: {}, omitSections: ['notifiers'] });
    expect(check).toEqual({ ok: false, issues: [{ line: 12, col: 48, path: 'watches[1].notify[0]', message: "unknown notifier 'pager' (configured: chat)" }] });
  });

  it('says nothing of a tag in a left-out section, which it does not read', () => {
    const tagged = text.replace('"${UNSET_SECRET}"', '!env UNSET_SECRET');
    expect(validateConfigText(tagged, { env: {}, omitSections: ['delivery', 'notifiers'] })).toMatchObject({ ok: true });
    expect(validateConfigText(tagged, { env: {} })).toMatchObject({ ok: false, issues: [{ line: 7, col: 70, path: 'notifiers.chat.secret' }] });
  });

  it.each(['notifiers:', 'notifiers: ~', 'notifiers: {}'])('reads `%s`, left out, as no notifiers at all, as a whole load does', (section) => {
    const file = ['cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', section, 'watches:', '  - { requestId: req-1, serverId: s1, notify: [chat] }', ''].join('\n');
    const unknown = [{ line: 6, col: 48, path: 'watches[0].notify[0]', message: "unknown notifier 'chat' (no notifiers are configured)" }];
    expect(validateConfigText(file, { env: {} })).toEqual({ ok: false, issues: unknown });
    expect(validateConfigText(file, { env: {}, omitSections: ['notifiers'] })).toEqual({ ok: false, issues: unknown });
  });
});
