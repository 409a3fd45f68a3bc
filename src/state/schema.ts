// The state file as data. The file is ours, but it lives on a volume that people can edit, restore from a
// backup or fill with an older version's records, so every record is checked before any of it is used.
import { z } from 'zod';
import { OUTCOMES } from '../model.ts';
import { instanceActionSchema } from '../cloud/schemas.ts';
import { dictionarySchema } from '../data/dictionary.ts';
import type { DeliveryRecord, ObservedMemory, WatchRecord } from './types.ts';

export const STATE_VERSION = 1;

/** The envelope; each record is checked on its own so that one bad record does not sink the others. */
export const stateEnvelopeSchema = z.object({
  version: z.literal(STATE_VERSION),
  watches: z.record(z.string(), z.unknown()),
});

const time = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as 2026-11-26T18:00:00.000Z' });

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const deliverySchema: z.ZodType<DeliveryRecord> = z.preprocess(
  // Deliveries written before `createdAt` existed were created when they were first updated, or earlier.
  (value) => (isMapping(value) && value.createdAt === undefined && typeof value.updatedAt === 'string' ? { ...value, createdAt: value.updatedAt } : value),
  z.object({
    id: z.string().min(1),
    status: z.enum(['pending', 'delivered', 'given_up']),
    attempts: z.int().min(0),
    createdAt: time,
    nextAttemptAt: time.nullable(),
    lastError: z.string().nullable(),
    updatedAt: time,
  }),
);

const serverSchema = z.object({
  status: z.string(),
  taskState: z.string().nullable(),
  fault: z
    .object({ code: z.int().optional(), message: z.string(), details: z.string().optional(), created: z.string().optional() })
    .nullable(),
});

const observedSchema: z.ZodType<ObservedMemory> = z.object({
  firstNotFoundAt: time.nullable(),
  notFoundAnswers: z.int().min(0),
  serverGoneSince: time.nullable(),
  serverGoneAnswers: z.int().min(0),
  migrationsReadable: z.boolean().nullable(),
});

// Every field of a record has its check here (tsc says so when one is added to WatchRecord): a field
// left out would be dropped at load and forgotten across a restart.
const recordShape = {
  projectId: z.string().min(1),
  serverId: z.string().min(1),
  requestId: z.string().min(1),
  name: z.string().nullable(),
  trackingSince: time,
  everFound: z.boolean(),
  // Absent in records written before it existed.
  observed: observedSchema.optional(),
  lastError: z.string().nullable(),
  instanceAction: instanceActionSchema.nullable(),
  server: serverSchema.nullable(),
  verdict: z.object({ outcome: z.enum(OUTCOMES), reason: z.string(), detectedAt: time }).nullable(),
  deliveries: dictionarySchema(z.string().min(1), deliverySchema),
} satisfies { [K in keyof Required<WatchRecord>]: z.ZodType };

// Typed as the domain type so that tsc proves a checked record is exactly what the daemon works with.
export const watchRecordSchema: z.ZodType<WatchRecord> = z
  .object(recordShape)
  .refine((r) => r.verdict !== null || Object.keys(r.deliveries).length === 0, {
    path: ['deliveries'],
    message: 'deliveries without a verdict: nothing says what they would announce',
  });

/** One line per problem of a record: `trackingSince: expected an ISO 8601 time ...`. */
export function recordProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path || '(the record)'}: ${issue.message}`;
  });
}
