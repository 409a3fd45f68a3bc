import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { Agent, fetch } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import {
  actionUrl,
  fixture,
  get,
  manualClock,
  microversion,
  PROJECT,
  SERVER,
  serverUrl,
  START,
  type ActionJson,
  type ServerJson,
  simulatorPerTest,
} from './helpers.ts';

const NOVA_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

const start = simulatorPerTest();
afterEach(() => {
  vi.useRealTimers();
});

/** A finished one-step stop, like the upstream samples. */
function addStop(sim: Simulator): string {
  return sim.addAction({
    projectId: PROJECT,
    serverId: SERVER,
    action: 'stop',
    steps: [{ event: 'compute_stop_instance', durationMs: 250 }],
  });
}

const sortedKeys = (value: object): string[] => Object.keys(value).sort();

describe('version document', () => {
  it('has the upstream shape, with the configured maximum and no token needed', async () => {
    const sim = await start({ maxMicroversion: '2.60', token: 'secret' });
    const sample = fixture<{ version: Record<string, unknown> }>('versions/v21-version-get-resp.json');
    for (const path of ['/v2.1/', '/v2.1']) {
      const answer = await get<{ version: Record<string, unknown> }>(`${sim.url}${path}`);
      expect(answer.status).toBe(200);
      expect(sortedKeys(answer.json.version)).toEqual(sortedKeys(sample.version));
      expect(answer.json.version).toMatchObject({ id: 'v2.1', status: 'CURRENT', version: '2.60', min_version: '2.1' });
      expect(answer.json.version.links).toContainEqual({ href: `${sim.url}/v2.1/`, rel: 'self' });
    }
  });

  it('offers 2.96 by default', async () => {
    const sim = await start();
    const answer = await get<{ version: { version: string } }>(`${sim.url}/v2.1/`);
    expect(answer.json.version.version).toBe('2.96');
  });

  it('refuses a maximum that is not a 2.x microversion', async () => {
    await expect(startSimulator({ maxMicroversion: '3' })).rejects.toThrow(RangeError);
    await expect(startSimulator({ maxMicroversion: '2.0' })).rejects.toThrow(RangeError);
  });
});

describe('microversion negotiation over HTTP', () => {
  it('answers with the version used, 2.1 when none is asked for', async () => {
    const sim = await start({ now: manualClock().now });
    const requestId = addStop(sim);
    const none = await get(actionUrl(sim.url, requestId));
    expect(none.headers.get('x-openstack-nova-api-version')).toBe('2.1');
    expect(none.headers.get('openstack-api-version')).toBe('compute 2.1');
    const standard = await get(actionUrl(sim.url, requestId), { 'OpenStack-API-Version': 'compute 2.58' });
    expect(standard.headers.get('x-openstack-nova-api-version')).toBe('2.58');
    const latest = await get(actionUrl(sim.url, requestId), microversion('latest'));
    expect(latest.headers.get('openstack-api-version')).toBe('compute 2.96');
  });

  it('answers 406 computeFault above the maximum and 400 badRequest when malformed', async () => {
    const sim = await start({ maxMicroversion: '2.60' });
    const above = await get(serverUrl(sim.url), microversion('2.61'));
    expect(above.status).toBe(406);
    expect(above.json).toEqual({
      computeFault: { code: 406, message: 'Version 2.61 is not supported by the API. Minimum is 2.1 and maximum is 2.60.' },
    });
    const malformed = await get(serverUrl(sim.url), microversion('two'));
    expect(malformed.status).toBe(400);
    expect(malformed.json).toEqual({
      badRequest: { code: 400, message: 'API Version String two is of invalid format. Must be of format MajorNum.MinorNum.' },
    });
  });
});

describe('instance action shapes match the upstream samples', () => {
  type Sample = ActionJson;
  const cases: { version: string; admin: string; member?: string }[] = [
    { version: '2.1', admin: 'v2.1/instance-action-get-resp.json' },
    { version: '2.21', admin: 'v2.21/instance-action-get-resp.json' },
    { version: '2.51', admin: 'v2.51/instance-action-get-resp.json', member: 'v2.51/instance-action-get-non-admin-resp.json' },
    { version: '2.58', admin: 'v2.58/instance-action-get-resp.json', member: 'v2.58/instance-action-get-non-admin-resp.json' },
    { version: '2.62', admin: 'v2.62/instance-action-get-resp.json', member: 'v2.62/instance-action-get-non-admin-resp.json' },
    { version: '2.66', admin: 'v2.66/instance-action-get-resp.json', member: 'v2.66/instance-action-get-non-admin-resp.json' },
    { version: '2.84', admin: 'v2.84/instance-action-get-resp.json', member: 'v2.84/instance-action-get-non-admin-resp.json' },
  ];

  async function finishedStop(role: 'admin' | 'member', version: string): Promise<ActionJson> {
    const clock = manualClock();
    const sim = await startSimulator({ role, now: clock.now });
    try {
      const requestId = addStop(sim);
      clock.advance(1000);
      const answer = await get<ActionJson>(actionUrl(sim.url, requestId), microversion(version));
      expect(answer.status).toBe(200);
      return answer.json;
    } finally {
      await sim.close();
    }
  }

  function expectSameShape(actual: ActionJson, sample: Sample): void {
    expect(sortedKeys(actual.instanceAction)).toEqual(sortedKeys(sample.instanceAction));
    const [event] = actual.instanceAction.events ?? [];
    const [sampleEvent] = sample.instanceAction.events ?? [];
    expect(event && sortedKeys(event)).toEqual(sampleEvent && sortedKeys(sampleEvent));
    for (const time of [actual.instanceAction.start_time, actual.instanceAction.updated_at, event?.start_time, event?.finish_time]) {
      if (time !== undefined) expect(time).toMatch(NOVA_TIME);
    }
  }

  for (const { version, admin, member } of cases) {
    it(`${version} admin view`, async () => {
      expectSameShape(await finishedStop('admin', version), fixture<Sample>(admin));
    });
    if (member !== undefined) {
      it(`${version} member view`, async () => {
        expectSameShape(await finishedStop('member', version), fixture<Sample>(member));
      });
    }
  }

  it('below 2.51 a member gets no events key at all', async () => {
    for (const version of ['2.1', '2.21', '2.50']) {
      const action = await finishedStop('member', version);
      expect(action.instanceAction).not.toHaveProperty('events');
      const sample = fixture<Sample>('v2.21/instance-action-get-resp.json').instanceAction;
      expect(sortedKeys(action.instanceAction)).toEqual(sortedKeys(sample).filter((key) => key !== 'events'));
    }
  });

  it('samples and simulator agree on the time format', () => {
    const sample = fixture<Sample>('v2.84/instance-action-get-resp.json').instanceAction;
    expect(sample.start_time).toMatch(NOVA_TIME);
    expect(sample.events?.[0]?.finish_time).toMatch(NOVA_TIME);
  });
});

describe('an action over time', () => {
  it('creates events one by one, newest first, with gaps where only task_state shows work', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const requestId = sim.addAction({
      projectId: PROJECT,
      serverId: SERVER,
      action: 'resize',
      gapMs: 1000,
      steps: [
        { event: 'compute_prep_resize', durationMs: 1000 },
        { event: 'compute_resize_instance', durationMs: 1000, taskState: 'resize_migrating' },
        { event: 'compute_finish_resize', durationMs: 1000, taskState: 'resize_finish' },
      ],
      taskStateClearsAfterMs: 500,
    });
    const look = async () => {
      const action = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.60'));
      const server = await get<ServerJson>(serverUrl(sim.url), microversion('2.60'));
      const events = action.json.instanceAction.events ?? [];
      return {
        events: events.map((e) => `${e.event}:${e.result ?? 'running'}`),
        finishTimes: events.map((e) => e.finish_time),
        status: server.json.server.status,
        taskState: server.json.server['OS-EXT-STS:task_state'],
        vmState: server.json.server['OS-EXT-STS:vm_state'],
        updatedAt: action.json.instanceAction.updated_at,
      };
    };

    let now = await look();
    expect(now).toMatchObject({ events: ['compute_prep_resize:running'], finishTimes: [null], status: 'RESIZE', taskState: 'resize_prep' });
    expect(now.updatedAt).toBe('2026-11-26T18:00:00.000000');

    clock.advance(1500); // in the first gap: every present event finished, the action is not
    now = await look();
    expect(now).toMatchObject({ events: ['compute_prep_resize:Success'], status: 'RESIZE', taskState: 'resize_prep' });
    expect(now.updatedAt).toBe('2026-11-26T18:00:01.000000');

    clock.advance(1000); // 2.5 s: second step running
    now = await look();
    expect(now).toMatchObject({
      events: ['compute_resize_instance:running', 'compute_prep_resize:Success'],
      taskState: 'resize_migrating',
    });

    clock.advance(1000); // 3.5 s: second gap
    now = await look();
    expect(now.events).toEqual(['compute_resize_instance:Success', 'compute_prep_resize:Success']);
    expect(now.taskState).toBe('resize_migrating');

    clock.advance(1500); // 5 s: last step finished, task_state not yet cleared
    now = await look();
    expect(now.events).toEqual(['compute_finish_resize:Success', 'compute_resize_instance:Success', 'compute_prep_resize:Success']);
    expect(now).toMatchObject({ status: 'RESIZE', taskState: 'resize_finish' });

    clock.advance(500);
    now = await look();
    expect(now).toMatchObject({ status: 'VERIFY_RESIZE', taskState: null, vmState: 'resized' });
    expect(now.updatedAt).toBe('2026-11-26T18:00:05.000000');
  });

  it('runs on Date.now by default, so a fake Date moves it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(START);
    const sim = await start();
    const requestId = sim.addAction({
      projectId: PROJECT,
      serverId: SERVER,
      action: 'reboot',
      steps: [{ event: 'compute_reboot_instance', durationMs: 60_000 }],
    });
    const before = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.51'));
    expect(before.json.instanceAction.events?.[0]?.finish_time).toBeNull();
    vi.setSystemTime(START + 60_000);
    const after = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.51'));
    expect(after.json.instanceAction.events?.[0]).toMatchObject({ result: 'Success', finish_time: '2026-11-26T18:01:00.000000' });
  });

  it('shows a failed step with message Error, the traceback to admins only and details from 2.84', async () => {
    for (const role of ['admin', 'member'] as const) {
      const clock = manualClock();
      const sim = await start({ role, now: clock.now });
      const requestId = sim.addAction({
        projectId: PROJECT,
        serverId: SERVER,
        action: 'rebuild',
        steps: [
          {
            event: 'compute_rebuild_instance',
            durationMs: 1000,
            result: 'Error',
            traceback: '  File "x.py", line 1, in f\n    raise Boom()\n',
            details: 'Boom',
          },
        ],
        fault: { message: 'Boom', details: 'Traceback (most recent call last):\n...' },
      });
      const running = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.84'));
      expect(running.json.instanceAction.message).toBeNull();
      clock.advance(1000);
      const failed = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.84'));
      const event = failed.json.instanceAction.events?.[0];
      expect(failed.json.instanceAction.message).toBe('Error');
      expect(event?.result).toBe('Error');
      if (role === 'admin') {
        expect(event).toMatchObject({ traceback: '  File "x.py", line 1, in f\n    raise Boom()\n', details: 'Boom', host: 'compute-1' });
      } else {
        expect(event).not.toHaveProperty('traceback');
        expect(event).not.toHaveProperty('details');
        expect(event).not.toHaveProperty('host');
      }
      const server = await get<ServerJson>(serverUrl(sim.url), microversion('2.84'));
      expect(server.json.server.status).toBe('ERROR');
      expect(server.json.server.fault).toMatchObject({ code: 500, message: 'Boom', created: '2026-11-26T18:00:01Z' });
      // Nova hides the details of a 500 fault from non-admins.
      expect(server.json.server.fault?.details !== undefined).toBe(role === 'admin');
      await sim.close();
    }
  });
});

describe("the cloud's clock set (setClock)", () => {
  it('keeps what it stamped before, stamps what comes after and dates its answers on the clock as set, and runs its scripts on in the time that passes', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const requestId = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 10 * 60_000 }] });
    clock.advance(60_000);
    sim.setClock(-30 * 60_000);
    clock.advance(5 * 60_000);
    let answer = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.60'));
    expect(answer.json.instanceAction).toMatchObject({ start_time: '2026-11-26T18:00:00.000000', events: [{ finish_time: null }] });
    // 18:06 less the 30 min: the Date header drops the milliseconds.
    expect(answer.headers.get('date')).toBe('Thu, 26 Nov 2026 17:36:00 GMT');
    clock.advance(4 * 60_000);
    sim.setClock(45 * 60_000);
    clock.advance(60_000);
    answer = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.60'));
    // Finished 10 min after it started, at 18:10 of the scripts, when the clock was 15 min ahead.
    expect(answer.json.instanceAction).toMatchObject({
      start_time: '2026-11-26T18:00:00.000000',
      updated_at: '2026-11-26T18:25:00.000000',
      events: [{ start_time: '2026-11-26T18:00:00.000000', finish_time: '2026-11-26T18:25:00.000000', result: 'Success' }],
    });
    expect(answer.headers.get('date')).toBe('Thu, 26 Nov 2026 18:26:00 GMT');
  });
});

describe('not found', () => {
  it('is 404 until the action becomes visible, while the server already exists', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const requestId = sim.addAction({
      projectId: PROJECT,
      serverId: SERVER,
      action: 'create',
      visibleAfterMs: 2000,
      steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000 }],
    });
    const early = await get(actionUrl(sim.url, requestId), microversion('2.60'));
    expect(early.status).toBe(404);
    expect(early.json).toEqual({ itemNotFound: { code: 404, message: `Action ${requestId} not found` } });
    const server = await get<ServerJson>(serverUrl(sim.url), microversion('2.60'));
    expect(server.json.server).toMatchObject({ status: 'BUILD', 'OS-EXT-STS:task_state': 'scheduling', 'OS-EXT-STS:vm_state': 'building' });
    clock.advance(2000);
    const visible = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.60'));
    expect(visible.status).toBe(200);
    expect(visible.json.instanceAction.start_time).toBe('2026-11-26T18:00:00.000000');
  });

  it('names the instance for an unknown server or project, and the action for an unknown request', async () => {
    const sim = await start();
    addStop(sim);
    const unknownServer = await get(actionUrl(sim.url, 'req-x', 'c0ffee00-0000-4000-8000-000000000000'));
    expect(unknownServer.json).toEqual({
      itemNotFound: { code: 404, message: 'Instance c0ffee00-0000-4000-8000-000000000000 could not be found.' },
    });
    expect((await get(actionUrl(sim.url, 'req-x', SERVER, 'another-project'))).status).toBe(404);
    expect((await get(serverUrl(sim.url, SERVER, 'another-project'))).status).toBe(404);
    const unknownAction = await get(actionUrl(sim.url, 'req-unknown'));
    expect(unknownAction.json).toEqual({ itemNotFound: { code: 404, message: 'Action req-unknown not found' } });
    expect((await get(`${sim.url}/v2.1/${PROJECT}/flavors`)).status).toBe(404);
  });

  it('answers a path nova does not route as nova 26\'s router does, whatever the microversion or method', async () => {
    const sim = await start();
    const requestId = addStop(sim);
    const real = readFileSync(new URL('../fixtures/nova-peer/unrouted/404.json', import.meta.url), 'utf8');
    for (const [path, init] of [
      [`/v2.1/${PROJECT}/servers/${SERVER}/os-instance-actionz/${requestId}`, {}],
      [`/v2.1/${PROJECT}/servers/${SERVER}/os-instance-actions/${requestId}/extra`, { headers: microversion('2.999') }],
      [`/v2.1/${PROJECT}/serverz/${SERVER}`, { method: 'POST' }],
    ] as const) {
      const answer = await fetch(`${sim.url}${path}`, init);
      expect(answer.status, path).toBe(404);
      expect(answer.headers.get('content-type')).toBe('application/json');
      // Routed before the microversion is read: no version headers, and not a fault nova raised.
      expect(answer.headers.get('openstack-api-version')).toBeNull();
      expect(await answer.json()).toEqual(JSON.parse(real));
    }
  });

  it('makes a deleted server 404, and its actions too below 2.21', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const requestId = sim.addAction({
      projectId: PROJECT,
      serverId: SERVER,
      action: 'delete',
      steps: [{ event: 'compute_terminate_instance', durationMs: 1000 }],
      taskStateClearsAfterMs: 100,
    });
    const deleting = await get<ServerJson>(serverUrl(sim.url));
    expect(deleting.json.server['OS-EXT-STS:task_state']).toBe('deleting');
    clock.advance(1100);
    const gone = await get(serverUrl(sim.url));
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual({ itemNotFound: { code: 404, message: `Instance ${SERVER} could not be found.` } });
    expect((await get(actionUrl(sim.url, requestId), microversion('2.20'))).status).toBe(404);
    expect((await get(actionUrl(sim.url, requestId), microversion('2.21'))).status).toBe(200);
    const readable = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.51'));
    expect(readable.status).toBe(200);
    expect(readable.json.instanceAction.events?.[0]?.result).toBe('Success');
  });

  it('refuses a second action with the same request id on a server', async () => {
    const sim = await start();
    const requestId = addStop(sim);
    expect(() =>
      sim.addAction({ projectId: PROJECT, serverId: SERVER, requestId, action: 'start', steps: [] }),
    ).toThrow(/already exists/);
  });
});

describe('the server (views/servers.py ViewBuilder.show)', () => {
  it('keeps created, instance.created_at, when later actions run on the server; updated moves', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000 }] });
    clock.advance(60_000);
    sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }] });
    clock.advance(5_000);
    const server = await get<ServerJson>(serverUrl(sim.url));
    expect(server.json.server).toMatchObject({ created: '2026-11-26T18:00:00Z', updated: '2026-11-26T18:01:01Z' });
    const detail = await get<{ servers: Array<Record<string, unknown>> }>(`${sim.url}/v2.1/${PROJECT}/servers/detail`);
    expect(detail.json.servers[0]?.['created']).toBe('2026-11-26T18:00:00Z');
  });

  it('shows hostId "" while a new server is scheduling, as utils.generate_hostid does without a host', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'create', firstStepAfterMs: 60_000, steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000 }] });
    const scheduling = await get<ServerJson>(serverUrl(sim.url));
    expect(scheduling.json.server).toMatchObject({ 'OS-EXT-STS:task_state': 'scheduling', hostId: '' });
    clock.advance(60_000);
    const building = await get<ServerJson>(serverUrl(sim.url));
    expect(building.json.server['hostId']).toMatch(/^[0-9a-f]{56}$/);
  });
});

describe('servers/detail in pages', () => {
  it('keeps every request parameter in the next link, as common.ViewBuilder._get_next_link', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    for (const id of ids) {
      sim.addAction({ projectId: PROJECT, serverId: id, action: 'reboot', steps: [] });
      clock.advance(1000);
    }
    const detail = `${sim.url}/v2.1/${PROJECT}/servers/detail`;
    const page = await get<{ servers_links?: Array<{ rel: string; href: string }> }>(`${detail}?limit=1&changes-since=2000-01-01T00:00:00Z`);
    // Sorted by name, marker set to the page's last server.
    expect(page.json.servers_links).toEqual([{ rel: 'next', href: `${detail}?changes-since=2000-01-01T00%3A00%3A00Z&limit=1&marker=${ids[1]}` }]);
    const next = await get<{ servers: Array<{ id: string }> }>(page.json.servers_links![0]!.href);
    expect(next.json.servers.map((s) => s.id)).toEqual([ids[0]]);
    expect((await get(`${detail}?limit=many`)).status).toBe(400);
  });

  it('holds at most maxLimit (CONF.api.max_limit) a page of a server\'s actions, also when a larger limit is asked', async () => {
    const sim = await start({ maxLimit: 2 });
    const requests = [1, 2, 3].map(() => sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'reboot', steps: [] }));
    const actions = `${sim.url}/v2.1/${PROJECT}/servers/${SERVER}/os-instance-actions`;
    type Page = { instanceActions: Array<{ request_id: string }>; links?: Array<{ rel: string; href: string }> };
    const first = await get<Page>(`${actions}?limit=5`, { 'OpenStack-API-Version': 'compute 2.58' });
    expect(first.json.instanceActions.map((a) => a.request_id)).toEqual([requests[2], requests[1]]);
    const next = await get<Page>(first.json.links![0]!.href, { 'OpenStack-API-Version': 'compute 2.58' });
    expect(next.json.instanceActions.map((a) => a.request_id)).toEqual([requests[0]]);
    expect(next.json.links).toBeUndefined();
  });
});

describe('authentication and the request log', () => {
  it('answers 401 Keystone-style without the right token', async () => {
    const sim = await start({ token: 'good' });
    const requestId = addStop(sim);
    for (const headers of [{}, { 'X-Auth-Token': 'bad' }] as Record<string, string>[]) {
      const answer = await get(actionUrl(sim.url, requestId), headers);
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      });
      expect(answer.headers.get('www-authenticate')).toMatch(/^Keystone uri=/);
    }
    expect((await get(actionUrl(sim.url, requestId), { 'X-Auth-Token': 'good' })).status).toBe(200);
    sim.setToken('renewed');
    expect((await get(actionUrl(sim.url, requestId), { 'X-Auth-Token': 'good' })).status).toBe(401);
    expect((await get(actionUrl(sim.url, requestId), { 'X-Auth-Token': 'renewed' })).status).toBe(200);
  });

  it('records method, path, headers, route, time and status of every request', async () => {
    const clock = manualClock();
    const sim = await start({ token: 't', now: clock.now });
    const requestId = addStop(sim);
    await get(`${sim.url}/v2.1/`);
    clock.advance(5);
    await get(`${actionUrl(sim.url, requestId)}?x=1`, { 'X-Auth-Token': 't', ...microversion('2.60') });
    await get(serverUrl(sim.url));
    expect(sim.requests).toEqual([
      expect.objectContaining({ method: 'GET', path: '/v2.1/', route: 'versions', status: 200, at: START }),
      expect.objectContaining({
        path: `/v2.1/${PROJECT}/servers/${SERVER}/os-instance-actions/${requestId}?x=1`,
        route: 'action',
        status: 200,
        at: START + 5,
        headers: expect.objectContaining({ 'x-auth-token': 't', 'x-openstack-nova-api-version': '2.60' }),
      }),
      expect.objectContaining({ route: 'server', status: 401 }),
    ]);
    sim.clearRequests();
    expect(sim.requests).toEqual([]);
  });

  it('numbers the connection each request came on', async () => {
    const sim = await start({});
    // One connection, kept alive: an unbounded pool may open a second for a request sent as an answer ends.
    const pool = new Agent({ connections: 1 });
    const viaPool = async () => (await fetch(`${sim.url}/v2.1/`, { dispatcher: pool })).text();
    await viaPool();
    await viaPool();
    // A connection of its own, closed after its one request.
    await new Promise<void>((resolve, reject) => httpGet(`${sim.url}/v2.1/`, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject));
    await viaPool();
    await pool.close();
    expect(sim.requests.map((r) => r.connection)).toEqual([1, 1, 2, 1]);
  });
});
