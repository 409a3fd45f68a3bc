import { Credential } from '../credential.ts';
import { CLOCKS_APART_MS } from '../../cloudClock.ts';
import type { AuthDeps, AuthRequest, AuthStrategy } from '../types.ts';
import type { AkskAuthConfig } from './config.ts';
import { signRequest } from './sign.ts';

const ACCESS = /\bAccess=([^,\s]+)/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The time an X-Sdk-Date (`20261202T055000Z`) names, epoch ms; NaN for another form. */
function sdkDateMs(text: string | undefined): number {
  const m = SDK_DATE.exec(text ?? '');
  return m === null ? NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/**
 * Huawei Cloud / Open Telekom Cloud access keys: every request signed SDK-HMAC-SHA256, with X-Project-Id
 * and, for temporary credentials, X-Security-Token. Keys from files are read again when the files change.
 * The signature's time is the cloud's clock as the client measures it: the gateway refuses one more than
 * 15 min from its own, so a host whose clock is off would have every request refused as bad credentials.
 */
export function createAkskAuth(config: AkskAuthConfig, deps: Pick<AuthDeps, 'now'>): AuthStrategy {
  const accessKey = new Credential('accessKey', config.accessKey, config.accessKeyFile, { sentInHeader: true });
  const secretKey = new Credential('secretKey', config.secretKey, config.secretKeyFile);
  const temporary = config.securityToken !== undefined || config.securityTokenFile !== undefined;
  const securityToken = temporary ? new Credential('securityToken', config.securityToken, config.securityTokenFile, { sentInHeader: true }) : undefined;
  const credentials = [accessKey, secretKey, ...(securityToken === undefined ? [] : [securityToken])];

  return {
    signsWhenSent: true,
    async headers(request: AuthRequest) {
      const [ak, sk, token] = await Promise.all(credentials.map((c) => c.value()));
      const own: Record<string, string> = {};
      const url = new URL(request.url);
      if (request.projectId !== undefined) own['x-project-id'] = request.projectId;
      if (token !== undefined) own['x-security-token'] = token;
      const signed = signRequest({ ...request, url, headers: { ...request.headers, ...own } }, { accessKey: ak!, secretKey: sk! }, new Date(deps.now()));
      return { ...own, ...signed };
    },
    async onUnauthorized(sent) {
      await Promise.all(credentials.map((c) => c.refresh()));
      // A rotated pair has a new access key; temporary credentials come with a new token too.
      const [ak, , token] = await Promise.all(credentials.map((c) => c.value()));
      // The refusal's Date may be what told the client the cloud's clock: a signature of another time now.
      const retimed = Math.abs(sdkDateMs(sent['x-sdk-date']) - deps.now()) >= CLOCKS_APART_MS;
      return ACCESS.exec(sent['authorization'] ?? '')?.[1] !== ak || sent['x-security-token'] !== token || retimed;
    },
  };
}
