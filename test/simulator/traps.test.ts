// The simulator plays the situations a watcher gets wrong (issue 5): 404s that are not Nova's, server
// blips, local deletes, rolled-back live migrations with their os-migrations records and hostIds, and
// newer actions on the same server. Shapes follow Nova's API reference and the answers a real nova-api
// 26 gave (shared/nova-peer/README.md).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { liveMigrationScript, type ActionScript, type Simulator } from '../../src/simulator/index.ts';
import { actionUrl, fixture, get, manualClock, microversion, PROJECT, SERVER, serverUrl, type ActionJson, type ServerJson, simulatorPerTest } from './helpers.ts';

const start = simulatorPerTest();

const sha224 = (text: string) => createHash('sha224').update(text).digest('hex');
const migrationsUrl = (base: string, query = `?instance_uuid=${SERVER}`) => `${base}/v2.1/${PROJECT}/os-migrations${query}`;
const listUrl = (base: string, query = '') => `${serverUrl(base)}/os-instance-actions${query}`;

type ActionListJson = { instanceActions: Array<{ request_id: string; updated_at?: string }>; links?: Array<{ rel: string; href: string }> };

/** Three finished actions on SERVER, a second apart: create, stop, start (newest last). */
async function threeActions(): Promise<{ sim: Simulator; ids: string[] }> {
  const clock = manualClock();
  const sim = await start({ now: clock.now });
  const ids = ['create', 'stop', 'start'].map((action) => {
    const id = sim.addAction({ projectId: PROJECT, serverId: SERVER, action, steps: [{ event: `compute_${action}`, durationMs: 100 }] });
    clock.advance(1000);
    return id;
  });
  return { sim, ids };
}

interface MigrationJson {
  id: number;
  status: string;
  migration_type?: string;
  source_compute: string;
  dest_compute: string;
  created_at: string;
  updated_at: string | null;
  uuid?: string;
  links?: unknown[];
  [key: string]: unknown;
}

/** A live migration of SERVER from compute-1 to compute-2: task_state clears at 3.8 s, the record ends at 4.8 s. */
const liveMigration = (finalStatus: string, extra: Partial<ActionScript> = {}): ActionScript => ({
  ...liveMigrationScript({ projectId: PROJECT, serverId: SERVER }, finalStatus),
  ...extra,
});

describe('404s that are not the API\'s own', () => {
  it.each([
    ['gateway-not-found', 'application/json', /"error_code":"APIGW\.0101"/],
    ['router-not-found', 'application/json', /^\{"message": ?"The resource could not be found\.<br \/><br \/>\\n\\n\\n", ?"code": ?"404 Not Found", ?"title": ?"Not Found"\}$/],
  ] as const)('%s answers 404 as %s', async (kind, type, body) => {
    const sim = await start();
    const requestId = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'stop', steps: [] });
    sim.injectFault({ kind }, { route: 'action' });
    const answer = await get(actionUrl(sim.url, requestId));
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toBe(type);
    expect(answer.text).toMatch(body);
    expect((await get(actionUrl(sim.url, requestId))).status).toBe(200);
  });

  it('firewall-refused answers 403 with an HTML page, as a firewall in front of the API would', async () => {
    const sim = await start();
    const requestId = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'stop', steps: [] });
    sim.injectFault({ kind: 'firewall-refused' }, { route: 'action' });
    const answer = await get(actionUrl(sim.url, requestId));
    expect(answer.status).toBe(403);
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.text).toMatch(/^<!DOCTYPE html>\n<html><head><title>Access Denied<\/title>/);
    expect((await get(actionUrl(sim.url, requestId))).status).toBe(200);
  });

  it('policy-refused answers 403 with Nova\'s forbidden body naming the route\'s own rule', async () => {
    const sim = await start();
    const requestId = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'stop', steps: [] });
    sim.injectFault({ kind: 'policy-refused' }, { route: 'actions' });
    const listUrl = actionUrl(sim.url, requestId).replace(`/${requestId}`, '');
    const answer = await get(listUrl);
    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-instance-actions:list to be performed." } });
    // Showing the one action is another rule, which this policy allows.
    expect((await get(actionUrl(sim.url, requestId))).status).toBe(200);
    expect((await get(listUrl)).status).toBe(200);
  });

  it('a server blip is Nova\'s own itemNotFound naming the server', async () => {
    const sim = await start();
    sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
    sim.injectFault({ kind: 'not-found' }, { route: 'server', times: 2 });
    for (let i = 0; i < 2; i++) {
      const blip = await get(serverUrl(sim.url));
      expect(blip.status).toBe(404);
      expect(blip.json).toEqual({ itemNotFound: { code: 404, message: `Instance ${SERVER} could not be found.` } });
    }
    expect((await get(serverUrl(sim.url))).status).toBe(200);
  });
});

describe('a server\'s fault (views/servers.py _get_fault)', () => {
  it('leaves out details that are empty, as Nova shows details only when they hold something', async () => {
    const clock = manualClock();
    const sim = await start({ role: 'admin', now: clock.now });
    sim.addAction({
      projectId: PROJECT,
      serverId: SERVER,
      action: 'create',
      steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 100, result: 'Error' }],
      fault: { code: 500, message: 'No valid host was found. ', details: '' },
    });
    clock.advance(1000);
    const server = (await get<ServerJson>(serverUrl(sim.url), microversion('2.84'))).json.server;
    expect(server).toMatchObject({ status: 'ERROR', fault: { code: 500, message: 'No valid host was found. ' } });
    expect(server.fault).not.toHaveProperty('details');
  });
});

describe('a local delete', () => {
  it('records the delete with no events once the server is already gone', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000 }] });
    clock.advance(60_000);
    const requestId = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'delete', steps: [] });
    const action = await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.60'));
    expect(action.json.instanceAction).toMatchObject({ action: 'delete', events: [] });
    expect((await get(serverUrl(sim.url), microversion('2.60'))).status).toBe(404);
    // Below 2.21 Nova looks the instance up without read_deleted: the deleted server's actions are 404 too.
    expect((await get(actionUrl(sim.url, requestId), microversion('2.20'))).status).toBe(404);
  });
});

describe('the server\'s action list', () => {
  it('lists actions newest first without events, with updated_at from 2.58, as the upstream sample', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const first = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000 }] });
    clock.advance(10_000);
    const second = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'stop', steps: [{ event: 'compute_stop_instance', durationMs: 1000 }] });
    clock.advance(10_000);

    const list = await get<{ instanceActions: Array<Record<string, unknown>> }>(listUrl(sim.url), microversion('2.58'));
    expect(list.json.instanceActions.map((a) => a['request_id'])).toEqual([second, first]);
    const sample = fixture<{ instanceActions: Array<Record<string, unknown>> }>('v2.58/instance-actions-list-resp.json');
    expect(Object.keys(list.json.instanceActions[0]!).sort()).toEqual(Object.keys(sample.instanceActions[0]!).sort());
    const old = await get<{ instanceActions: Array<Record<string, unknown>> }>(listUrl(sim.url), microversion('2.57'));
    expect(old.json.instanceActions[0]).not.toHaveProperty('updated_at');
    expect((await get(`${sim.url}/v2.1/${PROJECT}/servers/00000000-0000-4000-8000-000000000000/os-instance-actions`)).status).toBe(404);
  });

  it('a newer action owns the server: its task state shows while the older action stays finished', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const resize = sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'resize', steps: [{ event: 'compute_prep_resize', durationMs: 1000 }] });
    clock.advance(5000);
    sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 60_000 }] });
    clock.advance(1000);
    const server = await get<ServerJson>(serverUrl(sim.url), microversion('2.60'));
    expect(server.json.server['OS-EXT-STS:task_state']).toBe('deleting');
    const action = await get<ActionJson>(actionUrl(sim.url, resize), microversion('2.60'));
    expect(action.json.instanceAction.events?.every((e) => e.finish_time !== null)).toBe(true);
  });
});

describe('the server\'s action list in pages (2.58+: common.get_limit_and_marker, db actions_get)', () => {
  it('honours limit with a next link to the page after, as v2.58/instance-actions-list-with-limit-resp.json', async () => {
    const sample = fixture<ActionListJson>('v2.58/instance-actions-list-with-limit-resp.json');
    expect(sample.links?.[0]?.href).toContain(`?limit=1&marker=${sample.instanceActions[0]!.request_id}`);
    const { sim, ids } = await threeActions();
    const page = await get<ActionListJson>(listUrl(sim.url, '?limit=1'), microversion('2.58'));
    expect(page.json.instanceActions.map((a) => a.request_id)).toEqual([ids[2]]);
    expect(page.json.links).toEqual([{ rel: 'next', href: `${listUrl(sim.url)}?limit=1&marker=${ids[2]}` }]);
    const full = await get<ActionListJson>(listUrl(sim.url, '?limit=3'), microversion('2.58'));
    expect(full.json.links).toEqual([{ rel: 'next', href: `${listUrl(sim.url)}?limit=3&marker=${ids[0]}` }]);
    // Below a full page, as in the sample without limit, there is no links key at all.
    expect(Object.keys((await get(listUrl(sim.url, '?limit=4'), microversion('2.58'))).json as object)).toEqual(['instanceActions']);
  });

  it('starts after the marker (v2.58/instance-actions-list-with-marker-resp.json) and refuses one it does not know', async () => {
    const { sim, ids } = await threeActions();
    const page = await get<ActionListJson>(listUrl(sim.url, `?marker=${ids[2]}`), microversion('2.58'));
    expect(page.json.instanceActions.map((a) => a.request_id)).toEqual([ids[1], ids[0]]);
    // actions_get raises MarkerNotFound with the lookup's result (None) in place of the id, which index
    // answers as HTTPBadRequest (nova/db/main/api.py actions_get).
    const unknown = await get<Record<string, { message: string }>>(listUrl(sim.url, '?marker=req-00000000-0000-0000-0000-000000000000'), microversion('2.58'));
    expect(unknown.status).toBe(400);
    expect(unknown.json['badRequest']?.message).toBe('Marker None could not be found.');
    expect((await get(listUrl(sim.url, '?limit=x'), microversion('2.58'))).status).toBe(400);
  });

  it('answers at most CONF.api.max_limit (1000) actions with a next link when no limit is given', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    for (let i = 0; i < 1001; i++) {
      sim.addAction({ projectId: PROJECT, serverId: SERVER, action: 'reboot', steps: [] });
      clock.advance(1);
    }
    const page = await get<ActionListJson>(listUrl(sim.url), microversion('2.84'));
    expect(page.json.instanceActions).toHaveLength(1000);
    expect(new URL(page.json.links![0]!.href).search).toBe(`?marker=${page.json.instanceActions[999]!.request_id}`);
    // Before 2.58 the list has no pages.
    expect((await get<ActionListJson>(listUrl(sim.url), microversion('2.57'))).json.instanceActions).toHaveLength(1001);
  });
});

describe('the server\'s action list query (schemas/instance_actions.py, db actions_get)', () => {
  it('refuses from 2.58 a parameter the schema does not list (additionalProperties: False), changes-before before 2.66', async () => {
    const { sim } = await threeActions();
    const answer = await get<Record<string, { message: string }>>(listUrl(sim.url, '?changes-before=2030-01-01T00:00:00Z'), microversion('2.58'));
    expect(answer.status).toBe(400);
    expect(answer.json['badRequest']?.message).toBe("Additional properties are not allowed ('changes-before' was unexpected)");
    expect((await get(listUrl(sim.url, '?changes-before=2030-01-01T00:00:00Z'), microversion('2.65'))).status).toBe(400);
    expect((await get(listUrl(sim.url, '?sort=x'), microversion('2.66'))).status).toBe(400);
    // Before 2.58 the list takes no query and ignores what it is given.
    expect((await get(listUrl(sim.url, '?changes-before=2030-01-01T00:00:00Z'), microversion('2.57'))).status).toBe(200);
  });

  it('from 2.66 lists only actions updated at or before changes-before, and refuses one before changes-since', async () => {
    const { sim, ids } = await threeActions();
    const all = await get<ActionListJson>(listUrl(sim.url), microversion('2.66'));
    const oldest = all.json.instanceActions.find((a) => a.request_id === ids[0])!;
    // The bound is inclusive: the oldest action's own updated_at lists it.
    const answer = await get<ActionListJson>(listUrl(sim.url, `?changes-before=${oldest.updated_at}Z`), microversion('2.66'));
    expect(answer.json.instanceActions.map((a) => a.request_id)).toEqual([ids[0]]);
    const crossed = await get<Record<string, { message: string }>>(
      listUrl(sim.url, '?changes-since=2030-01-02T00:00:00Z&changes-before=2030-01-01T00:00:00Z'),
      microversion('2.66'),
    );
    expect(crossed.status).toBe(400);
    expect(crossed.json['badRequest']?.message).toBe('The value of changes-since must be less than or equal to changes-before.');
    expect((await get(listUrl(sim.url, '?changes-before=soon'), microversion('2.66'))).status).toBe(400);
  });

  it('reads changes-since as timeutils.parse_isotime does: ISO 8601 only, a time without zone as UTC whatever the host TZ', async () => {
    const saved = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      const { sim, ids } = await threeActions();
      const listed = (answer: { json: ActionListJson }) => answer.json.instanceActions.map((a) => a.request_id);
      const all = await get<ActionListJson>(listUrl(sim.url), microversion('2.58'));
      const newest = all.json.instanceActions.find((a) => a.request_id === ids[2])!;
      // updated_at as Nova writes it, without zone: the bound is inclusive, so the newest is listed.
      expect(listed(await get<ActionListJson>(listUrl(sim.url, `?changes-since=${newest.updated_at}`), microversion('2.58')))).toEqual([ids[2]]);
      // The newest action ends at 18:00:02.100 UTC: 19:00:02+01:00 is before that, 18:00:03 (UTC) after.
      expect(listed(await get<ActionListJson>(listUrl(sim.url, '?changes-since=2026-11-26T19:00:02%2B01:00'), microversion('2.58')))).toEqual([ids[2]]);
      expect(listed(await get<ActionListJson>(listUrl(sim.url, '?changes-since=2026-11-26 18:00:03'), microversion('2.58')))).toEqual([]);
      for (const text of ['Thu, 26 Nov 2026 18:00:00 GMT', '2026-11-26T25:00:00Z', '2026-02-30', '26 November 2026']) {
        const answer = await get<Record<string, { message: string }>>(listUrl(sim.url, `?changes-since=${encodeURIComponent(text)}`), microversion('2.58'));
        expect(answer.json['badRequest']?.message).toBe(`Invalid input for query parameters changes-since. Value: ${text}. '${text}' is not a 'date-time'`);
      }
      const servers = await get(`${sim.url}/v2.1/${PROJECT}/servers/detail?changes-since=${encodeURIComponent('Thu, 26 Nov 2026 18:00:00 GMT')}`);
      expect(servers.status).toBe(400);
    } finally {
      if (saved === undefined) delete process.env['TZ'];
      else process.env['TZ'] = saved;
    }
  });
});

describe('os-migrations and hostIds of a live migration', () => {
  it('is admin only by default policy', async () => {
    const sim = await start({ role: 'member' });
    sim.addAction(liveMigration('completed'));
    const answer = await get(migrationsUrl(sim.url), microversion('2.80'));
    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-migrations:index to be performed." } });
  });

  it('a rolled-back live migration: every event Success, task_state cleared, host unchanged, then the record failed', async () => {
    const clock = manualClock();
    const sim = await start({ role: 'admin', now: clock.now });
    const requestId = sim.addAction(liveMigration('failed'));
    const records = async (version = '2.80') => (await get<{ migrations: MigrationJson[] }>(migrationsUrl(sim.url), microversion(version))).json.migrations;

    clock.advance(300);
    expect((await records())[0]).toMatchObject({ status: 'accepted', migration_type: 'live-migration', source_compute: 'compute-1', dest_compute: 'compute-2', updated_at: null });
    clock.advance(1700);
    const running = (await records())[0]!;
    expect(running.status).toBe('running');
    expect(running.links).toHaveLength(2);
    expect((await get<ServerJson>(serverUrl(sim.url), microversion('2.62'))).json.server).toMatchObject({ status: 'MIGRATING', 'OS-EXT-STS:task_state': 'migrating' });

    // The events all ended Success at 2.3 s; the rollback clears task_state at 3.8 s, the record follows at 4.8 s.
    clock.advance(2000);
    const server = (await get<ServerJson>(serverUrl(sim.url), microversion('2.62'))).json.server;
    expect(server).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:task_state': null, hostId: sha224(`${PROJECT}compute-1`) });
    expect(server).not.toHaveProperty('fault');
    expect((await records())[0]!.status).toBe('running');
    clock.advance(1000);
    const failed = (await records())[0]!;
    expect(failed).toMatchObject({ status: 'failed', updated_at: expect.any(String) });
    expect(failed).not.toHaveProperty('links');
    expect(failed).toHaveProperty('user_id');

    const action = (await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.62'))).json.instanceAction;
    expect(action.message).toBeNull();
    expect(action.events?.every((e) => e.result === 'Success')).toBe(true);
    const event = action.events?.find((e) => e.event === 'compute_live_migration');
    expect(event?.['hostId']).toBe(server['hostId']);
  });

  it('a completed live migration moves the server to the destination before the record completes', async () => {
    const clock = manualClock();
    const sim = await start({ role: 'admin', now: clock.now });
    sim.addAction(liveMigration('completed'));
    clock.advance(4000);
    const server = (await get<ServerJson>(serverUrl(sim.url), microversion('2.62'))).json.server;
    expect(server).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:task_state': null, hostId: sha224(`${PROJECT}compute-2`) });
    clock.advance(1000);
    const records = (await get<{ migrations: MigrationJson[] }>(migrationsUrl(sim.url), microversion('2.59'))).json.migrations;
    expect(records[0]).toMatchObject({ status: 'completed', uuid: expect.any(String) });
    expect(records[0]).not.toHaveProperty('user_id');
  });

  it.each([
    // conductor/tasks/migrate.py creates pre-migrating, compute/manager.py resize_instance sets migrating.
    ['resize', 'resize', 'pre-migrating', 'migrating', 'finished'],
    ['migrate', 'migration', 'pre-migrating', 'migrating', 'finished'],
    // compute/api.py evacuate creates accepted, resource_tracker.py rebuild_claim sets pre-migrating.
    ['evacuate', 'evacuation', 'accepted', 'pre-migrating', 'done'],
  ])('%s: the record passes through Nova\'s statuses of a %s move, never a live migration\'s running', async (action, type, created, running, done) => {
    const clock = manualClock();
    const sim = await start({ role: 'admin', now: clock.now });
    sim.addAction({
      projectId: PROJECT,
      serverId: SERVER,
      action,
      host: 'compute-1',
      migration: { destHost: 'compute-2' },
      steps: [{ event: 'compute_prep', durationMs: 1000 }, { event: 'compute_move', durationMs: 1000 }],
    });
    const status = async () => (await get<{ migrations: MigrationJson[] }>(migrationsUrl(sim.url), microversion('2.59'))).json.migrations[0];
    expect(await status()).toMatchObject({ status: created, migration_type: type, updated_at: null });
    clock.advance(1500);
    expect(await status()).toMatchObject({ status: running, updated_at: expect.any(String) });
    expect(await status()).not.toHaveProperty('links');
    clock.advance(1000);
    expect((await status())?.status).toBe(done);
  });

  it('shapes records per microversion and orders them newest first from 2.59', async () => {
    const clock = manualClock();
    const sim = await start({ role: 'admin', now: clock.now });
    sim.addAction(liveMigration('completed'));
    clock.advance(60_000);
    sim.addAction(liveMigration('failed'));
    clock.advance(60_000);
    sim.addAction({ ...liveMigration('completed'), serverId: '11111111-2222-4333-8444-555555555555' });
    clock.advance(60_000);

    const at = async (version: string, query?: string) => (await get<{ migrations: MigrationJson[] }>(migrationsUrl(sim.url, query), microversion(version))).json.migrations;
    const old = await at('2.1');
    expect(old.map((m) => m.status)).toEqual(['completed', 'failed']);
    expect(old[0]).not.toHaveProperty('migration_type');
    expect(old[0]).not.toHaveProperty('uuid');
    expect((await at('2.59')).map((m) => m.status)).toEqual(['failed', 'completed']);
    expect(await at('2.23', '')).toHaveLength(3);
    expect((await get(`${sim.url}/v2.1/os-migrations`)).status).toBe(200);
  });

  it('an admin acting from another project: the event hostId is hashed with that project', async () => {
    const clock = manualClock();
    const sim = await start({ role: 'admin', now: clock.now });
    const requestId = sim.addAction(liveMigration('failed', { actionProjectId: 'ad0000000000000000000000000000ad' }));
    clock.advance(60_000);
    const action = (await get<ActionJson>(actionUrl(sim.url, requestId), microversion('2.62'))).json.instanceAction;
    expect(action['project_id']).toBe('ad0000000000000000000000000000ad');
    const event = action.events?.find((e) => e.event === 'compute_live_migration');
    expect(event?.['hostId']).toBe(sha224('ad0000000000000000000000000000adcompute-1'));
    const server = (await get<ServerJson>(serverUrl(sim.url), microversion('2.62'))).json.server;
    expect(server['hostId']).toBe(sha224(`${PROJECT}compute-1`));
  });
});
