import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { describe, expect, vi } from 'vitest';
import { request } from 'undici';
import { Capture, Harness, SECRETS, TOKEN, itWithHarness as it, newIds, quickAction } from './harness.ts';
import { COMPILE_CACHE, cliBundle } from './daemon.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { makeCertificates } from '../certificates.ts';
import { watchKey } from '../../src/state/store.ts';
import { waitUntil } from '../eventually.ts';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { cronZone } from '../../src/watch/cronZone.ts';

// `run` here is in the test's own process: without the daemon's V8 settings and full collections (inProcessV8.ts).
vi.mock('../../src/cli/daemonV8.ts', async (original) => (await import('./inProcessV8.ts')).inTestProcess(await original()));

// From `run` on, the tests run side by side, each with a harness of its own: most of their time is spent
// waiting on the daemon's looks at the file, its schedule and its retries.

describe('validate', () => {
  it('accepts a good file and summarises it', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }]));
    const r = await h.cli(['validate', '--config', path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('valid: 1 watch, notifiers: chat, ops-mail');
    const tracking = await h.writeConfig(h.yaml([], { track: '  - project: all' }));
    expect((await h.cli(['validate', '--config', tracking])).stdout).toBe(`${tracking}: valid: 0 watches, 1 track entry, notifiers: chat, ops-mail\n`);
  });

  it('warns that nobody is told when watches have no notifier, and not when there is nothing to watch', async ({ h }) => {
    const cloud = ['cloud:', '  endpoint: https://ecs.example.com', '  projectId: p1'];
    const alone = await h.cli(['validate', '--config', await h.writeConfig([...cloud, 'watches:', '  - { requestId: req-1, serverId: s1 }', ''].join('\n'))]);
    expect(alone).toMatchObject({ code: 0, stdout: expect.stringContaining('valid: 1 watch, notifiers: none') as string });
    expect(alone.stderr).toBe('warning: no notifiers: every outcome is only logged and kept in the state (and the metrics); add one under notifiers: to be told\n');
    const empty = await h.cli(['validate', '--config', await h.writeConfig([...cloud, ''].join('\n'))]);
    expect(empty).toMatchObject({ code: 0, stderr: '' });
  });

  it('warns of a secret written into a watch file every user may read, as ssh of a private key, not of one a variable gives or of a file only its group reads', async ({ h }) => {
    const inline = 'gAAAAABwrittenIntoTheFile0123456789';
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { auth: `  auth: { type: token, token: "${inline}" }` }));
    await chmod(path, 0o644);
    const readable = await h.cli(['validate', '--config', path]);
    expect(readable).toMatchObject({ code: 0, stdout: expect.stringContaining('valid: 1 watch') as string });
    expect(readable.stderr).toBe(
      '4:31 cloud.auth.token: warning: a secret written into the watch file, which every user of this machine may read (mode 0644): give it as ${VAR} ' +
        "(kept in a file of mode 0600: a systemd EnvironmentFile, a Kubernetes Secret), or let only the daemon's user read the watch file (chmod o-r)\n",
    );
    await chmod(path, 0o640);
    expect(await h.cli(['validate', '--config', path])).toMatchObject({ code: 0, stderr: '' });
    const given = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }]));
    await chmod(given, 0o644);
    expect(await h.cli(['validate', '--config', given])).toMatchObject({ code: 0, stderr: '' });
  });

  it('warns of a token, a password or a credential header that an http:// URL sends to another machine in the clear, not of one to a loopback address', async ({ h }) => {
    const identity = (host: string) => ['  auth:', '    type: password', `    identityEndpoint: http://${host}/v3`, '    user: svc', '    password: "${ECS_AUTH_TOKEN}"', '    domain: Default', '    projectName: eu-de'].join('\n');
    const notifiers = (host: string) => ['  chat:', '    type: webhook', `    url: http://${host}/hooks/ecs`, '    headers: { X-Team: infra, X-Api-Key: "${WEBHOOK_SECRET}" }'].join('\n');
    const clear = await h.writeConfig(h.yaml([], { endpoint: 'http://ecs.example.com:8774', auth: identity('iam.example.com'), notifiers: notifiers('hooks.example.com') }));
    const r = await h.cli(['validate', '--config', clear]);
    expect(r.code).toBe(0);
    const said = (what: string, host: string) =>
      `http:// sends ${what} in the clear to ${host}, for anyone on the network between to read and use: write https:// (a loopback address, such as a local proxy that adds TLS, is not warned of)`;
    expect(r.stderr.split('\n')).toEqual([
      `2:13 cloud.endpoint: warning: ${said('the token the password gets (X-Auth-Token)', 'ecs.example.com:8774')}`,
      `6:23 cloud.auth.identityEndpoint: warning: ${said('the password', 'iam.example.com')}`,
      expect.stringMatching(/^\d+:10 notifiers\.chat\.url: warning: http:\/\/ sends the X-Api-Key header in the clear to hooks\.example\.com, /),
      '',
    ]);
    const local = await h.writeConfig(h.yaml([], { endpoint: 'http://127.0.0.1:8774', auth: identity('[::1]:5000'), notifiers: notifiers('127.0.0.2:8080') }));
    expect(await h.cli(['validate', '--config', local])).toMatchObject({ code: 0, stderr: '' });
  });

  it('prints a warning for a microversion below 2.51 on stderr, and still exits 0', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { cloud: '  microversion: "2.40"' }));
    const r = await h.cli(['validate', '--config', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid: 1 watch');
    expect(r.stderr).toMatch(/^\d+:17 cloud\.microversion: warning: "2\.40" is below 2\.51: below 2\.51 only admins see events/m);
  });

  it('warns of what in its environment fails run (a proxy variable that is no URL, a NODE_EXTRA_CA_CERTS Node cannot use), and still exits 0', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }]));
    const missing = join(h.dir, 'missing.pem');
    const r = await h.cli(['validate', '--config', path], { env: { HTTPS_PROXY: 'ops:s3cret@proxy.example.com', NODE_EXTRA_CA_CERTS: missing } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid: 1 watch');
    expect(r.stderr.split('\n')).toEqual([
      'warning: the proxy in HTTPS_PROXY is not an http:// or https:// URL: write it as http://host:port, or unset HTTPS_PROXY (every request fails with it: ' +
        'run starts and keeps trying on its schedule, notifications staying owed; check and notify-test report each failure, with status 1; ' +
        'wait ends with status 2 at its first poll)',
      `warning: cannot read NODE_EXTRA_CA_CERTS ${missing}: no such file: Node leaves it out, and refuses a server whose certificate its CA signs`,
      '',
    ]);
    expect(r.stderr).not.toContain('s3cret');
    const notPem = join(h.dir, 'ca.txt');
    await writeFile(notPem, 'the CA is on the wiki\n');
    expect((await h.cli(['validate', '--config', path], { env: { NODE_EXTRA_CA_CERTS: notPem } })).stderr).toBe(
      `warning: NODE_EXTRA_CA_CERTS ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE----- ...): Node leaves it out, and refuses a server whose certificate its CA signs\n`,
    );
    const { caFile } = makeCertificates(h.dir);
    expect(await h.cli(['validate', '--config', path], { env: { NODE_EXTRA_CA_CERTS: caFile, HTTPS_PROXY: 'http://proxy.example.com:3128' } })).toMatchObject({ code: 0, stderr: '' });
  });

  it('warns of a state.path that run would stop at, and still exits 0', async ({ h }) => {
    const at = (statePath: string) => h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }]).replace(/path: .*state\.json/, `path: ${statePath}`));
    const folder = join(h.dir, 'a-folder');
    await mkdir(folder);
    expect(await h.cli(['validate', '--config', await at(folder)])).toMatchObject({
      code: 0,
      stderr: `warning: state.path ${folder} is a directory, not a regular file: run stops at its start with it\n`,
    });
    const file = join(h.dir, 'a-file');
    await writeFile(file, 'x\n');
    expect((await h.cli(['validate', '--config', await at(join(file, 'deeper', 'state.json'))])).stderr).toBe(
      `warning: state.path ${join(file, 'deeper', 'state.json')} cannot have its folder created, as ${file} is a file, not a folder: run stops at its start with it\n`,
    );
    // A folder no one may create files in, root included (the kernel's own).
    expect((await h.cli(['validate', '--config', await at('/proc/sys/eaw/state.json')])).stderr).toBe(
      'warning: state.path /proc/sys/eaw/state.json cannot be created: a folder above it, /proc/sys, cannot be written in by this user (permission denied): run stops at its start with it\n',
    );
    // A folder still to be made, as run makes it.
    expect(await h.cli(['validate', '--config', await at(join(h.dir, 'new', 'deeper', 'state.json'))])).toMatchObject({ code: 0, stderr: '' });
  });

  it('warns of a credential file it cannot read, which run would stop at, and still exits 0', async ({ h }) => {
    const missing = join(h.dir, 'secrets', 'token');
    const empty = join(h.dir, 'empty-token');
    await writeFile(empty, '\n');
    const file = (tokenFile: string) => h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { auth: `  auth: { type: token, tokenFile: ${tokenFile} }` }));
    const r = await h.cli(['validate', '--config', await file(missing)]);
    expect(r).toMatchObject({ code: 0, stderr: `warning: cannot read cloud.auth.tokenFile ${missing}: no such file: run stops at start with it, unless the file is there where it runs\n` });
    expect((await h.cli(['validate', '--config', await file(empty)])).stderr).toBe(`warning: cloud.auth.tokenFile ${empty} is empty: run stops at start with it, unless the file is there where it runs\n`);
    const token = join(h.dir, 'token');
    await writeFile(token, 'gAAAAABk-token\n');
    expect(await h.cli(['validate', '--config', await file(token)])).toMatchObject({ code: 0, stderr: '' });
  });

  it('reports each problem as line:col path: message and exits 1', async ({ h }) => {
    const path = await h.writeConfig('cloud:\n  endpoint: ftp://nope\npoll:\n  deadline: 10\nwatches: []\n');
    const r = await h.cli(['validate', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^2:13 cloud\.endpoint: /m);
    expect(r.stderr).toMatch(/^4:13 poll\.deadline: /m);
  });

  it('reads the file named by ECS_WATCH_CONFIG and says when it is missing', async ({ h }) => {
    const r = await h.cli(['validate'], { env: { ECS_WATCH_CONFIG: join(h.dir, 'missing.yaml') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing.yaml');
    // Set but empty: as unset, ./watch.yaml (of a folder that has none).
    const empty = spawnSync(process.execPath, [cliBundle(), 'validate'], { cwd: h.dir, env: { PATH: process.env['PATH'], ECS_WATCH_CONFIG: '', NODE_COMPILE_CACHE: COMPILE_CACHE }, encoding: 'utf8' });
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('cannot read the watch file ./watch.yaml: no such file');
  });
});

describe('the command line', () => {
  it('rejects an unknown command, an unknown option and a bad LOG_LEVEL with status 2', async ({ h }) => {
    expect((await h.cli(['frobnicate'])).code).toBe(2);
    const help = await h.cli(['help', 'frobnicate']);
    expect(help).toMatchObject({ code: 2, stdout: '' });
    expect(help.stderr).toMatch(/^ecs-action-watch: unknown command 'frobnicate' \(commands: run, /);
    const bad = await h.cli(['validate', '--nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('usage: ecs-action-watch validate');
    expect(bad.stderr).not.toContain('did you mean');
    // A slip gets the command or option it likely meant.
    expect((await h.cli(['chek'])).stderr).toMatch(/^ecs-action-watch: unknown command 'chek' \(commands: [^)]*\); did you mean 'check'\?\n/);
    // An option put before the command: said which comes first.
    expect((await h.cli(['--config', 'w.yaml', 'check'])).stderr).toMatch(
      /^ecs-action-watch: unknown command '--config' \(commands: [^)]*\); the command comes first, its options after it: ecs-action-watch check --config \.\.\.\n/,
    );
    const slip = await h.cli(['add', '--sever', 's1', '--request', 'r1']);
    expect(slip).toMatchObject({ code: 2, stdout: '' });
    expect(slip.stderr).toMatch(/^ecs-action-watch add: unknown option '--sever'; did you mean '--server'\?\n/);
    expect((await h.cli(['validate', '--confg=a.yaml'])).stderr).toContain("unknown option '--confg'; did you mean '--config'?");
    // parseArgs's other complaints, in the same words as the rest.
    expect((await h.cli(['wait', '--timeout'])).stderr).toMatch(/^ecs-action-watch wait: --timeout needs a value\n/);
    expect((await h.cli(['wait', '-c'])).stderr).toMatch(/^ecs-action-watch wait: --config needs a value\n/);
    expect((await h.cli(['check', '--json=yes'])).stderr).toMatch(/^ecs-action-watch check: --json takes no value\n/);
    expect((await h.cli(['check', 'extra'])).stderr).toMatch(/^ecs-action-watch check: unexpected 'extra': check takes options only\n/);
    // parseArgs alone would read the last file named, without a word.
    const twice = await h.cli(['validate', '--config', 'a.yaml', '-c', 'b.yaml']);
    expect(twice).toMatchObject({ code: 2, stdout: '' });
    expect(twice.stderr).toContain('--config is given twice, with different values: give it once');
    const sameTwice = await h.cli(['validate', '--config', join(h.dir, 'missing.yaml'), '-c', join(h.dir, 'missing.yaml')]);
    expect(sameTwice.stderr).not.toContain('given twice');
    expect(sameTwice.stderr).toContain('missing.yaml');
    // An empty --config (a variable that is not set) is not taken for ./watch.yaml.
    const empty = await h.cli(['validate', '--config', '']);
    expect(empty).toMatchObject({ code: 2, stdout: '' });
    expect(empty.stderr).toMatch(/^ecs-action-watch validate: --config is empty: name the watch file\n/);
    const flagTwice = await h.cli(['check', '--json', '--json', '--config', join(h.dir, 'missing.yaml')]);
    expect(flagTwice.stderr).not.toContain('given twice');
    expect(flagTwice.stderr).toContain('missing.yaml');
    const level = await h.cli(['validate'], { env: { LOG_LEVEL: 'loud' } });
    expect(level).toMatchObject({ code: 2 });
    expect(level.stderr).toContain('allowed: trace, debug, info, warn, error');
    expect(level.stderr).not.toContain('did you mean');
    // Python's and syslog's names for it.
    expect((await h.cli(['validate'], { env: { LOG_LEVEL: 'WARNING' } })).stderr).toContain("LOG_LEVEL=WARNING is not a log level (allowed: trace, debug, info, warn, error); did you mean 'warn'?");
    // Set but empty (`LOG_LEVEL: ""` from a chart's unset value): as unset, the command's default level.
    const unset = await h.cli(['validate', '--config', await h.writeConfig(h.yaml([]))], { env: { LOG_LEVEL: '' } });
    expect(unset).toMatchObject({ code: 0, stderr: '' });
    // check's default is error: a check that went well logs nothing.
    const a = quickAction();
    h.simulator.addAction(a);
    await h.cli(['check', '--config', await h.writeConfig(h.yaml([a]))], { env: { LOG_LEVEL: '' } });
    expect(h.logs.lines().map((l) => l['level'])).toEqual([]);
  });
});

describe.concurrent('run', () => {
  it('exits 2 when the file is invalid at start', async ({ h }) => {
    const path = await h.writeConfig('watches: nope\n');
    const r = await h.cli(['run', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^1:10 watches: /m);
  });

  it('exits 0, a clean stop, at SIGTERM while it waits for a file just written to be still', async ({ h }) => {
    const path = join(h.dir, 'fresh.yaml');
    await writeFile(path, h.yaml([]));
    expect(await h.cli(['run', '--config', path], { signal: AbortSignal.abort('SIGTERM') })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('--until-done exits 1, as stopped before all was done, at SIGTERM while it waits for the file to be still or for the state lock', async ({ h }) => {
    // `run --until-done && next-step` must not go on when nothing was polled.
    const fresh = join(h.dir, 'fresh.yaml');
    await writeFile(fresh, h.yaml([]));
    expect((await h.cli(['run', '--until-done', '--config', fresh], { signal: AbortSignal.abort('SIGTERM') })).code).toBe(1);
    // A fresh lock of another host: waited for until it is released or goes stale.
    await mkdir(join(h.dir, 'state'), { recursive: true });
    await writeFile(join(h.dir, 'state', 'state.json.lock'), `${JSON.stringify({ pid: 1, hostname: 'another-host', startedAt: new Date().toISOString(), instance: 'x' })}\n`);
    const stop = new AbortController();
    const running = h.cli(['run', '--until-done', '--config', await h.writeConfig(h.yaml([{ ...newIds(), name: 'pending' }]))], { signal: stop.signal });
    await waitUntil(() => h.logs.text.includes('the state file is locked by'));
    stop.abort('SIGTERM');
    expect((await running).code).toBe(1);
  });

  it('--until-done exits 0 when every watch succeeded and every notification is delivered', async ({ h }) => {
    const a = quickAction();
    const b = quickAction();
    h.simulator.addAction(a);
    h.simulator.addAction(b);
    const path = await h.writeConfig(h.yaml([a, b]));
    const r = await h.cli(['run', '--until-done', '--config', path]);
    expect(r.code).toBe(0);
    expect(h.hooks.received).toHaveLength(2);
    expect(h.mail.received).toHaveLength(2);
    for (const secret of SECRETS) expect(h.logs.text + r.stdout + r.stderr).not.toContain(secret);
    const finished = h.logs.lines().filter((l) => l['msg'] === 'watch finished');
    expect(finished.map((l) => l['requestId']).sort()).toEqual([a.requestId, b.requestId].sort());
    expect(finished.every((l) => l['serverId'] && l['outcome'] === 'success')).toBe(true);
  });

  it('says in its log at start that Node cannot use the CA file NODE_EXTRA_CA_CERTS names, and runs', async ({ h }) => {
    const a = quickAction();
    h.simulator.addAction(a);
    const missing = join(h.dir, 'corporate-ca.pem');
    const r = await h.cli(['run', '--until-done', '--config', await h.writeConfig(h.yaml([a]))], { env: { NODE_EXTRA_CA_CERTS: missing } });
    expect(r.code).toBe(0);
    // Its one warning; a loaded machine may add others of its own (a pass that overran its second).
    expect(h.logs.lines().filter((l) => l['level'] === 'warn' && l['variable'] !== undefined)).toEqual([
      expect.objectContaining({ variable: 'NODE_EXTRA_CA_CERTS', msg: `cannot read NODE_EXTRA_CA_CERTS ${missing}: no such file: Node leaves it out, and refuses a server whose certificate its CA signs` }),
    ]);
  });

  it('--until-done waits for a notification the receiver refused at first, and exits 0 once it is delivered', async ({ h }) => {
    const a = quickAction();
    h.simulator.addAction(a);
    // Refused for about a second: retries 20 to 200 ms apart, past several of the daemon's looks at whether it is done.
    const refusals = Array.from({ length: 8 }, () => 503);
    h.hooks.failNext(...refusals);
    const path = await h.writeConfig(h.yaml([a]));
    const r = await h.cli(['run', '--until-done', '--config', path]);
    expect(r.code).toBe(0);
    expect(h.hooks.received.map((x) => x.status)).toEqual([...refusals, 204]);
    expect(h.mail.received).toHaveLength(1);
  });

  it('--until-done exits 1 when an action failed', async ({ h }) => {
    const a = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 300, result: 'Error' }] });
    h.simulator.addAction(a);
    const path = await h.writeConfig(h.yaml([a]));
    expect((await h.cli(['run', '--until-done', '--config', path])).code).toBe(1);
  });

  it('--until-done exits 3, not 1, when an action failed and its notification was given up: nobody may know of the failure', async ({ h }) => {
    const a = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 300, result: 'Error' }] });
    h.simulator.addAction(a);
    h.hooks.failNext(400);
    const path = await h.writeConfig(h.yaml([a]));
    expect((await h.cli(['run', '--until-done', '--config', path])).code).toBe(3);
    expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('every watch is done'))).toEqual([expect.objectContaining({ level: 'error', outcomes: { failure: 1 } })]);
  });

  // One entry a watch made a line of 20 KB at 2,000 watches: Docker and containerd cut a line at 16 KB, into
  // pieces that are not JSON.
  it('--until-done counts the outcomes in its last line, however many watches', async ({ h }) => {
    const actions = Array.from({ length: 30 }, (_, i) => quickAction(i % 10 === 0 ? { steps: [{ event: 'compute_reboot_instance', durationMs: 300, result: 'Error' }] } : {}));
    for (const a of actions) h.simulator.addAction(a);
    expect((await h.cli(['run', '--until-done', '--config', await h.writeConfig(h.yaml(actions))])).code).toBe(1);
    expect(h.logs.lines().filter((l) => l['msg'] === 'every watch is done')).toEqual([expect.objectContaining({ level: 'info', outcomes: { success: 27, failure: 3 } })]);
  });

  it('--until-done exits 3 when a notification was given up', async ({ h }) => {
    const a = quickAction();
    h.simulator.addAction(a);
    h.hooks.failNext(400);
    const path = await h.writeConfig(h.yaml([a]));
    expect((await h.cli(['run', '--until-done', '--config', path])).code).toBe(3);
    expect(h.logs.lines().some((l) => l['msg'] === 'delivery given up' && l['notifier'] === 'chat')).toBe(true);
    // Its last line says what was lost, at error: the exit status alone says only that something was.
    expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('every watch is done'))).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'every watch is done, but 1 notification was given up: their receivers were not told',
        givenUp: [{ about: watchKey(a), notifier: 'chat', error: expect.stringMatching(/400/) }],
      }),
    ]);
  });

  it('--until-done names a given-up early warning as one, not as the watch whose outcome was lost', async ({ h }) => {
    const a = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 1500, taskState: 'rebooting' }] });
    h.simulator.addAction(a);
    h.hooks.failNext(400);
    const path = await h.writeConfig(h.yaml([{ ...a, extra: '    warnAfter: 100ms' }]));
    expect((await h.cli(['run', '--until-done', '--config', path])).code).toBe(3);
    expect(h.hooks.received.map((r) => [(r.body as { type: string }).type, r.status])).toEqual([['ecs.action.slow', 400], ['ecs.action.succeeded', 204]]);
    expect(h.logs.lines().filter((l) => String(l['msg']).startsWith('every watch is done'))).toEqual([
      expect.objectContaining({ givenUp: [{ about: `early warning of ${watchKey(a)}`, notifier: 'chat', error: expect.stringMatching(/400/) }] }),
    ]);
  });

  // Owed while the receiver refused them, each was retried minDelay later (up to delivery.maxDelay, 5 min by
  // default) only to be dropped then: the outcome and the final digest had come first. Nothing was left to
  // send, and the pipeline waited for that retry; as long where no notifier takes the outcome (on: [slow,
  // failure] of actions that succeeded), which then brings no delivery that wakes the outbox.
  it.for([
    { notifiers: 'every outcome', on: '', told: ['ecs.action.succeeded', 'ecs.batch.finished'] },
    { notifiers: 'no success', on: '    on: [slow, failure]\n', told: [] },
  ])('--until-done exits once the outcome and the final digest are recorded, not at the retry of an early warning and a partial digest they supersede (notifiers told of $notifiers)', async ({ on, told }, { h }) => {
    const alone = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 6000, taskState: 'rebooting' }] });
    const [done, slow] = [quickAction(), quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 6000, taskState: 'rebooting' }] })];
    for (const a of [alone, done, slow]) h.simulator.addAction(a);
    // The warning and the partial digest, the receiver's first two answers: the actions last long enough for a
    // daemon started on a loaded machine to see them running past warnAfter and batchWindow.
    h.hooks.failNext(503, 503);
    const notifiers = on === '' ? undefined : `  chat:\n    type: webhook\n    url: ${h.hooks.url}\n${on}`;
    const yaml = h
      .yaml([{ ...alone, extra: '    warnAfter: 500ms' }, { ...done, extra: '    batch: fleet' }, { ...slow, extra: '    batch: fleet' }], { poll: '  schedule: "* * * * * *"\n  retries: 3\n  batchWindow: 500ms', ...(notifiers ? { notifiers } : {}) })
      .replace('minDelay: 20ms', 'minDelay: 2m')
      .replace('maxDelay: 200ms', 'maxDelay: 1h');
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort('SIGTERM'), 40_000);
    const r = await h.cli(['run', '--until-done', '--config', await h.writeConfig(yaml)], { signal: stop.signal });
    clearTimeout(timer);
    expect(r.code).toBe(0);
    const chat = h.hooks.received.map((x) => [(x.body as { type: string }).type, x.status]);
    expect(chat.filter(([, status]) => status === 503).map(([type]) => type).sort()).toEqual(['ecs.action.slow', 'ecs.batch.partial']);
    expect(chat.filter(([, status]) => status === 204).map(([type]) => type).sort()).toEqual(told);
    const dropped = h.logs.lines().filter((l) => String(l['msg']).endsWith('not sent: its batch finished first') || String(l['msg']).startsWith('early warning not sent'));
    expect(dropped.map((l) => l['notifier'])).toEqual(['chat', 'chat']);
  });

  /**
   * `run` of one quick watch with its health server on a port of its own, once the watch's webhook has come;
   * `stopped()` stops it and resolves to its exit status. Each reload the tests below make waits for the file
   * to hold still for a second: four tests, side by side, rather than one of a dozen seconds.
   */
  /** `run` of a file with one action, delivered; `path` given: the file is read there (its content written by the test). */
  async function runningWithHealth(h: Harness, given?: { path: string; write: (content: string) => Promise<void> }) {
    const port = await closedPort();
    const first = quickAction();
    h.simulator.addAction(first);
    const http = `  port: ${port}\n  host: 127.0.0.1`;
    const path = given === undefined ? await h.writeConfig(h.yaml([first], { http })) : (await given.write(h.yaml([first], { http })), given.path);
    const stop = new AbortController();
    const running = h.cli(['run', '--config', path], { signal: stop.signal });
    await waitUntil(() => h.hooks.received.length === 1);
    const stopped = async () => {
      stop.abort();
      return (await running).code;
    };
    return { base: `http://127.0.0.1:${port}`, path, first, http, stopped };
  }

  it('serves health and metrics, picks up a watch added to the file without a restart, and stops cleanly on a signal', async ({ h }) => {
    const { base, path, first, http, stopped } = await runningWithHealth(h);
    try {
      expect((await request(`${base}/healthz`)).statusCode).toBe(200);
      const ready = await request(`${base}/readyz`);
      expect(ready.statusCode).toBe(200);
      await ready.body.dump();
      const metrics = await (await request(`${base}/metrics`)).body.text();
      expect(metrics).toMatch(/ecs_action_watch_verdicts_total\{outcome="success",action="reboot"\} 1/);
      expect(metrics).toMatch(/ecs_action_watch_polls_total\{result="finished"\} 1/);
      expect(metrics).toContain('ecs_action_watch_poll_duration_seconds_bucket');
      expect(metrics).toMatch(/^ecs_action_watch_config_last_reload_successful 1$/m);

      const second = quickAction();
      h.simulator.addAction(second);
      await writeFile(path, h.yaml([first, second], { http }));
      await waitUntil(() => h.hooks.received.length === 2, 8000);
    } finally {
      expect(await stopped()).toBe(0);
    }
    expect(h.hooks.received).toHaveLength(2);
  });

  it('applies a valid edit that loses something and says what, and refuses an invalid one, keeping what runs', async ({ h }) => {
    const { base, path, first, http, stopped } = await runningWithHealth(h);
    try {
      await writeFile(path, h.yaml([first], { http, cloud: '  microversion: "2.40"' }));
      await waitUntil(() => h.logs.text.includes('reloaded watch file: \\"2.40\\" is below 2.51'), 8000);
      // Beyond the watch list: in force once the next look finds the file unchanged.
      await waitUntil(() => h.logs.text.includes('"msg":"watch file reloaded"'), 8000);
      await writeFile(path, 'watches: [oops');
      await waitUntil(() => h.logs.text.includes('reloaded watch file is invalid'), 8000);
      // A variable the operator's shell has, and the daemon's environment, read at its start, lacks.
      await writeFile(path, h.yaml([{ ...first, name: '${APP_NAME}' }], { http }));
      await waitUntil(() => h.logs.text.includes('APP_NAME is not set'), 8000);
      expect(h.logs.lines().find((l) => String(l['error']).includes('APP_NAME'))!['msg']).toBe(
        "reloaded watch file is invalid; keeping the running configuration; APP_NAME is not set in the daemon's environment, which it reads only at its start: set it where it runs (the unit's Environment=, the pod's env) and restart it",
      );
      const after = await (await request(`${base}/metrics`)).body.text();
      expect(after).toMatch(/^ecs_action_watch_config_last_reload_successful 0$/m);
      expect(after).toMatch(/^ecs_action_watch_config_loads_total\{result="ok"\} 2$/m);
      expect(after).toMatch(/^ecs_action_watch_config_loads_total\{result="invalid"\} 2$/m);
      // A CA file not there yet: put there, it is not looked at until the watch file changes, which the
      // operator who mended it is not told to make.
      await writeFile(path, h.yaml([first], { http, cloud: `  tls: { caFile: ${join(h.dir, 'ca-to-come.pem')} }` }));
      await waitUntil(() => h.logs.text.includes('ca-to-come.pem'), 8000);
      expect(h.logs.lines().find((l) => String(l['error']).includes('ca-to-come.pem'))!['msg']).toBe(
        'reloaded watch file is invalid; keeping the running configuration; a file it names that is not there is read again only when the watch file changes, or at a SIGHUP (systemctl reload, kill -HUP): send one once it is there',
      );
    } finally {
      expect(await stopped()).toBe(0);
    }
  });

  it('quotes nothing of a token in what it says of an edit it refuses', async ({ h }) => {
    const { path, first, http, stopped } = await runningWithHealth(h);
    try {
      // A token with a literal ${ in it: the log says where the ${ is, and nothing of the token.
      await writeFile(path, h.yaml([first], { http, auth: '  auth: { type: token, token: "Xk9${q7TopSecretPart" }' }));
      await waitUntil(() => h.logs.text.includes('the ${ at character 4 of the value is not closed by a }'), 8000);
      expect(h.logs.text).not.toContain('TopSecret');
      // A token's line swapped under another setting, which says what it refuses: nothing of the token either.
      await writeFile(path, h.yaml([first], { http, poll: '  schedule: "* * * * * *"\n  warnAfter:\n    token: ${ECS_AUTH_TOKEN}' }));
      await waitUntil(() => h.logs.text.includes("poll.warnAfter.token: '<hidden>' is not a duration"), 8000);
      // A token's variable written by a slip as another setting's value: nothing of it either.
      await writeFile(path, h.yaml([first], { http, poll: '  schedule: "* * * * * *"\n  deadline: ${ECS_AUTH_TOKEN}' }));
      await waitUntil(() => h.logs.text.includes("poll.deadline: '<hidden>' is not a duration"), 8000);
      // A token written as a list item below its key, which YAML reads as an alias: nothing of it either.
      await writeFile(path, h.yaml([first], { http, auth: `  auth:\n    type: token\n    token:\n      - *${TOKEN}` }));
      await waitUntil(() => h.logs.text.includes('names no anchor'), 8000);
      expect(h.logs.text).toContain('cloud.auth.token: <hidden> names no anchor');
      for (const secret of SECRETS) expect(h.logs.text).not.toContain(secret);
    } finally {
      expect(await stopped()).toBe(0);
    }
  });

  it("reads a ConfigMap's new version once when Kubernetes swaps its ..data link, and keeps the running configuration while the link is dangling", async ({ h }) => {
    // As the kubelet mounts a ConfigMap: watch.yaml -> ..data/watch.yaml, ..data -> a folder per version,
    // swapped by a rename of a new link over ..data and the old folder removed (its AtomicWriter).
    let versions = 0;
    const publish = async (content: string) => {
      const version = `..2026_12_06_10_00_00.${++versions}`;
      await mkdir(join(h.dir, version));
      await writeFile(join(h.dir, version, 'watch.yaml'), content);
      await symlink(version, join(h.dir, '..data_tmp'));
      await rename(join(h.dir, '..data_tmp'), join(h.dir, '..data'));
      await rm(join(h.dir, `..2026_12_06_10_00_00.${versions - 1}`), { recursive: true, force: true });
    };
    const mounted = join(h.dir, 'mounted.yaml');
    const { first, http, stopped } = await runningWithHealth(h, {
      path: mounted,
      write: async (content) => {
        await publish(content);
        await symlink(join('..data', 'watch.yaml'), mounted);
      },
    });
    const reloads = () => h.logs.lines().filter((l) => l['msg'] === 'watch list reloaded').length;
    const [second, third] = [quickAction(), quickAction()];
    try {
      h.simulator.addAction(second);
      await publish(h.yaml([first, second], { http }));
      await waitUntil(() => h.hooks.received.length === 2, 8000);
      expect(reloads()).toBe(1);
      // The link left dangling (its folder gone before the next swap): what runs goes on.
      await rm(join(h.dir, `..2026_12_06_10_00_00.${versions}`), { recursive: true });
      await waitUntil(() => h.logs.text.includes('the watch file cannot be read; keeping the running configuration until it can'), 8000);
      h.simulator.addAction(third);
      await publish(h.yaml([first, second, third], { http }));
      await waitUntil(() => h.hooks.received.length === 3, 8000);
      expect(reloads()).toBe(2);
    } finally {
      expect(await stopped()).toBe(0);
    }
    expect(h.hooks.received.map((r) => (r.body as { watch: { requestId: string } }).watch.requestId).sort()).toEqual([first.requestId, second.requestId, third.requestId].sort());
  });

  it('keeps the running configuration when the file is gone, saying so with no problems to count', async ({ h }) => {
    const { base, path, stopped } = await runningWithHealth(h);
    try {
      // An editor's rename, a ConfigMap swapped: no other file to name.
      await rm(path);
      await waitUntil(() => h.logs.text.includes('the watch file cannot be read; keeping the running configuration until it can'), 8000);
      const gone = h.logs.lines().find((l) => String(l['msg']).startsWith('the watch file cannot be read'));
      expect(gone).toMatchObject({ error: 'no such file' });
      expect(gone).not.toHaveProperty('problems');
      const after = await (await request(`${base}/metrics`)).body.text();
      expect(after).toMatch(/^ecs_action_watch_config_last_reload_successful 0$/m);
      expect(after).toMatch(/^ecs_action_watch_config_loads_total\{result="ok"\} 1$/m);
      expect(after).toMatch(/^ecs_action_watch_config_last_reload_success_timestamp_seconds \d+/m);
    } finally {
      expect(await stopped()).toBe(0);
    }
  });

  it('counts a reload whose parts cannot start as failed, for its alert: the previous file runs on', async ({ h }) => {
    const { base, path, first, http, stopped } = await runningWithHealth(h);
    try {
      const before = await (await request(`${base}/metrics`)).body.text();
      const loadedAt = /^ecs_action_watch_config_last_reload_success_timestamp_seconds (\S+)$/m.exec(before)![1];
      // Valid, but its client cannot start: the token file is not there.
      await writeFile(path, h.yaml([first], { http, auth: `  auth: { type: token, tokenFile: ${join(h.dir, 'no-such-token')} }` }));
      await waitUntil(() => h.logs.text.includes('the reloaded watch file cannot be started; keeping the running configuration'), 8000);
      const after = await (await request(`${base}/metrics`)).body.text();
      expect(after).toMatch(/^ecs_action_watch_config_last_reload_successful 0$/m);
      expect(after).toMatch(/^ecs_action_watch_config_loads_total\{result="invalid"\} 1$/m);
      expect(after).toContain(`ecs_action_watch_config_last_reload_success_timestamp_seconds ${loadedAt}\n`);
    } finally {
      expect(await stopped()).toBe(0);
    }
  });
});

describe.concurrent('run: http settings on reload', () => {
  it('moves the health server to a new http.port, and keeps it where it was when the new port is taken', async ({ h }) => {
    const first = await closedPort();
    let second = await closedPort();
    while (second === first) second = await closedPort();
    const http = (port: number) => `  port: ${port}\n  host: 127.0.0.1`;
    const answers = (port: number, path = 'healthz') =>
      request(`http://127.0.0.1:${port}/${path}`).then(
        async (r) => (await r.body.text(), r.statusCode),
        () => null,
      );
    const text = (port: number, path: string) => request(`http://127.0.0.1:${port}/${path}`).then((r) => r.body.text());
    const ids = newIds();
    const path = await h.writeConfig(h.yaml([ids], { http: http(first) }));
    await whileRunning(h, path, async () => {
      await waitUntil(async () => (await answers(first, 'readyz')) === 200);
      await writeFile(path, h.yaml([ids], { http: http(second) }));
      await waitUntil(async () => (await answers(second)) === 200, 8000);
      expect(await answers(first)).toBeNull();
      // A port in use: said, and the server stays where it was.
      const blocker = createServer().listen(first, '127.0.0.1');
      await once(blocker, 'listening');
      try {
        await writeFile(path, h.yaml([ids], { http: http(first) }));
        await waitUntil(() => h.logs.text.includes('the reloaded http settings cannot be used'), 8000);
        expect(await answers(second)).toBe(200);
        // Part of the file is not in effect: the reload counts as failed, for its alert.
        expect(await text(second, 'metrics')).toMatch(/^ecs_action_watch_config_last_reload_successful 0$/m);
      } finally {
        blocker.close();
      }
    });
  });
});

describe.concurrent('run: state.path on reload', () => {
  it('keeps its state file until the next start, and notifies nothing again', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    const path = await h.writeConfig(h.yaml([done]));
    await whileRunning(h, path, async () => {
      await waitUntil(() => h.hooks.received.length === 1, 8000);
      const moved = join(h.dir, 'moved', 'state.json');
      await writeFile(path, h.yaml([done, newIds()]).replace(/path: .*state\.json/, `path: ${moved}`));
      await waitUntil(() => h.logs.text.includes('state.path takes effect at the next start'), 8000);
      expect(h.logs.text).toContain('move the state file and its journal to the new path before that start');
      // The rest of the edit is applied, in place: a change of the watch list alone, once state.path is set aside.
      await waitUntil(() => h.logs.text.includes('watch list reloaded'), 8000);
      await expect(readFile(moved)).rejects.toThrow(/ENOENT/);
    }, { LOG_LEVEL: 'info' });
    expect(h.hooks.received).toHaveLength(1);
  });
});

describe.concurrent('run: notifiers on reload', () => {
  it('has a notification that a reload\'s drain cut off sent again at once by the parts the reload starts, and says so, not that it waits for a restart', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    const bodies: string[] = [];
    // Holds the first notification past the drain; takes the one sent again.
    const receiver = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        if (bodies.length > 1) res.writeHead(204).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    try {
      const chat = ['  chat:', '    type: webhook', `    url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/ecs`].join('\n');
      const file = (retries: number) => `${h.yaml([done], { notifiers: chat, poll: `  schedule: "* * * * * *"\n  retries: ${retries}` })}\nshutdown:\n  drainTimeout: 200ms\n`;
      const path = await h.writeConfig(file(3));
      await whileRunning(h, path, async () => {
        await waitUntil(() => bodies.length === 1, 8000);
        // A change beyond the watch list: the running parts drain and stop, and new ones start.
        await writeFile(path, file(2));
        await waitUntil(() => h.logs.text.includes('"msg":"watch file reloaded"'), 8000);
        await waitUntil(() => bodies.length === 2, 5000);
      }, { LOG_LEVEL: 'info' });
      expect(bodies[1]).toBe(bodies[0]);
      expect(h.logs.lines().filter((l) => String(l['msg']).includes('with notifications in flight'))).toEqual([
        expect.objectContaining({
          level: 'warn',
          inFlight: 1,
          owed: 1,
          msg: 'reloading with notifications in flight (shutdown.drainTimeout ran out): cut off, they stay owed and are sent again by the parts the reload starts, as they start',
        }),
      ]);
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });

  it('keeps what is owed to a notifier a reload took out, and sends it once the notifier is back', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    const chat = (url: string) => ['  chat:', '    type: webhook', `    url: ${url}`].join('\n');
    // Down, but holding its port: a closed port may be taken meanwhile by another file's server, whose
    // answer (a simulator's 401) would give the delivery up.
    h.hooks.setAnswer({ status: 503 });
    const path = await h.writeConfig(h.yaml([done], { notifiers: chat(h.hooks.url) }));
    await whileRunning(h, path, async () => {
      await waitUntil(() => h.logs.text.includes('delivery failed; will retry'), 8000);
      // As a file read half-written would be: chat is gone.
      await writeFile(path, h.yaml([done], { notifiers: '  other:\n    type: webhook\n    url: http://127.0.0.1:9/other' }));
      await waitUntil(() => h.logs.text.includes('notifications owed to notifier chat wait for it'), 8000);
      h.hooks.setAnswer({ status: 204 });
      await writeFile(path, h.yaml([done], { notifiers: chat(h.hooks.url) }));
      await waitUntil(() => h.hooks.received.some((hook) => hook.status === 204), 8000);
    }, { LOG_LEVEL: 'info' });
    expect(h.logs.text).not.toContain('delivery given up');
  });

  it('says a receiver\'s outage once across a reload that keeps the receiver, again at one that points the notifier at another, and its end once', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    h.hooks.setAnswer({ status: 503 });
    const backup = await startWebhookSink();
    backup.setAnswer({ status: 503 });
    try {
      const file = (url: string, extra = '') => h.yaml([done], { notifiers: ['  chat:', '    type: webhook', `    url: ${url}`, extra].filter(Boolean).join('\n') });
      const path = await h.writeConfig(file(h.hooks.url));
      const reloads = () => (h.logs.text.match(/"msg":"watch file reloaded"/g) ?? []).length;
      await whileRunning(h, path, async () => {
        await waitUntil(() => h.logs.text.includes('delivery failed; will retry'), 8000);
        // A header added: the parts are rebuilt, and chat sends to the same receiver.
        await writeFile(path, file(h.hooks.url, '    headers: { X-Team: infra }'));
        await waitUntil(() => reloads() === 1, 8000);
        const before = h.hooks.received.length;
        await waitUntil(() => h.hooks.received.length >= before + 3, 8000);
        // Pointed at another receiver, which is down too.
        await writeFile(path, file(backup.url, '    headers: { X-Team: infra }'));
        await waitUntil(() => reloads() === 2 && backup.received.length >= 3, 8000);
        backup.setAnswer({ status: 204 });
        await waitUntil(() => h.logs.text.includes('"msg":"notifier delivers again'), 8000);
      }, { LOG_LEVEL: 'info' });
      const lines = h.logs.lines().filter((l) => l['notifier'] === 'chat');
      const warned = lines.filter((l) => l['msg'] === 'delivery failed; will retry');
      expect(warned).toHaveLength(2);
      expect(warned[1]).toMatchObject({ level: 'warn', reason: 'server', failingSince: expect.any(String), error: expect.stringContaining(`127.0.0.1:${new URL(backup.url).port}`) });
      expect(Date.parse(String(warned[1]!['failingSince']))).toBeLessThanOrEqual(Date.parse(String(warned[0]!['time'])));
      const ended = lines.filter((l) => String(l['msg']).startsWith('notifier delivers again'));
      expect(ended).toEqual([expect.objectContaining({ level: 'info', failingSince: warned[1]!['failingSince'] })]);
    } finally {
      await backup.close();
    }
  });

  it('tries at once what is owed to a notifier a reload pointed at another receiver, though the one before asked for a pause', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    // Down for maintenance, asking for two minutes' pause.
    const maintenance = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503, { 'retry-after': '120' }).end('down for maintenance'));
    });
    maintenance.listen(0, '127.0.0.1');
    await once(maintenance, 'listening');
    try {
      const chat = (url: string) => ['  chat:', '    type: webhook', `    url: ${url}`].join('\n');
      // A maxDelay that lets the pause stand (the harness's 200 ms caps it).
      const file = (url: string) => h.yaml([done], { notifiers: chat(url) }).replace('maxDelay: 200ms', 'maxDelay: 5m');
      const path = await h.writeConfig(file(`http://127.0.0.1:${(maintenance.address() as AddressInfo).port}/hooks/ecs`));
      await whileRunning(h, path, async () => {
        await waitUntil(() => h.logs.text.includes('the receiver throttles notifications'), 8000);
        // The backup receiver: nothing asked it to wait.
        await writeFile(path, file(h.hooks.url));
        await waitUntil(() => h.hooks.received.length === 1, 8000);
      }, { LOG_LEVEL: 'info' });
    } finally {
      maintenance.close();
    }
  });

  it('keeps the pause a receiver asked for when a reload brings back the notifier that sends to it: what is owed waits for it', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    const throttling = await startThrottlingReceiver(120);
    try {
      const chat = ['  chat:', '    type: webhook', `    url: ${throttling.url}/hooks/ecs`].join('\n');
      // A maxDelay that lets the pause stand (the harness's 200 ms caps it).
      const file = (notifiers: string) => h.yaml([done], { notifiers }).replace('maxDelay: 200ms', 'maxDelay: 5m');
      const path = await h.writeConfig(file(chat));
      await whileRunning(h, path, async () => {
        await waitUntil(() => h.logs.text.includes('the receiver throttles notifications'), 8000);
        // Taken out, and put back as it was: to the same receiver, which asked for two minutes.
        await writeFile(path, file('  other:\n    type: webhook\n    url: http://127.0.0.1:9/other'));
        await waitUntil(() => h.logs.text.includes('notifications owed to notifier chat wait for it'), 8000);
        await writeFile(path, file(chat));
        await waitUntil(() => (h.logs.text.match(/"msg":"watch file reloaded"/g) ?? []).length === 2, 8000);
        // What is owed to it is due at once, and held for the pause.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(throttling.asked()).toBe(1);
      }, { LOG_LEVEL: 'info' });
    } finally {
      throttling.server.close();
    }
  });

  it('neither tries nor counts as failing what is owed to a notifier a reload took out: says once that it waits for it, and gives it up at delivery.maxAge', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    const port = await closedPort();
    const chat = ['  chat:', '    type: webhook', `    url: ${h.hooks.url}`].join('\n');
    const file = (notifiers: string) => h.yaml([done], { notifiers, http: `  port: ${port}\n  host: 127.0.0.1` }).replace('delivery:\n', 'delivery:\n  maxAge: 10s\n');
    const counted = async (result: string) => {
      const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
      // Summed over the reasons a failure's series carries.
      const series = [...metrics.matchAll(new RegExp(`^ecs_action_watch_notifications_total\\{notifier="chat",result="${result}"(?:,reason="[a-z]+")?\\} (\\d+)$`, 'gm'))];
      expect(series.length).toBeGreaterThan(0);
      return series.reduce((sum, m) => sum + Number(m[1]), 0);
    };
    h.hooks.setAnswer({ status: 503 });
    const path = await h.writeConfig(file(chat));
    let retriedBefore = 0;
    await whileRunning(h, path, async () => {
      await waitUntil(() => h.logs.text.includes('delivery failed; will retry'), 8000);
      // Renamed: the file has chat no more.
      await writeFile(path, file(chat.replace('chat:', 'team-chat:')));
      await waitUntil(() => h.logs.text.includes('"msg":"watch file reloaded"'), 8000);
      retriedBefore = await counted('retry');
      // `check` shows it waiting, with why, not as retried.
      const check = await h.cli(['check', '--config', path]);
      expect(check.stdout).toMatch(/^\S+ +chat +waiting \(notifier not in the file\) +\d+ +notifier chat was taken out of the watch file; kept until delivery\.maxAge in case it comes back$/m);
      await waitUntil(() => h.logs.text.includes('"msg":"delivery given up"'), 15_000);
      // What EcsActionWatchNotificationsFailing reads: no retry of a notifier the file no longer has.
      expect(await counted('retry')).toBe(retriedBefore);
      expect(await counted('given_up')).toBe(1);
    }, { LOG_LEVEL: 'info' });
    const lines = h.logs.lines().filter((l) => l['notifier'] === 'chat');
    const firstWaiting = lines.findIndex((l) => l['msg'] !== 'delivery failed; will retry');
    expect(firstWaiting).toBeGreaterThan(0);
    const after = lines.slice(firstWaiting);
    expect(after.map((l) => l['msg'])).toEqual([
      'notifications owed to notifier chat wait for it: the watch file no longer has it. They are not tried meanwhile, and kept until delivery.maxAge (10 s) after the outcome, early warning or digest each tells, in case it comes back (a file read half-written, a notifier renamed back), sent at once if it does; else given up then',
      'delivery given up',
    ]);
    expect(after[0]).toMatchObject({ level: 'warn', owed: 1 });
    expect(after[1]).toMatchObject({ level: 'error', why: 'its notifier was taken out of the watch file and not put back within delivery.maxAge (10 s) after the outcome', error: 'notifier chat was taken out of the watch file; kept until delivery.maxAge in case it comes back' });
    expect(h.hooks.received.every((hook) => hook.status === 503)).toBe(true);
  });
});

/** `run` on the file at `path` while `during` runs, then stopped by a signal, which it must end with status 0. */
async function whileRunning(h: Harness, path: string, during: () => Promise<void>, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const stop = new AbortController();
  const running = h.cli(['run', '--config', path], { signal: stop.signal, env });
  try {
    await during();
  } finally {
    stop.abort();
  }
  expect((await running).code).toBe(0);
}

/** A webhook receiver that answers every request 429 with `Retry-After: retryAfterSeconds`, counting them. */
async function startThrottlingReceiver(retryAfterSeconds: number) {
  let asked = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      asked++;
      res.writeHead(429, { 'retry-after': String(retryAfterSeconds) }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked: () => asked };
}

describe.concurrent('run: a reload whose parts cannot start', () => {
  it('does not keep held what is owed to a notifier the file that could not start took out: the running parts it went back to try it, and check says so', async ({ h }) => {
    const done = quickAction();
    h.simulator.addAction(done);
    h.hooks.setAnswer({ status: 503 });
    const chat = ['  chat:', '    type: webhook', `    url: ${h.hooks.url}`].join('\n');
    // A backoff that puts the next attempt minutes ahead: what the state says meanwhile is what `check` shows.
    const file = (notifiers: string, auth?: string) => h.yaml([done], { notifiers, auth }).replace('minDelay: 20ms', 'minDelay: 5m').replace('maxDelay: 200ms', 'maxDelay: 10m');
    const path = await h.writeConfig(file(chat));
    const running = join(h.dir, 'running.yaml');
    await writeFile(running, file(chat));
    const chatRow = async () => (await h.cli(['check', '--config', running])).stdout.split('\n').find((line) => /^\S+ +chat +/.test(line));
    await whileRunning(h, path, async () => {
      await waitUntil(() => h.logs.text.includes('delivery failed; will retry'), 8000);
      // chat taken out, and a token file named that is not there yet: the reloaded parts cannot start, and
      // the running configuration's start again, chat with them.
      await writeFile(path, file('  other:\n    type: webhook\n    url: http://127.0.0.1:9/other', `  auth: { type: token, tokenFile: ${join(h.dir, 'no-such-token')} }`));
      await waitUntil(() => h.logs.text.includes('the reloaded watch file cannot be started; keeping the running configuration'), 8000);
      await waitUntil(async () => /retrying in \d+m/.test((await chatRow()) ?? ''), 8000);
      // Nor is its last error why it would wait.
      expect(await chatRow()).not.toContain('taken out of the watch file');
    }, { LOG_LEVEL: 'info' });
    expect(h.logs.text).not.toContain('notifications owed to notifier chat wait for it');
    expect(h.hooks.received).toHaveLength(1);
  });

  it('keeps the pause a throttling receiver asked for when it goes back to the running parts: an outcome that comes meanwhile waits for it', async ({ h }) => {
    const throttling = await startThrottlingReceiver(60);
    try {
      const first = quickAction();
      // Ends well after the reload has gone back to the running parts (about 4 s: a look, the file's second, the next look).
      const later = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 12_000, taskState: 'rebooting' }] });
      for (const s of [first, later]) h.simulator.addAction(s);
      const text = (url: string, auth?: string) =>
        h.yaml([{ ...first, name: 'first' }, { ...later, name: 'later' }], { notifiers: ['  chat:', '    type: webhook', `    url: ${url}`].join('\n'), auth }).replace('  maxDelay: 200ms', '  maxDelay: 10m');
      const path = await h.writeConfig(text(`${throttling.url}/hook`));
      await whileRunning(h, path, async () => {
        await waitUntil(() => throttling.asked() === 1 && h.logs.text.includes('"msg":"the receiver throttles notifications'));
        // Moved to a backup receiver, and a token file named that is not there yet: the reloaded parts cannot
        // start, and the running ones go on, sending to the receiver that throttles.
        await writeFile(path, text(h.hooks.url, `  auth: { type: token, tokenFile: ${join(h.dir, 'no-such-token')} }`));
        await waitUntil(() => h.logs.text.includes('the reloaded watch file cannot be started; keeping the running configuration'), 8000);
        const finished = () => h.logs.lines().findIndex((l) => l['msg'] === 'watch finished' && l['requestId'] === later.requestId);
        await waitUntil(() => finished() >= 0, 20_000);
        expect(finished()).toBeGreaterThan(h.logs.lines().findIndex((l) => l['msg'] === 'the reloaded watch file cannot be started; keeping the running configuration'));
        // Its attempt, were it not held for the pause.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(throttling.asked()).toBe(1);
        expect(h.hooks.received).toHaveLength(0);
      });
    } finally {
      throttling.server.close();
    }
  });

  it('stops with status 1 and the reason instead of running on with nothing polled while /healthz answers', async ({ h }) => {
    const port = await closedPort();
    const ids = { ...newIds(), name: 'pending' };
    const http = `  port: ${port}\n  host: 127.0.0.1`;
    const path = await h.writeConfig(h.yaml([ids], { http }));
    const stop = new AbortController();
    const running = h.cli(['run', '--config', path], { signal: stop.signal });
    try {
      await waitUntil(() => h.logs.text.includes('"msg":"started"'));
      // A change beyond the watch list rebuilds the parts; meanwhile the state folder became a file, so
      // neither the new file's parts nor the previous ones can lock or open the state any more.
      await writeFile(path, h.yaml([ids], { http, poll: '  schedule: "*/2 * * * * *"\n  retries: 3' }));
      await replaceFolderWithFile(join(h.dir, 'state'));
      const r = await Promise.race([running, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
      expect(r).toMatchObject({ code: 1 });
      expect((r as { stderr: string }).stderr).toContain('the daemon cannot start its parts again after a reload');
    } finally {
      stop.abort();
      await running;
    }
  });
});

/**
 * Moves the folder at `path` aside and puts a file there. The daemon makes its state folder again when it is
 * missing (a save, the lock's refresh), which may come between the two: moved aside again until the file stays.
 */
async function replaceFolderWithFile(path: string): Promise<void> {
  for (let moves = 1; ; moves++) {
    await rename(path, `${path}.moved-${moves}`);
    try {
      await writeFile(path, 'not a folder\n', { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

describe.concurrent('run: an edit while starting', () => {
  it('applies an edit made while the daemon waits for the state lock, once it runs', async ({ h }) => {
    // A fresh lock of another host: waited for until that daemon releases it.
    await mkdir(join(h.dir, 'state'), { recursive: true });
    const lock = join(h.dir, 'state', 'state.json.lock');
    await writeFile(lock, `${JSON.stringify({ pid: 1, hostname: 'another-host', startedAt: new Date().toISOString(), instance: 'x' })}\n`);
    const first = { ...newIds(), name: 'pending' };
    const path = await h.writeConfig(h.yaml([first]));
    await whileRunning(h, path, async () => {
      await waitUntil(() => h.logs.text.includes('the state file is locked by'));
      // As `add` would: the daemon read the file before this, and has not started yet.
      const added = quickAction();
      h.simulator.addAction(added);
      await writeFile(path, h.yaml([first, added]));
      await rm(lock);
      await waitUntil(() => h.hooks.received.length === 1, 12_000);
    });
  });
});

describe.concurrent('check', () => {
  it('prints a table of each watch and exits 0 when every poll answered', async ({ h }) => {
    // Pending whenever its poll comes, however slowly `check` starts beside the other tests.
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const done = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    h.simulator.addAction(done);
    const path = await h.writeConfig(h.yaml([{ ...a, name: 'reboot web-01' }, { ...newIds(), name: 'ghost' }, { ...done, name: 'reboot web-02' }]));
    const r = await h.cli(['check', '--config', path]);
    expect(r.code).toBe(0);
    // A success has no error to show.
    expect(r.stdout).toMatch(new RegExp(`^reboot web-02\\s+${done.serverId}\\s+reboot\\s+1/1\\s+success\\s+\\d+s\\s+-\\s+-$`, 'm'));
    expect(r.stdout).toMatch(/^NAME\s+SERVER\s+ACTION\s+EVENTS\s+STATE\s+AGE\s+NOTIFIED\s+LAST ERROR$/m);
    expect(r.stdout).toMatch(new RegExp(`^reboot web-01\\s+${a.serverId}\\s+reboot\\s+0/1\\s+pending\\s+\\d+s\\s+-\\s+-$`, 'm'));
    // Its server is unknown too: the API's 404 in its words, no hint (the server's action list is 404 as well).
    expect(r.stdout).toMatch(/^ghost\s+\S+\s+-\s+-\s+pending\s+\d+s\s+-\s+not visible yet \(404: Instance \S+ could not be found\.\)$/m);
    // No colour codes where no terminal reads them.
    expect(r.stdout).not.toContain('\u001b[');
    // The header and a row per watch; no table of tracked servers where the daemon tracks none; and that
    // NOTIFIED is - for want of the daemon's state, which it has not saved yet.
    const [table, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(table!.split('\n')).toHaveLength(4);
    expect(rest).toEqual([h.noStateNote]);
    // A server's list of actions is read for the id the API does not know only.
    expect(h.simulator.requests.filter((q) => q.route === 'actions')).toHaveLength(1);
    expect(h.hooks.received).toHaveLength(0);
  });

  it('says on stderr, at its default log level, that the cloud throttles it and when it asks again; Ctrl-C ends it at once', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 3600 }, { pathIncludes: a.requestId });
    const stderr = new Capture();
    const interrupt = new AbortController();
    const checking = h.cli(['check', '--config', await h.writeConfig(h.yaml([a]))], { stderr, signal: interrupt.signal, env: { LOG_LEVEL: '' } });
    await waitUntil(() => stderr.text !== '');
    interrupt.abort('SIGINT');
    expect(await checking).toEqual({
      code: 130,
      stdout: '',
      stderr: 'ecs-action-watch check: the cloud throttles requests (429, Retry-After 1h00m): asking again in 1m00s; Ctrl-C stops the check\n',
    });
    expect(h.simulator.requests.filter((q) => q.route === 'action')).toHaveLength(1);
  });

  it('says on stderr when poll.rateLimit holds its next request back 5 s or more, as it says a 429\'s pause: silent, it looked hung', async ({ h }) => {
    const watched = [quickAction({ neverFinishes: true }), quickAction({ neverFinishes: true })];
    for (const a of watched) h.simulator.addAction(a);
    const stderr = new Capture();
    const interrupt = new AbortController();
    const yaml = h.yaml(watched, { poll: '  schedule: "* * * * * *"\n  retries: 0\n  rateLimit: 1/m', cloud: '  microversion: "2.60"' });
    const checking = h.cli(['check', '--config', await h.writeConfig(yaml)], { stderr, signal: interrupt.signal, env: { LOG_LEVEL: '' } });
    await waitUntil(() => stderr.text !== '' || h.simulator.requests.length > 1).catch(() => undefined);
    interrupt.abort('SIGINT');
    expect(await checking).toEqual({
      code: 130,
      stdout: '',
      stderr: 'ecs-action-watch check: requests wait their turn under poll.rateLimit (1/m): the next goes in 1m00s; Ctrl-C stops the check\n',
    });
    expect(h.simulator.requests).toHaveLength(1);
  });

  it('says so when the file has no watches, and exits 0', async ({ h }) => {
    expect(await h.cli(['check', '--config', await h.writeConfig(h.yaml([]))])).toEqual({ code: 0, stdout: 'no watches in the file\n', stderr: '' });
  });

  it('needs none of the notifiers\' variables, and still refuses a watch that names a notifier the file lacks', async ({ h }) => {
    const a = quickAction();
    h.simulator.addAction(a);
    // Where an operator runs check, the daemon's notifier secrets are not set.
    const env = { SMTP_PASSWORD: undefined, WEBHOOK_SECRET: undefined };
    const path = await h.writeConfig(h.yaml([{ ...a, extra: '    notify: [chat]' }]));
    const r = await h.cli(['check', '--config', path], { env });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^${a.requestId}\\s+${a.serverId}\\s+reboot\\s`, 'm'));

    await h.writeConfig(h.yaml([{ ...a, extra: '    notify: [chat, pager]' }]));
    const unknown = await h.cli(['check', '--config', path], { env });
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^\d+:\d+ watches\[0\]\.notify\[1\]: unknown notifier 'pager' \(configured: chat, ops-mail\)\n$/);
    // What it does use is still checked.
    const noToken = await h.cli(['check', '--config', path], { env: { ...env, ECS_AUTH_TOKEN: undefined } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/cloud\.auth\.token: environment variable ECS_AUTH_TOKEN is not set/);
    expect(noToken.stderr).not.toMatch(/SMTP_PASSWORD|WEBHOOK_SECRET/);
  });

  it('names, for a request id the API does not know, the server\'s action it most likely meant, or its latest ones', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const cut = { serverId: a.serverId, requestId: a.requestId.slice(0, -3), name: 'cut short' };
    const other = { serverId: a.serverId, requestId: newIds().requestId, name: 'another call' };
    const path = await h.writeConfig(h.yaml([cut, other]));
    const r = await h.cli(['check', '--config', path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const meant = `reboot ${a.requestId} \\(started \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)`;
    expect(r.stdout).toMatch(new RegExp(`^cut short\\s.*\\spending\\s+\\d+s\\s+-\\s+not visible yet \\(404: Action ${cut.requestId} not found\\); did you mean ${meant}\\?$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^another call\\s.*\\spending\\s.*; the server's latest actions: ${meant}$`, 'm'));
    const json = JSON.parse((await h.cli(['check', '--json', '--config', path])).stdout) as Array<{ lastError: string; pollFailed: boolean }>;
    expect(json.map((w) => w.pollFailed)).toEqual([false, false]);
    expect(json[0]!.lastError).toMatch(new RegExp(`; did you mean ${meant}\\?$`));
  });

  it('reads the action lists for its hints poll.concurrency at a time', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const unknown = Array.from({ length: 6 }, () => ({ serverId: a.serverId, requestId: newIds().requestId }));
    h.simulator.injectFault({ kind: 'slow', delayMs: 60 }, { route: 'actions', times: unknown.length });
    const path = await h.writeConfig(h.yaml(unknown, { poll: '  schedule: "* * * * * *"\n  concurrency: 2' }));
    let most = 0;
    const watching = setInterval(() => {
      most = Math.max(most, h.simulator.requests.filter((r) => r.route === 'actions' && r.status === null).length);
    }, 5);
    try {
      const r = await h.cli(['check', '--config', path]);
      expect(r.code).toBe(0);
      expect(r.stdout.match(/; the server's latest actions: reboot /g)).toHaveLength(unknown.length);
    } finally {
      clearInterval(watching);
    }
    expect(h.simulator.requests.filter((r) => r.route === 'actions')).toHaveLength(unknown.length);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });

  it('--json prints an array and exits 1 when a poll failed', async ({ h }) => {
    const a = quickAction();
    h.simulator.addAction(a);
    h.simulator.setToken('another-token');
    const path = await h.writeConfig(h.yaml([a]));
    const r = await h.cli(['check', '--json', '--config', path]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as Array<{ requestId: string; pollFailed: boolean; lastError: string }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ requestId: a.requestId, pollFailed: true, state: 'pending', events: null, action: null });
    expect(rows[0]!.lastError).toMatch(/401/);
    for (const secret of SECRETS) expect(r.stdout + h.logs.text).not.toContain(secret);
  });

  it('polls each watch anew, whatever the daemon\'s state says of it, and exits 1 when one poll of several failed', async ({ h }) => {
    const done = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    const running = quickAction({ neverFinishes: true });
    h.simulator.addAction(done);
    h.simulator.addAction(running);
    const yaml = h.yaml([{ ...done, name: 'reboot web-01' }, { ...running, name: 'reboot web-02' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const daemon = await h.app(yaml);
    expect((await daemon.engine.pollOnce()).map((s) => s.state)).toEqual(['success', 'pending']);
    await daemon.close();
    h.simulator.injectFault({ kind: 'server-error' }, { pathIncludes: done.requestId, times: 1 });
    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^reboot web-01\s.*\spoll failed\s+\S+\s+success: \w+\s+last poll failed: GET \S+ → 500 /m);
    expect(r.stdout).toMatch(/^reboot web-02\s.*\spending\s+\S+\s+-\s+-$/m);
  });

  // The daemon's verdict stands: a check whose poll of a decided watch fails past its deadline told the operator
  // of a `success: sent` watch that it was judged once the API answers, "or a timeout in 20 min".
  it('says of a decided watch whose poll failed past its deadline only the poll\'s error, not a timeout still to come', async ({ h }) => {
    const done = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    h.simulator.addAction(done);
    const yaml = h.yaml([{ ...done, name: 'reboot web-01' }], { poll: '  schedule: "* * * * * *"\n  retries: 0\n  deadline: 1h' });
    const daemon = await h.app(yaml);
    expect((await daemon.engine.pollOnce()).map((s) => s.state)).toEqual(['success']);
    await daemon.close();
    // As if the daemon had tracked it, and seen it end, two hours ago: this check comes past its deadline.
    const saved = JSON.parse(await readFile(h.statePath, 'utf8')) as { watches: Record<string, Record<string, unknown>> };
    const hoursAgo = (at: string) => new Date(Date.parse(at.endsWith('Z') ? at : `${at}Z`) - 2 * 3_600_000).toISOString();
    const record = Object.values(saved.watches)[0]!;
    const action = record['instanceAction'] as { start_time: string; events: Array<{ start_time: string; finish_time: string }> };
    record['trackingSince'] = hoursAgo(record['trackingSince'] as string);
    action.start_time = hoursAgo(action.start_time);
    for (const event of action.events) Object.assign(event, { start_time: hoursAgo(event.start_time), finish_time: hoursAgo(event.finish_time) });
    await writeFile(h.statePath, JSON.stringify(saved));
    h.simulator.injectFault({ kind: 'server-error' }, { pathIncludes: done.requestId, times: 2 });

    const path = await h.writeConfig(yaml);
    const r = await h.cli(['check', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^reboot web-01\s.*\spoll failed\s+\S+\s+success: \w+\s+last poll failed: GET \S+ → 500 .*$/m);
    expect(r.stdout).not.toContain('past the deadline');
    const [json] = JSON.parse((await h.cli(['check', '--json', '--config', path])).stdout) as Array<{ lastError: string; detail: string }>;
    expect(json!.lastError).toMatch(/^last poll failed: GET \S+ → 500 /);
    expect(json!.detail).not.toContain('past the deadline');
  });

  // The hint of a 404 is for an id the daemon has not judged: one it decided is shown with its verdict's reason
  // all the same, and the server's list read for it cost a request a watch at every check (a check of 1,000
  // watches decided not_found: 1,000 reads more, a long wait under poll.rateLimit).
  it('reads no action list for a hint to a watch the daemon decided, whose poll the API answers 404', async ({ h }) => {
    const unseen = quickAction({ visibleAfterMs: 3_600_000 });
    h.simulator.addAction(unseen);
    const yaml = h.yaml([{ ...unseen, name: 'reboot web-01' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const daemon = await h.app(yaml);
    expect((await daemon.engine.pollOnce()).map((s) => s.notFound)).toEqual([true]);
    await daemon.close();
    // As the daemon leaves it two minutes of 404s on: not_found, told to nobody.
    const saved = JSON.parse(await readFile(h.statePath, 'utf8')) as { watches: Record<string, Record<string, unknown>> };
    const reason = 'the API answered "not found" to 120 polls over 2 min: Action not found';
    Object.values(saved.watches)[0]!['verdict'] = { outcome: 'not_found', reason, detectedAt: new Date().toISOString() };
    await writeFile(h.statePath, JSON.stringify(saved));
    h.simulator.clearRequests();
    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r.stdout).toMatch(/^reboot web-01\s.*\snot_found\s+\S+\s+no notifier\s+the API answered "not found" to 120 polls/m);
    expect(h.simulator.requests.filter((q) => q.route === 'action')).not.toEqual([]);
    expect(h.simulator.requests.filter((q) => q.route === 'actions')).toEqual([]);
  });

  // A server deleted days after its create succeeded: Nova answers 404 for it and hides its actions. Judged
  // afresh, an undecided watch cannot tell that from a blip, but the daemon decided this one: every check
  // showed `poll failed` and exited 1 for it, an alarm for good in a script that runs check, until the watch
  // left the file.
  it('shows a decided watch whose server was deleted since with its verdict, and counts its poll as answered', async ({ h }) => {
    const done = quickAction({ action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 0 }] });
    h.simulator.addAction(done);
    const yaml = h.yaml([{ ...done, name: 'create web-01' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const daemon = await h.app(yaml);
    expect((await daemon.engine.pollOnce()).map((s) => s.state)).toEqual(['success']);
    await daemon.close();
    for (const route of ['action', 'server'] as const) h.simulator.injectFault({ kind: 'not-found' }, { route, times: 20 });
    const path = await h.writeConfig(yaml);
    const r = await h.cli(['check', '--config', path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^create web-01\s.*\screate\s+1\/1\s+success\s+\S+\s+sending\s+-$/m);
    // A read that failed is a failed poll all the same.
    h.simulator.clearFaults();
    h.simulator.injectFault({ kind: 'server-error' }, { route: 'action', times: 20 });
    expect((await h.cli(['check', '--config', path])).code).toBe(1);
  });

  // `in digest` says the digest is still to come: one whose batch finished, its digest recorded with nobody to
  // tell (every notifier's `on:` left its outcomes out), was shown as waiting for it for good.
  it('says no notifier of a watch whose batch digest was recorded with none to go to, and in digest while it is to come', async ({ h }) => {
    const [told, waits] = [0, 1].map(() => quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] }));
    const running = quickAction({ neverFinishes: true });
    for (const a of [told!, waits!, running]) h.simulator.addAction(a);
    const notifiers = `  chat:\n    type: webhook\n    url: ${h.hooks.url}\n    on: [failure, timeout, not_found]`;
    const yaml = h.yaml(
      [
        { ...told!, name: 'reboot web-01', extra: '    batch: done' },
        { ...waits!, name: 'reboot web-02', extra: '    batch: running' },
        { ...running, name: 'reboot web-03', extra: '    batch: running' },
      ],
      { notifiers },
    );
    const daemon = await h.app(yaml);
    await daemon.engine.pollOnce();
    expect(daemon.store.getBatch('done')!.digests.map((d) => [d.final, Object.keys(d.deliveries)])).toEqual([[true, []]]);
    await daemon.close();

    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r.stdout).toMatch(/^reboot web-01\s.*\ssuccess\s+\d+s\s+no notifier\s+-$/m);
    expect(r.stdout).toMatch(/^reboot web-02\s.*\ssuccess\s+\d+s\s+in digest\s+-$/m);
    expect(h.hooks.received).toHaveLength(0);
  });

  it('shows, from the daemon\'s state, whom it told of each verdict, and lists below the notifications not delivered', async ({ h }) => {
    const [told, retried, refused] = [0, 1, 2].map(() => quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] }));
    for (const a of [told, retried, refused]) h.simulator.addAction(a!);
    const pending = quickAction({ neverFinishes: true });
    h.simulator.addAction(pending);
    const notifiers = [
      ['chat', h.hooks.url],
      // Connection refused: tried again and again.
      ['pager', `http://127.0.0.1:${await closedPort()}/hook`],
      // The simulator, which asks for its token: an answer that will not change (401), given up at once.
      ['gone', `${h.simulator.url}/no-such-receiver`],
    ].map(([name, url]) => `  ${name}:\n    type: webhook\n    url: ${url}`).join('\n');
    const yaml = h.yaml(
      [
        { ...told!, name: 'reboot web-01', extra: '    notify: [chat]' },
        { ...retried!, name: 'reboot web-02', extra: '    notify: [chat, pager]' },
        { ...refused!, name: 'reboot web-03', extra: '    notify: [gone]' },
        { ...pending, name: 'reboot web-04' },
      ],
      { notifiers },
    );
    const daemon = await h.app(yaml);
    await daemon.engine.pollOnce();
    const statuses = () => daemon.store.entries().flatMap(([, r]) => Object.entries(r.deliveries).map(([n, d]) => `${r.name} ${n} ${d.status} ${d.attempts > 0}`));
    await daemon.outbox.flush();
    expect(statuses().sort()).toEqual(['reboot web-01 chat delivered true', 'reboot web-02 chat delivered true', 'reboot web-02 pager pending true', 'reboot web-03 gone given_up true']);
    await daemon.close();

    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    // Nothing more: the state was found.
    const [table, undelivered, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(rest).toEqual([]);
    expect(table).toMatch(/^reboot web-01\s.*\ssuccess\s+\d+s\s+sent\s+-$/m);
    expect(table).toMatch(/^reboot web-02\s.*\ssuccess\s+\d+s\s+sending\s+-$/m);
    expect(table).toMatch(/^reboot web-03\s.*\ssuccess\s+\d+s\s+given up\s+-$/m);
    expect(table).toMatch(/^reboot web-04\s.*\spending\s+\d+s\s+-\s+-$/m);
    expect(undelivered).toMatch(/^NOT DELIVERED\s+NOTIFIER\s+STATE\s+ATTEMPTS\s+LAST ERROR\n/);
    expect(undelivered).toMatch(/^reboot web-02\s+pager\s+retrying(?: in \S+)?\s+\d+\s+.*refused/m);
    expect(undelivered).toMatch(/^reboot web-03\s+gone\s+given up\s+1\s+.*answered 401 /m);
    expect(undelivered!.trimEnd().split('\n')).toHaveLength(3);

    const json = JSON.parse((await h.cli(['check', '--json', '--config', await h.writeConfig(yaml)])).stdout) as Array<{ name: string; notified: unknown }>;
    const delivery = (status: string) => ({ status, attempts: expect.any(Number) as number, lastError: expect.anything() as unknown, updatedAt: expect.any(String) as string });
    expect(json.map((w) => [w.name, w.notified])).toEqual([
      ['reboot web-01', { outcome: 'success', detectedAt: expect.any(String), batch: null, deliveries: { chat: { ...delivery('delivered'), lastError: null, nextAttemptAt: null } } }],
      ['reboot web-02', expect.objectContaining({ deliveries: { chat: expect.objectContaining({ status: 'delivered' }), pager: { ...delivery('pending'), nextAttemptAt: expect.any(String) } } })],
      ['reboot web-03', expect.objectContaining({ deliveries: { gone: { ...delivery('given_up'), nextAttemptAt: null } } })],
      ['reboot web-04', null],
    ]);
    // check sends nothing: only the daemon's one delivery to chat of each of web-01 and web-02.
    expect(h.hooks.received).toHaveLength(2);
  });

  it('says under its table that it found no daemon state, where a relative state.path was looked for, and how to find the daemon\'s', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    // The default is relative too: read from the folder check runs in, not the daemon's working folder.
    const relative = `eaw-no-state-${basename(h.dir)}/state.json`;
    const r = await h.cli(['check', '--config', await h.writeConfig(h.yaml([a]).replace(h.statePath, relative))]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [table, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(table).toMatch(new RegExp(`^${a.requestId}\\s.*\\spending\\s+\\d+s\\s+-\\s+-$`, 'm'));
    expect(rest).toEqual([
      `No daemon state at ${join(process.cwd(), relative)}, so NOTIFIED is - and ages count from this check: state.path ${relative} is relative to the folder a command runs in: run check in the daemon's working folder, or give state.path as an absolute path`,
    ]);
    // Said for the table that reads it only: --json has `notified: null`.
    const json = await h.cli(['check', '--json', '--config', await h.writeConfig(h.yaml([a]).replace(h.statePath, relative))]);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ notified: null })]);
  });

  // A file of `track:` alone read from another folder than the daemon's showed `no watches in the file` and
  // nothing more, while the daemon followed the watches tracking had started.
  it('says, for a file that tracks, that without the daemon\'s state the watches auto-tracking started are not shown', async ({ h }) => {
    const relative = `eaw-no-state-${basename(h.dir)}/state.json`;
    const yaml = h.yaml([], { track: `  - servers: [${crypto.randomUUID()}]` }).replace(h.statePath, relative);
    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trimEnd().split('\n\n')).toEqual([
      'no watches in the file',
      `No daemon state at ${join(process.cwd(), relative)}, so the watches auto-tracking started are not shown: state.path ${relative} is relative to the folder a command runs in: run check in the daemon's working folder, or give state.path as an absolute path`,
    ]);
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const both = await h.cli(['check', '--config', await h.writeConfig(h.yaml([a], { track: `  - servers: [${a.serverId}]` }))]);
    expect(both.stdout.trimEnd().split('\n\n').slice(1)).toEqual([
      `No daemon state at ${h.statePath}, so NOTIFIED is - and ages count from this check, and the watches auto-tracking started are not shown: the daemon has saved none there yet, or runs with another state.path`,
    ]);
  });

  it('lists below the table the notifications the daemon still owes or gave up of a watch taken out of the file since', async ({ h }) => {
    const [left, stays] = [0, 1].map(() => quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] }));
    for (const a of [left, stays]) h.simulator.addAction(a!);
    const notifiers = [
      ['chat', h.hooks.url],
      // Connection refused: tried again and again.
      ['pager', `http://127.0.0.1:${await closedPort()}/hook`],
      // The simulator, which asks for its token: an answer that will not change (401), given up at once.
      ['gone', `${h.simulator.url}/no-such-receiver`],
    ].map(([name, url]) => `  ${name}:\n    type: webhook\n    url: ${url}`).join('\n');
    const watched = { ...stays!, name: 'reboot web-02', extra: '    notify: [chat]' };
    const daemon = await h.app(h.yaml([{ ...left!, name: 'reboot web-01', extra: '    notify: [pager, gone]' }, watched], { notifiers }));
    await daemon.engine.pollOnce();
    await daemon.outbox.flush();
    await daemon.close();

    // Taken out once it failed to page anyone (`remove`): the daemon still retries pager, and gave gone up.
    const r = await h.cli(['check', '--config', await h.writeConfig(h.yaml([watched], { notifiers }))]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [table, undelivered, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(rest).toEqual([]);
    expect(table!.split('\n')).toHaveLength(2);
    expect(undelivered).toMatch(/^NOT DELIVERED\s+NOTIFIER\s+STATE\s+ATTEMPTS\s+LAST ERROR\n/);
    expect(undelivered).toMatch(/^reboot web-01 \(not in the file\)\s+pager\s+retrying(?: in \S+)?\s+\d+\s+.*refused/m);
    expect(undelivered).toMatch(/^reboot web-01 \(not in the file\)\s+gone\s+given up\s+1\s+.*answered 401 /m);
    expect(undelivered!.split('\n')).toHaveLength(3);
  });

  it('lists below the table an early warning the daemon could not deliver, as it lists an outcome\'s', async ({ h }) => {
    const running = quickAction({ neverFinishes: true });
    h.simulator.addAction(running);
    // The simulator, which asks for its token: an answer that will not change (401), given up at once.
    const notifiers = `  gone:\n    type: webhook\n    url: ${h.simulator.url}/no-such-receiver`;
    const yaml = h.yaml([{ ...running, name: 'reboot web-01', extra: '    warnAfter: 100ms' }], { notifiers });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const daemon = await h.app(yaml);
    await daemon.engine.pollOnce();
    await daemon.outbox.flush();
    await daemon.close();

    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [table, undelivered, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(rest).toEqual([]);
    expect(table).toMatch(/^reboot web-01\s.*\spending\s+\d+s\s+-\s+-$/m);
    expect(undelivered).toMatch(/^NOT DELIVERED\s+NOTIFIER\s+STATE\s+ATTEMPTS\s+LAST ERROR\nreboot web-01: early warning\s+gone\s+given up\s+1\s+.*answered 401 [^\n]*$/);
  });

  // Listed once a watch of the batch, a digest lost for 50 watches was 50 lines, each read as that watch's
  // own notification lost.
  it('lists below the table a batch digest the daemon could not deliver once, naming the batch and how many watches it reports', async ({ h }) => {
    const actions = [0, 1, 2].map(() => quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] }));
    for (const a of actions) h.simulator.addAction(a);
    // The simulator, which asks for its token: an answer that will not change (401), given up at once.
    const notifiers = `  gone:\n    type: webhook\n    url: ${h.simulator.url}/no-such-receiver`;
    const yaml = h.yaml(actions.map((a, i) => ({ ...a, name: `reboot web-0${i + 1}`, extra: '    batch: fleet' })), { notifiers });
    const daemon = await h.app(yaml);
    await daemon.engine.pollOnce();
    await daemon.outbox.flush();
    expect(daemon.store.getBatch('fleet')!.digests[0]!.deliveries['gone']!.status).toBe('given_up');
    await daemon.close();

    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [table, undelivered, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(rest).toEqual([]);
    expect(table).toMatch(/^reboot web-01\s.*\ssuccess\s+\d+s\s+given up\s+-$/m);
    expect(undelivered).toMatch(/^NOT DELIVERED\s+NOTIFIER\s+STATE\s+ATTEMPTS\s+LAST ERROR\nbatch fleet: digest of 3 watches\s+gone\s+given up\s+1\s+.*answered 401 [^\n]*$/);
  });

  it('lets check poll without a corrupt state file, saying what it leaves out', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const path = await h.writeConfig(h.yaml([{ ...a, name: 'reboot web-01' }]));
    await mkdir(join(h.dir, 'state'), { recursive: true });
    await writeFile(join(h.dir, 'state', 'state.json'), '{"version":1,"watches":');
    const r = await h.cli(['check', '--config', path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: state file .*state\.json: is not valid JSON: .*; checking without the daemon's state: ages count from this check, and auto-tracked watches are not shown\n$/,
    );
    expect(r.stdout).toMatch(/^reboot web-01\s.*\spending\s/m);
  });

  // The daemon's unit sets STATE_DIRECTORY; the operator's shell does not: the state is what check cannot use here, not the file.
  it('polls without the daemon\'s state when state.path names a variable this shell does not set, saying so', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const path = await h.writeConfig(h.yaml([{ ...a, name: 'reboot web-01' }]).replace(/^ {2}path: .*$/m, '  path: ${STATE_DIRECTORY}/state.json'));
    for (const json of [false, true]) {
      const r = await h.cli(['check', '--config', path, ...(json ? ['--json'] : [])]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(
        "warning: state.path: environment variable STATE_DIRECTORY is not set here (the daemon's environment has it); checking without the daemon's state: ages count from this check, and auto-tracked watches are not shown\n",
      );
      if (json) expect(JSON.parse(r.stdout)).toMatchObject([{ name: 'reboot web-01', state: 'pending', notified: null }]);
      else expect(r.stdout).toMatch(/^reboot web-01\s.*\spending\s/m);
    }
    // A variable of any other section the check reads is still the file's problem.
    const unset = await h.writeConfig(h.yaml([{ ...a, name: 'reboot web-01' }], { cloudTimeout: '${CLOUD_TIMEOUT}' }));
    expect(await h.cli(['check', '--config', unset])).toMatchObject({ code: 2, stdout: '' });
  });

  // check reads track: only to say that a state not found hides what tracking started: a server id its unit's
  // Environment= gives, which the operator's shell lacks, must not stop it.
  it('polls when track: names a variable this shell does not set, and still says what a state not found hides', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const path = await h.writeConfig(h.yaml([{ ...a, name: 'reboot web-01' }], { track: '  - servers: ["${WEB_SERVER_ID}"]' }));
    const r = await h.cli(['check', '--config', path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trimEnd().split('\n\n').slice(1)).toEqual([
      `No daemon state at ${h.statePath}, so NOTIFIED is - and ages count from this check, and the watches auto-tracking started are not shown: the daemon has saved none there yet, or runs with another state.path`,
    ]);
  });

  it('says how long the daemon has seen a watch\'s polls fail, from its state', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    h.simulator.setToken('another-token');
    const yaml = h.yaml([{ ...a, name: 'reboot web-01' }], { poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const daemon = await h.app(yaml);
    await daemon.engine.pollOnce();
    await daemon.close();
    // As if that first failed poll had been two hours ago.
    const statePath = join(h.dir, 'state', 'state.json');
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as { watches: Record<string, { failingSince: string | null }> };
    const record = Object.values(saved.watches)[0]!;
    expect(record.failingSince).not.toBeNull();
    const since = new Date(Date.parse(record.failingSince!) - 2 * 3_600_000).toISOString();
    record.failingSince = since;
    await writeFile(statePath, JSON.stringify(saved));

    const path = await h.writeConfig(yaml);
    const r = await h.cli(['check', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^reboot web-01\s.*\spoll failed\s+\S+\s+-\s+failing for 2h00m: .*401/m);
    const json = await h.cli(['check', '--json', '--config', path]);
    expect(JSON.parse(json.stdout)).toMatchObject([{ pollFailed: true, failingSince: since, lastError: expect.stringMatching(/401/) }]);

    // A watch whose polls the daemon saw answered: this check's failed poll is news, with no "for".
    h.simulator.setToken(undefined);
    const answered = await h.app(yaml);
    await answered.engine.pollOnce();
    await answered.close();
    h.simulator.setToken('another-token');
    const fresh = await h.cli(['check', '--config', path]);
    expect(fresh.stdout).toMatch(/^reboot web-01\s.*\spoll failed\s+\S+\s+-\s+last poll failed: /m);
    expect(fresh.stdout).not.toContain('failing for');
  });
});

// Not beside the concurrent tests: this one sets Date, which check reads a next attempt's wait against.
describe('check: a notification whose next attempt is under a second away', () => {
  it('says it is retrying, not `retrying in 0s`, which read as a retry stuck at zero', async ({ h, onTestFinished }) => {
    const a = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    h.simulator.addAction(a);
    // Connection refused: tried again and again, minutes apart.
    const notifiers = `  pager:\n    type: webhook\n    url: http://127.0.0.1:${await closedPort()}/hook`;
    const yaml = h.yaml([{ ...a, name: 'reboot web-01', extra: '    notify: [pager]' }], { notifiers }).replace('minDelay: 20ms', 'minDelay: 5m').replace('maxDelay: 200ms', 'maxDelay: 10m');
    const daemon = await h.app(yaml);
    await daemon.engine.pollOnce();
    await daemon.outbox.flush();
    const next = daemon.store.entries()[0]![1].deliveries['pager']!.nextAttemptAt!;
    await daemon.close();

    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    vi.setSystemTime(Date.parse(next) - 500);
    const r = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(r.stdout).toMatch(/^reboot web-01\s+pager\s+retrying\s+1\s+.*refused/m);
    vi.setSystemTime(Date.parse(next) - 65_000);
    expect((await h.cli(['check', '--config', await h.writeConfig(yaml)])).stdout).toMatch(/^reboot web-01\s+pager\s+retrying in 1m05s\s+1\s/m);
  });
});

describe.concurrent('errors that stop a command', () => {
  // 2, as for an invalid watch file: systemd's unit (RestartPreventExitStatus=2) then stops restarting
  // into a file that someone has to fix first.
  it('names a corrupt state file and what to do, without a stack, and exits 2', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }]));
    await mkdir(join(h.dir, 'state'), { recursive: true });
    await writeFile(join(h.dir, 'state', 'state.json'), '{"version":1,"watches":');
    const r = await h.cli(['run', '--config', path], { env: { LOG_LEVEL: 'info' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ecs-action-watch run: state file .*state\.json: is not valid JSON: .*move it aside to start afresh/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // The log says why too, before its `stopping`, for whoever reads only the JSON lines.
    const log = h.logs.lines();
    const fatal = log.findIndex((line) => line['level'] === 'fatal');
    expect(log[fatal]).toMatchObject({ msg: 'the daemon cannot start; stopping', error: expect.stringMatching(/^state file .*state\.json: is not valid JSON: /) as string });
    expect(log.findIndex((line) => line['msg'] === 'stopping')).toBeGreaterThan(fatal);
  });

  it('exits 2 for a state.path that names a folder', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }]));
    await mkdir(join(h.dir, 'state', 'state.json'), { recursive: true });
    const r = await h.cli(['run', '--config', path], { env: { LOG_LEVEL: 'info' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ecs-action-watch run: state file .*state\.json: is a directory, not a regular file \(set state\.path to a file in a writable folder\)\n$/);
  });

  // As an unreadable cloud.tls.caFile is: a setting that cannot be used here, found before any request. 1
  // would tell a pipeline that the action failed (wait) or that a poll did (check).
  it('exits 2 from wait and check for a credential file they cannot read, asking the cloud nothing', async ({ h }) => {
    const action = quickAction();
    h.simulator.addAction(action);
    const empty = join(h.dir, 'empty-token');
    await writeFile(empty, '\n');
    const cases = [[join(h.dir, 'no-such-token'), 'cannot read cloud.auth.tokenFile %s: no such file'], [h.dir, 'cannot read cloud.auth.tokenFile %s: is a directory, not a regular file'], [empty, 'cloud.auth.tokenFile %s is empty']] as const;
    for (const [tokenFile, message] of cases) {
      const path = await h.writeConfig(h.yaml([action], { auth: `  auth: { type: token, tokenFile: ${tokenFile} }` }));
      const said = message.replace('%s', tokenFile);
      const waited = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId], { env: { LOG_LEVEL: 'error' } });
      expect(waited).toEqual({ code: 2, stdout: '', stderr: `ecs-action-watch wait: ${said}\n` });
      const checked = await h.cli(['check', '--config', path], { env: { LOG_LEVEL: 'error' } });
      expect(checked).toEqual({ code: 2, stdout: '', stderr: `ecs-action-watch check: ${said}\n` });
    }
    expect(h.simulator.requests).toEqual([]);
  });

  // As an unreadable cloud.tls.caFile is (the file's load refuses it): a root-owned 0600 token that the
  // unit's DynamicUser cannot read is still so at the next restart, every 5 s.
  it('exits 2 for a credential file it cannot read at start, with --until-done too', async ({ h }) => {
    const missing = join(h.dir, 'no-such-token');
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { auth: `  auth: { type: token, tokenFile: ${missing} }` }));
    for (const args of [['run'], ['run', '--until-done']]) {
      const r = await h.cli([...args, '--config', path], { env: { LOG_LEVEL: 'info' } });
      expect(r).toEqual({ code: 2, stdout: '', stderr: `ecs-action-watch run: cannot read cloud.auth.tokenFile ${missing}: no such file\n` });
    }
    expect(h.logs.lines().filter((line) => line['level'] === 'fatal')).toEqual([1, 2].map(() => expect.objectContaining({ msg: 'the daemon cannot start; stopping' })));
  });

  // Standard base64 (a temporary security token's, a password's) may start with a `/` and hold more: read as a path from the root.
  it.for<[string, string]>([
    [TOKEN, 'a name from the working folder, is not shown: it may be the secret itself, which goes under cloud.auth.token; a file is best named from the root'],
    ['/qK7vT2xZ/9mLw4Rb+Hc1Nd8Fy=', 'a path whose first folder is not on this machine, is not shown: it may be the secret itself, which goes under cloud.auth.token'],
  ])('does not print the token written under tokenFile in place of token (tokenFile: ${ECS_AUTH_TOKEN}) in validate, check, or run and its log: %s', async ([token, why], { h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { auth: '  auth: { type: token, tokenFile: "${ECS_AUTH_TOKEN}" }' }));
    const said = `cannot read cloud.auth.tokenFile: no such file (its value, ${why})`;
    const env = { ECS_AUTH_TOKEN: token, LOG_LEVEL: 'info' };
    const validate = await h.cli(['validate', '--config', path], { env });
    expect(validate).toMatchObject({ code: 0, stderr: `warning: ${said}: run stops at start with it, unless the file is there where it runs\n` });
    expect(await h.cli(['check', '--config', path], { env })).toMatchObject({ code: 2, stderr: `ecs-action-watch check: ${said}\n` });
    expect(await h.cli(['run', '--config', path], { env })).toEqual({ code: 2, stdout: '', stderr: `ecs-action-watch run: ${said}\n` });
    expect(h.logs.lines().filter((line) => line['level'] === 'fatal')).toEqual([expect.objectContaining({ msg: 'the daemon cannot start; stopping', error: said })]);
    expect(h.logs.text).not.toContain(token.slice(0, 8));
  });

  // 1: the port may be free again by the next restart (the previous daemon still stopping).
  it('says which health port is taken, and exits 1', async ({ h }) => {
    const port = await closedPort();
    const blocker = createServer().listen(port, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { http: `  port: ${port}\n  host: 127.0.0.1` }));
      const r = await h.cli(['run', '--config', path], { env: { LOG_LEVEL: 'info' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1 port ${port} (EADDRINUSE); another process holds that port: set http.port to a free port (0 turns the server off)`);
    } finally {
      blocker.close();
    }
  });
});

describe.concurrent('hostile files and signals', () => {
  it('refuses a watch file that is not UTF-8, saying where, rather than sending its ids mangled', async ({ h }) => {
    const path = join(h.dir, 'latin1.yaml');
    // A name saved in Latin-1 (é is one byte, 0xe9), after a U+FFFD that the file holds as UTF-8 (EF BF BD).
    const text = Buffer.concat([Buffer.from(h.yaml([{ ...newIds(), name: 'ok \uFFFD' }])), Buffer.from('\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    await writeFile(path, text);
    const r = await h.cli(['validate', '--config', path]);
    expect(r.code).toBe(1);
    const line = text.toString('latin1').split('\n').length - 1;
    expect(r.stderr).toBe(`cannot read the watch file ${path}: is not UTF-8 text (line ${line}, column 6 is not): save it as UTF-8\n`);
  });

  it('refuses a FIFO as the watch file at once instead of waiting for a writer', async ({ h }) => {
    const fifo = join(h.dir, 'watch.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await h.cli(['validate', '--config', fifo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cannot read the watch file ${fifo}: is a named pipe (FIFO), not a regular file (name another file with --config or ECS_WATCH_CONFIG)\n`);
  });

  it('refuses a state path under /proc instead of spinning', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }]).replace(/path: .*state\.json/, 'path: /proc/self/ecs-action-watch.json'));
    const r = await h.cli(['run', '--config', path], { env: { LOG_LEVEL: 'info' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/state file \/proc\/self\/ecs-action-watch\.json: is on \/proc, whose files the kernel generates/);
  });

  it('stops check at Ctrl-C even while the endpoint never answers', async ({ h }) => {
    await using silent = await silentServer();
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { endpoint: silent.url, cloudTimeout: '60s' }));
    const stop = new AbortController();
    const running = h.cli(['check', '--config', path], { signal: stop.signal });
    await waitUntil(() => silent.requests() > 0);
    stop.abort('SIGINT');
    // Without the signal this would wait for the 60 s timeout, beyond the test's own.
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.stdout).toBe('');
  });

  // A signal that came while check read its file and the daemon's state (up to a second for 1,000 watches) was never
  // seen by it: it polled every watch, asking the cloud once for each after the operator had stopped it.
  it('asks the cloud nothing after a signal that came while it was loading', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const stop = new AbortController();
    stop.abort('SIGTERM');
    const r = await h.cli(['check', '--config', await h.writeConfig(h.yaml([a]))], { signal: stop.signal });
    expect(r).toMatchObject({ code: 143, stdout: '' });
    expect(h.simulator.requests).toEqual([]);
  });

  it('stops notify-test at SIGTERM while a receiver never answers, with the status of the signal', async ({ h }) => {
    await using silent = await silentServer();
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'x' }], { notifiers: `  chat:\n    type: webhook\n    url: ${silent.url}/hook\n    timeout: 60s` }));
    const stop = new AbortController();
    const running = h.cli(['notify-test', '--config', path], { signal: stop.signal });
    await waitUntil(() => silent.requests() > 0);
    stop.abort('SIGTERM');
    expect((await running).code).toBe(143);
  });

  it('lets a delivery in flight finish on SIGTERM instead of cutting it off (and sending it again later)', async ({ h }) => {
    const a = quickAction();
    h.simulator.addAction(a);
    h.hooks.setAnswer({ delayMs: 1000 });
    const path = await h.writeConfig(h.yaml([a], { notifiers: `  chat:\n    type: webhook\n    url: ${h.hooks.url}` }));
    const stop = new AbortController();
    const running = h.cli(['run', '--config', path], { signal: stop.signal });
    await waitUntil(() => h.hooks.received.length === 1, 8000);
    stop.abort('SIGTERM');
    const r = await running;
    expect(r.code).toBe(0);
    const state = JSON.parse(await readFile(join(h.dir, 'state', 'state.json'), 'utf8')) as { watches: Record<string, { deliveries: Record<string, { status: string }> }> };
    expect(Object.values(state.watches)[0]!.deliveries['chat']!.status).toBe('delivered');
  });

  it('delivers to notifiers named constructor, toString and __proto__', async ({ h }) => {
    const a = quickAction();
    h.simulator.addAction(a);
    const notifiers = ['constructor', 'toString', '__proto__'].map((name) => `  ${name}:\n    type: webhook\n    url: ${h.hooks.url}`).join('\n');
    const path = await h.writeConfig(h.yaml([{ ...a, extra: '    notify: [constructor, toString, __proto__]' }], { notifiers }));
    expect((await h.cli(['validate', '--config', path])).stdout).toContain('notifiers: constructor, toString, __proto__');
    const r = await h.cli(['run', '--until-done', '--config', path]);
    expect(r.code).toBe(0);
    expect(h.hooks.received).toHaveLength(3);
    expect(new Set(h.hooks.received.map((hook) => hook.headers['webhook-id'])).size).toBe(3);
  });
});

// Not side by side with others: it sets the process's zone, which node-cron reads a schedule in.
describe('run: a reload to a schedule node-cron finds no time for in its zone', () => {
  it('goes back to the running schedule and polls on, not stalled behind the state lock that the parts that failed to start still held, and names the setting and the zone', async ({ h }) => {
    const zone = process.env['TZ'];
    process.env['TZ'] = 'Europe/Berlin';
    try {
      const first = quickAction();
      h.simulator.addAction(first);
      const path = await h.writeConfig(h.yaml([first]));
      await whileRunning(h, path, async () => {
        await waitUntil(() => h.hooks.received.length === 1);
        // 02:30 on the last Sunday of March: the hour Berlin skips for summer time, so never in its zone;
        // valid (it comes in UTC), and node-cron throws at its start.
        await writeFile(path, h.yaml([first], { poll: '  schedule: "0 30 2 25-31 3 0"\n  retries: 3' }));
        await waitUntil(() => h.logs.text.includes('the reloaded watch file cannot be started; keeping the running configuration'), 8000);
        const second = quickAction();
        h.simulator.addAction(second);
        await writeFile(path, h.yaml([first, second]));
        await waitUntil(() => h.hooks.received.length === 2, 15_000);
      });
      expect(h.logs.text).not.toContain('the state file is locked by pid');
      expect(h.logs.text).toContain(
        "poll.schedule '0 30 2 25-31 3 0' has no time in Europe/Berlin, the zone it is read in, within 100 years (node-cron: Could not find next matching date within reasonable time range): " +
          'write one that names a time the zone has, or run the daemon with TZ=UTC and write the hours in UTC',
      );
    } finally {
      // The zone put back as the daemon's schedule found it (cronZone.ts keeps the one it replaced with UTC).
      cronZone('0 0 0 * * *');
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });
});

/** An HTTP server on loopback that takes requests and never answers them. */
async function silentServer(): Promise<{ url: string; requests(): number; [Symbol.asyncDispose](): Promise<void> }> {
  let requests = 0;
  const server = createHttpServer(() => {
    requests++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      server.close();
    },
  };
}
