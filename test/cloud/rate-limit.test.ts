import { afterEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { createEcsClient, type EcsClient } from '../../src/cloud/client.ts';

let simulator: Simulator;
let client: EcsClient;
afterEach(async () => {
  await client.close();
  await simulator.close();
});

it('never sends more than poll.rateLimit requests in any window', async () => {
  simulator = await startSimulator();
  const requestId = simulator.addAction({ projectId: 'p1', serverId: 's1', action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }] });
  client = createEcsClient(
    { endpoint: simulator.url, auth: { type: 'none' }, microversion: '2.60', timeout: 5000 },
    { logger: pino({ level: 'silent' }), rateLimit: { count: 3, perMs: 300 } },
  );
  await Promise.all(Array.from({ length: 9 }, () => client.getInstanceAction({ projectId: 'p1', serverId: 's1', requestId })));
  const times = simulator.requests.map((r) => r.at).sort((a, b) => a - b);
  expect(times).toHaveLength(9);
  // Any four consecutive requests span at least one window (less network jitter): without the limit all nine
  // arrive within a few milliseconds.
  for (let i = 3; i < times.length; i++) expect(times[i]! - times[i - 3]!).toBeGreaterThanOrEqual(250);
});
