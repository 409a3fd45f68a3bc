import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { InstanceAction } from '../../src/model.ts';
import { SharedStrings } from '../../src/cloud/sharedStrings.ts';
import { runIsolated, sourceModule } from '../isolated.ts';

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

/**
 * What the heap holds of the answers `createEcsClient` has read: 200 actions on the same host from the
 * simulator over loopback, each kept as a watch keeps it. `copies`: how many strings equal one hostId;
 * `spilled`: how many kept actions and events hold fields in a second object (a property array) rather than
 * in themselves. A process of its own: a heap snapshot counts every string equal to it, in this process only.
 */
function keptAnswers(): { copies: number; spilled: number; objects: number } {
  const body = `
    import { getHeapSnapshot } from 'node:v8';
    const { startSimulator } = await import(${sourceModule('simulator/index.ts')});
    const { createEcsClient } = await import(${sourceModule('cloud/client.ts')});
    const { default: pino } = await import('pino');
    const projectId = '5e2f0c7a9b8d4e6f8a1b2c3d4e5f6a7b';
    const sim = await startSimulator({ token: 't' });
    const client = createEcsClient(
      { endpoint: sim.url, auth: { type: 'token', token: 't' }, interface: 'public', tls: {}, microversion: 'auto', timeout: 2000 },
      { logger: pino({ level: 'silent' }) },
    );
    const kept = [];
    for (let i = 0; i < 200; i++) {
      const serverId = crypto.randomUUID();
      const requestId = sim.addAction({ projectId, serverId, action: 'reboot', host: 'compute-7', steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] });
      kept.push(await client.getInstanceAction({ projectId, serverId, requestId }));
    }
    const hostId = kept[0].events[0].hostId;
    // Found in the snapshot by this name: the answers and their events, and nothing of the simulator's.
    globalThis.keptAnswers = [...kept, ...kept.map((action) => action.events[0])];
    await client.close();
    await sim.close();
    const chunks = [];
    for await (const chunk of getHeapSnapshot()) chunks.push(chunk);
    const { snapshot: { meta }, nodes, edges, strings } = JSON.parse(chunks.join(''));
    const nodeFields = meta.node_fields.length;
    const edgeFields = meta.edge_fields.length;
    const [type, name, selfSize, edgeCount] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
    const [edgeType, edgeName, toNode] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
    const firstEdge = new Map();
    for (let i = 0, e = 0; i < nodes.length; e += nodes[i + edgeCount] * edgeFields, i += nodeFields) firstEdge.set(i, e);
    const edgesOf = (node) => {
      const out = [];
      for (let e = firstEdge.get(node), n = 0; n < nodes[node + edgeCount]; n++, e += edgeFields) {
        const kind = meta.edge_types[0][edges[e + edgeType]];
        out.push({ kind, name: kind === 'element' || kind === 'hidden' ? null : strings[edges[e + edgeName]], to: edges[e + toNode] });
      }
      return out;
    };
    let copies = 0;
    let list;
    for (let i = 0; i < nodes.length; i += nodeFields) {
      if (meta.node_types[0][nodes[i + type]].includes('string') && strings[nodes[i + name]] === hostId) copies++;
      list ??= edgesOf(i).find((e) => e.kind === 'property' && e.name === 'keptAnswers')?.to;
    }
    const elements = edgesOf(list).find((e) => e.name === 'elements').to;
    // A backing store's slots are internal edges named by their index.
    const objects = edgesOf(elements).filter((e) => /^\\d+$/.test(e.name ?? '')).map((e) => e.to);
    const spilled = objects.filter((o) => edgesOf(o).some((e) => e.name === 'properties' && nodes[e.to + selfSize] > 16)).length;
    process.stdout.write(JSON.stringify({ copies, spilled, objects: objects.length, kept: kept.length, hostId }));
  `;
  const out = runIsolated(body, [], 30_000);
  const { kept, hostId, ...found } = JSON.parse(out) as { copies: number; spilled: number; objects: number; kept: number; hostId: unknown };
  // The premise: each answer had a hostId to share, 56 hex characters as Nova sends.
  expect(kept).toBe(200);
  expect(hostId).toMatch(/^[0-9a-f]{56}$/);
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
