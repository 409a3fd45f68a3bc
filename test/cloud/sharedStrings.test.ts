import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { InstanceAction } from '../../src/model.ts';
import { SharedStrings } from '../../src/cloud/sharedStrings.ts';
import { keptActions, sourceModule } from '../isolated.ts';

const sample = readFileSync(new URL('../fixtures/nova-api-samples/v2.84/instance-action-get-resp.json', import.meta.url), 'utf8');
const ref = { projectId: 'p', serverId: '4bf3473b-d550-4b65-9409-292d44ab14a2', requestId: 'req-0d819d5c-1527-4669-bdf0-ffad31b5105b' };

it('changes no value of the answer', () => {
  const action = (JSON.parse(sample) as { instanceAction: InstanceAction }).instanceAction;
  const before = structuredClone(action);
  const shared = new SharedStrings();
  shared.shareAction(action, ref);
  shared.shareAction(action, { ...ref, serverId: 'another', requestId: 'another' });
  expect(action).toStrictEqual(before);
});

/** The answers `createEcsClient` has read: 200 actions on the same host from the simulator over loopback, each kept as a watch keeps it. */
function keptAnswers() {
  const found = keptActions(`
    const { startSimulator } = await import(${sourceModule('simulator/index.ts')});
    const { createEcsClient } = await import(${sourceModule('cloud/client.ts')});
    const { default: pino } = await import('pino');
    const projectId = '5e2f0c7a9b8d4e6f8a1b2c3d4e5f6a7b';
    const sim = await startSimulator({ token: 't' });
    const client = createEcsClient(
      { endpoint: sim.url, auth: { type: 'token', token: 't' }, interface: 'public', tls: {}, microversion: 'auto', timeout: 2000 },
      { logger: pino({ level: 'silent' }) },
    );
    for (let i = 0; i < 200; i++) {
      const serverId = crypto.randomUUID();
      const requestId = sim.addAction({ projectId, serverId, action: 'reboot', host: 'compute-7', steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
      kept.push(await client.getInstanceAction({ projectId, serverId, requestId }));
    }
    await client.close();
    await sim.close();
  `);
  // The premise: each answer had a hostId to share, 56 hex characters as Nova sends.
  expect(found.kept).toBe(200);
  expect(found.hostId).toMatch(/^[0-9a-f]{56}$/);
  return found;
}

const kept = keptAnswers();

it('keeps one copy of a string that the answers the client reads repeat, not one per answer', () => {
  // 200 without the sharing.
  expect(kept.copies).toBeLessThan(5);
});

it('keeps each answer with its fields in itself, not in a second object (zod builds its output field by field)', () => {
  // The premise: the 200 actions and their 200 events were found in the snapshot.
  expect(kept.objects).toBe(400);
  // 400 when the client keeps zod's output as it is.
  expect(kept.spilled).toBe(0);
});
