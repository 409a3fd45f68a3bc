// What a one-shot command tells an operator to do about a poll that failed, by the cause of its error: `wait`
// when it gives up at once on what no waiting mends, `check` under its table for each cause its rows
// failed of. One table, so that both say the same of one failure.
import { REFUSAL_FIX } from '../cloud/refusal.ts';
import type { PollFailureCause } from '../watch/pollFailures.ts';

const REFUSED = 'the cloud refused the request';
const UNREACHED = 'cannot reach the cloud';
/** What a failure that may pass tells to do first: the 3 a.m. operator's next step is not to edit the file. */
const MAY_PASS = 'a blip passes by itself: check again in a minute; if it lasts,';

export interface PollFix {
  /** What the failure amounts to, in a few words. */
  says: string;
  /** What to check or do, where the file's settings are named without the file. */
  fix: string;
  /** Says the settings are wrong only until the API has answered for the watch: after that, a blip. */
  untilFound?: true;
  /** What to mend is not in the watch file. */
  inEnvironment?: true;
  /** Waiting may mend it: `wait` waits through it. */
  passes?: true;
  /** Names the watch's project among what to check: `wait --project` gives it, not the file. */
  project?: true;
}

type Command = 'wait' | 'check';

/**
 * Errors no amount of waiting mends: the credentials (401, 403), the cloud's policy or a gateway's address
 * list (a 403 that names them, which no setting of the file mends), a project or a region a gateway refuses,
 * a login the gateway in front of the identity service answers itself, an endpoint or path that is
 * not the API's (a gateway's or a router's 404), a request the API refuses as malformed (400), a certificate
 * the client refuses, a host name DNS does not know, a proxy variable that is no URL, a token's catalog
 * without the compute endpoint the settings select; and those that may pass (`passes`), which a pipeline's
 * `wait` waits through but whose cause, when they last, `check` still names.
 */
const FIXES: Partial<Record<PollFailureCause, Omit<PollFix, 'fix'> & { fix: string | ((command: Command) => string) }>> = {
  unauthorized: { says: REFUSED, fix: 'check cloud.auth' },
  forbidden: { says: REFUSED, fix: 'check cloud.auth and the account\'s permissions' },
  address_refused: { says: REFUSED, fix: REFUSAL_FIX.address_refused, inEnvironment: true },
  gateway_fault: { says: REFUSED, fix: REFUSAL_FIX.gateway_fault, inEnvironment: true },
  policy_refused: { says: REFUSED, fix: REFUSAL_FIX.policy_refused, inEnvironment: true },
  project_unavailable: { says: REFUSED, fix: REFUSAL_FIX.project_unavailable, project: true },
  token_region: { says: REFUSED, fix: REFUSAL_FIX.token_region },
  project_mismatch: { says: REFUSED, fix: REFUSAL_FIX.project_mismatch, project: true },
  // untilFound as a firewall's page (`gateway`): once the API has answered for the watch, a blip of the gateway's, which the login tries again as one.
  login_gateway: { says: 'the API gateway refused the login', fix: REFUSAL_FIX.login_gateway, untilFound: true },
  foreign_not_found: {
    says: REFUSED,
    fix: 'check cloud.endpoint and cloud.projectId (or cloud.auth.identityEndpoint, if the 404 is for the token request), or set a fixed cloud.microversion if the 404 is for the version document /v2.1/',
    untilFound: true,
    project: true,
  },
  bad_request: { says: REFUSED, fix: 'check the ids given and cloud.microversion', untilFound: true },
  gateway: {
    says: 'something in front of the cloud refused the request',
    fix: "an HTML page, not the API's answer: check with whoever runs the firewall, gateway or proxy in front of cloud.endpoint (or cloud.auth.identityEndpoint)",
    untilFound: true,
  },
  redirect: {
    says: 'the cloud sends the request elsewhere',
    fix: (command) => `a login page is a proxy or gateway asking for a login that ${command} cannot give; any other address: check cloud.endpoint (or cloud.auth.identityEndpoint)`,
    untilFound: true,
  },
  certificate: {
    says: UNREACHED,
    fix: 'an expired certificate is for its server to renew; any other: name the CA that signs it in cloud.tls.caFile, or check the host name of cloud.endpoint (or cloud.auth.identityEndpoint)',
    untilFound: true,
  },
  not_tls: {
    says: UNREACHED,
    fix: 'an https:// URL for a port that speaks plain HTTP: check the scheme and port of cloud.endpoint (or cloud.auth.identityEndpoint)',
    untilFound: true,
  },
  unknown_host: {
    says: UNREACHED,
    fix: 'check the host name of cloud.endpoint (or cloud.auth.identityEndpoint)',
    untilFound: true,
  },
  proxy: { says: UNREACHED, fix: (command) => `a variable of ${command}'s environment, not of the watch file`, inEnvironment: true },
  endpoint: { says: UNREACHED, fix: 'check cloud.region, cloud.interface and cloud.endpoint' },
  network: {
    says: UNREACHED,
    fix: `${MAY_PASS} check that the host and port of cloud.endpoint (or cloud.auth.identityEndpoint) can be reached from this host`,
    passes: true,
  },
  timeout: {
    says: 'the cloud did not answer in time',
    fix: `${MAY_PASS} check that cloud.endpoint (or cloud.auth.identityEndpoint) answers from this host, or raise cloud.timeout for a cloud that answers slowly`,
    passes: true,
  },
  server: {
    says: 'the cloud failed to answer',
    fix: `its error (5xx), or that of a gateway in front of it (502, 504): ${MAY_PASS} ask whoever runs the cloud`,
    inEnvironment: true,
    passes: true,
  },
  rate_limited: { says: 'the cloud throttles requests', fix: 'set poll.rateLimit, or lower poll.concurrency', passes: true },
  invalid_response: {
    says: "the cloud's answer is not the API's",
    fix: `${MAY_PASS} check that cloud.endpoint (or cloud.auth.identityEndpoint) is the API's, not something in front of it`,
    passes: true,
  },
};

/** What `command` says of a poll that failed of `cause`; none for one it has nothing to add to the error about. */
export function pollFix(cause: PollFailureCause | null, command: Command): PollFix | undefined {
  const entry = cause === null ? undefined : FIXES[cause];
  if (entry === undefined) return undefined;
  return { ...entry, fix: typeof entry.fix === 'string' ? entry.fix : entry.fix(command) };
}

/** The fix with where to make it: the watch file at `configPath`, unless it is not in the file. */
export function fixIn({ fix, inEnvironment }: PollFix, configPath: string): string {
  return inEnvironment ? fix : `${fix} in ${configPath}`;
}
