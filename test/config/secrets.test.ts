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
    ['a password that starts with &, read as an anchor on no value', withAuth('type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p', 'password: &Amp-secret-3'), 'Amp-secret-3', [
      `9:15 cloud.auth.password: <hidden> is read as an anchor (a name for the value after it), and no value comes after it: put a value that starts with & in quotes ("..." or '...') ${HIDDEN}`,
    ]],
    ['a webhook secret that starts with &, which left the webhook unsigned', withNotifier('type: webhook', 'url: https://hooks.example.com/x', 'secret: &whsec_AmpSecret4'), 'AmpSecret4', [
      `9:13 notifiers.n.secret: <hidden> is read as an anchor (a name for the value after it), and no value comes after it: put a value that starts with & in quotes ("..." or '...') ${HIDDEN}`,
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

  // A key spelled as another tool spells it (nodemailer's pass, Huawei's SDK's sk and secret_key, OS_PASSWORD
  // in lower case) is refused as a key this file does not know, and its value is a secret all the same.
  it.each([
    ["nodemailer's pass for an SMTP password", withNotifier('type: email', 'smtp:', '  host: smtp.example.com', '  user: u', '  pass: *Smtp-Pass-Alias1', 'from: a@example.com', 'to: [b@example.com]'), 'Smtp-Pass-Alias1',
      `11:13 notifiers.n.smtp.pass: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`],
    ['secret_key for a secret key', withAuth('type: aksk', 'accessKey: AK', 'secret_key: *Sk-Underscore-Alias2'), 'Sk-Underscore-Alias2',
      `7:17 cloud.auth.secret_key: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`],
    ['sk for a secret key', withAuth('type: aksk', 'accessKey: AK', 'sk: &Sk-Short-Zq93'), 'Sk-Short-Zq93',
      `7:9 cloud.auth.sk: <hidden> is read as an anchor (a name for the value after it), and no value comes after it: put a value that starts with & in quotes ("..." or '...') ${HIDDEN}`],
    ['os_password for a password', withAuth('type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p', 'os_password: *Os-Password-Alias4'), 'Os-Password-Alias4',
      `9:18 cloud.auth.os_password: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`],
    ["a webhook's signing_secret", withNotifier('type: webhook', 'url: https://hooks.example.com/x', 'signing_secret: *whsec_SigningAlias5'), 'SigningAlias5',
      `9:21 notifiers.n.signing_secret: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`],
  ])('under a key spelled as elsewhere: %s', (_case, text, secret, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(secret);
    expect(said).toEqual([expected]);
  });

  it('a secret set with an anchor on another setting and given to a secret by an alias', () => {
    const said = problems(lines('poll:', '  schedule: &tok |Anchored-Tok-Sec10', ...CLOUD, '  auth: { type: token, token: *tok }', 'watches: []'));
    expect(said.join('\n')).not.toContain('Anchored-Tok-Sec10');
    expect(said).toEqual([`2:19 poll.schedule: Block scalar header includes extra characters: <hidden> ${HIDDEN}`]);
  });

  it('a credential header copied whole from curl (-H "Authorization: Bearer ...") as one key', () => {
    const said = problems(withNotifier('type: webhook', 'url: https://hooks.example.com/x', 'headers: { "Authorization: Bearer HdrCurl-0a1b2c" }'));
    expect(said.join('\n')).not.toContain('HdrCurl-0a1b2c');
    expect(said).toEqual([
      "9:16 notifiers.n.headers[\"Authorization: <hidden>\"]: 'Authorization' and its value are written as one key: write the header as a key and its value, Authorization: followed by the value",
      '9:16 notifiers.n.headers["Authorization: <hidden>"]: is empty: expected a string',
    ]);
  });

  it('a credential header written with its value as one key without the colon, in its message too', () => {
    const said = problems(withNotifier('type: webhook', 'url: https://hooks.example.com/x', 'headers: { Authorization Bearer HdrNoColon-5e5e }'));
    expect(said.join('\n')).not.toContain('HdrNoColon-5e5e');
    expect(said).toEqual([
      "9:16 notifiers.n.headers[\"Authorization <hidden>\"]: 'Authorization <hidden>' is not an HTTP header name",
      '9:16 notifiers.n.headers["Authorization <hidden>"]: is empty: expected a string',
    ]);
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

  // A clouds.yaml lists every cloud of its owner, and automation's are most often application credentials
  // (Keystone's v3applicationcredential, which the daemon does not take): whichever profile is read, the whole
  // file and its secure.yaml are parsed.
  it.each([
    ['clouds.yaml', 'clouds.yaml', 'line 11, column 38'],
    ['secure.yaml', 'secure.yaml', 'line 9, column 38'],
  ])("nor an application credential's secret, in another profile of %s", (_case, holder, at) => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-secrets-'));
    const clouds = join(dir, 'clouds.yaml');
    const otc = ['clouds:', '  otc:', '    auth:', '      auth_url: https://iam.test/v3', '      username: u', '      password: pw'];
    const ci = ['  ci:', '    auth_type: v3applicationcredential', '    auth:', '      application_credential_id: 21dced0fd20347869b9ac8ad', '      application_credential_secret: *AppCred-Secret-0x5e'];
    writeFileSync(clouds, lines(...otc, ...(holder === 'clouds.yaml' ? ci : ci.slice(0, 3))));
    writeFileSync(join(dir, 'secure.yaml'), lines('clouds:', '  otc:', '    auth:', '      password: pw', ...(holder === 'secure.yaml' ? ci : [])));
    const said = problems(lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: otc', '  endpoint: https://ecs.example.com'));
    expect(said.join('\n')).not.toContain('AppCred-Secret-0x5e');
    const file = holder === 'clouds.yaml' ? `clouds.yaml ${clouds}` : join(dir, 'secure.yaml');
    expect(said).toEqual([`3:10 cloud.cloud: cannot read ${file}: ${at}: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`]);
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
      `${at}: '<hidden>' is not a duration: write a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s; or off for none ${NOT_SHOWN}`,
    ]);
  });

  it('nor a part of it that a message quotes on its own', () => {
    expect(problems(underWarnAfter('secret: 5mSEKRIT-part'))).toEqual([`6:13 poll.warnAfter.secret: not valid here ${NOT_SHOWN}`]);
    // Four characters of it are enough to be kept back, as redact() hides a secret of four.
    expect(problems(underWarnAfter('secret: 5mSEKR'))).toEqual([`6:13 poll.warnAfter.secret: not valid here ${NOT_SHOWN}`]);
  });
});

// A slip puts a secret, or the variable that gives it, as the value of another setting, whose message (or
// warning) quotes what it refuses: in validate's output, and in the log of a reload.
describe("a secret's value under another setting is not quoted back", () => {
  const ENV = { WEBHOOK_SECRET: 'whsec_CnQJpI/2FFdIJdV+ERk', HOOK_S: 'hook-s3cr3t-value', SMTP_PASSWORD: 'Zq9#SmtpSecretPw!', OS_PASSWORD: 'pw-Summer-2024-x', POLL_SCHEDULE: 'every minute' };
  const withPoll = (poll: string, ...notifier: string[]) =>
    lines(...CLOUD, '  auth: { type: none }', 'poll:', `  ${poll}`, 'notifiers:', '  n:', ...notifier.map((l) => `    ${l}`), 'watches: []');
  const CRON = 'is not a cron expression';
  const said = (text: string) => {
    const result = validateConfigText(text, { env: ENV });
    return (result.ok ? result.warnings : result.issues).map((issue) => formatIssue(issue));
  };

  it.each([
    ['a variable whose name says it is a secret', withPoll('schedule: ${WEBHOOK_SECRET}', 'type: webhook', 'url: https://h.example.com/x'), ENV.WEBHOOK_SECRET,
      `6:13 poll.schedule: '<hidden>' ${CRON} (pattern includes illegal characters): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *" (the value comes from \${WEBHOOK_SECRET}, a secret by its name, and is not shown)`],
    // The alias's setting is not where the variable was written, and its key says nothing of a secret.
    ['a variable whose name says it is a secret, repeated by an alias', withPoll('schedule: "* * * * *"', 'type: webhook', 'url: https://h.example.com/x', 'headers: { X-Team: &k "${WEBHOOK_SECRET}" }', 'timeout: *k'), ENV.WEBHOOK_SECRET,
      "12:14 notifiers.n.timeout: '<hidden>' is not a duration: write a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s (the value comes from ${WEBHOOK_SECRET}, a secret by its name, and is not shown)"],
    ['the value of a secret elsewhere in the file, through a variable of any name', withPoll('schedule: ${HOOK_S}', 'type: webhook', 'url: https://h.example.com/x', 'secret: ${HOOK_S}'), ENV.HOOK_S,
      `6:13 poll.schedule: '<hidden>' ${CRON} (expected 5 or 6 fields but got 1): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *" (the value holds that of notifiers.n.secret, a secret, and is not shown)`],
    ["a credential header's token, copied", withPoll('schedule: "* * * * *"', 'type: webhook', 'url: https://h.example.com/x', 'headers: { Authorization: "Bearer HdrBearer-987654" }', 'timeout: HdrBearer-987654'), 'HdrBearer-987654',
      "12:14 notifiers.n.timeout: '<hidden>' is not a duration: write a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s (the value holds that of notifiers.n.headers.Authorization, a secret, and is not shown)"],
    ['a password as a mail host', withPoll('schedule: "* * * * *"', 'type: email', 'smtp: { host: "${SMTP_PASSWORD}" }', 'from: a@example.com', 'to: [b@example.com]'), ENV.SMTP_PASSWORD,
      "10:19 notifiers.n.smtp.host: '<hidden>' is not a host: write a host name or address only, e.g. smtp.example.com or 10.0.0.25; the port goes in smtp.port (the value comes from ${SMTP_PASSWORD}, a secret by its name, and is not shown)"],
    // Written as a list or a mapping, a secret is refused as such, and what repeats it is not quoted either.
    ['a signing secret written as a list, repeated by an alias', withPoll('schedule: "* * * * *"', 'type: webhook', 'url: https://h.example.com/x', 'secret: &s [SecList-Alias-5b5b]', 'on: *s'), 'SecList-Alias-5b5b',
      "12:9 notifiers.n.on[0]: unknown value '<hidden>' (allowed: success, failure, timeout, not_found, slow) (the value holds that of notifiers.n.secret, a secret, and is not shown)"],
    ['a password written as a mapping, copied', withPoll('schedule: "* * * * *"', 'type: email', 'smtp: { host: smtp.example.com, user: u, password: { pw: SmtpMap-Copy-6c6c } }', 'from: a@example.com', 'to: [SmtpMap-Copy-6c6c]'), 'SmtpMap-Copy-6c6c',
      "12:10 notifiers.n.to[0]: '<hidden>' is not an email address: write ops@example.com or \"Ops Team <ops@example.com>\" (the value holds that of notifiers.n.smtp.password, a secret, and is not shown)"],
  ])('%s', (_case, text, secret, expected) => {
    expect(said(text)).toContain(expected);
    expect(said(text).join('\n')).not.toContain(secret);
  });

  // A chat webhook's URL is its credential (Slack's path, DingTalk's access_token=), and an SMTP URL holds its login.
  it.each([
    ["a chat webhook's URL, copied", withPoll('schedule: "* * * * *"', 'type: webhook', 'url: https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/XyZ9sEcReTt0kEn4Ab', 'timeout: https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/XyZ9sEcReTt0kEn4Ab'), 'XyZ9sEcReTt0kEn4Ab',
      "11:14 notifiers.n.timeout: '<hidden>' is not a duration: write a number and a unit, e.g. 500ms, 10s, 5m, 6h or 1d, or several from the largest unit down, e.g. 1h30m or 2m30s (the value holds that of notifiers.n.url, a secret, and is not shown)"],
    ["the token of a webhook URL's query alone", withPoll('schedule: "* * * * *"', 'type: webhook', 'url: https://oapi.dingtalk.com/robot/send?access_token=9f3c7aDingTalkTok', 'on: [9f3c7aDingTalkTok]'), '9f3c7aDingTalkTok',
      '11:10 notifiers.n.on[0]: unknown value \'<hidden>\' (allowed: success, failure, timeout, not_found, slow) (the value holds that of notifiers.n.url, a secret, and is not shown)'],
    ['a variable of any name that gives the URL, put in the wrong place too', withPoll('schedule: ${CHAT_HOOK}', 'type: webhook', 'url: ${CHAT_HOOK}'), 'QwErTy12HookPath',
      `6:13 poll.schedule: '<hidden>' ${CRON} (pattern includes illegal characters): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *" (the value holds that of notifiers.n.url, a secret, and is not shown)`],
    ['a mail server written as a URL with its login', withPoll('schedule: "* * * * *"', 'type: email', 'smtp: { host: "${SMTP_URL}" }', 'from: a@example.com', 'to: [b@example.com]'), 'Mail-Pw-4411',
      '10:19 notifiers.n.smtp.host: a URL with a login, not a host: write its host alone, smtp.example.com, its port in smtp.port, and its user name and password in smtp.user and smtp.password'],
    ['a URL with a login, in the wrong place', withPoll('schedule: "${SMTP_URL}"', 'type: webhook', 'url: https://h.example.com/x'), 'Mail-Pw-4411',
      `6:13 poll.schedule: '<hidden>' ${CRON} (pattern includes illegal characters): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *" (the value is a URL with a user name or password, and is not shown)`],
  ])('%s', (_case, text, secret, expected) => {
    const env = { ...ENV, CHAT_HOOK: 'https://hooks.example.com/hooks/QwErTy12HookPath', SMTP_URL: 'smtps://mailer:Mail-Pw-4411@smtp.example.com:465' };
    const result = validateConfigText(text, { env });
    const shown = (result.ok ? result.warnings : result.issues).map((issue) => formatIssue(issue));
    expect(shown).toContain(expected);
    expect(shown.join('\n')).not.toContain(secret);
  });

  it('nor in a warning about a valid file', () => {
    const text = lines(...CLOUD, '  auth: { type: password, identityEndpoint: "https://iam.test/v3", userId: u, projectId: p1, password: "${OS_PASSWORD}" }', 'watches:', '  - { serverId: s1, requestId: r1, projectId: "${OS_PASSWORD}" }');
    const warnings = said(text);
    expect(warnings).toEqual([expect.stringMatching(/^6:47 watches\[0\]\.projectId: '<hidden>' is not the project the token is scoped to .* \(the value comes from \$\{OS_PASSWORD\}, a secret by its name, and is not shown\)$/)]);
    expect(warnings.join('\n')).not.toContain(ENV.OS_PASSWORD);
  });

  it.each([['hookSecret'], ['HUAWEICLOUD_SDK_SK'], ['OS_PASSWD'], ['ApiTokens']])('a name that says so in any case and form: %s', (name) => {
    expect(problems(withPoll(`schedule: \${${name}}`, 'type: webhook', 'url: https://h.example.com/x'), { [name]: 'Qz7xK2p9wLm' })).toEqual([
      `6:13 poll.schedule: '<hidden>' ${CRON} (expected 5 or 6 fields but got 1): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *" (the value comes from \${${name}}, a secret by its name, and is not shown)`,
    ]);
  });

  it('a value from a variable whose name says nothing, and that is no secret of the file, is still quoted', () => {
    expect(said(withPoll('schedule: ${POLL_SCHEDULE}', 'type: webhook', 'url: https://h.example.com/x'))).toEqual([
      `6:13 poll.schedule: 'every minute' ${CRON} (expected 5 or 6 fields but got 2): write 5 or 6 fields, [second] minute hour day-of-month month day-of-week, e.g. "*/15 * * * * *"`,
    ]);
  });
});

// The commonest slip of all, the space after the colon left out (or the colon itself), makes the secret's
// line one key with no value: the path that names the problem's place quoted that key, secret and all, in
// validate's output and in the log of a reload.
describe('a secret written on its key\'s line without the ": " between them is not quoted in the path', () => {
  it.each([
    ['a password, the space left out', withAuth('type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p', 'password:Pw-NoSpace-Secret1'), 'Pw-NoSpace-Secret1',
      '9:5 cloud.auth["password:<hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
    ['a token, the colon left out', withAuth('type: token', 'token gAAAAA-NoColon-Tok2'), 'gAAAAA-NoColon-Tok2',
      '6:5 cloud.auth["token <hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
    ['a secret key written with =', withAuth('type: aksk', 'accessKey: AK', 'secretKey=Sk-Equals-Secret3'), 'Sk-Equals-Secret3',
      '7:5 cloud.auth["secretKey=<hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
    ['a token on the first line of its mapping, which runs on into the next', withAuth('token:Tok-RunsOn-Secret4', 'type: token'), 'Tok-RunsOn-Secret4',
      '5:5 cloud.auth["token:<hidden>"]: this key runs on past its line: a colon, or the space after it, is missing here (write key: value), or the next line is indented too far'],
    ['an SMTP password', withNotifier('type: email', 'smtp:', '  host: smtp.example.com', '  user: u', '  password:Smtp-NoSpace-Secret5', 'from: a@example.com', 'to: [b@example.com]'), 'Smtp-NoSpace-Secret5',
      '11:7 notifiers.n.smtp["password:<hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
    ["a webhook's signing secret", withNotifier('type: webhook', 'url: https://hooks.example.com/x', 'secret:whsec_NoSpaceSecret6'), 'NoSpaceSecret6',
      '9:5 notifiers.n["secret:<hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
    ["a chat webhook's URL, whose path is its token", withNotifier('type: webhook', 'url:https://hooks.example.com/hooks/NoSpaceHookTok7'), 'NoSpaceHookTok7',
      '8:5 notifiers.n["url:<hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
    // Names too short to hold a credential's word, as Huawei's SDK and a shell's habits spell them.
    ['a secret key as sk', withAuth('type: aksk', 'accessKey: AK', 'sk:Sk-NoSpace-Secret8'), 'Sk-NoSpace-Secret8',
      '7:5 cloud.auth["sk:<hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
    ['a password as pwd, the colon left out', withAuth('type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p', 'pwd Pwd-NoColon-Secret9'), 'Pwd-NoColon-Secret9',
      '9:5 cloud.auth["pwd <hidden>"]: a key with no value: a colon, or the space after it, is missing here (write key: value)'],
  ])('%s', (_case, text, secret, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(secret);
    expect(said).toEqual([expected]);
  });

  it('in a { } mapping, where it is read as a key the mapping does not know, in its message too', () => {
    const said = problems(lines(...CLOUD, '  auth: { type: token, token:Tok-InFlow-Secret8 }', 'watches: []'));
    expect(said.join('\n')).not.toContain('Tok-InFlow-Secret8');
    expect(said).toEqual([
      '4:9 cloud.auth.token: required: token (or tokenFile)',
      "4:24 cloud.auth[\"token:<hidden>\"]: unknown key 'token:<hidden>' (allowed: type, token, tokenFile)",
    ]);
  });

  it('a key that names no secret is still quoted whole', () => {
    expect(problems(withAuth('type: token', 'token: t', 'region:eu-de'))).toEqual([
      '7:5 cloud.auth["region:eu-de"]: a key with no value: a colon, or the space after it, is missing here (write key: value)',
    ]);
  });
});

// A chat webhook's URL holds its token (Mattermost's /hooks/<key>, DingTalk's access_token=): a line of it
// that YAML misreads is hidden as a secret's is, where the slip lands it.
describe("a webhook URL that YAML misreads is not quoted back", () => {
  const KEY = 'xf3k9q7bdpgt5ci8ajz1wdroyh';
  const notifier = (...l: string[]) => lines(...CLOUD, '  auth: { type: none }', 'notifiers:', '  chat:', ...l, 'watches: []');

  it.each([
    ['its line indented short of the notifier\'s keys, the next one further', notifier('    type: webhook', `  url: https://mm.example.com/hooks/${KEY}`, '    on: [failure]'),
      `8:8 notifiers.url: nested mappings are not allowed in compact mappings: quote a value that contains ": ", or check the indentation ${HIDDEN}`],
    ['a colon after it', notifier('    type: webhook', `    url: https://mm.example.com/hooks/${KEY}:`),
      `8:10 notifiers.chat.url: nested mappings are not allowed in compact mappings: quote a value that contains ": ", or check the indentation ${HIDDEN}`],
  ])('%s', (_case, text, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(KEY);
    expect(said).toEqual([expected]);
  });

  it('one without a token is still quoted', () => {
    expect(problems(notifier('    type: webhook', '    url: https://hooks.example.com/:'))).toEqual([
      '8:10 notifiers.chat.url["https://hooks.example.com/"]: nested mappings are not allowed in compact mappings: quote a value that contains ": ", or check the indentation',
    ]);
  });
});

// A long token is pasted on the line below its key, in line with it: YAML reads it as a key of its own, and
// the path of the problem quoted it whole (cloud.auth.gAAAA...).
describe("a secret on the line below its key, in line with it, is not quoted back", () => {
  const NEXT_LINE = 'the value is on the line below its key, in line with it, and YAML reads it as a key of its own: write it on the line of its key, or indent it further than the key (the value is a secret, not shown here)';

  it.each([
    ['a token', withAuth('type: token', 'token:', 'gAAAAA-NextLine-Tok-8f2e'), 'gAAAAA-NextLine-Tok-8f2e', `7:5 cloud.auth.token: ${NEXT_LINE}`],
    ['a token above another key, which it runs on into', withAuth('token:', 'gAAAAA-NextLine-Tok-8f2e', 'type: token'), 'gAAAAA-NextLine-Tok-8f2e', `6:5 cloud.auth.token: ${NEXT_LINE}`],
    ['an SMTP password', withNotifier('type: email', 'smtp:', '  host: smtp.example.com', '  user: u', '  password:', '  Smtp-NextLine-Pw-77', 'from: a@example.com', 'to: [b@example.com]'), 'Smtp-NextLine-Pw-77', `12:7 notifiers.n.smtp.password: ${NEXT_LINE}`],
    ['a credential header', withNotifier('type: webhook', 'url: https://hooks.example.com/x', 'headers:', '  Authorization:', '  Bearer HdrNextLine-4d4d'), 'HdrNextLine-4d4d', `11:7 notifiers.n.headers.Authorization: ${NEXT_LINE}`],
  ])('%s', (_case, text, secret, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(secret);
    expect(said).toEqual([expected]);
  });

  // A block value (| or >) ends at its first line indented no further than its key: that line, the secret
  // or its second line, is read as a key.
  const IN_LINE = 'a line of the | or > value is in line with its key, and YAML reads it as a key of its own: indent every line of the value further than its key (the value is a secret, not shown here)';
  const PW = ['type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p'];

  it.each([
    ['a token after |', withAuth('type: token', 'token: |', 'gAAAAA-Block-InLine-Tok-1'), 'gAAAAA-Block-InLine-Tok-1', [`7:5 cloud.auth.token: ${IN_LINE}`]],
    ['the second line of a password after |', withAuth(...PW, 'password: |', '  first-line', 'Block-SecondLine-Pw-2'), 'Block-SecondLine-Pw-2', [`11:5 cloud.auth.password: ${IN_LINE}`]],
    ['a password after >-, a blank line and a comment between', withAuth(...PW, 'password: >-', '  first-line', '', '# the rest', 'Block-Folded Pw-3'), 'Block-Folded Pw-3', [`13:5 cloud.auth.password: ${IN_LINE}`]],
    ['a token after |, above another key, which it runs on into', withAuth('token: |', 'gAAAAA-Block-RunsOn-Tok-4', 'type: token'), 'gAAAAA-Block-RunsOn-Tok-4', [`6:5 cloud.auth.token: ${IN_LINE}`]],
  ])('in a block value: %s', (_case, text, secret, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(secret);
    expect(said).toEqual(expected);
  });

  it('in clouds.yaml too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-secrets-'));
    const clouds = join(dir, 'clouds.yaml');
    writeFileSync(clouds, lines('clouds:', '  otc:', '    auth:', '      auth_url: https://iam.test/v3', '      username: u', '      password:', '      clouds-NextLine-Pw-3', '      project_id: p'));
    const said = problems(lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: otc', '  endpoint: https://ecs.example.com'));
    expect(said.join('\n')).not.toContain('clouds-NextLine-Pw-3');
    expect(said).toEqual([`3:10 cloud.cloud: cannot read clouds.yaml ${clouds}: line 7, column 7: ${NEXT_LINE}`]);
  });

  it('a secret left empty above a key and its value is said to be empty', () => {
    expect(problems(withAuth('token:', 'type: token'))).toEqual(['5:5 cloud.auth.token: required: token (or tokenFile)']);
  });
});

// A secret written as a list or a mapping, its item or key on the lines below (`password:` and `- *hunter2`),
// was read as settings under its key: YAML's problem of an item quoted it, in its message and its path.
describe('a secret written as a list or a mapping below its key is not quoted back', () => {
  const PW = ['type: password', 'identityEndpoint: https://iam.test/v3', 'userId: u', 'projectId: p'];
  const HOOK = ['type: webhook', 'url: https://hooks.example.com/x'];

  it.each([
    ['a password as a list item that starts with *', withAuth(...PW, 'password:', '  - *Pw-ListItem-Sec1'), 'Pw-ListItem-Sec1',
      `10:9 cloud.auth.password: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`],
    ['a password as a list item that starts with |', withAuth(...PW, 'password:', '  - |Pw-ListPipe-Sec2'), 'Pw-ListPipe-Sec2',
      `10:10 cloud.auth.password: Block scalar header includes extra characters: <hidden> ${HIDDEN}`],
    ['a password as a mapping\'s value that holds ": "', withAuth(...PW, 'password:', '  a: Pw-MapColon-Sec3: x'), 'Pw-MapColon-Sec3',
      `10:10 cloud.auth.password: nested mappings are not allowed in compact mappings: quote a value that contains ": ", or check the indentation ${HIDDEN}`],
    ['a password as a mapping\'s key, set twice', withAuth(...PW, 'password:', '  Pw-MapKeyTwice-Sec4: x', '  Pw-MapKeyTwice-Sec4: y'), 'Pw-MapKeyTwice-Sec4', [
      '10:7 cloud.auth.password: expected a string, got a mapping',
      `11:7 cloud.auth.password: this key is already set at line 10 in the same mapping: merge the two, or remove one ${HIDDEN}`,
    ]],
    ["a webhook's signing secret as a list item that starts with &", withNotifier(...HOOK, 'secret:', '  - &whsec_ListAmp5'), 'ListAmp5',
      `10:9 notifiers.n.secret: <hidden> is read as an anchor (a name for the value after it), and no value comes after it: put a value that starts with & in quotes ("..." or '...') ${HIDDEN}`],
    ['a credential header given as a list', withNotifier(...HOOK, 'headers:', '  Authorization:', '    - *Hdr-ListItem-Sec6'), 'Hdr-ListItem-Sec6',
      `11:11 notifiers.n.headers.Authorization: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`],
    ['an SMTP password as a list item with a tag', withNotifier('type: email', 'smtp:', '  host: smtp.example.com', '  user: u', '  password:', '    - !Smtp-ListTag-Sec7', 'from: a@example.com', 'to: [b@example.com]'), 'Smtp-ListTag-Sec7', [
      '12:9 notifiers.n.smtp.password: expected a string, got a list',
      `12:11 notifiers.n.smtp.password: <hidden> is no tag ecs-action-watch reads (only YAML 1.2's !!str, !!int, !!float, !!bool, !!null, !!map and !!seq), and the value would be read as if it were not there: remove it, and write the value itself (\${VAR} takes one from the environment) ${HIDDEN}`,
    ]],
  ])('%s', (_case, text, secret, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(secret);
    expect(said).toEqual(typeof expected === 'string' ? [expected] : expected);
  });

  // As a compose file writes its environment: each header an item of a list, which the schema refuses.
  it.each([
    ['a list of headers, a credential one read as an alias', withNotifier(...HOOK, 'headers:', '  - X-Api-Key: *Hdr-ListForm-Sec8'), 'Hdr-ListForm-Sec8',
      `10:20 notifiers.n.headers[0].X-Api-Key: <hidden> names no anchor set before it: set &<hidden> on a value above, or correct the name ${HIDDEN}`],
    ['a list of headers in [ ], a credential one holding ": "', withNotifier(...HOOK, 'headers: [Authorization: Bearer Hdr-FlowList-Sec9: x]'), 'Hdr-FlowList-Sec9',
      `9:30 notifiers.n.headers[0].Authorization: Block collections are not allowed within flow collections ${HIDDEN}`],
  ])('%s', (_case, text, secret, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain(secret);
    expect(said).toEqual([expected]);
  });

  it('a notifier named as a secret is still settings, whose problems are said', () => {
    expect(problems(lines(...CLOUD, '  auth: { type: none }', 'notifiers:', '  secret:', '    type: webhook', '    url: *nowhere', 'watches: []'))).toEqual([
      '8:10 notifiers.secret.url: *nowhere names no anchor set before it: set &nowhere on a value above, or correct the name',
    ]);
  });
});

// A token pasted twice, the second time on a line of its own: YAML reads that line as a key, and the path
// of its problem (and an unknown key's message) quoted it, in validate's output and in the log of a reload.
describe('a secret of the file repeated as a key elsewhere is not quoted back', () => {
  const REPEATS = '(it repeats the value of cloud.auth.token, a secret, which is not shown)';
  const withPoll = (...poll: string[]) => lines(...CLOUD, '  auth: { type: token, token: gAAAAA-Pasted-Twice-7c1e }', 'poll:', ...poll.map((l) => `  ${l}`), 'watches: []');

  it.each([
    ['on a line of its own', withPoll('schedule: "* * * * *"', 'gAAAAA-Pasted-Twice-7c1e'),
      `7:3 poll.<hidden>: a key with no value: a colon, or the space after it, is missing here (write key: value) ${REPEATS}`],
    ['above a setting, which it runs on into', withPoll('gAAAAA-Pasted-Twice-7c1e', 'schedule: "* * * * *"'),
      `6:3 poll["<hidden> schedule"]: this key runs on past its line: a colon, or the space after it, is missing here (write key: value), or the next line is indented too far ${REPEATS}`],
    ['with a colon after it', withPoll('gAAAAA-Pasted-Twice-7c1e:'),
      `6:3 poll.<hidden>: unknown key '<hidden>' (allowed: schedule, retries, concurrency, rateLimit, deadline, warnAfter, batchWindow) ${REPEATS}`],
  ])('%s', (_case, text, expected) => {
    const said = problems(text);
    expect(said.join('\n')).not.toContain('Pasted-Twice');
    expect(said).toEqual([expected]);
  });

  it.each([
    ['with a colon after it', 'gAAAAA-FromEnv-Pasted-2b2b:', `7:3 poll.<hidden>: unknown key '<hidden>' (allowed: schedule, retries, concurrency, rateLimit, deadline, warnAfter, batchWindow) ${REPEATS}`],
    // A syntax error stops the check before the variables are put in.
    ['on a line of its own', 'gAAAAA-FromEnv-Pasted-2b2b', `7:3 poll.<hidden>: a key with no value: a colon, or the space after it, is missing here (write key: value) ${REPEATS}`],
  ])('nor one a variable gave, %s', (_case, line, expected) => {
    const text = lines(...CLOUD, '  auth: { type: token, token: "${ECS_AUTH_TOKEN}" }', 'poll:', '  schedule: "* * * * *"', `  ${line}`, 'watches: []');
    expect(problems(text, { ECS_AUTH_TOKEN: 'gAAAAA-FromEnv-Pasted-2b2b' })).toEqual([expected]);
  });

  it.each([['short', 'sched'], ['a word', 'schedules']])('a key that holds a secret of the file that is %s is still quoted', (_case, token) => {
    expect(problems(lines(...CLOUD, `  auth: { type: token, token: ${token} }`, 'poll:', '  schedules: "* * * * *"', 'watches: []'))).toEqual([
      "6:3 poll.schedules: unknown key 'schedules' (allowed: schedule, retries, concurrency, rateLimit, deadline, warnAfter, batchWindow); did you mean 'schedule'?",
    ]);
  });
});
