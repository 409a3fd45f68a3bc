// Keystone v3 password authentication (`POST /v3/auth/tokens`), which Huawei Cloud and Open Telekom Cloud
// IAM implement too: the request body, and what the answer must hold.

import * as z from 'zod';
import { CatalogSchema } from '../../catalog.ts';
import type { PasswordAuthConfig } from './config.ts';

/**
 * `{identityEndpoint}/auth/tokens`, `/v3` added when the endpoint lacks it (clouds.yaml often does), and in
 * place of another version it ends in (`/v2.0` of an old clouds.yaml, `/v3.0`): Keystone serves the v3 API
 * at `/v3` alone, and its 404 elsewhere would read as refused credentials. An endpoint that is the token
 * request's URL already (`.../v3/auth/tokens`, as Huawei's API reference writes it) is taken as it is.
 */
export function tokensUrl(identityEndpoint: string, withCatalog: boolean): string {
  const url = new URL(identityEndpoint);
  // Credentials in a URL would end up in error messages; Keystone never uses them.
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const path = url.pathname.replace(/\/+$/, '').replace(/\/auth\/tokens$/, '').replace(/\/v\d+(?:\.\d+)?$/, '');
  url.pathname = `${path}/v3/auth/tokens`;
  // Huawei's catalogs run to hundreds of kilobytes; both Keystone and IAM leave it out on request.
  if (!withCatalog) url.search = '?nocatalog=true';
  return url.href;
}

const domainRef = (name: string | undefined, id: string | undefined) => (id === undefined ? { name } : { id });

/** The body of a project-scoped password token request, as in Keystone's api-ref samples. */
export function tokenRequestBody(config: PasswordAuthConfig, password: string): string {
  const user =
    config.userId === undefined
      ? { name: config.user, domain: domainRef(config.domain, config.domainId), password }
      : { id: config.userId, password };
  const projectDomain =
    config.projectDomain === undefined && config.projectDomainId === undefined
      ? domainRef(config.domain, config.domainId)
      : domainRef(config.projectDomain, config.projectDomainId);
  const project = config.projectId === undefined ? { name: config.projectName, domain: projectDomain } : { id: config.projectId };
  return JSON.stringify({ auth: { identity: { methods: ['password'], password: { user } }, scope: { project } } });
}

/** Who is logging in, for log lines and errors: names and ids, never the password. */
export function describeUser(config: PasswordAuthConfig): string {
  if (config.userId !== undefined) return `user id ${config.userId}`;
  return `user '${config.user}' of domain ${config.domain === undefined ? `id ${config.domainId}` : `'${config.domain}'`}`;
}

export const TokenDocumentSchema = z.object({
  token: z.looseObject({
    expires_at: z.string(),
    issued_at: z.string().optional(),
    catalog: CatalogSchema.optional(),
    project: z.looseObject({ id: z.string() }).optional(),
  }),
});

export type TokenDocument = z.output<typeof TokenDocumentSchema>;

/**
 * The token's lifetime in milliseconds, from the identity service's own two times, so that a skewed
 * local clock does not shorten or stretch it; undefined when the times cannot be read. Without issued_at,
 * the answer's Date stands in for it (its clock, to the second), and this host's time (`sentAt`) only
 * without one: a cloud clock behind this host's by more than the lifetime would have every token refused.
 */
export function tokenLifetime(doc: TokenDocument, dateHeader: unknown, sentAt: number): number | undefined {
  const expires = Date.parse(doc.token.expires_at);
  const answered = typeof dateHeader === 'string' ? Date.parse(dateHeader) : NaN;
  const issued = doc.token.issued_at === undefined ? (Number.isFinite(answered) ? answered : sentAt) : Date.parse(doc.token.issued_at);
  const lifetime = expires - issued;
  return Number.isFinite(lifetime) && lifetime > 0 ? lifetime : undefined;
}
