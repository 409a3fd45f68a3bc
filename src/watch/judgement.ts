// What every kind of watch decides the same way, whatever it reads: the deadline, and when the API's own
// "not found" becomes an outcome. Pure.
import type { Outcome } from '../model.ts';
import type { WatchRecord } from '../state/types.ts';
import { CLOCKS_APART_MS } from '../cloud/cloudClock.ts';
import { formatDuration } from './format.ts';

/** A create becomes visible only after scheduling: 404s inside this window are not an outcome yet. */
export const NOT_FOUND_WINDOW_MS = 2 * 60_000;
/** ...and one answer is not enough either: so many of the API's own not-found answers, at the least. */
const NOT_FOUND_MIN_ANSWERS = 3;

/** What earlier polls saw of the API's not-found answers for what the watch follows. */
export interface LookupMemory {
  /** Whether the API ever answered with the document: a later not-found is then not "not found". */
  everFound: boolean;
  /** The first of the API's own not-found answers (ISO); null once it was found. */
  firstNotFoundAt: string | null;
  notFoundAnswers: number;
}

/** What one read of the watched document gave: the document, the API's own not-found, or anything else. */
export type Lookup = 'found' | 'not_found' | 'error';

/** The lookup memory after one poll's answer; computed from the memory before the poll, so one poll counts once. */
export function rememberLookup<M extends LookupMemory>(previous: M, seen: Lookup, now: number): M {
  if (seen === 'found') {
    // Nearly every poll finds again what it found before: the memory as it was, not a copy of it.
    if (previous.everFound && previous.firstNotFoundAt === null && previous.notFoundAnswers === 0) return previous;
    return { ...previous, everFound: true, firstNotFoundAt: null, notFoundAnswers: 0 };
  }
  if (seen === 'not_found' && !previous.everFound) {
    return { ...previous, firstNotFoundAt: previous.firstNotFoundAt ?? new Date(now).toISOString(), notFoundAnswers: previous.notFoundAnswers + 1 };
  }
  return previous;
}

/**
 * Where a poll leaves a watch: settled with an outcome, or pending. A pending watch is `confirming` when
 * what it follows has finished and only reads that confirm the outcome are missing: it then gets its real
 * verdict however late, if it finished before the deadline. `next` names the read a kind would make next.
 */
export type Judgement<R = never> =
  | { settled: true; outcome: Outcome; reason: string }
  | {
      settled: false;
      reason: string;
      /** The reason without the read the poll is about to make (`; reading the server`), where it names one. */
      standing?: string;
      next: R | null;
      confirming: boolean;
      pollFailed: boolean;
    };

/**
 * `reading`: the read `next` makes, said after the reason while the watch is pending (`check`, `wait`), and
 * left out of a reason that ends it: a deadline reached before that read is no step of the action.
 */
export function pending<R = never>(reason: string, extra: Partial<{ next: R; reading: string; confirming: boolean; pollFailed: boolean }> = {}): Judgement<R> {
  const shown = extra.reading === undefined ? { reason } : { reason: `${reason}${extra.reading}`, standing: reason };
  return { settled: false, ...shown, next: extra.next ?? null, confirming: extra.confirming ?? false, pollFailed: extra.pollFailed ?? false };
}

/** The verdict of one poll, as the engine and the commands read it. */
export type Verdict<R = never, M = LookupMemory> = (
  | {
      final: false;
      reason: string;
      next: R | null;
      /** An end was seen and only reads confirming it are missing (Judgement's `confirming`): it no longer runs. */
      confirming: boolean;
    }
  | { final: true; outcome: Outcome; reason: string }
) & {
  /** A read failed (or answered what cannot be judged yet): the poll did not see what it needs. */
  pollFailed: boolean;
  /** The memory to keep after this poll. */
  memory: M;
};

/**
 * The API's own "not found" (Nova's itemNotFound, Huawei's Ecs.0114 or Common.0011) is an outcome only
 * once it has been the answer to several polls over two minutes, and never for something once seen.
 * `answer` names it for people: `404`, `400 Common.0011`.
 */
export function judgeNotFound<R>(now: number, memory: LookupMemory, found: { what: string; answer: string; message: string }): Judgement<R> {
  const { what, answer, message } = found;
  // A failed poll, for the log's warning and the deadline's patience: what was seen cannot be read.
  if (memory.everFound) return pending(`the ${what} is no longer found (${message}) although it was before`, { pollFailed: true });
  const since = memory.firstNotFoundAt === null ? now : Date.parse(memory.firstNotFoundAt);
  const span = now - since;
  if (memory.notFoundAnswers >= NOT_FOUND_MIN_ANSWERS && span >= NOT_FOUND_WINDOW_MS) {
    return {
      settled: true,
      outcome: 'not_found',
      reason: `the API answered "not found" to ${memory.notFoundAnswers} polls over ${formatDuration(span)}: ${message}`,
    };
  }
  return pending(`not visible yet (${answer}: ${message})`);
}

export interface Clock {
  now: number;
  /** When tracking began (epoch ms): the deadline counts from here, across restarts. */
  trackingSince: number;
  deadlineMs: number;
  /**
   * How far the cloud's clock is ahead of this host's, as the client measures it (cloudClock.ts; 0 while
   * within 30 s): `now` and `trackingSince` are this host's times, what finished when the cloud's.
   */
  cloudAheadMs?: number;
  /**
   * Each setting of the cloud's own clock since the start of what the watch follows was seen, the oldest
   * first (the record's cloudClockSettings): a time stamped before one is on its clock as it stood then.
   */
  cloudSettings?: readonly CloudSetting[];
  /**
   * Since when this watch's polls have failed in this process, before this poll (epoch ms); null or absent
   * when the last one here answered, or none has run here yet.
   */
  failingSince?: number | null;
}

/** One setting of the cloud's own clock (the record's CloudClockSetting), its times as epoch ms. */
export interface CloudSetting {
  ms: number;
  /** From when (on the cloud's clock as set) a time it stamped was stamped after it; absent in records kept before it was. */
  at?: number;
  /** Times from `at` on seen before a setting back: stamped before it all the same. */
  seenBefore?: readonly number[];
}

/** What a record keeps of the settings of the cloud's clock since its start was seen, as a Clock reads it. */
export function cloudSetting(record: Pick<WatchRecord, 'cloudClockSettings'>): Pick<Clock, 'cloudSettings'> {
  return {
    cloudSettings: record.cloudClockSettings?.map((s) => ({
      ms: s.ms,
      at: s.at === undefined ? undefined : Date.parse(s.at),
      seenBefore: s.seenBefore?.map((t) => Date.parse(t)),
    })),
  };
}

/** How far the cloud's clock was set in all, since the record's start was seen: as it stood then, now was as far off its Date. */
export function cloudSetInAll(record: Pick<WatchRecord, 'cloudClockSettings'>): number {
  return record.cloudClockSettings?.reduce((sum, s) => sum + s.ms, 0) ?? 0;
}

type CloudTimes = Pick<Clock, 'now' | 'cloudAheadMs' | 'cloudSettings'>;

/**
 * A start the cloud stamped (epoch ms on its clock), on this host's clock: less how far the cloud is ahead,
 * and, stamped before a setting of it since, on the cloud's clock as it stood then, as the early warning
 * counts it: set forward an hour, the measure is an hour ahead, and a step that started 5 min before would
 * otherwise read as 1 h 5 min old. A step that started after a setting is on the clock as set: set back an
 * hour, one that just started would otherwise read as an hour old; set forward, one stuck for an hour as
 * just started (cloudTimeOnThisClock).
 */
export function startOnThisClock(clock: CloudTimes, cloudTime: number): number {
  return cloudTimeOnThisClock(clock, cloudTime, clock.now);
}

/** `cloudTime` on the cloud's clock as the last of `settings` left it: what it stamped after, as it is. */
export function onCloudClockAsSet(settings: readonly CloudSetting[] | undefined, cloudTime: number): number {
  return cloudTimeOnThisClock({ now: Infinity, cloudSettings: settings }, cloudTime, Infinity);
}

/**
 * `cloudTime` on this host's clock, on the cloud's clock as the settings before it left it: the settings up
 * to the newest one it was stamped after (stampedAfter) are in the measure, those after it are not. It
 * happened by `by` (this host's clock).
 */
function cloudTimeOnThisClock(clock: CloudTimes, cloudTime: number, by: number): number {
  const read = cloudTime - (clock.cloudAheadMs ?? 0);
  const settings = clock.cloudSettings ?? [];
  let setSince = 0;
  for (let i = settings.length - 1; i >= 0; i--) {
    const setting = settings[i]!;
    if (stampedAfter(setting, cloudTime, read + setSince, by)) return read + setSince;
    setSince += setting.ms;
  }
  return read + setSince;
}

/**
 * Whether the cloud stamped `cloudTime` (`onThisClock` if so) after `setting`: at or after its `at`, and not
 * among the times seen before it. Where the setting does not tell (a record kept before `at` was), before
 * it, unless that would put it past `by`. Set back, the clock goes over times it stamped before: one past
 * `by` read as stamped after, by more than a clock can be ahead unmeasured, was stamped before, and seen
 * only after (the API down across a failover to a controller whose clock is behind).
 */
function stampedAfter(setting: CloudSetting, cloudTime: number, onThisClock: number, by: number): boolean {
  if (setting.at === undefined) return onThisClock + setting.ms > by;
  if (cloudTime < setting.at || (setting.seenBefore?.includes(cloudTime) ?? false)) return false;
  return !(setting.ms < 0 && onThisClock > by + UNMEASURED_AHEAD_MS);
}

/**
 * How far past the time it was seen a time the cloud stamped can be, its clock ahead by less than is
 * allowed for (cloudClock.ts), with a second or two of the measure's own error.
 */
const UNMEASURED_AHEAD_MS = CLOCKS_APART_MS + 5000;

/**
 * How long from `start` to `end` (both stamped by the cloud), seen ended at `seenAt` (this host's clock); null
 * for an end before the start (clocks that disagree). With the cloud's clock set since the start was seen,
 * each is read on the clock it was stamped on, where the record tells (`at`); it took no longer than until
 * it was seen ended.
 */
export function cloudDuration(clock: CloudTimes, start: number, end: number, seenAt: number): number | null {
  const settings = clock.cloudSettings ?? [];
  const told = settings.length > 0 && settings.every((s) => s.at !== undefined);
  const took = told ? startOnThisClock(clock, end) - startOnThisClock(clock, start) : end - start;
  if (took < 0) return null;
  if (settings.length === 0) return took;
  return Math.max(0, Math.min(took, seenAt - startOnThisClock(clock, start)));
}

/** Past the deadline, a poll that could not read what decides waits this long at most for the API to answer (less for a shorter deadline). */
const ANSWER_AWAITED_MS = 15 * 60_000;

/**
 * Applies the deadline to a judgement. It is judged by the watched thing's own times: something that
 * finished before the deadline gets its real verdict however late the daemon sees it, unless what would
 * confirm it stays unreadable ANSWER_AWAITED_MS past the deadline; something that finished after it, or
 * has not finished by then, ends as a timeout.
 *
 * `finishedAt`: when what this poll read says it finished (null: unfinished, or no time to tell).
 * `evidenceFinishedAt`: the same for the last document any poll read, used when this poll could not
 * confirm a finish that an earlier poll saw. `seenAt`: when a poll first saw that finish (this host's
 * clock), where known. `unread`: the read of what the watch follows failed, so that this poll cannot tell
 * whether it has finished. `ended`: what that finish was, in the words of a reason that names it ("its
 * events finished" unless given). `onThisClock`: the finishes are this host's times (when the server
 * showed an end), not the cloud's.
 */
export function withDeadline<R, M>(
  judged: Judgement<R>,
  clock: Clock,
  ends: { finishedAt: number | null; evidenceFinishedAt: number | null; seenAt?: number | null; unread: boolean; ended?: string; onThisClock?: boolean },
  readFailed: boolean,
  memory: M,
): Verdict<R, M> {
  const deadlineAt = clock.trackingSince + clock.deadlineMs;
  // A finish later than the poll that saw it is a cloud whose times run ahead of its own Date (a conductor
  // whose clock is fast, local time written as UTC), or ahead by less than is allowed for: it happened by
  // then, and no later, however late it is confirmed. Each on the cloud's clock as it stood when it was
  // stamped (cloudTimeOnThisClock).
  const seenBy = Math.min(clock.now, ends.seenAt ?? Infinity);
  const onThisClock = (time: number | null) => {
    if (time === null) return null;
    return Math.min(ends.onThisClock === true ? time : cloudTimeOnThisClock(clock, time, seenBy), seenBy);
  };
  if (judged.settled) {
    const finishedAt = onThisClock(ends.finishedAt);
    if (judged.outcome !== 'not_found' && finishedAt !== null && finishedAt > deadlineAt) {
      const late = formatDuration(finishedAt - clock.trackingSince);
      return {
        final: true,
        outcome: 'timeout',
        reason: `not finished within ${formatDuration(clock.deadlineMs)}: it ended ${late} after tracking began, as ${judged.outcome} (${judged.reason})`,
        pollFailed: readFailed,
        memory,
      };
    }
    return { final: true, outcome: judged.outcome, reason: judged.reason, pollFailed: readFailed, memory };
  }
  const pollFailed = readFailed || judged.pollFailed;
  if (clock.now >= deadlineAt) {
    const finishedAt = judged.confirming ? onThisClock(ends.evidenceFinishedAt) : null;
    // A poll that could not read the action cannot tell whether it finished in time (the contract judges
    // by its own times), nor one that could not read what confirms a finish in time: the API, down or
    // blipping at the deadline or at a start after downtime, is given a while to answer.
    const awaited = Math.min(clock.deadlineMs, ANSWER_AWAITED_MS);
    const waited = clock.now - Math.max(clock.failingSince ?? clock.now, deadlineAt);
    const unconfirmed = ends.unread || judged.pollFailed;
    const awaiting = unconfirmed && waited < awaited;
    const ended = ends.ended ?? 'its events finished';
    if (finishedAt === null || finishedAt > deadlineAt) {
      if (awaiting && finishedAt === null) {
        const reason = `${judged.reason} (past the deadline: judged by its own times once the API answers, or a timeout in ${formatDuration(awaited - waited)})`;
        return { final: false, reason, next: judged.next, confirming: judged.confirming, pollFailed, memory };
      }
      const reason =
        finishedAt !== null
          ? `not finished within ${formatDuration(clock.deadlineMs)}: ${ended} ${formatDuration(finishedAt - clock.trackingSince)} after tracking began`
          : ends.unread
            ? unreadTimeout(clock, deadlineAt, judged.standing ?? judged.reason)
            : `not finished ${formatDuration(clock.deadlineMs)} after tracking began: ${judged.standing ?? judged.reason}`;
      return { final: true, outcome: 'timeout', reason, pollFailed, memory };
    }
    // Finished in time, unconfirmed: a read that keeps failing (a policy that refuses it, a service behind the
    // API that is down) must not hold the watch, and `run --until-done`, for good.
    if (unconfirmed && !awaiting) {
      // A watch added for an action that had already ended finished before tracking began.
      const since = finishedAt - clock.trackingSince;
      const when = `${formatDuration(Math.abs(since))} ${since < 0 ? 'before' : 'after'} tracking began`;
      const reason = `not confirmed within ${formatDuration(clock.deadlineMs)} and ${formatDuration(awaited)} more: ${ended} ${when}, but ${judged.reason}`;
      return { final: true, outcome: 'timeout', reason, pollFailed, memory };
    }
    if (awaiting) {
      const reason = `${judged.reason} (past the deadline: ${ended} in time, judged once the API answers, or a timeout in ${formatDuration(awaited - waited)})`;
      return { final: false, reason, next: judged.next, confirming: judged.confirming, pollFailed, memory };
    }
  }
  return { final: false, reason: judged.reason, next: judged.next, confirming: judged.confirming, pollFailed, memory };
}

/**
 * The reason of a timeout whose action could not be read until the while past the deadline ran out: it may
 * well have finished in time (an API down for an hour), so the reason says that this is not known, and for
 * how long the polls failed, rather than that it did not finish.
 */
function unreadTimeout(clock: Clock, deadlineAt: number, failed: string): string {
  // This process's run of failures: after a restart the outage may be longer, never shorter.
  const failing = clock.now - (clock.failingSince ?? clock.now);
  return `not known to have finished within ${formatDuration(clock.deadlineMs)}: no poll could read it for the last ${formatDuration(failing)}, to ${formatDuration(clock.now - deadlineAt)} past the deadline; ${failed}`;
}
