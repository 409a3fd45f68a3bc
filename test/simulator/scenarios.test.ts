// The demo scenarios judged over HTTP by a reading of CONTRACT.md "When a watch ends" written here,
// independently of the watcher's code, polling every 250 ms of simulated time.

import { afterEach, describe, expect, it } from 'vitest';
import { demoScenarios, startSimulator, type DemoScenario, type Simulator } from '../../src/simulator/index.ts';
import { planAction } from '../../src/simulator/script.ts';
import { actionUrl, get, manualClock, microversion, PROJECT, serverUrl, START, type ActionJson, type ServerJson } from './helpers.ts';

const POLL_MS = 250;
const MOVES = new Set(['live-migration', 'migrate', 'resize', 'evacuate']);
const DEADLINE_MS = 10_000;

interface Observation {
  outcome: 'success' | 'failure' | 'timeout';
  /** Simulated ms after the start when the outcome was reached. */
  at: number;
  /** A poll saw every present event finished while task_state was still set. */
  sawQuietGap: boolean;
  /** A poll answered 404 for the action. */
  sawNotFound: boolean;
  action: ActionJson['instanceAction'] | undefined;
  server: ServerJson['server'] | undefined;
}

async function observe(sim: Simulator, clock: ReturnType<typeof manualClock>, scenarios: DemoScenario[]): Promise<Map<string, Observation>> {
  const seen = new Map<string, Observation>(
    scenarios.map((s) => [
      s.key,
      { outcome: 'timeout', at: DEADLINE_MS, sawQuietGap: false, sawNotFound: false, action: undefined, server: undefined },
    ]),
  );
  const open = new Set(scenarios);
  for (let elapsed = 0; elapsed <= DEADLINE_MS && open.size > 0; elapsed += POLL_MS, clock.advance(POLL_MS)) {
    for (const scenario of open) {
      const { serverId, requestId } = scenario.script;
      const record = seen.get(scenario.key);
      if (record === undefined) throw new Error('unreachable');
      const action = await get<ActionJson>(actionUrl(sim.url, requestId, serverId), microversion('2.60'));
      if (action.status === 404) {
        record.sawNotFound = true;
        continue;
      }
      record.action = action.json.instanceAction;
      const events = record.action.events ?? [];
      if (events.length === 0 || events.some((event) => event.finish_time === null)) continue;
      const server = await get<ServerJson>(serverUrl(sim.url, serverId), microversion('2.60'));
      const gone = server.status === 404;
      record.server = gone ? undefined : server.json.server;
      if (!gone && server.json.server['OS-EXT-STS:task_state'] !== null) {
        record.sawQuietGap = true;
        continue;
      }
      let succeeded =
        events.every((event) => event.result === 'Success') && !record.action.message && (gone || server.json.server.status !== 'ERROR');
      // A move is over only when its migration record says so (admin: GET /os-migrations).
      if (succeeded && MOVES.has(record.action.action)) {
        const migrations = await get<{ migrations: Array<{ status: string }> }>(`${sim.url}/v2.1/${PROJECT}/os-migrations?instance_uuid=${serverId}`, microversion('2.60'));
        const status = migrations.json.migrations[0]?.status;
        if (status === undefined || ['accepted', 'pre-migrating', 'migrating', 'queued', 'preparing', 'running', 'post-migrating'].includes(status)) continue;
        succeeded = !['failed', 'error', 'cancelled'].includes(status);
      }
      record.outcome = succeeded ? 'success' : 'failure';
      record.at = elapsed;
      open.delete(scenario);
    }
  }
  return seen;
}

let simulator: Simulator | undefined;

afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

describe('demo scenarios', () => {
  it('end as each one expects, every finishing one within 8 s', async () => {
    const clock = manualClock();
    simulator = await startSimulator({ role: 'admin', now: clock.now });
    const scenarios = demoScenarios(PROJECT);
    for (const scenario of scenarios) simulator.addAction(scenario.script);
    const seen = await observe(simulator, clock, scenarios);
    for (const scenario of scenarios) {
      const record = seen.get(scenario.key);
      expect({ key: scenario.key, outcome: record?.outcome }).toEqual({ key: scenario.key, outcome: scenario.expected });
      if (scenario.expected !== 'timeout') expect(record?.at).toBeLessThanOrEqual(8000);
    }

    const resize = seen.get('resize-ok');
    expect(resize?.sawQuietGap).toBe(true);
    expect(resize?.action?.events?.map((event) => event.event)).toEqual([
      'compute_finish_resize',
      'compute_resize_instance',
      'compute_prep_resize',
    ]);
    expect(resize?.server?.status).toBe('VERIFY_RESIZE');

    const noValidHost = seen.get('create-no-valid-host');
    expect(noValidHost?.action?.events?.[0]?.result).toBe('Error');
    expect(noValidHost?.server?.fault?.message).toMatch(/No valid host/);

    expect(seen.get('create-late')?.sawNotFound).toBe(true);
    expect(seen.get('create-late')?.at).toBeGreaterThanOrEqual(2000);

    const silent = seen.get('create-silent-error');
    expect(silent?.action?.events?.every((event) => event.result === 'Success')).toBe(true);
    expect(silent?.server).toMatchObject({ status: 'ERROR', fault: { code: 500 } });

    const rolledBack = seen.get('live-migration-rolled-back');
    expect(rolledBack?.action?.events?.every((event) => event.result === 'Success')).toBe(true);
    expect(rolledBack?.server).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:task_state': null });
    expect(rolledBack?.server).not.toHaveProperty('fault');
  });

  it('show admins the traceback of the failed create', async () => {
    const clock = manualClock();
    simulator = await startSimulator({ role: 'admin', now: clock.now });
    const scenario = demoScenarios(PROJECT).find((s) => s.key === 'create-no-valid-host');
    if (scenario === undefined) throw new Error('scenario missing');
    simulator.addAction(scenario.script);
    clock.advance(5000);
    const { serverId, requestId } = scenario.script;
    const action = await get<ActionJson>(actionUrl(simulator.url, requestId, serverId), microversion('2.60'));
    expect(action.json.instanceAction.events?.[0]?.traceback).toContain('select_destinations');
    const server = await get<ServerJson>(serverUrl(simulator.url, serverId), microversion('2.60'));
    expect(server.json.server.fault?.details).toMatch(/^Traceback \(most recent call last\):/);
  });

  it('get fresh ids on every call, in the given project, and settle within 8 s', () => {
    const first = demoScenarios('p1');
    const second = demoScenarios('p1');
    const ids = [...first, ...second].flatMap((s) => [s.script.serverId, s.script.requestId]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(first.every((s) => s.script.projectId === 'p1')).toBe(true);
    expect(first.map((s) => s.key)).toEqual(['resize-ok', 'create-no-valid-host', 'reboot-stuck', 'create-late', 'create-silent-error', 'live-migration-rolled-back']);
    for (const scenario of first) {
      const settled = planAction(scenario.script, START).settledAt - START;
      if (scenario.expected === 'timeout') expect(settled).toBe(Infinity);
      else expect(settled).toBeLessThanOrEqual(8000);
    }
  });
});
