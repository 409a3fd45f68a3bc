import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, validateConfigText, type ConfigIssue } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { configWarnings } from '../../src/config/warnings.ts';
import { cronZone } from '../../src/watch/cronZone.ts';

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const cloud = (microversion: string) => lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', `  microversion: ${microversion}`);

describe('warnings of a valid file', () => {
  it.each(['auto', '"2.51"', '"2.60"', '"2.84"'])('none for microversion %s', (mv) => {
    expect(validateConfigText(cloud(mv), { env: {} })).toMatchObject({ ok: true, warnings: [] });
  });

  it("an identity endpoint that is the compute API's address is said at its line:col, with where the login goes and the fix; Keystone's own paths are not", () => {
    const login = (identityEndpoint: string) => validateConfigText(lines(
      'cloud:',
      '  endpoint: https://ecs.eu-de.otc.t-systems.com',
      '  projectId: p1',
      '  auth:',
      '    type: password',
      `    identityEndpoint: ${identityEndpoint}`,
      '    userId: u1',
      '    password: pw',
      '    projectId: p1',
    ), { env: {} });
    const saidAt = (identityEndpoint: string) => {
      const result = login(identityEndpoint);
      return result.ok ? result.warnings.map((w) => w.path) : result;
    };
    for (const good of ['https://iam.eu-de.otc.t-systems.com/v3', 'https://iam.eu-de.otc.t-systems.com', 'https://keystone.example.com:5000/v2.0', 'https://cloud.example.com/identity/v3/auth/tokens']) {
      expect(saidAt(good)).toEqual([]);
    }
    const result = login('https://ecs.eu-de.otc.t-systems.com/v2.1');
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 6, col: 23, path: 'cloud.auth.identityEndpoint' }] });
    expect(result.ok && result.warnings[0]?.message).toBe(
      "'https://ecs.eu-de.otc.t-systems.com/v2.1' is a compute API's address (/v2.1 in its path), not the identity service's: the login goes to https://ecs.eu-de.otc.t-systems.com/v3/auth/tokens, and an answer there (a 401, a 404) would be told as a refused password or no identity service. Write the URL Keystone or IAM serves /v3 under, e.g. https://iam.eu-de.otc.t-systems.com/v3",
    );
    for (const compute of ['https://ecs.eu-de.otc.t-systems.com/v2.1/0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'https://ecs.eu-de.otc.t-systems.com/v1/0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'https://nova.example.com/v2/p1']) {
      expect(saidAt(compute)).toEqual(['cloud.auth.identityEndpoint']);
    }
  });

  it("an endpoint naming a project other than cloud.projectId is said at the endpoint's line:col; the same project, or none, is not", () => {
    const named = (endpoint: string) => validateConfigText(lines('cloud:', `  endpoint: ${endpoint}`, '  projectId: 0a1b2c3d4e5f60718293a4b5c6d7e8f9'), { env: {} });
    for (const fine of ['https://ecs.eu-de.otc.t-systems.com', 'https://ecs.eu-de.otc.t-systems.com/v2.1/0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'https://ecs.eu-de.otc.t-systems.com/v2.1/%(project_id)s']) {
      expect(named(fine)).toMatchObject({ ok: true, warnings: [] });
    }
    const result = named('https://ecs.eu-de.otc.t-systems.com/v2.1/ffffffffffffffffffffffffffffffff');
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 2, col: 13, path: 'cloud.endpoint' }] });
    expect(result.ok && result.warnings[0]?.message).toBe(
      "names the project 'ffffffffffffffffffffffffffffffff', but cloud.projectId is '0a1b2c3d4e5f60718293a4b5c6d7e8f9': requests go to '0a1b2c3d4e5f60718293a4b5c6d7e8f9' and the endpoint's project is not used. Make them the same, or leave the project out of the endpoint",
    );
  });

  it('a drain longer than the stop the shipped deployments give says so; 25 s does not', () => {
    const drain = (d: string) => validateConfigText(lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', 'shutdown:', `  drainTimeout: ${d}`), { env: {} });
    expect(drain('25s')).toMatchObject({ ok: true, warnings: [] });
    const result = drain('1m');
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 5, col: 17, path: 'shutdown.drainTimeout' }] });
    expect(result.ok && result.warnings[0]?.message).toMatch(/^1 min is more than the 25 s that fits the 30 s a stop is given by the systemd unit \(TimeoutStopSec\), .*Raise those with it$/);
  });

  it('an explicit microversion below 2.51 says what is lost, at its line:col', () => {
    const result = validateConfigText(cloud('"2.40"'), { env: {} });
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 4, col: 17, path: 'cloud.microversion' }] });
    const [warning] = result.ok ? result.warnings : [];
    expect(warning?.message).toMatch(/^"2\.40" is below 2\.51: below 2\.51 only admins see events/);
    expect(warning?.message).not.toContain('2.21');
  });

  it('below 2.21 it also names the deleted servers\' actions', () => {
    const result = validateConfigText(cloud('"2.1"'), { env: {} });
    expect(result.ok && result.warnings[0]?.message).toMatch(/below 2\.21 a deleted server's actions answer 404/);
  });

  it('at 2.21 it names the events alone', () => {
    const result = validateConfigText(cloud('"2.21"'), { env: {} });
    expect(result.ok && result.warnings.map((w) => w.message)).toEqual([
      '"2.21" is below 2.51: below 2.51 only admins see events, so for everyone else the server state alone decides. Use auto (or "2.51" or higher) unless the endpoint offers nothing newer',
    ]);
  });

  it('a track entry\'s action name Nova never records is said at its line:col, a known one is not', () => {
    const result = validateConfigText(lines(...cloud('auto').trimEnd().split('\n'), 'track:', '  - { servers: [s1], actions: [resize, live_migration] }'), { env: {} });
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 6, col: 40, path: 'track[0].actions[1]' }] });
    expect(result.ok && result.warnings[0]?.message).toMatch(/^'live_migration' is no action name Nova records \(it writes live-migration/);
  });

  it('a project the password auth\'s token is not scoped to is said where the file names it: Nova refuses such a URL', () => {
    const password = (project: string) => [
      'cloud:',
      '  endpoint: https://ecs.example.com',
      `  projectId: ${project}`,
      '  auth: { type: password, identityEndpoint: https://iam.example.com/v3, userId: u1, password: pw, projectId: p1 }',
      'watches:',
      '  - { requestId: req-1, serverId: s1 }',
      '  - { requestId: req-2, serverId: s2, projectId: p2 }',
      '  - { requestId: req-3, serverId: s3, projectId: p1 }',
      // A fourth, so that the second is read alone (as its data, at first: src/config/parseStreamed.ts).
      '  - { requestId: req-4, serverId: s4 }',
    ];
    const result = validateConfigText(lines(...password('p1')), { env: {} });
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 7, col: 50, path: 'watches[1].projectId' }] });
    expect(result.ok && result.warnings[0]?.message).toMatch(/^'p2' is not the project the token is scoped to \(cloud\.auth\.projectId 'p1'\): Nova refuses/);
    // The default project itself another: said once, at it; the watch naming p1 is fine.
    const other = validateConfigText(lines(...password('p3')), { env: {} });
    expect(other.ok && other.warnings.map((w) => w.path)).toEqual(['cloud.projectId', 'watches[1].projectId']);
    // A default project that the endpoint names: said at the endpoint, the line that names it.
    const byEndpoint = validateConfigText(lines(...password('p1').filter((l) => !l.startsWith('  projectId')).map((l) => l.replace('ecs.example.com', 'ecs.example.com/v2.1/p3'))), { env: {} });
    expect(byEndpoint).toMatchObject({ ok: true, warnings: [{ line: 2, col: 13, path: 'cloud.endpoint', message: expect.stringMatching(/^'p3' is not the project the token is scoped to/) }, { path: 'watches[1].projectId' }] });
    // A token given as it is: its scope is not known here.
    expect(validateConfigText(lines(...password('p3').map((l) => l.replace(/auth: .*/, 'auth: { type: token, token: t }'))), { env: {} })).toMatchObject({ ok: true, warnings: [] });
    // Any method that names the project it is scoped to in cloud.auth.projectId, not password alone: an
    // auth method added to the registry is one folder, and this check names no method.
    const config = parseConfig(lines(...password('p1')), { env: {} });
    const scopedElsewhere = { ...config, cloud: { ...config.cloud, auth: { type: 'scoped-elsewhere', projectId: 'p1' } } } as unknown as Config;
    expect(configWarnings(scopedElsewhere).map((w) => w.path)).toEqual([['watches', 1, 'projectId']]);
  });

  it('a misspelt action name gets the one it likely meant; warnings come in line order', () => {
    const text = lines(...cloud('"2.40"').trimEnd().split('\n'), 'track:', '  - { servers: [s1], actions: [resise] }');
    const result = validateConfigText(text, { env: {} });
    // The track entry's warning is made before the microversion's, and said after it.
    expect(result.ok && result.warnings.map((w) => w.path)).toEqual(['cloud.microversion', 'track[0].actions[0]']);
    expect(result.ok && result.warnings[1]?.message).toMatch(/; did you mean 'resize'\?$/);
  });

  it('parseConfig hands each warning to onWarning and still returns the config', () => {
    const seen: ConfigIssue[] = [];
    const config = parseConfig(cloud('"2.20"'), { env: {}, onWarning: (w) => seen.push(w) });
    expect(config.cloud.microversion).toBe('2.20');
    expect(seen).toHaveLength(1);
  });

  it('an action type in poll.warnAfter that Nova does not record, at its line:col', () => {
    const text = lines('cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1', 'poll:', '  warnAfter: { resise: 2h, live-migration: 2h }');
    const result = validateConfigText(text, { env: {} });
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 5, col: 24, path: 'poll.warnAfter.resise' }] });
    expect(result.ok && result.warnings[0]?.message).toMatch(/^'resise' is not an action type Nova records \(create, delete, /);
  });

  // As a shell, docker compose or a systemd EnvironmentFile reads it: here the text `$ECS_AUTH_TOKEN` went to
  // the cloud as the token, and `$PROJECT_ID` into every URL, each poll refused for a reason not said.
  it('a value written as a shell variable, $ and a name, is said at its line:col, without quoting it; ${NAME}, $$ and a $ in text are not', () => {
    const text = lines(
      'cloud:',
      '  endpoint: https://ecs.example.com',
      '  projectId: $PROJECT_ID',
      '  auth:',
      '    type: token',
      '    token: $ECS_AUTH_TOKEN',
      'watches:',
      '  - { requestId: r1, serverId: s1, name: "costs $$5 or $x" }',
      '  - { requestId: r2, serverId: s1, projectId: "${PROJECT_ID}" }',
    );
    const result = validateConfigText(text, { env: { PROJECT_ID: 'p1', ECS_AUTH_TOKEN: 't' }, mode: 0o100644 });
    const message = "is $ and a name, as a shell writes a variable, and is read as written, $ and all: only ${NAME} takes a variable's value; put the name in braces";
    expect(result).toMatchObject({
      ok: true,
      warnings: [
        { line: 3, col: 14, path: 'cloud.projectId', message },
        // Not also taken for a secret written into the file, which ${VAR} is the way out of.
        { line: 6, col: 12, path: 'cloud.auth.token', message },
      ],
    });
  });

  it('an SMTP port 465 without smtp.secure, at the port: that port speaks TLS from the start', () => {
    const mail = (...smtp: string[]) =>
      validateConfigText(lines(...cloud('auto').trimEnd().split('\n'), 'notifiers:', '  ops-mail:', '    type: email', '    smtp:', '      host: smtp.example.com', ...smtp, '    from: ecs@example.com', '    to: [ops@example.com]'), { env: {} });
    const result = mail('      port: 465');
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 10, col: 13, path: 'notifiers.ops-mail.smtp.port' }] });
    expect(result.ok && result.warnings[0]?.message).toBe(
      'port 465 speaks TLS from the start: set smtp.secure: true, or use port 587 for STARTTLS (with smtp.secure false, every mail would wait for a greeting such a server never sends, and time out; a relay that does speak plain SMTP on 465 may keep it)',
    );
    expect(mail('      port: 465', '      secure: false')).toMatchObject({ ok: true, warnings: [{ path: 'notifiers.ops-mail.smtp.port' }] });
    for (const fine of [['      port: 465', '      secure: true'], ['      secure: true'], ['      port: 587'], []]) expect(mail(...fine)).toMatchObject({ ok: true, warnings: [] });
  });
});

describe('a poll.schedule that names hours, in a zone with daylight saving time', () => {
  const zone = process.env['TZ'];
  afterEach(() => {
    if (zone === undefined) delete process.env['TZ'];
    else process.env['TZ'] = zone;
  });
  const withSchedule = (schedule: string) => lines(...cloud('auto').trimEnd().split('\n'), 'poll:', `  schedule: "${schedule}"`);

  it('is said at its line:col, with the hour its clocks change in and the way out (TZ=UTC)', () => {
    process.env['TZ'] = 'Europe/Berlin';
    const result = validateConfigText(withSchedule('0 */5 * * * 1-5'), { env: {} });
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 6, col: 13, path: 'poll.schedule' }] });
    expect(result.ok && result.warnings[0]?.message).toBe(
      "'0 */5 * * * 1-5' runs in hour 2, read in this process's zone (Europe/Berlin), whose clocks repeat or skip it for daylight saving time: node-cron runs no pass for up to two hours at the autumn change, nor one due in the hour skipped in spring. Run the daemon with TZ=UTC and write the hours in UTC",
    );
  });

  // node-cron misses only passes due in the hour the change repeats or skips: 02:00 to 03:00 in Europe/Berlin.
  it('is said of a schedule that runs in the hour its clocks change in, and not of one that never does', () => {
    process.env['TZ'] = 'Europe/Berlin';
    const warned = (schedule: string) => {
      const result = validateConfigText(withSchedule(schedule), { env: {} });
      return result.ok && result.warnings.map((w) => w.message);
    };
    expect(warned('30 2 * * *')).toEqual([expect.stringMatching(/^'30 2 \* \* \*' runs in hour 2, read in this process's zone \(Europe\/Berlin\)/)]);
    expect(warned('0 0 1-3 * * *')).toEqual([expect.stringMatching(/^'0 0 1-3 \* \* \*' runs in hour 2,/)]);
    for (const schedule of ['0 12 * * *', '0 */5 8-18 * * 1-5', '@daily', '0 0 3 * * *']) expect(warned(schedule)).toEqual([]);
    process.env['TZ'] = 'America/New_York';
    // 02:00 EST skips to 03:00 EDT; 02:00 EDT goes back to 01:00 EST.
    expect(warned('0 1 * * *')).toEqual([expect.stringMatching(/^'0 1 \* \* \*' runs in hour 1, read in this process's zone \(America\/New_York\)/)]);
    expect(warned('0 0-3 * * *')).toEqual([expect.stringMatching(/^'0 0-3 \* \* \*' runs in hours 1, 2, read in this process's zone \(America\/New_York\), whose clocks repeat or skip them/)]);
  });

  it('is said of a reloaded file in the zone the daemon was given, after it ran a schedule that names no hour in UTC', () => {
    process.env['TZ'] = 'Europe/Berlin';
    cronZone('*/15 * * * * *');
    try {
      expect(process.env['TZ']).toBe('UTC');
      const result = validateConfigText(withSchedule('0 */5 * * * 1-5'), { env: {} });
      expect(result.ok && result.warnings.map((w) => w.message)).toEqual([expect.stringContaining("runs in hour 2, read in this process's zone (Europe/Berlin), whose clocks repeat or skip it")]);
      process.env['TZ'] = 'Asia/Shanghai';
      cronZone('*/15 * * * * *');
      expect(validateConfigText(withSchedule('0 */5 * * * 1-5'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
    } finally {
      // The schedule that names hours puts the zone back, and forgets the one UTC replaced.
      expect(cronZone('0 30 4 * * *')).toBe('Asia/Shanghai');
    }
  });

  // ICU, which gives the process its zone, knows none by such a TZ (C programs read the rule and the path):
  // the clock is then UTC's, or a fixed offset, without a word, and the hours named are not those meant.
  it.each(['europe/berlin', 'Europe/Berln', 'CET-1CEST,M3.5.0,M10.5.0/3', '/usr/share/zoneinfo/Europe/Berlin'])('a TZ that names no zone Node.js knows, %s, is said of a schedule that names hours', (tz) => {
    process.env['TZ'] = tz;
    const result = validateConfigText(withSchedule('0 30 4 * * *'), { env: {} });
    expect(result).toMatchObject({ ok: true, warnings: [{ line: 6, col: 13, path: 'poll.schedule' }] });
    expect(result.ok && result.warnings[0]?.message).toBe(
      `'0 30 4 * * *' names hours, read in this process's zone, but TZ=${tz} is no zone Node.js knows (a name of the tz database, case and all, e.g. Europe/Berlin): the process keeps UTC's clock or a fixed offset without a word, and runs it at other hours than meant`,
    );
    // The same after a schedule that named no hour ran in UTC, as at a reload.
    cronZone('*/15 * * * * *');
    expect(validateConfigText(withSchedule('0 30 4 * * *'), { env: {} })).toMatchObject({ ok: true, warnings: [{ path: 'poll.schedule' }] });
    expect(validateConfigText(withSchedule('*/15 * * * * *'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
    cronZone('0 30 4 * * *');
    for (const known of ['Asia/Shanghai', ':Asia/Shanghai', 'US/Eastern', 'UTC', '']) {
      process.env['TZ'] = known;
      expect(validateConfigText(withSchedule('0 30 4 * * *'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
    }
  });

  // glibc's trees of the same zones (/usr/share/zoneinfo/posix/, right/): ICU reads the name after the prefix.
  it.each(['posix/Europe/Berlin', 'right/Europe/Berlin', ':posix/Asia/Shanghai'])('a TZ of a zone in the posix/ or right/ tree, %s, which the process keeps, is no unknown zone', (tz) => {
    process.env['TZ'] = tz;
    expect(new Date(Date.UTC(2026, 6, 1, 12)).getHours()).not.toBe(12);
    expect(validateConfigText(withSchedule('0 30 4 * * *'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
  });

  // ICU knows no zone by them either, and keeps UTC's clock, which is the one they name.
  it.each(['utc', 'Utc'])('a TZ of UTC in another case, %s, is no unknown zone: the hours run are those meant', (tz) => {
    process.env['TZ'] = tz;
    expect(new Date(Date.UTC(2026, 6, 1, 12)).getHours()).toBe(12);
    expect(validateConfigText(withSchedule('0 30 4 * * *'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
  });

  it('is not said in a zone without it, nor of a schedule that names no hour, day or month', () => {
    process.env['TZ'] = 'UTC';
    expect(validateConfigText(withSchedule('0 */5 * * * 1-5'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
    process.env['TZ'] = 'Asia/Shanghai';
    expect(validateConfigText(withSchedule('0 30 4 * * *'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
    process.env['TZ'] = 'Europe/Berlin';
    expect(validateConfigText(withSchedule('*/15 * * * * *'), { env: {} })).toMatchObject({ ok: true, warnings: [] });
  });

  it.each(['@hourly', ' @HOURLY ', '*/15 * * * ?', '0 * * ? * ?'])('is not said of %j, which names no hour, day or month either, and runs it in UTC', (schedule) => {
    process.env['TZ'] = 'Europe/Berlin';
    expect(validateConfigText(withSchedule(schedule), { env: {} })).toMatchObject({ ok: true, warnings: [] });
    expect(cronZone(schedule)).toBe('UTC');
    // The zone UTC replaced is put back by a schedule that names hours.
    expect(cronZone('0 30 4 * * *')).toBe('Europe/Berlin');
  });
});
