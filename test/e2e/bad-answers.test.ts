// `check` and `wait` against a cloud that answers badly: a document that is not one, an answer cut short, a
// page of something in front of the API, a refusal in Huawei's words, a connection that is reset or never
// answered, for the instance action and for the token request. Each says which request and what came, and
// ends with the status the contract gives it: check 1 (a poll failed); wait 2 at once for what no waiting
// mends, 3 at --timeout for what may pass.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, type TestContext } from 'vitest';
import { Harness, PROJECT, quickAction } from './harness.ts';

const PASSWORD = 'pw-SECRET-3b9a0c';

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
    onward.on('error', () => res.destroy());
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
