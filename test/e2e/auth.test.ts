// Every auth mode end to end against the simulator (Keystone token service, AK/SK gateway): runs that
// outlive their tokens, failures an operator can see, and no credential anywhere in what the daemon writes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../../src/app.ts';
import { AUTH_METHODS, createAuth } from '../../src/cloud/auth/registry.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import type { ActionScript, FaultSpec } from '../../src/simulator/index.ts';
import type { WatchStatus } from '../../src/watch/engine.ts';
import { Harness, PROJECT, SECRETS, TOKEN, newIds, type WatchEntry } from './harness.ts';
import { eventually } from '../eventually.ts';

const PASSWORD = 'pw-SECRET-7c2e91d0';
const WRONG_PASSWORD = 'pw-SECRET-wrong-55aa';
const ACCESS_KEY = 'AKEXAMPLEPUBLICID0001';
const SECRET_KEY = 'sk-SECRET-b8d4a3f6e2c1';
const WRONG_SECRET_KEY = 'sk-SECRET-wrong-99ff';
const SECURITY_TOKEN = 'st-SECRET-0e9d8c7b6a5f';
const WRONG_TOKEN = 'tok-SECRET-wrong-77ee';
const ALL_SECRETS = [...SECRETS, PASSWORD, WRONG_PASSWORD, SECRET_KEY, WRONG_SECRET_KEY, SECURITY_TOKEN, WRONG_TOKEN];

const DOMAIN = 'OTC00000000001000000123';
const identity = (tokenLifetimeMs?: number) => ({
  user: { name: 'svc-watch', password: PASSWORD },
  domain: { id: 'd0c0ffee', name: DOMAIN },
  project: { id: PROJECT, name: 'eu-de' },
  region: 'eu-de',
  ...(tokenLifetimeMs === undefined ? {} : { tokenLifetimeMs }),
});

const reboot = (durationMs = 1000): ActionScript & { requestId: string } => ({
  projectId: PROJECT,
  ...newIds(),
  action: 'reboot',
  steps: [{ event: 'compute_reboot_instance', durationMs, taskState: 'rebooting' }],
});

const entry = (s: { requestId: string; serverId: string }, name: string, extra?: string): WatchEntry => ({
  requestId: s.requestId,
  serverId: s.serverId,
  name,
  ...(extra === undefined ? {} : { extra }),
});

let h: Harness;
/** The harness a test started, if it started one: a test may check the registry alone. */
let started: Harness | undefined;
afterEach(async () => {
  await started?.close();
  started = undefined;
  vi.useRealTimers();
});

/** `clocks`: the monotonic one too for a test whose tokens must age by the passes alone, not by the real time they take. */
async function start(tokenLifetimeMs?: number, cloudAheadMs = 0, clocks: Array<'Date' | 'performance'> = ['Date']): Promise<Harness> {
  vi.useFakeTimers({ toFake: clocks });
  h = await Harness.start({
    identity: identity(tokenLifetimeMs),
    aksk: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY, securityToken: SECURITY_TOKEN },
    now: () => Date.now() + cloudAheadMs,
  });
  started = h;
  return h;
}

const passwordAuth = (password = '    password: "${OS_PASSWORD}"') =>
  [
    '  auth:',
    '    type: password',
    `    identityEndpoint: ${h.simulator.identityUrl}`,
    '    user: svc-watch',
    `    domain: ${DOMAIN}`,
    password,
    '    projectName: eu-de',
    '  region: eu-de',
  ].join('\n');

/** The time an X-Sdk-Date (`20261202T055000Z`) names. */
const sdkDate = (text: string) => Date.parse(text.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));

/** A daemon signing with AK/SK the polls of reboots (one by default), against a gateway whose clock is 20 min ahead of this host's. */
async function akskWithGatewayAhead(cloud?: string, actions = [reboot()]): Promise<App> {
  await start(undefined, 20 * 60_000);
  Object.assign(h.env, { HW_AK: ACCESS_KEY, HW_SK: SECRET_KEY, HW_ST: SECURITY_TOKEN });
  for (const action of actions) h.simulator.addAction(action);
  return h.app(h.yaml(actions.map((action, i) => entry(action, `reboot ${i}`)), { cloud, auth: '  auth: { type: aksk, accessKey: "${HW_AK}", secretKey: "${HW_SK}", securityToken: "${HW_ST}" }' }));
}

/** Moves the shared fake clock in steps, one pass and one outbox flush at each; returns every pass. */
async function passes(app: App, count: number, step = 400, each?: (i: number) => void): Promise<WatchStatus[][]> {
  const all: WatchStatus[][] = [];
  for (let i = 0; i < count && !(app.engine.allDone() && app.outbox.counts().pending === 0); i++) {
    // Both clocks where a test fakes `performance` too (setSystemTime would leave the monotonic one still).
    vi.advanceTimersByTime(step);
    each?.(i);
    all.push(await app.engine.pollOnce());
    await app.store.save();
    await app.outbox.flush();
  }
  return all;
}

const identityRequests = () => h.simulator.requests.filter((r) => r.route === 'identity');

describe('password auth for a run that outlives its tokens', () => {
  it('polls on through expiring and revoked tokens, one token request per renewal however many polls run at once', async () => {
    // A token ages by either clock (password.ts): with the real monotonic one, a loaded machine's slow passes
    // aged these 1.6 s tokens by themselves, a renewal came due again before its own login was back, and a
    // pass made two or four logins.
    await start(1600, 0, ['Date', 'performance']);
    h.env['OS_PASSWORD'] = PASSWORD;
    const actions = Array.from({ length: 12 }, () => reboot(5000));
    for (const a of actions) h.simulator.addAction(a);
    const app = await h.app(
      h.yaml(actions.map((a, i) => entry(a, `reboot ${i}`)), {
        endpoint: null,
        auth: passwordAuth(),
        poll: '  schedule: "* * * * * *"\n  retries: 3\n  concurrency: 8',
      }),
    );

    const loginsPerPass: number[] = [];
    let revokedAt = -1;
    const all = await passes(app, 60, 400, (i) => {
      loginsPerPass.push(identityRequests().length);
      // Midway, between two renewals: the tokens in hand stop working at once.
      if (i === 5) {
        h.simulator.revokeTokens();
        revokedAt = h.simulator.requests.length;
      }
    });
    loginsPerPass.push(identityRequests().length);

    expect(app.engine.allDone()).toBe(true);
    expect(all.flat().filter((s) => s.pollFailed)).toEqual([]);
    expect(all.at(-1)?.map((s) => s.state)).toEqual(actions.map(() => 'success'));
    const perPass = loginsPerPass.slice(1).map((n, i) => n - loginsPerPass[i]!);
    expect(Math.max(...perPass)).toBe(1);
    // 12 watches, two reads each per pass, over 5.5 s of 1.6 s tokens renewed at 1.2 s: a handful of logins.
    expect(identityRequests().length).toBeGreaterThanOrEqual(4);
    expect(identityRequests().every((r) => r.status === 201)).toBe(true);
    // Every token fetched was used, and the revoked one was refused and replaced.
    const used = new Set(h.simulator.requests.filter((r) => r.route !== 'identity').map((r) => r.headers['x-auth-token']));
    expect(used.size).toBe(identityRequests().length);
    expect(h.simulator.requests.slice(revokedAt).some((r) => r.status === 401)).toBe(true);
    expect(h.hooks.received.map((r) => (r.body as { outcome: string }).outcome)).toEqual(actions.map(() => 'success'));
  });
});

describe('AK/SK', () => {
  it('signs every request of a run with temporary credentials; the gateway accepts every one', async () => {
    await start();
    Object.assign(h.env, { HW_AK: ACCESS_KEY, HW_SK: SECRET_KEY, HW_ST: SECURITY_TOKEN });
    const actions = [reboot(), reboot(2000)];
    for (const a of actions) h.simulator.addAction(a);
    const app = await h.app(
      h.yaml(actions.map((a, i) => entry(a, `reboot ${i}`)), {
        auth: '  auth: { type: aksk, accessKey: "${HW_AK}", secretKey: "${HW_SK}", securityToken: "${HW_ST}" }',
      }),
    );
    await passes(app, 20);
    expect(app.engine.allDone()).toBe(true);
    expect(h.simulator.requests.length).toBeGreaterThan(6);
    expect(h.simulator.requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(h.simulator.requests.every((r) => r.headers['authorization']?.startsWith(`SDK-HMAC-SHA256 Access=${ACCESS_KEY}, `))).toBe(true);
  });

  it('signs with the gateway\'s clock when this host\'s is 20 min off, past the 15 min the gateway allows: every request accepted', async () => {
    const app = await akskWithGatewayAhead();
    const [first] = await app.engine.pollOnce();
    expect(first).toMatchObject({ pollFailed: false });
    await passes(app, 20);
    expect(app.engine.allDone()).toBe(true);
    // The version document, read first (a path the gateway lets through unchecked), told the cloud's clock;
    // every signature the gateway checks carries its time.
    expect(h.simulator.requests.filter((r) => r.status !== 200)).toEqual([]);
    const signed = h.simulator.requests.filter((r) => r.route !== 'versions');
    expect(signed.length).toBeGreaterThan(2);
    for (const r of signed) expect(Math.abs(sdkDate(r.headers['x-sdk-date']!) - r.at)).toBeLessThan(2000);
    expect(h.hooks.received.map((r) => (r.body as { outcome: string }).outcome)).toEqual(['success']);
  });
});

describe('AK/SK and a gateway clock 20 min ahead, with no version document to read first', () => {
  it('signs again at once with the time of the refusal\'s Date: the first poll succeeds after one 401', async () => {
    const app = await akskWithGatewayAhead('  microversion: "2.60"');
    const [first] = await app.engine.pollOnce();
    expect(first).toMatchObject({ pollFailed: false });
    expect(h.simulator.requests.map((r) => r.status)).toEqual([401, 200]);
  });

  it("holds nothing back and says no key refused when the refusal's Date shows the signature's time off: the polls waiting their turn go signed with the cloud's", async () => {
    const actions = Array.from({ length: 3 }, () => reboot());
    const app = await akskWithGatewayAhead('  microversion: "2.60"', actions);
    const statuses = await app.engine.pollOnce();
    expect(statuses.filter((s) => s.pollFailed)).toEqual([]);
    expect(h.simulator.requests.map((r) => r.status)).toEqual([401, 200, 200, 200]);
    const said = h.logs.lines().filter((l) => Number(l['level']) >= 40).map((l) => String(l['msg']));
    // The clocks apart, which is what to mend; not the key, nor a hold of 5 min that never came.
    expect(said).toEqual([expect.stringMatching(/^the cloud's clock is 20 min( \d+ s)? ahead of this host's/)]);
  });

  it('sends one poll alone until an answer has told the clock: the gateway locks a key that more than five polls in flight in a row were refused for', async () => {
    const actions = Array.from({ length: 8 }, () => reboot());
    const app = await akskWithGatewayAhead('  microversion: "2.60"', actions);
    // A cloud's answers take their time to come: every poll of the pass has gone before the first is answered.
    h.simulator.injectFault({ kind: 'slow', delayMs: 100 }, { route: 'action', times: actions.length });
    const statuses = await app.engine.pollOnce();
    expect(statuses.filter((s) => s.pollFailed)).toEqual([]);
    expect(h.simulator.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });
});

/**
 * A daemon signing with AK/SK the polls of `count` long reboots, after passes the gateway accepted, whose
 * VM was then paused 20 min: its clocks stopped with it, the gateway's went on. Nothing on this host can
 * tell; the next pass signs every poll 20 min behind the gateway's clock, and each is in flight before the
 * first refusal comes back (a cloud's answers take their time: `fault`, on the first `count` polls).
 */
async function akskAfterPause(count: number, fault: FaultSpec = { kind: 'slow', delayMs: 100 }): Promise<{ app: App; before: number }> {
  await start();
  Object.assign(h.env, { HW_AK: ACCESS_KEY, HW_SK: SECRET_KEY, HW_ST: SECURITY_TOKEN });
  const actions = Array.from({ length: count }, () => reboot(3_600_000));
  for (const action of actions) h.simulator.addAction(action);
  const auth = '  auth: { type: aksk, accessKey: "${HW_AK}", secretKey: "${HW_SK}", securityToken: "${HW_ST}" }';
  const app = await h.app(h.yaml(actions.map((action, i) => entry(action, `reboot ${i}`)), { auth, cloud: '  microversion: "2.60"' }));
  await passes(app, 3);
  expect(refusedByGateway()).toEqual([]);
  const before = h.simulator.requests.length;
  h.simulator.setClock(20 * 60_000);
  h.simulator.injectFault(fault, { route: 'action', times: count });
  return { app, before };
}

describe('AK/SK after a pause of the VM longer than the 15 min the gateway allows a signature', () => {
  it('takes every poll in flight refused for its time for what it is, not a refused key: none held back, none said refused', async () => {
    const { app, before } = await akskAfterPause(3);
    const statuses = await app.engine.pollOnce();
    expect(statuses.filter((s) => s.pollFailed)).toEqual([]);
    // Each signed before the first refusal told the gateway's time, and signed again with it.
    expect(h.simulator.requests.slice(before).filter((r) => r.route === 'action').map((r) => r.status)).toEqual([401, 401, 401, 200, 200, 200]);
    // Not 'the gateway refused the access key: no request signed with it goes out for 5 min', nor that it accepts it again.
    expect(h.logs.lines().map((l) => String(l['msg'])).filter((msg) => msg.startsWith('the gateway'))).toEqual([]);
  });

  it('signs no more than five polls before an answer has shown their time right: the gateway locks a key that more than five in a row were refused for', async () => {
    const { app, before } = await akskAfterPause(8);
    const statuses = await app.engine.pollOnce();
    // Locked, the key was refused to every poll's retry, and to the customer's other tools for 5 min.
    expect(statuses.filter((s) => s.pollFailed)).toEqual([]);
    expect(refusedByGateway()).toHaveLength(5);
    expect(h.simulator.requests.slice(before).filter((r) => r.route === 'action' && r.status === 200)).toHaveLength(8);
  });

  it('lets the others go when the five in flight end unanswered (connections reset): none waits for an answer that will not come', async () => {
    const { app, before } = await akskAfterPause(8, { kind: 'reset' });
    await app.engine.pollOnce();
    const polled = h.simulator.requests.slice(before).filter((r) => r.route === 'action');
    // Each poll tries again after its reset (poll.retries), signed at the time refused until a refusal tells it.
    expect(polled.filter((r) => r.status === 401).length).toBeLessThanOrEqual(5);
    expect(polled.filter((r) => r.status === 200)).toHaveLength(8);
  });
});

describe('AK/SK and a setting of this host\'s clock while polls are out', () => {
  it('signs the polls it sends again, their answers having come across the setting, no more than five before an answer has shown their time right: the gateway never locks the key', async () => {
    await start();
    Object.assign(h.env, { HW_AK: ACCESS_KEY, HW_SK: SECRET_KEY, HW_ST: SECURITY_TOKEN });
    const actions = Array.from({ length: 8 }, () => reboot(3_600_000));
    for (const action of actions) h.simulator.addAction(action);
    const auth = '  auth: { type: aksk, accessKey: "${HW_AK}", secretKey: "${HW_SK}", securityToken: "${HW_ST}" }';
    const app = await h.app(h.yaml(actions.map((action, i) => entry(action, `reboot ${i}`)), { auth, cloud: '  microversion: "2.60"' }));
    await passes(app, 3);
    const from = h.simulator.requests.length;
    h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { route: 'action', times: 5 });
    const polled = app.engine.pollOnce();
    // Five go at once (no more before an answer has shown their time right); the other three wait for one.
    await eventually(() => expect(h.simulator.requests.slice(from).filter((r) => r.status === null)).toHaveLength(5), { interval: 10 });
    // This host's clock set forward 20 min (a wrong NTP source) while they are out, the gateway's not: each
    // answer came across the setting, and its poll is sent again, signed 20 min ahead of the gateway as the
    // three are; more than five such refused in a row, the key is locked, for every tool that uses it.
    vi.setSystemTime(Date.now() + 20 * 60_000);
    h.simulator.setClock(-20 * 60_000);
    const statuses = await polled;
    expect(statuses.filter((s) => s.pollFailed)).toEqual([]);
    expect(h.simulator.requests.slice(from).filter((r) => r.status === 401).length).toBeLessThanOrEqual(5);
    expect(h.simulator.requests.slice(from).filter((r) => r.status === 200)).toHaveLength(actions.length + 5);
  });
});

/**
 * A daemon signing with AK/SK from files, the secret key a wrong one (`secretKey` picks it), polling
 * `count` long reboots; the gateway knows the key pair of ACCESS_KEY, SECRET_KEY and SECURITY_TOKEN.
 */
async function akskWithWrongSecretKey(count: number): Promise<{ app: App; actions: ReturnType<typeof reboot>[]; yaml: string }> {
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  h = await Harness.start({ aksk: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY, securityToken: SECURITY_TOKEN } });
  started = h;
  await writeFile(join(h.dir, 'ak'), ACCESS_KEY);
  await writeFile(join(h.dir, 'sk'), WRONG_SECRET_KEY);
  await writeFile(join(h.dir, 'st'), SECURITY_TOKEN);
  const actions = Array.from({ length: count }, () => reboot(3_600_000));
  for (const action of actions) h.simulator.addAction(action);
  const auth = `  auth: { type: aksk, accessKeyFile: ${h.dir}/ak, secretKeyFile: ${h.dir}/sk, securityTokenFile: ${h.dir}/st }`;
  const yaml = h.yaml(actions.map((action, i) => entry(action, `reboot ${i}`)), { auth, cloud: '  microversion: "2.60"' });
  return { app: await h.app(yaml), actions, yaml };
}

const refusedByGateway = () => h.simulator.requests.filter((r) => r.status === 401);

describe('AK/SK with a secret key the gateway refuses', () => {
  it("holds signed requests back after a refusal, one probe at a time: the gateway never locks the key for the customer's other tools; a rotated key file ends it at once", async () => {
    const { app, actions } = await akskWithWrongSecretKey(3);
    // The customer's Terraform, signing with the right secret key of the same access key, once a minute.
    const dispatcher = new Agent();
    const terraform = createAuth({ type: 'aksk', accessKey: ACCESS_KEY, secretKey: SECRET_KEY, securityToken: SECURITY_TOKEN }, {
      logger: silentLogger(), dispatcher, timeout: 2000, needsCatalog: false, now: () => Date.now(),
    });
    const terraformAnswers: string[] = [];
    try {
      for (let s = 5; s <= 20 * 60; s += 5) {
        vi.advanceTimersByTime(5000);
        const statuses = await app.engine.pollOnce();
        expect(statuses.map((st) => st.state)).toEqual(actions.map(() => 'pending'));
        if (s % 60 !== 0) continue;
        const url = `${h.simulator.url}/v2.1/${PROJECT}/servers/${actions[0]!.serverId}`;
        const headers = await terraform.headers({ method: 'GET', url, headers: {}, projectId: PROJECT }, undefined);
        const answer = await request(url, { headers, dispatcher });
        terraformAnswers.push(`${answer.statusCode} ${await answer.body.text()}`);
      }
    } finally {
      await dispatcher.close();
    }
    // The gateway locked the key for 5 min after more than five refusals in a row: Terraform's requests too.
    expect(terraformAnswers.filter((a) => !a.startsWith('200 '))).toEqual([]);
    // 20 min of passes every 5 s: the first refusal, then one probe 5 min later and one 10 min after that.
    expect(refusedByGateway()).toHaveLength(3);
    const holding = h.logs.lines().filter((l) => String(l['msg']).startsWith('the gateway refused the access key'));
    expect(holding.map((l) => [l['level'], l['retryInMs']])).toEqual([[50, 5 * 60_000], [50, 10 * 60_000], [50, 20 * 60_000]]);
    expect(holding[0]?.['msg']).toBe(
      'the gateway refused the access key: no request signed with it goes out for 5 min (then one alone), or until a key file changes, as the gateway would lock it for every tool that uses it (for 5 min, after more than five refusals in a row)',
    );

    // The right secret key written to its file: the next pass polls every watch.
    await writeFile(join(h.dir, 'sk'), SECRET_KEY);
    vi.advanceTimersByTime(5000);
    const after = await app.engine.pollOnce();
    expect(after.filter((st) => st.pollFailed)).toEqual([]);
    expect(refusedByGateway()).toHaveLength(3);
    expect(h.logs.lines().filter((l) => l['msg'] === 'the gateway accepts the access key again: requests go out as before')).toHaveLength(1);
  });

  it('takes a 401 whose body broke off for the refusal it is: no poll retries it (poll.retries), and the passes after hold back as after a whole one', async () => {
    const { app, actions } = await akskWithWrongSecretKey(3);
    h.simulator.injectFault({ kind: 'cut-body' }, { times: 100 });
    for (let pass = 0; pass < 3; pass++) {
      vi.advanceTimersByTime(5000);
      const statuses = await app.engine.pollOnce();
      expect(statuses.map((st) => [st.state, st.pollFailed])).toEqual(actions.map(() => ['pending', true]));
    }
    // Each refusal counts towards the gateway's lock: retried, the first pass alone sent twelve.
    expect(h.simulator.requests).toHaveLength(1);
    const holding = h.logs.lines().filter((l) => String(l['msg']).startsWith('the gateway refused the access key'));
    expect(holding.map((l) => l['level'])).toEqual([50]);
    expect(holding[0]?.['error']).toMatch(/ → 401 Unauthorized: /);
    for (const secret of ALL_SECRETS) expect(h.logs.text).not.toContain(secret);
  });

  it('check and wait each make one refused request, however many watches', async () => {
    const { actions, yaml } = await akskWithWrongSecretKey(8);
    const path = await h.writeConfig(yaml);
    const checked = await h.cli(['check', '--json', '--config', path]);
    expect(checked.code).toBe(1);
    const rows = JSON.parse(checked.stdout) as Array<{ pollFailed: boolean; detail: string }>;
    expect(rows.map((r) => r.pollFailed)).toEqual(actions.map(() => true));
    for (const row of rows) expect(row.detail).toMatch(/401 APIGW\.0301: Incorrect IAM authentication information: verify aksk signature fail$/);
    expect(refusedByGateway()).toHaveLength(1);
    const waited = await h.cli(['wait', '--config', path, '--server', actions[0]!.serverId, '--request', actions[0]!.requestId]);
    expect(waited.code).toBe(2);
    expect(refusedByGateway()).toHaveLength(2);
  });
});

describe('auth failures are visible', () => {
  it('wait takes the project of a password login scoped by cloud.auth.projectId, as a watch does', async () => {
    await start();
    h.env['OS_PASSWORD'] = PASSWORD;
    const action = reboot();
    h.simulator.addAction(action);
    const yaml = h.yaml([], { endpoint: null, auth: passwordAuth().replace('    projectName: eu-de', `    projectId: ${PROJECT}`) }).replace(`  projectId: ${PROJECT}\n`, '');
    expect(yaml).not.toMatch(/^ {2}projectId:/m);
    const path = await h.writeConfig(yaml);
    vi.setSystemTime(Date.now() + 5000);
    const r = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId]);
    expect(r.stderr).not.toMatch(/no project/);
    expect(r.code).toBe(0);
  });

  it('a 404 to the token request (a wrong identityEndpoint behind a gateway) has wait and the daemon point at identityEndpoint too', async () => {
    await start();
    h.env['OS_PASSWORD'] = PASSWORD;
    const action = reboot();
    h.simulator.addAction(action);
    h.simulator.injectFault({ kind: 'gateway-not-found' }, { route: 'identity', times: 100 });
    const yaml = h.yaml([entry(action, 'reboot')], { endpoint: null, auth: passwordAuth() });
    const path = await h.writeConfig(yaml);
    const r = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot get a token for user 'svc-watch' .* 404 APIGW\.0101: .*\(check cloud\.endpoint and cloud\.projectId \(or cloud\.auth\.identityEndpoint, if the 404 is for the token request\)/);
    const app = await h.app(yaml);
    await app.engine.pollOnce();
    const failed = h.logs.lines().find((l) => String(l['msg']).startsWith('poll failed'));
    expect(failed?.['msg']).toMatch(/^poll failed \(a 404 that is not the API's own "not found": check cloud\.endpoint and the project id, or cloud\.auth\.identityEndpoint if it is for the token request\)/);
  });

  it('check shows a refused password on every watch, after one login attempt', async () => {
    await start();
    h.env['OS_PASSWORD'] = WRONG_PASSWORD;
    const watches = [reboot(), reboot(), reboot()];
    for (const a of watches) h.simulator.addAction(a);
    const path = await h.writeConfig(h.yaml(watches.map((a, i) => entry(a, `w${i}`)), { endpoint: null, auth: passwordAuth() }));
    const r = await h.cli(['check', '--json', '--config', path]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as Array<{ pollFailed: boolean; detail: string }>;
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.pollFailed).toBe(true);
      expect(row.detail).toBe(
        `last poll failed: cannot get a token for user 'svc-watch' of domain '${DOMAIN}': POST ${h.simulator.identityUrl}/auth/tokens → 401 Unauthorized: The request you have made requires authentication.`,
      );
    }
    expect(identityRequests()).toHaveLength(1);
  });

  it('metrics count poll errors by kind', async () => {
    await start();
    const a = reboot(60_000);
    h.simulator.addAction(a);
    const app = await h.app(h.yaml([entry(a, 'slow')], { poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    const pass = async () => {
      vi.setSystemTime(Date.now() + 1000);
      await app.engine.pollOnce();
    };
    await pass(); // the microversion is found; the action is pending
    h.simulator.setToken('rotated-elsewhere');
    await pass();
    h.simulator.setToken(TOKEN);
    h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 0 }, { route: 'action' });
    await pass();
    h.simulator.injectFault({ kind: 'server-error' }, { route: 'action' });
    await pass();
    h.simulator.injectFault({ kind: 'reset' }, { route: 'action' });
    await pass();
    const text = await app.metrics.registry.getSingleMetricAsString('ecs_action_watch_poll_errors_total');
    const count = (kind: string) => Number(new RegExp(`kind="${kind}"} (\\d+)`).exec(text)?.[1]);
    expect({ unauthorized: count('unauthorized'), rate_limited: count('rate_limited'), server: count('server'), network: count('network') })
      .toEqual({ unauthorized: 1, rate_limited: 1, server: 1, network: 1 });
  });
});

interface Mode {
  name: string;
  /** The `cloud.auth.type` its lines give. */
  method: string;
  /** The auth lines; `good` picks the right credential or a wrong one. */
  setup(good: boolean): Promise<{ auth: string; endpoint?: null }>;
  /** What a refused credential reads like in a poll error. */
  refused: RegExp;
}

const MODES: Mode[] = [
  {
    name: 'token',
    method: 'token',
    setup: async (good) => {
      h.env['ECS_AUTH_TOKEN'] = good ? TOKEN : WRONG_TOKEN;
      return { auth: '  auth: { type: token, token: "${ECS_AUTH_TOKEN}" }' };
    },
    refused: /401 Unauthorized: The request you have made requires authentication\./,
  },
  {
    name: 'tokenFile',
    method: 'token',
    setup: async (good) => {
      await writeFile(join(h.dir, 'token'), `${good ? TOKEN : WRONG_TOKEN}\n`);
      return { auth: `  auth: { type: token, tokenFile: ${join(h.dir, 'token')} }` };
    },
    refused: /401 Unauthorized: The request you have made requires authentication\./,
  },
  {
    name: 'password',
    method: 'password',
    setup: async (good) => {
      h.env['OS_PASSWORD'] = good ? PASSWORD : WRONG_PASSWORD;
      return { auth: passwordAuth(), endpoint: null };
    },
    refused: /cannot get a token for user 'svc-watch' .* 401 Unauthorized/,
  },
  {
    name: 'passwordFile',
    method: 'password',
    setup: async (good) => {
      await writeFile(join(h.dir, 'password'), good ? PASSWORD : WRONG_PASSWORD);
      return { auth: passwordAuth(`    passwordFile: ${join(h.dir, 'password')}`), endpoint: null };
    },
    refused: /cannot get a token for user 'svc-watch' .* 401 Unauthorized/,
  },
  {
    name: 'aksk with temporary credentials',
    method: 'aksk',
    setup: async (good) => {
      Object.assign(h.env, { HW_SK: good ? SECRET_KEY : WRONG_SECRET_KEY, HW_ST: SECURITY_TOKEN });
      return { auth: `  auth: { type: aksk, accessKey: ${ACCESS_KEY}, secretKey: "\${HW_SK}", securityToken: "\${HW_ST}" }` };
    },
    // Never "AK access failed to reach the limit": after the first refusal the daemon holds its requests back.
    refused: /401 APIGW\.0301: Incorrect IAM authentication information: verify aksk signature fail/,
  },
  {
    name: 'aksk from files',
    method: 'aksk',
    setup: async (good) => {
      await writeFile(join(h.dir, 'ak'), ACCESS_KEY);
      await writeFile(join(h.dir, 'sk'), good ? SECRET_KEY : WRONG_SECRET_KEY);
      await writeFile(join(h.dir, 'st'), SECURITY_TOKEN);
      const dir = h.dir;
      return { auth: `  auth: { type: aksk, accessKeyFile: ${dir}/ak, secretKeyFile: ${dir}/sk, securityTokenFile: ${dir}/st }` };
    },
    // Never "AK access failed to reach the limit": after the first refusal the daemon holds its requests back.
    refused: /401 APIGW\.0301: Incorrect IAM authentication information: verify aksk signature fail/,
  },
];

describe('no credential in any output', () => {
  // A method added to the registry with a secret goes through the search below, or this fails.
  it('has a mode for every auth method that takes a credential', () => {
    const withCredentials = AUTH_METHODS.filter((m) => m.secretKeys.length > 0).map((m) => m.schema.shape.type.value);
    const missing = withCredentials.filter((method) => !MODES.some((m) => m.method === method));
    expect(missing, 'auth methods with secret keys and no entry in MODES (test/e2e/auth.test.ts): add one each').toEqual([]);
    expect(new Set(MODES.map((m) => m.method))).toEqual(new Set(withCredentials));
  });

  it.each(MODES)('$name: logs, command output, state and notifications, with right and wrong credentials', async (mode) => {
    await start();
    const outputs: string[] = [];
    const ok = reboot();
    const stuck = reboot(3_600_000);
    h.simulator.addAction(ok);
    h.simulator.addAction(stuck);
    const yaml = async (good: boolean, watches: WatchEntry[]) => {
      const lines = await mode.setup(good);
      expect(lines.auth).toMatch(new RegExp(`\\btype: ${mode.method}\\b`));
      return h.yaml(watches, lines);
    };

    // Right credentials: check, then a run to the verdict.
    const goodPath = await h.writeConfig(await yaml(true, [entry(ok, 'ok')]));
    const checked = await h.cli(['check', '--json', '--config', goodPath]);
    expect(checked.code).toBe(0);
    outputs.push(checked.stdout, checked.stderr);
    const app = await h.app(await yaml(true, [entry(ok, 'ok')]));
    await passes(app, 10);
    expect(app.engine.allDone()).toBe(true);
    await app.close();

    // Wrong ones: check fails with the API's words, and a watch that times out says why.
    const badPath = await h.writeConfig(await yaml(false, [entry(stuck, 'stuck', '    deadline: 3s')]));
    const refused = await h.cli(['check', '--json', '--config', badPath]);
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as Array<{ detail: string }>)[0]?.detail).toMatch(mode.refused);
    outputs.push(refused.stdout, refused.stderr);
    const failing = await h.app(await yaml(false, [entry(stuck, 'stuck', '    deadline: 3s')]));
    await passes(failing, 12, 500);
    const timedOut = h.hooks.received.find((r) => (r.body as { outcome: string }).outcome === 'timeout')?.body as { reason: string } | undefined;
    expect(timedOut?.reason).toMatch(/^not known to have finished within 3 s: no poll could read it for the last .+, to .+ past the deadline; last poll failed: /);
    expect(timedOut?.reason).toMatch(mode.refused);
    await failing.close();

    outputs.push(h.logs.text, await readFile(join(h.dir, 'state', 'state.json'), 'utf8'));
    outputs.push(...h.hooks.received.map((r) => `${JSON.stringify(r.headers)}${r.raw}`), ...h.mail.received.map((m) => m.raw));
    const everything = outputs.join('\n');
    expect(everything).toContain('ecs.action.timed_out');
    for (const secret of [...ALL_SECRETS, ...h.simulator.issuedTokens]) expect(everything).not.toContain(secret);
  });
});
