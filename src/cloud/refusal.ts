// What an operator is told to mend when the cloud refuses a request, chosen here for every place that says
// it (the poll's log, discovery's, `check` and `wait`, the password login): an error's kind is what
// poll_errors_total counts, and a 401 or 403 of one kind may be the credentials', the cloud's policy's, a
// gateway's address list's or, for a login, whoever runs the gateway in front of the identity service's to mend.
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
 * Huawei's API gateway refusing the caller's address by the API's access control (APIGW.0402, "The IP
 * address is not authorized to access the API"): no credentials mend it.
 */
const ADDRESS_REFUSED_CODE = 'APIGW.0402';

/** A refusal that the credentials in cloud.auth do not mend, though it comes as a 401 or 403. */
export type Refusal = 'address_refused' | 'policy_refused' | 'login_gateway';

/** The kinds a refusal of the login by the gateway comes as: a 400 too, which password.ts counts as unauthorized. */
const LOGIN_REFUSED = new Set<ApiErrorKind>(['unauthorized', 'forbidden', 'bad_request']);

/** What to mend for each Refusal: the file's settings named without the file (pollFixes.ts says which are in it). */
export const REFUSAL_FIX: Record<Refusal, string> = {
  address_refused: "the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth",
  // Nova's own words for a rule of its policy file, which refuses one route (the listing of a server's
  // actions, say) to credentials that every other read takes.
  policy_refused: "the cloud's policy refuses this route to these credentials: ask its operator for the role that allows it",
  // The token request carries no credentials the gateway checks: whoever runs it, or the URL it is sent to, mends it.
  login_gateway: 'the API gateway in front of the identity service answered the login itself, not the identity service (no refusal of the password): ask whoever runs the gateway, or check cloud.auth.identityEndpoint',
};

/** The refusal `err` is whose fix is not in the credentials; undefined for any other error. */
export function refusalOf(err: ApiError): Refusal | undefined {
  if (err.apiCode === ADDRESS_REFUSED_CODE) return 'address_refused';
  // The gateway's other refusals of a login judge no password (password.ts).
  if (err.login && isGatewayCode(err.apiCode) && LOGIN_REFUSED.has(err.kind)) return 'login_gateway';
  if (err.kind === 'forbidden' && NOVA_POLICY.test(err.message)) return 'policy_refused';
  return undefined;
}
