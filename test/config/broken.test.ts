import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { AUTH_METHODS, AUTH_TYPE_NAMES } from '../../src/cloud/auth/registry.ts';
import { formatIssue, validateConfigText } from '../../src/config/load.ts';
import { NOTIFIER_TYPES, NOTIFIER_TYPE_NAMES } from '../../src/notify/registry.ts';
import { makeCertificates } from '../certificates.ts';
import { COMPILE_CACHE } from '../e2e/daemon.ts';

/** What `validate` prints for `text`, one line per problem. */
function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = validateConfigText(text, { env });
  return result.ok ? [] : result.issues.map((issue) => formatIssue(issue));
}

const lines = (...l: string[]) => `${l.join('\n')}\n`;

/**
 * `problems(text)` in a thread of its own with a stack of `stackSizeMb`: where running out of stack is the
 * case, how far a test's file must go to reach it depends on the stack left, which a thread sets.
 */
async function problemsInThread(text: string, stackSizeMb: number): Promise<string[]> {
  // With the compile cache the daemons share, a thread loads the sources in half the processor time.
  const code = `(async () => {
    const { parentPort, workerData } = require('node:worker_threads');
    require('node:module').enableCompileCache(workerData.compileCache);
    const { validateConfigText, formatIssue } = await import(workerData.module);
    const check = validateConfigText(workerData.text, { env: {} });
    parentPort.postMessage(check.ok ? [] : check.issues.map((issue) => formatIssue(issue)));
  })();`;
  const worker = new Worker(code, { eval: true, workerData: { module: new URL('../../src/config/load.ts', import.meta.url).href, text, compileCache: COMPILE_CACHE }, resourceLimits: { stackSizeMb } });
  try {
    const [found] = (await once(worker, 'message')) as [string[]];
    return found;
  } finally {
    await worker.terminate();
  }
}

// Everything valid but the line under test; cloud.projectId keeps watches valid.
const CLOUD = ['cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1'];
/** A file's cloud and the head of its mail notifier `ops-mail`, for cases of its addresses. */
const OPS_MAIL = [...CLOUD, 'notifiers:', '  ops-mail:', '    type: email', '    smtp: { host: smtp.example.com }'];
/** The tags a watch file reads, as a refused tag's message lists them, and what it says to do. */
const CORE_TAGS = "only YAML 1.2's !!str, !!int, !!float, !!bool, !!null, !!map and !!seq";
const REMOVE_TAG = 'remove it, and write the value itself (${VAR} takes one from the environment)';
/** How deep lists and mappings may be nested, and what is said past that. */
const NESTING_LIMIT = 64;
const LIST_ITEM_OUT_OF_LINE = 'this list item\'s "-" is not in line with the "-" of the items above it: indent it as far as they are';
const TOO_DEEP = `lists and mappings are nested more than ${NESTING_LIMIT} levels deep here, far deeper than any setting goes: look for a [ or { that is not closed, or lines indented further and further`;
/** The keys of a watch, as an unknown key's message lists them. */
const WATCH_KEYS = 'kind, requestId, serverId, name, projectId, notify, deadline, warnAfter, batch, batchWindow';
/** Said after the problem of a value whose variable's value ends with a line break. */
const ENDS_IN_LINE_BREAK = (variable: string) =>
  `(the value of \${${variable}} ends with a line break, as a file it was read from often does, such as one a Kubernetes Secret was made from: set the variable without it)`;
/** How every duration message ends: the forms a duration takes. */
const FORMS = 'a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s';

/** Addresses in any script that are none: a space, an underscore or a symbol in the domain, an empty label, one that starts with a hyphen or an accent, one too long for DNS. */
const NOT_ADDRESSES = ['ops@bü cher.de', 'ops@bü_cher.de', 'ops@😀.de', 'ops@bücher..de', 'ops@-bücher.de', 'ops@\u0301bücher.de', `ops@${'ü'.repeat(60)}.de`, 'ops@bücher.de.', 'müller bücher.de', 'mül ler@bücher.de'];

const cases: Array<{ name: string; text: string; env?: NodeJS.ProcessEnv; expected: string[] }> = [
  {
    name: 'broken YAML syntax: an unclosed flow sequence, told where it opens rather than at the next key',
    text: lines(...CLOUD, 'notifiers:', '  chat:', '    type: webhook', '    on: [failure, timeout', 'watches: []'),
    expected: ['7:9 notifiers.chat.on: the [ that starts here is not closed: a closing ] is missing (a value in [ ] may go on over more lines, indented further than its key)'],
  },
  {
    name: 'an unclosed flow mapping, followed by more',
    text: lines(...CLOUD, 'notifiers:', '  m: { type: webhook, url: http://a/b', '  n: { type: webhook, url: http://a/c }', 'watches:', '  - { requestId: req-1, serverId: s1 }'),
    expected: ['5:6 notifiers.m: the { that starts here is not closed: a closing } is missing (a value in { } may go on over more lines, indented further than its key)'],
  },
  {
    name: 'an unclosed [ holding a key: value, at the very end of the file: told at the [',
    text: `${lines(...CLOUD, 'watches:').trimEnd()}\n  - { requestId: req-1, serverId: s1, notify: [a: 1`,
    expected: ['5:47 watches[0].notify: the [ that starts here is not closed: a closing ] is missing (a value in [ ] may go on over more lines, indented further than its key)'],
  },
  {
    name: 'an unquoted ${VAR} inside { }: told once, without the echo of every token after it',
    text: lines(
      ...CLOUD, 'notifiers:',
      '  mail: { type: email, smtp: { host: smtp.example.com, user: u, password: ${SMTP_PASSWORD} }, from: a@example.com, to: [b@example.com] }',
      '  chat: { type: webhook, url: https://hooks.example.com/x }',
      'watches:', '  - { requestId: req-1, serverId: s1 }', '  - { requestId: req-2, serverId: s2 }',
    ),
    expected: ['5:75 notifiers.mail.smtp.password: inside { } a ${VAR} value must be quoted: write "${VAR}"'],
  },
  {
    name: 'a quote never closed, which YAML notices only at the end of the file',
    text: lines(...CLOUD, 'watches:', '  - serverId: s1', '    requestId: "r1', '  - serverId: s2', '    requestId: r2'),
    expected: ['6:16 watches[0].requestId: the quoted value that starts here is not closed: a closing " is missing, here or in a quoted value above'],
  },
  {
    name: 'a quote never closed that YAML stops at its line, since a later line opens another',
    text: lines('cloud:', '  endpoint: "https://ecs.example.com', '  projectId: "p1"', 'watches: []'),
    expected: ['2:13 cloud.endpoint: the quoted value that starts here is not closed: a closing " is missing, here or in a quoted value above'],
  },
  {
    name: 'a closed quote with a comment stuck to it: the comment, not the quote',
    text: lines('cloud:', '  endpoint: "https://ecs.example.com"# the endpoint', '  projectId: p1', 'watches: []'),
    expected: ['2:38 cloud.endpoint: Comments must be separated from other tokens by white space characters'],
  },
  {
    name: 'a single quote never closed inside a flow list',
    text: lines(...CLOUD, 'notifiers:', '  chat:', '    type: webhook', '    url: https://hooks.example.com/x', "    on: ['failure, timeout]"),
    expected: [
      "8:10 notifiers.chat.on[0]: the quoted value that starts here is not closed: a closing ' is missing, here or in a quoted value above",
    ],
  },
  {
    name: 'a missing space after the colon of a mapping\'s last key, which has no next line to run on into',
    text: lines(...CLOUD, 'poll:', '  retries: 4', '  deadline:6h'),
    expected: ['6:3 poll["deadline:6h"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
  },
  {
    name: 'text after a closing quote',
    text: lines(...CLOUD, '  region: "eu-de" x'),
    expected: ['4:19 cloud.region: more text after a value that has ended: quote the whole value if this is part of it (e.g. region: "eu-de x"), or remove it'],
  },
  {
    name: 'a value that starts with a character YAML reserves (@, `, %): told to quote it',
    text: lines(...CLOUD, 'poll:', '  schedule: @hourly', 'notifiers:', '  m: { type: webhook, url: `https://hooks.example.com/x` }', 'state:', '  path: %data/state.json'),
    expected: [
      `5:13 poll.schedule: a value cannot start with @ unless it is quoted: put the whole value in quotes ("..." or '...')`,
      `7:28 notifiers.m.url: a value cannot start with \` unless it is quoted: put the whole value in quotes ("..." or '...')`,
      `9:9 state.path: a value cannot start with % unless it is quoted: put the whole value in quotes ("..." or '...')`,
    ],
  },
  {
    // A folder not made yet: `run` would make it, keep the state in `<folder>/.journal` until its first
    // compaction failed, and refuse its next start on the folder, the outcomes it told held in that journal.
    name: 'a state.path that names a folder, not the state file in it',
    text: lines(...CLOUD, 'state:', '  path: /var/lib/eaw/'),
    expected: [`5:9 state.path: '/var/lib/eaw/' names a folder (the path ends with /), not the state file: name the file in it, e.g. /var/lib/eaw/ecs-action-watch.state.json`],
  },
  {
    // No shell reads the file: `run` kept its state in ./~/ecs, and a start from another folder had none of it;
    // one that always ran from the same folder has its state there, to move to the path written anew.
    name: 'a state.path that starts with ~, which is no home folder here',
    text: lines(...CLOUD, 'state:', '  path: ~/ecs/state.json'),
    expected: ["5:9 state.path: '~/ecs/state.json' starts with ~: ~ names no home folder here, as no shell reads this file, but a folder named ~ in the working folder: write the path from /, or ${HOME}/ecs/state.json, and move there the state a run kept so far in ./~/ecs/state.json of its working folder, or the next start has none of it"],
  },
  {
    name: 'a state.path that ends in . or .., a folder too',
    text: lines(...CLOUD, 'state:', '  path: ./state/..'),
    expected: [`5:9 state.path: './state/..' names a folder (the path ends with ..), not the state file: name the file in it, e.g. ecs-action-watch.state.json`],
  },
  {
    name: 'a stray ] or } that closes nothing: told once, without the echo of every token after it',
    text: lines(...CLOUD, '  region: {a: 1}}', ']', 'poll: {}'),
    expected: ['4:17 (root): this } closes no {: remove it, or add the { it was meant to close'],
  },
  {
    name: 'a stray ] on its own line',
    text: lines(...CLOUD, ']', 'poll: {}'),
    expected: ['4:1 (root): this ] closes no [: remove it, or add the [ it was meant to close'],
  },
  {
    name: 'a key indented a space too few: told once, not again at each key below in line with it',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', ' projectId: p1', ' region: eu-de', 'poll:', '  retries: 3'),
    expected: ['3:1 (root): this key is not in line with the keys above it in the same mapping: indent it as far as they are'],
  },
  {
    name: 'a key of a list item indented short of the item\'s keys, past its "-": the columns, not a missing "-"',
    text: lines(...CLOUD, 'watches:', '  - requestId: r1', '   serverId: s1'),
    expected: ['6:4 watches[1].serverId: this line is at column 4, between the "-" of the list item above it (column 3) and that item\'s keys: indent it to column 5, as far as the item\'s keys, to go on with that item, or begin a new item with "- "'],
  },
  {
    name: '... in line with its "-": the columns, not a key out of line with the file\'s top-level keys',
    text: lines(...CLOUD, 'watches:', '  - requestId: r1', '    name: one', '  serverId: s1'),
    expected: ['7:3 serverId: this line is in line with the "-" of the list item above it (column 3): indent it to column 5, as far as the item\'s keys, to go on with that item, or begin a new item with "- "'],
  },
  {
    name: 'a key indented a space too few below another syntax error: both told, the key being no echo of the first',
    text: lines(...CLOUD, '  region: "eu\\qde"', 'poll:', '  retries: 1', ' concurrency: 2'),
    expected: [
      "4:14 cloud.region: a \\ in a double-quoted value starts an escape sequence YAML does not know: write \\\\ for a backslash itself, or quote the value with ' instead",
      '7:1 (root): this key is not in line with the keys above it in the same mapping: indent it as far as they are',
    ],
  },
  {
    name: 'a missing space after a colon, which makes the key run on into the next line',
    text: lines(...CLOUD, 'watches:', '  - serverId:s1', '    requestId: r1'),
    expected: ['5:5 watches[0]["serverId:s1 requestId"]: this key runs on past its line: a colon, or the space after it, is missing here (write key: value), or the next line is indented too far'],
  },
  {
    name: 'a list written as a string of names',
    text: lines(...CLOUD, 'notifiers:', '  chat:', '    type: webhook', '    url: https://hooks.example.com/x', 'watches:', '  - serverId: s1', '    requestId: r1', '    notify: chat, ops'),
    expected: ['11:13 watches[0].notify: expected a list, got a string (write a list as [a, b], or one item per line starting with "- ")'],
  },
  {
    name: 'header values an HTTP request cannot carry, and a header the client writes itself',
    text: lines(
      'cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', '  auth:', '    type: token', '    token: ${TOK}',
      'notifiers:', '  chat:', '    type: webhook', '    url: https://hooks.example.com/x', '    headers:', '      X-Team: "${TEAM}"', '      Content-Length: "5"',
    ),
    env: { TOK: 't\u0001k', TEAM: 'infra€' },
    expected: [
      '6:12 cloud.auth.token: holds a character an HTTP header cannot carry (a control character, or one beyond Latin-1 such as €): write it in ASCII',
      '12:15 notifiers.chat.headers.X-Team: holds a character an HTTP header cannot carry (a control character, or one beyond Latin-1 such as €): write it in ASCII',
      "13:7 notifiers.chat.headers.Content-Length: 'Content-Length' cannot be set: the HTTP client refuses it, or writes its own; remove it",
    ],
  },
  {
    name: 'a default with a brace (another reference, or {}), which the reference would end at',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: "${OUTER:-${INNER}}"', '  region: "${REGION:-{}}"'),
    env: { INNER: 'p1', REGION: 'eu-de' },
    expected: [
      '3:14 cloud.projectId: the default of ${OUTER:-...} holds a { (another ${...}, or a brace), which would end it early: give the default as plain text without braces',
      '4:11 cloud.region: the default of ${REGION:-...} holds a { (another ${...}, or a brace), which would end it early: give the default as plain text without braces',
    ],
  },
  {
    name: 'a number and a duration left empty by their variables',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', '  timeout: ${T:-}', 'notifiers:', '  mail:', '    type: email', '    smtp: { host: h, port: "${SMTP_PORT}" }', '    from: a@example.com', '    to: [b@example.com]'),
    env: { SMTP_PORT: '' },
    expected: [
      `4:12 cloud.timeout: is empty: write a duration as ${FORMS} (a \${VAR} set to "" or a \${VAR:-} with an empty default gives that; leave the key out for its default)`,
      '8:28 notifiers.mail.smtp.port: is empty: expected a whole number from 1 to 65535 (a ${VAR} set to "" or a ${VAR:-} with an empty default gives that; leave the key out for its default)',
    ],
  },
  {
    name: 'required values left empty by their variables, each naming its variable',
    text: lines(
      'cloud:', '  endpoint: ${ENDPOINT}', '  projectId: "${PROJECT:-}"', '  auth: { type: token, token: "${TOK}" }',
      'watches:', '  - serverId: ${SERVER}${SUFFIX}', '    requestId: req-1',
    ),
    env: { ENDPOINT: '', TOK: '', SERVER: '', SUFFIX: '' },
    expected: [
      '2:13 cloud.endpoint: expected an http:// or https:// URL, e.g. https://ecs.eu-de.otc.t-systems.com (from ${ENDPOINT}, which is empty)',
      '3:14 cloud.projectId: must not be empty (from ${PROJECT:-}, which is empty)',
      '4:31 cloud.auth.token: required: token (or tokenFile) (from ${TOK}, which is empty)',
      '6:15 watches[0].serverId: must not be empty (from ${SERVER}${SUFFIX}, which is empty)',
    ],
  },
  {
    name: 'a ${VAR} in a key, which is not replaced',
    text: lines(...CLOUD, 'notifiers:', '  ${HOOK}: { type: webhook, url: https://hooks.example.com/x }', 'watches:', '  - { serverId: s1, requestId: r1, notify: ["${HOOK}"] }'),
    env: { HOOK: 'chat' },
    expected: [
      '5:3 notifiers["${HOOK}"]: ${HOOK} is in a key, and only values are read for ${VAR}: write the key itself',
      "7:45 watches[0].notify[0]: unknown notifier 'chat' (configured: ${HOOK})",
    ],
  },
  {
    name: 'a ${VAR} key between misspelt ones: each said once, at its own line',
    text: lines(...CLOUD, '  intreface: public', '  ${REGION_KEY}: eu-de', '  timout: 5s'),
    expected: [
      "4:3 cloud.intreface: unknown key 'intreface' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout); did you mean 'interface'?",
      '5:3 cloud["${REGION_KEY}"]: ${REGION_KEY} is in a key, and only values are read for ${VAR}: write the key itself',
      "6:3 cloud.timout: unknown key 'timout' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout); did you mean 'timeout'?",
    ],
  },
  {
    name: 'a ${VAR} key the only key not known: said once, and no unknown key besides',
    text: lines(...CLOUD, '  ${REGION_KEY}: eu-de'),
    expected: ['4:3 cloud["${REGION_KEY}"]: ${REGION_KEY} is in a key, and only values are read for ${VAR}: write the key itself'],
  },
  {
    name: 'a stray `?` line, which makes the indented lines after it a mapping used as a key: an unknown key, though a ${VAR} is in it',
    text: lines(...CLOUD, '?', '  auth: { type: token, token: "${TOK}" }'),
    expected: [
      '4:1 ["{ auth: { type: token, token: \\"${TOK}\\" } }"]: unknown key \'{ auth: { type: token, token: "${TOK}" } }\' (allowed: cloud, poll, notifiers, delivery, state, shutdown, http, watches, track)',
    ],
  },
  {
    name: 'a key with the $${ escape, which no variable is in: an unknown key like any other',
    text: lines(...CLOUD, '  $${REGION}: eu-de'),
    expected: ["4:3 cloud[\"$${REGION}\"]: unknown key '$${REGION}' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout)"],
  },
  {
    name: 'a negative number from a variable: out of range, as the same number written in the file is',
    text: lines(...CLOUD, 'poll:', '  retries: ${RETRIES}'),
    env: { RETRIES: '-1' },
    expected: ['5:12 poll.retries: must be at least 0 (got -1)'],
  },
  {
    name: 'a whole number past what a number holds exactly: its range said once, not also the largest safe integer',
    text: lines(...CLOUD, 'poll:', '  retries: 99999999999999999999', '  concurrency: -99999999999999999999', 'http:', '  port: ${PORT}'),
    env: { PORT: '123456789012345678901' },
    expected: [
      '5:12 poll.retries: must be at most 20 (got 100000000000000000000)',
      '6:16 poll.concurrency: must be at least 1 (got -100000000000000000000)',
      '8:9 http.port: must be at most 65535 (got 123456789012345680000)',
    ],
  },
  {
    name: 'a tab after spaces in the indentation, which an editor may show in line with the keys above: said to be a tab, at it',
    text: lines(...CLOUD, 'poll:', '  retries: 3', ' \tconcurrency: 4'),
    expected: ['6:2 (root): tabs are not allowed as indentation: indent with spaces'],
  },
  {
    name: 'a tab after spaces in the indentation of a list item\'s key: said to be a tab, not to be in line with the "-"',
    text: lines(...CLOUD, 'watches:', '  - requestId: r1', '  \t serverId: s1'),
    expected: ['6:3 (root): tabs are not allowed as indentation: indent with spaces'],
  },
  {
    name: 'a tab after a list item\'s "-": said once, not again at each key below it that is in line with the first',
    text: lines(...CLOUD, 'watches:', '  -\trequestId: r1', '    serverId: s1', '    name: web-01'),
    expected: ['5:4 watches: tabs are not allowed as indentation: indent with spaces'],
  },
  {
    name: 'a key indented a space further than the keys of its mapping: said at it, not at the value above it that YAML reads it as going on with',
    text: lines(...CLOUD, 'poll:', '  retries: 3', '   concurrency: 4', 'watches:', '  - requestId: r1', '     serverId: s1'),
    expected: [
      '6:4 poll.retries["3 concurrency"]: this line is indented further than the keys of its mapping, and YAML reads it as going on with the value above it: indent it as far as they are',
      '9:6 watches[0].requestId["r1 serverId"]: this line is indented further than the keys of its mapping, and YAML reads it as going on with the value above it: indent it as far as they are',
    ],
  },
  {
    name: 'a list item whose "-" is further left than the items above it',
    text: lines(...CLOUD, 'watches:', '  - requestId: r1', '    serverId: s1', '- requestId: r2', '  serverId: s2'),
    expected: [`7:1 ["[ { requestId: r2, serverId: s2 } ]"]: ${LIST_ITEM_OUT_OF_LINE}`],
  },
  {
    name: 'a list item whose "-" is a space left or right of the items above it: said at the "-", not as a value to quote',
    text: lines(...CLOUD, 'notifiers:', '  chat: { type: webhook, url: https://hooks.example.com/x }', 'watches:', '  - requestId: r1', '    serverId: s1', '    notify:', '      - chat', '     - chat', '   - requestId: r2', '     serverId: s2'),
    expected: [`11:6 watches[0]["[ chat ]"]: ${LIST_ITEM_OUT_OF_LINE}`, `12:4 watches[1]: ${LIST_ITEM_OUT_OF_LINE}`],
  },
  {
    name: 'a no-break space in the indentation (a file copied from a web page): shown escaped, not as the space it looks like',
    text: lines(...CLOUD, 'poll:', '\u00a0 retries: 3'),
    expected: ["5:1 [\"\\u00a0 retries\"]: unknown key '\\u00a0 retries' (allowed: cloud, poll, notifiers, delivery, state, shutdown, http, watches, track)"],
  },
  {
    name: 'tab indentation',
    text: lines('cloud:', '\tendpoint: https://ecs.example.com'),
    expected: ['2:1 (root): tabs are not allowed as indentation: indent with spaces'],
  },
  {
    name: 'a duplicate key',
    text: lines(...CLOUD, 'http:', '  port: 1', 'http:', '  port: 2'),
    expected: ['6:1 http: this key is already set at line 4 in the same mapping: merge the two, or remove one'],
  },
  {
    name: 'a second watches: appended at the end, and a key set twice in a flow mapping: each told with the line of the first',
    text: lines(...CLOUD, 'watches:', '  - { requestId: r1, serverId: s1, requestId: r2 }', 'poll:', '  retries: 3', 'watches:', '  - { requestId: r3, serverId: s3 }'),
    expected: [
      '5:36 watches[0].requestId: this key is already set at line 5 in the same mapping: merge the two, or remove one',
      '8:1 watches: this key is already set at line 4 in the same mapping: merge the two, or remove one',
    ],
  },
  {
    name: 'a job id written without kind: ecs-job, as check\'s hint once read',
    text: lines(...CLOUD, 'watches:', '  - jobId: 144b6c3763fd40e590d0b3c56f893865'),
    expected: [
      '5:5 watches[0].requestId: required (a string)',
      '5:5 watches[0].serverId: required (a string)',
      "5:5 watches[0].jobId: unknown key 'jobId' (allowed: kind, requestId, serverId, name, projectId, notify, deadline, warnAfter, batch, batchWindow); a job of the native ECS API is watched with kind: ecs-job beside its jobId (and no requestId or serverId)",
    ],
  },
  {
    name: 'a duplicate key and other problems, all listed in one run',
    text: lines(...CLOUD, 'poll:', '  concurrency: 0', 'watches:', '  - requestId: r1', '    serverID: s1', '    requestId: r2'),
    expected: [
      '5:16 poll.concurrency: must be at least 1 (got 0)',
      '7:5 watches[0].serverId: required (a string)',
      "8:5 watches[0].serverID: unknown key 'serverID' (allowed: kind, requestId, serverId, name, projectId, notify, deadline, warnAfter, batch, batchWindow); did you mean 'serverId'?",
      '9:5 watches[0].requestId: this key is already set at line 7 in the same mapping: merge the two, or remove one',
    ],
  },
  {
    name: "an endpoint that goes on into a request's path (copied from a request): refused at its line, with the endpoint to write",
    text: lines('cloud:', '  endpoint: https://ecs.eu-de.otc.t-systems.com/v2.1/0a1b2c3d4e5f60718293a4b5c6d7e8f9/servers/detail', 'watches: []'),
    expected: ["2:13 cloud.endpoint: goes on into a request's path, which every request would add its own to: write the endpoint up to the version and project, https://ecs.eu-de.otc.t-systems.com/v2.1/0a1b2c3d4e5f60718293a4b5c6d7e8f9"],
  },
  {
    name: "an endpoint that goes on into a request's path without a project",
    text: lines('cloud:', '  endpoint: https://ecs.eu-de.otc.t-systems.com/v2.1/servers', '  projectId: p1', 'watches: []'),
    expected: ["2:13 cloud.endpoint: goes on into a request's path, which every request would add its own to: write the endpoint up to the version and project, https://ecs.eu-de.otc.t-systems.com/v2.1"],
  },
  {
    // YAML keeps the last value of a key set twice: what is wrong with it is there, not at the first.
    name: 'a key set twice whose later value is wrong: that value, at its line',
    text: lines(...CLOUD, 'http:', '  port: 1', 'http:', '  port: x', 'cloud:', '  endpoint: ecs.example.com', '  projectId: p1'),
    expected: [
      '6:1 http: this key is already set at line 4 in the same mapping: merge the two, or remove one',
      '7:9 http.port: expected a whole number from 0 to 65535, got a string',
      '8:1 cloud: this key is already set at line 1 in the same mapping: merge the two, or remove one',
      '9:13 cloud.endpoint: expected an http:// or https:// URL, e.g. https://ecs.eu-de.otc.t-systems.com: it has no scheme (write https:// or http:// before the host)',
    ],
  },
  {
    name: 'an unquoted value containing ": "',
    text: lines(...CLOUD, '  region: eu: de'),
    expected: [
      '4:11 cloud.region.eu: nested mappings are not allowed in compact mappings: quote a value that contains ": ", or check the indentation',
    ],
  },
  {
    name: 'an unquoted ${VAR} inside a flow mapping',
    text: lines(...CLOUD, '  auth: { type: token, token: ${ECS_AUTH_TOKEN} }'),
    env: { ECS_AUTH_TOKEN: 't' },
    expected: ['4:31 cloud.auth.token: inside { } a ${VAR} value must be quoted: write "${VAR}"'],
  },
  {
    name: 'an unquoted ${VAR} after other text inside a flow mapping: the whole value is to be quoted, not the reference alone',
    text: lines(...CLOUD, 'notifiers:', '  chat: { type: webhook, url: https://hooks.example.com/x, headers: { Authorization: Bearer ${CHAT_TOKEN} } }'),
    env: { CHAT_TOKEN: 't' },
    expected: ['5:86 notifiers.chat.headers.Authorization: inside { } a ${VAR} value must be quoted, the whole value and not the ${VAR} alone: write "...${VAR}"'],
  },
  {
    name: 'an unquoted ${VAR} as an item of a flow list, alone or after others, also inside a flow mapping',
    text: lines(
      ...CLOUD, 'notifiers:',
      '  mail:', '    type: email', '    smtp: { host: smtp.example.com }', '    from: a@example.com', '    to: [a@example.com, ${TO}]',
      '  page: { type: email, smtp: { host: smtp.example.com }, from: a@example.com, to: [${TO}] }',
    ),
    env: { TO: 'b@example.com' },
    expected: [
      '9:25 notifiers.mail.to[1]: inside [ ] a ${VAR} value must be quoted: write "${VAR}"',
      '10:84 notifiers.page.to[0]: inside [ ] a ${VAR} value must be quoted: write "${VAR}"',
    ],
  },
  {
    name: 'two documents',
    text: lines(...CLOUD, '---', 'watches: []'),
    expected: ['4:1 (root): the watch file must be one YAML document: remove the extra ---'],
  },
  {
    name: 'settings after the document\'s end marker, and no ---',
    text: lines(...CLOUD, '...', 'watches: []'),
    expected: ['5:1 (root): the watch file must be one YAML document: remove the ... line above, which ends it before this'],
  },
  {
    name: 'list items after the document\'s end marker: the ... is named, not a --- the file does not have',
    text: lines(...CLOUD, 'watches:', '...', '- { requestId: r1, serverId: s1 }'),
    expected: ['6:1 (root): the watch file must be one YAML document: remove the ... line above, which ends it before this'],
  },
  {
    name: 'an empty file',
    text: '# nothing yet\n',
    expected: ['1:1 (root): the watch file is empty: it needs at least a cloud section with an endpoint'],
  },
  {
    name: 'a file with nothing after the --- that starts its document: empty too, not a single value',
    text: lines('# ecs-action-watch', '---'),
    expected: ['1:1 (root): the watch file is empty: it needs at least a cloud section with an endpoint'],
  },
  {
    name: 'a list at the top',
    text: lines('- cloud: {}'),
    expected: ['1:1 (root): the watch file must be a mapping of sections (cloud, poll, notifiers, ...), not a list'],
  },
  {
    name: 'no cloud section',
    text: lines('watches: []'),
    expected: ['1:1 cloud: required (a mapping)'],
  },
  {
    name: 'wrong types, a whole number\'s with its range',
    text: lines(...CLOUD, 'poll:', '  retries: many', 'http:', '  port: 8.5', 'state:', '  path: 42', 'watches: {}'),
    expected: [
      '5:12 poll.retries: expected a whole number from 0 to 20, got a string',
      '7:9 http.port: 8.5 is not a whole number',
      '9:9 state.path: expected a string, got a number (put it in quotes)',
      '10:10 watches: expected a list, got a mapping (an empty list is [])',
    ],
  },
  {
    name: 'a watch whose "- " was left out: a mapping where the list of watches goes, and how to write an item',
    text: lines(...CLOUD, 'watches:', '  requestId: req-1', '  serverId: 9a3b3c1e-5d2f-4e7a-8b6c-1d2e3f405162'),
    expected: ['5:3 watches: expected a list, got a mapping (each item starts with "- ", its first key on the same line)'],
  },
  {
    name: 'numbers out of range',
    text: lines(...CLOUD, 'poll:', '  retries: 21', '  concurrency: 0', 'http:', '  port: 65536'),
    expected: [
      '5:12 poll.retries: must be at most 20 (got 21)',
      '6:16 poll.concurrency: must be at least 1 (got 0)',
      '8:9 http.port: must be at most 65535 (got 65536)',
    ],
  },
  {
    name: 'a value left empty where a string or a number is expected: said to be empty, not a mapping',
    text: lines(...CLOUD, 'http:', '  port: ~', 'watches:', '  - requestId:', '    serverId: s1'),
    expected: ['5:9 http.port: is empty: expected a whole number from 0 to 65535', '7:5 watches[0].requestId: is empty: expected a string'],
  },
  {
    name: 'a listen address that is a host name',
    text: lines(...CLOUD, 'http:', '  host: localhost'),
    expected: ['5:9 http.host: expected an IP address of this machine to listen on: :: (every interface, IPv6 and IPv4), 0.0.0.0 (every IPv4 interface), 127.0.0.1 or ::1 (this machine only)'],
  },
  {
    // As a URL writes one, where the brackets keep its colons from the port's.
    name: 'an IPv6 listen address in brackets',
    text: lines(...CLOUD, 'http:', '  host: "[::1]"'),
    expected: ['5:9 http.host: expected an IP address of this machine to listen on: :: (every interface, IPv6 and IPv4), 0.0.0.0 (every IPv4 interface), 127.0.0.1 or ::1 (this machine only); write it without the brackets a URL puts around it: ::1'],
  },
  {
    name: 'bad durations',
    text: lines(...CLOUD, '  timeout: 10', 'poll:', '  deadline: 6 hours', 'delivery:', '  minDelay: 0s', '  maxDelay: 30d'),
    expected: [
      `4:12 cloud.timeout: 10 has no unit: write a duration as ${FORMS}`,
      `6:13 poll.deadline: '6 hours' is not a duration: write ${FORMS}`,
      "8:13 delivery.minDelay: '0s' is too short: at least 1ms",
      "9:13 delivery.maxDelay: '30d' is too long: at most 24d",
    ],
  },
  {
    name: 'compound durations that are not durations',
    text: lines(...CLOUD, '  timeout: 1h-30m', 'poll:', '  deadline: "30"', 'delivery:', '  minDelay: 1.5.h', '  maxDelay: 30m1h', '  maxAge: 1m1m'),
    expected: [
      `4:12 cloud.timeout: '1h-30m' is not a duration ('-30m' after 1h is not a number and a unit): write ${FORMS}`,
      `6:13 poll.deadline: '30' has no unit: write a duration as ${FORMS}`,
      `8:13 delivery.minDelay: '1.5.h' is not a duration: write ${FORMS}`,
      "9:13 delivery.maxDelay: '30m1h' is not a duration: write its units from the largest down, each once (h comes after m), e.g. 1h30m",
      "10:11 delivery.maxAge: '1m1m' is not a duration: write its units from the largest down, each once (m comes after m), e.g. 1h30m",
    ],
  },
  {
    name: 'a duration a millisecond past 24 days, which a timer cannot hold, and ones under a millisecond, the shortest',
    text: lines(...CLOUD, 'poll:', '  deadline: 24d1ms', 'delivery:', '  minDelay: 0.4ms', 'watches:', '  - { requestId: r1, serverId: s1, deadline: 0.1ms }'),
    expected: [
      "5:13 poll.deadline: '24d1ms' is too long: at most 24d",
      "7:13 delivery.minDelay: '0.4ms' is too short: at least 1ms",
      "9:46 watches[0].deadline: '0.1ms' is too short: at least 1ms",
    ],
  },
  {
    name: 'maxDelay shorter than minDelay',
    text: lines(...CLOUD, 'delivery:', '  minDelay: 10m', '  maxDelay: 1m'),
    expected: ['6:13 delivery.maxDelay: must not be shorter than minDelay (1 min against 10 min; maxDelay is 5m unless set): raise maxDelay, or lower minDelay'],
  },
  {
    name: 'minDelay longer than the maxDelay left out: said at minDelay, with the default',
    text: lines(...CLOUD, 'delivery:', '  minDelay: 10m'),
    expected: ['5:3 delivery.maxDelay: must not be shorter than minDelay (5 min against 10 min; maxDelay is 5m unless set): raise maxDelay, or lower minDelay'],
  },
  {
    name: 'a maxDelay or minDelay refused is not compared too, as what it is not (1 ms; Infinity h)',
    text: lines(...CLOUD, 'delivery:', '  minDelay: 1e400', '  maxDelay: 1'),
    expected: [
      `5:13 delivery.minDelay: expected a duration, got .inf (infinity, or a number too large to hold, such as 1e309): write ${FORMS}`,
      `6:13 delivery.maxDelay: 1 has no unit: write a duration as ${FORMS}`,
    ],
  },
  {
    name: 'a maxDelay refused, with minDelay left out: one problem',
    text: lines(...CLOUD, 'delivery:', '  maxDelay: 1'),
    expected: [`5:13 delivery.maxDelay: 1 has no unit: write a duration as ${FORMS}`],
  },
  {
    name: 'a minDelay refused, with maxDelay left out: no problem at a key the file does not have',
    text: lines(...CLOUD, 'delivery:', '  minDelay: 1e400'),
    expected: [`5:13 delivery.minDelay: expected a duration, got .inf (infinity, or a number too large to hold, such as 1e309): write ${FORMS}`],
  },
  {
    name: 'a bad cron expression',
    text: lines(...CLOUD, 'poll:', '  schedule: "*/15 61 * * *"'),
    expected: [
      `5:13 poll.schedule: '*/15 61 * * *' is not a cron expression (hour '61' is not valid): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *"`,
    ],
  },
  {
    // node-cron names the field dayOfWeek, a word the message's own list of fields does not have.
    name: 'a bad day of the week and day of the month, named as the fields are listed',
    text: lines(...CLOUD, 'poll:', '  schedule: "0 0 32 * 8"'),
    expected: [
      `5:13 poll.schedule: '0 0 32 * 8' is not a cron expression (day-of-month '32' is not valid, day-of-week '8' is not valid): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *"`,
    ],
  },
  {
    name: 'a cron expression whose day of the month never comes',
    text: lines(...CLOUD, 'poll:', '  schedule: "0 0 9 31 2,4 *"'),
    expected: [
      `5:13 poll.schedule: '0 0 9 31 2,4 *' is not a cron expression (day-of-month '31' never comes in the months given): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *"`,
    ],
  },
  // Valid to node-cron's own check, yet no time matches it: the daemon stopped at its start, or at a reload
  // stopped polling while it said it kept the running configuration.
  {
    name: 'a cron expression that no time matches',
    text: lines(...CLOUD, 'poll:', '  schedule: "0 0 1 * 1#5"'),
    expected: [
      `5:13 poll.schedule: '0 0 1 * 1#5' never fires: no time in the next 100 years matches every field (node-cron takes a day only when both day-of-month and day-of-week match it, where other crons take either); write one that does, e.g. "*/15 * * * * *"`,
    ],
  },
  {
    name: 'a cron expression with too many fields',
    text: lines(...CLOUD, 'poll:', '  schedule: "* * * * * * *"'),
    expected: [
      `5:13 poll.schedule: '* * * * * * *' is not a cron expression (expected 5 or 6 fields but got 7): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *"`,
    ],
  },
  {
    name: 'a bad rate limit',
    text: lines(...CLOUD, 'poll:', '  rateLimit: 50'),
    expected: ['5:14 poll.rateLimit: expected a rate: a count per unit, e.g. 50/s, 600/m or 1000/h'],
  },
  {
    name: 'a rate of no requests, which would hold every poll back',
    text: lines(...CLOUD, 'poll:', '  rateLimit: 0/s'),
    expected: ["5:14 poll.rateLimit: '0/s' is not a rate: write a count per unit, e.g. 50/s, 600/m or 1000/h"],
  },
  {
    name: 'a poll.warnAfter of a number without a unit: said as a duration\'s problem',
    text: lines(...CLOUD, 'poll:', '  warnAfter: 5'),
    expected: [`5:14 poll.warnAfter: 5 has no unit: write a duration as ${FORMS}; or off for none`],
  },
  {
    name: 'a batch name of spaces alone, which names no batch',
    text: lines(...CLOUD, 'watches:', '  - { requestId: r1, serverId: s1, batch: "  " }'),
    expected: ['5:43 watches[0].batch: must not be empty'],
  },
  {
    name: 'a value that starts with &, read as an anchor with no value after it: told to quote it, not that the value is missing',
    text: lines(...CLOUD, 'watches:', '  - serverId: s1', '    requestId: r1', '    name: &web-01', '  - { serverId: s2, requestId: r2, name: &web-02 }'),
    expected: [
      `7:11 watches[0].name: &web-01 is read as an anchor (a name for the value after it), and no value comes after it: put a value that starts with & in quotes ("..." or '...')`,
      `8:42 watches[1].name: &web-02 is read as an anchor (a name for the value after it), and no value comes after it: put a value that starts with & in quotes ("..." or '...')`,
    ],
  },
  {
    name: 'an alias that names no anchor before it (a typo, or the watch holding the anchor removed)',
    text: lines(...CLOUD, 'watches:', '  - serverId: s1', '    requestId: r1', '    deadline: &long 12h', '  - serverId: s2', '    requestId: r2', '    deadline: *lnog'),
    expected: ['10:15 watches[1].deadline: *lnog names no anchor set before it: set &lnog on a value above, or correct the name'],
  },
  {
    name: 'a YAML 1.1 merge key, which YAML 1.2 reads as a key like any other',
    text: lines(...CLOUD, 'watches:', '  - &first', '    serverId: s1', '    requestId: r1', '  - <<: *first', '    serverId: s1', '    requestId: r2'),
    expected: [
      "8:5 watches[1][\"<<\"]: unknown key '<<' (allowed: kind, requestId, serverId, name, projectId, notify, deadline, warnAfter, batch, batchWindow); '<<' merges a mapping in YAML 1.1, which this file is not read as: write the keys out (an alias still repeats a whole value, as in notify: *team)",
    ],
  },
  {
    name: 'a merge key among the notifiers, where it would read as a notifier named <<',
    text: lines(...CLOUD, 'notifiers:', '  chat: &shared { type: webhook, url: https://hooks.example.com/x }', '  <<: { pager: *shared }'),
    expected: [
      "6:3 notifiers[\"<<\"]: '<<' merges a mapping in YAML 1.1, which this file is not read as: write the keys out (an alias still repeats a whole value, as in notify: *team)",
    ],
  },
  {
    name: 'an unknown key, at the key',
    text: lines(...CLOUD, '  regoin: eu-de'),
    expected: ["4:3 cloud.regoin: unknown key 'regoin' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout); did you mean 'region'?"],
  },
  {
    name: 'an unknown top-level section',
    text: lines(...CLOUD, 'notifier: {}'),
    expected: ["4:1 notifier: unknown key 'notifier' (allowed: cloud, poll, notifiers, delivery, state, shutdown, http, watches, track); did you mean 'notifiers'?"],
  },
  {
    name: 'keys written as the command line names them, or one letter off: each at its own line, with the key it likely means',
    text: lines(...CLOUD, 'poll:', '  shedule: "*/30 * * * * *"', 'watches:', '  - server: s1', '    request: r1', '    dedline: 1h', '    color: red'),
    expected: [
      "5:3 poll.shedule: unknown key 'shedule' (allowed: schedule, retries, concurrency, rateLimit, deadline, warnAfter, batchWindow); did you mean 'schedule'?",
      '7:5 watches[0].requestId: required (a string)',
      '7:5 watches[0].serverId: required (a string)',
      `7:5 watches[0].server: unknown key 'server' (allowed: ${WATCH_KEYS}); did you mean 'serverId'?`,
      `8:5 watches[0].request: unknown key 'request' (allowed: ${WATCH_KEYS}); did you mean 'requestId'?`,
      `9:5 watches[0].dedline: unknown key 'dedline' (allowed: ${WATCH_KEYS}); did you mean 'deadline'?`,
      `10:5 watches[0].color: unknown key 'color' (allowed: ${WATCH_KEYS})`,
    ],
  },
  {
    name: 'a value one letter off an allowed one',
    text: lines(...CLOUD, '  auth:', '    type: pasword', 'notifiers:', '  chat: { type: webhok, url: "https://hooks.example.com/x" }'),
    expected: [
      `5:11 cloud.auth.type: unknown auth type 'pasword' (allowed: ${AUTH_TYPE_NAMES.join(', ')}); did you mean 'password'?`,
      `7:17 notifiers.chat.type: unknown notifier type 'webhok' (allowed: ${NOTIFIER_TYPE_NAMES.join(', ')}); did you mean 'webhook'?`,
    ],
  },
  {
    name: 'a line break in a value, and in a variable\'s value: escaped, one problem on one line',
    text: lines(...CLOUD, '  interface: "pub\\nlic"', '  timeout: ${T}'),
    env: { T: '5m\nx' },
    expected: [
      "4:14 cloud.interface: unknown value 'pub\\nlic' (allowed: public, internal, admin); did you mean 'public'?",
      `5:12 cloud.timeout: '5m\\nx' is not a duration ('\\nx' after 5m is not a number and a unit): write ${FORMS}`,
    ],
  },
  {
    name: 'a carriage return alone in a value sent in a header (an escape, or a variable\'s value), which would end the header too',
    text: lines(...CLOUD, 'watches:', '  - { requestId: r1, serverId: s1, batch: "fleet\\r1" }', '  - { requestId: r2, serverId: s2, batch: "${BATCH}" }'),
    env: { BATCH: 'fleet\r2' },
    expected: [
      '5:43 watches[0].batch: must be one line: it contains a line break (CR or LF), which would end the header it is sent in',
      '6:43 watches[1].batch: must be one line: it contains a line break (CR or LF), which would end the header it is sent in',
    ],
  },
  {
    name: 'a terminal escape and a NUL in a key: escaped, as in its path',
    text: lines(...CLOUD, '  "\\e[2J\\0oops": 1'),
    expected: [
      "4:3 cloud[\"\\u001b[2J\\u0000oops\"]: unknown key '\\u001b[2J\\u0000oops' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout)",
    ],
  },
  {
    name: 'a key that is a valid one and an invisible character (a BOM pasted mid-file): made visible, and said',
    text: lines(...CLOUD, '  timeout\uFEFF: 10s'),
    expected: [
      "4:3 cloud[\"timeout\\ufeff\"]: unknown key 'timeout\\ufeff' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout); it is 'timeout' with an invisible character in it: type it again",
    ],
  },
  {
    name: 'a screenful pasted as a key and as a value: quoted in part, with its length',
    text: lines(...CLOUD, `  ${'MIIDdzCCAl'.repeat(90)}: 1`, '  auth:', `    type: ${'x'.repeat(500)}`),
    expected: [
      `4:3 cloud["${'MIIDdzCCAl'.repeat(6)}…"]: unknown key '${'MIIDdzCCAl'.repeat(8)}… (900 characters)' (allowed: endpoint, projectId, cloudsYaml, cloud, auth, region, interface, tls, microversion, timeout)`,
      `6:11 cloud.auth.type: unknown auth type '${'x'.repeat(80)}… (500 characters)' (allowed: ${AUTH_TYPE_NAMES.join(', ')})`,
    ],
  },
  {
    name: 'a screenful YAML stumbles on after its first problem: the first alone is told, not the text',
    text: lines('    type: webhook', '>-', `cloud: ${'x'.repeat(300)}`),
    expected: ['2:1 (root): more text after a value that has ended: quote the whole value if this is part of it (e.g. region: "eu-de x"), or remove it'],
  },
  {
    name: 'a screenful as a duration: quoted in part',
    text: lines(...CLOUD, `  timeout: ${'1'.repeat(3)}${'x'.repeat(300)}`),
    expected: [`4:12 cloud.timeout: '111${'x'.repeat(77)}… (303 characters)' is not a duration: write ${FORMS}`],
  },
  {
    name: 'a variable with a name a screenful long: named in part, with its length where it is not inside ${...}',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', `  projectId: \${${'X'.repeat(100)}}`, `  region: \${${'X'.repeat(100)}:-{a}}`, `  tls: \${${'X'.repeat(100)}`),
    expected: [
      `3:14 cloud.projectId: environment variable ${'X'.repeat(80)}… (100 characters) is not set (use \${${'X'.repeat(80)}…:-default} for a default)`,
      `4:11 cloud.region: the default of \${${'X'.repeat(80)}…:-...} holds a { (another \${...}, or a brace), which would end it early: give the default as plain text without braces`,
      '5:8 cloud.tls: the ${ at character 1 of the value is not closed by a }: write ${NAME} or ${NAME:-default} ($${ for a literal ${)',
    ],
  },
  {
    name: 'an unknown auth type',
    text: lines(...CLOUD, '  auth:', '    type: oauth'),
    expected: [`5:11 cloud.auth.type: unknown auth type 'oauth' (allowed: ${AUTH_TYPE_NAMES.join(', ')})`],
  },
  {
    name: 'an auth type left empty: required, with the types there are',
    text: lines(...CLOUD, '  auth:', '    type:'),
    expected: [`5:5 cloud.auth.type: required: the auth type, one of ${AUTH_TYPE_NAMES.join(', ')}`],
  },
  {
    name: 'a type written under another key (method:, kind:): the key to write it under',
    text: lines(...CLOUD, '  auth:', '    method: token', '    token: t', 'notifiers:', '  chat:', '    kind: webhook', '    url: https://hooks.example.com/x'),
    expected: [
      `5:5 cloud.auth.type: required: the auth type, one of ${AUTH_TYPE_NAMES.join(', ')}; write type: token rather than method: token`,
      `9:5 notifiers.chat.type: required: the notifier type, one of ${NOTIFIER_TYPE_NAMES.join(', ')}; write type: webhook rather than kind: webhook`,
    ],
  },
  {
    name: 'a type, or a value of a fixed list, that is a mapping or a list: said as such, not printed as [object Object]',
    text: lines(...CLOUD, '  auth:', '    type: {}', 'notifiers:', '  chat:', '    type: [webhook]', '  hook:', '    type: webhook', '    url: https://hooks.example.com/x', '    on: [{ failure: 1 }]'),
    expected: [
      `5:11 cloud.auth.type: expected the auth type, one of ${AUTH_TYPE_NAMES.join(', ')}; got a mapping`,
      `8:11 notifiers.chat.type: expected the notifier type, one of ${NOTIFIER_TYPE_NAMES.join(', ')}; got a list`,
      '12:10 notifiers.hook.on[0]: expected the value, one of success, failure, timeout, not_found, slow; got a mapping',
    ],
  },
  {
    name: 'a project to track given as a list or a mapping: said as such, not as the item it holds',
    text: lines(...CLOUD, 'track:', '  - project: [all]', '  - project: { all: true }'),
    expected: [
      '5:14 track[0].project: a list is not a project to track: write project: all for every server of the project (projectId names which), or list servers:',
      '6:14 track[1].project: a mapping is not a project to track: write project: all for every server of the project (projectId names which), or list servers:',
    ],
  },
  {
    name: 'token auth without a token',
    text: lines(...CLOUD, '  auth:', '    type: token'),
    expected: ['5:5 cloud.auth.token: required: token (or tokenFile)'],
  },
  {
    name: 'token auth with a key of another auth type',
    text: lines(...CLOUD, '  auth:', '    type: token', '    token: t', '    password: p'),
    expected: ["7:5 cloud.auth.password: unknown key 'password' (allowed: type, token, tokenFile)"],
  },
  {
    name: 'an unquoted microversion',
    text: lines(...CLOUD, '  microversion: 2.60'),
    expected: ['4:17 cloud.microversion: write the microversion quoted, e.g. "2.60" (unquoted it is the number 2.6)'],
  },
  {
    // Nova reads a version only as X.Y with no leading zero (api_version_request.py): it answers every
    // request at "2.051" with 400 Invalid API version, which validate accepted.
    name: 'a microversion with a leading zero, which Nova refuses',
    text: lines(...CLOUD, '  microversion: "2.051"'),
    expected: ['4:17 cloud.microversion: \'2.051\' is not a microversion: write auto or "2.N", e.g. "2.60", its N without a leading zero (Nova refuses every request at "2.051")'],
  },
  {
    name: 'a missing environment variable',
    text: lines(...CLOUD, '  auth:', '    type: token', '    token: ${ECS_AUTH_TOKEN}'),
    expected: ['6:12 cloud.auth.token: environment variable ECS_AUTH_TOKEN is not set (use ${ECS_AUTH_TOKEN:-default} for a default)'],
  },
  {
    name: 'a missing variable in a value the schema would reject too is reported once',
    text: lines(...CLOUD, 'notifiers:', '  chat:', '    type: webhook', '    url: ${HOOK_URL}', '    secret: "${HOOK_SECRET}"'),
    expected: [
      '7:10 notifiers.chat.url: environment variable HOOK_URL is not set (use ${HOOK_URL:-default} for a default)',
      '8:13 notifiers.chat.secret: environment variable HOOK_SECRET is not set (use ${HOOK_SECRET:-default} for a default)',
    ],
  },
  {
    name: 'an unclosed ${',
    text: lines(...CLOUD, '  region: ${REGION'),
    env: { REGION: 'eu-de' },
    expected: ['4:11 cloud.region: the ${ at character 1 of the value is not closed by a }: write ${NAME} or ${NAME:-default} ($${ for a literal ${)'],
  },
  {
    name: 'a password with a literal ${ in it: where the ${ is, none of the password',
    text: lines(...CLOUD, '  auth:', '    type: password', '    identityEndpoint: https://iam.example.com/v3', '    user: u', '    domain: d', '    projectId: p1', '    password: "Xk9${q7TopSecretPart"'),
    expected: ['10:15 cloud.auth.password: the ${ at character 4 of the value is not closed by a }: write ${NAME} or ${NAME:-default} ($${ for a literal ${)'],
  },
  {
    name: 'an !env tag, which yaml would drop, sending the variable\'s name as the token: refused at the tag, saying how to write it',
    text: lines(...CLOUD, '  auth:', '    type: token', '    token: !env ECS_AUTH_TOKEN'),
    env: { ECS_AUTH_TOKEN: 'real' },
    expected: [
      `6:12 cloud.auth.token: !env is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: write \${ECS_AUTH_TOKEN} for the environment variable`,
    ],
  },
  {
    name: 'a tag of another tool\'s spelling for a variable (!ENV, !env_var): refused the same way, saying how to write it',
    text: lines(...CLOUD, '  auth:', '    type: token', '    token: !ENV ECS_AUTH_TOKEN', '  region: !env_var REGION'),
    expected: [
      `6:12 cloud.auth.token: !ENV is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: write \${ECS_AUTH_TOKEN} for the environment variable`,
      `7:11 cloud.region: !env_var is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: write \${REGION} for the environment variable`,
    ],
  },
  {
    name: 'a tag of another tool, or of YAML 1.1\'s types, which no key takes: refused at the tag, not read as its text or said to be a mapping',
    text: lines('cloud:', '  endpoint: !Ref Endpoint', '  projectId: !!binary aGVsbG8=', '  region: !!timestamp 2001-12-14', 'watches: !!set', '  ? a'),
    expected: [
      `2:13 cloud.endpoint: !Ref is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: ${REMOVE_TAG}`,
      `3:14 cloud.projectId: !!binary is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: ${REMOVE_TAG}`,
      `4:11 cloud.region: !!timestamp is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: ${REMOVE_TAG}`,
      `5:10 watches: !!set is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: ${REMOVE_TAG}`,
    ],
  },
  {
    name: 'a core tag on a value it does not fit, which yaml would drop',
    text: lines(...CLOUD, 'poll:', '  retries: !!int four', '  concurrency: !!int "8"'),
    expected: ['5:12 poll.retries: the value is not what the tag !!int says it is, and would be read without it: remove the tag, or write a value of that type'],
  },
  {
    name: 'a file that starts with %YAML 1.1: an unquoted date is text, an ordered map of notifiers refused rather than read as none',
    text: lines('%YAML 1.1', '---', ...CLOUD, '  region: 2001-12-14', 'notifiers: !!omap', '  - chat: { type: webhook }'),
    expected: [`7:12 notifiers: !!omap is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: ${REMOVE_TAG}`],
  },
  {
    name: 'a file that starts with %YAML 1.1: read as YAML 1.2 all the same, its merge key a key like any other and 1:30 text, not the number 90',
    text: lines('%YAML 1.1', '---', ...CLOUD, 'http:', '  port: 1:30', 'watches:', '  - &first', '    serverId: s1', '    requestId: r1', '  - <<: *first', '    serverId: s1', '    requestId: r2'),
    expected: [
      '7:9 http.port: expected a whole number from 0 to 65535, got a string',
      `12:5 watches[1]["<<"]: unknown key '<<' (allowed: ${WATCH_KEYS}); '<<' merges a mapping in YAML 1.1, which this file is not read as: write the keys out (an alias still repeats a whole value, as in notify: *team)`,
    ],
  },
  {
    name: 'a misspelt key whose value names a variable that is not set: both said, the key too',
    text: lines(...CLOUD, 'poll:', '  retires: ${RETRIES}'),
    expected: [
      "5:3 poll.retires: unknown key 'retires' (allowed: schedule, retries, concurrency, rateLimit, deadline, warnAfter, batchWindow); did you mean 'retries'?",
      '5:12 poll.retires: environment variable RETRIES is not set (use ${RETRIES:-default} for a default)',
    ],
  },
  {
    name: 'an alias of a value whose variable is not set: said once, at the value, not again as what its text is not',
    text: lines(...CLOUD, 'poll:', '  deadline: &long ${DEADLINE}', 'watches:', '  - requestId: r1', '    serverId: s1', '    deadline: *long'),
    expected: ['5:19 poll.deadline: environment variable DEADLINE is not set (use ${DEADLINE:-default} for a default)'],
  },
  {
    name: 'a key without the space after its colon, where a mapping goes: YAML reads key and value as one string',
    text: lines(...CLOUD, 'poll:', '  retries:3', 'notifiers:', '  ops-mail:', '    type: email', '    from: ops@example.com', '    to: [ops@example.com]', '    smtp:', '      password:Xk9-secret'),
    expected: [
      '5:3 poll: expected a mapping, got a string: the space after the colon of retries is missing (write retries: value)',
      '12:7 notifiers.ops-mail.smtp: expected a mapping, got a string: the space after the colon of password is missing (write password: value)',
    ],
  },
  {
    name: 'a file of one key without the space after its colon',
    text: lines('cloud:endpoint'),
    expected: ['1:1 (root): the watch file must be a mapping of sections (cloud, poll, notifiers, ...), not a single value: the space after the colon of cloud is missing (write cloud: value)'],
  },
  {
    name: 'early warnings turned off with false, where off is meant: said to take off too, as for a text',
    text: lines(...CLOUD, 'poll:', '  warnAfter: { resize: false }', 'watches:', '  - requestId: r1', '    serverId: s1', '    warnAfter: false'),
    expected: [
      `5:24 poll.warnAfter.resize: expected a duration, got false: write ${FORMS}; or off for none`,
      `9:16 watches[0].warnAfter: expected a duration, got false: write ${FORMS}; or off for none`,
    ],
  },
  {
    name: 'YAML 1.1\'s yes and off where true or false goes: said to be text here, with the word to write',
    text: lines(...OPS_MAIL.slice(0, -1), '    smtp: { host: smtp.example.com, secure: yes }', '    from: ops@example.com', '    to: [ops@example.com]', '  other-mail:', '    type: email', '    smtp: { host: smtp.example.com, secure: Off }', '    from: ops@example.com', '    to: [ops@example.com]'),
    expected: [
      "7:45 notifiers.ops-mail.smtp.secure: expected true or false, got a string: 'yes' is text in YAML 1.2, which this file is read as: write true",
      "12:45 notifiers.other-mail.smtp.secure: expected true or false, got a string: 'Off' is text in YAML 1.2, which this file is read as: write false",
    ],
  },
  {
    name: 'a key set twice, once as a number and once as text: the same key to the data, where the last would win',
    text: lines(...CLOUD, 'notifiers:', '  1: { type: webhook, url: https://hooks.example.com/a }', "  '1': { type: webhook, url: https://hooks.example.com/b }"),
    expected: ['6:3 notifiers["1"]: this key is already set at line 5 in the same mapping: merge the two, or remove one'],
  },
  {
    name: 'notify naming an unknown notifier',
    text: lines(...CLOUD, 'notifiers:', '  chat: { type: webhook, url: "https://hooks.example.com" }', 'watches:', '  - requestId: req-1', '    serverId: s1', '    notify: [chat, ops-mail]'),
    expected: ["9:20 watches[0].notify[1]: unknown notifier 'ops-mail' (configured: chat)"],
  },
  {
    name: 'notify naming a notifier one letter off a configured one',
    text: lines(...CLOUD, 'notifiers:', '  ops-mail: { type: webhook, url: "https://hooks.example.com" }', 'watches:', '  - requestId: req-1', '    serverId: s1', '    notify: [ops-mial]'),
    expected: ["9:14 watches[0].notify[0]: unknown notifier 'ops-mial' (configured: ops-mail); did you mean 'ops-mail'?"],
  },
  {
    name: 'notify when there are no notifiers',
    text: lines(...CLOUD, 'watches:', '  - { requestId: req-1, serverId: s1, notify: [ops] }'),
    expected: ["5:48 watches[0].notify[0]: unknown notifier 'ops' (no notifiers are configured)"],
  },
  {
    name: 'a duplicate requestId for the same server',
    text: lines(
      ...CLOUD,
      'watches:',
      '  - { requestId: req-1, serverId: s1 }',
      '  - { requestId: req-1, serverId: s2 }',
      '  - { requestId: req-1, serverId: s1 }',
    ),
    expected: ['7:18 watches[2].requestId: duplicate of watches[0]: same serverId and requestId'],
  },
  {
    name: 'a watch without a projectId anywhere',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', 'watches:', '  - requestId: req-1', '    serverId: s1', '  - requestId: req-2', '    serverId: s2', '    projectId: p2'),
    expected: ['4:5 watches[0].projectId: no projectId: set watches[0].projectId or cloud.projectId (or an endpoint ending in /v2.1/{projectId}, or cloud.auth.projectId)'],
  },
  {
    // As `openstack endpoint list` shows Nova's entry, or a guide writes it: the watches have no project.
    name: 'a watch without a projectId, the endpoint ending in a placeholder for it',
    text: lines('cloud:', '  endpoint: "https://ecs.example.com/v2.1/%(tenant_id)s"', 'watches:', '  - requestId: req-1', '    serverId: s1', '  - { requestId: req-2, serverId: s2, projectId: p2 }'),
    expected: [
      "4:5 watches[0].projectId: no projectId: set watches[0].projectId or cloud.projectId (or an endpoint ending in /v2.1/{projectId}, or cloud.auth.projectId); cloud.endpoint ends in '%(tenant_id)s', a catalog's placeholder and no project id: write the project's id in its place",
    ],
  },
  {
    name: 'watch fields',
    text: lines(...CLOUD, 'watches:', '  - requestId: req 1/2', '    name: ""', '  - serverId: s2', '  - just-an-id'),
    expected: [
      '5:5 watches[0].serverId: required (a string)',
      "5:16 watches[0].requestId: expected a request id: letters, digits and -, e.g. req-5a429946-c9cc-45cc-b5bd-68864209e5cc; 'req 1/2' has a space at character 4",
      '6:11 watches[0].name: must not be empty',
      '7:5 watches[1].requestId: required (a string)',
      '8:5 watches[2]: expected a mapping, got a string',
    ],
  },
  {
    name: 'server ids a URL would escape: a space copied along, a path, a query',
    text: lines(...CLOUD, 'watches:', '  - { requestId: req-1, serverId: "s1 " }', '  - { requestId: req-2, serverId: "a/b?c" }', '  - { requestId: req-3, serverId: .. }', 'track:', '  - servers: [ok-1, "s#2", v1.2]'),
    expected: [
      "5:35 watches[0].serverId: expected a server id: letters, digits, -, ., _ and ~, e.g. 2b2e4c5a-4a6d-4b9c-9d2f-3f1e5c7a9b10; 's1 ' has a space at character 3",
      "6:35 watches[1].serverId: expected a server id: letters, digits, -, ., _ and ~, e.g. 2b2e4c5a-4a6d-4b9c-9d2f-3f1e5c7a9b10; 'a/b?c' has '/' at character 2",
      '7:35 watches[2].serverId: expected a server id: letters, digits, -, ., _ and ~, e.g. 2b2e4c5a-4a6d-4b9c-9d2f-3f1e5c7a9b10',
      "9:21 track[0].servers[1]: expected a server id: letters, digits, -, ., _ and ~, e.g. 2b2e4c5a-4a6d-4b9c-9d2f-3f1e5c7a9b10; 's#2' has '#' at character 2",
    ],
  },
  {
    name: 'project ids with a space copied along (a no-break space from a web console too), a line end, a dash an editor made typographic',
    text: lines(...CLOUD, 'watches:', '  - { requestId: req-1, serverId: s1, projectId: "p2\u00a0" }', '  - { requestId: req-2, serverId: s2, projectId: "p 3" }', 'track:', '  - { servers: [s1], projectId: "p4\\n" }', '  - { servers: [s2], projectId: 89655fe61c4c4a08–b9f3e7f9095441b8 }'),
    expected: [
      "5:50 watches[0].projectId: expected a project id: visible ASCII characters, no spaces, e.g. 89655fe61c4c4a08b9f3e7f9095441b8; 'p2\\u00a0' has '\\u00a0' at character 3",
      "6:50 watches[1].projectId: expected a project id: visible ASCII characters, no spaces, e.g. 89655fe61c4c4a08b9f3e7f9095441b8; 'p 3' has a space at character 2",
      "8:33 track[0].projectId: expected a project id: visible ASCII characters, no spaces, e.g. 89655fe61c4c4a08b9f3e7f9095441b8; 'p4\\n' has '\\n' at character 3",
      "9:33 track[1].projectId: expected a project id: visible ASCII characters, no spaces, e.g. 89655fe61c4c4a08b9f3e7f9095441b8; '89655fe61c4c4a08–b9f3e7f9095441b8' has '–' at character 17",
    ],
  },
  {
    name: "the password login's project id with a no-break space copied along: said at its line, not told later as a refused password",
    text: lines(
      'cloud:', '  endpoint: https://ecs.example.com', '  auth:', '    type: password', '    identityEndpoint: https://iam.example.com/v3',
      '    user: svc', '    domain: acme', '    password: pw', '    projectId: "89655fe61c4c4a08b9f3e7f9095441b8\u00a0"', 'watches: []',
    ),
    expected: [
      "9:16 cloud.auth.projectId: expected a project id: visible ASCII characters, no spaces, e.g. 89655fe61c4c4a08b9f3e7f9095441b8; '89655fe61c4c4a08b9f3e7f9095441b8\\u00a0' has '\\u00a0' at character 33",
    ],
  },
  {
    name: 'job watches: a missing or bad jobId, action keys on a job, an unknown kind, a duplicate',
    text: lines(
      ...CLOUD,
      'watches:',
      '  - kind: ecs-job',
      '  - { kind: ecs-job, jobId: "ff80 8082" }',
      '  - { kind: ecs-job, jobId: j1, requestId: req-1 }',
      '  - { kind: ecs-jobs, jobId: j2 }',
      '  - { kind: ecs-job, jobId: j3 }',
      '  - { kind: ecs-job, jobId: j3, name: again }',
    ),
    expected: [
      '5:5 watches[0].jobId: required (a string)',
      "6:29 watches[1].jobId: expected a job id: letters, digits and -, e.g. ff808082843684110184e155fdb36461 (the job_id an ECS call answered with); 'ff80 8082' has a space at character 5",
      '7:33 watches[2].requestId: unknown key \'requestId\' (allowed: kind, jobId, name, projectId, notify, deadline, warnAfter, batch, batchWindow)',
      "8:13 watches[3].kind: unknown watch kind 'ecs-jobs' (allowed: instance-action, ecs-job); did you mean 'ecs-job'?",
      '10:29 watches[5].jobId: duplicate of watches[4]: same jobId',
    ],
  },
  {
    name: 'track entries: neither or both of servers and project, a project other than all, bad notifiers, a server tracked twice',
    text: lines(
      ...CLOUD,
      'notifiers:',
      '  chat: { type: webhook, url: "https://hooks.example.com" }',
      'track:',
      '  - actions: [resize]',
      '  - { servers: [s1], project: all }',
      '  - { project: mine }',
      '  - { servers: [s2, s3], notify: [pager] }',
      '  - { servers: [s3], actions: [] }',
      '  - { project: all }',
      '  - { project: all, projectId: p1 }',
    ),
    expected: [
      '7:5 track[0].servers: required: servers (or project)',
      '8:31 track[1].project: set servers or project, not both',
      "9:16 track[2].project: 'mine' is not a project to track: write project: all for every server of the project (projectId names which), or list servers:",
      "10:35 track[3].notify[0]: unknown notifier 'pager' (configured: chat)",
      '11:17 track[4].servers[0]: server s3 is already tracked by track[3]',
      '11:31 track[4].actions: must not be empty',
      '13:16 track[6].project: project p1 is already tracked by track[5]',
    ],
  },
  {
    name: 'a webhook secret whose key holds no byte',
    text: lines(...CLOUD, 'notifiers:', '  chat:', '    type: webhook', '    url: https://hooks.example.com/ecs', '    secret: whsec_A'),
    expected: ['8:13 notifiers.chat.secret: expected a Standard Webhooks signing key: whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32)'],
  },
  {
    name: 'a bad webhook URL, secret and header',
    text: lines(
      ...CLOUD,
      'notifiers:',
      '  chat:',
      '    type: webhook',
      '    url: hooks.example.com/ecs',
      '    secret: s3cr3t-value',
      '    headers: { X-Team: infra, "Bad Header": x, X-Count: 3 }',
    ),
    expected: [
      '7:10 notifiers.chat.url: expected an http:// or https:// URL, e.g. https://hooks.example.com/ecs: it has no scheme (write https:// or http:// before the host)',
      '8:13 notifiers.chat.secret: expected a Standard Webhooks signing key: whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32)',
      "9:31 notifiers.chat.headers[\"Bad Header\"]: 'Bad Header' is not an HTTP header name",
      '9:57 notifiers.chat.headers.X-Count: expected a string, got a number (put it in quotes)',
    ],
  },
  {
    name: 'bad email addresses, an empty to-list and an unknown outcome',
    text: lines(
      ...OPS_MAIL,
      '    from: ecs-watch',
      '    to: []',
      '    on: [success, failed]',
      '  team-mail:',
      '    type: email',
      '    smtp: { host: smtp.example.com }',
      '    from: ecs@example.com',
      '    to: [ops@example.com, "ops at example.com"]',
    ),
    expected: [
      `8:11 notifiers.ops-mail.from: 'ecs-watch' is not an email address: write ops@example.com or "Ops Team <ops@example.com>"`,
      '9:9 notifiers.ops-mail.to: must not be empty',
      "10:19 notifiers.ops-mail.on[1]: unknown value 'failed' (allowed: success, failure, timeout, not_found, slow)",
      `15:27 notifiers.team-mail.to[1]: 'ops at example.com' is not an email address: write ops@example.com or "Ops Team <ops@example.com>"`,
    ],
  },
  {
    name: 'addresses that are none, in any script',
    text: lines(
      ...OPS_MAIL,
      '    from: ecs@bücher.de',
      '    to:',
      ...NOT_ADDRESSES.map((address) => `      - "${address}"`),
    ),
    expected: NOT_ADDRESSES.map(
      (address, i) => `${10 + i}:9 notifiers.ops-mail.to[${i}]: '${address}' is not an email address: write ops@example.com or "Ops Team <ops@example.com>"`,
    ),
  },
  {
    name: 'smtp sessions out of range',
    text: lines(
      ...CLOUD,
      'notifiers:',
      '  ops-mail:',
      '    type: email',
      '    smtp: { host: smtp.example.com, connections: 0 }',
      '    from: ecs@example.com',
      '    to: [ops@example.com]',
      '  team-mail:',
      '    type: email',
      '    smtp: { host: smtp.example.com, connections: 65 }',
      '    from: ecs@example.com',
      '    to: [ops@example.com]',
    ),
    expected: ['7:50 notifiers.ops-mail.smtp.connections: must be at least 1 (got 0)', '12:50 notifiers.team-mail.smtp.connections: must be at most 64 (got 65)'],
  },
  {
    name: 'an smtp host written with its port, its scheme or a space: a lookup of it would fail every mail',
    text: lines(
      ...CLOUD,
      'notifiers:',
      '  a: { type: email, smtp: { host: "smtp.example.com:587" }, from: ecs@example.com, to: [ops@example.com] }',
      '  b: { type: email, smtp: { host: "smtp://smtp.example.com" }, from: ecs@example.com, to: [ops@example.com] }',
      '  c: { type: email, smtp: { host: "smtp example.com" }, from: ecs@example.com, to: [ops@example.com] }',
    ),
    expected: ['smtp.example.com:587', 'smtp://smtp.example.com', 'smtp example.com'].map(
      (host, i) => `${5 + i}:35 notifiers.${'abc'[i]}.smtp.host: '${host}' is not a host: write a host name or address only, e.g. smtp.example.com or 10.0.0.25; the port goes in smtp.port`,
    ),
  },
  {
    name: 'smtp login half set',
    text: lines(
      ...CLOUD,
      'notifiers:',
      '  ops-mail:',
      '    type: email',
      '    smtp: { host: smtp.example.com, password: "${SMTP_PASSWORD}" }',
      '    from: ecs@example.com',
      '    to: [ops@example.com]',
    ),
    env: { SMTP_PASSWORD: 'pw' },
    expected: ['7:47 notifiers.ops-mail.smtp.password: password is set but user is not: set both, or neither for no login'],
  },
  {
    name: 'a notifier without a type, one of an unknown type, and a bad name',
    text: lines(...CLOUD, 'notifiers:', '  chat:', '    url: https://hooks.example.com', '  pager: { type: pagerduty }', '  "ops mail": { type: email }'),
    expected: [
      `6:5 notifiers.chat.type: required: the notifier type, one of ${NOTIFIER_TYPE_NAMES.join(', ')}`,
      `7:18 notifiers.pager.type: unknown notifier type 'pagerduty' (allowed: ${NOTIFIER_TYPE_NAMES.join(', ')})`,
      "8:3 notifiers[\"ops mail\"]: notifier name 'ops mail' may only contain letters, digits, _, . and -",
      // Its settings are checked too, so that one run lists everything to fix.
      '8:15 notifiers["ops mail"].smtp: required (a mapping)',
      '8:15 notifiers["ops mail"].from: required (a string)',
      '8:15 notifiers["ops mail"].to: required (a list)',
    ],
  },
  {
    name: 'a watch naming a notifier whose settings are invalid: only the settings are wrong',
    text: lines(...CLOUD, 'notifiers:', '  chat: { type: webhook, url: "not a url" }', 'watches:', '  - { requestId: req-1, serverId: s1, notify: [chat] }'),
    expected: ['5:31 notifiers.chat.url: expected an http:// or https:// URL, e.g. https://hooks.example.com/ecs: it has no scheme (write https:// or http:// before the host)'],
  },
  {
    name: 'a line break in a token, a header value or a mail address (header injection)',
    text: lines(
      ...CLOUD,
      '  auth: { type: token, token: "${ECS_AUTH_TOKEN}" }',
      'notifiers:',
      '  chat:',
      '    type: webhook',
      '    url: https://hooks.example.com/ecs',
      '    headers: { X-Team: "infra\\r\\nX-Injected: 1" }',
      '  mail:',
      '    type: email',
      '    smtp: { host: smtp.example.com }',
      '    from: "Ops\\nBcc: everyone@example.com <ops@example.com>"',
      '    to: ["ops@example.com\\r\\n"]',
    ),
    // A Kubernetes Secret mounted into the environment often ends in a newline.
    env: { ECS_AUTH_TOKEN: 'gAAAAABtoken-from-a-file\n' },
    expected: [
      `4:31 cloud.auth.token: must be one line: it contains a line break (CR or LF), which would end the header it is sent in ${ENDS_IN_LINE_BREAK('ECS_AUTH_TOKEN')}`,
      '9:24 notifiers.chat.headers.X-Team: must be one line: it contains a line break (CR or LF), which would end the header it is sent in',
      '13:11 notifiers.mail.from: must be one line: it contains a line break (CR or LF), which would end the header it is sent in',
      '14:10 notifiers.mail.to[0]: must be one line: it contains a line break (CR or LF), which would end the header it is sent in',
    ],
  },
  {
    // Told only that it is no signing key, the operator saw whsec_ and base64 in the Secret, as asked for.
    name: 'a signing secret and a project id whose variables end in a line break, as a file they were made from did',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: "${PROJECT_ID}"', 'notifiers:', '  chat: { type: webhook, url: "https://hooks.example.com/ecs", secret: "${WEBHOOK_SECRET}" }'),
    env: { WEBHOOK_SECRET: 'whsec_CnQJpI/2FFdIJdV+ERk=\n', PROJECT_ID: 'p1\r\n' },
    expected: [
      `3:14 cloud.projectId: expected a project id: visible ASCII characters, no spaces, e.g. 89655fe61c4c4a08b9f3e7f9095441b8; 'p1\\r\\n' has '\\r' at character 3 ${ENDS_IN_LINE_BREAK('PROJECT_ID')}`,
      `5:72 notifiers.chat.secret: expected a Standard Webhooks signing key: whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32) ${ENDS_IN_LINE_BREAK('WEBHOOK_SECRET')}`,
    ],
  },
  {
    name: 'early warnings and batches: bad durations (in a mapping too), an action type that is no name, a label on two lines',
    text: lines(
      ...CLOUD,
      'poll:',
      '  warnAfter: { resize: 2 hours, "live migration": 1h }',
      '  batchWindow: off',
      'watches:',
      '  - { requestId: req-1, serverId: s1, warnAfter: 5, batch: "a\\nb" }',
      '  - { requestId: req-2, serverId: s2, batch: "" }',
    ),
    expected: [
      `5:24 poll.warnAfter.resize: '2 hours' is not a duration: write ${FORMS}; or off for none`,
      "5:33 poll.warnAfter[\"live migration\"]: 'live migration' is not an action type: write one as the API names it, e.g. resize or live-migration",
      `6:16 poll.batchWindow: 'off' is not a duration: write ${FORMS}`,
      `8:50 watches[0].warnAfter: 5 has no unit: write a duration as ${FORMS}; or off for none`,
      '8:60 watches[0].batch: must be one line: it contains a line break (CR or LF), which would end the header it is sent in',
      '9:46 watches[1].batch: must not be empty',
    ],
  },
  {
    // Written at 3 a.m. from the README's table: `off` is the other value a warnAfter takes, and `auto` is poll.warnAfter's.
    name: 'a warnAfter that is no duration names off too, the whole poll.warnAfter auto and a mapping, and auto on a watch what it stands for',
    text: lines(
      ...CLOUD,
      'poll:',
      '  warnAfter: soon',
      'watches:',
      '  - { requestId: req-1, serverId: s1, warnAfter: auto }',
      '  - { requestId: req-2, serverId: s2, warnAfter: none }',
    ),
    expected: [
      `5:14 poll.warnAfter: 'soon' is not a duration: write ${FORMS}; or off for none, auto for a duration per action type, or a mapping of action types to durations (e.g. { resize: 2h, other: 30m })`,
      `7:50 watches[0].warnAfter: 'auto' is not a duration: write ${FORMS}; or off for none (auto is for poll.warnAfter as a whole: leave this key out to take the duration poll.warnAfter gives the action's type)`,
      `8:50 watches[1].warnAfter: 'none' is not a duration: write ${FORMS}; or off for none`,
    ],
  },
  {
    name: 'durations of the wrong type, in poll.warnAfter too (where zod\'s own wording was shown)',
    text: lines(...CLOUD, 'poll:', '  warnAfter: { create: [1], other: { a: b }, resize: ~, reboot: true }', '  deadline: ~'),
    expected: [
      `5:24 poll.warnAfter.create: expected a duration, got a list: write ${FORMS}; or off for none`,
      `5:36 poll.warnAfter.other: expected a duration, got a mapping: write ${FORMS}; or off for none`,
      `5:54 poll.warnAfter.resize: is empty: write a duration as ${FORMS}, or leave the key out; or off for none`,
      `5:65 poll.warnAfter.reboot: expected a duration, got true: write ${FORMS}; or off for none`,
      `6:13 poll.deadline: is empty: write a duration as ${FORMS}, or leave the key out`,
    ],
  },
  {
    name: "YAML's .nan and .inf, and a number too large to hold, where a whole number or a duration belongs",
    text: lines(...CLOUD, 'poll:', '  retries: .nan', '  concurrency: 1e309', '  deadline: -.inf', 'http:', '  port: .inf'),
    expected: [
      '5:12 poll.retries: expected a whole number from 0 to 20, got .nan (not a number)',
      '6:16 poll.concurrency: expected a whole number from 1 to 256, got .inf (infinity, or a number too large to hold, such as 1e309)',
      `7:13 poll.deadline: expected a duration, got -.inf (infinity, or a number too large to hold, such as 1e309): write ${FORMS}`,
      '9:9 http.port: expected a whole number from 0 to 65535, got .inf (infinity, or a number too large to hold, such as 1e309)',
    ],
  },
  {
    name: "YAML's .nan and a number too large to hold where one of a few names belongs",
    text: lines(...CLOUD, '  auth:', '    type: 1e309', 'notifiers:', '  chat:', '    type: .nan', '    url: https://hooks.example.com/x'),
    expected: [
      `5:11 cloud.auth.type: unknown auth type .inf (infinity, or a number too large to hold, such as 1e309) (allowed: ${AUTH_TYPE_NAMES.join(', ')})`,
      `8:11 notifiers.chat.type: unknown notifier type .nan (not a number) (allowed: ${NOTIFIER_TYPE_NAMES.join(', ')})`,
    ],
  },
  {
    name: 'poll.warnAfter that is neither a duration nor a mapping',
    text: lines(...CLOUD, 'poll:', '  warnAfter: [20m]'),
    expected: ['5:14 poll.warnAfter: expected a duration for every action type (e.g. 20m), off, auto (a duration per action type), or a mapping of action types to durations (e.g. { resize: 2h, other: 30m })'],
  },
  {
    name: 'templates: an unknown field, a file that is not there, both forms, nothing set, a section left open, a number a success lacks',
    text: lines(
      ...CLOUD,
      'notifiers:',
      '  chat:',
      '    type: webhook',
      '    url: https://hooks.example.com/x',
      '    template:',
      '      body: |',
      '        {',
      '          "text": "{{wach.name}}"',
      '        }',
      '  team: { type: webhook, url: "https://hooks.example.com/y", template: { bodyFile: ./nope.mustache } }',
      '  both: { type: webhook, url: "https://hooks.example.com/z", template: { body: "{}", bodyFile: docs/templates/slack.json.mustache } }',
      '  mail: { type: email, smtp: { host: h }, from: a@example.com, to: [b@example.com], template: {} }',
      '  mail2: { type: email, smtp: { host: h }, from: a@example.com, to: [b@example.com], template: { subject: "{{#batch}}" } }',
      '  num:',
      '    type: webhook',
      '    url: https://hooks.example.com/n',
      "    template: { body: '{\"text\": \"{{headline}}\"{{#server}}, \"faultCode\": {{server.faultCode}}{{/server}}}' }",
    ),
    expected: [
      "9:13 notifiers.chat.template.body: template line 2, column 12: unknown field 'wach.name' (the fields are listed in the README under \"Notifier templates\"; at the top: type, headline, shortHeadline, summary, text, body, detectedAt, slack, larkMd, dingtalkMd, wecomMd, teamsMd, isAction, isSlow, isBatch, isPartial, isTest, severity, ok, warning, problem, outcome, outcomeWord, reason, shortReason, watch, action, events, server, job, batch)",
      `13:84 notifiers.team.template.bodyFile: cannot read the template ./nope.mustache: no such file (relative to the working folder, ${process.cwd()})`,
      '14:96 notifiers.both.template.bodyFile: set body or bodyFile, not both',
      '15:95 notifiers.mail.template: set subject, text or textFile (or leave template out for the default message)',
      '16:107 notifiers.mail2.template.subject: template line 1, column 1: the section {{#batch}} is not closed: add {{/batch}}',
      "20:23 notifiers.num.template.body: template line 1, column 50: {{server.faultCode}} writes nothing for an action's success with empty fields "
        + '(no name, a server without a fault or task state, an event without result, times or traceback, a job without codes) (and 11 other kinds of notification), '
        + 'where JSON needs something: Unexpected token \'}\' at line 1, column 81 of the output, near: c-caa517fe06ba", "faultCode": } '
        + '(write it in quotes, "{{server.faultCode}}", or, with its key, inside {{#server.faultCode}}...{{/server.faultCode}})',
    ],
  },
  {
    name: 'lists nested thousands deep, with a broken line below them (YAML, or the walk for secrets, ran out of stack)',
    text: lines(...CLOUD, `watches: ${'['.repeat(3000)}${']'.repeat(3000)}`, '  bad: "'),
    expected: [`4:${9 + NESTING_LIMIT} watches${'[0]'.repeat(NESTING_LIMIT - 1)}: ${TOO_DEEP}`],
  },
  {
    // Written as yaml writes such a key for the data it makes, it took seconds: each level on a line of its
    // own, indented further than the one before.
    name: 'a list nested thousands deep written as a key: said at once, the key shown as String() writes it',
    text: lines(...CLOUD, `${'['.repeat(3000)}${']'.repeat(3000)}: 1`),
    expected: [`4:${NESTING_LIMIT} ["${'['.repeat(60)}…"]: ${TOO_DEEP}`],
  },
  {
    name: 'mappings indented further line after line, thousands deep (YAML itself ran out of stack)',
    text: lines(...CLOUD, 'poll:', ...Array.from({ length: 2000 }, (_, i) => `${' '.repeat(2 * (i + 1))}k${i}:`)),
    expected: [`${4 + NESTING_LIMIT}:${2 * NESTING_LIMIT + 1} poll${Array.from({ length: NESTING_LIMIT }, (_, i) => `.k${i}`).join('')}: ${TOO_DEEP}`],
  },
  {
    name: 'a value where a section belongs',
    text: lines(...CLOUD, 'poll: every 15s'),
    expected: ['4:7 poll: expected a mapping, got a string'],
  },
  {
    // zod leaves out an object's checks across keys once one of its keys has the wrong type.
    name: 'a problem across keys beside a key of the wrong type in the same section: both listed',
    text: lines(
      'cloud:', '  projectId: p1', '  timeout: 5',
      'delivery: { maxAge: 5, minDelay: 1h, maxDelay: 1m }',
      'notifiers:',
      '  mail:',
      '    type: email',
      '    smtp: { host: smtp.example.com, port: x, user: ops }',
      '    from: ecs-watch@example.com',
      '    to: [ops@example.com]',
      '    template: { subject: 5, text: a, textFile: b }',
      '  hook: { type: webhook, url: "https://hooks.example.com/x", template: { body: 5, bodyFile: b } }',
      'track:',
      '  - { actions: 5 }',
    ),
    expected: [
      "2:3 cloud.endpoint: required with auth type none: the compute endpoint, e.g. https://ecs.eu-de.otc.t-systems.com (auth type: password takes it from the token's catalog)",
      `3:12 cloud.timeout: 5 has no unit: write a duration as ${FORMS}`,
      `4:21 delivery.maxAge: 5 has no unit: write a duration as ${FORMS}`,
      '4:48 delivery.maxDelay: must not be shorter than minDelay (1 min against 1 h; maxDelay is 5m unless set): raise maxDelay, or lower minDelay',
      '8:43 notifiers.mail.smtp.port: expected a whole number from 1 to 65535, got a string',
      '8:52 notifiers.mail.smtp.user: user is set but password is not: set both, or neither for no login',
      '11:26 notifiers.mail.template.subject: expected a string, got a number (put it in quotes)',
      `11:48 notifiers.mail.template.textFile: cannot read the template b: no such file (relative to the working folder, ${process.cwd()})`,
      '11:48 notifiers.mail.template.textFile: set text or textFile, not both',
      '12:80 notifiers.hook.template.body: expected a string, got a number (put it in quotes)',
      `12:93 notifiers.hook.template.bodyFile: cannot read the template b: no such file (relative to the working folder, ${process.cwd()})`,
      '12:93 notifiers.hook.template.bodyFile: set body or bodyFile, not both',
      '14:5 track[0].servers: required: servers (or project)',
      '14:16 track[0].actions: expected a list, got a number',
    ],
  },
  {
    name: 'password auth without its identity endpoint, password and domain: each listed',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', '  auth: { type: password, user: u, projectName: eu-de }'),
    expected: [
      '4:9 cloud.auth.identityEndpoint: required (a string)',
      '4:9 cloud.auth.password: required: password (or passwordFile)',
      '4:9 cloud.auth.domain: required: domain (or domainId)',
      '4:9 cloud.auth.projectDomain: required with projectName: projectDomain (or projectDomainId), the domain the project belongs to',
    ],
  },
  {
    name: 'an access key of the wrong type, and no secret key: both listed',
    text: lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', '  auth: { type: aksk, accessKey: 5 }'),
    expected: ['4:9 cloud.auth.secretKey: required: secretKey (or secretKeyFile)', '4:34 cloud.auth.accessKey: expected a string, got a number (put it in quotes)'],
  },
];

describe('a broken watch file', () => {
  it.each(cases)('$name', ({ text, env, expected }) => {
    expect(problems(text, env)).toEqual(expected);
  });

  // yaml's composer reports running out of stack as a problem of the document; its parser throws, where it
  // steps back down the levels one call each (a comment less indented below them). How deep that takes
  // depends on the stack left, so it is made sure of in a thread with a small one.
  it.each([
    {
      name: 'mappings indented further line after line',
      nest: Array.from({ length: 2000 }, (_, i) => `${' '.repeat(2 * (i + 1))}k${i}:`),
      at: `${4 + NESTING_LIMIT}:${2 * NESTING_LIMIT + 1}`,
    },
    {
      name: 'a list item in item',
      nest: Array.from({ length: 2000 }, (_, i) => `${' '.repeat(2 * (i + 1))}-`),
      at: `${4 + NESTING_LIMIT}:${2 * NESTING_LIMIT + 1}`,
    },
  ])('says where $name thousands deep are, where YAML\'s own parser runs out of stack', async ({ nest, at }) => {
    const text = lines(...CLOUD, 'poll:', ...nest, '  # below, less indented', '  schedule: "*/15 * * * * *"');
    expect(await problemsInThread(text, 1)).toEqual([`${at} (root): ${TOO_DEEP}`]);
  });

  describe('a URL that is not one, or that holds what its setting would not send, says which part', () => {
    const EXPECTED = (example: string) => `expected an http:// or https:// URL, e.g. ${example}`;
    const ENDPOINT = EXPECTED('https://ecs.eu-de.otc.t-systems.com');
    const HOOK = EXPECTED('https://hooks.example.com/ecs');
    const endpoint = (url: string) => lines('cloud:', `  endpoint: "${url}"`, '  projectId: p1', 'watches: []');
    const hook = (url: string) => lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', 'notifiers:', `  chat: { type: webhook, url: "${url}" }`, 'watches: []');

    it.each([
      ['a port above 65535', endpoint('https://ecs.example.com:99999/'), `2:13 cloud.endpoint: ${ENDPOINT}: its port 99999 is above 65535`],
      ['a port above 65535 in a webhook URL', hook('https://u:p@hooks.example.com:70000/x'), `5:31 notifiers.chat.url: ${HOOK}: its port 70000 is above 65535`],
      ['a user name and password in the endpoint, which are not sent', endpoint('http://admin:EndpointPass123@127.0.0.1:18800/x'), `2:13 cloud.endpoint: ${ENDPOINT}: it holds a user name or password, which are not sent to it (credentials go under cloud.auth): leave them out`],
      ['a query in the endpoint, which is not sent', endpoint('https://ecs.example.com/?apikey=EndpointKey456'), `2:13 cloud.endpoint: ${ENDPOINT}: it holds a query or a fragment (?... or #...), which is not sent: leave it out`],
      ['a host name with a space', endpoint('https://ecs example.com'), `2:13 cloud.endpoint: ${ENDPOINT}`],
    ])('%s', (_case, text, expected) => {
      expect(problems(text)).toEqual([expected]);
      // Neither the password nor the query's key is said back.
      expect(problems(text).join('\n')).not.toMatch(/EndpointPass123|EndpointKey456/);
    });

    it('a webhook URL keeps its user name and password (sent as Basic authentication) and its query', () => {
      expect(problems(hook('https://u:p@hooks.example.com/x?token=abc'))).toEqual([]);
    });
  });

  it('lists every problem of the file in one run, in file order', () => {
    const text = lines(
      'cloud:',
      '  endpoint: ftp://ecs.example.com',
      'poll:',
      '  deadline: 6',
      'watches:',
      '  - { requestId: req-1, serverId: s1, notify: [nobody] }',
    );
    expect(problems(text)).toEqual([
      '2:13 cloud.endpoint: expected an http:// or https:// URL, e.g. https://ecs.eu-de.otc.t-systems.com: its scheme is neither http nor https',
      `4:13 poll.deadline: 6 has no unit: write a duration as ${FORMS}`,
      '6:5 watches[0].projectId: no projectId: set watches[0].projectId or cloud.projectId (or an endpoint ending in /v2.1/{projectId}, or cloud.auth.projectId)',
      "6:48 watches[0].notify[0]: unknown notifier 'nobody' (no notifiers are configured)",
    ]);
  });

  it('never quotes a secret back', () => {
    const secret = 'hunter2-abc';
    const text = lines(
      ...CLOUD,
      '  auth: { type: token, token: 12345 }',
      'notifiers:',
      '  chat: { type: webhook, url: "https://hooks.example.com", secret: "${SECRET}" }',
      '  hook: { type: webhook, url: "https://user:${SECRET}@hooks.example.com:99999" }',
    );
    const output = problems(text, { SECRET: secret }).join('\n');
    expect(output).toContain('cloud.auth.token: expected a string, got a number');
    expect(output).toContain('notifiers.chat.secret: expected a Standard Webhooks signing key');
    expect(output).toContain('notifiers.hook.url: expected an http:// or https:// URL');
    expect(output).not.toContain(secret);
    expect(output).not.toContain('12345');
  });
});

describe('the CA file that cloud.tls.caFile names', () => {
  it('is read when the file is checked: missing, or holding no certificate, it is a problem at its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-ca-'));
    try {
      const key = join(dir, 'key.pem');
      writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
      const missing = join(dir, 'missing.pem');
      expect(problems(lines(...CLOUD, '  tls:', `    caFile: ${missing}`))).toEqual([`5:13 cloud.tls.caFile: cannot read cloud.tls.caFile ${missing}: no such file`]);
      expect(problems(lines(...CLOUD, '  tls:', `    caFile: ${key}`))).toEqual([`5:13 cloud.tls.caFile: cloud.tls.caFile ${key} holds no PEM certificate (-----BEGIN CERTIFICATE----- ...)`]);
      // A relative path is read from the working folder, which the daemon's may not be: it is named.
      expect(problems(lines(...CLOUD, '  tls:', '    caFile: no-such-ca.pem'))).toEqual([
        `5:13 cloud.tls.caFile: cannot read cloud.tls.caFile no-such-ca.pem: no such file (relative to the working folder, ${process.cwd()})`,
      ]);
      // As a missing variable: a file of the machine the daemon runs on, which add and remove do not ask for.
      expect(validateConfigText(lines(...CLOUD, '  tls:', `    caFile: ${missing}`), { env: {} })).toMatchObject({ ok: false, issues: [{ cause: 'environment' }] });
      // Listed beside the file's other problems; a variable that is not set is the one problem of its line.
      expect(problems(lines(...CLOUD, '  timeout: 10', '  tls:', `    caFile: ${missing}`))).toHaveLength(2);
      expect(problems(lines(...CLOUD, '  tls:', '    caFile: ${CA}'))).toEqual(['5:13 cloud.tls.caFile: environment variable CA is not set (use ${CA:-default} for a default)']);
      // A tag on it is its one problem too: not also the file the text after the tag would name.
      expect(problems(lines(...CLOUD, '  tls:', `    caFile: !vault ${missing}`))).toEqual([
        `5:13 cloud.tls.caFile: !vault is no tag ecs-action-watch reads (${CORE_TAGS}), and the value would be read as if it were not there: ${REMOVE_TAG}`,
      ]);
      // From a clouds.yaml profile: under its own name, at the line that names the profile.
      const clouds = join(dir, 'clouds.yaml');
      writeFileSync(clouds, `clouds:\n  prod:\n    auth: { auth_url: "https://iam.test/v3", username: u, password: p, project_id: x, domain_id: default }\n    cacert: ${missing}\n`);
      expect(problems(lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: prod', '  endpoint: https://ecs.example.com'))).toEqual([
        `3:10 cloud.cloud: cannot read cacert ${missing}: no such file (from clouds.yaml ${clouds}, cloud 'prod')`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('holding a certificate that cannot be read, which TLS would leave out without a word, is a problem naming the certificate and its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-ca-'));
    try {
      const { caFile } = makeCertificates(dir);
      const good = readFileSync(caFile, 'utf8');
      const at = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return problems(lines(...CLOUD, '  tls:', `    caFile: ${join(dir, name)}`));
      };
      const advice = 'the file was cut short or changed on its way; copy it again from its source';
      expect(at('bundle.pem', `# the company's CAs\n${good}${good}`)).toEqual([]);
      expect(at('crlf.pem', good.replaceAll('\n', '\r\n'))).toEqual([]);
      // A character of the base64 lost in a copy and paste, in the second certificate of a bundle.
      const certLines = good.trimEnd().split('\n').length;
      const pasted = good.replace(/^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/]{10})[A-Za-z0-9+/]/, '$1');
      expect(at('pasted.pem', good + pasted)).toEqual([
        `5:13 cloud.tls.caFile: cloud.tls.caFile ${join(dir, 'pasted.pem')} holds certificate 2 (line ${certLines + 1}) that cannot be read (PEM routines::bad base64 decode): ${advice}`,
      ]);
      const cut = good.slice(0, good.length - 40);
      expect(at('cut.pem', cut)).toEqual([
        `5:13 cloud.tls.caFile: cloud.tls.caFile ${join(dir, 'cut.pem')} holds certificate 1 (line 1) without its -----END CERTIFICATE----- line: ${advice}`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A mail template's file left empty (created and not yet written, or cut short by what copied it) sent
// every mail with no text at all: `text: ""` in the file is refused, the same held in a file was not.
describe('a template that holds nothing', () => {
  it('is refused at its line, in a file or written in place, white space only too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-template-'));
    try {
      writeFileSync(join(dir, 'empty.mustache'), '');
      writeFileSync(join(dir, 'blank.mustache'), '\uFEFF \n\n');
      const mail = (template: string) => `  { type: email, smtp: { host: h }, from: a@example.com, to: [b@example.com], template: ${template} }`;
      const advice = 'holds nothing to send: write the template, or leave it out for the default';
      expect(problems(lines(
        ...CLOUD,
        'notifiers:',
        `  empty: ${mail(`{ textFile: ${join(dir, 'empty.mustache')} }`)}`,
        `  blank: ${mail(`{ textFile: ${join(dir, 'blank.mustache')} }`)}`,
        `  inline: ${mail('{ text: "  " }')}`,
        `  hook: { type: webhook, url: "https://hooks.example.com/x", template: { bodyFile: ${join(dir, 'empty.mustache')} } }`,
      ))).toEqual([
        expect.stringMatching(new RegExp(`^5:\\d+ notifiers\\.empty\\.template\\.textFile: .*empty\\.mustache: template ${advice}$`)),
        expect.stringMatching(new RegExp(`^6:\\d+ notifiers\\.blank\\.template\\.textFile: .*blank\\.mustache: template ${advice}$`)),
        expect.stringMatching(new RegExp(`^7:\\d+ notifiers\\.inline\\.template\\.text: template ${advice}$`)),
        expect.stringMatching(new RegExp(`^8:\\d+ notifiers\\.hook\\.template\\.bodyFile: .*empty\\.mustache: template ${advice}$`)),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a file with more problems than zod gathers at once', () => {
  // zod runs out of stack past about 100,000 problems on the main thread's stack, past 20,000-40,000 on half
  // of it: the files below are made three times as large as needed on that half, and checked in 1 s, not 9.
  const HALF_STACK_MB = 0.5;

  it('lists the first thousand, each at its line, and says there are more (30,000 empty watches)', async () => {
    const text = lines(...CLOUD, 'watches:', ...Array.from({ length: 30_000 }, () => '  - {}'));
    const found = await problemsInThread(text, HALF_STACK_MB);
    expect(found[0]).toBe('5:3 watches: more problems than the first 1000 listed: fix these and run validate again');
    expect(found.slice(1, 3)).toEqual(['5:5 watches[0].requestId: required (a string)', '5:5 watches[0].serverId: required (a string)']);
    expect(found).toHaveLength(1001);
  });

  it('says so at the top when a single watch has that many (a notify list of 60,000 numbers)', async () => {
    const text = lines(...CLOUD, 'watches:', '  - requestId: r1', '    serverId: s1', `    notify: [${Array.from({ length: 60_000 }, () => '1').join(', ')}]`);
    expect(await problemsInThread(text, HALF_STACK_MB)).toEqual(['1:1 (root): too many problems to check at once: validate a copy of the file with fewer entries, then the rest']);
  });
});

// Every type of the registries, a new one with no line here included: its entry is checked key by key, at
// its line, and what a secret key holds is never quoted, whatever the type's own schema says of it.
describe('an entry of any registered type', () => {
  const types = [
    ...NOTIFIER_TYPES.map((t) => ({ of: 'notifier', schema: t.schema, secretKeys: t.secretKeys })),
    ...AUTH_METHODS.map((m) => ({ of: 'auth', schema: m.schema, secretKeys: m.secretKeys })),
  ].map(({ of, schema, secretKeys }) => ({ of, name: schema.shape.type.value, keys: Object.keys(schema.shape), secretKeys }));
  /** The file with `entry` (flow mapping lines) as notifier `n` or as cloud.auth, and the path it is at. */
  const fileWith = (of: string, entry: string[]) =>
    of === 'notifier'
      ? { text: lines(...CLOUD, 'notifiers:', '  n:', ...entry.map((l) => `    ${l}`)), at: 'notifiers.n', firstLine: 6 }
      : { text: lines(...CLOUD, '  auth:', ...entry.map((l) => `    ${l}`)), at: 'cloud.auth', firstLine: 5 };

  it.each(types)('$of $name: a key it does not have is named at its line, with the keys it has', ({ of, name, keys }) => {
    const { text, at, firstLine } = fileWith(of, [`type: ${name}`, 'notAKeyOfAnyType: 1']);
    expect(problems(text)).toContain(`${firstLine + 1}:5 ${at}.notAKeyOfAnyType: unknown key 'notAKeyOfAnyType' (allowed: ${keys.join(', ')})`);
  });

  it.each(types.filter((t) => t.secretKeys.length > 0))('$of $name: what its secret keys hold is never quoted, valid or not', ({ of, name, secretKeys }) => {
    // A secret of each form a schema may refuse: a list, a mapping, a line of text and two lines.
    for (const form of [(s: string) => `[${s}]`, (s: string) => `{ x: ${s} }`, (s: string) => s, (s: string) => `"${s}\\n${s}"`]) {
      const entry = [`type: ${name}`, ...secretKeys.map((key, i) => `${key}: ${form(`hunter2-${i}-secret`)}`), 'notAKeyOfAnyType: 1'];
      const output = problems(fileWith(of, entry).text).join('\n');
      expect(output).toContain('notAKeyOfAnyType');
      expect(output).not.toContain('hunter2');
    }
  });
});
