// A company network: a private CA signs the cloud's, the identity service's and the webhook receiver's
// certificates (and its mail relay's), and the way out is an HTTP proxy named by HTTPS_PROXY / HTTP_PROXY (NO_PROXY exempts).
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy } from 'proxy';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createEcsClient } from '../../src/cloud/client.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { readCaFile } from '../../src/net/caFile.ts';
import { trustedCertificates } from '../../src/net/tls.ts';
import { createWebhookNotifier } from '../../src/notify/webhook/webhook.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { startMailSink } from '../../src/sinks/mailSink.ts';
import { createEmailNotifier } from '../../src/notify/email/email.ts';
import { makeCertificates } from '../certificates.ts';
import { Harness, newIds, quickAction, type WatchEntry } from '../e2e/harness.ts';
import { cloudConfig } from './helpers.ts';
import { eventually } from '../eventually.ts';

// `run` here is in the test's own process: without the daemon's V8 settings and full collections (inProcessV8.ts).
vi.mock('../../src/cli/daemonV8.ts', async (original) => (await import('../e2e/inProcessV8.ts')).inTestProcess(await original()));

const PROJECT = '7d2f0c7a9b8d4e6f8a1b2c3d4e5f6a7b';
const PASSWORD = 'tls-test-password';

let dir: string;
let caFile: string;
let serverTls: { key: string; cert: string };

let proxy: Server;
let proxyUrl: string;
const proxied: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eaw-tls-'));
  const made = makeCertificates(dir);
  caFile = made.caFile;
  serverTls = { key: made.key, cert: made.cert };
  proxy = createProxy(createServer());
  proxy.on('connect', (req: { url?: string }) => proxied.push(`CONNECT ${req.url}`));
  proxy.on('request', (req: { method?: string; url?: string }) => proxied.push(`${req.method} ${req.url}`));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.unstubAllEnvs();
  proxied.length = 0;
});

async function httpsSimulator(): Promise<Simulator> {
  const sim = await startSimulator({
    tls: serverTls,
    identity: { user: { name: 'svc', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' } },
  });
  cleanups.push(() => sim.close());
  sim.addAction({ projectId: PROJECT, serverId: 'srv-1', requestId: 'req-1', action: 'reboot', steps: [] });
  return sim;
}

/** Password auth, endpoint from the catalog: the identity service and compute both over TLS. */
function client(sim: Simulator, ca: readonly string[] | undefined) {
  const c = createEcsClient(
    cloudConfig({
      microversion: '2.60',
      auth: { type: 'password', identityEndpoint: sim.identityUrl, user: 'svc', domain: 'Default', password: PASSWORD, projectId: PROJECT },
    }),
    { logger: silentLogger(), ca },
  );
  cleanups.push(() => c.close());
  return c;
}

const REF = { projectId: PROJECT, serverId: 'srv-1', requestId: 'req-1' };

describe('a private CA (cloud.tls.caFile)', () => {
  it('is needed: certificates are verified', async () => {
    const sim = await httpsSimulator();
    await expect(client(sim, undefined).getInstanceAction(REF)).rejects.toMatchObject({
      kind: 'certificate',
      message: expect.stringMatching(/^cannot get a token for user 'svc' of domain 'Default': POST https:\/\/127\.0\.0\.1:\d+\/v3\/auth\/tokens → certificate refused: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED)/),
    });
  });

  it('is refused, as a certificate to fix, when it may not sign certificates (Node names that UNSPECIFIED)', async () => {
    // OpenSSL's verification results that Node has no name of its own for (a CA key usage without
    // keyCertSign, a key too small for the security level) all come as UNSPECIFIED.
    const limited = makeCertificates(mkdtempSync(join(dir, 'no-cert-sign-')), { caKeyUsage: 'critical,digitalSignature' });
    const sim = await startSimulator({
      tls: { key: limited.key, cert: limited.cert },
      identity: { user: { name: 'svc', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' } },
    });
    cleanups.push(() => sim.close());
    await expect(client(sim, trustedCertificates(readCaFile(limited.caFile))).getInstanceAction(REF)).rejects.toMatchObject({
      kind: 'certificate',
      message: expect.stringMatching(/→ certificate refused: key usage does not include certificate signing \(UNSPECIFIED\)$/),
    });
  });

  it('is trusted for the identity service and compute, next to the usual CAs', async () => {
    const sim = await httpsSimulator();
    const ca = trustedCertificates(readCaFile(caFile));
    expect(ca?.length).toBeGreaterThan(100);
    expect(await client(sim, ca).getInstanceAction(REF)).toMatchObject({ action: 'reboot' });
    expect(sim.requests.map((r) => r.route)).toEqual(['identity', 'action']);
  });

  it('is trusted for webhooks too', async () => {
    const sink = await startWebhookSink({ tls: serverTls });
    cleanups.push(() => sink.close());
    const config = { type: 'webhook' as const, url: sink.url, headers: {}, timeout: 2000, on: ['success' as const] };
    const send = (ca: readonly string[] | undefined) => {
      const notifier = createWebhookNotifier('chat', config, { logger: silentLogger(), ca });
      cleanups.push(() => notifier.close());
      return notifier.send(
        { type: 'ecs.watch.test', outcome: null, watch: { name: 't', projectId: 'p', serverId: 's', requestId: 'r' }, instanceAction: null, server: null, reason: 'test', detectedAt: new Date().toISOString() } as never,
        { deliveryId: 'd1', attempt: 1, signal: new AbortController().signal },
      );
    };
    await expect(send(undefined)).rejects.toThrow(/TLS with 127\.0\.0\.1:\d+ failed: its certificate is refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): name the CA that signs it in cloud\.tls\.caFile/);
    await send(trustedCertificates(readCaFile(caFile)));
    expect(sink.received).toHaveLength(1);
  });

  it('is trusted for SMTP relays too, on STARTTLS', async () => {
    // The sink with STARTTLS on, under the private CA's certificate; no login, which would need TLS anyway.
    const sink = await startMailSink({ smtp: { disabledCommands: [], ...serverTls } });
    cleanups.push(() => sink.close());
    const send = (ca: readonly string[] | undefined) => {
      const notifier = createEmailNotifier(
        'ops-mail',
        { type: 'email', smtp: { host: '127.0.0.1', port: sink.port, secure: false, timeout: 2000, connections: 1 }, from: 'w@example.com', to: ['ops@example.com'], on: ['success'] },
        { logger: silentLogger(), ca },
      );
      cleanups.push(() => notifier.close());
      return notifier.send(
        { type: 'ecs.watch.test', outcome: null, watch: { name: 't', projectId: 'p', serverId: 's', requestId: 'r' }, instanceAction: null, server: null, reason: 'test', detectedAt: new Date().toISOString() } as never,
        { deliveryId: 'd1', attempt: 1, signal: new AbortController().signal },
      );
    };
    await expect(send(undefined)).rejects.toThrow(/^email ops-mail: TLS with 127\.0\.0\.1:\d+ failed: its certificate is refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): name the CA/);
    expect(sink.received).toHaveLength(0);
    await send(trustedCertificates(readCaFile(caFile)));
    expect(sink.received).toHaveLength(1);
  });

  it('is trusted by notify-test as by the daemon: a test of a webhook behind the private CA reaches it', async () => {
    const sink = await startWebhookSink({ tls: serverTls });
    cleanups.push(() => sink.close());
    const h = await Harness.start();
    cleanups.push(() => h.close());
    const notifiers = `  chat:\n    type: webhook\n    url: ${sink.url}`;
    const path = await h.writeConfig(h.yaml([], { cloud: `  tls:\n    caFile: ${caFile}`, notifiers }));
    const r = await h.cli(['notify-test', '--config', path]);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/\nchat +webhook +delivered /) as string });
    expect(sink.received).toHaveLength(1);
  });

  it.each([
    ['missing', () => join(dir, 'nope.pem'), /^cannot read cloud\.tls\.caFile .*nope\.pem: no such file$/],
    ['not a certificate', () => join(dir, 'san.ext'), /^cloud\.tls\.caFile .*san\.ext holds no PEM certificate/],
  ])('is refused with its name when %s', (_case, file, message) => {
    expect(() => readCaFile(file())).toThrow(message);
  });
});

describe('a proxy from the environment', () => {
  it('HTTPS_PROXY tunnels TLS (CONNECT) to identity and compute, the private CA still checked', async () => {
    const sim = await httpsSimulator();
    vi.stubEnv('HTTPS_PROXY', proxyUrl);
    vi.stubEnv('NO_PROXY', '');
    expect(await client(sim, trustedCertificates(readCaFile(caFile))).getInstanceAction(REF)).toMatchObject({ action: 'reboot' });
    // One tunnel per connection undici opens: every one of them to the cloud's host.
    expect(new Set(proxied)).toEqual(new Set([`CONNECT ${new URL(sim.url).host}`]));
    expect(sim.requests.map((r) => r.route)).toEqual(['identity', 'action']);
  });

  it('HTTP_PROXY carries plain http; NO_PROXY exempts a host', async () => {
    const sim = await startSimulator();
    cleanups.push(() => sim.close());
    sim.addAction({ projectId: PROJECT, serverId: 'srv-1', requestId: 'req-1', action: 'reboot', steps: [] });
    vi.stubEnv('HTTP_PROXY', proxyUrl);
    vi.stubEnv('NO_PROXY', '');
    const viaProxy = createEcsClient(cloudConfig({ endpoint: sim.url, microversion: '2.60' }), { logger: silentLogger() });
    cleanups.push(() => viaProxy.close());
    await viaProxy.getInstanceAction(REF);
    expect(proxied).toEqual([`GET ${sim.url}/v2.1/${PROJECT}/servers/srv-1/os-instance-actions/req-1`]);

    vi.stubEnv('NO_PROXY', 'localhost,127.0.0.1');
    const direct = createEcsClient(cloudConfig({ endpoint: sim.url, microversion: '2.60' }), { logger: silentLogger() });
    cleanups.push(() => direct.close());
    await direct.getInstanceAction(REF);
    expect(proxied).toHaveLength(1);
    expect(sim.requests).toHaveLength(2);
  });

  it('the whole app: cloud.tls.caFile from the watch file, through the proxy', async () => {
    const sim = await httpsSimulator();
    vi.stubEnv('HTTPS_PROXY', proxyUrl);
    vi.stubEnv('NO_PROXY', '');
    const [status] = await appOf(parseConfig(watchFile(sim, caFile), { env: { PW: PASSWORD } })).then((app) => app.engine.pollOnce());
    expect(status).toMatchObject({ pollFailed: false });
    expect(new Set(proxied)).toEqual(new Set([`CONNECT ${new URL(sim.url).host}`]));
  });
});

/** A watch file for the app against `sim`, trusting the CA in `ca`. */
function watchFile(sim: Simulator, ca: string): string {
  return [
    'cloud:',
    '  auth:',
    '    type: password',
    `    identityEndpoint: ${sim.identityUrl}`,
    '    user: svc',
    '    domain: Default',
    '    password: ${PW}',
    `    projectId: ${PROJECT}`,
    '  tls:',
    `    caFile: ${ca}`,
    'state:',
    `  path: ${join(dir, 'state.json')}`,
    'http: { port: 0 }',
    'watches:',
    '  - { requestId: req-1, serverId: srv-1 }',
  ].join('\n');
}

async function appOf(config: Config) {
  const app = await createApp(config, { logger: silentLogger(), state: 'memory' });
  cleanups.push(() => app.close());
  return app;
}

describe('the CA file, read once per load of the watch file', () => {
  it('is not read again when the parts start: they trust what the load checked', async () => {
    const sim = await httpsSimulator();
    const ca = join(mkdtempSync(join(dir, 'once-')), 'ca.pem');
    copyFileSync(caFile, ca);
    const config = parseConfig(watchFile(sim, ca), { env: { PW: PASSWORD } });
    rmSync(ca);
    const [status] = await appOf(config).then((app) => app.engine.pollOnce());
    expect(status).toMatchObject({ pollFailed: false });
  });

  it('is read again at a reload: a watch-list edit after the file was renewed runs on the renewed CA', async () => {
    const h = await Harness.start({ tls: serverTls });
    cleanups.push(() => h.close());
    const ca = join(h.dir, 'ca.pem');
    // Until it is renewed, the file holds a CA that did not sign the cloud's certificate.
    copyFileSync(makeCertificates(mkdtempSync(join(dir, 'old-'))).caFile, ca);
    const action = quickAction();
    h.simulator.addAction(action);
    const yaml = (watches: WatchEntry[]) => h.yaml(watches, { cloud: `  tls:\n    caFile: ${ca}`, poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const path = await h.writeConfig(yaml([action]));
    const stop = new AbortController();
    const running = h.cli(['run', '--config', path], { signal: stop.signal, env: { LOG_LEVEL: 'info' } });
    try {
      await eventually(() => expect(h.logs.text).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE.*poll failed/), { timeout: 8000, interval: 50 });
      copyFileSync(caFile, ca);
      writeFileSync(path, yaml([action, newIds()]));
      await eventually(() => expect(h.hooks.received).toHaveLength(1), { timeout: 10_000, interval: 50 });
    } finally {
      stop.abort();
    }
    expect((await running).code).toBe(0);
  });
});
