import { afterEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { cloudConfig } from './helpers.ts';
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
    cloudConfig({ endpoint: simulator.url, microversion: '2.60', timeout: 5000 }),
    { logger: pino({ level: 'silent' }), rateLimit: { count: 2, perMs: 600 } },
  );
  await Promise.all(Array.from({ length: 6 }, () => client.getInstanceAction({ projectId: 'p1', serverId: 's1', requestId })));
  const times = simulator.requests.map((r) => r.at).sort((a, b) => a - b);
  expect(times).toHaveLength(6);
  // Any three consecutive requests span at least one window (less generous room for network jitter on a
  // loaded machine): without the limit all six arrive within a few milliseconds.
  for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(450);
});
