// The configured endpoint comes in three shapes: a service root, `.../v2.1` (as Nova registers it) or
// `.../v2.1/{projectId}` (as Huawei Cloud and OTC catalogs list it). Keystone's legacy `compute_legacy`
// entry `.../v2/{projectId}` is served by the same code, so it is read as v2.1 too, and so is the native
// ECS API's `.../v1/{projectId}` (the catalog's service `ecs`, beside `compute`), on the same service root.
// Every URL is built from the part up to the version segment, with the watch's own project appended.

interface ParsedEndpoint {
  /** Origin and path up to and including `/v2.1`, no trailing slash. */
  base: string;
  /** The service root: `base` without `/v2.1`, where Huawei's native ECS API (`/v1/...`) lives too. */
  root: string;
  /** The project segment the endpoint carried, if it was a real id rather than a catalog template. */
  projectId: string | undefined;
  /** That segment when it was a catalog template (`%(tenant_id)s`, `{projectId}`), as written. */
  placeholder: string | undefined;
}

const VERSION_SEGMENT = /^v(1|2(\.1)?)$/;
// Catalog templates such as `$(tenant_id)s`, `%(project_id)s` or `{project_id}` are placeholders, not ids.
const TEMPLATE = /[$%{}()]/;

// Every request's URL is built from the one endpoint: its parse is kept rather than redone per request.
let lastParsed: { endpoint: string; parsed: ParsedEndpoint } | undefined;

function parse(endpoint: string): ParsedEndpoint {
  if (lastParsed?.endpoint !== endpoint) lastParsed = { endpoint, parsed: parseEndpoint(endpoint) };
  return lastParsed.parsed;
}

function parseEndpoint(endpoint: string): ParsedEndpoint {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new TypeError(`cloud endpoint is not a URL: ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`cloud endpoint must be http(s): ${JSON.stringify(endpoint)}`);
  }
  const { segments, at } = versioned(url);
  // Only a version segment that is last or followed by exactly one (the project) counts; anything deeper
  // is a path prefix we must not cut.
  const endsVersioned = at !== -1 && at >= segments.length - 2;
  const prefix = endsVersioned ? segments.slice(0, at) : segments;
  const projectSegment = endsVersioned ? segments[at + 1] : undefined;
  // `origin` leaves out user:password, which OpenStack never uses and which must not reach logs.
  const root = [url.origin, ...prefix].join('/');
  const projectId = projectSegment === undefined ? undefined : realProjectId(projectSegment);
  const placeholder = projectSegment !== undefined && projectId === undefined ? decodedSegment(projectSegment) : undefined;
  return { base: `${root}/v2.1`, root, projectId, placeholder };
}

/** The segments of `url`'s path, and where its last version segment is (-1: none). */
function versioned(url: URL): { segments: string[]; at: number } {
  const segments = url.pathname.split('/').filter((s) => s !== '');
  return { segments, at: segments.findLastIndex((s) => VERSION_SEGMENT.test(s)) };
}

/** Segments of a request's path (Nova's, the native ECS API's), never of a service root or a proxy's prefix. */
const REQUEST_SEGMENTS = new Set(['servers', 'os-migrations', 'os-instance-actions', 'jobs', 'cloudservers']);

/**
 * The endpoint as it should be written when it goes on past its version and project into a request's path
 * (`.../v2.1/{projectId}/servers/detail`, copied from a request): up to the project. Read as it is, such a
 * path is a prefix, and every request would double it (`.../servers/detail/v2.1/...`). Undefined for any other.
 */
export function endpointWithoutRequestPath(endpoint: string): string | undefined {
  const url = URL.parse(endpoint.trim());
  if (url === null) return undefined;
  const { segments, at } = versioned(url);
  const request = segments.findIndex((s, i) => i > at && i <= at + 2 && REQUEST_SEGMENTS.has(s));
  return request === -1 ? undefined : [url.origin, ...segments.slice(0, request)].join('/');
}

function realProjectId(segment: string): string | undefined {
  const id = decodedSegment(segment);
  return TEMPLATE.test(id) ? undefined : id;
}

/** A path segment as written in the endpoint (the URL parser escapes `{` and `}`); as it is where it is no valid percent-encoding (`%(project_id)s`). */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The catalog template the endpoint holds where a project id goes (`.../v2.1/%(tenant_id)s`), if any. */
export function endpointProjectPlaceholder(endpoint: string): string | undefined {
  return parse(endpoint).placeholder;
}

/** The version document: `GET {base}/v2.1/` (with the slash; Nova redirects without it). */
export function versionUrl(endpoint: string): string {
  return `${parse(endpoint).base}/`;
}

/** The project id the endpoint itself carries (`.../v2.1/{projectId}`), a default for watches naming none. */
export function endpointProjectId(endpoint: string): string | undefined {
  return parse(endpoint).projectId;
}

export function serverUrl(endpoint: string, projectId: string, serverId: string): string {
  return `${parse(endpoint).base}/${encodeURIComponent(projectId)}/servers/${encodeURIComponent(serverId)}`;
}

export function actionUrl(endpoint: string, projectId: string, serverId: string, requestId: string): string {
  return `${serverUrl(endpoint, projectId, serverId)}/os-instance-actions/${encodeURIComponent(requestId)}`;
}

/** The server's actions, newest first; `query` such as `changes-since` (2.58+). */
export function actionListUrl(endpoint: string, projectId: string, serverId: string, query: Record<string, string> = {}): string {
  return `${serverUrl(endpoint, projectId, serverId)}/os-instance-actions${queryString(query)}`;
}

/** The project's servers with their details; `query` such as `changes-since`, `limit`, `marker`. */
export function serverListUrl(endpoint: string, projectId: string, query: Record<string, string> = {}): string {
  return `${parse(endpoint).base}/${encodeURIComponent(projectId)}/servers/detail${queryString(query)}`;
}

function queryString(query: Record<string, string>): string {
  const text = new URLSearchParams(query).toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * The migration records of one server (admin by default policy), at the path the contract names: Nova
 * routes it with the project too, but a gateway in front of it may serve only this one.
 */
export function migrationsUrl(endpoint: string, serverId: string): string {
  return `${parse(endpoint).base}/os-migrations?instance_uuid=${encodeURIComponent(serverId)}`;
}

/** A job of Huawei Cloud / OTC's native ECS API, beside Nova's /v2.1 on the same service root. */
export function jobUrl(endpoint: string, projectId: string, jobId: string): string {
  return `${parse(endpoint).root}/v1/${encodeURIComponent(projectId)}/jobs/${encodeURIComponent(jobId)}`;
}
