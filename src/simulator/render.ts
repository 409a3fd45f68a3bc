// Nova's JSON: the snapshots of script.ts shaped per microversion and role exactly like the upstream
// API samples (doc/api_samples/os-instance-actions/**), plus the version document and error bodies.

import { createHash } from 'node:crypto';
import { formatMicroversion, MIN_MICROVERSION, supports, type Microversion } from './microversion.ts';
import type { ActionSnapshot, EventSnapshot, MigrationSnapshot, ServerSnapshot } from './script.ts';

/** `admin` sees event tracebacks, hosts and details; `member` is a project user, Nova's default policy. */
export type Role = 'admin' | 'member';

export interface Viewer {
  readonly version: Microversion;
  readonly role: Role;
  /** The time the cloud's clock showed at a moment of the scripts: what it stamped then (server.ts, setClock). */
  readonly stamp: (ms: number) => number;
}

type Json = Record<string, unknown>;

/** Instance action times: `2018-04-25T01:26:36.790544`, microseconds and no zone, UTC. */
function novaTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000`;
}

/** Server and fault times (oslo isotime): `2018-04-25T01:26:36Z`. */
function isoTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** Nova's obfuscated host id (nova.utils.generate_hostid): sha224 of project id and host; "" without a host. */
function hostId(host: string | null, projectId: string): string {
  return host === null ? '' : createHash('sha224').update(projectId + host).digest('hex');
}

function renderEvent(event: EventSnapshot, projectId: string, viewer: Viewer): Json {
  const admin = viewer.role === 'admin';
  const json: Json = {
    event: event.event,
    start_time: novaTime(viewer.stamp(event.startTime)),
    finish_time: event.finishTime === null ? null : novaTime(viewer.stamp(event.finishTime)),
    result: event.result,
  };
  if (admin) json.traceback = event.traceback;
  if (admin && supports(viewer.version, 62)) json.host = event.host;
  if (supports(viewer.version, 62)) json.hostId = hostId(event.host, projectId);
  if (admin && supports(viewer.version, 84)) json.details = event.details;
  return json;
}

/** One item of GET /servers/{id}/os-instance-actions (ACTION_KEYS, and updated_at from 2.58). */
export function renderActionSummary(action: ActionSnapshot, { version, stamp }: Omit<Viewer, 'role'>): Json {
  const json: Json = {
    action: action.action,
    instance_uuid: action.instanceUuid,
    request_id: action.requestId,
    user_id: action.userId,
    project_id: action.projectId,
    start_time: novaTime(stamp(action.startTime)),
    message: action.message,
  };
  if (supports(version, 58)) json.updated_at = novaTime(stamp(action.updatedAt));
  return json;
}

/** The body of GET /servers/{id}/os-instance-actions/{request_id}: the list's item and, where visible, its events. */
export function renderInstanceAction(action: ActionSnapshot, viewer: Viewer): Json {
  const json = renderActionSummary(action, viewer);
  // Below 2.51 the default policy shows events to admins only, and then the key is absent, not empty.
  if (viewer.role === 'admin' || supports(viewer.version, 51)) {
    // Nova reads events ordered by created_at descending: the newest comes first.
    json.events = action.events.toReversed().map((event) => renderEvent(event, action.projectId, viewer));
  }
  return { instanceAction: json };
}

// nova/api/openstack/compute/migrations.py: links only while a live migration runs.
const LIVE_MIGRATION_IN_PROGRESS = new Set(['queued', 'preparing', 'running', 'post-migrating']);

/** One record of GET /os-migrations as MigrationsController._output shapes it per microversion (admin). */
export function renderMigration(m: MigrationSnapshot, { version, stamp }: Omit<Viewer, 'role'>, baseUrl: string): Json {
  const json: Json = {
    id: m.id,
    source_compute: m.sourceHost,
    dest_compute: m.destHost,
    source_node: m.sourceHost,
    dest_node: m.destHost,
    dest_host: null,
    old_instance_type_id: 1,
    new_instance_type_id: 1,
    instance_uuid: m.instanceUuid,
    status: m.status,
    created_at: novaTime(stamp(m.createdAt)),
    updated_at: m.updatedAt === null ? null : novaTime(stamp(m.updatedAt)),
  };
  if (supports(version, 23)) {
    json.migration_type = m.type;
    if (m.type === 'live-migration' && LIVE_MIGRATION_IN_PROGRESS.has(m.status)) {
      const href = `${baseUrl}/v2.1/${m.projectId}/servers/${m.instanceUuid}/migrations/${m.id}`;
      json.links = [
        { rel: 'self', href },
        { rel: 'bookmark', href: href.replace('/v2.1/', '/') },
      ];
    }
  }
  if (supports(version, 59)) json.uuid = m.uuid;
  if (supports(version, 80)) {
    json.user_id = m.userId;
    json.project_id = m.projectId;
  }
  return json;
}

/** The body of GET /servers/{id}: the fields a watcher reads and enough around them to look real. */
export function renderServer(server: ServerSnapshot, viewer: Viewer, baseUrl: string): Json {
  const href = `${baseUrl}/v2.1/${server.projectId}/servers/${server.id}`;
  const json: Json = {
    id: server.id,
    name: server.name,
    status: server.status,
    tenant_id: server.projectId,
    user_id: server.userId,
    hostId: hostId(server.host, server.projectId),
    created: isoTime(viewer.stamp(server.created)),
    updated: isoTime(viewer.stamp(server.updated)),
    links: [
      { rel: 'self', href },
      { rel: 'bookmark', href: href.replace('/v2.1/', '/') },
    ],
    metadata: {},
    'OS-EXT-STS:task_state': server.taskState,
    'OS-EXT-STS:vm_state': server.vmState,
  };
  // Nova shows the fault only in ERROR (and DELETED); its details only when they hold something (an empty
  // string is left out as null is), and then only to admins unless the code is not 500.
  if (server.fault !== null && (server.status === 'ERROR' || server.status === 'DELETED')) {
    const fault: Json = { code: server.fault.code, created: isoTime(viewer.stamp(server.fault.created)), message: server.fault.message };
    if (server.fault.details !== null && server.fault.details !== '' && (viewer.role === 'admin' || server.fault.code !== 500)) {
      fault.details = server.fault.details;
    }
    json.fault = fault;
  }
  return { server: json };
}

/** The body of GET /v2.1/, as versions/v21-version-get-resp.json. */
export function renderVersionDocument(max: Microversion, baseUrl: string): Json {
  return {
    version: {
      id: 'v2.1',
      links: [
        { href: `${baseUrl}/v2.1/`, rel: 'self' },
        { href: 'http://docs.openstack.org/', rel: 'describedby', type: 'text/html' },
      ],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
      status: 'CURRENT',
      version: formatMicroversion(max),
      min_version: formatMicroversion(MIN_MICROVERSION),
      updated: '2013-07-23T11:33:21Z',
    },
  };
}

/** The body of GET /, as versions/versions-get-resp.json: the legacy v2.0 and v2.1 (compute/versions.py VERSIONS). */
export function renderVersionList(max: Microversion, baseUrl: string): Json {
  return {
    versions: [
      { id: 'v2.0', links: [{ href: `${baseUrl}/v2/`, rel: 'self' }], status: 'DEPRECATED', version: '', min_version: '', updated: '2025-07-04T12:00:00Z' },
      {
        id: 'v2.1',
        links: [{ href: `${baseUrl}/v2.1/`, rel: 'self' }],
        status: 'CURRENT',
        version: formatMicroversion(max),
        min_version: formatMicroversion(MIN_MICROVERSION),
        updated: '2013-07-23T11:33:21Z',
      },
    ],
  };
}

// nova.api.openstack.wsgi.Fault: the body's key names the status; anything unlisted is computeFault.
const FAULT_NAMES: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/**
 * The 404 of nova's URL router (Routes, webob) for a path no controller serves, as JSON to a client that
 * accepts it: no fault key, so it never reads as a resource nova looked up and did not find.
 */
export function routerNotFound(): Json {
  return { message: 'The resource could not be found.<br /><br />\n\n\n', code: '404 Not Found', title: 'Not Found' };
}

/** A Nova error body, e.g. `{"itemNotFound": {"code": 404, "message": "..."}}`. */
export function novaError(code: number, message: string, retryAfterSeconds?: number): Json {
  const detail: Json = { code, message };
  if (retryAfterSeconds !== undefined) detail.retryAfter = String(retryAfterSeconds);
  return { [FAULT_NAMES[code] ?? 'computeFault']: detail };
}

/** keystonemiddleware's answer to a request without a valid token. */
export function keystoneUnauthorized(): Json {
  return { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } };
}
