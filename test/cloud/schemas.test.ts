import { describe, expect, it } from 'vitest';
import {
  instanceActionDocumentSchema, serverDocumentSchema, toServerState, versionDocumentSchema,
} from '../../src/cloud/schemas.ts';
import { fixtureJson, instanceActionSamples } from './helpers.ts';

describe('instance action document', () => {
  const samples = instanceActionSamples();

  it('finds the upstream samples', () => {
    expect(samples.length).toBeGreaterThanOrEqual(12);
  });

  it.each(samples)('parses %s, keeping every field', (file) => {
    const json = fixtureJson(file) as { instanceAction: Record<string, unknown> };
    const { instanceAction } = instanceActionDocumentSchema.parse(json);
    // Nothing dropped and nothing changed: what we forward is what the API sent.
    expect(instanceAction).toEqual(json.instanceAction);
    expect(instanceAction.events?.[0]?.finish_time).toMatch(/^2018-04-25T/);
  });

  it('accepts a document without events (below 2.51, non-admin) and with a running event', () => {
    const noEvents = instanceActionDocumentSchema.parse({
      instanceAction: { action: 'create', request_id: 'req-1', message: null, start_time: '2024-01-01T00:00:00' },
    });
    expect(noEvents.instanceAction.events).toBeUndefined();

    const running = instanceActionDocumentSchema.parse({
      instanceAction: {
        action: 'resize', request_id: 'req-2', message: null, start_time: null,
        events: [{ event: 'compute_prep_resize', start_time: '2024-01-01T00:00:00', finish_time: null, result: null }],
      },
    });
    expect(running.instanceAction.events?.[0]).toEqual({
      event: 'compute_prep_resize', start_time: '2024-01-01T00:00:00', finish_time: null, result: null,
    });
  });

  it('fills fields a cloud leaves out with null', () => {
    const doc = instanceActionDocumentSchema.parse({
      instanceAction: { action: 'stop', request_id: 'req-3', events: [{ event: 'compute_stop_instance' }] },
    });
    expect(doc.instanceAction).toMatchObject({ message: null, start_time: null });
    expect(doc.instanceAction.events?.[0]).toMatchObject({ start_time: null, finish_time: null, result: null });
  });

  it.each([
    ['no instanceAction', {}],
    ['action not a string', { instanceAction: { action: 1, request_id: 'r' } }],
    ['no request_id', { instanceAction: { action: 'stop' } }],
    ['events not a list', { instanceAction: { action: 'stop', request_id: 'r', events: {} } }],
    ['event without name', { instanceAction: { action: 'stop', request_id: 'r', events: [{ result: 'Success' }] } }],
    ['finish_time a number', { instanceAction: { action: 'stop', request_id: 'r', events: [{ event: 'e', finish_time: 5 }] } }],
  ])('refuses %s', (_, doc) => {
    expect(instanceActionDocumentSchema.safeParse(doc).success).toBe(false);
  });
});

describe('server document', () => {
  it('reads status, task state, fault, hostId and owner project', () => {
    const doc = serverDocumentSchema.parse({
      server: {
        id: 's1', status: 'ERROR', 'OS-EXT-STS:task_state': null, 'OS-EXT-STS:vm_state': 'error', tenant_id: 'p1',
        hostId: '6ecda64e9c54aded9f07cf1f76501a94fcf2cc84e2f6d958a653bb1f',
        fault: { code: 500, created: '2024-01-01T00:00:00Z', message: 'No valid host was found.', details: 'Traceback ...' },
      },
    });
    expect(toServerState(doc)).toEqual({
      info: {
        status: 'ERROR',
        taskState: null,
        fault: { code: 500, created: '2024-01-01T00:00:00Z', message: 'No valid host was found.', details: 'Traceback ...' },
      },
      hostId: '6ecda64e9c54aded9f07cf1f76501a94fcf2cc84e2f6d958a653bb1f',
      projectId: 'p1',
    });
  });

  it('reads an unscheduled server\'s empty hostId as none', () => {
    expect(toServerState(serverDocumentSchema.parse({ server: { status: 'BUILD', hostId: '' } })).hostId).toBeNull();
  });

  it('reads a busy server without fault, and a fault without the optional fields', () => {
    expect(toServerState(serverDocumentSchema.parse({ server: { status: 'ACTIVE', 'OS-EXT-STS:task_state': 'resize_migrating' } })).info)
      .toEqual({ status: 'ACTIVE', taskState: 'resize_migrating', fault: null });
    expect(toServerState(serverDocumentSchema.parse({ server: { status: 'ERROR', fault: { message: 'boom', details: null } } })).info)
      .toEqual({ status: 'ERROR', taskState: null, fault: { message: 'boom' } });
  });

  it('refuses a server without status', () => {
    expect(serverDocumentSchema.safeParse({ server: { id: 's1' } }).success).toBe(false);
  });
});

describe('version document', () => {
  it('reads the upstream sample', () => {
    const doc = versionDocumentSchema.parse(fixtureJson('nova-api-samples/versions/v21-version-get-resp.json'));
    expect(doc.version).toMatchObject({ id: 'v2.1', version: '2.104', min_version: '2.1' });
  });
});
