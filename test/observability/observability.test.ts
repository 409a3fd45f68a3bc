import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { logLevelFromEnv } from '../../src/observability/logLevel.ts';
import { POLL_ERROR_KINDS } from '../../src/watch/pollFailures.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { listenAdvice, startHealthServer, type HealthServer } from '../../src/observability/http.ts';
import { StateStore } from '../../src/state/store.ts';
import { Capture } from '../e2e/harness.ts';

describe('logger', () => {
  it('redacts tokens, passwords, secrets and authorization headers wherever they are logged', async () => {
    const out = new Capture();
    const logger = await createLogger({ destination: out });
    logger.info(
      {
        token: 't-1',
        auth: { type: 'token', token: 't-2' },
        smtp: { user: 'u', password: 'p-3' },
        notifiers: { chat: { secret: 'whsec_s4' }, mail: { smtp: { password: 'p-5' } } },
        headers: { authorization: 'Bearer a-6', 'x-auth-token': 't-7', 'x-subject-token': 't-8', 'x-security-token': 's-9' },
        cloud: { auth: { type: 'aksk', accessKey: 'AK', secretKey: 'sk-10', securityToken: 'st-11' } },
        password: { type: 'password', password: 'p-12' },
      },
      'config',
    );
    for (const secret of ['t-1', 't-2', 'p-3', 'whsec_s4', 'p-5', 'a-6', 't-7', 't-8', 's-9', 'sk-10', 'st-11', 'p-12']) {
      expect(out.text).not.toContain(secret);
    }
    expect(out.lines()[0]).toMatchObject({ level: 'info', msg: 'config', smtp: { user: 'u', password: '[redacted]' } });
  });

  it('writes nothing below the level it was made with', async () => {
    const out = new Capture();
    const logger = await createLogger({ destination: out, level: 'warn' });
    logger.info('polled');
    logger.warn('poll failed');
    expect(out.lines()).toEqual([expect.objectContaining({ level: 'warn', msg: 'poll failed' })]);
  });

  it('redacts secrets in a child logger\'s bindings and in an error logged as such', async () => {
    const out = new Capture();
    const logger = await createLogger({ destination: out });
    logger.child({ watch: 'w', auth: { type: 'token', token: 't-1' } }).error({ err: Object.assign(new Error('refused'), { password: 'p-2' }) }, 'failed');
    expect(out.text).not.toMatch(/t-1|p-2/);
    expect(out.lines()[0]).toMatchObject({ watch: 'w', auth: { token: '[redacted]' }, err: { message: 'refused', password: '[redacted]' }, msg: 'failed' });
  });

  it('writes one readable line per event for a person at a terminal, secrets redacted as well', async () => {
    const out = new Capture();
    (await createLogger({ destination: out, pretty: true })).warn({ watch: 'resize web-01', error: '401 Unauthorized', token: 't-1' }, 'poll failed');
    const lines = out.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(stripVTControlCharacters(lines[0]!)).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: poll failed \{"watch":"resize web-01","error":"401 Unauthorized","token":"\[redacted\]"\}$/);
  });

  it('accepts the five levels and refuses anything else with the allowed list', () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(() => logLevelFromEnv({ LOG_LEVEL: 'verbose' })).toThrow('LOG_LEVEL=verbose is not a log level (allowed: trace, debug, info, warn, error)');
  });
});

describe('health server', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  async function get(path: string, method: 'GET' | 'POST' = 'GET') {
    const res = await request(`http://127.0.0.1:${server!.port}${path}`, { method });
    return { status: res.statusCode, text: await res.body.text(), type: res.headers['content-type'] };
  }

  it('answers /healthz, /readyz from the state folder, /metrics in Prometheus text, and 404 elsewhere', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eaw-health-'));
    const store = await StateStore.open(join(dir, 'sub', 'state.json'));
    const metrics = createMetrics();
    metrics.verdicts.inc({ outcome: 'failure' });
    let stuck: string | undefined;
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics,
      logger: silentLogger(),
      ready: async () => {
        await store.checkWritable();
        return { ok: true };
      },
      stuck: () => stuck,
    });
    expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get('/readyz')).toMatchObject({ status: 200 });
    const m = await get('/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    expect(m.text).toContain('ecs_action_watch_verdicts_total{outcome="failure"} 1');
    expect((await get('/nope')).status).toBe(404);

    stuck = 'a poll pass has run for 20 min';
    expect(await get('/healthz')).toMatchObject({ status: 503, text: 'stuck: a poll pass has run for 20 min\n' });
    stuck = undefined;
    expect(await get('/healthz')).toMatchObject({ status: 200 });

    // The state folder turns into a file: not ready, and the answer says why.
    await rm(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub'), 'x');
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.text).toMatch(/^not ready: StateError: state file .*: cannot create a file in its folder: file already exists \(EEXIST\) at .*sub: a file is where that folder should be: remove it, or correct state\.path\n$/);
  });

  it('answers 503 with the reason it is not ready, reads a path without its query, and refuses methods other than GET and HEAD', async () => {
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: createMetrics(),
      logger: silentLogger(),
      ready: async () => ({ ok: false, reason: 'the watch file is invalid' }),
      stuck: () => undefined,
    });
    expect(await get('/readyz')).toMatchObject({ status: 503, text: 'not ready: the watch file is invalid\n' });
    expect(await get('/healthz?verbose=1')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get('/healthz', 'POST')).toMatchObject({ status: 405, text: 'method not allowed\n' });
  });

  it('closes while a readiness probe still waits for its answer, ending that connection', async () => {
    let asked!: () => void;
    const probed = new Promise<void>((resolve) => (asked = resolve));
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: createMetrics(),
      logger: silentLogger(),
      ready: () => {
        asked();
        return new Promise(() => undefined);
      },
      stuck: () => undefined,
    });
    const waiting = get('/readyz');
    await probed;
    await server.close();
    await expect(waiting).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('answers 500 with the reason when the metrics cannot be collected', async () => {
    const metrics = createMetrics();
    metrics.setDeliverySource(() => {
      throw new Error('the state is not loaded');
    });
    server = await startHealthServer({ port: 0, host: '127.0.0.1', metrics, logger: silentLogger(), ready: async () => ({ ok: true }), stuck: () => undefined });
    expect(await get('/metrics')).toMatchObject({ status: 500, text: 'metrics failed: Error: the state is not loaded\n' });
  });

  it('says which port is taken and how to fix it', async () => {
    server = await startHealthServer({ port: 0, host: '127.0.0.1', metrics: createMetrics(), logger: silentLogger(), ready: async () => ({ ok: true }), stuck: () => undefined });
    await expect(
      startHealthServer({ port: server.port, host: '127.0.0.1', metrics: createMetrics(), logger: silentLogger(), ready: async () => ({ ok: true }), stuck: () => undefined }),
    ).rejects.toThrow(`health server: cannot listen on 127.0.0.1 port ${server.port} (EADDRINUSE); another process holds that port: set http.port to a free port (0 turns the server off)`);
  });

  it('says of an address that is not this machine\'s that http.host is wrong, not the port', async () => {
    // 192.0.2.0/24 is documentation's (RFC 5737): no machine has it.
    await expect(
      startHealthServer({ port: 0, host: '192.0.2.1', metrics: createMetrics(), logger: silentLogger(), ready: async () => ({ ok: true }), stuck: () => undefined }),
    ).rejects.toThrow('health server: cannot listen on 192.0.2.1 port 0 (EADDRNOTAVAIL); http.host is no address of this machine: set it to one, or leave it out for every interface');
  });

  // A daemon under systemd runs as its own user: a port below 1024 is refused to it (root, as tests run here, is
  // never refused one, hence the advice alone).
  it('says of a port refused for want of privilege that it is below 1024, not that it is taken', () => {
    expect(listenAdvice('EACCES')).toBe(
      "a port below 1024 needs a privilege this process lacks: set http.port to 1024 or above (the default is 9464; 0 turns the server off), or grant it CAP_NET_BIND_SERVICE (the systemd unit's CapabilityBoundingSet= and AmbientCapabilities= both empty: name it in both, and set PrivateUsers=no, under which a capability holds in the unit's own user namespace alone, not for the host's ports)",
    );
  });

  // The kernel asks for the capability in the user namespace that owns the network's (inet_bind): under the
  // unit's PrivateUsers=yes, one granted by the two capability settings alone still meets EACCES.
  it.each(['ecs-action-watch.service', 'ecs-action-watch@.service'])('names every setting of the shipped %s that keeps a granted CAP_NET_BIND_SERVICE from a port below 1024', async (unit) => {
    const text = await readFile(join(import.meta.dirname, '../../deploy/systemd', unit), 'utf8');
    const keeping = ['CapabilityBoundingSet=', 'AmbientCapabilities=', 'PrivateUsers=']
      .filter((setting) => new RegExp(`^${setting}(yes)?$`, 'm').test(text));
    expect(keeping).toContain('PrivateUsers=');
    for (const setting of keeping) expect(listenAdvice('EACCES')).toContain(setting);
  });
});

describe('metrics', () => {
  it('lists every kind of poll error in the help of poll_errors_total, so a new kind cannot go unlisted', async () => {
    const { registry } = createMetrics();
    const help = (await registry.getMetricsAsJSON()).find((m) => m.name === 'ecs_action_watch_poll_errors_total')!.help;
    for (const kind of POLL_ERROR_KINDS) expect(help, kind).toMatch(new RegExp(`\\b${kind}\\b`));
  });

  it('counts polls by result, and takes the time of the last successful one from answered polls only', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z'), toFake: ['Date'] });
    try {
      const metrics = createMetrics();
      const scrape = async () => (await metrics.registry.metrics()).split('\n').filter((line) => /^ecs_action_watch_(polls_total|last_successful_poll)/.test(line));
      metrics.recordPoll('error', 2);
      expect(await scrape()).toEqual(['ecs_action_watch_polls_total{result="error"} 1', 'ecs_action_watch_last_successful_poll_timestamp_seconds 0']);
      metrics.recordPoll('pending', 0.1);
      vi.setSystemTime(new Date('2026-03-01T12:00:30Z'));
      metrics.recordPoll('error', 2);
      expect(await scrape()).toEqual([
        'ecs_action_watch_polls_total{result="error"} 2',
        'ecs_action_watch_polls_total{result="pending"} 1',
        'ecs_action_watch_last_successful_poll_timestamp_seconds 1772366400',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows no clock offset until the cloud\'s clock is measured, and no negative failing time for a start ahead of the clock', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z'), toFake: ['Date'] });
    try {
      const metrics = createMetrics();
      const scrape = async () => (await metrics.registry.metrics()).split('\n').filter((line) => /^ecs_action_watch_(cloud_clock_ahead|longest_failing)/.test(line));
      const measured: { aheadMs?: number } = {};
      metrics.setCloudClockSource(() => measured.aheadMs);
      // Failing since a moment this host's clock has not reached (it was set back meanwhile).
      metrics.recordFailingSince(Date.now() + 60_000);
      expect(await scrape()).toEqual(['ecs_action_watch_longest_failing_watch_seconds 0']);
      measured.aheadMs = -41_600;
      metrics.recordFailingSince(Date.now() - 90_000);
      expect(await scrape()).toEqual(['ecs_action_watch_longest_failing_watch_seconds 90', 'ecs_action_watch_cloud_clock_ahead_seconds -42']);
    } finally {
      vi.useRealTimers();
    }
  });
});
