// Answers are checked for the fields the watcher reasons about and nothing more: unknown fields are kept
// (they are forwarded to webhooks as the API sent them) and fields that come and go with microversions,
// policies or clouds are optional. A time is kept as the API's string; parseNovaTime reads it when needed.
import { z } from 'zod';
import type { InstanceAction, ServerFault, ServerInfo } from '../model.ts';

const nullableString = z.string().nullable();

// A time or result a cloud leaves out reads as null; for finish_time that is "not finished", the safe side.
const instanceActionEventSchema = z.looseObject({
  event: z.string(),
  start_time: nullableString.default(null),
  finish_time: nullableString.default(null),
  result: nullableString.default(null),
  // Absent for non-admins from 2.51 on.
  traceback: nullableString.optional(),
});

const instanceActionSchema = z.looseObject({
  action: z.string(),
  request_id: z.string(),
  instance_uuid: z.string().optional(),
  message: nullableString.default(null),
  start_time: nullableString.default(null),
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

export const serverDocumentSchema = z.object({
  server: z.looseObject({
    status: z.string(),
    // Part of every 2.1+ server document; a cloud leaving it out has no task in flight we could see anyway.
    'OS-EXT-STS:task_state': nullableString.optional(),
    // Present only while the server is in ERROR (or after a failed operation).
    fault: faultSchema.nullable().optional(),
  }),
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

export function toServerInfo(doc: z.infer<typeof serverDocumentSchema>): ServerInfo {
  const { server } = doc;
  return {
    status: server.status,
    taskState: server['OS-EXT-STS:task_state'] ?? null,
    fault: server.fault == null ? null : toFault(server.fault),
  };
}
