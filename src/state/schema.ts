// The state file as data. The file is ours, but it lives on a volume that people can edit, restore from a
// backup or fill with an older version's records, so every record is checked before any of it is used.
import * as z from 'zod';
import { OUTCOMES } from '../model.ts';
import { instanceActionSchema, jobSchema } from '../cloud/schemas.ts';
import { dictionarySchema, isMapping } from '../data/dictionary.ts';
import { once } from '../data/once.ts';
import { StateError } from './StateError.ts';
import { sharedObserved } from './observed.ts';
import type {
  ActionWatchRecord, BatchRecord, ClockRecord, CloudClockSetting, DeliveryRecord, DigestMember, DigestRecord, DiscoveredBy, JobWatchRecord, NotFoundMemory, ObservedMemory,
  TrackedProjectRecord, TrackedServerRecord, WarningRecord, WatchRecord,
} from './types.ts';
import type { NotificationWatch } from '../model.ts';

export const STATE_VERSION = 1;

/**
 * The refusal of a snapshot or journal line at `path` that says it is of a later state format than this
 * version reads (a downgrade): as this format, it would be called no state file, whose advice (move it aside)
 * notifies every finished watch again, or be misread. Undefined for any other value.
 */
export function newerFormatRefusal(path: string, value: unknown): StateError | undefined {
  const version = isMapping(value) ? value['version'] : undefined;
  if (!Number.isSafeInteger(version) || (version as number) <= STATE_VERSION) return undefined;
  return new StateError(
    path,
    `was written by a newer ecs-action-watch (state format ${String(version)}; this one reads ${STATE_VERSION}): run that version or a later one on it. ` +
      'This one cannot read it, and must not start without it: every finished watch would be notified again',
  );
}

// Built at the first read of a state file, not as the module loads: `check` and `wait` load this module
// whether or not a state file is there, and these are about 200 schemas.
export const stateSchemas = once(() => {
  /**
   * Records by key (in a journal line, null for one removed). Every key is kept: a batch's label, a server's
   * or project's id come from users or the cloud, and `z.record` drops a `__proto__` key, so that such a
   * record would vanish at every load and what it remembered (a digest sent) be done again.
   */
  const recordsSchema = dictionarySchema(z.string(), z.unknown());

  /** The envelope; each record is checked on its own so that one bad record does not sink the others. */
  const stateEnvelopeSchema = z.object({
    version: z.literal(STATE_VERSION),
    // The journal's last change it holds; absent in files written before the journal existed (none).
    seq: z.int().min(0).optional(),
    watches: recordsSchema,
    // Absent in files written before batches existed.
    batches: recordsSchema.optional(),
    // Absent in files of daemons that track nothing, and of versions before auto-tracking.
    tracking: z.object({ servers: recordsSchema.optional(), projects: recordsSchema.optional() }).optional(),
    // Absent in files written before the clock was recorded.
    clocks: recordsSchema.optional(),
  });

  /** One line of the journal: the records one save changed, numbered after the snapshot's and each other's. */
  const journalEntrySchema = z.object({
    seq: z.int().min(1),
    watches: recordsSchema.optional(),
    batches: recordsSchema.optional(),
    tracking: z.object({ servers: recordsSchema.optional(), projects: recordsSchema.optional() }).optional(),
    clocks: recordsSchema.optional(),
  });

  const time = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as 2026-11-26T18:00:00.000Z' });

  const deliverySchema: z.ZodType<DeliveryRecord> = z.preprocess(
    // Deliveries written before `createdAt` existed were created when they were first updated, or earlier.
    (value) => (isMapping(value) && value.createdAt === undefined && typeof value.updatedAt === 'string' ? { ...value, createdAt: value.updatedAt } : value),
    z.object({
      id: z.string().min(1),
      status: z.enum(['pending', 'delivered', 'given_up', 'superseded']),
      attempts: z.int().min(0),
      createdAt: time,
      nextAttemptAt: time.nullable(),
      lastError: z.string().nullable(),
      updatedAt: time,
      owedTo: z.array(z.string().min(1)).min(1).optional(),
      heldSince: time.optional(),
    }),
  );

  const serverSchema = z.object({
    status: z.string(),
    taskState: z.string().nullable(),
    fault: z
      .object({ code: z.int().optional(), message: z.string(), details: z.string().optional(), created: z.string().optional() })
      .nullable(),
  });

  const notFoundShape = {
    firstNotFoundAt: time.nullable(),
    notFoundAnswers: z.int().min(0),
  };

  const observedSchema: z.ZodType<ObservedMemory> = z.object({
    ...notFoundShape,
    serverGoneSince: time.nullable(),
    serverGoneAnswers: z.int().min(0),
    migrationsReadable: z.boolean().nullable(),
    // Absent in records written before it existed: no refusal counted yet.
    migrationsRefusedAnswers: z.int().min(0).default(0),
    stallCheckedAt: time.nullable().default(null),
    erroredSince: time.nullable().default(null),
    finishSeenAt: time.nullable().default(null),
  }).transform(sharedObserved);

  const notFoundSchema: z.ZodType<NotFoundMemory> = z.object(notFoundShape);

  const deliveriesSchema = dictionarySchema(z.string().min(1), deliverySchema);

  // A watch as its notifications name it, per kind.
  const watchIdentitySchema: z.ZodType<NotificationWatch> = z.union([
    z.object({ name: z.string().nullable(), projectId: z.string(), serverId: z.string(), requestId: z.string() }),
    z.object({ kind: z.literal('ecs-job'), name: z.string().nullable(), projectId: z.string(), jobId: z.string() }),
  ]);

  const warningFactsSchema = z.object({ watch: watchIdentitySchema, instanceAction: instanceActionSchema.nullable(), server: serverSchema.nullable(), job: jobSchema.nullable().optional() });
  const warningSchema: z.ZodType<WarningRecord> = z.object({ reason: z.string(), detectedAt: time, facts: warningFactsSchema.optional(), deliveries: deliveriesSchema });
  const discoveredSchema: z.ZodType<DiscoveredBy> = z.object({ notify: z.array(z.string()).nullable(), deadline: z.int().min(1) });

  // Every field of a record has its check here (tsc says so when one is added to a record type): a field
  // left out would be dropped at load and forgotten across a restart.
  // In the order the records are written, so that a record read and written again is the same text (and a
  // save that changes nothing writes nothing, also after a restart).
  const whoAndSince = {
    name: z.string().nullable(),
    trackingSince: time,
    everFound: z.boolean(),
  };
  const outcomeShape = {
    verdict: z.object({ outcome: z.enum(OUTCOMES), reason: z.string(), detectedAt: time }).nullable(),
    deliveries: deliveriesSchema,
    // Absent in records written before early warnings and batches existed.
    warning: warningSchema.nullable().optional(),
    batch: z.string().min(1).nullable().optional(),
  };

  const pollErrorShape = {
    lastError: z.string().nullable(),
    // Absent in records written before it existed: read as not failing, so that a watch failing across the
    // upgrade counts from its first failed poll after it.
    failingSince: time.nullable().default(null),
    // Absent while polls answer, and in records written before it existed: `check` then counts from its own
    // poll, as it did. Not written out while absent, as nearly every watch has none.
    daemonFailingSince: time.optional(),
  };

  const cloudClockSettingsSchema = z.array(
    z.object({ ms: z.number(), at: time.optional(), seenBefore: z.array(time).optional() } satisfies { [K in keyof Required<CloudClockSetting>]: z.ZodType }),
  );

  const actionShape = {
    kind: z.literal('instance-action').optional(),
    projectId: z.string().min(1),
    serverId: z.string().min(1),
    requestId: z.string().min(1),
    ...whoAndSince,
    // Absent in records written before it existed.
    observed: observedSchema.optional(),
    ...pollErrorShape,
    instanceAction: instanceActionSchema.nullable(),
    server: serverSchema.nullable(),
    ...outcomeShape,
    // Absent for a watch of the watch file.
    discovered: discoveredSchema.optional(),
    cloudClockSettings: cloudClockSettingsSchema.optional(),
  } satisfies { [K in keyof Required<ActionWatchRecord>]: z.ZodType };

  const jobShape = {
    kind: z.literal('ecs-job'),
    projectId: z.string().min(1),
    jobId: z.string().min(1),
    ...whoAndSince,
    observed: notFoundSchema,
    ...pollErrorShape,
    job: jobSchema.nullable(),
    ...outcomeShape,
    cloudClockSettings: cloudClockSettingsSchema.optional(),
  } satisfies { [K in keyof Required<JobWatchRecord>]: z.ZodType };

  const DELIVERIES_NEED_A_VERDICT = {
    path: ['deliveries'],
    message: 'deliveries without a verdict: nothing says what they would announce',
  };
  const hasVerdictOrNoDeliveries = (r: { verdict: unknown; deliveries: object }) => r.verdict !== null || Object.keys(r.deliveries).length === 0;

  // Typed as the domain type so that tsc proves a checked record is exactly what the daemon works with. A
  // record's `kind` picks its schema, so that a problem is reported against the fields of its own kind.
  const watchRecordSchema: z.ZodType<WatchRecord> = z.preprocess(
    oneCloudClockSetting,
    z.discriminatedUnion('kind', [
      z.object(actionShape).refine(hasVerdictOrNoDeliveries, DELIVERIES_NEED_A_VERDICT),
      z.object(jobShape).refine(hasVerdictOrNoDeliveries, DELIVERIES_NEED_A_VERDICT),
    ]),
  );

  const memberShape = {
    key: z.string().min(1),
    watch: watchIdentitySchema,
    outcome: z.enum(OUTCOMES).nullable(),
    reason: z.string(),
    detectedAt: time.nullable(),
  } satisfies { [K in keyof Required<DigestMember>]: z.ZodType };

  const digestShape = {
    round: z.int().min(1),
    final: z.boolean(),
    detectedAt: time,
    members: z.array(z.object(memberShape)),
    deliveries: deliveriesSchema,
  } satisfies { [K in keyof Required<DigestRecord>]: z.ZodType };

  const batchRecordSchema: z.ZodType<BatchRecord> = z.object({
    label: z.string().min(1),
    digests: z.array(z.object(digestShape)),
  } satisfies { [K in keyof Required<BatchRecord>]: z.ZodType });
  // An API time as the API wrote it (Nova's carry no zone): compared on the API's clock, never parsed here.
  const apiTime = z.string().min(1);

  const trackedServerSchema: z.ZodType<TrackedServerRecord> = z.object({
    projectId: z.string().min(1),
    serverId: z.string().min(1),
    name: z.string().nullable(),
    since: time.nullable(),
    horizon: apiTime.nullable(),
    seen: dictionarySchema(z.string().min(1), z.string()),
    cursor: apiTime.nullable(),
    ending: z.boolean(),
    missingSince: time.nullable(),
    missingAnswers: z.int().min(0),
    endedAt: time.nullable(),
    lastError: z.string().nullable(),
  } satisfies { [K in keyof Required<TrackedServerRecord>]: z.ZodType });

  const trackedProjectSchema: z.ZodType<TrackedProjectRecord> = z.object({
    projectId: z.string().min(1),
    since: time.nullable(),
    // Absent in records written before it existed: none was kept.
    horizon: apiTime.nullable().default(null),
    baseline: apiTime.nullable(),
    // Absent in records written before it existed: none.
    deletedAtBaseline: z.array(z.string()).default([]),
    cursor: apiTime.nullable(),
    lastError: z.string().nullable(),
  } satisfies { [K in keyof Required<TrackedProjectRecord>]: z.ZodType });

  const clockRecordSchema: z.ZodType<ClockRecord> = z.object({
    at: time,
    boot: z.object({ id: z.string().min(1), ms: z.number().min(0) }).nullable(),
    cloud: z.object({ name: z.string(), aheadMs: z.number() }).nullable(),
    unjudgedStart: z.number().min(0).optional(),
    unjudgedSetMs: z.number().optional(),
  } satisfies { [K in keyof Required<ClockRecord>]: z.ZodType });

  return { stateEnvelopeSchema, journalEntrySchema, watchRecordSchema, batchRecordSchema, trackedServerSchema, trackedProjectSchema, clockRecordSchema };
});

/**
 * A record written before each setting of the cloud's clock was kept on its own, with their sum, the last
 * one's boundary and the times seen before it (cloudClockSetMs, cloudClockSetAt, cloudClockSeenBefore): one
 * setting of that sum, as those versions read it.
 */
function oneCloudClockSetting(value: unknown): unknown {
  if (!isMapping(value) || !('cloudClockSetMs' in value || 'cloudClockSetAt' in value || 'cloudClockSeenBefore' in value)) return value;
  const { cloudClockSetMs: ms, cloudClockSetAt: at, cloudClockSeenBefore: seenBefore, ...rest } = value;
  if (ms === undefined) return rest;
  return { ...rest, cloudClockSettings: [{ ms, ...(at === undefined ? {} : { at }), ...(seenBefore === undefined ? {} : { seenBefore }) }] };
}

export type JournalEntry = z.infer<ReturnType<typeof stateSchemas>['journalEntrySchema']>;

/** One line per problem of a record: `trackingSince: expected an ISO 8601 time ...`. */
export function recordProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path || '(the record)'}: ${issue.message}`;
  });
}
