import type { Dictionary } from '../data/dictionary.ts';
import type { EcsJob, InstanceAction, Notification, NotificationWatch, Outcome, ServerInfo } from '../model.ts';

/** `superseded`: an early warning not sent because the action's outcome came first. */
export type DeliveryStatus = 'pending' | 'delivered' | 'given_up' | 'superseded';

/** One (watch, outcome, notifier) delivery: a record first, a send second, so a crash loses nothing. */
export interface DeliveryRecord {
  /** Stable id: webhook-id and Message-ID derive from it, so a redelivery can be dropped by receivers. */
  id: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the delivery was recorded: it is retried until it is `delivery.maxAge` old. */
  createdAt: string;
  /** ISO time before which no further attempt is made (backoff, Retry-After). */
  nextAttemptAt: string | null;
  lastError: string | null;
  updatedAt: string;
  /** The recipients still owed after an attempt reached only some of them (see DeliveryError.owedTo); absent: all. */
  owedTo?: string[];
  /**
   * When a reload took its notifier out of the watch file: it is kept until `delivery.maxAge` in case the
   * notifier comes back, after a restart too. Absent: its notifier is configured, or was already missing at
   * a start (taken out between runs, on purpose), and it is given up.
   */
  heldSince?: string;
}

export interface VerdictRecord {
  outcome: Outcome;
  reason: string;
  detectedAt: string;
}

/** The API's own not-found answers for what a watch follows, before it was ever found. */
export interface NotFoundMemory {
  /** The first of them (ISO); null once it was found. */
  firstNotFoundAt: string | null;
  notFoundAnswers: number;
}

/**
 * What earlier polls of an action saw that one poll alone cannot show. Records written before it existed
 * have none; `memoryOf` (watch/memory.ts) reads them as "nothing seen yet".
 */
export interface ObservedMemory extends NotFoundMemory {
  /** The first poll, after the events finished, that found the server gone (ISO); null once it is back. */
  serverGoneSince: string | null;
  serverGoneAnswers: number;
  /**
   * false once a refusal of GET /os-migrations counts (watch/memory.ts rememberMigrations), true after it
   * answered; null until asked.
   */
  migrationsReadable: boolean | null;
  /** Refusals of GET /os-migrations since it last answered: one that may be a blip counts only when repeated. */
  migrationsRefusedAnswers: number;
  /** The last look at the server while an event ran long (ISO): a step may have died with its compute service. */
  stallCheckedAt: string | null;
  /** The first such look that found the sign of a dead step (ERROR with no task state, or a snapshot's or a resize's cleared; watch/deadStep.ts) (ISO); null once it was not. */
  erroredSince: string | null;
  /**
   * The first poll that found every event of the action finished, as last they finished (ISO); null while
   * one runs. A finish the cloud stamped later happened by then: its clock runs ahead of this host's, by
   * less than is allowed for (cloudClock.ts).
   */
  finishSeenAt: string | null;
}

/** What every kind of watch must remember across restarts. */
interface RecordBase {
  projectId: string;
  name: string | null;
  /** When tracking began; the deadline and the not-found window count from here, across restarts. */
  trackingSince: string;
  /** Whether the API ever answered with the document: a later "not found" is then no outcome. */
  everFound: boolean;
  lastError: string | null;
  /**
   * The first failed poll (ISO) of the failed polls going on now; null once a poll is answered. Kept in
   * the state rather than by the engine, so that a restart or a reload that rebuilds the parts does not
   * start the longest-failing-watch gauge (and its alert) again from zero.
   */
  failingSince: string | null;
  /**
   * When the polls of the daemon that saved the state began failing in its own process (ISO), which its
   * deadline's patience counts from (PollFailures.failingHereSince): `check` counts from it too, and so
   * tells the timeout the daemon will send. Absent once one answered, or before its first poll failed.
   */
  daemonFailingSince?: string;
  verdict: VerdictRecord | null;
  /** Keyed by notifier name; a null-prototype Dictionary, since a notifier may be called `constructor`. */
  deliveries: Dictionary<DeliveryRecord>;
  /** The early warning, once decided (at most once, never after the verdict); absent in older records. */
  warning?: WarningRecord | null;
  /**
   * The batch whose digest reports the verdict, set with the verdict and moved to the label the file gives
   * it later; null or absent: notified on its own. Lets a reload see a verdict that left its batch before
   * the digest, and notify it on its own.
   */
  batch?: string | null;
  /**
   * Each setting of the cloud's own clock (hostClock.ts), this host's keeping time, since the start of what
   * the watch follows (an action's start_time, a job's begin_time) was seen, the oldest first: a time the
   * cloud stamped is on its clock as the settings before it left it. Absent: not set since. One list may be
   * the same object in many records (engine.ts #cloudSet): never changed in place.
   */
  cloudClockSettings?: readonly CloudClockSetting[];
}

/** One setting of the cloud's own clock, as a watch's record keeps it. */
export interface CloudClockSetting {
  /** How far it was set (back: negative). */
  ms: number;
  /**
   * From when (ISO, on the cloud's clock as set) what it stamps is on its clock as set: a step that started
   * after the setting. Absent in records written before it was kept, whose steps are told apart by their
   * start alone (judgement.ts).
   */
  at?: string;
  /**
   * The times (ISO) from `at` on that the watch had seen before the clock was set back: stamped before the
   * setting all the same (the clock set back, the two stretches overlap). Absent: none.
   */
  seenBefore?: string[];
}

/** An `ecs.action.slow` notice: why, when, what it showed, and its deliveries (keyed like a watch's). */
export interface WarningRecord {
  reason: string;
  detectedAt: string;
  /**
   * The watch as the notice announces it (its name, the action and server, or the job), as they were when
   * it was made: the watch is polled on, and every attempt under the notice's one id must say what the
   * first said, and what its reason describes. Let go once no delivery of it is pending; absent in records
   * written before it was kept, whose attempts read the watch's record.
   */
  facts?: Pick<Notification, 'watch' | 'instanceAction' | 'server' | 'job'>;
  deliveries: Dictionary<DeliveryRecord>;
}

/** One watch as a digest reports it: what was known when the digest was recorded. */
export interface DigestMember {
  /** Its state key: the full facts of a failure are read from its record when the digest is sent. */
  key: string;
  watch: NotificationWatch;
  outcome: Outcome | null;
  reason: string;
  detectedAt: string | null;
}

/** One digest of a batch: a snapshot of its watches, taken once, and its deliveries. */
export interface DigestRecord {
  round: number;
  /** false: the partial digest sent when the round stays unfinished for `batchWindow`. */
  final: boolean;
  detectedAt: string;
  members: DigestMember[];
  deliveries: Dictionary<DeliveryRecord>;
}

/** A `batch:` label's digests, oldest first; the watches of its final digests have been reported. */
export interface BatchRecord {
  label: string;
  digests: DigestRecord[];
}

/** How auto-tracking (`track:`) started a watch: what its entry said then. */
export interface DiscoveredBy {
  /** Notifier names; null: every notifier. */
  notify: string[] | null;
  /** The deadline in milliseconds. */
  deadline: number;
}

/** A watch of an instance action. Records written before kinds existed have no `kind`. */
export interface ActionWatchRecord extends RecordBase {
  kind?: 'instance-action';
  serverId: string;
  requestId: string;
  observed?: ObservedMemory;
  instanceAction: InstanceAction | null;
  server: ServerInfo | null;
  /** Set when auto-tracking found the action: the watch lives here, not in the watch file. */
  discovered?: DiscoveredBy;
}

/** A watch of a job of the native ECS API. */
export interface JobWatchRecord extends RecordBase {
  kind: 'ecs-job';
  jobId: string;
  observed: NotFoundMemory;
  /** The last job document the API returned. */
  job: EcsJob | null;
}

/** Everything we must remember about one watch across restarts. */
export type WatchRecord = ActionWatchRecord | JobWatchRecord;

/**
 * A server whose new actions become watches (`track:`). Times from the API (`horizon`, `seen`, `cursor`) are
 * kept as the API wrote them and compared on its clock only, never with ours.
 */
export interface TrackedServerRecord {
  projectId: string;
  serverId: string;
  /** Its name, for the names of its watches; null until read. */
  name: string | null;
  /** When tracking began: the first listing of its actions that got an answer (ISO); null before it. */
  since: string | null;
  /**
   * Actions that started before this (the API's start_time) are never watches; null: none is too old. Set
   * before tracking began (`since` null) by a first listing that failed, to its time.
   */
  horizon: string | null;
  /** The actions at or after the horizon already handled (watched, filtered out, or there before tracking): request id → start_time. */
  seen: Dictionary<string>;
  /** The newest `updated_at` its actions showed (microversion 2.58+), for `changes-since`. */
  cursor: string | null;
  /** Its newest action is a delete: the server itself is read on each pass until it is gone. */
  ending: boolean;
  /** The API's own "not found" for the server: since when (ISO) and how many times in a row. */
  missingSince: string | null;
  missingAnswers: number;
  /** Tracking ended because the server is gone (ISO); its last actions were listed before. */
  endedAt: string | null;
  lastError: string | null;
}

/** A project tracked whole (`project: all`): how its servers are listed. */
export interface TrackedProjectRecord {
  projectId: string;
  /** When tracking began: the first complete listing of its servers (ISO); null before it. */
  since: string | null;
  /**
   * Set before tracking began (`since` null) by a listing of its servers that failed, to the cloud's time
   * when it was sent (as this host reckons it): the servers the baseline then finds are tracked from it.
   */
  horizon: string | null;
  /** The newest `updated` of its servers at that listing (the API's clock): a server found later is judged from it. */
  baseline: string | null;
  /**
   * The servers that listing showed deleted within the baseline's second (`updated` has whole seconds): one
   * shown deleted in that second later, and not among them, was deleted after tracking began.
   */
  deletedAtBaseline: string[];
  /** The newest `updated` seen since, for `changes-since`. */
  cursor: string | null;
  lastError: string | null;
}

/** What auto-tracking keeps across restarts, keyed `{project}/{server}` and by project. */
export interface TrackingState {
  servers: Dictionary<TrackedServerRecord>;
  projects: Dictionary<TrackedProjectRecord>;
}

/**
 * How the clock the state's times are kept on stood at one moment (watch/hostClock.ts): so that a daemon
 * started again can tell a setting of this host's clock while it was stopped, or a state brought from a
 * host whose clock is apart, from time that passed. Absent in states written before it existed.
 */
export interface ClockRecord {
  /** This host's time then (ISO). */
  at: string;
  /** The boot clock then (milliseconds since boot) and the boot it counts from (Linux's boot_id); null where it has no id. */
  boot: { id: string; ms: number } | null;
  /** How far the cloud's clock was ahead of this one by the `Date` of its answers, and which cloud; null before any answer. */
  cloud: { name: string; aheadMs: number } | null;
  /**
   * The boot clock at a start that only the cloud's clock can judge (after a boot, or on another host),
   * while the cloud has not answered since: a later start in the same boot (a restart, or a reload that
   * makes the parts again) goes on from it rather than taking this boot's record as judged.
   */
  unjudgedStart?: number;
  /**
   * A setting of this host's clock (ms) that its boot clock found and the cloud's clock had not judged yet
   * (its measure then is moved by it): the first answer after a start judges it, as it would have while running.
   */
  unjudgedSetMs?: number;
}
