// `check` and `wait` against a cloud that answers badly: a document that is not one, an answer cut short, a
// page of something in front of the API, a refusal in Huawei's words, a connection that is reset or never
// answered, for the instance action and for the token request. Each says which request and what came, and
// ends with the status the contract gives it: check 1 (a poll failed); wait 2 at once for what no waiting
// mends, 3 at --timeout for what may pass. And `notify-test` against receivers that say no: each in its
// row, in the receiver's words, and status 1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import type { FaultSpec } from '../../src/simulator/index.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { Capture, Harness, PROJECT, quickAction } from './harness.ts';

const PASSWORD = 'pw-SECRET-3b9a0c';

/** A self-signed certificate for 127.0.0.1 (no CA signs it), made with the machine's openssl. */
let selfSigned: { key: string; cert: string };
let certificateDir: string;
beforeAll(() => {
  certificateDir = mkdtempSync(join(tmpdir(), 'eaw-bad-answers-'));
  const [key, cert] = [join(certificateDir, 'key.pem'), join(certificateDir, 'cert.pem')];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'pipe' });
  selfSigned = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
});
afterAll(() => rmSync(certificateDir, { recursive: true, force: true }));

/** A captive portal's login page, which it answers with 200 in place of whatever was asked. */
const PORTAL_PAGE = '<!DOCTYPE html>\n<html><head><title>Guest Wi-Fi login</title></head><body><form action="/login"><input name="user"></form></body></html>\n';

function portalPage(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(PORTAL_PAGE);
}

/**
 * An HTTP server on loopback in front of the simulator, as a gateway or proxy is: `answer` answers the requests
 * it takes (returning true), every other one goes on to the simulator as it came. Closed after the test.
 */
async function inFront(context: TestContext, h: Harness, answer: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<string> {
  const simulator = new URL(h.simulator.url);
  const server = createServer((req, res) => {
    if (answer(req, res)) return;
    const onward = request({ host: simulator.hostname, port: simulator.port, method: req.method, path: req.url, headers: req.headers }, (back) => {
      res.writeHead(back.statusCode ?? 502, back.headers);
      back.pipe(res);
    });
    // A connection the simulator resets (its `reset` fault) is reset on this side too.
    onward.on('error', () => req.socket.resetAndDestroy());
    req.pipe(onward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  context.onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** cloud.auth for a password login at `identityEndpoint` (the simulator's Keystone unless another is given). */
function passwordAuth(identityEndpoint: string): string {
  return ['  auth:', '    type: password', `    identityEndpoint: ${identityEndpoint}`, '    user: svc-watch', '    domain: Default', '    password: "${OS_PASSWORD}"', '    projectName: eu-de'].join('\n');
}

/** A harness of the test of `context`, closed after it; its simulator has a Keystone token service that takes PASSWORD. */
async function harness({ onTestFinished }: TestContext, options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  const h = await Harness.start({ identity: { user: { name: 'svc-watch', password: PASSWORD }, project: { id: PROJECT, name: 'eu-de' }, region: 'eu-de' }, ...options });
  onTestFinished(() => h.close());
  h.env['OS_PASSWORD'] = PASSWORD;
  return h;
}

/** An HTTP server on loopback that takes every request and never answers it; closed after the test of `context`. */
async function silentEndpoint({ onTestFinished }: TestContext): Promise<string> {
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    silent.closeAllConnections();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  return `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
}

const NO_RETRIES = '  schedule: "* * * * * *"\n  retries: 0';

/** cloud.timeout for a request never answered; answers that must come, bad or good, keep the harness's 10 s (2 s timed out a body of 5 MB on a loaded machine). */
const NO_ANSWER_TIMEOUT = '500ms';

interface CheckRow {
  requestId: string;
  pollFailed: boolean;
  lastError: string | null;
}

const PAGE_IN_PLACE = '200 OK: an HTML page \\("Guest Wi-Fi login"\\), not the API\'s answer: something in front of the API \\(a firewall, gateway or proxy\\) answered in its place';

describe.concurrent('a captive portal\'s login page answered with 200 in place of the API', () => {
  it('ends wait at once with status 2, naming the page and what stands in front of cloud.endpoint, not at --timeout with 3', async (context) => {
    const h = await harness(context);
    const action = quickAction();
    h.simulator.addAction(action);
    const endpoint = await inFront(context, h, (req, res) => {
      portalPage(req, res);
      return true;
    });
    const stop = AbortSignal.timeout(10_000);
    const r = await h.cli(['wait', '--config', await h.writeConfig(h.yaml([], { endpoint })), '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'], { signal: stop });
    expect(stop.aborted).toBe(false);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(new RegExp(
      `^ecs-action-watch wait: something in front of the cloud refused the request: last poll failed: GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/ → ${PAGE_IN_PLACE} ` +
        '\\(an HTML page, not the API\'s answer: check with whoever runs the firewall, gateway or proxy in front of cloud\\.endpoint \\(or cloud\\.auth\\.identityEndpoint\\) in /.*watch\\.yaml\\)\n$',
    ));
  });

  it('is said in check\'s row of the watch whose action a gateway answers so, the others read', async (context) => {
    const h = await harness(context);
    const [caught, passed] = [quickAction({ neverFinishes: true }), quickAction({ neverFinishes: true })];
    for (const a of [caught, passed]) h.simulator.addAction(a);
    const endpoint = await inFront(context, h, (req, res) => {
      if (!req.url!.includes(caught.requestId)) return false;
      portalPage(req, res);
      return true;
    });
    const r = await h.cli(['check', '--json', '--config', await h.writeConfig(h.yaml([caught, passed], { endpoint }))]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as CheckRow[];
    expect(rows.map((row) => [row.requestId, row.pollFailed])).toEqual([[caught.requestId, true], [passed.requestId, false]]);
    expect(rows[0]!.lastError).toMatch(new RegExp(`^last poll failed: GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/${PROJECT}/servers/${caught.serverId}/os-instance-actions/${caught.requestId} → ${PAGE_IN_PLACE}$`));
  });

  it('in place of the token ends wait at once with status 2, and check says it of the login rather than "no X-Subject-Token header"', async (context) => {
    const h = await harness(context);
    const action = quickAction({ neverFinishes: true });
    h.simulator.addAction(action);
    const portal = await inFront(context, h, (req, res) => {
      portalPage(req, res);
      return true;
    });
    const path = await h.writeConfig(h.yaml([action], { auth: passwordAuth(`${portal}/v3`) }));
    const login = `cannot get a token for user 'svc-watch' of domain 'Default': POST http://127\\.0\\.0\\.1:\\d+/v3/auth/tokens\\?nocatalog=true → ${PAGE_IN_PLACE}`;

    const check = await h.cli(['check', '--json', '--config', path]);
    expect(check.code).toBe(1);
    expect((JSON.parse(check.stdout) as CheckRow[])[0]!.lastError).toMatch(new RegExp(`^last poll failed: ${login}$`));

    const stop = AbortSignal.timeout(10_000);
    const r = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'], { signal: stop });
    expect(stop.aborted).toBe(false);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(new RegExp(`^ecs-action-watch wait: something in front of the cloud refused the request: last poll failed: ${login} \\(an HTML page, not the API's answer: check with whoever runs the firewall, gateway or proxy in front of cloud\\.endpoint \\(or cloud\\.auth\\.identityEndpoint\\) in /.*watch\\.yaml\\)\n$`));
    expect(r.stderr + check.stdout + h.logs.text).not.toContain(PASSWORD);
  });
});

/** How a request is answered badly: by the simulator's fault, or by a server in front of it (what the API itself never answers). */
type Bad = { fault: FaultSpec } | { front: (req: IncomingMessage, res: ServerResponse) => void };

interface BadAnswer {
  name: string;
  bad: Bad;
  /** What the error says after the request's `→`, as a pattern. */
  says: string;
  /**
   * What `wait` says and what it says to check when it gives up at once (status 2); none for what may pass
   * (status 3 at --timeout). `inEnvironment`: the fix is not in the watch file, which it then does not name.
   */
  givesUp?: { says: string; fix: string; inEnvironment?: true; logged?: string };
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A body that stops halfway: the length says 1,000 bytes, the connection closes after 30. */
const cutShort = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
  res.write('{"instanceAction": {"action": ');
  setTimeout(() => res.socket?.destroy(), 20);
};
const NGINX_502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const REFUSED = { says: 'the cloud refused the request', fix: "check cloud.auth and the account's permissions", logged: 'check cloud.auth' };
const ADDRESS_REFUSED = {
  says: 'the cloud refused the request',
  fix: "the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth",
  inEnvironment: true as const,
};
const POLICY_REFUSED = {
  says: 'the cloud refused the request',
  fix: "the cloud's policy refuses this route to these credentials: ask its operator for the role that allows it",
  inEnvironment: true as const,
};
const GATEWAY_FAULT = {
  says: 'the cloud refused the request',
  fix: "the API gateway refuses the request for a fault of its own (its table's fix: the cloud's technical support): ask whoever runs the cloud, not cloud.auth",
  inEnvironment: true as const,
};
const PROJECT_UNAVAILABLE = {
  says: 'the cloud refused the request',
  fix: 'the project is unavailable (frozen, deleted, or not of this region): check the project id of the watch, or cloud.projectId and cloud.endpoint',
};
const TOKEN_REGION = {
  says: 'the cloud refused the request',
  fix: "the API gateway wants another token: one of another region's project than cloud.endpoint's (a static token: one past its time): check that cloud.endpoint and the project of cloud.auth are of one region, or renew cloud.auth.token",
};
/** What the gateway in front of the identity service says of the login itself, which judges no password. */
const LOGIN_GATEWAY = {
  says: 'the API gateway refused the login',
  fix: 'the API gateway in front of the identity service answered the login itself, not the identity service (no refusal of the password): ask whoever runs the gateway, or check cloud.auth.identityEndpoint',
};
/** An answer of Huawei's API gateway in its own words (its table of error codes), with what `wait` says of it. */
const gatewayCode = (status: number, code: string, message: string, givesUp: NonNullable<BadAnswer['givesUp']>): BadAnswer => ({
  name: `a ${status} ${code} (${message})`,
  bad: { fault: { kind: 'gateway-code', status, code, message } },
  says: `${status} ${escaped(code)}: ${escaped(message)}`,
  givesUp,
});
/** Where `wait` says the fix of what it gave up on is to be made, as a pattern. */
const fixedIn = (givesUp: NonNullable<BadAnswer['givesUp']>) => (givesUp.inEnvironment ? '' : ' in /.*watch\\.yaml');
const ELSEWHERE = {
  says: 'the cloud sends the request elsewhere',
  fix: 'a login page is a proxy or gateway asking for a login that wait cannot give; any other address: check cloud.endpoint (or cloud.auth.identityEndpoint)',
};

/**
 * The one bad answer whose test waits for cloud.timeout to pass: its file has cloud.timeout 500 ms
 * (`fileFor`), and sends no other request that would have to be answered within it.
 */
const NO_ANSWER: BadAnswer = { name: 'no answer (accepted, never answered)', bad: { fault: { kind: 'slow', delayMs: 60_000 } }, says: 'timed out: no complete answer within 500 ms' };

/** The watch file for a test of `c`: NO_ANSWER's with its short cloud.timeout and a fixed microversion (no version document to ask for first), any other the harness's. */
const fileFor = (c: BadAnswer, h: Harness, watches: Parameters<Harness['yaml']>[0], options: NonNullable<Parameters<Harness['yaml']>[1]>) =>
  c === NO_ANSWER ? h.yaml(watches, { ...options, cloud: '  microversion: "2.60"', cloudTimeout: NO_ANSWER_TIMEOUT }) : h.yaml(watches, options);

/** The bad answers common to the instance action and the token request. */
const EITHER: BadAnswer[] = [
  { name: 'a body cut short by the connection closing', bad: { front: cutShort }, says: 'network error: other side closed \\(UND_ERR_SOCKET\\)' },
  { name: 'a 502 that is a load balancer\'s HTML page', bad: { front: (req, res) => (req.resume(), res.writeHead(502, { 'content-type': 'text/html' }), res.end(NGINX_502)) }, says: '502 Bad Gateway' },
  { name: 'a reset connection', bad: { fault: { kind: 'reset' } }, says: 'network error: read ECONNRESET' },
  NO_ANSWER,
  {
    name: 'a 403 of the API gateway\'s IP access control (APIGW.0402)',
    bad: { fault: { kind: 'gateway-ip-refused' } },
    says: '403 APIGW\\.0402: The IP address is not authorized to access the API',
    givesUp: ADDRESS_REFUSED,
  },
  {
    name: 'a 307 to another host',
    bad: { front: (req, res) => (req.resume(), res.writeHead(307, { location: 'https://ecs.other.example.com/v2.1/moved' }), res.end()) },
    says: '307 Temporary Redirect: redirects to https://ecs\\.other\\.example\\.com/v2\\.1/moved \\(not followed; if that is the endpoint meant, put it in the configuration\\)',
    givesUp: ELSEWHERE,
  },
];

/** The bad answers of GET .../os-instance-actions/{requestId}. */
const ACTION: BadAnswer[] = [
  { name: 'not JSON', bad: { fault: { kind: 'garbage' } }, says: `200 invalid response: not JSON: ${escaped(JSON.stringify('{"instanceAction": {"action": "cre'))}` },
  { name: 'an empty body', bad: { fault: { kind: 'garbage', body: '' } }, says: '200 invalid response: not JSON: ""' },
  {
    name: 'no instanceAction',
    bad: { fault: { kind: 'garbage', body: '{"server": {"id": "x"}}' } },
    says: `200 invalid response: unexpected document \\(instanceAction: Invalid input: expected object, received undefined\\): ${escaped(JSON.stringify('{"server": {"id": "x"}}'))}`,
  },
  {
    name: 'events that are no list',
    bad: { fault: { kind: 'garbage', body: '{"instanceAction": {"action": "reboot", "request_id": "req-1", "events": "none"}}' } },
    says: '200 invalid response: unexpected document \\(instanceAction\\.events: Invalid input: expected array, received string\\): .*',
  },
  {
    name: 'a number where a string is',
    bad: { fault: { kind: 'garbage', body: '{"instanceAction": {"action": 5, "request_id": "req-1", "events": []}}' } },
    says: '200 invalid response: unexpected document \\(instanceAction\\.action: Invalid input: expected string, received number\\): .*',
  },
  { name: 'a body of 5 MB', bad: { fault: { kind: 'garbage', body: `{"instanceAction": {"action": "${'x'.repeat(5 * 1024 * 1024)}"}}` } }, says: '200 invalid response: body larger than 4194304 bytes' },
  ...EITHER,
  {
    name: 'a 302 to another host',
    bad: { front: (req, res) => (req.resume(), res.writeHead(302, { location: 'https://ecs.other.example.com/v2.1/moved' }), res.end()) },
    says: '302 Found: redirects to https://ecs\\.other\\.example\\.com/v2\\.1/moved \\(not followed; if that is the endpoint meant, put it in the configuration\\)',
    givesUp: ELSEWHERE,
  },
  {
    name: 'a 403 of Nova\'s policy',
    bad: { fault: { kind: 'policy-refused' } },
    says: '403 forbidden: Policy doesn\'t allow os_compute_api:os-instance-actions:show to be performed\\.',
    givesUp: POLICY_REFUSED,
  },
  { name: 'a 403 in Huawei\'s words (APIGW.0302)', bad: { fault: { kind: 'gateway-forbidden' } }, says: '403 APIGW\\.0302: The IAM user is not authorized to access the API', givesUp: REFUSED },
  // Huawei's table of its API gateway's codes puts the fix of these elsewhere than in the credentials.
  gatewayCode(403, 'APIGW.0401', 'Unknown client IP address', GATEWAY_FAULT),
  gatewayCode(403, 'APIGW.0404', 'Access to the backend IP address has been denied', GATEWAY_FAULT),
  gatewayCode(403, 'APIGW.0306', 'API access denied', POLICY_REFUSED),
  gatewayCode(403, 'APIGW.0310', 'The project is unavailable', PROJECT_UNAVAILABLE),
  gatewayCode(401, 'APIGW.0307', 'The token must be updated', TOKEN_REGION),
];

/** The bad answers of the instance action that come: a check of them all ends when the last comes, not at cloud.timeout. */
const ANSWERED = ACTION.filter((c) => c !== NO_ANSWER);

/**
 * The simulator behind a server in front of it, each request whose path includes a key of `bad` answered as
 * its value says: by the simulator's fault (every time), or by the server in front.
 */
async function badCloud(context: TestContext, h: Harness, bad: Map<string, Bad>): Promise<string> {
  for (const [key, b] of bad) if ('fault' in b) h.simulator.injectFault(b.fault, { pathIncludes: key, times: 1000 });
  return inFront(context, h, (req, res) => {
    for (const [key, b] of bad) {
      if ('front' in b && req.url!.includes(key)) {
        b.front(req, res);
        return true;
      }
    }
    return false;
  });
}

describe.concurrent('the instance action answered badly', () => {
  it('check says each in its watch\'s row, naming the request and what came, and exits 1', async (context) => {
    const h = await harness(context);
    const watches = ANSWERED.map((c) => ({ ...quickAction({ neverFinishes: true }), name: c.name }));
    const healthy = { ...quickAction({ neverFinishes: true }), name: 'healthy' };
    for (const w of [...watches, healthy]) h.simulator.addAction(w);
    const endpoint = await badCloud(context, h, new Map(ANSWERED.map((c, i) => [watches[i]!.requestId, c.bad])));
    const started = performance.now();
    const r = await h.cli(['check', '--json', '--config', await h.writeConfig(h.yaml([...watches, healthy], { endpoint, poll: NO_RETRIES }))]);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as Array<CheckRow & { name: string; state: string }>;
    expect(rows.at(-1)).toMatchObject({ name: 'healthy', pollFailed: false, state: 'pending', lastError: null });
    for (const [i, c] of ANSWERED.entries()) {
      const w = watches[i]!;
      expect(rows[i], c.name).toMatchObject({ name: c.name, pollFailed: true, state: 'pending' });
      expect(rows[i]!.lastError, c.name).toMatch(new RegExp(`^last poll failed: GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/${PROJECT}/servers/${w.serverId}/os-instance-actions/${w.requestId} → ${c.says}$`));
    }
  });

  it('check says under its table, a line per cause naming its watches, what to do: what wait says where it gives up, else to wait first', async (context) => {
    const h = await harness(context);
    const watches = ANSWERED.map((c) => ({ ...quickAction({ neverFinishes: true }), name: c.name }));
    for (const w of watches) h.simulator.addAction(w);
    const endpoint = await badCloud(context, h, new Map(ANSWERED.map((c, i) => [watches[i]!.requestId, c.bad])));
    const path = await h.writeConfig(h.yaml(watches, { endpoint, poll: NO_RETRIES }));
    const r = await h.cli(['check', '--config', path]);
    expect(r.code).toBe(1);
    const [, fixes, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(rest).toEqual([h.noStateNote]);
    const inFile = ` in ${path}`;
    const blip = 'a blip passes by itself: check again in a minute; if it lasts,';
    const gaveUp = (c: BadAnswer) => ` ${c.givesUp!.fix.replace('that wait cannot', 'that check cannot')}${c.givesUp!.inEnvironment ? '' : inFile}`;
    const givingUp = (givesUp: BadAnswer['givesUp']) => ACTION.filter((c) => c.givesUp === givesUp);
    /** The line of the watches that gave up with `givesUp`, naming them. */
    const line = (givesUp: BadAnswer['givesUp']) => {
      const those = givingUp(givesUp);
      return `${givesUp!.says} for ${those.map((c) => c.name).join(', ')}:${gaveUp(those[0]!)}`;
    };
    // In the order of the first watch of each cause; the six answers that are not the API's document alike.
    expect(fixes!.split('\n')).toEqual([
      `the cloud's answer is not the API's for not JSON, an empty body, no instanceAction and 3 more: ${blip} check that cloud.endpoint (or cloud.auth.identityEndpoint) is the API's, not something in front of it${inFile}`,
      `cannot reach the cloud for a body cut short by the connection closing, a reset connection: ${blip} check that the host and port of cloud.endpoint (or cloud.auth.identityEndpoint) can be reached from this host${inFile}`,
      `the cloud failed to answer for a 502 that is a load balancer's HTML page: its error (5xx), or that of a gateway in front of it (502, 504): ${blip} ask whoever runs the cloud`,
      line(ADDRESS_REFUSED),
      line(ELSEWHERE),
      line(POLICY_REFUSED),
      line(REFUSED),
      line(GATEWAY_FAULT),
      line(PROJECT_UNAVAILABLE),
      line(TOKEN_REGION),
    ]);
    expect(line(ELSEWHERE)).toContain('for a 307 to another host, a 302 to another host:');
    expect(line(POLICY_REFUSED)).toContain("for a 403 of Nova's policy, a 403 APIGW.0306 (API access denied):");
  });

  it('check says of an action never answered that it timed out, in its row and under its table, and exits 1 by cloud.timeout', async (context) => {
    const h = await harness(context);
    const action = { ...quickAction({ neverFinishes: true }), name: 'silent' };
    h.simulator.addAction(action);
    const endpoint = await badCloud(context, h, new Map([[action.requestId, NO_ANSWER.bad]]));
    const path = await h.writeConfig(fileFor(NO_ANSWER, h, [action], { endpoint, poll: NO_RETRIES }));
    const started = performance.now();
    const json = await h.cli(['check', '--json', '--config', path]);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as CheckRow[])[0]!.lastError).toMatch(new RegExp(`^last poll failed: GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/${PROJECT}/servers/${action.serverId}/os-instance-actions/${action.requestId} → ${NO_ANSWER.says}$`));
    const table = await h.cli(['check', '--config', path]);
    expect(table.code).toBe(1);
    expect(table.stdout.trimEnd().split('\n\n')[1]).toBe(
      `the cloud did not answer in time for silent: a blip passes by itself: check again in a minute; if it lasts, check that cloud.endpoint (or cloud.auth.identityEndpoint) answers from this host, or raise cloud.timeout for a cloud that answers slowly in ${path}`,
    );
  });

  it.for(ACTION)('wait says $name, and exits 2 at once where no waiting mends it, else 3 at --timeout', async (c, context) => {
    const h = await harness(context);
    const action = quickAction({ neverFinishes: true });
    h.simulator.addAction(action);
    const endpoint = await badCloud(context, h, new Map([[action.requestId, c.bad]]));
    const started = performance.now();
    const r = await h.cli(['wait', '--config', await h.writeConfig(fileFor(c, h, [], { endpoint, poll: NO_RETRIES })), '--server', action.serverId, '--request', action.requestId, '--timeout', c.givesUp ? '30m' : '300ms']);
    const request = `GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/${PROJECT}/servers/${action.serverId}/os-instance-actions/${action.requestId} → ${c.says}`;
    if (c.givesUp) {
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`^ecs-action-watch wait: ${c.givesUp.says}: last poll failed: ${request} \\(${escaped(c.givesUp.fix)}${fixedIn(c.givesUp)}\\)\n$`));
    } else {
      expect(r.code).toBe(3);
      // At --timeout, from the last poll's error: the poll due then failed, or did not come back within twice
      // cloud.timeout (no answer), or the engine's own deadline came first.
      expect(r.stdout).toMatch(new RegExp(`^timeout: not known to have finished within 300 ms: (the poll due then failed: |no poll could read it for the last [^;]+ past the deadline; last poll failed: )${request}(; the poll due then had no answer within \\d+ s \\(twice cloud\\.timeout\\))?\n$`));
      // What each pass before the deadline saw, said as it came (none when the first came back after it).
      expect(r.stderr).toMatch(new RegExp(`^(ecs-action-watch wait: last poll failed: ${request} · \\ds\n)*$`));
    }
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('wait ends at --timeout with status 3 when the endpoint takes connections and never answers, and writes nothing after its result', async (context) => {
    const h = await harness(context);
    const action = quickAction({ neverFinishes: true });
    const endpoint = await silentEndpoint(context);
    const started = performance.now();
    // cloud.timeout 500 ms: the poll due at --timeout has until a second past it.
    const r = await h.cli(['wait', '--config', await h.writeConfig(h.yaml([], { endpoint, cloudTimeout: NO_ANSWER_TIMEOUT })), '--server', action.serverId, '--request', action.requestId, '--timeout', '1s']);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r).toMatchObject({
      code: 3,
      stdout: 'timeout: not known to have finished within 1 s: no answer from the cloud yet; the poll due then had no answer within 1 s (twice cloud.timeout)\n',
    });
    // The pass that closing cut short is no news: it said "stopping" as where the action was, after the result.
    expect(r.stderr).toMatch(/^(ecs-action-watch wait: last poll failed: GET \S+ → timed out: .* · \ds\n)*$/);
  });

  it('check ends by itself with status 1 when the endpoint takes connections and never answers, naming the request that timed out', async (context) => {
    const h = await harness(context);
    const action = quickAction({ neverFinishes: true });
    const endpoint = await silentEndpoint(context);
    const started = performance.now();
    // The version document is asked three times (a discovery round), each given cloud.timeout; the poll then fails at once.
    const r = await h.cli(['check', '--json', '--config', await h.writeConfig(h.yaml([action], { endpoint, poll: NO_RETRIES, cloudTimeout: NO_ANSWER_TIMEOUT }))]);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ code: 1, stderr: '' });
    expect((JSON.parse(r.stdout) as CheckRow[])[0]!.lastError).toMatch(/^last poll failed: GET http:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → timed out: no complete answer within 500 ms$/);
  });

  it('wait exits 2 at once on a 401 to the token that worked until then, saying to check cloud.auth', async (context) => {
    const h = await harness(context);
    const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 5000, taskState: 'rebooting' }] });
    h.simulator.addAction(action);
    const stderr = new Capture();
    const waiting = h.cli(['wait', '--config', await h.writeConfig(h.yaml([])), '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'], { stderr });
    await vi.waitUntil(() => stderr.text.includes('compute_reboot_instance running'), { timeout: 10_000, interval: 10 });
    h.simulator.setToken('tok-rotated');
    const r = await waiting;
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(new RegExp(
      `\necs-action-watch wait: ${REFUSED.says}: last poll failed: GET http://127\\.0\\.0\\.1:\\d+/v2\\.1/${PROJECT}/servers/${action.serverId}/os-instance-actions/${action.requestId} → 401 Unauthorized: .* \\(check cloud\\.auth in /.*watch\\.yaml\\)\n$`,
    ));
  });

  it('wait gets a new token when the one in hand is revoked, and waits on to the outcome', async (context) => {
    const h = await harness(context);
    const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 1500, taskState: 'rebooting' }] });
    h.simulator.addAction(action);
    const stderr = new Capture();
    const path = await h.writeConfig(h.yaml([], { auth: passwordAuth(h.simulator.identityUrl) }));
    const waiting = h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '30m'], { stderr });
    await vi.waitUntil(() => stderr.text.includes('compute_reboot_instance running'), { timeout: 10_000, interval: 10 });
    h.simulator.revokeTokens();
    const r = await waiting;
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: reboot: 1 event succeeded/) });
    expect(h.simulator.issuedTokens).toHaveLength(2);
    expect(stderr.text + h.logs.text).not.toContain(PASSWORD);
  });

  it('check names the self-signed certificate it refuses in the row, and exits 1', async (context) => {
    const h = await harness(context, { tls: selfSigned });
    const action = quickAction({ neverFinishes: true });
    h.simulator.addAction(action);
    const r = await h.cli(['check', '--json', '--config', await h.writeConfig(h.yaml([action], { poll: NO_RETRIES }))]);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as CheckRow[])[0]!.lastError).toMatch(/^last poll failed: GET https:\/\/127\.0\.0\.1:\d+\/v2\.1\/ → certificate refused: self-signed certificate.* \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
  });
});

describe.concurrent('check, where the cloud cannot be reached or the login is refused', () => {
  it('says under its table to name the CA of a certificate it refuses', async (context) => {
    const h = await harness(context, { tls: selfSigned });
    const action = { ...quickAction({ neverFinishes: true }), name: 'reboot web-01' };
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([action], { poll: NO_RETRIES }));
    const r = await h.cli(['check', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split('\n\n')[1]).toBe(
      `cannot reach the cloud for reboot web-01: an expired certificate is for its server to renew; any other: name the CA that signs it in cloud.tls.caFile, or check the host name of cloud.endpoint (or cloud.auth.identityEndpoint) in ${path}`,
    );
  });

  it('says under its table to check the host name DNS does not know, and cloud.auth for a password the identity service refuses', async (context) => {
    const h = await harness(context);
    const action = { ...quickAction({ neverFinishes: true }), name: 'reboot web-01' };
    h.simulator.addAction(action);
    const unknownHost = await h.writeConfig(h.yaml([action], { endpoint: 'https://nonexistent.invalid', poll: NO_RETRIES }));
    const dns = await h.cli(['check', '--config', unknownHost]);
    expect(dns.code).toBe(1);
    expect(dns.stdout.trimEnd().split('\n\n')[1]).toBe(`cannot reach the cloud for reboot web-01: check the host name of cloud.endpoint (or cloud.auth.identityEndpoint) in ${unknownHost}`);

    const login = await h.writeConfig(h.yaml([action], { auth: passwordAuth(h.simulator.identityUrl), poll: NO_RETRIES }));
    const refused = await h.cli(['check', '--config', login], { env: { OS_PASSWORD: 'not-the-password' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^reboot web-01\s.*\spoll failed\s.*cannot get a token for user 'svc-watch'.* → 401 /m);
    expect(refused.stdout.trimEnd().split('\n\n')[1]).toBe(`the cloud refused the request for reboot web-01: check cloud.auth in ${login}`);
  });
  it('says under its table and in the poll log that the token is scoped to another project than the watch\'s, not to check the ids and cloud.microversion', async (context) => {
    const h = await harness(context);
    const other = '0123456789abcdef0123456789abcdef';
    const action = { ...quickAction({ neverFinishes: true }), projectId: other, name: 'reboot web-01', extra: `    projectId: ${other}` };
    // The password login scopes the token by the project's name: nothing in the file says the watch's is another.
    const path = await h.writeConfig(h.yaml([action], { auth: passwordAuth(h.simulator.identityUrl), poll: NO_RETRIES }));
    const r = await h.cli(['check', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^reboot web-01\\s.*→ 400 badRequest: Malformed request URL: URL's project_id '${other}' doesn't match Context's project_id '${PROJECT}'`, 'm'));
    const fix = "the token is scoped to another project than the one the request names: scope cloud.auth to that project (its projectId or projectName), or watch the token's project (the watch's projectId, cloud.projectId)";
    expect(r.stdout.trimEnd().split('\n\n')[1]).toBe(`the cloud refused the request for reboot web-01: ${fix} in ${path}`);
    expect(h.logs.text).toContain(`"msg":"poll failed (${fix})"`);
  });

  // The request's project came from --project: told only of the watch's projectId and cloud.projectId in the
  // file, which the pipeline's job did not set wrong, its author looked for the fault where it was not.
  it('says, when wait --project names another project than the token\'s, that the project is --project\'s, not the file\'s', async (context) => {
    const h = await harness(context);
    const other = '0123456789abcdef0123456789abcdef';
    const action = { ...quickAction({ neverFinishes: true }), projectId: other };
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([], { auth: passwordAuth(h.simulator.identityUrl), poll: NO_RETRIES }));
    const r = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--project', other]);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(new RegExp(`^ecs-action-watch wait: the cloud refused the request: .*→ 400 badRequest: Malformed request URL: URL's project_id '${other}' doesn't match .* \\(the token is scoped to another project .* in ${path}; the project here is --project ${other}, not the file's\\)\n$`));
    // Without --project, the file's cloud.projectId is the project: nothing more to say.
    const own = await h.cli(['wait', '--config', await h.writeConfig(h.yaml([], { auth: passwordAuth(h.simulator.identityUrl), poll: NO_RETRIES }).replace(`projectId: ${PROJECT}`, `projectId: ${other}`)), '--server', action.serverId, '--request', action.requestId]);
    expect(own.code).toBe(2);
    expect(own.stderr).not.toContain('--project');
  });
});

const TOKENS = '/v3/auth/tokens';
const EXPIRES = '2099-01-01T00:00:00.000000Z';

/** The bad answers of POST {identityEndpoint}/auth/tokens (a password login). */
const TOKEN: BadAnswer[] = [
  { name: 'not JSON', bad: { fault: { kind: 'garbage', body: '{"token": {"expires_at": "20' } }, says: `200 invalid response: not JSON: ${escaped(JSON.stringify('{"token": {"expires_at": "20'))}` },
  { name: 'an empty body', bad: { fault: { kind: 'garbage', body: '' } }, says: '200 invalid response: not JSON: ""' },
  {
    name: 'no token (Keystone v2\'s document)',
    bad: { fault: { kind: 'garbage', body: '{"access": {"token": {"id": "x"}}}' } },
    says: '200 invalid response: unexpected document \\(token: Invalid input: expected object, received undefined\\): .*',
  },
  {
    name: 'a catalog that is no list',
    bad: { fault: { kind: 'garbage', body: `{"token": {"expires_at": "${EXPIRES}", "catalog": {}}}` } },
    says: '200 invalid response: unexpected document \\(token\\.catalog: Invalid input: expected array, received object\\): .*',
  },
  {
    name: 'a number where a string is',
    bad: { fault: { kind: 'garbage', body: '{"token": {"expires_at": 4102444800}}' } },
    says: '200 invalid response: unexpected document \\(token\\.expires_at: Invalid input: expected string, received number\\): .*',
  },
  { name: 'a document without its X-Subject-Token header', bad: { fault: { kind: 'garbage', body: `{"token": {"expires_at": "${EXPIRES}"}}` } }, says: '200 invalid response: no X-Subject-Token header' },
  { name: 'a body of 5 MB', bad: { fault: { kind: 'garbage', body: `{"token": {"expires_at": "${'x'.repeat(5 * 1024 * 1024)}"}}` } }, says: '200 invalid response: body larger than 4194304 bytes' },
  ...EITHER,
  // The gateway in front of IAM judges no password: not the credentials' advice (cloud.auth), whatever the status.
  { name: 'a 403 in Huawei\'s words (APIGW.0302)', bad: { fault: { kind: 'gateway-forbidden' } }, says: '403 APIGW\\.0302: The IAM user is not authorized to access the API', givesUp: LOGIN_GATEWAY },
  { name: 'a 400 of the API gateway (APIGW.0201)', bad: { fault: { kind: 'gateway-bad-request' } }, says: '400 APIGW\\.0201: API request error', givesUp: LOGIN_GATEWAY },
  gatewayCode(403, 'APIGW.0401', 'Unknown client IP address', GATEWAY_FAULT),
];

describe.concurrent('the token request answered badly', () => {
  it.for(TOKEN)('check says $name in the row, naming the login; wait exits 2 at once where no waiting mends it, else 3 at --timeout', async (c, context) => {
    const h = await harness(context);
    const action = quickAction({ neverFinishes: true });
    h.simulator.addAction(action);
    const front = await badCloud(context, h, new Map([[TOKENS, c.bad]]));
    // A fixed microversion: no version document to ask for (with its own retries) before the poll's read.
    const path = await h.writeConfig(fileFor(c, h, [action], { auth: passwordAuth(`${front}/v3`), poll: NO_RETRIES, cloud: '  microversion: "2.60"' }));
    const login = `cannot get a token for user 'svc-watch' of domain 'Default': POST http://127\\.0\\.0\\.1:\\d+/v3/auth/tokens\\?nocatalog=true → ${c.says}`;

    const check = await h.cli(['check', '--json', '--config', path]);
    expect(check.code).toBe(1);
    expect((JSON.parse(check.stdout) as CheckRow[])[0]!.lastError).toMatch(new RegExp(`^last poll failed: ${login}$`));
    // The poll's log line says what to mend as check and wait do.
    if (c.givesUp && c.givesUp !== ELSEWHERE) expect(h.logs.text).toContain(`"msg":"poll failed (${c.givesUp.logged ?? c.givesUp.fix})"`);

    const started = performance.now();
    const r = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', c.givesUp ? '30m' : '300ms']);
    if (c.givesUp) {
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`^ecs-action-watch wait: ${c.givesUp.says}: last poll failed: ${login} \\(${escaped(c.givesUp.fix)}${fixedIn(c.givesUp)}\\)\n$`));
    } else {
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(new RegExp(`^timeout: not known to have finished within 300 ms: (the poll due then failed: |no poll could read it for the last [^;]+ past the deadline; last poll failed: )${login}(; the poll due then had no answer within \\d+ s \\(twice cloud\\.timeout\\))?\n$`));
      expect(r.stderr).toMatch(new RegExp(`^(ecs-action-watch wait: last poll failed: ${login} · \\ds\n)*$`));
    }
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(check.stdout + r.stderr + r.stdout + h.logs.text).not.toContain(PASSWORD);
  });

  it('the microversion\'s discovery says of a login the gateway answers itself what check and wait say, not that the credentials were refused', async (context) => {
    const h = await harness(context);
    const action = quickAction({ neverFinishes: true });
    h.simulator.addAction(action);
    const front = await badCloud(context, h, new Map([[TOKENS, { fault: { kind: 'gateway-bad-request' } }]]));
    const check = await h.cli(['check', '--config', await h.writeConfig(h.yaml([action], { auth: passwordAuth(`${front}/v3`), poll: NO_RETRIES }))]);
    expect(check.code).toBe(1);
    const discovery = h.logs.lines().filter((l) => String(l['msg']).startsWith('compute microversion discovery failed'));
    expect(discovery.map((l) => l['msg'])).toEqual([`compute microversion discovery failed; no request goes out without a version header until it succeeds (${LOGIN_GATEWAY.fix})`]);
  });

  it('wait exits 2 at once for an identity service whose certificate is self-signed, naming cloud.tls.caFile', async (context) => {
    const h = await harness(context, { tls: selfSigned });
    const action = quickAction({ neverFinishes: true });
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([], { auth: passwordAuth(h.simulator.identityUrl), poll: NO_RETRIES }));
    const r = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '30m']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(
      /^ecs-action-watch wait: cannot reach the cloud: last poll failed: cannot get a token for user 'svc-watch' of domain 'Default': POST https:\/\/127\.0\.0\.1:\d+\/v3\/auth\/tokens\?nocatalog=true → certificate refused: self-signed certificate.* \(DEPTH_ZERO_SELF_SIGNED_CERT\) \(.*name the CA that signs it in cloud\.tls\.caFile, or check the host name of cloud\.endpoint \(or cloud\.auth\.identityEndpoint\) in \/.*watch\.yaml\)\n$/,
    );
  });
});

/** An SMTP refusal as smtp-server takes it from a handler. */
const smtpError = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

/**
 * A real SMTP server on loopback (smtp-server) that says no by address: it refuses the sender
 * stranger@example.com (553), the recipient nobody@ (550) and, for now, grey@ (450, greylisting); after the
 * message it puts off one to later@ (451), and it drops the connection in the middle of one to cut@.
 */
async function refusingMailServer({ onTestFinished }: TestContext): Promise<number> {
  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    onMailFrom: (address, _session, callback) =>
      callback(address.address === 'stranger@example.com' ? smtpError(553, '5.7.1 <stranger@example.com>: Sender address rejected: not owned by user ops') : null),
    onRcptTo: (address, _session, callback) =>
      callback(
        address.address.startsWith('nobody@') ? smtpError(550, '5.1.1 <nobody@example.com>: Recipient address rejected: User unknown')
        : address.address.startsWith('grey@') ? smtpError(450, '4.7.1 <grey@example.com>: Recipient address rejected: Greylisted, try again in 300 seconds')
        : null,
      ),
    onData: (stream, session, callback) => {
      const to = session.envelope.rcptTo.map((r) => r.address);
      if (to.includes('cut@example.com')) {
        stream.once('data', () => {
          for (const connection of server.connections) if (connection.id === session.id) connection._socket.destroy();
        });
        return;
      }
      stream.resume();
      stream.once('end', () => callback(to.includes('later@example.com') ? smtpError(451, '4.3.0 Please try again later') : null));
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.server.address() as AddressInfo).port;
}

/** A webhook receiver on loopback that answers by path: 500 to /broken, 503 to /unavailable, 204 after 300 ms to /slow, 302 to /moved, none to /never. */
async function refusingReceiver({ onTestFinished }: TestContext): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    switch (req.url) {
      case '/broken': return void res.writeHead(500).end();
      case '/unavailable': return void res.writeHead(503, { 'retry-after': '120', 'content-type': 'text/plain' }).end('down for maintenance');
      case '/slow': return void setTimeout(() => res.writeHead(204).end(), 300);
      case '/moved': return void res.writeHead(302, { location: 'https://hooks.other.example/ecs?token=abc' }).end();
      default: // never answered
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('notify-test against receivers that say no', () => {
  it('shows each one\'s answer in its row and exits 1, within the receivers\' timeouts', async (context) => {
    const h = await harness(context);
    const [smtp, down, hooks] = await Promise.all([refusingMailServer(context), closedPort(), refusingReceiver(context)]);
    // 10 s for the receivers in this process, which a loaded machine leaves waiting; 1 s for the one that never answers.
    const webhook = (name: string, path: string, timeout = '10s') => [`  ${name}:`, '    type: webhook', `    url: ${hooks}${path}`, `    timeout: ${timeout}`];
    const email = (name: string, from: string, to: string, port = smtp) =>
      [`  ${name}:`, '    type: email', `    smtp: { host: 127.0.0.1, port: ${port}, timeout: 10s }`, `    from: ${from}`, `    to: [${to}]`];
    const notifiers = [
      webhook('hook-500', '/broken'),
      webhook('hook-503', '/unavailable'),
      webhook('hook-slow', '/slow'),
      webhook('hook-never', '/never', '1s'),
      webhook('hook-redirect', '/moved'),
      email('mail-sender', 'stranger@example.com', 'ops@example.com'),
      email('mail-nobody', 'ecs-watch@example.com', 'nobody@example.com'),
      email('mail-grey', 'ecs-watch@example.com', 'grey@example.com'),
      email('mail-later', 'ecs-watch@example.com', 'later@example.com'),
      email('mail-cut', 'ecs-watch@example.com', 'cut@example.com'),
      email('mail-down', 'ecs-watch@example.com', 'ops@example.com', down),
    ].flat().join('\n');
    const started = performance.now();
    const r = await h.cli(['notify-test', '--config', await h.writeConfig(h.yaml([], { notifiers }))]);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const hook = 'POST http://127\\.0\\.0\\.1:\\d+';
    const server = '127\\.0\\.0\\.1:\\d+';
    const rows = [
      ['hook-500', 'webhook', 'failed', `${hook}/broken answered 500 Internal Server Error`],
      ['hook-503', 'webhook', 'failed', `${hook}/unavailable answered 503 Service Unavailable: down for maintenance`],
      ['hook-slow', 'webhook', 'delivered', '204 No Content'],
      ['hook-never', 'webhook', 'failed', `${hook}/never timed out: no answer from ${server} within 1000 ms`],
      ['hook-redirect', 'webhook', 'failed', `${hook}/moved answered 302 Found \\(a redirect to https://hooks\\.other\\.example/ecs\\?…, not followed: if that is the receiver meant, put its URL in notifiers\\.hook-redirect\\.url\\)`],
      ['mail-sender', 'email', 'failed', `${server} answered 553 5\\.7\\.1 <stranger@example\\.com>: Sender address rejected: not owned by user ops \\(MAIL FROM\\)`],
      ['mail-nobody', 'email', 'failed', `${server} answered 550 5\\.1\\.1 <nobody@example\\.com>: Recipient address rejected: User unknown \\(RCPT TO\\)`],
      ['mail-grey', 'email', 'failed', `${server} answered 450 4\\.7\\.1 <grey@example\\.com>: Recipient address rejected: Greylisted, try again in 300 seconds \\(RCPT TO\\)`],
      ['mail-later', 'email', 'failed', `${server} answered 451 4\\.3\\.0 Please try again later \\(DATA\\)`],
      ['mail-cut', 'email', 'failed', `connection to ${server} closed unexpectedly`],
      ['mail-down', 'email', 'failed', `connection refused by ${server}`],
    ];
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NOTIFIER\s+TYPE\s+RESULT\s+ANSWER$/);
    expect(lines).toHaveLength(rows.length + 1);
    for (const [i, [name, type, result, answer]] of rows.entries()) {
      expect(lines[i + 1], name).toMatch(new RegExp(`^${name}\\s+${type}\\s+${result}\\s+${answer}$`));
    }
  });
});
