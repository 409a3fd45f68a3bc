// What an operator is told to mend when the cloud refuses a request, chosen here for every place that says
// it (the poll's log, discovery's, `check` and `wait`, the password login): an error's kind is what
// poll_errors_total counts, and a 403 of one kind may be the credentials', the cloud's policy's or a
// gateway's address list's to mend.
import type { ApiError } from './ApiError.ts';

/** Huawei's API gateway's own answers (`APIGW.0402`), as opposed to those of the service behind it. */
const GATEWAY_CODE = /^APIGW\./;

/** Whether `apiCode` is one of Huawei's API gateway's own: the gateway answered, not the service behind it. */
export function isGatewayCode(apiCode: string | undefined): boolean {
  return apiCode !== undefined && GATEWAY_CODE.test(apiCode);
}

/**
 * Huawei's API gateway refusing the caller's address by the API's access control (APIGW.0402, "The IP
 * address is not authorized to access the API"): no credentials mend it.
 */
const ADDRESS_REFUSED_CODE = 'APIGW.0402';

/** Nova's answer when a rule of its policy refuses a route: `Policy doesn't allow os_compute_api:... to be performed.` */
const NOVA_POLICY = /Policy doesn't allow \S+ to be performed/;

/** A refusal that cloud.auth does not mend, though it comes as a 401 or 403. */
export type Refusal = 'address_refused' | 'policy_refused';

/** What to mend for each Refusal: neither is in the watch file. */
export const REFUSAL_FIX: Record<Refusal, string> = {
  address_refused: "the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth",
  // Nova's own words for a rule of its policy file, which refuses one route (the listing of a server's
  // actions, say) to credentials that every other read takes.
  policy_refused: "the cloud's policy refuses this route to these credentials: ask its operator for the role that allows it",
};

/** The refusal `err` is whose fix is not cloud.auth; undefined for any other error. */
export function refusalOf(err: ApiError): Refusal | undefined {
  if (err.apiCode === ADDRESS_REFUSED_CODE) return 'address_refused';
  if (err.kind === 'forbidden' && NOVA_POLICY.test(err.message)) return 'policy_refused';
  return undefined;
}
