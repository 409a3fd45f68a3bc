import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify, stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { parseConfig } from '../../src/config/load.ts';
import { startMailSink, type MailSink } from '../../src/sinks/mailSink.ts';
import { Capture, Harness, PROJECT, SECRETS, WEBHOOK_SECRET, itWithHarness as it, newIds, oneCharacterOff, quickAction } from './harness.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { eventually } from '../eventually.ts';

describe('--help, -h and --version', () => {
  it('shows each command its options and exit statuses, on stdout, with status 0', async ({ h }) => {
    for (const args of [['wait', '--help'], ['wait', '-h'], ['help', 'wait'], ['wait', '--server', 'x', '-h']]) {
      const r = await h.cli(args);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toContain('usage: ecs-action-watch wait (--server ID --request ID | --job ID)');
      expect(r.stdout).toMatch(/--timeout D\s+give up as timeout after this long/);
      expect(r.stdout).toContain('exit status: 0 success; 1 failure; 3 timeout; 4 not found; 2 usage or config error');
      // What wait logs unless asked for more: its progress line says the rest.
      expect(r.stdout).toContain('(logs go to stderr; LOG_LEVEL=trace|debug|info|warn|error sets how much, default error)');
    }
    expect((await h.cli(['validate', '-h'])).stdout).toContain('-c, --config FILE');
    expect((await h.cli(['validate', '-h'])).stdout).toContain('(logs go to stderr; LOG_LEVEL=trace|debug|info|warn|error sets how much, default warn)');
    // `warning: no notifiers: ...` has no line: the help says so, as the README does.
    expect((await h.cli(['validate', '-h'])).stdout).toContain('of the environment or the file as a whole as warning: <message>');
    expect((await h.cli(['run', '-h'])).stdout).toContain('(logs go to stdout; LOG_LEVEL=trace|debug|info|warn|error sets how much, default info)');
    // As the README's table says: a state file to fix by hand is 2, as an invalid file is.
    expect((await h.cli(['run', '-h'])).stdout).toContain('2 the file is invalid at start, a credential file it names cannot be read, or the state file must be fixed first; 1 any other failure');
  });

  it('prints the version', async ({ h }) => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await h.cli([flag]);
      expect(r).toMatchObject({ code: 0, stdout: `ecs-action-watch ${version} (Node.js ${process.versions.node})\n` });
    }
  });

  it('lists every command in the general help', async ({ h }) => {
    const r = await h.cli(['--help']);
    for (const name of ['run', 'validate', 'check', 'wait', 'notify-test', 'add', 'remove', 'demo', 'simulator']) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('offers no --config to the commands that read no watch file', async ({ h }) => {
    for (const name of ['demo', 'simulator']) expect((await h.cli([name, '--help'])).stdout).not.toContain('--config');
    const r = await h.cli(['demo', '--config', 'watch.yaml']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/^ecs-action-watch demo: unknown option '--config'\n/);
  });

  it('without a command prints the general help on stderr, with the status of a usage error', async ({ h }) => {
    const help = await h.cli(['--help']);
    expect(await h.cli([])).toEqual({ code: 2, stdout: '', stderr: help.stdout });
  });
});

// Side by side, each with a harness of its own: most of their time is spent waiting on the schedule, on
// --timeout and on retries.
describe.concurrent('wait', () => {
  async function wait(h: Harness, script: ReturnType<typeof quickAction>, ...extra: string[]) {
    h.simulator.addAction(script);
    const path = await h.writeConfig(h.yaml([]));
    return h.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId, ...extra]);
  }

  /** A reboot that the first pass finds running, however slowly `wait` starts beside the other tests. */
  const seenRunning = () => quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 1000, taskState: 'rebooting' }] });

  it('exits 0 on success and prints the verdict on stdout', async () => {
    // The simulator's clock stands still until wait has said where the action is: however late its first
    // poll comes on a busy machine, it finds the action running.
    const frozenAt = Date.now();
    let frozen = true;
    const own = await Harness.start({ now: () => (frozen ? frozenAt : Date.now()) });
    try {
      const script = quickAction();
      own.simulator.addAction(script);
      const path = await own.writeConfig(own.yaml([]));
      const stderr = new Capture();
      const running = own.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId], { stderr });
      const found = /^ecs-action-watch wait: reboot: 0\/1 events done, compute_reboot_instance running · \d+s$/m;
      await eventually(() => expect(stderr.text).toMatch(found), { timeout: 10_000, interval: 20 });
      frozen = false;
      const r = await running;
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^success: reboot: 1 event succeeded in [\d.]+ m?s, server ACTIVE\n$/);
      // Not a terminal: where the action was, in lines of their own.
      expect(r.stderr).toMatch(/^(ecs-action-watch wait: .* · \d+s\n)+$/);
    } finally {
      await own.close();
    }
  });

  it('exits 1 on failure, with --json the webhook body as one line', async ({ h }) => {
    const script = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 300, result: 'Error' }] });
    const r = await wait(h, script, '--json');
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      type: 'ecs.action.failed',
      outcome: 'failure',
      watch: { projectId: PROJECT, serverId: script.serverId, requestId: script.requestId },
      instanceAction: { action: 'reboot' },
      reason: expect.stringContaining('compute_reboot_instance Error'),
    });
  });

  it('prints the cloud\'s words in its verdict without the escape sequences that would rewrite the terminal', async ({ h }) => {
    const r = await wait(h, quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 300, result: 'Error' }], fault: { code: 500, message: '\x1b[2J\x1b[31mdisk\rgone\x07' } }));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^failure: reboot failed: .*disk gone/);
    // No control character but the line break that ends it.
    expect(r.stdout.slice(0, -1)).not.toMatch(/\p{Cc}/u);
  });

  it('exits 3 when the action outlasts --timeout, and keeps out of the daemon\'s state file', async ({ h }) => {
    const r = await wait(h, quickAction({ neverFinishes: true }), '--timeout', '2s');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^timeout: not finished 2 s after tracking began: reboot: compute_reboot_instance running/);
    await expect(stat(join(h.dir, 'state', 'state.json'))).rejects.toThrow(/ENOENT/);
  });

  it('exits 3 when --timeout runs out, not at the schedule\'s next tick an hour later', async ({ h }) => {
    const script = quickAction({ neverFinishes: true });
    h.simulator.addAction(script);
    const path = await h.writeConfig(h.yaml([], { poll: '  schedule: "0 0 * * * *"' }));
    const stop = AbortSignal.timeout(10_000);
    const r = await h.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId, '--timeout', '1s'], { signal: stop });
    expect(stop.aborted).toBe(false);
    expect(r.code).toBe(3);
    // The verdict of the pass due at --timeout, not one made up when no pass came.
    expect(r.stdout).toBe('timeout: not finished 1 s after tracking began: reboot: compute_reboot_instance running\n');
  });

  it('exits 3 for a --timeout already over at the first answer, without a warning from Node on stderr', async ({ h }) => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const r = await wait(h, quickAction({ neverFinishes: true }), '--timeout', '1ms');
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/^timeout: not finished 1 ms after tracking began/);
      // Node reports it on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).not.toContain('TimeoutNegativeWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('needs none of the variables of the sections it does not use (notifier secrets, the state path, the watches)', async ({ h }) => {
    const script = seenRunning();
    h.simulator.addAction(script);
    const yaml = h.yaml([{ ...newIds(), name: '${DAEMON_ONLY_NAME}' }]).replace(/^ {2}path: .*$/m, '  path: ${STATE_DIR}/state.json');
    const path = await h.writeConfig(yaml);
    // A pipeline's job has the cloud's credentials, not the daemon's notifier secrets.
    const env = { SMTP_PASSWORD: undefined, WEBHOOK_SECRET: undefined };
    const r = await h.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId], { env });
    // Nothing but where the action was, if a poll found it running (or failed, on a busy machine).
    expect(r.stderr).toMatch(/^(ecs-action-watch wait: .*\n)*$/);
    expect(r.stderr).not.toMatch(/SMTP_PASSWORD|WEBHOOK_SECRET|DAEMON_ONLY_NAME|STATE_DIR/);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: /) });
    // What it does use is still checked, and said at its line.
    const noToken = await h.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId], { env: { ...env, ECS_AUTH_TOKEN: undefined } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^\d+:\d+ cloud\.auth\.token: environment variable ECS_AUTH_TOKEN is not set/);
    expect(noToken.stderr).not.toMatch(/SMTP_PASSWORD|WEBHOOK_SECRET|STATE_DIR|DAEMON_ONLY_NAME/);
  });

  it('exits 3 on time when the poll due at --timeout is held up by the cloud (a 429 with a long Retry-After)', async ({ h }) => {
    const script = quickAction({ neverFinishes: true });
    h.simulator.addAction(script);
    // cloud.timeout 500 ms: the bound below counts two requests' time past --timeout.
    const path = await h.writeConfig(h.yaml([], { cloudTimeout: '500ms' }));
    // The first read of the action is throttled for a minute: the pass that reads it waits that long.
    h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 60 }, { pathIncludes: script.requestId });
    const started = Date.now();
    const stop = AbortSignal.timeout(30_000);
    const r = await h.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId, '--timeout', '2s', '--json'], { signal: stop });
    expect(stop.aborted).toBe(false);
    expect(r.code).toBe(3);
    // --timeout, and two requests' time (cloud.timeout 500 ms) for the poll due then, with room for a
    // loaded machine: far short of the minute that Retry-After asks for.
    expect(Date.now() - started).toBeLessThan(2000 + 2 * 500 + 10_000);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'ecs.action.timed_out', outcome: 'timeout', reason: expect.stringMatching(/^not known to have finished within 2 s: /) });
      // A CI job's log is told of the pause at once, at wait's default log level: the job shows why it waits.
    expect(r.stderr).toMatch(/^ecs-action-watch wait: waiting for the first answer; the cloud throttles requests \(429, Retry-After 1m00s\): asking again in (\d+m)?\d+s · \d+s$/m);
  });

  it('exits 3 at --timeout when the poll due then fails, naming its error and saying that whether the action finished is not known, as the daemon does: unlike the daemon, it gives the cloud no more time', async ({ h }) => {
    const script = quickAction({ neverFinishes: true });
    h.simulator.addAction(script);
    // A cloud.timeout of ten minutes: the failed poll ends the wait, not the twenty minutes a poll held up would get.
    const path = await h.writeConfig(h.yaml([], { poll: '  schedule: "* * * * * *"\n  retries: 0', cloudTimeout: '10m' }));
    h.simulator.injectFault({ kind: 'unavailable' }, { pathIncludes: script.requestId, times: 1000 });
    const stop = AbortSignal.timeout(20_000);
    const r = await h.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId, '--timeout', '2s'], { signal: stop });
    expect(stop.aborted).toBe(false);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^timeout: not known to have finished within 2 s: the poll due then failed: GET \S+ → 503 serviceUnavailable/);
  });

  it('exits 2 when the cloud refuses the credentials, without waiting for the deadline', async ({ h }) => {
    h.simulator.setToken('another-token');
    const r = await wait(h, quickAction());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ecs-action-watch wait: the cloud refused the request: .*401.*\(check cloud\.auth in /);
    for (const secret of SECRETS) expect(r.stderr + h.logs.text).not.toContain(secret);
  });

  it('exits 2 at once for a 404 that is not the API\'s (a wrong endpoint behind a gateway), saying what to check', async ({ h }) => {
    const action = quickAction();
    h.simulator.injectFault({ kind: 'gateway-not-found' }, { pathIncludes: action.requestId, times: 1000 });
    const r = await wait(h, action);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ecs-action-watch wait: the cloud refused the request: .*404.*APIGW\.0101.*\(check cloud\.endpoint and cloud\.projectId \(or cloud\.auth\.identityEndpoint, if the 404 is for the token request\), or set a fixed cloud\.microversion if the 404 is for the version document \/v2\.1\/ in /);
  });

  it('exits 2 at once for an HTML page refusing the request, naming what stands in front of the API rather than cloud.auth', async ({ h }) => {
    const action = quickAction();
    h.simulator.injectFault({ kind: 'firewall-refused' }, { pathIncludes: action.requestId, times: 1000 });
    const r = await wait(h, action);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ecs-action-watch wait: something in front of the cloud refused the request: .*403 Forbidden: an HTML page \("Access Denied"\).*\(an HTML page, not the API's answer: check with whoever runs the firewall, gateway or proxy in front of cloud\.endpoint/);
    expect(r.stderr).not.toContain('check cloud.auth');
  });

  it('waits on through a gateway\'s 404 once the API has answered for the action (a blip, not a wrong endpoint)', async ({ h }) => {
    const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 2500, taskState: 'rebooting' }] });
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([]));
    const waiting = h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId]);
    const until = Date.now() + 5000;
    while (!h.simulator.requests.some((r) => r.path.includes(action.requestId)) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    h.simulator.injectFault({ kind: 'gateway-not-found' }, { pathIncludes: action.requestId });
    const r = await waiting;
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: /) });
    expect(h.simulator.pendingFaults).toBe(0);
  });

  it('waits through a --timeout whose bound (twice a long cloud.timeout past it) is past what a timer holds', async ({ h }) => {
    const action = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 60_000, taskState: 'rebooting' }] });
    h.simulator.addAction(action);
    const path = await h.writeConfig(h.yaml([], { cloudTimeout: '11h' }));
    const stop = new AbortController();
    setTimeout(() => stop.abort('SIGINT'), 1500);
    const r = await h.cli(['wait', '--config', path, '--server', action.serverId, '--request', action.requestId, '--timeout', '24d'], { signal: stop.signal });
    // Still waiting when interrupted: not a timeout at once.
    expect(r).toMatchObject({ code: 130, stdout: '' });
  });

  it('waits in the project --project names, and without a project anywhere says so as a usage error', async ({ h }) => {
    const script = quickAction({ projectId: 'another-project' });
    h.simulator.addAction(script);
    const ids = ['--server', script.serverId, '--request', script.requestId, '--timeout', '5s'];
    const path = await h.writeConfig(h.yaml([]));
    const r = await h.cli(['wait', '--config', path, ...ids, '--project', 'another-project']);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^success: reboot: 1 event succeeded/) as string });
    const none = await h.cli(['wait', '--config', await h.writeConfig(h.yaml([]).replace(`  projectId: ${PROJECT}\n`, '')), ...ids]);
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr).toMatch(new RegExp(`^ecs-action-watch wait: no project: give --project ID, or set cloud\\.projectId \\(or cloud\\.auth\\.projectId\\) in ${path}\nusage: ecs-action-watch wait `));
  });

  it('exits 2 on a usage or config error, naming the option', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    const missing = await h.cli(['wait', '--config', path, '--server', 's1']);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toMatch(/^ecs-action-watch wait: --request \(with --server\) or --job is required\nusage: ecs-action-watch wait /);
    const noServer = await h.cli(['wait', '--config', path, '--request', 'req-1']);
    expect(noServer).toMatchObject({ code: 2, stderr: expect.stringContaining('--server is required with --request') as string });
    // Given empty, as `--server "$SERVER"` with the variable unset gives it: said so.
    const empty = await h.cli(['wait', '--config', path, '--server', '', '--request', 'req-1']);
    expect(empty).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ecs-action-watch wait: --server is empty with --request\n/) as string });
    const emptyJob = await h.cli(['wait', '--config', path, '--job', '']);
    expect(emptyJob).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ecs-action-watch wait: --job is empty: give a job id, or --server and --request for an action\n/) as string });
    const emptyRequest = await h.cli(['wait', '--config', path, '--server', 's1', '--request', ' ']);
    expect(emptyRequest).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ecs-action-watch wait: --request is empty: give a request id, or --job for a job\n/) as string });
    const both = await h.cli(['wait', '--config', path, '--server', 's1', '--request', 'req-1', '--job', 'j1']);
    expect(both).toMatchObject({ code: 2, stderr: expect.stringContaining('--job names a job, --server and --request an action: give one or the other') as string });
    const bad = await h.cli(['wait', '--config', path, '--server', 's1', '--request', 'req 1', '--timeout', '10']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--request: expected a request id: letters, digits and -, e.g. req-5a429946-c9cc-45cc-b5bd-68864209e5cc; 'req 1' has a space at character 4; --timeout: '10' has no unit");
    const garbled = await h.cli(['wait', '--config', path, '--server', 's1', '--request', 'req-1', '--timeout', '1h-30m']);
    expect(garbled).toMatchObject({ code: 2, stderr: expect.stringContaining("--timeout: '1h-30m' is not a duration ('-30m' after 1h is not a number and a unit): write ") as string });
    // As add refuses it: a pasted line break would poll another project until --timeout, or two minutes to not_found.
    const twoLines = await h.cli(['wait', '--config', path, '--server', 's1', '--request', 'req-1', '--project', 'p1\n', '--timeout', '1s']);
    expect(twoLines).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ecs-action-watch wait: --project: must be one line\n/) as string });
    const invalid = await h.cli(['wait', '--config', await h.writeConfig('cloud: {}\n'), '--server', 's1', '--request', 'req-1']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^1:8 cloud\.endpoint: required/);
  });
});

describe.concurrent('wait, timed out before the API ever showed the action', () => {
  it('keeps the hint of its progress line in its result: the id most likely meant', async ({ h }) => {
    const known = quickAction();
    h.simulator.addAction(known);
    // No pass after the first before --timeout: the hint is shown when it comes, not at a pass that never does.
    const path = await h.writeConfig(h.yaml([], { poll: '  schedule: "0 0 * * * *"' }));
    const r = await h.cli(['wait', '--config', path, '--server', known.serverId, '--request', oneCharacterOff(known.requestId), '--timeout', '2s']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`^timeout: not finished 2 s after tracking began: not visible yet \\(404: .*\\); did you mean reboot ${known.requestId} \\(started `));
    expect(r.stderr).toMatch(new RegExp(`^ecs-action-watch wait: not visible yet \\(404: .*\\); did you mean reboot ${known.requestId} \\(started \\S+\\)\\? · \\ds$`, 'm'));
  });

  it("says a server id that is no UUID is most likely the server's name", async ({ h }) => {
    const known = quickAction();
    h.simulator.addAction(known);
    const path = await h.writeConfig(h.yaml([], { poll: '  schedule: "0 0 * * * *"' }));
    const r = await h.cli(['wait', '--config', path, '--server', 'web-01', '--request', known.requestId, '--timeout', '2s']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^timeout: .*\(404: .*\); web-01 is no server id \(Nova's and Huawei's are UUIDs\): if it is the server's name, `openstack server show web-01 -f value -c id` gives its id/);
  });
});

// Not beside other tests: it moves Date.now for the whole process.
describe('wait, the clock moved', () => {
  it('exits 4 when the API does not know the action for two minutes, naming the server\'s action one character off', async ({ h }) => {
    const known = quickAction();
    h.simulator.addAction(known);
    const ids = { serverId: known.serverId, requestId: oneCharacterOff(known.requestId) };
    const path = await h.writeConfig(h.yaml([]));
    // The not-found window is two minutes of the action's 404s: the clocks are moved, not waited for. Both,
    // as time passing moves them: this host's clock moved alone is a clock set, which moves nothing on.
    const clock = { offset: 0 };
    const realNow = Date.now.bind(Date);
    const realMonotonic = performance.now.bind(performance);
    Date.now = () => realNow() + clock.offset;
    performance.now = () => realMonotonic() + clock.offset;
    try {
      let settled = false;
      const running = h.cli(['wait', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--json']).finally(() => {
        settled = true;
      });
      // The simulator counts a 404 once it is sent, which may be before `wait` has read it: each 404 moves the
      // clock on by more than the window, so that the first one `wait` records is followed by enough time.
      let seen = 0;
      while (!settled) {
        const answered = h.simulator.requests.filter((r) => r.status === 404).length;
        if (answered > seen) clock.offset += 3 * 60_000;
        seen = answered;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const r = await running;
      expect(r.code).toBe(4);
      const body = JSON.parse(r.stdout) as { reason: string };
      expect(body).toMatchObject({ type: 'ecs.action.not_found', outcome: 'not_found', instanceAction: null });
      expect(body.reason).toContain(`Action ${ids.requestId} not found; did you mean reboot ${known.requestId} (started `);
      // The job's log had it while it waited.
      expect(r.stderr).toMatch(new RegExp(`^ecs-action-watch wait: not visible yet \\(404: Action ${ids.requestId} not found\\); did you mean reboot ${known.requestId} `, 'm'));
    } finally {
      Date.now = realNow;
      performance.now = realMonotonic;
    }
  });
});

describe('notify-test', () => {
  it('sends a signed ecs.watch.test to every notifier and prints each answer', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    const r = await h.cli(['notify-test', '--config', path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^NOTIFIER\s+TYPE\s+RESULT\s+ANSWER\nchat\s+webhook\s+delivered\s+204 No Content\nops-mail\s+email\s+delivered\s+250 /);
    expect(h.hooks.received).toHaveLength(1);
    const hook = h.hooks.received[0]!;
    expect(new Webhook(WEBHOOK_SECRET).verify(hook.raw, hook.headers as Record<string, string>)).toMatchObject({ type: 'ecs.watch.test', outcome: null });
    expect(h.mail.received.map((m) => m.subject)).toEqual(['[ecs-action-watch] test notification: notify-test']);
  });

  it('reports a 404 with the receiver\'s own words, and exits 1', async ({ h }) => {
    h.hooks.failNext(404);
    const path = await h.writeConfig(h.yaml([]));
    const r = await h.cli(['notify-test', '--config', path, '--notifier', 'chat']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^chat\s+webhook\s+failed\s+POST http:\/\/127\.0\.0\.1:\d+\/hooks\/ecs answered 404 Not Found$/m);
    expect(h.mail.received).toHaveLength(0);
  });

  it('prints a receiver\'s answer without the escape sequences that would rewrite the terminal', async ({ h }) => {
    const hostile = createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('\x1b[2J\x1b[31mbad\rrequest\x07\x1b]0;owned\x07');
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/hook`;
      const path = await h.writeConfig(h.yaml([], { notifiers: `  chat:\n    type: webhook\n    url: ${url}` }));
      const r = await h.cli(['notify-test', '--config', path]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^chat\s+webhook\s+failed\s+POST http:\/\/127\.0\.0\.1:\d+\/hook answered 400 Bad Request: bad request/m);
      // No control character but the line breaks between rows.
      expect(r.stdout.replaceAll('\n', '')).not.toMatch(/\p{Cc}/u);
    } finally {
      hostile.close();
    }
  });

  it("hides a header's value that a variable named as a secret gave when the receiver quotes it, whatever the header's name (Honeycomb's X-Honeycomb-Team)", async ({ h }) => {
    const key = 'hcaik_01j9x7k2m4p6q8r0t2v4w6y8z0';
    const quoting = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(`unknown API key ${String(req.headers['x-honeycomb-team'])} for team infra`);
    });
    await new Promise<void>((resolve) => quoting.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(quoting.address() as AddressInfo).port}/1/events/ecs`;
      const notifiers = ['  chat:', '    type: webhook', `    url: ${url}`, '    headers: { X-Honeycomb-Team: "${HONEYCOMB_API_KEY}", X-Team: infra }'].join('\n');
      const r = await h.cli(['notify-test', '--config', await h.writeConfig(h.yaml([], { notifiers }))], { env: { HONEYCOMB_API_KEY: key } });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^chat\s+webhook\s+failed\s+POST http:\/\/127\.0\.0\.1:\d+\/… answered 401 Unauthorized: unknown API key <hidden> for team infra$/m);
      expect(r.stdout + r.stderr + h.logs.text).not.toContain(key.slice(0, 8));
    } finally {
      quoting.close();
    }
  });

  describe('against a mail server that says no', () => {
    let strict: MailSink;
    afterEach(async () => {
      await strict.close();
    });

    it('shows a refused login and an unknown recipient as failures with the server\'s reply', async ({ h }) => {
      strict = await startMailSink({
        smtp: {
          authOptional: false,
          allowInsecureAuth: true,
          onAuth: (auth, _session, callback) =>
            auth.username === 'ops' ? callback(null, { user: 'ops' }) : callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 })),
          onRcptTo: (address, _session, callback) =>
            callback(address.address.startsWith('nobody') ? Object.assign(new Error('5.1.1 <nobody@example.com>: Recipient address rejected: User unknown'), { responseCode: 550 }) : null),
        },
      });
      const mailer = (name: string, user: string, to: string) =>
        [`  ${name}:`, '    type: email', `    smtp: { host: 127.0.0.1, port: ${strict.port}, user: ${user}, password: "\${SMTP_PASSWORD}" }`, '    from: ecs-watch@example.com', `    to: [${to}]`].join('\n');
      const notifiers = [mailer('bad-login', 'intruder', 'ops@example.com'), mailer('bad-rcpt', 'ops', 'ops@example.com, nobody@example.com'), mailer('good', 'ops', 'ops@example.com')].join('\n');
      const path = await h.writeConfig(h.yaml([], { notifiers }));
      const r = await h.cli(['notify-test', '--config', path]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^bad-login\s+email\s+failed\s+127\.0\.0\.1:\d+ answered 535 5\.7\.8 Authentication credentials invalid \(AUTH PLAIN\)$/m);
      expect(r.stdout).toMatch(/^bad-rcpt\s+email\s+failed\s+250 .*; refused nobody@example\.com: 550 5\.1\.1 <nobody@example\.com>: Recipient address rejected: User unknown$/m);
      expect(r.stdout).toMatch(/^good\s+email\s+delivered\s+250 /m);
      for (const secret of SECRETS) expect(r.stdout + r.stderr + h.logs.text).not.toContain(secret);
    });
  });

  it('reports a receiver that is down', async ({ h }) => {
    const notifiers = ['  chat:', '    type: webhook', `    url: http://127.0.0.1:${await closedPort()}/hook`].join('\n');
    const r = await h.cli(['notify-test', '--config', await h.writeConfig(h.yaml([], { notifiers }))]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^chat\s+webhook\s+failed\s+POST http:\/\/127\.0\.0\.1:\d+\/hook failed: .*refused/m);
  });

  it('reports an invalid file at its line with status 1, delivering nothing', async ({ h }) => {
    const r = await h.cli(['notify-test', '--config', await h.writeConfig(h.yaml([]).replace('  minDelay: 20ms', '  minDelay: soon'))]);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^\d+:\d+ delivery\.minDelay: /m);
    expect(h.hooks.received).toEqual([]);
  });

  it('exits 1 for a file without notifiers, saying where to add one: nothing was delivered', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([], { notifiers: '' }));
    expect(await h.cli(['notify-test', '--config', path])).toEqual({ code: 1, stdout: '', stderr: `${path} has no notifiers: add one under notifiers: (see watch.example.yaml)\n` });
  });

  it('sends to the notifier asked for though another\'s variable is not set here, which the whole file needs', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    const all = await h.cli(['notify-test', '--config', path], { env: { WEBHOOK_SECRET: undefined } });
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/notifiers\.chat\.secret: environment variable WEBHOOK_SECRET is not set/);
    const mail = await h.cli(['notify-test', '--config', path, '--notifier', 'ops-mail'], { env: { WEBHOOK_SECRET: undefined } });
    expect(mail).toMatchObject({ code: 0, stdout: expect.stringMatching(/ops-mail +email +delivered/) as string });
    expect(h.mail.received).toHaveLength(1);
    expect(h.hooks.received).toEqual([]);
  });

  it("delivers though the cloud's token and the state folder are not set here, which no notifier uses, and says it left them unresolved", async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]).replace(`  path: ${h.statePath}`, '  path: ${STATE_DIR}/state.json'));
    const r = await h.cli(['notify-test', '--config', path], { env: { ECS_AUTH_TOKEN: undefined, STATE_DIR: undefined } });
    expect(r).toMatchObject({ code: 0, stderr: 'not set, left unresolved as no notifier uses them: ECS_AUTH_TOKEN (cloud.auth.token), STATE_DIR (state.path)\n' });
    expect(r.stdout).toMatch(/^chat\s+webhook\s+delivered\s+204 No Content\nops-mail\s+email\s+delivered\s+250 /m);
    const hook = h.hooks.received[0]!;
    expect(new Webhook(WEBHOOK_SECRET).verify(hook.raw, hook.headers as Record<string, string>)).toMatchObject({ type: 'ecs.watch.test', watch: { projectId: PROJECT } });
    expect(h.mail.received).toHaveLength(1);
  });

  it('sends no project rather than the ${...} text of a cloud.projectId whose variable is not set here', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([], { notifiers: `  chat: { type: webhook, url: "${h.hooks.url}" }` }).replace(`  projectId: ${PROJECT}`, '  projectId: ${ECS_PROJECT_ID}'));
    const r = await h.cli(['notify-test', '--config', path], { env: { ECS_PROJECT_ID: undefined } });
    expect(r).toMatchObject({ code: 0, stderr: 'not set, left unresolved as no notifier uses them: ECS_PROJECT_ID (cloud.projectId)\n' });
    expect(h.hooks.received[0]!.body).toMatchObject({ type: 'ecs.watch.test', watch: { projectId: '' } });
  });

  it("still refuses an unset variable a notifier needs, naming it as before, and not the cloud's it does not need", async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    const r = await h.cli(['notify-test', '--config', path], { env: { ECS_AUTH_TOKEN: undefined, WEBHOOK_SECRET: undefined } });
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^\d+:\d+ notifiers\.chat\.secret: environment variable WEBHOOK_SECRET is not set \(use \$\{WEBHOOK_SECRET:-default\} for a default\)\n$/);
    expect(h.hooks.received).toEqual([]);
    expect(h.mail.received).toEqual([]);
  });

  it('refuses an unknown notifier name with the configured ones, status 1 as the contract has it', async ({ h }) => {
    const r = await h.cli(['notify-test', '--config', await h.writeConfig(h.yaml([])), '--notifier', 'pager']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no notifier 'pager' in");
    expect(r.stderr).toContain('(configured: chat, ops-mail)');
    expect(r.stderr).not.toContain('did you mean');
    const slip = await h.cli(['notify-test', '--config', await h.writeConfig(h.yaml([])), '--notifier', 'opsmail']);
    expect(slip).toMatchObject({ code: 1, stdout: '' });
    expect(slip.stderr).toContain("no notifier 'opsmail' in");
    expect(slip.stderr).toContain("(configured: chat, ops-mail); did you mean 'ops-mail'?");
  });

  it('refuses an empty --notifier (a pipeline\'s unset variable) as a usage error, sending nothing, as an empty --server or --config is', async ({ h }) => {
    const r = await h.cli(['notify-test', '--config', await h.writeConfig(h.yaml([])), '--notifier', '']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/^ecs-action-watch notify-test: --notifier is empty: name a notifier, or leave --notifier out to test every one\nusage: /);
    expect(h.hooks.received).toEqual([]);
    expect(h.mail.received).toEqual([]);
  });
});

describe('add and remove', () => {
  const asRoot = process.getuid?.() === 0;
  const NOBODY = 65534;
  /** The command line run as nobody: a user other than root, whom file permissions hold. */
  const asNobody = (args: string[]) =>
    promisify(execFile)(process.execPath, [fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), ...args], { uid: NOBODY, gid: NOBODY, env: { PATH: process.env['PATH'] } });
  const owner = async (path: string) => {
    const { uid, gid, mode } = await stat(path);
    return { uid, gid, mode: mode & 0o777 };
  };

  it('edit the file in place: a commented file is byte-identical after add then remove', async ({ h }) => {
    const original = `# watched by the night shift\n${h.yaml([{ ...newIds(), name: 'first' }]).replace('watches:', 'watches:        # one per action')}`;
    const path = await h.writeConfig(original);
    await chmod(path, 0o640);
    const ids = newIds();
    const added = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--name', 'resize web-09', '--notify', 'chat', '--deadline', '45m']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toBe(`added watches[1]: request ${ids.requestId} on server ${ids.serverId} (resize web-09) to ${path}\n`);
    const config = parseConfig(await readFile(path, 'utf8'), { env: h.env });
    expect(config.watches[1]).toEqual({ ...ids, projectId: PROJECT, name: 'resize web-09', notify: ['chat'], deadline: 45 * 60_000 });
    expect((await stat(path)).mode & 0o777).toBe(0o640);

    const removed = await h.cli(['remove', '--config', path, '--request', ids.requestId]);
    expect(removed).toMatchObject({ code: 0, stdout: `removed watches[1]: request ${ids.requestId} on server ${ids.serverId} (resize web-09) from ${path}\n` });
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('keeps every edit of several run side by side (a pipeline adding watches at once), and leaves no lock', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    const added = Array.from({ length: 8 }, () => newIds());
    const results = await Promise.all(added.map((ids) => h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId])));
    expect(results.map((r) => r.code)).toEqual(added.map(() => 0));
    const requestIds = (text: string) => parseConfig(text, { env: h.env }).watches.map((w) => ('requestId' in w ? w.requestId : '')).sort();
    expect(requestIds(await readFile(path, 'utf8'))).toEqual(added.map((ids) => ids.requestId).sort());
    const removed = await Promise.all(added.slice(0, 5).map((ids) => h.cli(['remove', '--config', path, '--request', ids.requestId])));
    expect(removed.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    expect(requestIds(await readFile(path, 'utf8'))).toEqual(added.slice(5).map((ids) => ids.requestId).sort());
    await expect(stat(`${path}.lock`)).rejects.toThrow(/ENOENT/);
  });

  it('refuses to edit a file that is not UTF-8, as validate does, and leaves it as it is', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    const latin1 = Buffer.concat([await readFile(path), Buffer.from('\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    await writeFile(path, latin1);
    const ids = newIds();
    const r = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read the watch file .*: is not UTF-8 text \(line \d+, column 6 is not\): save it as UTF-8/);
    expect(await readFile(path)).toEqual(latin1);
  });

  it('says the file is missing when its folder is, and leaves no lock anywhere', async ({ h }) => {
    const path = join(h.dir, 'no-such-folder', 'watch.yaml');
    const ids = newIds();
    const r = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read the watch file ${path}: no such file (name another file with --config or ECS_WATCH_CONFIG)`);
    await expect(stat(join(h.dir, 'no-such-folder'))).rejects.toThrow(/ENOENT/);
  });

  it('says in words why a path leads to no file (a loop of links, a file where a folder belongs), as validate does', async ({ h }) => {
    await symlink(join(h.dir, 'loop-b'), join(h.dir, 'loop-a'));
    await symlink(join(h.dir, 'loop-a'), join(h.dir, 'loop-b'));
    const file = await h.writeConfig(h.yaml([]));
    for (const [path, reason] of [[join(h.dir, 'loop-a'), 'its path runs in a loop of symbolic links'], [join(file, 'watch.yaml'), 'a part of its path is a file, not a folder']] as const) {
      const ids = newIds();
      const r = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot read the watch file ${path}: ${reason} (name another file with --config or ECS_WATCH_CONFIG)`);
    }
  });

  it('refuses a --name of two lines as a usage error, before touching the file', async ({ h }) => {
    const original = h.yaml([]);
    const path = await h.writeConfig(original);
    const ids = newIds();
    const r = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--name', 'a\nb']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ecs-action-watch add: --name: must be one line\n/);
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  // A name a pipeline took from a pull request's title is anyone's words: as check shows them, not as a terminal obeys them.
  it('says what it added and removed without the escape sequences of a watch\'s name that would rewrite the terminal', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    const ids = newIds();
    const name = 'fix \x1b[2J\x1b]0;pwned\x07 title';
    const added = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--name', name]);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    // Kept in the file as given: only what is shown is made printable.
    expect(parseConfig(await readFile(path, 'utf8'), { env: h.env }).watches).toMatchObject([{ name }]);
    const removed = await h.cli(['remove', '--config', path, '--request', ids.requestId]);
    expect(removed).toMatchObject({ code: 0, stderr: '' });
    for (const { stdout } of [added, removed]) {
      expect(stdout).toMatch(/ \(fix +title\) /);
      // No control character but the line break that ends it.
      expect(stdout.slice(0, -1)).not.toMatch(/\p{Cc}/u);
    }
  });

  it('refuses a bad --deadline or id as a usage error naming the option, before touching the file, as wait does', async ({ h }) => {
    const original = h.yaml([]);
    const path = await h.writeConfig(original);
    const ids = newIds();
    const late = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--deadline', '90']);
    expect(late).toMatchObject({ code: 2, stdout: '' });
    expect(late.stderr).toMatch(/^ecs-action-watch add: --deadline: '90' has no unit/);
    const job = await h.cli(['add', '--config', path, '--job', 'x y']);
    expect(job).toMatchObject({ code: 2, stdout: '' });
    expect(job.stderr).toMatch(/^ecs-action-watch add: --job: expected a job id: letters, digits and -/);
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('refuses an empty --notify (a pipeline\'s unset variable) as a usage error, rather than a watch that notifies nobody', async ({ h }) => {
    const original = h.yaml([]);
    const path = await h.writeConfig(original);
    const ids = newIds();
    for (const notify of ['', ' , ']) {
      const r = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--notify', notify]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^ecs-action-watch add: --notify names no notifier: give their names \(--notify chat,ops-mail\), or leave --notify out for every one\n/);
    }
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('writes nothing when the result would be invalid, and says why, by the option that gave the value rather than at a line never written', async ({ h }) => {
    const original = h.yaml([{ ...newIds(), name: 'first' }]);
    const path = await h.writeConfig(original);
    const ids = newIds();
    const r = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--notify', 'pager']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/would be invalid, so it was left as it is:\n--notify: unknown notifier 'pager' \(configured: chat, ops-mail\)\n$/);
    // A variable of the daemon's that is not set here does not make the file invalid as it is.
    const unset = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--notify', 'pager'], { env: { WEBHOOK_SECRET: undefined } });
    expect(unset).toMatchObject({ code: 1, stderr: r.stderr });
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('says a file invalid already is so, at its own lines, and writes nothing', async ({ h }) => {
    const first = newIds();
    const original = `${h.yaml([{ ...first, name: 'first' }]).replace('\nwatches:', '\nbogus: 1\nwatches:')}`;
    const path = await h.writeConfig(original);
    const line = original.split('\n').indexOf('bogus: 1') + 1;
    const ids = newIds();
    for (const args of [['add', '--server', ids.serverId, '--request', ids.requestId], ['remove', '--request', first.requestId]]) {
      const r = await h.cli([...args, '--config', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`is invalid as it is, so it was left as it is \\(fix it first\\):\n${line}:1 bogus: unknown key 'bogus'`));
    }
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('edits through a symlink, which stays one, and needs no secret of the daemon to do it', async ({ h }) => {
    const target = await h.writeConfig(h.yaml([]));
    const link = join(h.dir, 'link.yaml');
    await symlink(target, link);
    const ids = newIds();
    const r = await h.cli(['add', '--config', link, '--server', ids.serverId, '--request', ids.requestId], { env: { ECS_AUTH_TOKEN: undefined, SMTP_PASSWORD: undefined, WEBHOOK_SECRET: undefined } });
    expect(r.code).toBe(0);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(target, 'utf8')).toContain(`  - requestId: ${ids.requestId}\n    serverId: ${ids.serverId}`);
  });

  it('leaves the file as it is when the watch is in it already (a retried step), and refuses its ids for another project, naming its line', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'first' }]));
    const ids = newIds();
    const args = ['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--name', 'resize web-09'];
    expect(await h.cli(args)).toMatchObject({ code: 0, stderr: '' });
    const written = await readFile(path, 'utf8');
    const line = written.split('\n').findIndex((l) => l.includes(ids.requestId)) + 1;
    const { ino, mtimeMs } = await stat(path);
    const already = `already watched: watches[1] at line ${line} has request ${ids.requestId} on server ${ids.serverId} in ${path}; left as it is\n`;
    expect(await h.cli(args)).toMatchObject({ code: 0, stdout: already, stderr: '' });
    // The file's default project named outright is the same project.
    expect(await h.cli([...args, '--project', PROJECT])).toMatchObject({ code: 0, stdout: already });
    // Not written again: the same file, untouched.
    expect(await stat(path)).toMatchObject({ ino, mtimeMs });
    expect(await readFile(path, 'utf8')).toBe(written);
    const job = ['add', '--config', path, '--job', 'ff808082843684110184e155fdb36461'];
    expect((await h.cli(job)).code).toBe(0);
    expect(await h.cli(job)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^already watched: watches\[2\] at line \d+ has job ff808082843684110184e155fdb36461 /) });
    const jobText = await readFile(path, 'utf8');

    const other = await h.cli([...args, '--project', 'another-project']);
    expect(other).toMatchObject({ code: 1, stdout: '' });
    expect(other.stderr).toBe(
      `ecs-action-watch add: ${path}: line ${line} (watches[1]) already watches request ${ids.requestId} on server ${ids.serverId}, for project ${PROJECT}, not another-project: ` +
        `correct --project, or take that entry out first (ecs-action-watch remove --request ${ids.requestId} --server ${ids.serverId})\n`,
    );
    expect(await readFile(path, 'utf8')).toBe(jobText);
    // One request that created several servers (Nova's multi-create) is a watch per server.
    expect((await h.cli(['add', '--config', path, '--server', 'second-server', '--request', ids.requestId])).code).toBe(0);
  });

  it('takes the watch in the file as the one added when its project is a variable this shell does not set (a pipeline retrying), and says so', async ({ h }) => {
    const ids = newIds();
    const original = h.yaml([ids]).replace(`  projectId: ${PROJECT}\n`, '  projectId: ${PID}\n');
    const path = await h.writeConfig(original);
    const line = original.split('\n').findIndex((l) => l.includes(ids.requestId)) + 1;
    const args = ['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--project', PROJECT];
    expect(await h.cli(args, { env: { PID: undefined } })).toEqual({
      code: 0,
      stderr: '',
      stdout: `already watched: watches[0] at line ${line} has request ${ids.requestId} on server ${ids.serverId} in ${path}; left as it is ` +
        `(its project \${PID} not compared with ${PROJECT}: \${PID} is not set in this shell)\n`,
    });
    expect(await readFile(path, 'utf8')).toBe(original);
    // Set here, it is compared as any project is.
    const other = await h.cli(args, { env: { PID: 'another-project' } });
    expect(other).toMatchObject({ code: 1, stdout: '' });
    expect(other.stderr).toContain(`already watches request ${ids.requestId} on server ${ids.serverId}, for project another-project, not ${PROJECT}: `);
  });

  // A daemon running as its own user reads a 0640 file of its own: `sudo ecs-action-watch add` must not leave it root's.
  it.runIf(asRoot)('keeps the owner and group of the file, and of the one a ConfigMap\'s symlinks lead to', async ({ h }) => {
    const path = await h.writeConfig(h.yaml([]));
    // As Kubernetes mounts a ConfigMap: watch.yaml -> ..data/watch.yaml, ..data -> ..2026_12_02_10_00_00.1.
    const version = join(h.dir, '..2026_12_02_10_00_00.1');
    await mkdir(version);
    await writeFile(join(version, 'watch.yaml'), h.yaml([]));
    await symlink(basename(version), join(h.dir, '..data'));
    const mounted = join(h.dir, 'mounted.yaml');
    await symlink(join('..data', 'watch.yaml'), mounted);
    for (const [config, file] of [[path, path], [mounted, join(version, 'watch.yaml')]] as const) {
      await chmod(file, 0o640);
      await chown(file, NOBODY, NOBODY);
      const ids = newIds();
      expect(await h.cli(['add', '--config', config, '--server', ids.serverId, '--request', ids.requestId])).toMatchObject({ code: 0, stderr: '' });
      expect(await owner(file)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o640 });
      expect(await h.cli(['remove', '--config', config, '--request', ids.requestId])).toMatchObject({ code: 0, stderr: '' });
      expect(await owner(file)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o640 });
    }
  });

  it.runIf(asRoot)('edited by a user other than its owner, keeps its group, and says whose the file now is and how to give it back', async ({ h, onTestFinished }) => {
    // Beside the run's folder, which only root may enter; the folder's set-group-id bit gives the files made
    // in it its group (daemon's), so that the file's own group is there only if the edit gives it back.
    const dir = await mkdtemp(join(dirname(tmpdir()), 'eaw-owner-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await chown(dir, 0, 1);
    await chmod(dir, 0o2777);
    const path = join(dir, 'watch.yaml');
    await writeFile(path, h.yaml([]));
    await chmod(path, 0o664);
    await chown(path, 0, NOBODY);
    const ids = newIds();
    const { stdout, stderr } = await asNobody(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId]);
    expect(stdout).toMatch(/^added watches\[0\]/);
    expect(stderr).toBe(
      `warning: ${path} now belongs to ${NOBODY}:${NOBODY}, not 0:${NOBODY} as before (only root can give a file to another user, or to a group it is not in): ` +
        `a daemon running as 0:${NOBODY} may no longer read it; give it back as root (chown 0:${NOBODY} ${path}), or edit it as its owner\n`,
    );
    expect(await owner(path)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o664 });
  });

  it.runIf(asRoot)('says in words that a user may not edit a file in a folder it cannot write to, and leaves it as it is', async ({ h, onTestFinished }) => {
    const dir = await mkdtemp(join(dirname(tmpdir()), 'eaw-readonly-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    const path = join(dir, 'watch.yaml');
    const original = h.yaml([]);
    await writeFile(path, original);
    await chmod(path, 0o666);
    const ids = newIds();
    await expect(asNobody(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId])).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: `ecs-action-watch add: cannot write ${path}: permission denied in its folder ${dir}, where an edit writes its new copy before renaming it over the file: ` +
        'edit it as a user who may write in that folder\n',
    });
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  // rename(2) asks only the folder: a user whom the file's own permissions keep out could replace it whole.
  it.runIf(asRoot)('refuses to edit a file this user may not write, though its folder would let it replace the file, and leaves it as it is', async ({ h, onTestFinished }) => {
    const dir = await mkdtemp(join(dirname(tmpdir()), 'eaw-unwritable-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o777);
    const ids = newIds();
    const original = h.yaml([ids]);
    // Root's file, readable by all; and nobody's own, made read-only on purpose.
    for (const [name, uid, mode] of [['root.yaml', 0, 0o644], ['frozen.yaml', NOBODY, 0o444]] as const) {
      const path = join(dir, name);
      await writeFile(path, original);
      await chown(path, uid, uid);
      await chmod(path, mode);
      const added = newIds();
      for (const args of [['add', '--server', added.serverId, '--request', added.requestId], ['remove', '--request', ids.requestId]]) {
        await expect(asNobody([...args, '--config', path])).rejects.toMatchObject({
          code: 1,
          stdout: '',
          stderr: `ecs-action-watch ${args[0]}: cannot write ${path}: permission denied: the user running this may not write the file, only replace it in its folder: ` +
            'edit it as a user who may write it (its owner, or root), or make it writable first\n',
        });
        expect(await readFile(path, 'utf8')).toBe(original);
        expect(await owner(path)).toEqual({ uid, gid: uid, mode });
      }
      // Nothing to write: the watch is in the file already, as a retried step finds it.
      expect((await asNobody(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId])).stdout).toMatch(/^already watched: /);
    }
  });

  it('takes out a watch listed twice, as add\'s hint says, though the file is invalid for it', async ({ h }) => {
    const ids = newIds();
    const path = await h.writeConfig(h.yaml([{ ...newIds(), name: 'first' }, ids, { ...ids, extra: '    projectId: another-project' }]));
    expect((await h.cli(['validate', '--config', path])).stderr).toContain('duplicate of watches[1]');
    const hint = await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--project', 'another-project']);
    expect(hint.stderr).toContain(`take that entry out first (ecs-action-watch remove --request ${ids.requestId} --server ${ids.serverId})`);
    const removed = await h.cli(['remove', '--config', path, '--request', ids.requestId, '--server', ids.serverId]);
    expect(removed).toMatchObject({ code: 0, stderr: '', stdout: `removed watches[1] and its duplicate watches[2]: request ${ids.requestId} on server ${ids.serverId} from ${path}\n` });
    expect((await h.cli(['validate', '--config', path])).code).toBe(0);
    expect(parseConfig(await readFile(path, 'utf8'), { env: h.env }).watches).toMatchObject([{ name: 'first' }]);
    // The hint's next step: the watch as meant.
    expect((await h.cli(['add', '--config', path, '--server', ids.serverId, '--request', ids.requestId, '--project', 'another-project'])).code).toBe(0);
    expect(parseConfig(await readFile(path, 'utf8'), { env: h.env }).watches).toMatchObject([{ name: 'first' }, { ...ids, projectId: 'another-project' }]);
  });

  it('stops at SIGTERM while another edit holds the file, with the status of the signal, writing nothing', async ({ h }) => {
    const ids = newIds();
    const original = h.yaml([ids]);
    const path = await h.writeConfig(original);
    await writeFile(`${path}.lock`, '4242 another-edit\n');
    const signal = AbortSignal.abort('SIGTERM');
    for (const args of [['add', '--server', ids.serverId, '--request', 'req-2'], ['remove', '--request', ids.requestId]]) {
      expect(await h.cli([...args, '--config', path], { signal })).toEqual({ code: 143, stdout: '', stderr: '' });
    }
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('refuses to take out an entry whose anchor another entry aliases, at that entry\'s line in the file, writing nothing', async ({ h }) => {
    const [a, b] = [newIds(), newIds()];
    const original = h.yaml([{ ...a, extra: '    notify: &team [chat]' }, { ...b, extra: '    notify: *team' }]);
    const path = await h.writeConfig(original);
    const line = original.split('\n').indexOf('    notify: *team') + 1;
    expect(await h.cli(['remove', '--config', path, '--request', a.requestId])).toEqual({
      code: 1,
      stdout: '',
      stderr: `ecs-action-watch remove: ${path}: the entry to remove sets &team, which watches[1].notify at line ${line} uses: write its value out there first\n`,
    });
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('exits 1 for an unknown id and 2 for a missing option or an ambiguous id', async ({ h }) => {
    const a = newIds();
    const path = await h.writeConfig(h.yaml([a, { serverId: 'other-server', requestId: a.requestId }]));
    expect(await h.cli(['remove', '--config', path, '--request', 'req-unknown'])).toMatchObject({ code: 1, stderr: `ecs-action-watch remove: ${path}: no watch with requestId req-unknown in the file\n` });
    expect((await h.cli(['remove', '--config', path])).code).toBe(2);
    expect((await h.cli(['add', '--config', path, '--request', 'req-1'])).stderr).toMatch(/^ecs-action-watch add: --server is required/);
    const ambiguous = await h.cli(['remove', '--config', path, '--request', a.requestId]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('name one with --server');
    expect((await h.cli(['remove', '--config', path, '--request', a.requestId, '--server', 'other-server'])).code).toBe(0);
  });
});

/** Output a terminal `columns` wide shows. */
class Terminal extends Capture {
  readonly isTTY = true;
  readonly columns: number;
  constructor(columns = 130) {
    super();
    this.columns = columns;
  }
}

describe.concurrent('wait on a terminal', () => {
  it('keeps its progress on one line, rewritten in place and cut to the terminal\'s width, and clears it before the result', async ({ h }) => {
    const script = quickAction({ neverFinishes: true });
    h.simulator.addAction(script);
    const path = await h.writeConfig(h.yaml([]));
    const stderr = new Terminal(40);
    const r = await h.cli(['wait', '--config', path, '--server', script.serverId, '--request', script.requestId, '--timeout', '1s'], { stderr });
    expect(r).toMatchObject({ code: 3, stdout: 'timeout: not finished 1 s after tracking began: reboot: compute_reboot_instance running\n' });
    // Each state of the line is written over the one before; the last leaves it empty.
    const shown = stderr.text.split('\r\u001b[2K');
    expect(shown[0]).toBe('');
    expect(shown.at(-1)).toBe('');
    expect(shown[1]).toBe('waiting for the first answer · 0s');
    expect(shown).toContain('reboot: 0/1 events done, compute_reboo…');
    for (const line of shown) expect(line.length).toBeLessThan(40);
  });
  // Emacs' shell and IDE consoles are terminals that print escape sequences as text: each second's redraw
  // left one more `^[[2K` on the screen.
  it('writes lines that stay on a terminal that says it obeys no escape sequences (TERM=dumb)', async ({ h }) => {
    const script = quickAction({ neverFinishes: true });
    h.simulator.addAction(script);
    const stderr = new Terminal(40);
    const r = await h.cli(['wait', '--config', await h.writeConfig(h.yaml([])), '--server', script.serverId, '--request', script.requestId, '--timeout', '1s'], { stderr, env: { TERM: 'dumb' } });
    expect(r.code).toBe(3);
    expect(stderr.text).not.toContain('\u001b');
    expect(stderr.text).not.toContain('\r');
    expect(stderr.text.split('\n')[0]).toBe('ecs-action-watch wait: reboot: 0/1 events done, compute_reboot_instance running · 0s');
  });
  // A line wider than the terminal wraps, and \r then rewrites only its last part: a CJK step name takes
  // two columns a character.
  it('cuts its line to the terminal\'s width in columns, which a CJK character takes two of', async ({ h }) => {
    const script = quickAction({ neverFinishes: true, steps: [{ event: '重启实例'.repeat(5), durationMs: 300, taskState: 'rebooting' }] });
    h.simulator.addAction(script);
    const stderr = new Terminal(40);
    await h.cli(['wait', '--config', await h.writeConfig(h.yaml([])), '--server', script.serverId, '--request', script.requestId, '--timeout', '1s'], { stderr });
    const shown = stderr.text.split('\r\u001b[2K');
    const columns = (line: string) => [...line].reduce((n, c) => n + (/\p{Script=Han}/u.test(c) ? 2 : 1), 0);
    expect(shown.some((line) => line.includes('重启实例'))).toBe(true);
    for (const line of shown) expect(columns(line), line).toBeLessThan(40);
  });
  it('shows a 429\'s pause on its line, counting down, until the next request', async ({ h }) => {
    const script = quickAction({ neverFinishes: true });
    h.simulator.addAction(script);
    h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 3 }, { pathIncludes: script.requestId });
    const stderr = new Terminal(200);
    const interrupt = new AbortController();
    const waiting = h.cli(['wait', '--config', await h.writeConfig(h.yaml([])), '--server', script.serverId, '--request', script.requestId], { stderr, signal: interrupt.signal });
    // The line is drawn again each second: the pause's seconds go down, then it goes. Three of them, so that a
    // redraw a loaded machine holds up past its second still leaves two to see.
    await vi.waitUntil(() => stderr.text.split('\r\u001b[2K').at(-1)!.startsWith('reboot: 0/1 events done'), { timeout: 10_000, interval: 10 });
    interrupt.abort('SIGINT');
    expect((await waiting).code).toBe(130);
    const shown = stderr.text.split('\r\u001b[2K');
    const throttled = shown.filter((line) => line.includes('throttles'));
    expect(throttled[0], stderr.text).toMatch(/^waiting for the first answer; the cloud throttles requests \(429, Retry-After 3s\): asking again in 3s · \d+s$/);
    const counted = [...new Set(throttled.map((line) => Number(/in (\d)s ·/.exec(line)?.[1])))];
    expect(counted.length, stderr.text).toBeGreaterThanOrEqual(2);
    expect(counted, stderr.text).toEqual([...counted].sort((a, b) => b - a));
  });
});

describe('check on a terminal', () => {
  it('colours the state, cuts a long error to the line, and leaves colours out under NO_COLOR', async ({ h }) => {
    const failed = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 10, result: 'Error' }], fault: { code: 500, message: 'a very long reason '.repeat(10) } });
    h.simulator.addAction(failed);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const path = await h.writeConfig(h.yaml([{ ...failed, name: 'reboot web-01' }]));
    const out = new Terminal();
    expect((await h.cli(['check', '--config', path], { stdout: out })).code).toBe(0);
    const row = out.text.split('\n')[1]!;
    expect(row).toContain('\u001b[31mfailure');
    expect(row).toMatch(/ reboot failed: compute_reboot.*…$/);
    expect(stripVTControlCharacters(row).length).toBeLessThanOrEqual(130);

    const plain = new Terminal();
    await h.cli(['check', '--config', path], { stdout: plain, env: { NO_COLOR: '1' } });
    expect(plain.text).not.toContain('\u001b[');
  });

  // A CJK character takes two columns of a terminal, a combining accent none: counted as one each, a Chinese
  // name shifts its row's columns and a Chinese fault, cut by its length, wraps past the terminal's edge.
  it('aligns its columns and cuts a long error by the columns a character takes, not its length', async ({ h }) => {
    const failed = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 10, result: 'Error' }], fault: { code: 500, message: '没有找到有效的主机。'.repeat(20) } });
    const other = quickAction();
    h.simulator.addAction(failed);
    h.simulator.addAction(other);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const path = await h.writeConfig(h.yaml([{ ...failed, name: '重启 web-01' }, { ...other, name: 'Cafe\u0301 app-02' }]));
    const out = new Terminal(200);
    await h.cli(['check', '--config', path], { stdout: out, env: { NO_COLOR: '1' } });
    const columns = (line: string) => [...new Intl.Segmenter().segment(line)].reduce((n, { segment }) => n + (/\p{Script=Han}/u.test(segment) ? 2 : 1), 0);
    const [header, ...rows] = out.text.trimEnd().split('\n');
    const serverAt = columns(header!.slice(0, header!.indexOf('SERVER')));
    expect(columns(rows[0]!.slice(0, rows[0]!.indexOf(failed.serverId))), rows[0]).toBe(serverAt);
    expect(columns(rows[1]!.slice(0, rows[1]!.indexOf(other.serverId))), rows[1]).toBe(serverAt);
    expect(rows[0]).toMatch(/没有找到有效的主机.*…$/);
    expect(columns(rows[0]!)).toBeLessThanOrEqual(200);
  });
});

describe.concurrent('check says under its table what to do about the polls that failed, as wait does', () => {
  const NO_RETRIES = '  schedule: "* * * * * *"\n  retries: 0';

  it('once for every watch a refused token fails, however many, and on a terminal whole; --json as before', async ({ h }) => {
    const actions = Array.from({ length: 5 }, (_, i) => ({ ...quickAction({ neverFinishes: true }), name: `reboot web-0${i + 1}` }));
    for (const a of actions) h.simulator.addAction(a);
    h.simulator.setToken('another-token');
    const path = await h.writeConfig(h.yaml(actions, { poll: NO_RETRIES }));
    const out = new Terminal(80);
    const r = await h.cli(['check', '--config', path], { stdout: out, env: { NO_COLOR: '1' } });
    expect(r.code).toBe(1);
    const [table, fixes, ...rest] = out.text.trimEnd().split('\n\n');
    expect(rest).toEqual([h.noStateNote]);
    expect(table!.split('\n')).toHaveLength(actions.length + 1);
    for (const a of actions) expect(table).toMatch(new RegExp(`^${a.name}\\s.*\\spoll failed\\s+\\S+\\s+-\\s+last poll failed: .*…$`, 'm'));
    // Cut to the line, the error no longer says what failed; what to do is said whole.
    expect(fixes).toBe(`the cloud refused the request for all 5 watches: check cloud.auth in ${path}`);

    const json = await h.cli(['check', '--json', '--config', path]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(actions.length);
  });

  it('a line per cause, naming its watches (three, and how many more), none for a watch answered', async ({ h }) => {
    const named = (name: string) => ({ ...quickAction({ neverFinishes: true }), name });
    const answered = named('answered');
    const wrongPath = ['gw-1', 'gw-2', 'gw-3', 'gw-4'].map(named);
    const [firewalled, broken, slow] = [named('fw-1'), named('broken-1'), named('slow-1')];
    const watches = [answered, ...wrongPath, firewalled, broken, slow];
    for (const a of watches) h.simulator.addAction(a);
    for (const a of wrongPath) h.simulator.injectFault({ kind: 'gateway-not-found' }, { pathIncludes: a.requestId, times: 1000 });
    h.simulator.injectFault({ kind: 'firewall-refused' }, { pathIncludes: firewalled.requestId, times: 1000 });
    h.simulator.injectFault({ kind: 'server-error' }, { pathIncludes: broken.requestId, times: 1000 });
    h.simulator.injectFault({ kind: 'slow', delayMs: 60_000 }, { pathIncludes: slow.requestId, times: 1000 });
    // cloud.timeout 2 s: room for a machine busy with other tests, whose good answers must not time out.
    const path = await h.writeConfig(h.yaml(watches, { poll: NO_RETRIES, cloudTimeout: '2s' }));
    const r = await h.cli(['check', '--config', path]);
    expect(r).toMatchObject({ code: 1, stderr: '' });
    const [table, fixes, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(rest).toEqual([h.noStateNote]);
    expect(table).toMatch(/^answered\s.*\spending\s+\S+\s+-\s+-$/m);
    expect(fixes!.split('\n')).toEqual([
      `the cloud refused the request for gw-1, gw-2, gw-3 and 1 more: check cloud.endpoint and cloud.projectId (or cloud.auth.identityEndpoint, if the 404 is for the token request), or set a fixed cloud.microversion if the 404 is for the version document /v2.1/ in ${path}`,
      `something in front of the cloud refused the request for fw-1: an HTML page, not the API's answer: check with whoever runs the firewall, gateway or proxy in front of cloud.endpoint (or cloud.auth.identityEndpoint) in ${path}`,
      'the cloud failed to answer for broken-1: its error (5xx), or that of a gateway in front of it (502, 504): a blip passes by itself: check again in a minute; if it lasts, ask whoever runs the cloud',
      `the cloud did not answer in time for slow-1: a blip passes by itself: check again in a minute; if it lasts, check that cloud.endpoint (or cloud.auth.identityEndpoint) answers from this host, or raise cloud.timeout for a cloud that answers slowly in ${path}`,
    ]);
  });

  it('says nothing more when every poll answered', async ({ h }) => {
    const a = quickAction({ neverFinishes: true });
    h.simulator.addAction(a);
    const r = await h.cli(['check', '--config', await h.writeConfig(h.yaml([a]))]);
    expect(r.code).toBe(0);
    const [table, ...rest] = r.stdout.trimEnd().split('\n\n');
    expect(table!.split('\n')).toHaveLength(2);
    expect(rest).toEqual([h.noStateNote]);
  });
});

describe('simulator', () => {
  it('serves the scripted actions and prints a valid watch file for them', async ({ h }) => {
    const stop = new AbortController();
    const out = new Capture();
    let exited = false;
    let endpoint: string | undefined;
    // Port 0: a port found free and then bound could be taken in between by another test.
    const running = h.cli(['simulator', '--port', '0'], { signal: stop.signal, stdout: out }).finally(() => {
      exited = true;
    });
    try {
      const path = join(h.dir, 'simulator.yaml');
      let text = '';
      // A simulator that stopped at start (its port taken) ends the wait; its status is checked below.
      while (!text.includes('watches:') && !exited) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        text = out.text;
      }
      await writeFile(path, text);
      const config = parseConfig(text, { env: {} });
      endpoint = config.cloud.endpoint;
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      // A daemon run on it stays on loopback too, its health server included; with any free ports, off: a
      // fixed port would clash between two such pairs.
      expect(config.http).toMatchObject({ host: '127.0.0.1', port: 0 });
      expect(config.watches).toHaveLength(8);
      const check = await h.cli(['check', '--json', '--config', path]);
      expect(check.code).toBe(0);
      expect((JSON.parse(check.stdout) as Array<{ name: string }>).map((w) => w.name).sort()).toEqual([
        'create db-01', 'create db-10..11', 'create web-01', 'create web-02', 'create web-10..12', 'live-migrate app-02', 'reboot cache-01', 'resize app-01',
      ]);
    } finally {
      stop.abort();
    }
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`ECS simulator: ${endpoint}/v2.1`);
  });

  it('gives the watchers of two simulators on any free ports, run in one folder, a state file each', async ({ h }) => {
    const stop = new AbortController();
    const started = [new Capture(), new Capture()].map((stdout) => ({ stdout, running: h.cli(['simulator', '--port', '0'], { signal: stop.signal, stdout }) }));
    try {
      await eventually(() => expect(started.every(({ stdout }) => stdout.text.includes('watches:'))).toBe(true), { timeout: 5000, interval: 20 });
      const [a, b] = started.map(({ stdout }) => parseConfig(stdout.text, { env: {} }).state.path);
      // A second daemon on the same state file stops at its start: `is in use by another ecs-action-watch`.
      expect(a).not.toBe(b);
    } finally {
      stop.abort();
    }
    for (const { running } of started) expect((await running).code).toBe(0);
  });

  it('says which ports it takes, and how to choose others, when one is in use', async ({ h }) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const r = await h.cli(['simulator', '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`EADDRINUSE: address already in use 127.0.0.1:${port}: the simulator listens on --port and the two ports after it (${port}-${port + 2}); stop what holds it, or pass --port with another, or --port 0 for any free ports\n`);
    } finally {
      taken.close();
    }
  });

  it('says the same when the port after --port is the one in use, its webhook receiver\'s', async ({ h }) => {
    const port = await closedPort();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port + 1, '127.0.0.1', resolve));
    try {
      const r = await h.cli(['simulator', '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`webhook sink: cannot listen on 127.0.0.1:${port + 1} (EADDRINUSE): the simulator listens on --port and the two ports after it (${port}-${port + 2}); stop what holds it, or pass --port with another, or --port 0 for any free ports\n`);
    } finally {
      taken.close();
    }
  });

  it('refuses a port it cannot take with the allowed range', async ({ h }) => {
    const r = await h.cli(['simulator', '--port', '65534']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port must be a port number from 1 to 65533 (0: any free ports), got 65534');
  });

  it('refuses an empty or non-numeric port, and a role it does not know, naming the allowed values', async ({ h }) => {
    for (const port of ['', ' ', 'abc', '80.5']) {
      const r = await h.cli(['simulator', `--port=${port}`]);
      expect(r.code, port).toBe(2);
      expect(r.stderr).toContain(`--port must be a port number from 1 to 65533 (0: any free ports), got ${port}\n`);
    }
    const r = await h.cli(['simulator', '--port', '0', '--role', 'root']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--role must be admin or member, got root');
  });

  it('refuses an empty token (`--token "$UNSET"`), as it does an empty port, rather than start with a watch file no watcher can use', async ({ h }) => {
    // Stopped after a while if it starts: a simulator that serves runs until a signal.
    const r = await h.cli(['simulator', '--port', '0', '--token='], { signal: AbortSignal.timeout(2000) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--token is empty');
  });
});
