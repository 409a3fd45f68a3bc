// The simulator's HTTP side: listening, the request log, injected faults, and a clean close.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ConnectionNumbers } from '../sinks/connectionNumbers.ts';
import { AkskGate, type AkskOptions } from './aksk.ts';
import { faultEffect, FaultQueue, type FaultSpec, type FaultTarget } from './faults.ts';
import { checkAccess } from './gate.ts';
import { IdentityService, type IdentityOptions } from './identity.ts';
import { MIN_MICROVERSION, compareMicroversions, parseMicroversion, type Microversion } from './microversion.ts';
import type { Role } from './render.ts';
import { handleApiRequest, matchRoute, type ApiResponse, type RouteKind } from './routes.ts';
import { planAction, type ActionPlan, type ActionScript } from './script.ts';
import { planJob, type JobPlan, type JobScript } from './jobs.ts';

export interface SimulatorOptions {
  /** The highest microversion offered, in GET /v2.1/ and for `latest`. Default "2.96". */
  maxMicroversion?: string;
  /**
   * When set, every request under /v2.1/{project} needs this `X-Auth-Token` (or another credential set
   * below). Default: none needed.
   */
  token?: string;
  /** A Keystone token service at `{url}/v3`: its tokens open the compute API until they expire or are revoked. */
  identity?: IdentityOptions;
  /** An access key pair whose SDK-HMAC-SHA256 signatures open the compute API. */
  aksk?: AkskOptions;
  /** Whose view the API answers with. Default `member`, a project user as on a public cloud. */
  role?: Role;
  /**
   * CONF.api.max_limit: the most items one page of a list holds, and its size when no `limit` is asked.
   * Default 1000, Nova's; operators set it lower.
   */
  maxLimit?: number;
  /** The clock scripts run on, and the cloud's until setClock(). Default `Date.now`, so vitest's fake Date drives it. */
  now?: () => number;
  /** Default 0: any free port. The simulator listens on 127.0.0.1 only. */
  port?: number;
  /** Serve HTTPS with this key and certificate (PEM), e.g. one signed by a test's private CA. */
  tls?: { key: string; cert: string };
}

/** One request as it arrived, for tests to assert what a client sent. */
export interface RecordedRequest {
  readonly method: string;
  /** With the query string. */
  readonly path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly route: RouteKind;
  /** The simulator's clock when the request arrived. */
  readonly at: number;
  /** The status answered; null while pending, or when the connection was reset or closed. */
  readonly status: number | null;
  /** Which connection it came on: 1 for the first that brought a request, 2 for the next... */
  readonly connection: number;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>` (https with `tls`): the compute endpoint, to which /v2.1/... is appended. */
  readonly url: string;
  /** Every request received so far, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Fault uses not yet consumed by a request. */
  readonly pendingFaults: number;
  /** Answers a slow fault holds back: none is left once its client gave up. */
  readonly heldAnswers: number;
  /** Schedules an action from now on and returns its request id (generated when the script has none). */
  addAction(script: ActionScript): string;
  /** Schedules a job of the native ECS API from now on and returns its job id (generated when the script has none). */
  addJob(script: JobScript): string;
  /**
   * Sets the cloud's clock by `byMs` (negative: back) from now on, as NTP put right on a controller, or a
   * failover to one whose clock differs, does: the `Date` of its answers, the times it stamps from then on,
   * its tokens' and its signature check's clock move by as much; what it stamped before stays as stamped,
   * and its scripts go on in the time that passes, which no setting moves.
   */
  setClock(byMs: number): void;
  /** Makes the next `target.times` (default 1) requests matching `target` fail as `fault` says. */
  injectFault(fault: FaultSpec, target?: FaultTarget): void;
  /** Drops the faults not yet used up: an outage that ends at a time, not after a number of requests. */
  clearFaults(): void;
  /** Changes the token required from now on (undefined: none), e.g. to expire a client's token. */
  setToken(token: string | undefined): void;
  /** The Keystone base URL (`{url}/v3`), when `identity` is configured. */
  readonly identityUrl: string;
  /** Every token the identity service issued so far. */
  readonly issuedTokens: readonly string[];
  /** Revokes every token issued so far: the compute API refuses them from now on. */
  revokeTokens(): void;
  clearRequests(): void;
  /** Stops listening, cuts open and keep-alive connections and ends slow answers. Safe to call twice. */
  close(): Promise<void>;
}

type Recorded = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

class NovaSimulator implements Simulator {
  readonly #server: Server;
  readonly #scheme: 'http' | 'https';
  readonly #now: () => number;
  /** The settings of its clock (setClock), oldest first: when on the scripts' clock, and by how much in all since the start. */
  readonly #settings: { readonly at: number; readonly setMs: number }[] = [];
  readonly #role: Role;
  readonly #maxMicroversion: Microversion;
  readonly #maxLimit: number;
  readonly #plans: ActionPlan[] = [];
  readonly #jobs: JobPlan[] = [];
  readonly #faults = new FaultQueue();
  readonly #requests: Recorded[] = [];
  readonly #connections = new ConnectionNumbers();
  /**
   * Slow answers waiting. close() clears them itself: their responses also close with the sockets,
   * but only a tick after close() resolves, and a caller may check for leaks right then.
   */
  readonly #delays = new Set<NodeJS.Timeout>();
  #token: string | undefined;
  readonly #identity: IdentityService | undefined;
  readonly #aksk: AkskGate | undefined;
  #url = '';
  #closing: Promise<void> | undefined;

  constructor(options: SimulatorOptions, maxMicroversion: Microversion) {
    this.#now = options.now ?? Date.now;
    this.#role = options.role ?? 'member';
    this.#token = options.token;
    this.#identity = options.identity === undefined ? undefined : new IdentityService(options.identity);
    this.#aksk = options.aksk === undefined ? undefined : new AkskGate(options.aksk);
    this.#maxMicroversion = maxMicroversion;
    this.#maxLimit = options.maxLimit ?? 1000;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#receive(req, res);
    this.#scheme = options.tls === undefined ? 'http' : 'https';
    this.#server = options.tls === undefined ? createServer(handler) : createTlsServer(options.tls, handler);
  }

  get url(): string {
    return this.#url;
  }

  get requests(): readonly RecordedRequest[] {
    return [...this.#requests];
  }

  get heldAnswers(): number {
    return this.#delays.size;
  }

  get pendingFaults(): number {
    return this.#faults.pending;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#url = `${this.#scheme}://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  addAction(script: ActionScript): string {
    const plan = planAction(script, this.#now(), this.#plans.length + 1);
    if (this.#plans.some((p) => p.serverId === plan.serverId && p.requestId === plan.requestId)) {
      throw new Error(`action ${plan.requestId} on server ${plan.serverId} already exists`);
    }
    this.#plans.push(plan);
    return plan.requestId;
  }

  addJob(script: JobScript): string {
    const plan = planJob(script, this.#now());
    if (this.#jobs.some((j) => j.jobId === plan.jobId)) throw new Error(`job ${plan.jobId} already exists`);
    this.#jobs.push(plan);
    return plan.jobId;
  }

  setClock(byMs: number): void {
    this.#settings.push({ at: this.#now(), setMs: (this.#settings.at(-1)?.setMs ?? 0) + byMs });
  }

  /** The time its clock showed at `at` on the scripts' clock: set by all the settings made by then. */
  readonly #stamp = (at: number): number => {
    const setting = this.#settings.findLast((s) => s.at <= at);
    return at + (setting?.setMs ?? 0);
  };

  injectFault(fault: FaultSpec, target?: FaultTarget): void {
    this.#faults.add(fault, target);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  setToken(token: string | undefined): void {
    this.#token = token;
  }

  get identityUrl(): string {
    if (this.#identity === undefined) throw new Error('the simulator was started without identity options');
    return `${this.#url}/v3`;
  }

  get issuedTokens(): readonly string[] {
    return this.#identity?.issued ?? [];
  }

  revokeTokens(): void {
    this.#identity?.revokeAll();
  }

  clearRequests(): void {
    this.#requests.length = 0;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const delay of this.#delays) clearTimeout(delay);
      this.#delays.clear();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  #receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.#dispatch(req, res, Buffer.concat(chunks).toString('utf8')));
  }

  #dispatch(req: IncomingMessage, res: ServerResponse, body: string): void {
    const target = req.url ?? '/';
    const path = target.split('?', 1)[0] ?? '/';
    const matched = matchRoute(path);
    const route = matched.kind;
    const record: Recorded = {
      method: req.method ?? 'GET',
      path: target,
      headers: flattenHeaders(req.headers),
      route,
      at: this.#now(),
      status: null,
      connection: this.#connections.of(req.socket),
    };
    this.#requests.push(record);
    res.once('finish', () => {
      record.status = res.statusCode;
    });

    const fault = this.#faults.take(route, path);
    const effect = fault === undefined ? undefined : faultEffect(fault, matched, this.#stamp(this.#now()));
    if (effect === undefined || effect.type === 'cut') {
      this.#answer(res, record.method, target, record.headers, body, effect !== undefined);
    } else if (effect.type === 'answer') {
      this.#send(res, effect);
    } else if (effect.type === 'reset') {
      req.socket.resetAndDestroy();
    } else {
      const delay = setTimeout(() => {
        this.#delays.delete(delay);
        this.#answer(res, record.method, target, record.headers, body);
      }, effect.ms);
      this.#delays.add(delay);
      // A client that gives up must not leave its timer behind.
      res.once('close', () => {
        clearTimeout(delay);
        this.#delays.delete(delay);
      });
    }
  }

  /** Answers from the scripts, evaluated at the moment of answering (after any delay). */
  #answer(res: ServerResponse, method: string, target: string, headers: Readonly<Record<string, string>>, body: string, cut = false): void {
    const [path = '/', query = ''] = target.split(/\?(.*)/s);
    const route = matchRoute(path);
    const now = this.#now();
    // Tokens expire, and a signature's date is checked, by the cloud's clock.
    const clock = this.#stamp(now);
    let response: ApiResponse | undefined;
    if (route.kind === 'identity' && this.#identity !== undefined) {
      response = this.#identity.handle({ method, query: new URLSearchParams(query), headers, body }, clock, this.#url);
    } else if (route.kind !== 'versions') {
      // The migrations of a server are read in its project, which the path does not name (X-Project-Id does).
      const projectId = 'projectId' in route ? route.projectId : route.kind === 'migrations' ? this.#projectOfServer(new URLSearchParams(query).get('instance_uuid')) : undefined;
      const gate = { token: this.#token, identity: this.#identity, aksk: this.#aksk };
      response = checkAccess({ method, target, headers, body, projectId }, gate, clock, this.#url);
    }
    const contextProjectId = this.#identity?.projectOf(headers['x-auth-token']);
    response ??= handleApiRequest(
      { method, path, query: new URLSearchParams(query), headers, contextProjectId },
      { plans: this.#plans, jobs: this.#jobs, now, stamp: this.#stamp, maxMicroversion: this.#maxMicroversion, maxLimit: this.#maxLimit, role: this.#role, baseUrl: this.#url },
    );
    const requestId = `req-${randomUUID()}`;
    this.#send(res, {
      status: response.status,
      headers: { ...response.headers, 'x-openstack-request-id': requestId, 'x-compute-request-id': requestId },
      body: response.status === 204 ? '' : JSON.stringify(response.body),
    }, cut);
  }

  /** The project of a server the scripts know; undefined for another. */
  #projectOfServer(serverId: string | null): string | undefined {
    return this.#plans.find((p) => p.serverId === serverId)?.projectId;
  }

  /** `cut`: the first half of the body only, the connection closed once it is sent (the fault `cut-body`). */
  #send(res: ServerResponse, answer: Omit<ApiResponse, 'body'> & { body: string }, cut = false): void {
    // The Date of the simulator's clock, which stamps its actions: a cloud whose clock is not the client's
    // (`now` set apart from Date.now) shows it in both, as a real one does (RFC 9110 6.6.1).
    const date = new Date(this.#stamp(this.#now())).toUTCString();
    const length = Buffer.byteLength(answer.body);
    res.writeHead(answer.status, { ...answer.headers, date, 'content-length': String(length) });
    if (!cut) {
      res.end(answer.body);
      return;
    }
    // Closed, not reset, once the half is written: a reset could overtake it, and the client see no status.
    res.write(Buffer.from(answer.body).subarray(0, Math.floor(length / 2)), () => res.socket?.destroy());
  }
}

/**
 * Starts a Nova-compatible compute API on 127.0.0.1 that serves scripted instance actions.
 *
 * @example
 * const sim = await startSimulator({ token: 't' });
 * const requestId = sim.addAction({ projectId, serverId, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 500 }] });
 * // GET `${sim.url}/v2.1/${projectId}/servers/${serverId}/os-instance-actions/${requestId}` ...
 * await sim.close();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const max = parseMicroversion(options.maxMicroversion ?? '2.96');
  if (max === undefined || max.major !== 2 || compareMicroversions(max, MIN_MICROVERSION) < 0) {
    throw new RangeError(`maxMicroversion must be a 2.x version of at least 2.1, got ${options.maxMicroversion}`);
  }
  const simulator = new NovaSimulator(options, max);
  await simulator.listen(options.port ?? 0);
  return simulator;
}
