import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const MIN = 60_000;
const CLOUD = ['cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1'];

describe('a valid watch file', () => {
  it('gets every default, durations in milliseconds', () => {
    const config = parseConfig(lines(...CLOUD), { env: {} });
    expect(config).toEqual({
      cloud: {
        endpoint: 'https://ecs.example.com',
        projectId: 'p1',
        auth: { type: 'none' },
        interface: 'public',
        tls: {},
        microversion: 'auto',
        timeout: 10_000,
      },
      poll: {
        schedule: '*/15 * * * * *',
        retries: 4,
        concurrency: 8,
        deadline: 6 * 3_600_000,
        // No early warning unless the file asks for one.
        warnAfter: { byAction: {}, other: null },
      },
      notifiers: {},
      delivery: { maxAge: 24 * 3_600_000, minDelay: 1000, maxDelay: 5 * 60_000 },
      state: { path: './ecs-action-watch.state.json', retention: 7 * 86_400_000 },
      shutdown: { drainTimeout: 10_000 },
      http: { port: 9464, host: '::' },
      watches: [],
      track: [],
    });
  });

  it('fills the defaults of each notifier type', () => {
    const config = parseConfig(
      lines(
        ...CLOUD,
        'notifiers:',
        '  ops-mail: { type: email, smtp: { host: smtp.example.com }, from: ecs@example.com, to: [ops@example.com] }',
        '  chat: { type: webhook, url: "https://hooks.example.com/ecs" }',
      ),
      { env: {} },
    );
    const all = ['success', 'failure', 'timeout', 'not_found', 'slow'];
    expect(config.notifiers).toEqual({
      'ops-mail': {
        type: 'email',
        smtp: { host: 'smtp.example.com', port: 587, secure: false, timeout: 30_000, connections: 3 },
        from: 'ecs@example.com',
        to: ['ops@example.com'],
        on: all,
      },
      chat: { type: 'webhook', url: 'https://hooks.example.com/ecs', headers: {}, timeout: 10_000, on: all },
    });
  });

  it('takes mail addresses at a domain without a dot, as internal relays deliver them', () => {
    const config = parseConfig(
      lines(...CLOUD, 'notifiers:', '  ops-mail: { type: email, smtp: { host: localhost }, from: root@localhost, to: [ops@mailhost, "On Call <oncall@relay>"] }'),
      { env: {} },
    );
    expect(config.notifiers['ops-mail']).toMatchObject({ from: 'root@localhost', to: ['ops@mailhost', 'On Call <oncall@relay>'] });
  });

  it('takes mail addresses at an internationalised domain, and with a local part in any script, which nodemailer sends with SMTPUTF8', () => {
    const to = ['ops@bücher.de', 'On Call <oncall@BÜCHER.de>', 'müller@bücher.de', '用户@例子.广告', 'δοκιμή@παράδειγμα.δοκιμή', 'ops@xn--bcher-kva.de'];
    const config = parseConfig(lines(...CLOUD, 'notifiers:', `  ops-mail: { type: email, smtp: { host: localhost }, from: ecs@bücher.de, to: [${to.map((t) => `"${t}"`).join(', ')}] }`), { env: {} });
    expect(config.notifiers['ops-mail']).toMatchObject({ from: 'ecs@bücher.de', to });
  });

  it('sends mail to the SMTP host named, by name or by IPv4 or IPv6 address', () => {
    for (const host of ['smtp.example.com', 'smtp.example.com.', 'mail-relay', 'mail_relay', '10.0.0.25', '::1', 'fe80::25']) {
      const config = parseConfig(lines(...CLOUD, 'notifiers:', `  m: { type: email, smtp: { host: "${host}" }, from: a@example.com, to: [b@example.com] }`), { env: {} });
      expect(config.notifiers['m']).toMatchObject({ smtp: { host } });
    }
  });

  it('reads a key with nothing after it as left out', () => {
    const config = parseConfig(lines(...CLOUD, '  auth:', 'poll:', 'notifiers:', 'delivery:', 'state:', 'http:', 'watches:'), { env: {} });
    expect(config.cloud.auth).toEqual({ type: 'none' });
    expect(config.poll.retries).toBe(4);
    expect(config.notifiers).toEqual({});
    expect(config.http.port).toBe(9464);
    expect(config.watches).toEqual([]);
    expect(parseConfig(lines(...CLOUD, 'poll:', '  warnAfter:'), { env: {} }).poll.warnAfter).toEqual({ byAction: {}, other: null });
  });

  it('reads a file that starts with %YAML 1.1 as YAML 1.2: a notifier\'s on: is that key, yes and 010 are what they say', () => {
    const config = parseConfig(
      lines('%YAML 1.1', '---', ...CLOUD, 'poll:', '  retries: 010', 'notifiers:', '  chat:', '    type: webhook', '    url: https://hooks.example.com/ecs', '    on: [failure]', '    headers: { X-Enabled: yes }'),
      { env: {} },
    );
    expect(config.poll.retries).toBe(10);
    expect(config.notifiers['chat']).toMatchObject({ on: ['failure'], headers: { 'X-Enabled': 'yes' } });
  });

  it('listens where http.host says, IPv4 or IPv6', () => {
    for (const host of ['127.0.0.1', '::1', '::', '10.0.0.5']) {
      expect(parseConfig(lines(...CLOUD, 'http:', `  host: "${host}"`), { env: {} }).http).toEqual({ port: 9464, host });
    }
  });

  it('resolves each watch project: its own, else cloud.projectId', () => {
    const config = parseConfig(
      lines(
        ...CLOUD,
        'watches:',
        '  - { requestId: req-1, serverId: s1 }',
        '  - { requestId: req-2, serverId: s2, projectId: p2, name: resize db-01, notify: [], deadline: 90m }',
      ),
      { env: {} },
    );
    expect(config.watches).toEqual([
      { requestId: 'req-1', serverId: 's1', projectId: 'p1' },
      { requestId: 'req-2', serverId: 's2', projectId: 'p2', name: 'resize db-01', notify: [], deadline: 90 * 60_000 },
    ]);
  });

  it('tracks a server, or a whole project, once in each project it is named for', () => {
    const config = parseConfig(
      lines(...CLOUD, 'track:', '  - { servers: [s1] }', '  - { servers: [s1], projectId: p2 }', '  - { project: all }', '  - { project: all, projectId: p2 }'),
      { env: {} },
    );
    expect(config.track).toEqual([
      { servers: ['s1'], projectId: 'p1' },
      { servers: ['s1'], projectId: 'p2' },
      { project: 'all', projectId: 'p1' },
      { project: 'all', projectId: 'p2' },
    ]);
  });

  it('takes a maxDelay as long as minDelay: every retry waits the same', () => {
    const config = parseConfig(lines(...CLOUD, 'delivery:', '  minDelay: 30s', '  maxDelay: 30s'), { env: {} });
    expect(config.delivery).toMatchObject({ minDelay: 30_000, maxDelay: 30_000 });
  });

  it('reads early warnings and batches per watch, with poll.batchWindow for the watches that set none', () => {
    const config = parseConfig(
      lines(
        ...CLOUD,
        'poll:',
        '  batchWindow: 1h',
        'watches:',
        '  - { requestId: req-1, serverId: s1, batch: fleet-2026-11, warnAfter: 20m }',
        '  - { requestId: req-2, serverId: s2, batch: fleet-2026-11, batchWindow: 30m, warnAfter: off }',
      ),
      { env: {} },
    );
    expect(config.poll.batchWindow).toBe(60 * MIN);
    expect(config.watches).toEqual([
      { requestId: 'req-1', serverId: 's1', projectId: 'p1', batch: 'fleet-2026-11', warnAfter: 20 * MIN },
      { requestId: 'req-2', serverId: 's2', projectId: 'p1', batch: 'fleet-2026-11', batchWindow: 30 * MIN, warnAfter: null },
    ]);
  });

  it('reads a template from a file, and keeps one written in place', () => {
    const slack = fileURLToPath(new URL('../../docs/templates/slack.json.mustache', import.meta.url));
    const config = parseConfig(
      lines(
        ...CLOUD,
        'notifiers:',
        `  chat: { type: webhook, url: "https://hooks.slack.com/services/T0/B0/x", template: { bodyFile: "${slack}" } }`,
        '  mail: { type: email, smtp: { host: h }, from: a@example.com, to: [b@example.com], template: { subject: "{{headline}}" } }',
      ),
      { env: {} },
    );
    expect(config.notifiers['chat']).toMatchObject({ template: { body: readFileSync(slack, 'utf8') } });
    expect(config.notifiers['mail']).toMatchObject({ template: { subject: '{{headline}}', text: undefined } });
  });

  it('reads a template file as UTF-8, without the byte order mark an editor may write, and refuses one that is not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-template-'));
    try {
      const bom = join(dir, 'bom.mustache');
      writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"text":"caf\u00e9 {{headline}}"}')]));
      const config = parseConfig(lines(...CLOUD, 'notifiers:', `  chat: { type: webhook, url: "https://hooks.example.com/x", template: { bodyFile: "${bom}" } }`), { env: {} });
      expect(config.notifiers['chat']).toMatchObject({ template: { body: '{"text":"caf\u00e9 {{headline}}"}' } });
      const latin1 = join(dir, 'latin1.mustache');
      writeFileSync(latin1, Buffer.from('{"text":"caf\xe9"}', 'latin1'));
      expect(() => parseConfig(lines(...CLOUD, 'notifiers:', `  chat: { type: webhook, url: "https://hooks.example.com/x", template: { bodyFile: "${latin1}" } }`), { env: {} }))
        .toThrow(`cannot read the template ${latin1}: is not UTF-8 text (line 1, column 13 is not): save it as UTF-8`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the project of a catalog-style endpoint when cloud.projectId is left out', () => {
    const config = parseConfig(
      lines('cloud:', '  endpoint: https://ecs.example.com/v2.1/p9', 'watches:', '  - { requestId: req-1, serverId: s1 }'),
      { env: {} },
    );
    expect(config.watches[0]?.projectId).toBe('p9');
  });

  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5h', 5_400_000],
    ['1d', 86_400_000],
    ['24d', 24 * 86_400_000],
    ['1h30m', 5_400_000],
    ['2m30s', 150_000],
    ['1d12h', 129_600_000],
    ['1m0.5s', 60_500],
    ['1s500ms', 1500],
    ['1.5ms', 2],
    ['" 90m "', 5_400_000],
  ])('reads the duration %s as %i ms', (text, ms) => {
    expect(parseConfig(lines(...CLOUD, `  timeout: ${text}`), { env: {} }).cloud.timeout).toBe(ms);
  });

  it.each([
    ['50/s', { count: 50, perMs: 1000 }],
    ['600/m', { count: 600, perMs: 60_000 }],
    ['1000/h', { count: 1000, perMs: 3_600_000 }],
    ['" 50/s "', { count: 50, perMs: 1000 }],
  ])('reads the rate limit %s', (text, rate) => {
    expect(parseConfig(lines(...CLOUD, 'poll:', `  rateLimit: ${text}`), { env: {} }).poll.rateLimit).toEqual(rate);
  });

  it('takes cloud.projectId over the project of a catalog-style endpoint', () => {
    const config = parseConfig(
      lines('cloud:', '  endpoint: https://ecs.example.com/v2.1/p9', '  projectId: p1', 'watches:', '  - { requestId: req-1, serverId: s1 }'),
      { env: {} },
    );
    expect(config.watches[0]?.projectId).toBe('p1');
  });

  it('takes token auth, a fixed microversion and addresses with a display name', () => {
    const config = parseConfig(
      lines(
        ...CLOUD,
        '  auth: { type: token, token: t0k }',
        '  microversion: "2.60"',
        'notifiers:',
        '  ops-mail:',
        '    type: email',
        '    smtp: { host: smtp.example.com }',
        '    from: ECS Watch <ecs@example.com>',
        '    to: ["Ops <ops@example.com>", dev@example.com]',
      ),
      { env: {} },
    );
    expect(config.cloud.auth).toEqual({ type: 'token', token: 't0k' });
    expect(config.cloud.microversion).toBe('2.60');
    expect(config.notifiers['ops-mail']).toMatchObject({ from: 'ECS Watch <ecs@example.com>', to: ['Ops <ops@example.com>', 'dev@example.com'] });
  });
});

describe('aliases, as the README recommends them', () => {
  const watches = (count: number) => {
    const rows = [...CLOUD, 'notifiers:', '  ops: {type: webhook, url: "https://h.example.com/x"}', 'watches:'];
    rows.push('  - {requestId: req-0, serverId: s0, notify: &team [ops], deadline: &long 12h}');
    for (let i = 1; i < count; i++) rows.push(`  - {requestId: req-${i}, serverId: s${i}, notify: *team, deadline: *long}`);
    return lines(...rows);
  };

  it('repeats an anchor in more than 100 watches (notify: *team)', () => {
    const config = parseConfig(watches(102), { env: {} });
    expect(config.watches).toHaveLength(102);
    expect(config.watches[101]).toMatchObject({ notify: ['ops'], deadline: 12 * 3_600_000 });
  });

  it('resolves 40,000 aliases at once (yaml scans the file for the anchor of each: 26 s, past the test timeout)', () => {
    expect(parseConfig(watches(20_000), { env: {} }).watches).toHaveLength(20_000);
  });
});

describe('${VAR} in values', () => {
  const mail = (smtp: string[]) =>
    lines(...CLOUD, 'notifiers:', '  ops-mail:', '    type: email', '    smtp:', ...smtp, '    from: ecs@example.com', '    to: [ops@example.com]');

  it('replaces variables and falls back to defaults, also for a variable set but empty', () => {
    const config = parseConfig(
      lines(
        'cloud:',
        '  endpoint: https://${ECS_HOST}',
        '  projectId: ${PROJECT:-p-default}',
        '  region: ${REGION:-eu-de}',
        '  auth: { type: token, token: "${TOKEN}" }',
      ),
      { env: { ECS_HOST: 'ecs.example.com', REGION: '', TOKEN: 'secret-token' } },
    );
    expect(config.cloud).toMatchObject({
      endpoint: 'https://ecs.example.com',
      projectId: 'p-default',
      region: 'eu-de',
      auth: { type: 'token', token: 'secret-token' },
    });
  });

  it('writes $${VAR} as a literal ${VAR}, set or not', () => {
    const config = parseConfig(lines(...CLOUD, '  region: "$${REGION}-$${X:-y}"'), { env: { REGION: 'eu-de' } });
    expect(config.cloud.region).toBe('${REGION}-${X:-y}');
  });

  it('keeps a value with ": " or "\\n- x" one string: it cannot inject YAML', () => {
    const name = 'web: 01\n- requestId: req-evil\n  serverId: s9\nnotify: [x]';
    const config = parseConfig(lines(...CLOUD, 'watches:', '  - requestId: req-1', '    serverId: s1', '    name: ${NAME}'), {
      env: { NAME: name },
    });
    expect(config.watches).toEqual([{ requestId: 'req-1', serverId: 's1', projectId: 'p1', name }]);
  });

  it('turns the text of a number or boolean into one where the schema expects it', () => {
    const config = parseConfig(mail(['      host: ${SMTP_HOST}', '      port: ${SMTP_PORT:-465}', '      secure: ${SMTP_SECURE:-true}']), {
      env: { SMTP_HOST: '127.0.0.1' },
    });
    expect(config.notifiers['ops-mail']).toMatchObject({ smtp: { host: '127.0.0.1', port: 465, secure: true } });
  });

  it('reads a number, false, a duration, off and a rate from variables with spaces or a line end around them', () => {
    const config = parseConfig(
      mail(['      host: smtp.example.com', '      port: ${SMTP_PORT}', '      secure: ${SMTP_SECURE}']) +
        lines('poll:', '  deadline: ${DEADLINE}', '  warnAfter: ${WARN_AFTER}', '  rateLimit: ${RATE}'),
      { env: { SMTP_PORT: ' 2525\n', SMTP_SECURE: 'false', DEADLINE: ' 90m ', WARN_AFTER: ' off\n', RATE: '50/s ' } },
    );
    expect(config.notifiers['ops-mail']).toMatchObject({ smtp: { port: 2525, secure: false } });
    expect(config.poll).toMatchObject({ deadline: 90 * MIN, warnAfter: { byAction: {}, other: null }, rateLimit: { count: 50, perMs: 1000 } });
  });

  it('takes port 465 for an SMTP server with implicit TLS and 587 for one without, unless the file gives one', () => {
    const portOf = (smtp: string[]) => parseConfig(mail(['      host: smtp.example.com', ...smtp]), { env: {} }).notifiers['ops-mail'];
    expect(portOf(['      secure: true'])).toMatchObject({ smtp: { port: 465, secure: true } });
    expect(portOf(['      secure: false'])).toMatchObject({ smtp: { port: 587, secure: false } });
    expect(portOf(['      secure: true', '      port: 2465'])).toMatchObject({ smtp: { port: 2465, secure: true } });
  });

  it('reads true or false from a variable in each form YAML reads written (True, TRUE), and keeps it text where text is expected', () => {
    const secure = (written: string, env: NodeJS.ProcessEnv = {}) => parseConfig(mail(['      host: smtp.example.com', `      secure: ${written}`]), { env }).notifiers['ops-mail'];
    for (const [text, value] of [['True', true], ['TRUE', true], ['False', false], ['FALSE', false]] as const) {
      expect(secure(text)).toMatchObject({ smtp: { secure: value } });
      expect(secure('${SMTP_SECURE}', { SMTP_SECURE: text })).toMatchObject({ smtp: { secure: value } });
    }
    const config = parseConfig(mail(['      host: smtp.example.com', '      user: u', '      password: ${SMTP_PASSWORD}']), { env: { SMTP_PASSWORD: 'True' } });
    expect(config.notifiers['ops-mail']).toMatchObject({ smtp: { password: 'True' } });
  });

  it('keeps a string that looks like a number a string where a string is expected', () => {
    const config = parseConfig(mail(['      host: smtp.example.com', '      user: ${SMTP_USER}', '      password: ${SMTP_PASSWORD}']), {
      env: { SMTP_USER: '1234', SMTP_PASSWORD: '007' },
    });
    expect(config.notifiers['ops-mail']).toMatchObject({ smtp: { user: '1234', password: '007' } });
  });

  it('reads an empty optional secret, as ${VAR:-} gives it, as not set', () => {
    const config = parseConfig(
      lines(
        ...CLOUD,
        'notifiers:',
        '  ops-mail:',
        '    type: email',
        '    smtp: { host: smtp.example.com, user: "${SMTP_USER:-}", password: "${SMTP_PASSWORD:-}" }',
        '    from: ecs@example.com',
        '    to: [ops@example.com]',
        '  chat: { type: webhook, url: "https://hooks.example.com", secret: "${WEBHOOK_SECRET:-}" }',
      ),
      { env: {} },
    );
    const mailer = config.notifiers['ops-mail'];
    const hook = config.notifiers.chat;
    expect(mailer?.type === 'email' && [mailer.smtp.user, mailer.smtp.password]).toEqual([undefined, undefined]);
    expect(hook?.type === 'webhook' && hook.secret).toBeUndefined();
  });

  it('leaves keys alone', () => {
    const config = parseConfig(lines(...CLOUD, 'notifiers:', '  chat:', '    type: webhook', '    url: https://hooks.example.com', '    headers: { X-Var: "${V}" }'), {
      env: { V: 'value' },
    });
    expect(config.notifiers.chat).toMatchObject({ headers: { 'X-Var': 'value' } });
  });
});

describe('watch.example.yaml', () => {
  const text = readFileSync(new URL('../../watch.example.yaml', import.meta.url), 'utf8');
  const env = {
    ECS_AUTH_TOKEN: 'token',
    SMTP_USER: 'user',
    SMTP_PASSWORD: 'password',
    WEBHOOK_SECRET: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
  };

  it('is valid once its variables are set', () => {
    const config = parseConfig(text, { env });
    expect(Object.keys(config.notifiers)).toEqual(['ops-mail', 'chat']);
    expect(config.watches.map((w) => w.kind ?? 'instance-action')).toEqual(['instance-action', 'instance-action', 'instance-action', 'instance-action', 'ecs-job']);
    expect(config.cloud.auth).toEqual({ type: 'token', token: 'token' });
  });

  it('states every default it mentions as the value the schema gives', () => {
    // The example writes each defaulted key with its default value, so leaving them out changes nothing.
    const defaults = parseConfig(lines(...CLOUD), { env: {} });
    const example = parseConfig(text, { env });
    expect(example.cloud.timeout).toBe(defaults.cloud.timeout);
    expect(example.cloud.microversion).toBe(defaults.cloud.microversion);
    expect(example.cloud.interface).toBe(defaults.cloud.interface);
    const { rateLimit: _rateLimit, batchWindow: _batchWindow, warnAfter, ...poll } = example.poll;
    const { warnAfter: _off, ...pollDefaults } = defaults.poll;
    expect(poll).toEqual(pollDefaults);
    // Early warnings are off by default: the example turns them on with auto's durations, written out.
    expect(warnAfter).toEqual(parseConfig(lines(...CLOUD, 'poll:', '  warnAfter: auto'), { env: {} }).poll.warnAfter);
    expect(example.delivery).toEqual(defaults.delivery);
    expect(example.state).toEqual(defaults.state);
    expect(example.http).toEqual(defaults.http);
  });
});
