// What the log and the metrics say of polls that fail after their retries. The failure of what is polled (a
// watch, or a server or project auto-tracking lists) is a warn line when its run of failures begins or
// changes kind, a debug line while it repeats, and its end an info line: an outage of the cloud at
// thousands of watches said `poll failed` once a watch a pass before.
import { API_ERROR_KINDS, ApiError } from '../cloud/ApiError.ts';
import { CredentialError } from '../cloud/auth/CredentialError.ts';
import { CatalogError } from '../cloud/catalog.ts';
import { REFUSAL_FIX, refusalOf, type Refusal } from '../cloud/refusal.ts';
import type { Logger } from '../observability/logger.ts';
import type { WatchRecord } from '../state/types.ts';
import type { PollResult } from './kinds/types.ts';

/**
 * Why a poll failed, as poll_errors_total counts it. `endpoint`: the token's catalog lists no compute endpoint
 * that cloud.region and cloud.interface select; `internal`: the poll threw, a fault of ours.
 */
export const POLL_ERROR_KINDS = [...API_ERROR_KINDS, 'endpoint', 'internal', 'other'] as const;
export type PollErrorKind = (typeof POLL_ERROR_KINDS)[number];
/**
 * Why a poll failed, as what to mend goes: its kind, or a refusal whose fix is not what its kind says (a 401
 * or 403 that cloud.auth does not mend, a 400 that it does: refusal.ts). Not counted: poll_errors_total
 * counts the kind.
 */
export type PollFailureCause = PollErrorKind | Refusal;

const ANSWERED_AGAIN = 'poll answered again';
const AGAIN = '; trying again on the next schedule';

/** A time kept here (epoch ms): on this host's clock as it stood after the first `moves` of PollFailures' #moves. */
interface Kept {
  readonly at: number;
  readonly moves: number;
}

export class PollFailures {
  readonly #counter: { inc(labels: { kind: PollErrorKind }): void };
  /** Aborted when the engine closes: a read it cut short is no failure. */
  readonly #closed: AbortSignal;
  /**
   * The failure in this process of what each poll is about, until a poll of it is answered: the cause of its
   * last error (PollFailureCause), and when it began (epoch ms). The end of a failure of what auto-tracking
   * lists (a server, a project) is told with that time; a watch's with the failingSince its record keeps
   * across restarts.
   */
  readonly #failing = new WeakMap<object, { cause: PollFailureCause; readonly since: Kept }>();
  /**
   * The records whose last poll in this process failed, with when the first of that run here failed (epoch
   * ms). A record's failingSince survives a restart, but a daemon that was down polled nothing meanwhile:
   * the watch counts as failing again only once this process's own poll has failed, not for the downtime
   * before its first poll.
   */
  readonly #failedHere = new WeakMap<WatchRecord, Kept>();
  /**
   * The warning last said of each record whose poll was answered with something the daemon does not know
   * (a job status the contract does not list): said once, not at every poll, and again only when it changes.
   */
  readonly #warned = new WeakMap<WatchRecord, string>();
  /**
   * The settings of this host's clock that moved the times the state keeps since this process began
   * (hostClock.ts), oldest first, each from its `since` on (a hold put right moves only those stamped on
   * the clock behind): the times kept here are on its clock as it stood then, and read as it stands now, or
   * a clock set back 30 min after the deadline would hold a watch whose polls fail 30 min past its 15.
   */
  readonly #moves: { readonly byMs: number; readonly since: number }[] = [];
  /** Whether what failed is polled again on a schedule (the daemon, `wait`), not once (`check`). */
  readonly #scheduled: () => boolean;
  readonly #now: () => number;

  /** `now`: this host's time as the engine judges by it, allowing for a step of the clock. */
  constructor(counter: { inc(labels: { kind: PollErrorKind }): void }, closed: AbortSignal, scheduled: () => boolean, now: () => number = Date.now) {
    this.#counter = counter;
    this.#closed = closed;
    this.#scheduled = scheduled;
    this.#now = now;
  }

  /** This host's clock was set by `byMs`: the times kept here (from `since` on) move with the state's. */
  moveTimes(byMs: number, since = -Infinity): void {
    this.#moves.push({ byMs, since });
  }

  /**
   * A read of the poll about `about` (a watch's record, or auto-tracking's record of a server or project)
   * failed after its retries: counted and logged. Its message.
   */
  failed(about: object, log: Logger, err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    if (this.#closed.aborted) return message;
    // An unreadable credential file is as much an auth problem as a credential the API refused.
    const kind = err instanceof ApiError ? err.kind : err instanceof CredentialError ? 'unauthorized' : err instanceof CatalogError ? 'endpoint' : 'other';
    const refusal = err instanceof ApiError ? refusalOf(err) : undefined;
    const cause = refusal ?? kind;
    const repeated = this.#record(about, cause) === cause;
    this.#counter.inc({ kind });
    const hint =
      refusal !== undefined ? ` (${REFUSAL_FIX[refusal]})`
      : err instanceof ApiError && kind === 'unauthorized' ? ' (check cloud.auth)'
      // The credentials may be good and their role lack the route, as `check` and `wait` say it.
      : err instanceof ApiError && kind === 'forbidden' ? " (check cloud.auth and the account's permissions)"
      : kind === 'gateway' ? ' (not the API\'s answer: check with whoever runs the firewall, gateway or proxy in front of it; cloud.auth is not what it judged)'
      : kind === 'foreign_not_found' ? ' (a 404 that is not the API\'s own "not found": check cloud.endpoint and the project id, or cloud.auth.identityEndpoint if it is for the token request)'
      : '';
    if (repeated) log.debug({ error: message }, `poll failed again${hint}`);
    else log.warn({ error: message }, `poll failed${hint}${this.#again()}`);
    return message;
  }

  /**
   * A watch's poll ended with `result`; `failingSince` is the record's from before it. A poll may end without
   * failing though a read of it did (`readError`: a refusal that does not count yet): its failure goes on.
   * One may fail with every read answered (a server whose cell does not answer, UNKNOWN; one that answers
   * 404 under an action that is no delete): said at warn when such a run begins, as a failed read is, in the
   * poll's own words where it has them, and at debug while it goes on. One answered with what the daemon
   * does not know but can wait on (a job status the contract does not list) fails nothing, and its
   * `warning` is said once in this process. Called at every poll: nothing is made unless there is
   * something to say, not even the poll's logger, which is a pino child made at its first use.
   */
  ended(
    record: WatchRecord,
    poll: { readonly log: Logger },
    result: Pick<PollResult, 'final' | 'pollFailed' | 'readError' | 'reason' | 'warning'>,
    failingSince: string | null,
  ): void {
    if (result.pollFailed) {
      if (!this.#failedHere.has(record)) this.#failedHere.set(record, this.#keptNow());
      // A poll that ended the watch (a timeout) is not tried again; one after failed reads is a new run.
      if (!result.final && result.readError === null && this.#failing.get(record)?.cause !== 'other') {
        this.#record(record, 'other');
        poll.log.warn({ reason: result.reason }, result.warning ?? `poll failed${this.#again()}`);
      }
      return;
    }
    this.#failedHere.delete(record);
    if (result.readError === null && this.#failing.delete(record)) poll.log.info({ failingSince }, ANSWERED_AGAIN);
    if (result.warning !== undefined && this.#warned.get(record) !== result.warning) {
      this.#warned.set(record, result.warning);
      poll.log.warn({ reason: result.reason }, result.warning);
    }
  }

  /**
   * A poll of the record threw, a fault of ours the engine says at error at each poll: counted, and failing
   * as any failed poll is until one is answered.
   */
  threw(record: WatchRecord): void {
    this.#counter.inc({ kind: 'internal' });
    if (!this.#failedHere.has(record)) this.#failedHere.set(record, this.#keptNow());
    this.#record(record, 'internal');
  }

  /**
   * Every read of a poll about `about` was answered: the end of a failure the log told of is told too, as its
   * repeats were not, with when it began.
   */
  answered(about: object, log: Logger): void {
    const failure = this.#failing.get(about);
    if (failure === undefined) return;
    this.#failing.delete(about);
    log.info({ failingSince: new Date(this.#read(failure.since)).toISOString() }, ANSWERED_AGAIN);
  }

  /** What to mend for the error that failed the record's last poll: 'other' for one that failed without a read's error (a server UNKNOWN). */
  causeOf(record: WatchRecord): PollFailureCause {
    return this.#failing.get(record)?.cause ?? 'other';
  }

  /** Whether the record's last poll in this process failed. */
  failingHere(record: WatchRecord): boolean {
    return this.#failedHere.has(record);
  }

  /** When the run of failed polls that the record's last poll here ended began, in this process (epoch ms); null when it answered. */
  failingHereSince(record: WatchRecord): number | null {
    const since = this.#failedHere.get(record);
    return since === undefined ? null : this.#read(since);
  }

  /** Records a failure of `about` of `cause`, begun now if none was going on; the cause it had before, if any. */
  #record(about: object, cause: PollFailureCause): PollFailureCause | undefined {
    const failure = this.#failing.get(about);
    if (failure === undefined) {
      this.#failing.set(about, { cause, since: this.#keptNow() });
      return undefined;
    }
    const before = failure.cause;
    failure.cause = cause;
    return before;
  }

  /** Now, as the times here are kept. `now` first: it may find a step of the clock, and move them. */
  #keptNow(): Kept {
    const at = this.#now();
    return { at, moves: this.#moves.length };
  }

  /** A time kept here, on this host's clock as it stands now. */
  #read(kept: Kept): number {
    let at = kept.at;
    for (let i = kept.moves; i < this.#moves.length; i++) {
      const move = this.#moves[i]!;
      if (at >= move.since) at += move.byMs;
    }
    return at;
  }

  /** What a failure's warn line promises, which `check`'s one pass does not. */
  #again(): string {
    return this.#scheduled() ? AGAIN : '';
  }
}
