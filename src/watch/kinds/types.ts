import type { Logger } from '../../observability/logger.ts';
import type { EcsClient } from '../../cloud/client.ts';
import type { EcsJob, InstanceAction, NotificationWatch, Outcome, ServerInfo, WatchIdentity } from '../../model.ts';
import type { WatchRecord } from '../../state/types.ts';

/** One watch as the engine polls it: the file's entry (or a discovered one) with its deadline resolved. */
export type WatchTarget = WatchIdentity & {
  deadlineMs: number;
  /** Notifier names; undefined means every notifier. */
  notify?: string[] | undefined;
  /** The watch's own warnAfter (null: off); undefined: poll.warnAfter for what it follows. */
  warnAfter?: number | null | undefined;
  /** Its batch: no notification of its own, a digest for the batch instead. */
  batch?: string | undefined;
  /** Its batchWindow, poll.batchWindow resolved; undefined: none. */
  batchWindowMs?: number | undefined;
};

/** What a kind's poll may use of the engine: the client, its retries and its error reporting. */
export interface PollContext<T extends WatchTarget = WatchTarget, R extends WatchRecord = WatchRecord> {
  target: T;
  record: R;
  log: Logger;
  client: EcsClient;
  /** One API read with the engine's retries (transient faults, Retry-After); rejects once close() cuts it off. */
  read<V>(call: (signal: AbortSignal) => Promise<V>): Promise<V>;
  /** Counts and logs a read that failed after its retries; returns its message for the verdict. */
  failed(err: unknown): string;
  /** True once close() cut the poll short: nothing it saw may be recorded. */
  cancelled(): boolean;
  /** This host's time, once the engine has allowed for a step of its clock: what a judgement takes as now. */
  now(): number;
  /**
   * Since when the watch's polls have failed in this process (epoch ms), null when its last poll here
   * answered or none has run here: a failure before a restart gives the deadline's patience no head start.
   */
  failingSince(): number | null;
}

/** What one poll concluded; the kind has already kept what it read in the record. */
export type PollResult = (
  | {
      final: false;
      reason: string;
      /** What it follows was seen to end, and only reads that confirm the outcome are missing: no early warning. */
      confirming?: boolean;
    }
  | { final: true; outcome: Outcome; reason: string }
) & {
  /** A read failed, or answered something that cannot be judged yet. */
  pollFailed: boolean;
  /** The message of this poll's failed read, if one failed. */
  readError: string | null;
  /** The API answered its own "not found" (the `polls_total` metric counts these apart). */
  notFound: boolean;
  /** What the record keeps changed (a poll that saw nothing new leaves the state file alone). */
  changed: boolean;
  /**
   * What the log's warning says of a failed poll with every read answered, when such a run begins; or of an
   * answered poll that saw what the daemon does not know and waits on (a job status the contract does not
   * list), once (pollFailures.ts).
   */
  warning?: string | undefined;
};

/** How far a watch has got, for people following it (`check`, `wait`). */
export interface Progress {
  /** What runs: the action (`resize`) or the job type (`createServer`); null before it was ever read. */
  subject: string | null;
  /** Events, or sub-jobs, finished of those there are; null when the API shows none. */
  done: number | null;
  total: number | null;
  /** What `done` and `total` count: `events`, `sub-jobs`. */
  unit: string;
  /** What runs now: an action's unfinished events, a job's unfinished sub-jobs. */
  running: string[];
  /** When it started as the API says; null when unknown. */
  startedAt: number | null;
}

/** The facts of a notification that come from what the watch follows. */
export interface NotificationFacts {
  watch: NotificationWatch;
  instanceAction: InstanceAction | null;
  server: ServerInfo | null;
  /** Present for a job, absent for an action (whose payload the contract fixed before jobs existed). */
  job?: EcsJob | null;
}

/**
 * Everything that differs between kinds of watch, in one module per kind (`kinds/<kind>.ts`), listed in
 * `kinds/index.ts`. The engine, the outbox and the commands reach a kind only through this.
 */
export interface WatchKindModule<T extends WatchTarget = WatchTarget, R extends WatchRecord = WatchRecord, D = unknown> {
  /** The state file's key: the same thing watched twice (say, by two files) is one record. */
  key(ref: T | R | WatchIdentity): string;
  /** The ids every log line about the watch carries. */
  logFields(ref: T | R): Record<string, string>;
  /** Short ids for people: what the watch follows, and where (`check`'s NAME and SERVER columns). */
  label(ref: T | R): { id: string; where: string | null };
  newRecord(target: T, trackingSince: string): R;
  /** Reads what the verdict needs, keeps it in the record, and judges. */
  poll(context: PollContext<T, R>): Promise<PollResult>;
  facts(record: R): NotificationFacts;
  /**
   * Forgets the documents that only its notifications need (an action with its tracebacks, a job with
   * its sub-jobs) once they are all settled, and may forget with them what only a verdict to come would
   * read (an action's memory of its polls); true when there was something to forget.
   */
  dropPayload(record: R): boolean;
  progress(record: R): Progress | null;
  /**
   * The document the record keeps of the watched thing (an action, a job), which holds the times the cloud
   * stamped: a poll that finds it changed replaces it, never changes it in place, so that the engine can keep
   * the times it held before (engine.ts #keepStamped).
   */
  stamped(record: R): D;
  /**
   * The times the cloud stamped (epoch ms on its clock) in a document `stamped` gave: set back, the cloud's
   * clock stamps the same stretch of times again, and those seen before the setting were stamped before it
   * (engine.ts #cloudSet).
   */
  cloudTimes(stamped: D): number[];
  /**
   * For an id the API does not know: what its shape, or the API's own lists, suggest it was meant to be, as
   * a clause for people ('' for nothing). Rejects as a read does. Kinds with nothing to suggest leave it out.
   */
  notFoundHint?(target: T, client: EcsClient, signal?: AbortSignal): Promise<string>;
}
