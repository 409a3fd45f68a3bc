// A refused credential across the daemon's reloads: `run` as a process of its own against the simulator's
// gateway, its watch file edited while the gateway refuses its key. The tests run side by side, each with
// its simulator and daemon: they spend their time waiting on the daemon's looks at the file (a rebuild is
// applied once a look two seconds later finds the file unchanged), not on the processor.
// Their cloud.timeout is the harness's 10 s: on a loaded machine the simulator, in this process, took longer
// than 500 ms to answer the first request; the daemon gave up on it, heard no refusal, and sent another,
// refused too: a second refusal of the machine's making, not of a reload's.
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, it, type ExpectStatic, type TestContext } from 'vitest';
import { createAuth } from '../../src/cloud/auth/registry.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import type { RecordedRequest } from '../../src/simulator/index.ts';
import { Harness, PROJECT, newIds } from './harness.ts';
import { killDaemons, startDaemon, type Daemon } from './daemon.ts';
import { waitUntil } from '../eventually.ts';

const ACCESS_KEY = 'AKEXAMPLEPUBLICID0002';
const SECRET_KEY = 'sk-SECRET-4d2a9c1e7b30';
const WRONG_SECRET_KEY = 'sk-SECRET-wrong-31c8';
const PASSWORD = 'pw-SECRET-2f6b8e01';
const WRONG_PASSWORD = 'pw-SECRET-wrong-8d13';
const DOMAIN = 'OTC00000000001000000456';

afterAll(killDaemons);

async function start(options: Parameters<typeof Harness.start>[0], { onTestFinished }: TestContext): Promise<Harness> {
  const h = await Harness.start(options);
  onTestFinished(() => h.close());
  return h;
}

/**
 * How long the simulator holds the first refusal on its way: the first reload is read, and rebuilds the parts
 * (at the next look at the file, 2 s later), while it is in flight. Shorter than cloud.timeout and
 * shutdown.drainTimeout (10 s each): the stop's drain waits for it, and it must hold the reloaded parts back
 * as a refusal come before a reload does, not be lost with the parts that sent it.
 */
const REFUSAL_ON_ITS_WAY_MS = 6000;

/** The reloads that started parts of the edited file. */
function reloads(daemon: Daemon): number {
  return (daemon.output().match(/"msg":"watch file reloaded"/g) ?? []).length;
}

/**
 * An operator at work on a notifier while the credentials are refused: `edits` edits, each rebuilding the
 * client and notifiers, read at once at a SIGHUP (`systemctl reload`) rather than once the file has held
 * still; the first while `refusal` (the simulator's record of it) is on its way.
 */
async function editNotifier(daemon: Daemon, harness: Harness, text: (n: number) => string, edits: number, refusal: () => RecordedRequest | undefined, expect: ExpectStatic): Promise<void> {
  const rebuilt = () => reloads(daemon);
  for (let n = 1; n <= edits; n++) {
    await harness.writeConfig(text(n));
    daemon.child.kill('SIGHUP');
    if (n === 1) {
      expect(await daemon.logged('"msg":"reloaded watch file changes more than its watches')).toBe(true);
      expect(refusal()?.status).toBeNull();
    }
    await waitUntil(() => rebuilt() >= n, 10_000 + (n === 1 ? REFUSAL_ON_ITS_WAY_MS : 0));
  }
}

/**
 * A harness whose identity service knows svc-watch, a reboot that runs for an hour, and the watch file's
 * cloud.auth logging in with $OS_PASSWORD, set to a password the service refuses.
 */
async function withRefusedPassword(context: Parameters<typeof start>[1]) {
  const harness = await start({ identity: { user: { name: 'svc-watch', password: PASSWORD }, domain: { id: 'd0c0ffee', name: DOMAIN }, project: { id: PROJECT, name: 'eu-de' }, region: 'eu-de' } }, context);
  const ids = newIds();
  harness.simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 3_600_000, taskState: 'rebooting' }] });
  harness.env['OS_PASSWORD'] = WRONG_PASSWORD;
  const auth = ['  auth:', '    type: password', `    identityEndpoint: ${harness.simulator.identityUrl}`, '    user: svc-watch', `    domain: ${DOMAIN}`, '    password: "${OS_PASSWORD}"', '    projectName: eu-de', '  region: eu-de'].join('\n');
  return { harness, ids, auth };
}

describe.concurrent('refused credentials, and the watch file edited', () => {
  it('sends no refused request at a reload that rebuilds the parts while the hold lasts, the first with the refusal on its way: six edits of a notifier do not have the gateway lock the key, and a changed endpoint is tried at once, a changed timeout not', async (context) => {
    const { expect } = context;
    const harness = await start({ aksk: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY } }, context);
    const ids = newIds();
    harness.simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 3_600_000, taskState: 'rebooting' }] });
    Object.assign(harness.env, { HW_AK: ACCESS_KEY, HW_SK: WRONG_SECRET_KEY });
    const auth = '  auth: { type: aksk, accessKey: "${HW_AK}", secretKey: "${HW_SK}" }';
    const text = (n: number) => harness.yaml([{ ...ids, name: 'reboot' }], { auth, cloud: '  microversion: "2.60"' }).replace('    secret: ${WEBHOOK_SECRET}', `    secret: \${WEBHOOK_SECRET}\n    headers: { X-Edit: "${n}" }`);
    harness.simulator.injectFault({ kind: 'slow', delayMs: REFUSAL_ON_ITS_WAY_MS }, { route: 'action' });
    const path = await harness.writeConfig(text(0));
    const daemon = startDaemon(path, harness.env);
    expect(await daemon.saw('started')).toBe(true);
    const refused = () => harness.simulator.requests.filter((r) => r.status === 401).length;
    const signed = () => harness.simulator.requests.filter((r) => r.route === 'action');
    await waitUntil(() => signed().length === 1, 8000);
    await editNotifier(daemon, harness, text, 6, () => signed()[0], expect);
    // A pass of the last parts (one a second).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Its one request, refused: none more signed with the key, answered or cut short (the gateway counts both).
    expect(signed().map((r) => r.status)).toEqual([401]);
    // A request's timeout edited, the key not: a timeout judges no key, and the hold goes on through a pass
    // of the parts rebuilt (each edit of it would have been one more refusal toward the lock).
    expect(text(7)).toContain('  timeout: 10s');
    await harness.writeConfig(text(7).replace('  timeout: 10s', '  timeout: 11s'));
    daemon.child.kill('SIGHUP');
    await waitUntil(() => reloads(daemon) === 7, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(refused()).toBe(1);
    // The endpoint edited (written with its version segment), the key not: another endpoint may take it, tried at once.
    await harness.writeConfig(text(8).replace(`  endpoint: ${harness.simulator.url}`, `  endpoint: ${harness.simulator.url}/v2.1`));
    daemon.child.kill('SIGHUP');
    await waitUntil(() => refused() === 2, 10_000);
    // The right secret key written in the cloud section: tried at once, as the log said it would be.
    await harness.writeConfig(text(9).replace('secretKey: "${HW_SK}"', `secretKey: "${SECRET_KEY}"`));
    daemon.child.kill('SIGHUP');
    await waitUntil(() => harness.simulator.requests.some((r) => r.route === 'action' && r.status === 200), 10_000);
    expect(daemon.output()).toContain('"msg":"the gateway refused the access key: no request signed with it goes out for 5 min (then one alone), or until the watch file\'s cloud endpoint, project, region or auth changes');
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(refused()).toBe(2);
    // The customer's other tools, signing with the right secret key of the same access key: not locked out.
    const dispatcher = new Agent();
    try {
      const terraform = createAuth({ type: 'aksk', accessKey: ACCESS_KEY, secretKey: SECRET_KEY }, { logger: silentLogger(), dispatcher, timeout: 2000, needsCatalog: false, now: () => Date.now() });
      const url = `${harness.simulator.url}/v2.1/${PROJECT}/servers/${ids.serverId}`;
      const answer = await request(url, { headers: await terraform.headers({ method: 'GET', url, headers: {}, projectId: PROJECT }, undefined), dispatcher });
      expect(`${answer.statusCode} ${await answer.body.text()}`).toMatch(/^200 /);
    } finally {
      await dispatcher.close();
    }
  }, 90_000);

  it('makes no login with a refused password at a reload that rebuilds the parts while its backoff lasts, the first with the refusal on its way: five edits of a notifier do not have the identity service lock the user', async (context) => {
    const { expect } = context;
    const { harness, ids, auth } = await withRefusedPassword(context);
    const text = (n: number) => harness.yaml([{ ...ids, name: 'reboot' }], { auth, endpoint: null }).replace('    secret: ${WEBHOOK_SECRET}', `    secret: \${WEBHOOK_SECRET}\n    headers: { X-Edit: "${n}" }`);
    harness.simulator.injectFault({ kind: 'slow', delayMs: REFUSAL_ON_ITS_WAY_MS }, { route: 'identity' });
    const path = await harness.writeConfig(text(0));
    const daemon = startDaemon(path, harness.env);
    expect(await daemon.saw('started')).toBe(true);
    const logins = () => harness.simulator.requests.filter((r) => r.route === 'identity').length;
    await waitUntil(() => logins() === 1, 8000);
    // IAM locks a user after 5 failed logins within 15 minutes.
    await editNotifier(daemon, harness, text, 5, () => harness.simulator.requests.find((r) => r.route === 'identity'), expect);
    // A pass of the last parts (one a second).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(logins()).toBe(1);
    // The right password written in the cloud section: tried at once.
    await harness.writeConfig(text(6).replace('password: "${OS_PASSWORD}"', `password: "${PASSWORD}"`));
    daemon.child.kill('SIGHUP');
    await waitUntil(() => harness.simulator.requests.some((r) => r.route === 'action' && r.status === 200), 10_000);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(logins()).toBe(2);
  }, 90_000);

  it('polls on with the token in hand through a reload that rebuilds the parts while the identity service is down, as through a renewal that fails', async (context) => {
    const { expect } = context;
    const { harness, ids, auth } = await withRefusedPassword(context);
    harness.env['OS_PASSWORD'] = PASSWORD;
    const text = (n: number) => harness.yaml([{ ...ids, name: 'reboot' }], { auth, endpoint: null }).replace('    secret: ${WEBHOOK_SECRET}', `    secret: \${WEBHOOK_SECRET}\n    headers: { X-Edit: "${n}" }`);
    const path = await harness.writeConfig(text(0));
    const daemon = startDaemon(path, harness.env);
    expect(await daemon.saw('started')).toBe(true);
    const answered = () => harness.simulator.requests.filter((r) => r.route === 'action' && r.status === 200).length;
    await waitUntil(() => answered() > 0, 8000);
    // IAM down for the rest of the test: the token got at the start has 24 h to go.
    harness.simulator.injectFault({ kind: 'unavailable' }, { route: 'identity', times: 1000 });
    await harness.writeConfig(text(1));
    daemon.child.kill('SIGHUP');
    await waitUntil(() => reloads(daemon) === 1, 10_000);
    const before = answered();
    // Passes of the rebuilt parts (one a second): answered with the token in hand, not failed for want of a login.
    await waitUntil(() => answered() >= before + 2, 15_000);
    expect(harness.simulator.requests.filter((r) => r.route === 'identity').length).toBe(1);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 60_000);

  it('makes no login with a refused password when a reload of the cloud section cannot start its parts and the running ones go on', async (context) => {
    const { expect } = context;
    const { harness, ids, auth } = await withRefusedPassword(context);
    const text = harness.yaml([{ ...ids, name: 'reboot' }], { auth, endpoint: null });
    const path = await harness.writeConfig(text);
    const daemon = startDaemon(path, harness.env);
    expect(await daemon.saw('started')).toBe(true);
    const logins = () => harness.simulator.requests.filter((r) => r.route === 'identity').length;
    await waitUntil(() => logins() === 1, 8000);
    // The operator mends the password by a file not written yet: the reloaded parts cannot start, and the
    // running ones go on with the password refused, under the backoff they were under.
    await harness.writeConfig(text.replace('password: "${OS_PASSWORD}"', `passwordFile: ${join(harness.dir, 'password-not-written-yet')}`));
    daemon.child.kill('SIGHUP');
    expect(await daemon.saw('the reloaded watch file cannot be started; keeping the running configuration')).toBe(true);
    // A pass of the parts gone back to (one a second).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(logins()).toBe(1);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(logins()).toBe(1);
  }, 60_000);
});
