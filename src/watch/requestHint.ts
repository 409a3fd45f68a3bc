// What the server's own list of actions says about a request id the API does not know, what an unknown job
// id looks like (each kind of id is easily given as the other), and a server's name given as its id. Pure.
import type { InstanceActionSummary } from '../model.ts';
import { novaTimeIso } from '../cloud/time.ts';
import { closest } from '../text/closest.ts';

/**
 * A Nova request id (`req-` and a UUID), and a job id of Huawei's native ECS API (32 hex digits, as its API
 * gateway's X-Request-Id is): each is easily given as the other.
 */
const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JOB_ID = /^[0-9a-f]{32}$/i;

/** A server id as Nova takes it (oslo's is_uuid_like: a UUID, its dashes optional); Huawei's are UUIDs too. */
const SERVER_ID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * For a server the API does not know: a clause when its id is no UUID ('' else), most often the server's name
 * copied where its id goes. Nova answers 404 for such an id without looking further. Pure.
 */
export function serverIdHint(serverId: string): string {
  return SERVER_ID.test(serverId) ? '' : `${serverId} is no server id (Nova's and Huawei's are UUIDs): if it is the server's name, \`openstack server show ${serverId} -f value -c id\` gives its id`;
}

/** For a job id the API does not know: a clause when it is a request id of an instance action ('' else). Pure. */
export function jobIdHint(jobId: string): string {
  return REQUEST_ID.test(jobId) ? `${jobId} looks like the request id of an instance action: watch it as \`requestId: ${jobId}\` with its \`serverId\`` : '';
}

/** How many of the server's latest actions a hint names when no one of them stands out. */
const LATEST_NAMED = 3;

/**
 * A clause for a request id the API does not know (a `not_found` verdict, `check`'s LAST ERROR): the listed
 * id the watched one most likely meant (cut short in copying, a character off), else the server's latest
 * actions, so that an operator who took the id of another call (a GET's, or another server's action) sees
 * which to watch. Empty where the list holds the id itself: it then says nothing the API's answer does not.
 */
export function requestHint(requestId: string, actions: readonly InstanceActionSummary[]): string {
  if (actions.some((a) => a.request_id === requestId)) return '';
  // Huawei's API gateway answers every call, a Nova one too, with an X-Request-Id of 32 hex digits as well,
  // which names no action: it is easily copied for the action's, and then the server's actions tell which.
  const hexId = JOB_ID.test(requestId)
    ? `${requestId} looks like the job_id of a call to Huawei's native ECS API (watch it as \`kind: ecs-job\` with \`jobId: ${requestId}\`: \`ecs-action-watch add --job ${requestId}\`), ` +
      "or the X-Request-Id of Huawei's API gateway, which names no action (an action's request id is the call's X-Openstack-Request-Id, req- and a UUID); "
    : '';
  if (actions.length === 0) return `${hexId}the server shows no actions`;
  const guess = closest(requestId, actions.map((a) => a.request_id));
  const meant = guess === undefined ? undefined : actions.find((a) => a.request_id === guess);
  if (meant !== undefined) return `${hexId}did you mean ${described(meant)}?`;
  // Nova lists the newest first.
  const more = actions.length > LATEST_NAMED ? ` (of ${actions.length})` : '';
  return `${hexId}the server's latest actions${more}: ${actions.slice(0, LATEST_NAMED).map(described).join(', ')}`;
}

/** `resize req-… (started 2026-11-26T10:00:00Z)`. */
function described(action: InstanceActionSummary): string {
  const started = action.start_time === null ? null : novaTimeIso(action.start_time);
  return `${action.action} ${action.request_id}${started === null ? '' : ` (started ${started.replace(/\.\d+Z$/, 'Z')})`}`;
}
