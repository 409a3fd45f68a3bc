import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, validateConfigText } from '../../src/config/load.ts';

/** What `validate` prints for `text` (and `run` logs at a reload), one line per problem. */
function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = validateConfigText(text, { env });
  return result.ok ? [] : result.issues.map((issue) => formatIssue(issue));
}

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const CLOUD = ['cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1'];
const withAuth = (...auth: string[]) => lines(...CLOUD, '  auth:', ...auth.map((l) => `    ${l}`), 'watches: []');
const withNotifier = (...notifier: string[]) =>
  lines(...CLOUD, '  auth: { type: none }', 'notifiers:', '  n:', ...notifier.map((l) => `    ${l}`), 'watches: []');
const HIDDEN = '(the value is a secret, not shown here: quote a secret that starts with * ! & | > % @ or ` or holds ": ")';

// A secret written inline and unquoted is read by YAML as what its first character makes it (an alias, a
// tag, a block scalar), or a value holding ": " as a mapping: the problem YAML reports must not quote it, in
// validate's output or in the log of a reload.
describe('a secret the watch file cannot read is not quoted back', () => {
  it.each([
    ['a password that starts with *, read as an alias', withAuth('type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p', 'password: *Xk9-alias-secret'), 'Xk9-alias-secret', [
      `9:15 cloud.auth.password: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`,
    ]],
    ['a token that starts with !, read as a tag', withAuth('type: token', 'token: !Tag-secret-77'), 'Tag-secret-77', [
      `6:12 cloud.auth.token: <hidden> is no tag ecs-action-watch reads (only YAML 1.2's !!str, !!int, !!float, !!bool, !!null, !!map and !!seq), and the value would be read as if it were not there: remove it, and write the value itself (\${VAR} takes one from the environment) ${HIDDEN}`,
    ]],
    ['a secret key that starts with |, read as a block scalar', withAuth('type: aksk', 'accessKey: AK', 'secretKey: |pipe-secret-5'), 'pipe-secret-5', [
      `7:17 cloud.auth.secretKey: Block scalar header includes extra characters: <hidden> ${HIDDEN}`,
    ]],
    ['a password with a backslash in double quotes', withAuth('type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p', 'password: "ab\\xSEcret"'), '\\xSE', [
      '9:18 cloud.auth.password: a \\ in a double-quoted value starts an escape sequence YAML does not know: write \\\\ for a backslash itself, or quote the value with \' instead',
    ]],
    ['a password that holds ": ", read as a mapping', withAuth('type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p', 'password: Summer2024: x'), 'Summer2024', [
      `9:15 cloud.auth.password: nested mappings are not allowed in compact mappings: quote a value that contains ": ", or check the indentation ${HIDDEN}`,
    ]],
    ['a secret key that holds ": " in a flow mapping', lines(...CLOUD, '  auth: { type: aksk, accessKey: AK, secretKey: Flow secret: x }', 'watches: []'), 'Flow secret', [
      `4:49 cloud.auth.secretKey: Block collections are not allowed within flow collections ${HIDDEN}`,
    ]],
    ['a credential header that starts with *', withNotifier('type: webhook', 'url: https://hooks.example.com/x', 'headers:', '  X-Api-Key: *api-key-secret'), 'api-key-secret', [
      `10:18 notifiers.n.headers.X-Api-Key: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`,
    ]],
    ['an SMTP password that starts with !', withNotifier('type: email', 'smtp: { host: smtp.example.com, user: u, password: !smtp-secret-1 }', 'from: a@example.com', 'to: [b@example.com]'), 'smtp-secret-1', [
      '8:43 notifiers.n.smtp.user: user is set but password is not: set both, or neither for no login',
      `8:56 notifiers.n.smtp.password: <hidden> is no tag ecs-action-watch reads (only YAML 1.2's !!str, !!int, !!float, !!bool, !!null, !!map and !!seq), and the value would be read as if it were not there: remove it, and write the value itself (\${VAR} takes one from the environment) ${HIDDEN}`,
    ]],
  ])('%s', (_case, text, secret, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(secret);
    expect(said).toEqual(expected);
  });

  it('a value that is no secret is still quoted, and so is a tag on what names a secret', () => {
    expect(problems(withAuth('type: token', 'token: t', 'region: *nowhere'))).toEqual([
      '7:13 cloud.auth.region: *nowhere names no anchor set before it: set &nowhere on a value above, or correct the name',
    ]);
    expect(problems(withAuth('type: token', 'token: !vault ecs/token'))).toEqual([
      "6:12 cloud.auth.token: !vault is no tag ecs-action-watch reads (only YAML 1.2's !!str, !!int, !!float, !!bool, !!null, !!map and !!seq), and the value would be read as if it were not there: remove it, and write the value itself (${VAR} takes one from the environment)",
    ]);
  });

  it('a password in clouds.yaml is not quoted either', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-secrets-'));
    const clouds = join(dir, 'clouds.yaml');
    writeFileSync(clouds, lines('clouds:', '  otc:', '    auth:', '      auth_url: https://iam.test/v3', '      username: u', '      password: *clouds-secret-9'));
    const said = problems(lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: otc', '  endpoint: https://ecs.example.com'));
    expect(said.join('\n')).not.toContain('clouds-secret-9');
    expect(said).toEqual([`3:10 cloud.cloud: cannot read clouds.yaml ${clouds}: line 6, column 17: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`]);
  });
});

// A line swap puts a secret's key under another setting, whose message would quote the value it refuses:
// in validate's output, and in the log of a reload.
describe('a secret under its key name in the wrong place is not quoted back', () => {
  const NOT_SHOWN = "(a value under a secret's key name is not shown)";
  const underWarnAfter = (line: string) => lines(...CLOUD, 'poll:', '  warnAfter:', `    ${line}`, 'watches: []');

  it.each([
    ['a token from the environment', underWarnAfter('token: ${ECS_AUTH_TOKEN}'), '6:12 poll.warnAfter.token'],
    ['a password written out', underWarnAfter('password: Summer2024-SEKRIT'), '6:15 poll.warnAfter.password'],
  ])('%s', (_case, text, at) => {
    expect(problems(text, { ECS_AUTH_TOKEN: 'gAAAAA-SEKRIT-token-Zq9' })).toEqual([
      `${at}: '<hidden>' is not a duration: write a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s ${NOT_SHOWN}`,
    ]);
  });

  it('nor a part of it that a message quotes on its own', () => {
    expect(problems(underWarnAfter('secret: 5mSEKRIT-part'))).toEqual([`6:13 poll.warnAfter.secret: not valid here ${NOT_SHOWN}`]);
    // Four characters of it are enough to be kept back, as redact() hides a secret of four.
    expect(problems(underWarnAfter('secret: 5mSEKR'))).toEqual([`6:13 poll.warnAfter.secret: not valid here ${NOT_SHOWN}`]);
  });
});
