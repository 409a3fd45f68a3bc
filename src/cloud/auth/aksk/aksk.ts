import { Credential } from '../credential.ts';
import { CLOCKS_APART_MS } from '../../cloudClock.ts';
import type { ApiError, ApiErrorKind } from '../../ApiError.ts';
import { httpError, isSuccess, type Answer } from '../../exchange.ts';
import { untilAborted } from '../../../lifecycle/abort.ts';
import { formatDuration } from '../../../watch/format.ts';
import type { AdmittedRequest, AuthDeps, AuthRequest, AuthStrategy } from '../types.ts';
import type { AkskAuthConfig } from './config.ts';
import { signRequest } from './sign.ts';
import { isGatewayCode } from '../../refusal.ts';
import { credentialsDigest, doublingDelay, REFUSED_BACKOFF_MS } from '../refusedBackoff.ts';

const ACCESS = /\bAccess=([^,\s]+)/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;


/** Put before the refusal in the error of a request held back. */
const HELD = 'not sent: held back since the gateway refused the access key (so that it does not lock it)';

/** How far from its own clock the gateway takes a signature's time: it refuses one further off, whatever the key. */
const SIGNATURE_WINDOW_MS = 15 * 60_000;

/** The gateway locks a key once more than this many signatures in a row were refused. */
const REFUSALS_BEFORE_LOCK = 5;

/**
 * Answers to a request the gateway may not have checked: a throttle (429, or APIGW.0308 with whatever
 * status), a timeout, an HTML page refusing it (a firewall or proxy in front of the gateway, which the
 * request never reached). Told by the answer's kind, not its status: each may come as a 403.
 */
const UNCHECKED = new Set<ApiErrorKind>(['rate_limited', 'timeout', 'gateway']);

/**
 * The gateway's own answers (APIGW.*) judge no signature but this one, "the IAM user is not authorized to
 * access the API", which names a user the signature was taken for. Others come before or apart from it:
 * no such API published (0101, found first as the API says how a request is authenticated), a request it
 * cannot take (0201), the API's IP access control (0401, 0402), and codes not known here: taken as no word
 * on the key, whose hold then lasts until an answer shows it, rather than risk a lock.
 */
const USER_JUDGED = 'APIGW.0302';

/**
 * Whether an answer shows the signature accepted: a success, or the API's own refusal past the gateway (a
 * 403 of its policy, a 404). Not its refusal (401, APIGW.0301, a locked key's too), a request it may not
 * have checked, a 5xx from it or past it, nor a redirect (something in front of it).
 */
function pastTheGateway(answer: Answer): boolean {
  const { status } = answer;
  if (isSuccess(status)) return true;
  if (status < 400 || status >= 500 || status === 401) return false;
  const error = httpError(answer);
  if (UNCHECKED.has(error.kind)) return false;
  return !isGatewayCode(error.apiCode) || error.apiCode === USER_JUDGED;
}

/** The signature's refusal, and requests held back since. */
interface Hold {
  /** What the requests held back fail with: the refusal, saying they were not sent. */
  readonly held: ApiError;
  /** Refusals of probes in a row, with the same credentials, this one included. */
  readonly attempts: number;
  /** performance.now(): this host's clock set back must not hold requests back for as long. */
  readonly retryAt: number;
  /** The credentials' version (Credential.version, summed) refused: newer ones go at once. */
  version: number;
  /** Ends with the request out to try again (the probe): the others wait for it, to go or be held back. */
  probe: Promise<void> | undefined;
  /**
   * The refusal's words, until it is said (at the end of the request refused): its retry with credentials
   * rotated in their files since may be accepted, and nothing was then held back for long.
   */
  unsaid: string | undefined;
}

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
 * Once the gateway has refused a signature, requests are held back (admit) for REFUSED_BACKOFF_MS and then
 * one goes alone, so that the daemon never has the gateway lock the key. So does the very first request,
 * the others waiting until it has ended: with this host's clock 15 min or more off the cloud's, every
 * request in flight would be signed at a time the gateway refuses before an answer's Date told the client
 * the cloud's clock, enough refusals in a row to have it lock the key.
 */
export function createAkskAuth(config: AkskAuthConfig, deps: Pick<AuthDeps, 'now' | 'logger' | 'refused'>): AuthStrategy {
  const accessKey = new Credential('accessKey', config.accessKey, config.accessKeyFile, { sentInHeader: true });
  const secretKey = new Credential('secretKey', config.secretKey, config.secretKeyFile);
  const temporary = config.securityToken !== undefined || config.securityTokenFile !== undefined;
  const securityToken = temporary ? new Credential('securityToken', config.securityToken, config.securityTokenFile, { sentInHeader: true }) : undefined;
  const credentials = [accessKey, secretKey, ...(securityToken === undefined ? [] : [securityToken])];
  const fromFiles = [config.accessKeyFile, config.secretKeyFile, config.securityTokenFile].some((file) => file !== undefined);
  const until = fromFiles ? 'or until a key file changes' : "or until the watch file's cloud endpoint, project, region or auth changes";
  const log = deps.logger;
  let hold: Hold | undefined;
  /** The first request, until it has ended, answered or not: from then on requests go as they come. */
  let first: Promise<void> | undefined;
  let firstEnded = false;
  /**
   * Signatures of requests in flight made since the last answer whose Date showed their time right: this
   * host's clock may have come apart from the gateway's since (a VM paused past the 15 min, its clocks with
   * it, which nothing on it can tell), and each be refused before the first refusal's Date tells the cloud's
   * time. No more than REFUSALS_BEFORE_LOCK are made: eight polls in flight had the gateway lock the key. A
   * request refused for its time stays in flight until its retry, signed with the time the Date told, is
   * answered.
   */
  let doubtful = 0;
  /** Counts the answers that showed the time right: a signature counted before the last is doubtful no more. */
  let confirmations = 0;
  /** Settles when `doubtful` goes down, for the signatures waiting to be made. */
  let fewerDoubtful = Promise.withResolvers<void>();
  const setDoubtful = (count: number) => {
    if (count === doubtful) return;
    doubtful = count;
    fewerDoubtful.resolve();
    fewerDoubtful = Promise.withResolvers<void>();
  };
  const version = () => credentials.reduce((sum, c) => sum + c.version, 0);
  const digest = () => credentialsDigest(credentials.map((c) => c.current));
  /** Each credential's value, read again where its file changed: access key, secret key, security token. */
  const values = () => Promise.all(credentials.map((c) => c.value()));

  /** A refused answer to a request let go with the credentials of `sentVersion`, as the probe of `probed` if any; the hold it made. */
  function refused(answer: Answer, sentVersion: number, probed: Hold | undefined): Hold | undefined {
    const current = hold;
    // Sent before the hold began, or a retry: the hold stands, though a retry with newer credentials had them refused too.
    if (current !== undefined && probed !== current) {
      if (sentVersion > current.version) current.version = sentVersion;
      return undefined;
    }
    const attempts = current !== undefined && sentVersion === current.version ? current.attempts + 1 : 1;
    // Polls that kept being refused would keep the key locked for as long as the daemon runs.
    const delay = doublingDelay(REFUSED_BACKOFF_MS, attempts);
    hold = { held: httpError(answer, HELD), attempts, retryAt: performance.now() + delay, version: sentVersion, probe: undefined, unsaid: httpError(answer).message };
    return hold;
  }

  /** Says the refusal that made `made`, unless its retry was accepted meanwhile (passed). */
  function say(made: Hold): void {
    const error = made.unsaid;
    if (hold !== made || error === undefined) return;
    made.unsaid = undefined;
    const delay = doublingDelay(REFUSED_BACKOFF_MS, made.attempts);
    if (made.version === version()) deps.refused?.set(digest(), { error: made.held, attempts: made.attempts, retryAt: made.retryAt });
    log.error(
      { error, attempt: made.attempts, retryInMs: delay },
      `the gateway refused the access key: no request signed with it goes out for ${formatDuration(delay)} (then one alone), ${until}, as the gateway would lock it for every tool that uses it (for 5 min, after more than five refusals in a row)`,
    );
  }

  function passed(): void {
    if (hold === undefined) return;
    const said = hold.unsaid === undefined;
    hold = undefined;
    deps.refused?.delete(digest());
    if (said) log.info('the gateway accepts the access key again: requests go out as before');
  }

  /**
   * A refusal whose own Date is further from the time the request was signed at (`signedAt`) than the
   * gateway allows: the time was refused, not the key, and the client signs it again at once with the time
   * the Date tells it (onUnauthorized). Held for a refused key, the requests waiting their turn would fail
   * unsent, and the log say at error that none goes out for 5 min, at every start of a daemon whose host's
   * clock is off. The time it was signed at, not the time now: the first refusal's Date has moved that to
   * the cloud's, and the others in flight with it (a VM paused past the 15 min) were taken for refused keys.
   */
  function signedOffClock(answer: Answer, signedAt: number): boolean {
    const date = answer.headers['date'];
    return typeof date === 'string' && Math.abs(Date.parse(date) - signedAt) > SIGNATURE_WINDOW_MS;
  }

  /** What hears of one request let go; `probed`, the hold it tries again, and `probeEnded`, what ends its probe. */
  function admitted(signal: AbortSignal | undefined, probed: Hold | undefined, probeEnded?: () => void): AdmittedRequest {
    let sentVersion = version();
    let answers = 0;
    /** The time its last attempt is signed with (headers() takes it just after sending()). */
    let signedAt = deps.now();
    /** Its signatures among `doubtful`, counted since the answer numbered `countedAt` in `confirmations`. */
    let counted = 0;
    let countedAt = 0;
    /** The hold its refusal made, said once it has ended. */
    let made: Hold | undefined;
    return {
      async sending() {
        // A retry is signed with the time the refusal's Date has just told, and its answer may show it right.
        while (answers === 0 && doubtful >= REFUSALS_BEFORE_LOCK) await untilAborted(fewerDoubtful.promise, signal);
        // Let go before the hold began, it waited its turn at the rate limiter since: held back too.
        if (answers === 0 && hold !== undefined && hold !== probed) throw hold.held;
        signedAt = deps.now();
        if (countedAt !== confirmations) counted = 0;
        countedAt = confirmations;
        counted++;
        doubtful++;
      },
      answered(answer) {
        // A retry carries the credentials onUnauthorized has just read again.
        if (++answers > 1) sentVersion = version();
        const offClock = signedOffClock(answer, signedAt);
        if (!offClock) {
          confirmations++;
          setDoubtful(0);
        }
        if (answer.status === 401) {
          // Its retry, signed with the cloud's time, is what tells whether the key is refused.
          if (offClock) return;
          made = refused(answer, sentVersion, probed) ?? made;
          // Its retry is no probe: the hold it made stands.
          probed = undefined;
        } else if (pastTheGateway(answer)) {
          passed();
        }
      },
      ended() {
        if (countedAt === confirmations && counted > 0) setDoubtful(doubtful - counted);
        if (made !== undefined) say(made);
        if (probeEnded === undefined) return;
        if (probed !== undefined) probed.probe = undefined;
        probeEnded();
      },
    };
  }

  /**
   * The hold the method before this one was under with the same credentials (a reload that rebuilt the
   * parts): its first request would otherwise be one more refusal in a row, and a few reloads would have
   * the gateway lock the key.
   */
  async function holdAsBefore(): Promise<void> {
    if (deps.refused === undefined) return;
    await values();
    const kept = deps.refused.get(digest());
    if (kept !== undefined) hold ??= { held: kept.error, attempts: kept.attempts, retryAt: kept.retryAt, version: version(), probe: undefined, unsaid: undefined };
  }

  /** A request let go, or held back (rejects) while the gateway's refusal holds: one probe at a time once it is due. */
  async function letGo(signal: AbortSignal | undefined): Promise<AdmittedRequest> {
    if (hold === undefined) return admitted(signal, undefined);
    // A rotated key file is tried at once.
    await values();
    const current = hold;
    if (current === undefined) return admitted(signal, undefined);
    if (current.probe !== undefined) {
      await untilAborted(current.probe, signal);
      // Refused again, or not answered (the network): the next pass sends another.
      if (hold !== undefined) throw hold.held;
      return admitted(signal, undefined);
    }
    if (performance.now() < current.retryAt && version() <= current.version) throw current.held;
    const { promise, resolve } = Promise.withResolvers<void>();
    current.probe = promise;
    return admitted(signal, current, resolve);
  }

  return {
    signsWhenSent: true,
    async headers(request: AuthRequest) {
      const [ak, sk, token] = await values();
      const own: Record<string, string> = {};
      const url = new URL(request.url);
      if (request.projectId !== undefined) own['x-project-id'] = request.projectId;
      if (token !== undefined) own['x-security-token'] = token;
      const signed = signRequest({ ...request, url, headers: { ...request.headers, ...own } }, { accessKey: ak!, secretKey: sk! }, new Date(deps.now()));
      return { ...own, ...signed };
    },
    async admit(_request, signal) {
      if (firstEnded) return letGo(signal);
      // Ended either way: a first request that failed is no reason for the others not to go.
      if (first !== undefined) {
        await untilAborted(first, signal);
        return letGo(signal);
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      first = promise;
      const end = () => {
        firstEnded = true;
        resolve();
      };
      try {
        await holdAsBefore();
        const going = await letGo(signal);
        return {
          ...going,
          ended() {
            going.ended();
            end();
          },
        };
      } catch (err) {
        end();
        throw err;
      }
    },
    async onUnauthorized(sent) {
      await Promise.all(credentials.map((c) => c.refresh()));
      // A rotated pair has a new access key; temporary credentials come with a new token too.
      const [ak, , token] = await values();
      // The refusal's Date may be what told the client the cloud's clock: a signature of another time now.
      const retimed = Math.abs(sdkDateMs(sent['x-sdk-date']) - deps.now()) >= CLOCKS_APART_MS;
      return ACCESS.exec(sent['authorization'] ?? '')?.[1] !== ak || sent['x-security-token'] !== token || retimed;
    },
  };
}
