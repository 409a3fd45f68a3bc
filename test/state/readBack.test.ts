import { expect, it } from 'vitest';
import { keptActions, sourceModule } from '../isolated.ts';

/**
 * The actions of 200 running watches as StateStore.open gives them back from a state file whose actions all
 * name the same host, project and user: JSON.parse gives each record its own copy of every string.
 */
function readBack(readOnly: boolean) {
  return keptActions(`
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { StateStore } = await import(${sourceModule('state/store.ts')});
    const sample = JSON.parse(await (await import('node:fs/promises')).readFile(${JSON.stringify(new URL('../fixtures/nova-api-samples/v2.84/instance-action-get-resp.json', import.meta.url).pathname)}, 'utf8')).instanceAction;
    const projectId = sample.project_id;
    const watches = {};
    for (let i = 0; i < 200; i++) {
      const serverId = crypto.randomUUID();
      const requestId = 'req-' + crypto.randomUUID();
      watches[projectId + '/' + serverId + '/' + requestId] = {
        projectId, serverId, requestId, name: null, trackingSince: '2026-12-04T10:00:00.000Z', everFound: true, lastError: null, failingSince: null,
        instanceAction: { ...sample, instance_uuid: serverId, request_id: requestId }, server: null, verdict: null, deliveries: {},
      };
    }
    const path = join(mkdtempSync(join(tmpdir(), 'read-back-')), 'state.json');
    // As a snapshot holds them: written by another process, each string its own in this one.
    writeFileSync(path, JSON.stringify({ version: 1, seq: 0, watches }));
    const store = await StateStore.open(path, { readOnly: ${readOnly} });
    for (const [, record] of store.records()) kept.push(record.instanceAction);
  `);
}

it('gives the daemon the records of its running watches holding one copy of a string their actions repeat', () => {
  const daemon = readBack(false);
  expect(daemon.kept).toBe(200);
  expect(daemon.objects).toBe(400);
  // 200 without the sharing, as a reader holds them.
  expect(daemon.copies).toBeLessThan(5);
});

it('leaves a reader the records as read: it holds them for a moment only', () => {
  expect(readBack(true).copies).toBeGreaterThanOrEqual(200);
});
