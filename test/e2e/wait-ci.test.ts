// `wait` as a CI job runs it: stderr no terminal, a log that must not stay silent for minutes, and settings
// that reach no cloud (a CA not trusted, a host name that does not exist) told at once rather than at --timeout.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import { makeCertificates } from '../certificates.ts';
import { Capture, Harness, PROJECT, quickAction } from './harness.ts';
import { COMPILE_CACHE, cliBundle } from './daemon.ts';

let dir: string;
/** A private CA, which the file names in cloud.tls.caFile, and the certificate it signs for 127.0.0.1. */
let trusted: ReturnType<typeof makeCertificates>;
/** The same from another CA, which nothing trusts. */
let untrusted: ReturnType<typeof makeCertificates>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eaw-wait-ci-'));
  trusted = makeCertificates(mkdtempSync(join(dir, 'trusted-')));
  untrusted = makeCertificates(mkdtempSync(join(dir, 'untrusted-')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(() => {
  vi.useRealTimers();
});

/** A harness closed after the test of `context`: the tests that reach no cloud run side by side, each with its own. */
async function harness({ onTestFinished }: TestContext, options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  const h = await Harness.start(options);
  onTestFinished(() => h.close());
  return h;
}

/** Waits for what runs on real sockets and the schedule (a pass, an answer), by the real clock: Date may be fake. */
async function until(done: () => boolean, what: string): Promise<void> {
  const giveUpAt = performance.now() + 10_000;
  while (!done()) {
    if (performance.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('wait without a terminal', () => {
  it('writes a line at each change and the last one again each minute without one; stdout keeps the result', async (context) => {
    // The fake clock moves on with real time (the simulator and the polls need it) and jumps when told.
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'], shouldAdvanceTime: true });
    const h = await harness(context);
    const action = quickAction({
      action: 'create',
      steps: [
        { event: 'conductor_schedule_and_build_instances', durationMs: 1500 },
        { event: 'compute__do_build_and_run_instance', durationMs: 5 * 60_000 },
      ],
    });
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([], { poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    const stderr = new Capture();
    const running = h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '1h30m'], { stderr });
    const lines = () => stderr.text.split('\n').filter(Boolean);
    const building = 'ecs-action-watch wait: create: 1/2 events done, compute__do_build_and_run_instance running';

    await until(() => lines().length === 1, 'the first step');
    // Over the first step rather than through it: the next pass finds the second.
    vi.advanceTimersByTime(1500);
    await until(() => lines().length === 2, 'the second step');
    expect(lines()).toEqual([
      expect.stringMatching(/^ecs-action-watch wait: create: 0\/1 events done, conductor_schedule_and_build_instances running · \ds$/),
      expect.stringMatching(new RegExp(`^${building} · \\ds$`)),
    ]);
    // Minutes in which the polls see nothing new: the same line once a minute.
    vi.advanceTimersByTime(60_000);
    vi.advanceTimersByTime(60_000);
    expect(lines().slice(2)).toEqual([expect.stringMatching(new RegExp(`^${building} · 1m0\\ds$`)), expect.stringMatching(new RegExp(`^${building} · 2m0\\ds$`))]);

    // Three polls fail, the last two with another error: a line at the first only, then one when the polls answer again.
    h.simulator.injectFault({ kind: 'server-error' }, { pathIncludes: action.requestId, times: 1 });
    h.simulator.injectFault({ kind: 'unavailable' }, { pathIncludes: action.requestId, times: 2 });
    await until(() => h.simulator.pendingFaults === 0 && lines().length === 6, 'the polls failing, then answering again');
    expect(lines()[4]).toMatch(new RegExp(`^${building}; last poll failed: GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/\\w+/servers/${action.serverId}/os-instance-actions/${action.requestId} → 500 .* · 2m\\d\\ds$`));
    expect(lines()[5]).toMatch(new RegExp(`^${building} · 2m\\d\\ds$`));

    // The minute counts from the last line.
    vi.advanceTimersByTime(59_000);
    expect(lines()).toHaveLength(6);
    vi.advanceTimersByTime(1000);
    expect(lines()[6]).toMatch(new RegExp(`^${building} · 3m\\d\\ds$`));
    vi.advanceTimersByTime(3 * 60_000);
    const r = await running;
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: create: 2 events succeeded in /) });
    expect(lines().slice(7, 10)).toEqual(['4m', '5m', '6m'].map((m) => expect.stringMatching(new RegExp(`^${building} · ${m}\\d\\ds$`))));
    expect(lines().every((l) => l.startsWith('ecs-action-watch wait: '))).toBe(true);
  });
});

describe.concurrent('wait with settings that reach no cloud', () => {
  const waitFor = (h: Harness, path: string, action: { serverId: string; requestId: string }, stderr?: Capture) =>
    h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'], stderr ? { stderr } : {});

  it('exits 2 at once for a certificate whose CA it does not trust, naming cloud.tls.caFile; with the CA there, it waits', async (context) => {
    const h = await harness(context, { tls: { key: trusted.key, cert: trusted.cert } });
    const action = quickAction();
    h.simulator.addAction(action);
    const started = performance.now();
    const r = await waitFor(h, await h.writeConfig(h.yaml([])), action);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: cannot reach the cloud: last poll failed: GET https:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → certificate refused: unable to verify the first certificate.* \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\) \(.*name the CA that signs it in cloud\.tls\.caFile, or check the host name of cloud\.endpoint .* in \/.*watch\.yaml\)\n$/,
    );

    const fixed = await waitFor(h, await h.writeConfig(h.yaml([], { cloud: `  tls: { caFile: ${trusted.caFile} }` })), action);
    expect(fixed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: reboot: /) });
  });

  it('exits 2 at once for a host name that does not exist, naming cloud.endpoint', async (context) => {
    const h = await harness(context);
    const action = quickAction();
    const started = performance.now();
    const r = await waitFor(h, await h.writeConfig(h.yaml([], { endpoint: 'https://nonexistent.invalid' })), action);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: cannot reach the cloud: last poll failed: GET https:\/\/nonexistent\.invalid\/v2\.1\/ → host not found: getaddrinfo ENOTFOUND nonexistent\.invalid \(check the host name of cloud\.endpoint \(or cloud\.auth\.identityEndpoint\) in \/.*watch\.yaml\)\n$/,
    );
  });

  it('exits 2 at once for a cloud.region the token\'s catalog does not list, naming what it lists', async (context) => {
    const password = 'pw-SECRET-catalog-1';
    const h = await harness(context, {
      identity: { user: { name: 'svc-watch', password }, project: { id: PROJECT, name: 'eu-de' }, region: 'eu-de' },
    });
    h.env['OS_PASSWORD'] = password;
    const action = quickAction();
    h.simulator.addAction(action);
    const auth = [
      '  auth:', '    type: password', `    identityEndpoint: ${h.simulator.identityUrl}`, '    user: svc-watch', '    domain: Default',
      '    password: "${OS_PASSWORD}"', '    projectName: eu-de',
      // A typo: the catalog lists eu-de only.
      '  region: eu-nl',
    ].join('\n');
    const started = performance.now();
    const r = await waitFor(h, await h.writeConfig(h.yaml([], { endpoint: null, auth })), action);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: cannot reach the cloud: last poll failed: the token's catalog has no compute endpoint with interface public in region eu-nl; its compute endpoints: .*eu-de.* \(check cloud\.region, cloud\.interface and cloud\.endpoint in \/.*watch\.yaml\)\n$/,
    );
  });

  it('exits 2 at once for an https:// endpoint on a plain HTTP port, naming its scheme and port; with http://, it waits', async (context) => {
    const h = await harness(context);
    const action = quickAction();
    h.simulator.addAction(action);
    const started = performance.now();
    const r = await waitFor(h, await h.writeConfig(h.yaml([], { endpoint: h.simulator.url.replace('http://', 'https://') })), action);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: cannot reach the cloud: last poll failed: GET https:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → no TLS: 127\.0\.0\.1:\d+ does not answer TLS \(ERR_SSL_WRONG_VERSION_NUMBER\): .* \(an https:\/\/ URL for a port that speaks plain HTTP: check the scheme and port of cloud\.endpoint \(or cloud\.auth\.identityEndpoint\) in \/.*watch\.yaml\)\n$/,
    );

    const fixed = await waitFor(h, await h.writeConfig(h.yaml([])), action);
    expect(fixed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: reboot: /) });
  });

  it('exits 2 at once for an endpoint that redirects to a login page, saying where it points and what that is', async (context) => {
    const h = await harness(context);
    const gateway = createHttpServer((req, res) => {
      res.writeHead(302, { location: `https://sso.example.com/login?return=${encodeURIComponent(req.url ?? '/')}` });
      res.end();
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    context.onTestFinished(() => new Promise<void>((resolve) => gateway.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    const r = await waitFor(h, await h.writeConfig(h.yaml([], { endpoint })), quickAction());
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: the cloud sends the request elsewhere: last poll failed: GET http:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → 302 Found: redirects to https:\/\/sso\.example\.com\/login \(not followed; .*\) \(a login page is a proxy or gateway asking for a login that wait cannot give; any other address: check cloud\.endpoint \(or cloud\.auth\.identityEndpoint\) in \/.*watch\.yaml\)\n$/,
    );
  });

  it('exits 2 at once for a proxy variable that is no URL, naming it and not its value, and not the watch file', async (context) => {
    const h = await harness(context);
    const action = quickAction();
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([]));
    const started = performance.now();
    // A process of its own: undici reads the proxy variables from the process's environment.
    const env = { ...process.env, ...h.env, HTTP_PROXY: 'svc:Pr0xyPass@proxy.example.com:3128', http_proxy: undefined, NO_PROXY: '', no_proxy: undefined, NODE_COMPILE_CACHE: COMPILE_CACHE };
    const args = [cliBundle(), 'wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'];
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, args, { env }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err.code as number | null), stdout, stderr }));
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: cannot reach the cloud: last poll failed: GET http:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → proxy not usable: the proxy in HTTP_PROXY is not an http:\/\/ or https:\/\/ URL: write it as http:\/\/host:port, or unset HTTP_PROXY \(a variable of wait's environment, not of the watch file\)\n$/,
    );
    expect(r.stderr).not.toContain('Pr0xyPass');
  });

  it('waits on through a refused certificate once the API has answered for the action (one server behind the name, a blip)', async (context) => {
    const h = await harness(context, { tls: { key: trusted.key, cert: trusted.cert } });
    const stray = createHttpsServer({ key: untrusted.key, cert: untrusted.cert });
    await new Promise<void>((resolve) => stray.listen(0, '127.0.0.1', resolve));
    context.onTestFinished(() => new Promise<void>((resolve) => stray.close(() => resolve())));
    // The endpoint's port forwards to the simulator, or, while `toStray`, to the server with the other CA's certificate.
    let toStray = false;
    const sockets = new Set<Socket>();
    const front = createServer((socket) => {
      const port = toStray ? (stray.address() as AddressInfo).port : Number(new URL(h.simulator.url).port);
      const back = connect(port, '127.0.0.1');
      for (const s of [socket, back]) {
        sockets.add(s);
        s.on('error', () => s.destroy()).on('close', () => sockets.delete(s));
      }
      socket.pipe(back).pipe(socket);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    context.onTestFinished(() => new Promise<void>((resolve) => front.close(() => resolve())));
    const strayAnswered = () => {
      toStray = true;
      for (const s of sockets) s.destroy();
    };

    const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 4000, taskState: 'rebooting' }] });
    h.simulator.addAction(action);
    const endpoint = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
    const path = await h.writeConfig(h.yaml([], { endpoint, cloud: `  tls: { caFile: ${trusted.caFile} }`, poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    const stderr = new Capture();
    const waiting = waitFor(h, path, action, stderr);
    await until(() => stderr.text.includes('compute_reboot_instance running'), 'the action found');
    // Between two polls (a second apart): every request answered, and none since for 100 ms. Cut while a poll
    // is in flight, the connection fails it as a reset, which wait reports in place of the certificate and
    // does not report again at the next poll's other error (a loaded machine's run did so).
    let quietSince = performance.now();
    let seen = -1;
    await until(() => {
      const { requests } = h.simulator;
      if (requests.length !== seen || requests.some((q) => q.status === null)) {
        seen = requests.length;
        quietSince = performance.now();
      }
      return performance.now() - quietSince >= 100;
    }, 'a moment between two polls');
    strayAnswered();
    await until(() => stderr.text.includes('certificate refused'), 'a poll refusing the certificate');
    toStray = false;
    const r = await waiting;
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: reboot: /) });
    expect(stderr.text).toMatch(/running; last poll failed: GET https:\/\/127\.0\.0\.1:\d+\/.* → certificate refused: .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  });
});
