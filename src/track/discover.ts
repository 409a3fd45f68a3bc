// Which of a server's listed actions are new: pure, so that "exactly the actions that started after
// tracking began, each once" is a table of cases rather than a property of the I/O around it.
//
// Tracking begins with the first listing that gets an answer: whatever it shows is older, and the
// newest start_time in it is the horizon; but when a first listing failed, its time (the cloud's, as this
// host reckons it) was kept as the horizon, and what the listing that answers shows started from it on is
// new, as it is from the horizon a project's baseline set for the servers it found (baselineHorizon); such a
// horizon is kept unless the first listing that answers draws an earlier one. Later, an action is new when
// its request id was never handled and it did not start before the horizon. Only the API's own times are
// compared with each other, so the clocks of the daemon and of the cloud never meet, but for a first listing
// that shows no action and for a project's baseline: the horizon is the cloud's time then (this host's, less
// how far the cloud is behind), less a minute for the 30 s within which the two clocks count as agreeing.
// The handled ids are kept from a day before the horizon on (SEEN_KEPT_MS): a bounded set, and what lets
// the line be moved back with the cloud's clock (cloudClockSet).
import type { InstanceActionSummary } from '../model.ts';
import { novaTimeMs } from '../cloud/time.ts';
import { dictionary } from '../data/dictionary.ts';
import type { TrackedServerRecord } from '../state/types.ts';

/** How far behind the newest action's start the horizon trails: enough for a listing that shows an action late. */
export const SEEN_MARGIN_MS = 60 * 60_000;
/**
 * How far before the horizon the handled ids are kept, and so how far back a setting of the cloud's clock
 * can move the horizon (cloudClockSet): an action older than the horizon is told from a new one by its id
 * alone once the clock stamps times below the horizon again, and one whose id was let go would be taken for
 * new. A day covers a controller whose clock runs on any local time taken for UTC (up to 14 h off), and a
 * failover between two such; a server's actions of a day are a few, or some hundreds on a busy one.
 */
export const SEEN_KEPT_MS = 24 * 60 * 60_000;
/**
 * How far before the newest `updated_at` (`updated` for a project's servers) seen a listing asks for what
 * changed since (tracker.ts). Nova
 * writes an action's first `updated_at` as its request's time, which its row may become readable after,
 * and later ones by the compute hosts' clocks: an action with no event to move it (a local delete, a lock)
 * can show up older than one already seen. The handled ids, kept far longer, keep it from counting twice.
 */
export const CURSOR_MARGIN_MS = 10 * 60_000;
/**
 * How far before the cloud's time, as this host reckons it, a horizon drawn by it lies (a first listing that
 * shows no action, a project's baseline): the clocks count as agreeing within 30 s (CLOCKS_APART_MS), and a
 * line drawn early can only take an older action for new, where one drawn late loses new ones.
 */
export const CLOUD_CLOCK_MARGIN_MS = 60_000;

export type Tracked = Pick<TrackedServerRecord, 'since' | 'horizon' | 'seen' | 'cursor' | 'ending'>;

export interface Discovery {
  /** The tracked server after the listing. */
  next: Tracked;
  /** The actions to watch, oldest first. */
  found: InstanceActionSummary[];
  /** New actions the entry's `actions:` filter left out. */
  skipped: InstanceActionSummary[];
}

/**
 * The new actions of one listing (the newest page, or those changed since `cursor`), and the state to keep.
 * `filter` is the entry's `actions:`, null for every action; `now` (ISO) marks when tracking begins, and
 * `cloudNow` is the same moment on the cloud's clock, as the client measures it (epoch ms).
 */
export function discover(state: Tracked, listed: readonly InstanceActionSummary[], filter: ReadonlySet<string> | null, now: string, cloudNow: number): Discovery {
  const seen = dictionary<string>(Object.entries(state.seen));
  const found: InstanceActionSummary[] = [];
  const skipped: InstanceActionSummary[] = [];
  const baseline = state.since === null;
  const horizon = novaTimeMs(state.horizon);
  const sorted = [...listed].sort(byStart);
  for (const action of sorted) {
    if (action.request_id in seen) continue;
    const start = novaTimeMs(action.start_time);
    const older = horizon !== null && start !== null && start < horizon;
    // Older than tracking: never a watch, and no need to remember it.
    if (!baseline && older) continue;
    seen[action.request_id] = action.start_time ?? '';
    // A first listing shows what is older than tracking, but what started after a horizon set before
    // tracking began (a failed first listing's time, a project's baseline): the cloud's outage, or the wait
    // for this listing, must not cost those actions.
    if (baseline && (horizon === null || older || start === null)) continue;
    (filter === null || filter.has(action.action) ? found : skipped).push(action);
  }
  const newest = newestStart(seen);
  const newestAction = sorted.at(-1);
  const isNewest = newestAction !== undefined && (newest === null || (novaTimeMs(newestAction.start_time) ?? newest) >= newest);
  // Nova keeps whole seconds (MySQL) and lists the newest first: a delete in the same second as the action
  // before it is the newest all the same.
  const deleted = newestAction !== undefined && sorted.some((a) => a.action === 'delete' && byStart(a, newestAction) === 0);
  // A horizon set before tracking began stays, but never later than what this listing alone draws: one from
  // a project's baseline can end with the second of a server's `updated`, which a listing within it has not
  // seen out, and an action that starts after the listing and that it did not show is new.
  const drawn = newest ?? cloudNow - CLOUD_CLOCK_MARGIN_MS;
  const nextHorizon = baseline
    ? (horizon !== null && horizon <= drawn ? state.horizon : timeText(drawn))
    : later(state.horizon, newest === null ? null : newest - SEEN_MARGIN_MS);
  return {
    next: {
      since: state.since ?? now,
      horizon: nextHorizon,
      seen: keepFrom(seen, novaTimeMs(nextHorizon)),
      cursor: newestUpdate(state.cursor, listed),
      ending: isNewest ? deleted : state.ending,
    },
    found,
    skipped,
  };
}

/**
 * The horizon of tracking asked for at `cloudMs`, the cloud's time as the client reckons it: drawn
 * CLOUD_CLOCK_MARGIN_MS early, as the clocks may be that far apart unseen.
 */
export function horizonAt(cloudMs: number): string {
  return timeText(cloudMs - CLOUD_CLOCK_MARGIN_MS);
}

/**
 * The horizon of a server that a project's baseline (its first listing of servers that answers, tracker.ts)
 * found: tracking the project began then, but the server's own first listing of actions comes later (in the
 * same pass after hundreds of others under `poll.rateLimit`, a pass later, or after a restart), and an action
 * started in between, taken by that listing for older, would be lost. `sentAt` is the cloud's time when the
 * baseline's listing was sent (epoch ms, by the client's last measure of its clock once a second or more
 * apart, also within the 30 s it otherwise takes for agreeing: tracker.ts earliestCloudTimeAt), `updated` the server's `updated` in its
 * live listing (not a later change: see listProject), and `failedAt` the time a listing of the servers that
 * failed before it kept.
 *
 * Nova stamps no time of its own on a listing, so the line is the cloud's time less CLOUD_CLOCK_MARGIN_MS:
 * drawn late, it would lose new actions; early, it can only take older ones for new. The API's own times
 * trim those: an action's start_time is its request's, and Nova's compute API saves the server as it records
 * the action (the task_state, or the lock), which stamps `updated` after it, so an action that changed the
 * server and started before the listing started no later than the `updated` it shows. `updated` has whole
 * seconds, and the action that last touched a server usually shares its second: the line is the second after
 * (the price: a new action on that server in that same second, after the listing; the other way, the
 * server's last action would become a watch at the start). The two times of that second are the same API
 * host's; an `updated` a compute host stamped later is on its own clock, and one running ahead would hide
 * an action started within that much after the listing: NTP keeps it to milliseconds. What is left, watched,
 * are the actions of the minute before that change no server record (attach_volume, attach_interface,
 * trigger_crash_dump). The server's `updated` alone would watch every such action of a server unchanged for
 * months. The project's newest `updated` (its `baseline`, which judges a server found later) is no bound:
 * read over pages and a second listing, it can be later than the page that showed this server, and an
 * action started between is new.
 *
 * A listing that failed kept its time: tracking was asked for then (as trackServer keeps a failed first
 * listing's), and what the servers did during the outage is new; their `updated` may be that, so only the
 * time counts, less the margin.
 */
export function baselineHorizon(at: { sentAt: number; updated: string | null; failedAt: string | null }): string {
  const failed = novaTimeMs(at.failedAt);
  if (failed !== null) return horizonAt(failed);
  const updated = novaTimeMs(at.updated);
  // An `updated` from a second after the one the listing was sent in is a change made since, which a page
  // read after the first shows (a listing of many pages takes seconds): the action that made it may have
  // started after the send, and is new. It draws no line.
  const afterUpdate = updated !== null && updated < secondAfter(at.sentAt) ? secondAfter(updated) : -Infinity;
  return timeText(Math.max(at.sentAt - CLOUD_CLOCK_MARGIN_MS, afterUpdate));
}

/** The start of the second after the one `ms` is in: Nova's times have whole seconds. */
const secondAfter = (ms: number) => Math.floor(ms / 1000) * 1000 + 1000;

function keepFrom(seen: Record<string, string>, horizon: number | null): Record<string, string> {
  if (horizon === null) return seen;
  return dictionary(Object.entries(seen).filter(([, start]) => (novaTimeMs(start) ?? Infinity) >= horizon - SEEN_KEPT_MS));
}

/**
 * The tracked server once the cloud's clock was set by `byMs` (hostClock.ts finds it from the `Date` of its
 * answers): its horizon, cursor and the starts of the handled actions are on the cloud's clock, and are kept
 * on it as it now stands, so that the actions it stamps from now on are judged against the line, and the
 * newest start that draws it, as the clock now reads.
 *
 * Set back (a failover to a controller whose clock is behind, one kept in local time taken for UTC), the
 * cloud stamps times that lie behind the horizon: left where it was, it took every action stamped until the
 * clock had caught up with it (8 h for a clock on UTC+8) for older than tracking, and none became a watch.
 * Moved back, the horizon lets older actions that started within `byMs` before it look new again: those
 * are told by their ids, kept SEEN_KEPT_MS before the horizon. A setting further back than that is left
 * alone, not to take older actions for new, and tracker.ts says it as a failure of the server's tracking
 * until the clock is past the line again.
 *
 * Set forward (`lines` false: so is the taking back of a setting forward that was this machine held
 * still, hostClock.ts onHeldStill), only the starts move: an action stamped just before the setting and not
 * listed yet lies between the line and the clock as set, and is new; the next listing shows it, and the
 * newest start, moved, then draws the line on. The cursor, left behind the clock, reads it too.
 */
export function cloudClockSet(state: Tracked, byMs: number, lines: boolean): Pick<Tracked, 'horizon' | 'seen' | 'cursor'> {
  const { horizon, seen, cursor } = state;
  // Before its first listing a server has no handled ids to tell older actions by: its line (a failed
  // listing's time, a project's baseline) stays, and a setting back that puts the clock behind it is said
  // once that listing has drawn the line.
  if (state.since === null || Math.abs(byMs) > SEEN_KEPT_MS) return { horizon, seen, cursor };
  const moved = (time: string | null) => {
    const ms = novaTimeMs(time);
    return ms === null ? null : timeText(ms + byMs);
  };
  // The line the newest start draws, which a setting forward left to the next listing: moved from the line
  // as it stood, settings to and fro (answers by turns from controllers whose clocks differ) while no
  // listing answers would draw it back further each time, past the ids kept.
  const newest = newestStart(seen);
  return {
    horizon: lines ? moved(later(horizon, newest === null ? null : newest - SEEN_MARGIN_MS)) : horizon,
    // A start the API did not give stays empty: it is kept for good, as before.
    seen: dictionary(Object.entries(seen).map(([id, start]) => [id, moved(start) ?? start])),
    cursor: lines ? moved(cursor) : cursor,
  };
}

/** The newest start of the handled actions (epoch ms), null with none known. */
function newestStart(seen: Record<string, string>): number | null {
  const starts = Object.values(seen).map(novaTimeMs).filter((t): t is number => t !== null);
  return starts.length ? Math.max(...starts) : null;
}

/** The later of a kept API time and a computed one, as the API would write it. */
function later(kept: string | null, computed: number | null): string | null {
  const keptMs = novaTimeMs(kept);
  if (computed === null || (keptMs !== null && keptMs >= computed)) return kept;
  return timeText(computed);
}

/** The newest `updated_at` (2.58+) of the listing and the cursor before it, as the API wrote it. */
function newestUpdate(cursor: string | null, listed: readonly InstanceActionSummary[]): string | null {
  let best = cursor;
  for (const action of listed) {
    const updated = typeof action['updated_at'] === 'string' ? action['updated_at'] : null;
    if (updated !== null && (novaTimeMs(updated) ?? -Infinity) > (novaTimeMs(best) ?? -Infinity)) best = updated;
  }
  return best;
}

function byStart(a: InstanceActionSummary, b: InstanceActionSummary): number {
  return (novaTimeMs(a.start_time) ?? Infinity) - (novaTimeMs(b.start_time) ?? Infinity);
}

/** A computed time in Nova's own form (`2026-11-26T18:00:00.000000`), so that kept times all read alike. */
export function timeText(ms: number): string;
export function timeText(ms: number | null): string | null;
export function timeText(ms: number | null): string | null {
  return ms === null ? null : `${new Date(ms).toISOString().slice(0, 23)}000`;
}
