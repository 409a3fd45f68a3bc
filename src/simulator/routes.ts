// The compute API itself: one request in, one answer out, as a pure function of the scripted
// actions and the clock. Transport concerns (sockets, faults, the request log) are server.ts's.

import { formatMicroversion, negotiateMicroversion, supports, type Microversion } from './microversion.ts';
import {
  novaError, renderActionSummary, renderInstanceAction, renderMigration, renderServer, renderVersionDocument,
  renderVersionList, routerNotFound, type Role,
} from './render.ts';
import { actionAt, deletedServerAt, migrationAt, serverAt, type ActionPlan, type ActionSnapshot, type MigrationSnapshot, type ServerSnapshot } from './script.ts';
import { jobAt, unknownJob, type JobPlan } from './jobs.ts';

export type Route =
  /** GET /v2.1/, or with `root` GET /: the list of versions. */
  | { readonly kind: 'versions'; readonly root?: true }
  /** Keystone's /v3/auth/tokens, served by identity.ts. */
  | { readonly kind: 'identity' }
  | { readonly kind: 'action'; readonly projectId: string; readonly serverId: string; readonly requestId: string }
  | { readonly kind: 'actions'; readonly projectId: string; readonly serverId: string }
  | { readonly kind: 'server'; readonly projectId: string; readonly serverId: string }
  /** GET /servers/detail: the project's servers. */
  | { readonly kind: 'servers'; readonly projectId: string }
  | { readonly kind: 'migrations' }
  /** Huawei Cloud / OTC's native job API, outside Nova's /v2.1 and its microversions. */
  | { readonly kind: 'job'; readonly projectId: string; readonly jobId: string }
  | { readonly kind: 'other' };

/** What a request addresses; faults and the request log use it. */
export type RouteKind = Route['kind'];

export interface ApiRequest {
  readonly method: string;
  /** Without the query string. */
  readonly path: string;
  readonly query?: URLSearchParams;
  /** Lower-case names, as Node gives them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The project of the token that let the request in (Nova's context.project_id); undefined when none says. */
  readonly contextProjectId?: string | undefined;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface ApiState {
  /** In the order they were added: the latest plan for a server decides its state. */
  readonly plans: readonly ActionPlan[];
  readonly jobs: readonly JobPlan[];
  /** The time of the scripts, which a setting of the cloud's clock does not move. */
  readonly now: number;
  /** The time the cloud's clock showed at a time of the scripts: what it stamped then. */
  readonly stamp: (ms: number) => number;
  readonly maxMicroversion: Microversion;
  /** CONF.api.max_limit: the most items one page of a list holds, and its size when no `limit` is asked. */
  readonly maxLimit: number;
  readonly role: Role;
  /** Scheme, host and port, for the links Nova puts in documents. */
  readonly baseUrl: string;
}

const SEGMENT = '([^/]+)';
const ACTION_PATH = new RegExp(`^/v2\\.1/${SEGMENT}/servers/${SEGMENT}/os-instance-actions/${SEGMENT}$`);
const ACTIONS_PATH = new RegExp(`^/v2\\.1/${SEGMENT}/servers/${SEGMENT}/os-instance-actions$`);
const SERVER_PATH = new RegExp(`^/v2\\.1/${SEGMENT}/servers/${SEGMENT}$`);
const SERVERS_PATH = new RegExp(`^/v2\\.1/${SEGMENT}/servers/detail$`);
// Nova routes os-migrations with and without the project in the URL.
const MIGRATIONS_PATH = /^\/v2\.1\/(?:[^/]+\/)?os-migrations$/;
const JOB_PATH = new RegExp(`^/v1/${SEGMENT}/jobs/${SEGMENT}$`);

export function matchRoute(path: string): Route {
  if (path === '/v2.1' || path === '/v2.1/') return { kind: 'versions' };
  if (path === '/') return { kind: 'versions', root: true };
  if (path === '/v3/auth/tokens') return { kind: 'identity' };
  const action = ACTION_PATH.exec(path);
  if (action !== null) {
    const [, projectId = '', serverId = '', requestId = ''] = action;
    return { kind: 'action', projectId, serverId, requestId };
  }
  const actions = ACTIONS_PATH.exec(path);
  if (actions !== null) {
    const [, projectId = '', serverId = ''] = actions;
    return { kind: 'actions', projectId, serverId };
  }
  if (MIGRATIONS_PATH.test(path)) return { kind: 'migrations' };
  const job = JOB_PATH.exec(path);
  if (job !== null) {
    const [, projectId = '', jobId = ''] = job;
    return { kind: 'job', projectId, jobId };
  }
  const servers = SERVERS_PATH.exec(path);
  if (servers !== null) return { kind: 'servers', projectId: servers[1] ?? '' };
  const server = SERVER_PATH.exec(path);
  if (server !== null) {
    const [, projectId = '', serverId = ''] = server;
    return { kind: 'server', projectId, serverId };
  }
  return { kind: 'other' };
}

const JSON_TYPE = { 'content-type': 'application/json' };

function json(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): ApiResponse {
  return { status, headers: { ...JSON_TYPE, ...headers }, body };
}

/** The headers Nova adds to every answer once it has settled on a microversion, errors included. */
function versionHeaders(version: Microversion): Record<string, string> {
  const text = formatMicroversion(version);
  return {
    'openstack-api-version': `compute ${text}`,
    'x-openstack-nova-api-version': text,
    vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
  };
}

function instanceNotFound(serverId: string): [number, unknown] {
  return [404, novaError(404, `Instance ${serverId} could not be found.`)];
}

/** The latest plan of a server decides whether it exists and what it looks like. */
function latestPlan(state: ApiState, projectId: string, serverId: string): ActionPlan | undefined {
  return state.plans.findLast((plan) => plan.projectId === projectId && plan.serverId === serverId);
}

/** The server's instance.created_at: its first action's start, which later actions leave alone. */
function createdAt(state: ApiState, plan: ActionPlan): number {
  return state.plans.find((first) => first.projectId === plan.projectId && first.serverId === plan.serverId)?.addedAt ?? plan.addedAt;
}

function showAction(
  state: ApiState,
  version: Microversion,
  route: Extract<Route, { kind: 'action' }>,
): [number, unknown] {
  const instancePlan = latestPlan(state, route.projectId, route.serverId);
  if (instancePlan === undefined) return instanceNotFound(route.serverId);
  // Before 2.21 Nova looks the instance up without read_deleted, so a deleted server hides its actions.
  if (!supports(version, 21) && serverAt(instancePlan, state.now) === undefined) return instanceNotFound(route.serverId);
  const plan = state.plans.find(
    (candidate) =>
      candidate.projectId === route.projectId && candidate.serverId === route.serverId && candidate.requestId === route.requestId,
  );
  const action = plan === undefined ? undefined : actionAt(plan, state.now);
  if (action === undefined) return [404, novaError(404, `Action ${route.requestId} not found`)];
  return [200, renderInstanceAction(action, { version, role: state.role, stamp: state.stamp })];
}

/**
 * A time parameter of Nova's query schemas (`changes-since`, from 2.58 for actions; `changes-before`, 2.66):
 * an ISO 8601 time; undefined when absent (or, below `fromMinor`, ignored as Nova's schema then allows any
 * parameter), null when unreadable.
 */
function queryTime(query: URLSearchParams, name: string, version: Microversion, fromMinor: number): number | undefined | null {
  const text = query.get(name);
  if (text === null || !supports(version, fromMinor)) return undefined;
  return parseIsoTime(text) ?? null;
}

// The ISO 8601 forms the iso8601 library reads (oslo timeutils.parse_isotime, Nova's `date-time` format
// check): YYYY, YYYY-MM, a date (dashes or not) and, after T or a space, hh[:mm[:ss[.fraction]]] and a zone.
const ISO_8601 =
  /^(\d{4})(?:(?:-(\d{1,2})|(\d{2})(?!$))(?:(?:-(\d{1,2})|(\d{2}))(?:[ T](\d{2})(?::?(\d{2}))?(?::?(\d{1,2})(?:[.,](\d+))?)?(Z|([-+])(\d{2}):?(\d{2})?)?)?)?)?$/;

/**
 * The time `text` names in ms, as timeutils.parse_isotime reads it: a time without a zone is UTC (its
 * default_timezone), never the host's; undefined for anything else, RFC 1123 dates among them, and for
 * dates Python's datetime refuses (a 13th month, a 61st second).
 */
function parseIsoTime(text: string): number | undefined {
  const m = ISO_8601.exec(text);
  if (m === null) return undefined;
  const [, year, monthDash, month, dayDash, day, hour = '0', minute = '0', second = '0', fraction = '', , sign, tzHour = '0', tzMinute = '0'] = m;
  const parts = [Number(year), Number(monthDash ?? month ?? 1) - 1, Number(dayDash ?? day ?? 1), Number(hour), Number(minute), Number(second)] as const;
  const utc = Date.UTC(...parts);
  const back = new Date(utc);
  const fields = [back.getUTCFullYear(), back.getUTCMonth(), back.getUTCDate(), back.getUTCHours(), back.getUTCMinutes(), back.getUTCSeconds()];
  if (fields.some((value, i) => value !== parts[i])) return undefined;
  // Microseconds, as datetime keeps them.
  const micros = fraction === '' ? 0 : Math.trunc(Number(`0.${fraction}`) * 1e6);
  const offsetMs = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(tzHour) * 60 + Number(tzMinute)) * 60_000;
  return utc + micros / 1000 - offsetMs;
}

/** The schema validator's answer to a time it cannot read (`format: date-time`). */
function badTime(query: URLSearchParams, name: string): [number, unknown] {
  const text = query.get(name) ?? '';
  return [400, novaError(400, `Invalid input for query parameters ${name}. Value: ${text}. '${text}' is not a 'date-time'`)];
}

/** `limit` as common.get_limit_and_marker reads it: at most `maxLimit`, which is also the default; null when not a whole number. */
function pageLimit(query: URLSearchParams, maxLimit: number): number | null {
  const text = query.get('limit');
  if (text === null) return maxLimit;
  return /^\d+$/.test(text) ? Math.min(Number(text), maxLimit) : null;
}

const badLimit = (query: URLSearchParams): [number, unknown] => {
  const text = query.get('limit') ?? '';
  return [400, novaError(400, `Invalid input for query parameters limit. Value: ${text}. '${text}' does not match '^[0-9]*$'`)];
};

/**
 * common.ViewBuilder._get_collection_links: a `next` link once a page is as long as its limit, to the same
 * collection with every request parameter (sorted, as _get_next_link writes them) and `marker` the page's
 * last item. Empty otherwise.
 */
function nextLinks(collectionUrl: string, query: URLSearchParams, limit: number, lastId: string | undefined, count: number): Array<{ rel: string; href: string }> {
  if (lastId === undefined || count !== limit) return [];
  // sorted(request.params.items()) into an OrderedDict: by name then value, the last of a repeated name wins.
  const sorted = [...query].sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  const params = new URLSearchParams([...new Map(sorted)]);
  params.set('marker', lastId);
  return [{ rel: 'next', href: `${collectionUrl}?${params}` }];
}

const ACTIONS_QUERY_V258: ReadonlySet<string> = new Set(['limit', 'marker', 'changes-since']);
const ACTIONS_QUERY_V266: ReadonlySet<string> = new Set([...ACTIONS_QUERY_V258, 'changes-before']);

/** jsonschema's message for `additionalProperties: False`, which Nova's validator answers as it is. */
function unexpectedParameters(names: readonly string[]): [number, unknown] {
  const list = names.map((name) => `'${name}'`).join(', ');
  return [400, novaError(400, `Additional properties are not allowed (${list} ${names.length === 1 ? 'was' : 'were'} unexpected)`)];
}

/**
 * GET /servers/{id}/os-instance-actions: the server's actions, newest first, without events; from 2.58
 * `changes-since` (from 2.66 `changes-before` too) and pages (`limit`, `marker`, a `links` next link), as
 * instance_actions.py index and db actions_get serve them.
 */
function listActions(state: ApiState, version: Microversion, route: Extract<Route, { kind: 'actions' }>, query: URLSearchParams): [number, unknown] {
  // The query schema (index_query_v258, _v266 adds changes-before) is checked before the server is looked
  // up: its properties in their order (limit, marker, changes-since, changes-before), then that it allows
  // no other parameter, as jsonschema raises the first error it meets.
  if (supports(version, 58)) {
    if (query.has('limit') && pageLimit(query, state.maxLimit) === null) return badLimit(query);
    if (queryTime(query, 'changes-since', version, 58) === null) return badTime(query, 'changes-since');
    if (queryTime(query, 'changes-before', version, 66) === null) return badTime(query, 'changes-before');
    const allowed = supports(version, 66) ? ACTIONS_QUERY_V266 : ACTIONS_QUERY_V258;
    const unexpected = [...new Set(query.keys())].filter((name) => !allowed.has(name));
    if (unexpected.length > 0) return unexpectedParameters(unexpected);
  }
  const instancePlan = latestPlan(state, route.projectId, route.serverId);
  if (instancePlan === undefined) return instanceNotFound(route.serverId);
  if (!supports(version, 21) && serverAt(instancePlan, state.now) === undefined) return instanceNotFound(route.serverId);
  const since = queryTime(query, 'changes-since', version, 58);
  if (since === null) return badTime(query, 'changes-since');
  const before = queryTime(query, 'changes-before', version, 66);
  if (before === null) return badTime(query, 'changes-before');
  if (since !== undefined && before !== undefined && before < since) {
    return [400, novaError(400, 'The value of changes-since must be less than or equal to changes-before.')];
  }
  // Nova orders by created_at descending; plans are kept in the order they were added.
  const all = state.plans
    .filter((plan) => plan.projectId === route.projectId && plan.serverId === route.serverId)
    .flatMap((plan) => actionAt(plan, state.now) ?? [])
    .toReversed();
  const { stamp } = state;
  const changedInWindow = (action: ActionSnapshot) => (since === undefined || stamp(action.updatedAt) >= since) && (before === undefined || stamp(action.updatedAt) <= before);
  if (!supports(version, 58)) return [200, { instanceActions: all.filter(changedInWindow).map((action) => renderActionSummary(action, { version, stamp })) }];

  const limit = pageLimit(query, state.maxLimit);
  if (limit === null) return badLimit(query);
  const marker = query.get('marker');
  // actions_get looks the marker up among all the server's actions, whatever the filters, and
  // paginate_query returns what sorts after it. One it does not find is named by what the lookup gave
  // in its place (MarkerNotFound(marker=None)), not by the id asked for.
  const after = marker === null ? -1 : all.findIndex((action) => action.requestId === marker);
  if (after === -1 && marker !== null) return [400, novaError(400, 'Marker None could not be found.')];
  const page = all.slice(after + 1).filter(changedInWindow).slice(0, limit);
  const body: Record<string, unknown> = { instanceActions: page.map((action) => renderActionSummary(action, { version, stamp })) };
  const links = nextLinks(`${state.baseUrl}/v2.1/${route.projectId}/servers/${route.serverId}/os-instance-actions`, query, limit, page.at(-1)?.requestId, page.length);
  if (links.length > 0) body.links = links;
  return [200, body];
}

/**
 * GET /servers/detail: the project's servers, newest first, `limit` per page and a `next` link (every
 * request parameter kept) when a page is full. With `changes-since` only those changed since then, deleted ones included (status DELETED), as
 * Nova answers it for everyone.
 */
function listServers(state: ApiState, version: Microversion, route: Extract<Route, { kind: 'servers' }>, query: URLSearchParams): [number, unknown] {
  const since = queryTime(query, 'changes-since', version, 1);
  if (since === null) return badTime(query, 'changes-since');
  // Each server's latest plan, and when its first began (createdAt, in the same pass over the plans).
  const latest = new Map<string, ActionPlan>();
  const created = new Map<string, number>();
  for (const plan of state.plans) {
    if (plan.projectId !== route.projectId) continue;
    latest.set(plan.serverId, plan);
    if (!created.has(plan.serverId)) created.set(plan.serverId, plan.addedAt);
  }
  const servers = [...latest.values()].flatMap((plan) => {
    const server = serverAt(plan, state.now, created.get(plan.serverId));
    if (server !== undefined) return since === undefined || state.stamp(server.updated) >= since ? [server] : [];
    // Gone: shown only to a changes-since query, as the deleted record it is.
    const deleted = deletedServerAt(plan, created.get(plan.serverId));
    return since !== undefined && state.stamp(deleted.updated) >= since ? [deleted] : [];
  });
  servers.sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  const limit = pageLimit(query, state.maxLimit);
  if (limit === null) return badLimit(query);
  const marker = query.get('marker');
  // instance_get_all_by_filters_sort reads the marker with read_deleted='yes', whatever the filters, and
  // goes on after its place in the order: one deleted (or unchanged) since the page before still counts.
  const markerCreated = marker === null ? undefined : created.get(marker);
  if (marker !== null && markerCreated === undefined) return [400, novaError(400, `marker [${marker}] not found`)];
  const after = (s: ServerSnapshot) => markerCreated === undefined || s.created < markerCreated || (s.created === markerCreated && s.id < (marker ?? ''));
  const page = servers.filter(after).slice(0, limit);
  const body: Record<string, unknown> = { servers: page.map((s) => (renderServer(s, { version, role: state.role, stamp: state.stamp }, state.baseUrl) as { server: unknown }).server) };
  const links = nextLinks(`${state.baseUrl}/v2.1/${route.projectId}/servers/detail`, query, limit, page.at(-1)?.id, page.length);
  if (links.length > 0) body.servers_links = links;
  return [200, body];
}

/**
 * GET /os-migrations: admin only by default policy (os_compute_api:os-migrations:index); filtered by
 * `instance_uuid`; from 2.59 newest first, before in the order the records were created.
 */
function listMigrations(state: ApiState, version: Microversion, query: URLSearchParams): [number, unknown] {
  if (state.role !== 'admin') {
    return [403, novaError(403, "Policy doesn't allow os_compute_api:os-migrations:index to be performed.")];
  }
  const instance = query.get('instance_uuid');
  const records = state.plans
    .map((plan) => migrationAt(plan, state.now))
    .filter((m): m is MigrationSnapshot => m !== undefined && (instance === null || m.instanceUuid === instance));
  const ordered = supports(version, 59) ? records.toSorted((a, b) => b.createdAt - a.createdAt || b.id - a.id) : records;
  return [200, { migrations: ordered.map((m) => renderMigration(m, { version, stamp: state.stamp }, state.baseUrl)) }];
}

function showServer(state: ApiState, version: Microversion, route: Extract<Route, { kind: 'server' }>): [number, unknown] {
  const plan = latestPlan(state, route.projectId, route.serverId);
  const server = plan === undefined ? undefined : serverAt(plan, state.now, createdAt(state, plan));
  if (server === undefined) return instanceNotFound(route.serverId);
  return [200, renderServer(server, { version, role: state.role, stamp: state.stamp }, state.baseUrl)];
}

/** GET /v1/{project_id}/jobs/{job_id}: a job of another project is as unknown as one never created. */
function showJob(state: ApiState, route: Extract<Route, { kind: 'job' }>): ApiResponse {
  const plan = state.jobs.find((j) => j.projectId === route.projectId && j.jobId === route.jobId);
  const job = plan === undefined ? undefined : jobAt(plan, state.now, state.stamp);
  return job === undefined ? json(400, unknownJob()) : json(200, job);
}

export function handleApiRequest(request: ApiRequest, state: ApiState): ApiResponse {
  const route = matchRoute(request.path);
  if (route.kind === 'job') {
    return request.method === 'GET' ? showJob(state, route) : json(405, { error: { message: 'The method specified is not allowed for this resource.' } });
  }
  // Nova serves the version documents outside the authenticated /v2.1/+ pipeline.
  if (route.kind === 'versions' && request.method !== 'GET') return json(405, novaError(405, 'The method specified is not allowed for this resource.'));
  // The list at / is not under microversion control (Versions.support_api_request_version = False).
  if (route.kind === 'versions' && route.root === true) return json(200, renderVersionList(state.maxMicroversion, state.baseUrl));
  // Nova routes a request before it looks at its microversion: a path no controller serves is the router's
  // 404 whatever the version header or method (nova 26 answers it so, test/fixtures/nova-peer/unrouted/).
  if (route.kind === 'other' || route.kind === 'identity') return json(404, routerNotFound());
  const negotiation = negotiateMicroversion(request.headers, state.maxMicroversion);
  if (!negotiation.ok) {
    return json(negotiation.status, novaError(negotiation.status, negotiation.message), negotiation.status === 406 ? versionHeaders(negotiation.version) : {});
  }
  const { version } = negotiation;
  const headers = versionHeaders(version);
  // VersionsV2 (/v2.1/) is a wsgi.Resource like any other: it negotiates, and echoes, a microversion.
  if (route.kind === 'versions') return json(200, renderVersionDocument(state.maxMicroversion, state.baseUrl), headers);

  // wsgi.Resource._process_stack, before any controller: a token of one project cannot read another's URL.
  const urlProjectId = 'projectId' in route ? route.projectId : undefined;
  if (urlProjectId !== undefined && request.contextProjectId !== undefined && urlProjectId !== request.contextProjectId) {
    const message = `Malformed request URL: URL's project_id '${urlProjectId}' doesn't match Context's project_id '${request.contextProjectId}'`;
    return json(400, novaError(400, message), headers);
  }
  if (request.method !== 'GET') {
    return json(405, novaError(405, 'The method specified is not allowed for this resource.'), headers);
  }
  const query = request.query ?? new URLSearchParams();
  const [status, body] =
    route.kind === 'action' ? showAction(state, version, route)
    : route.kind === 'actions' ? listActions(state, version, route, query)
    : route.kind === 'servers' ? listServers(state, version, route, query)
    : route.kind === 'migrations' ? listMigrations(state, version, query)
    : showServer(state, version, route);
  return json(status, body, headers);
}
