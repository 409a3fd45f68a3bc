// Properties of the answer parser and the verdict over generated answers: whatever the API says, an
// unfinished event, a gone server of a non-delete, or a 404 that is not the API's own never makes a
// success or a not_found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kindForStatus } from '../../src/cloud/ApiError.ts';
import { apiMessageFromText } from '../../src/cloud/errors/apiMessage.ts';
import { instanceActionDocumentSchema } from '../../src/cloud/schemas.ts';
import type { InstanceAction } from '../../src/model.ts';
import type { WatchMemory } from '../../src/watch/memory.ts';
import { foldRetries } from '../../src/watch/retries.ts';
import {
  decide, type ActionListObservation, type ActionObservation, type MigrationsObservation, type ServerObservation, type VerdictInput,
} from '../../src/watch/verdict.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const RUNS = { numRuns: 400 };

const novaTime = fc.integer({ min: -3_600_000, max: 30 * 3_600_000 }).map((ms) => new Date(T0 + ms).toISOString().replace('Z', '000'));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const actionName = fc.constantFrom('create', 'delete', 'resize', 'migrate', 'live-migration', 'evacuate', 'reboot', 'stop', 'rebuild');
const word = fc.string({ maxLength: 12 });

/** An event as a cloud might send it: keys may be missing, null or odd. */
const rawEvent = fc.record(
  {
    event: fc.constantFrom('compute_live_migration', 'compute_prep_resize', 'compute_terminate_instance', 'compute_reboot_instance'),
    start_time: fc.option(novaTime),
    finish_time: fc.option(novaTime),
    result: fc.option(fc.constantFrom('Success', 'Error', 'success', '')),
    traceback: fc.option(word),
    hostId: fc.constantFrom('h1', 'h2', ''),
  },
  { requiredKeys: ['event'] },
);

const rawAction = fc.record(
  {
    action: actionName,
    request_id: fc.constant('req-1'),
    project_id: fc.constantFrom('p1', 'p2'),
    start_time: fc.option(novaTime),
    updated_at: novaTime,
    message: fc.option(fc.constantFrom('Error', '', ' ')),
    events: fc.array(rawEvent, { maxLength: 4 }),
  },
  { requiredKeys: ['action', 'request_id'] },
);

const server: fc.Arbitrary<ServerObservation> = fc.oneof(
  fc.constant({ kind: 'not_read' } as const),
  fc.constant({ kind: 'gone' } as const),
  fc.constant({ kind: 'error', message: 'GET x → 503' } as const),
  fc.record({
    kind: fc.constant('found' as const),
    server: fc.record({
      info: fc.record({
        status: fc.constantFrom('ACTIVE', 'ERROR', 'VERIFY_RESIZE', 'SOFT_DELETED', 'UNKNOWN', 'MIGRATING'),
        taskState: fc.option(fc.constantFrom('migrating', 'resize_migrating', 'deleting')),
        fault: fc.option(fc.record({ message: word })),
      }),
      hostId: fc.option(fc.constantFrom('h1', 'h2')),
      projectId: fc.option(fc.constantFrom('p1', 'p2')),
    }),
  }),
);

const actions: fc.Arbitrary<ActionListObservation> = fc.oneof(
  fc.constant({ kind: 'not_read' } as const),
  fc.constant({ kind: 'error', message: 'x' } as const),
  fc.constant({ kind: 'not_found', message: 'Instance s1 could not be found.' } as const),
  fc.constant({ kind: 'refused', message: 'GET x → 403 Policy doesn\'t allow os_compute_api:os-instance-actions:list to be performed.' } as const),
  fc.record({
    kind: fc.constant('read' as const),
    actions: fc.array(fc.record({ action: actionName, request_id: fc.constantFrom('req-1', 'req-2', 'req-3'), start_time: fc.option(novaTime) }), { maxLength: 3 }),
  }),
);

const migrations: fc.Arbitrary<MigrationsObservation> = fc.oneof(
  fc.constant({ kind: 'not_read' } as const),
  fc.record({ kind: fc.constant('refused' as const), message: fc.constant('403'), byPolicy: fc.boolean() }),
  fc.constant({ kind: 'error', message: 'x' } as const),
  fc.record({
    kind: fc.constant('read' as const),
    migrations: fc.array(
      fc.record({
        id: fc.nat(9),
        status: fc.constantFrom('accepted', 'running', 'completed', 'failed', 'error', 'finished', 'done', 'cancelled'),
        migration_type: maybe(fc.constantFrom('live-migration', 'migration', 'resize', 'evacuation')),
        created_at: fc.option(novaTime),
      }),
      { maxLength: 3 },
    ),
  }),
);

const memory: fc.Arbitrary<WatchMemory> = fc.record({
  everFound: fc.boolean(),
  firstNotFoundAt: fc.option(novaTime.map((t) => `${t.slice(0, 23)}Z`)),
  notFoundAnswers: fc.nat(10),
  serverGoneSince: fc.option(novaTime.map((t) => `${t.slice(0, 23)}Z`)),
  serverGoneAnswers: fc.nat(10),
  migrationsReadable: fc.option(fc.boolean()),
  migrationsRefusedAnswers: fc.nat(3),
  stallCheckedAt: fc.option(novaTime.map((t) => `${t.slice(0, 23)}Z`)),
  erroredSince: fc.option(novaTime.map((t) => `${t.slice(0, 23)}Z`)),
  finishSeenAt: fc.option(novaTime.map((t) => `${t.slice(0, 23)}Z`)),
});

const rest = fc.record({
  now: fc.integer({ min: 0, max: 40 * 3_600_000 }).map((ms) => T0 + ms),
  deadlineMs: fc.integer({ min: 1000, max: 12 * 3_600_000 }),
  memory,
  server,
  actionAfterServer: fc.boolean(),
  actions,
  migrations,
});

type Rest = typeof rest extends fc.Arbitrary<infer T> ? T : never;

/** A raw answer through the client's own schema, as a poll would see it (or nothing when it rejects it). */
function parsed(raw: unknown): InstanceAction | null {
  const result = instanceActionDocumentSchema.safeParse({ instanceAction: raw });
  return result.success ? result.data.instanceAction : null;
}

function verdictOf(action: ActionObservation, r: Rest, lastAction: InstanceAction | null = null) {
  const input: VerdictInput = { ...r, trackingSince: T0, lastAction, action };
  return decide(input);
}

/** What makes a never-found action a failure: its server ERROR with no task state, and no action recorded for it. */
function refusedCreate(r: Rest): [string | undefined, string | null | undefined, number | null] {
  const info = r.server.kind === 'found' ? r.server.server.info : undefined;
  return [info?.status, info?.taskState, r.actions.kind === 'read' ? r.actions.actions.length : null];
}

const unreliable = (v: ReturnType<typeof decide>) => v.final && (v.outcome === 'success' || v.outcome === 'not_found');

describe('verdict properties', () => {
  // Nova writes a retried step's finish into the first row of its name (retries.ts): a retry's own row
  // stays open for good, and is no unfinished step once that row holds a finish no earlier than its start.
  it('an action with an unfinished event (a retry\'s own row aside) is never a success or a not_found, but a delete whose server is gone', () => {
    fc.assert(
      fc.property(rawAction, rest, (raw, r) => {
        const action = parsed(raw);
        fc.pre(action !== null && (foldRetries(action).events ?? []).some((e) => e.finish_time === null));
        const v = verdictOf({ kind: 'found', action: action! }, r);
        // A delete finished by its compute service's restart leaves its event open for good (verdict.ts judgeDeleteLeftOpen).
        if (unreliable(v)) expect([action!.action, r.server.kind, v.final && v.outcome]).toEqual(['delete', 'gone', 'success']);
      }),
      RUNS,
    );
  });

  // Of the actions that set a state (actionName): one that sets none is judged by its events alone.
  it('a non-delete whose server is gone is never a success or a not_found', () => {
    fc.assert(
      fc.property(rawAction, rest, (raw, r) => {
        const action = parsed(raw);
        fc.pre(action !== null && action.action !== 'delete');
        expect(unreliable(verdictOf({ kind: 'found', action: action! }, { ...r, server: { kind: 'gone' } }))).toBe(false);
      }),
      RUNS,
    );
  });

  it('a poll error (a 404 that is not the API\'s own among them) is never a success or a not_found', () => {
    fc.assert(
      fc.property(rest, fc.option(rawAction), (r, last) => {
        const lastAction = last === null ? null : parsed(last);
        expect(unreliable(verdictOf({ kind: 'error', message: 'GET x → 404 APIGW.0101' }, r, lastAction))).toBe(false);
      }),
      RUNS,
    );
  });

  it('the API\'s own 404 is never a success, and a failure only of a server ERROR with no task state and no action recorded (a create refused before it was)', () => {
    fc.assert(
      fc.property(rest, (r) => {
        const v = verdictOf({ kind: 'not_found', message: 'Action req-1 not found' }, r);
        expect(v.final && v.outcome === 'success').toBe(false);
        if (v.final && v.outcome === 'failure') expect(refusedCreate(r)).toEqual(['ERROR', null, 0]);
      }),
      RUNS,
    );
  });

  it('the API\'s own 404 settles as success only a delete seen before, and as failure only an action seen before whose server answers 404 too, or a create refused before it was recorded', () => {
    fc.assert(
      fc.property(rest, rawAction, (r, last) => {
        const v = verdictOf({ kind: 'not_found', message: 'Instance s1 could not be found.' }, r, parsed(last));
        if (v.final && v.outcome === 'success') expect([r.memory.everFound, parsed(last)?.action, r.server.kind]).toEqual([true, 'delete', 'gone']);
        if (v.final && v.outcome === 'failure' && !r.memory.everFound) expect(refusedCreate(r)).toEqual(['ERROR', null, 0]);
        else if (v.final && v.outcome === 'failure') expect([parsed(last) !== null, r.server.kind]).toEqual([true, 'gone']);
      }),
      RUNS,
    );
  });

  it('never asks for a read the poll has already made', () => {
    fc.assert(
      fc.property(rawAction, rest, (raw, r) => {
        const action = parsed(raw);
        fc.pre(action !== null);
        const v = verdictOf({ kind: 'found', action: action! }, r);
        if (v.final || v.next === null) return;
        const done = {
          server: r.server.kind !== 'not_read',
          look: r.server.kind !== 'not_read',
          action: r.actionAfterServer,
          actions: r.actions.kind !== 'not_read',
          migrations: r.migrations.kind !== 'not_read',
        };
        expect(done[v.next]).toBe(false);
        if (v.next === 'action') expect(r.server.kind).not.toBe('not_read');
      }),
      RUNS,
    );
  });
});

describe('answer parser properties', () => {
  const notFoundCodes = new Set(['itemNotFound', 'Ecs.0114', 'Ecs.0614']);
  const foreignCode = fc.oneof(fc.constantFrom('APIGW.0101', 'APIG.0101', 'Ecs.0005', 'NotFound', 'itemnotfound'), word).filter((c) => !notFoundCodes.has(c));
  const foreignBody = fc.oneof(
    foreignCode.map((code) => JSON.stringify({ error_code: code, error_msg: 'The API does not exist or has not been published in the environment' })),
    foreignCode.map((code) => JSON.stringify({ error: { code, message: 'not here' } })),
    foreignCode.map((code) => JSON.stringify({ [code || 'x']: { code: 404, message: 'gone' } })),
    fc.constant('<html><head><title>404 Not Found</title></head><body>The resource could not be found.</body></html>'),
    fc.constant('404 Not Found\n\nThe resource could not be found.\n\n'),
    fc.string(),
    fc.json(),
  );

  it('a 404 body without the API\'s own not-found code is never read as "not found"', () => {
    fc.assert(
      fc.property(foreignBody, (body) => {
        const code = apiMessageFromText(body)?.code;
        fc.pre(code === undefined || !notFoundCodes.has(code));
        expect(kindForStatus(404, code)).not.toBe('not_found');
      }),
      { numRuns: 1000 },
    );
  });

  it('Nova\'s itemNotFound and Huawei\'s Ecs.0114 are, in every shape', () => {
    const own = fc.oneof(
      word.map((m) => JSON.stringify({ itemNotFound: { code: 404, message: `Action ${m || 'x'} not found` } })),
      word.map((m) => JSON.stringify({ error: { code: 'Ecs.0114', message: `Instance[${m}] could not be found.` } })),
      word.map((m) => JSON.stringify({ error_code: 'Ecs.0114', error_msg: `The ECS ${m} does not exist.` })),
    );
    fc.assert(
      fc.property(own, (body) => {
        expect(kindForStatus(404, apiMessageFromText(body)?.code)).toBe('not_found');
      }),
      RUNS,
    );
  });

  it('a missing or non-string finish_time is read as "not finished", never as finished', () => {
    fc.assert(
      fc.property(rawAction, (raw) => {
        const action = parsed(raw);
        fc.pre(action !== null);
        (raw.events ?? []).forEach((e, i) => {
          if (typeof e.finish_time !== 'string') expect(action!.events?.[i]?.finish_time).toBeNull();
        });
      }),
      RUNS,
    );
  });
});
