// Who may call the compute API: the checks keystonemiddleware (tokens) and Huawei's API gateway (AK/SK
// signatures) make before a request reaches Nova. With nothing configured, everyone may.

import type { AkskGate, SignedRequest } from './aksk.ts';
import type { IdentityService } from './identity.ts';
import { keystoneUnauthorized } from './render.ts';
import type { ApiResponse } from './routes.ts';

export interface GateOptions {
  /** A fixed token that is always accepted (a token obtained elsewhere). */
  token: string | undefined;
  identity: IdentityService | undefined;
  aksk: AkskGate | undefined;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** The gateway's answer to a signature it refuses (APIGW.0301, "Incorrect IAM authentication information"). */
function gatewayRefusal(problem: string): ApiResponse {
  return {
    status: 401,
    headers: JSON_TYPE,
    body: { error_msg: `Incorrect IAM authentication information: ${problem}`, error_code: 'APIGW.0301', request_id: crypto.randomUUID().replaceAll('-', '') },
  };
}

/** Undefined when the request may pass; otherwise the refusal to answer with. */
export function checkAccess(request: SignedRequest, options: GateOptions, now: number, baseUrl: string): ApiResponse | undefined {
  const { token, identity, aksk } = options;
  if (token === undefined && identity === undefined && aksk === undefined) return undefined;
  if (request.headers['authorization']?.startsWith('SDK-HMAC-SHA256') && aksk !== undefined) {
    const problem = aksk.check(request, now);
    return problem === undefined ? undefined : gatewayRefusal(problem);
  }
  const presented = request.headers['x-auth-token'];
  if (presented !== undefined && (presented === token || identity?.validate(presented, now) === 'valid')) return undefined;
  return { status: 401, headers: { ...JSON_TYPE, 'www-authenticate': `Keystone uri="${baseUrl}/v3"` }, body: keystoneUnauthorized() };
}
