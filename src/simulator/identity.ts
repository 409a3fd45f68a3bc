// A Keystone v3 token service (identity API reference, "Password authentication with scoped
// authorization" and "Revoke token"), as Huawei Cloud and Open Telekom Cloud IAM implement it too:
// POST /v3/auth/tokens issues a token in X-Subject-Token with a catalog, DELETE revokes one; tokens
// expire after their lifetime.

import { randomBytes, randomUUID } from 'node:crypto';
import type { ApiResponse } from './routes.ts';

export interface IdentityOptions {
  /** The one user that may log in. */
  readonly user: { readonly name: string; readonly password: string; readonly id?: string };
  /** Its domain, which is also the project's (Huawei Cloud: the account). Default: Keystone's `default`. */
  readonly domain?: { readonly id: string; readonly name: string };
  /** The project tokens are scoped to. */
  readonly project: { readonly id: string; readonly name: string };
  /** Default 24 h, as Keystone's and IAM's. */
  readonly tokenLifetimeMs?: number;
  /** The region of every catalog endpoint. Default `RegionOne`. */
  readonly region?: string;
}

export type TokenState = 'valid' | 'expired' | 'revoked' | 'unknown';

interface Issued {
  readonly expiresAt: number;
  /** The project it is scoped to; undefined for an unscoped token. */
  readonly projectId: string | undefined;
  revoked: boolean;
}

type Json = Record<string, unknown>;

const JSON_TYPE = { 'content-type': 'application/json' };

function keystoneError(code: number, title: string, message: string): ApiResponse {
  return { status: code, headers: JSON_TYPE, body: { error: { code, message, title } } };
}

// Keystone answers every failed login alike, whatever was wrong, so as not to help a guesser.
const unauthorized = () => keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.');
const badRequest = (message: string) => keystoneError(400, 'Bad Request', message);

/** Keystone's times: `2015-11-07T02:58:43.578887Z`. */
function keystoneTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const field = (value: unknown, key: string): unknown => (isRecord(value) ? value[key] : undefined);

export class IdentityService {
  readonly #options: IdentityOptions;
  readonly #domain: { readonly id: string; readonly name: string };
  readonly #userId: string;
  readonly #lifetimeMs: number;
  readonly #tokens = new Map<string, Issued>();

  constructor(options: IdentityOptions) {
    this.#options = options;
    this.#domain = options.domain ?? { id: 'default', name: 'Default' };
    this.#userId = options.user.id ?? randomUUID().replaceAll('-', '');
    this.#lifetimeMs = options.tokenLifetimeMs ?? 24 * 3_600_000;
  }

  /** Tokens issued so far, valid or not: for tests to see what must never be logged. */
  get issued(): string[] {
    return [...this.#tokens.keys()];
  }

  validate(token: string | undefined, now: number): TokenState {
    const issued = token === undefined ? undefined : this.#tokens.get(token);
    if (issued === undefined) return 'unknown';
    if (issued.revoked) return 'revoked';
    return now < issued.expiresAt ? 'valid' : 'expired';
  }

  /** The project a token is scoped to: Nova's context project (keystonemiddleware's X-Project-Id). */
  projectOf(token: string | undefined): string | undefined {
    return token === undefined ? undefined : this.#tokens.get(token)?.projectId;
  }

  /** Revokes every token issued so far, as a password change or an administrator would. */
  revokeAll(): void {
    for (const issued of this.#tokens.values()) issued.revoked = true;
  }

  /** /v3/auth/tokens. `baseUrl` is the simulator's, for the catalog. */
  handle(
    request: { method: string; query: URLSearchParams; headers: Readonly<Record<string, string>>; body: string },
    now: number,
    baseUrl: string,
  ): ApiResponse {
    if (request.method === 'POST') return this.#issue(request.body, request.query, now, baseUrl);
    if (request.method === 'DELETE') {
      if (this.validate(request.headers['x-auth-token'], now) !== 'valid') return unauthorized();
      const subject = this.#tokens.get(request.headers['x-subject-token'] ?? '');
      if (subject === undefined) return keystoneError(404, 'Not Found', 'Could not find token.');
      subject.revoked = true;
      return { status: 204, headers: {}, body: '' };
    }
    return keystoneError(405, 'Method Not Allowed', `The method ${request.method} is not allowed for the requested URL.`);
  }

  #issue(text: string, query: URLSearchParams, now: number, baseUrl: string): ApiResponse {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return badRequest('Malformed request body: not JSON.');
    }
    const identity = field(field(body, 'auth'), 'identity');
    const methods = field(identity, 'methods');
    if (!Array.isArray(methods) || !methods.includes('password')) {
      return badRequest("Invalid input for field 'identity': 'methods' must include 'password'.");
    }
    const user = field(field(identity, 'password'), 'user');
    if (!isRecord(user) || typeof user.password !== 'string') return badRequest("Invalid input for field 'identity/password/user'.");
    if (!this.#isUser(user) || user.password !== this.#options.user.password) return unauthorized();

    const scope = field(field(body, 'auth'), 'scope');
    const project = field(scope, 'project');
    if (scope !== undefined && !this.#isProject(project)) return unauthorized();

    const token = randomBytes(24).toString('base64url');
    const expiresAt = now + this.#lifetimeMs;
    const scoped = project !== undefined;
    this.#tokens.set(token, { expiresAt, projectId: scoped ? this.#options.project.id : undefined, revoked: false });
    const document: Json = {
      methods: ['password'],
      user: { domain: this.#domain, id: this.#userId, name: this.#options.user.name, password_expires_at: null },
      audit_ids: [randomBytes(16).toString('base64url')],
      expires_at: keystoneTime(expiresAt),
      issued_at: keystoneTime(now),
    };
    if (scoped) {
      document.project = { domain: this.#domain, id: this.#options.project.id, name: this.#options.project.name };
      document.is_domain = false;
      document.roles = [{ id: '9fe2ff9ee4384b1894a90878d3e92bab', name: 'member' }];
      // `nocatalog` in the query, whatever its value, leaves the catalog out.
      if (!query.has('nocatalog')) document.catalog = this.#catalog(baseUrl);
    }
    return { status: 201, headers: { ...JSON_TYPE, 'x-subject-token': token }, body: { token: document } };
  }

  #isUser(user: Json): boolean {
    if (user.id !== undefined) return user.id === this.#userId;
    return user.name === this.#options.user.name && this.#isDomain(user.domain);
  }

  #isProject(project: unknown): boolean {
    if (!isRecord(project)) return false;
    if (project.id !== undefined) return project.id === this.#options.project.id;
    return project.name === this.#options.project.name && this.#isDomain(project.domain);
  }

  #isDomain(domain: unknown): boolean {
    if (!isRecord(domain)) return false;
    return domain.id !== undefined ? domain.id === this.#domain.id : domain.name === this.#domain.name;
  }

  /** Compute on every interface (only public is this simulator; the others are names only) and identity. */
  #catalog(baseUrl: string): Json[] {
    const region = this.#options.region ?? 'RegionOne';
    const projectId = this.#options.project.id;
    const endpoint = (iface: string, url: string) => ({ id: randomUUID().replaceAll('-', ''), interface: iface, region, region_id: region, url });
    return [
      {
        type: 'identity',
        name: 'keystone',
        id: randomUUID().replaceAll('-', ''),
        endpoints: ['public', 'internal', 'admin'].map((iface) => endpoint(iface, `${baseUrl}/v3`)),
      },
      {
        type: 'compute',
        name: 'nova',
        id: randomUUID().replaceAll('-', ''),
        endpoints: [
          endpoint('public', `${baseUrl}/v2.1/${projectId}`),
          endpoint('internal', `http://compute-internal.simulator.invalid:8774/v2.1/${projectId}`),
          endpoint('admin', `http://compute-admin.simulator.invalid:8774/v2.1/${projectId}`),
        ],
      },
    ];
  }
}
