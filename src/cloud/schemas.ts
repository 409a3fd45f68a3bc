// Answers are checked for the fields the watcher reasons about and nothing more: unknown fields are kept
// (they are forwarded to webhooks as the API sent them) and fields that come and go with microversions,
// policies or clouds are optional. A time is kept as the API's string; cloud/time.ts reads it when needed.
import * as z from 'zod';
import type { EcsJob, InstanceAction, InstanceActionSummary, MigrationRecord, ServerFault, ServerState, ServerSummary } from '../model.ts';

const nullableString = z.string().nullable();

/**
 * A time the cloud stamps: one left out, null or blank reads as null. Nova writes a time or null, never "";
 * Huawei's services write "" for a time they have none of (the IMS edition's job end_time). Kept as a
 * time, a blank finish_time made a running step finished at a time unknown, which no deadline applies to.
 */
const cloudTime = nullableString.transform((text) => (text === null || text.trim() === '' ? null : text)).default(null);

// A time or result a cloud leaves out reads as null; for finish_time that is "not finished", the safe side.
const instanceActionEventSchema = z.looseObject({
  event: z.string(),
  start_time: cloudTime,
  finish_time: cloudTime,
  result: nullableString.default(null),
  // Absent for non-admins from 2.51 on.
  traceback: nullableString.optional(),
});

export const instanceActionSchema = z.looseObject({
  action: z.string(),
  request_id: z.string(),
  instance_uuid: z.string().optional(),
  message: nullableString.default(null),
  start_time: cloudTime,
  // Absent for non-admins below 2.51.
  events: z.array(instanceActionEventSchema).optional(),
});

// Typed as the domain type so that tsc proves the schema produces exactly what the daemon expects.
export const instanceActionDocumentSchema: z.ZodType<{ instanceAction: InstanceAction }> = z.object({
  instanceAction: instanceActionSchema,
});

const faultSchema = z.looseObject({
  code: z.number().int().optional(),
  message: z.string(),
  details: nullableString.optional(),
  created: z.string().optional(),
});

// GET /servers/{id}/os-instance-actions: the actions of a server, newest first, without events, and from
// 2.58 a `next` link (with its marker) while there are more.
export const instanceActionListSchema: z.ZodType<{ instanceActions: InstanceActionSummary[]; links?: Array<{ rel: string; href: string }> | undefined }> = z.object({
  instanceActions: z.array(
    z.looseObject({
      action: z.string(),
      request_id: z.string(),
      start_time: cloudTime,
    }),
  ),
  links: z.array(z.looseObject({ rel: z.string(), href: z.string() })).optional(),
});

// GET /servers/detail: the project's servers, and a `next` link (with its marker) while there are more.
export const serverListSchema: z.ZodType<{ servers: ServerSummary[]; servers_links?: Array<{ rel: string; href: string }> | undefined }> = z.object({
  servers: z.array(
    z.object({
      id: z.string(),
      name: z.string().default(''),
      status: z.string(),
      updated: nullableString.default(null),
    }),
  ),
  servers_links: z.array(z.looseObject({ rel: z.string(), href: z.string() })).optional(),
});

// GET /os-migrations: an admin's (or a project manager's) view of the moves of a server.
export const migrationListSchema: z.ZodType<{ migrations: MigrationRecord[] }> = z.object({
  migrations: z.array(
    z.looseObject({
      id: z.union([z.number(), z.string()]),
      status: z.string(),
      migration_type: z.string().optional(),
      created_at: cloudTime,
      source_compute: nullableString.optional(),
      dest_compute: nullableString.optional(),
    }),
  ),
});

export const serverDocumentSchema = z.object({
  server: z.looseObject({
    name: z.string().optional(),
    status: z.string(),
    updated: nullableString.optional(),
    // sha224 of owner project and host; "" while the server has no host.
    hostId: nullableString.optional(),
    tenant_id: nullableString.optional(),
    // Part of every 2.1+ server document; a cloud leaving it out has no task in flight we could see anyway.
    'OS-EXT-STS:task_state': nullableString.optional(),
    // Present only while the server is in ERROR (or after a failed operation).
    fault: faultSchema.nullable().optional(),
  }),
});

// GET /v1/{project_id}/jobs/{job_id}: Huawei documents every field but `status` and `job_id` as possibly
// null (the IMS edition even sends end_time ""), so all of them read as null when left out; those under
// `entities`, which its services write as null where a job has none (a NIC job's server_id, a job without
// sub-jobs), read as absent. Refused, a finished job's answer failed every poll, to end as a timeout.
const absent = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
// Its SDKs type the times as strings; epoch milliseconds are read as the same time.
const jobTime = z
  .union([z.string(), z.number().transform((ms) => new Date(ms).toISOString())])
  .nullable()
  .default(null);

const subJobSchema = z.looseObject({
  // Optional in Huawei's SDKs (SubJob.Status, omitempty): one left out is not known yet, and the job's own
  // status decides; refused, it failed every poll of the job, which then ended as a timeout.
  status: z.string().nullish().transform((status) => status ?? 'UNKNOWN'),
  entities: z
    .looseObject({ server_id: absent(z.string()), nic_id: absent(z.string()) })
    .nullable()
    .transform((entities) => entities ?? {})
    .default({}),
  job_type: nullableString.default(null),
  error_code: nullableString.default(null),
  fail_reason: nullableString.default(null),
});

export const jobSchema: z.ZodType<EcsJob> = z.looseObject({
  status: z.string(),
  job_id: z.string(),
  job_type: nullableString.default(null),
  begin_time: jobTime,
  end_time: jobTime,
  error_code: nullableString.default(null),
  fail_reason: nullableString.default(null),
  entities: z
    .looseObject({
      server_id: absent(z.string()),
      nic_id: absent(z.string()),
      sub_jobs_total: absent(z.number().int()),
      sub_jobs: absent(z.array(subJobSchema)),
    })
    .nullable()
    .transform((entities) => entities ?? {})
    .default({}),
});

export const versionDocumentSchema = z.object({
  version: z.looseObject({
    id: z.string().optional(),
    // The maximum microversion; "" where the endpoint has none (legacy v2).
    version: z.string(),
    min_version: z.string().optional(),
  }),
});

function toFault(fault: z.infer<typeof faultSchema>): ServerFault {
  return {
    ...(fault.code === undefined ? {} : { code: fault.code }),
    message: fault.message,
    ...(fault.details == null ? {} : { details: fault.details }),
    ...(fault.created === undefined ? {} : { created: fault.created }),
  };
}

export function toServerState(doc: z.infer<typeof serverDocumentSchema>): ServerState {
  const { server } = doc;
  return {
    info: {
      status: server.status,
      taskState: server['OS-EXT-STS:task_state'] ?? null,
      fault: server.fault == null ? null : toFault(server.fault),
    },
    hostId: server.hostId || null,
    projectId: server.tenant_id || null,
    ...(server.name ? { name: server.name } : {}),
    ...(server.updated ? { updated: server.updated } : {}),
  };
}
