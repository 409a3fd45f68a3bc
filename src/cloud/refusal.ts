// What an operator is told to mend when the cloud refuses a request, chosen here for every place that says
// it (the poll's log, discovery's, `check` and `wait`, the password login): an error's kind is what
// poll_errors_total counts, and a 401 or 403 of one kind may be the credentials', the cloud's policy's, a
// gateway's address list's, the project's, the endpoint's or, for a login, whoever runs the gateway in front
// of the identity service's to mend, and a 400 the token's scope rather than the request's ids.
import type { ApiError, ApiErrorKind } from './ApiError.ts';

/** Huawei's API gateway's own answers (`APIGW.0402`), as opposed to those of the service behind it. */
const GATEWAY_CODE = /^APIGW\./;

/** Whether `apiCode` is one of Huawei's API gateway's own: the gateway answered, not the service behind it. */
export function isGatewayCode(apiCode: string | undefined): boolean {
  return apiCode !== undefined && GATEWAY_CODE.test(apiCode);
}

/** Nova's answer when a rule of its policy refuses a route: `Policy doesn't allow os_compute_api:... to be performed.` */
const NOVA_POLICY = /Policy doesn't allow \S+ to be performed/;

/**
 * Nova's 400 for a URL whose project is not the one the token is scoped to (wsgi.py _process_stack), before
 * any id of it is looked up: `Malformed request URL: URL's project_id '...' doesn't match Context's project_id '...'`.
 */
const NOVA_PROJECT_MISMATCH = /URL's project_id '[^']*' doesn't match Context's project_id/;

/**
 * A refusal whose fix is not what its status says: a 401 or 403 that the credentials in cloud.auth do not
 * mend, or a 400 that is the token's scope, not the ids or the microversion of the request.
 */
export type Refusal = 'address_refused' | 'gateway_fault' | 'policy_refused' | 'project_unavailable' | 'token_region' | 'login_gateway' | 'project_mismatch';

/**
 * The codes of Huawei's API gateway (its table "Error Codes", of the API Request Signing Guide) whose fix
 * its table puts elsewhere than in the credentials. Not here: those it mends in them (0301, 0303, 0305: the
 * authentication information; 0302, the IAM user's access to the API, which another user may have), and
 * those that are no 401 or 403.
 */
const GATEWAY_REFUSALS: ReadonlyMap<string, Refusal> = new Map([
  // "The IP address is not authorized to access the API": the API's access control, whatever the credentials.
  ['APIGW.0402', 'address_refused'],
  // "Unknown client IP address" and "Access to the backend IP address has been denied": the table's fix for
  // both is the cloud's technical support.
  ['APIGW.0401', 'gateway_fault'],
  ['APIGW.0404', 'gateway_fault'],
  // "API access denied": "check whether you have been authorized to access the API", a grant the
  // credentials lack, as a rule of Nova's policy refuses one.
  ['APIGW.0306', 'policy_refused'],
  // "The project is unavailable": "select another project".
  ['APIGW.0310', 'project_unavailable'],
  // "The token must be updated": a new one, or "an API of another region may have been called".
  ['APIGW.0307', 'token_region'],
]);

/** The kinds a refusal of the login by the gateway comes as: a 400 too, which password.ts counts as unauthorized. */
const LOGIN_REFUSED = new Set<ApiErrorKind>(['unauthorized', 'forbidden', 'bad_request']);

/** What to mend for each Refusal: the file's settings named without the file (pollFixes.ts says which are in it). */
export const REFUSAL_FIX: Record<Refusal, string> = {
  address_refused: "the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth",
  gateway_fault: "the API gateway refuses the request for a fault of its own (its table's fix: the cloud's technical support): ask whoever runs the cloud, not cloud.auth",
  // Nova's own words for a rule of its policy file, which refuses one route (the listing of a server's
  // actions, say) to credentials that every other read takes.
  policy_refused: "the cloud's policy refuses this route to these credentials: ask its operator for the role that allows it",
  project_unavailable: 'the project is unavailable (frozen, deleted, or not of this region): check the project id of the watch, or cloud.projectId and cloud.endpoint',
  token_region: "the API gateway wants another token: one of another region's project than cloud.endpoint's (a static token: one past its time): check that cloud.endpoint and the project of cloud.auth are of one region, or renew cloud.auth.token",
  project_mismatch: "the token is scoped to another project than the one the request names: scope cloud.auth to that project (its projectId or projectName), or watch the token's project (the watch's projectId, cloud.projectId)",
  // The token request carries no credentials the gateway checks: whoever runs it, or the URL it is sent to, mends it.
  login_gateway: 'the API gateway in front of the identity service answered the login itself, not the identity service (no refusal of the password): ask whoever runs the gateway, or check cloud.auth.identityEndpoint',
};

/** The refusal `err` is whose fix is not in the credentials; undefined for any other error. */
export function refusalOf(err: ApiError): Refusal | undefined {
  const code = err.apiCode;
  const byTable = code === undefined ? undefined : GATEWAY_REFUSALS.get(code);
  // The gateway's refusals of a login judge no password (password.ts). Its address list and its own faults
  // are what they are for a login too; what the table says of a project or a token is of a request that
  // carries one, which a login is not.
  if (err.login && isGatewayCode(code) && LOGIN_REFUSED.has(err.kind)) return byTable === 'address_refused' || byTable === 'gateway_fault' ? byTable : 'login_gateway';
  if (byTable !== undefined) return byTable;
  if (err.kind === 'forbidden' && NOVA_POLICY.test(err.message)) return 'policy_refused';
  if (err.kind === 'bad_request' && NOVA_PROJECT_MISMATCH.test(err.message)) return 'project_mismatch';
  return undefined;
}
