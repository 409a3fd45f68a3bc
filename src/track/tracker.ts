// Auto-tracking (`track:`): on each pass, the actions of the tracked servers are listed and every new one
// becomes a watch in the state file. What is tracked, from when, and what was already handled is kept in
// the state file too (`tracking`), and saved with the watches it started, so a restart neither repeats
// nor loses one.
import type { Logger } from '../observability/logger.ts';
import type { EcsClient } from '../cloud/client.ts';
import { ApiError } from '../cloud/ApiError.ts';
import type { TrackSpec } from '../config/schema.ts';
import { dictionary } from '../data/dictionary.ts';
import type { InstanceActionSummary, ServerSummary } from '../model.ts';
import type { StateStore } from '../state/store.ts';
import type { ActionWatchRecord, TrackedProjectRecord, TrackedServerRecord } from '../state/types.ts';
import { actionKey, instanceActionKind } from '../watch/kinds/instanceAction.ts';
import { formatDuration } from '../watch/format.ts';
import { novaTimeMs } from '../cloud/time.ts';
import { baselineHorizon, cloudClockSet, CLOUD_CLOCK_MARGIN_MS, CURSOR_MARGIN_MS, discover, horizonAt, SEEN_KEPT_MS, timeText } from './discover.ts';

/** A server answers the API's own "not found" this often, over this long, before tracking it ends. */
const GONE_MIN_ANSWERS = 3;
const GONE_WINDOW_MS = 20_000;
/** `changes-since` on a server's actions exists from this microversion on. */
const CHANGES_SINCE_MINOR = 58;
/** From this microversion on Nova reads a server with read_deleted for its actions: a deleted one's are shown. */
const DELETED_ACTIONS_MINOR = 21;
/** How far a measure of the cloud's clock may be ahead of it: a `Date` has whole seconds, taken as the middle of one. */
const DATE_HALF_SECOND_MS = 500;
/** `changes-since` before any server: every server Nova still keeps a row of, deleted ones included. */
const EVER = new Date(0).toISOString();
/** Statuses of a deleted server, which only a `changes-since` listing shows. */
const DELETED = new Set(['DELETED', 'SOFT_DELETED']);

/** What a pass may use of the engine: its client, its retries, its error reporting and its concurrency. */
export interface TrackContext {
  client: EcsClient;
  store: StateStore;
  logger: Logger;
  /** `poll.deadline`, for entries that name none. */
  defaultDeadlineMs: number;
  /** One API read with the engine's retries. */
  read<V>(log: Logger, call: (signal: AbortSignal) => Promise<V>): Promise<V>;
  /** Counts and logs a read about `about` (a tracked server's or project's record) that failed after its retries; returns its message. */
  failed(log: Logger, about: object, err: unknown): string;
  /** Every read about `about` was answered: a failure logged before has ended. */
  answered(log: Logger, about: object): void;
  /** Runs `task` within the engine's concurrency limit. */
  limit<V>(task: () => Promise<V>): Promise<V>;
  /** The engine is stopping: what a read finds or fails from now on is not recorded (the next start lists again). */
  cancelled(): boolean;
  /**
   * This host's time as the engine judges by it (its now()), for the times the state keeps: read after an
   * answer, it has that answer's Date judge a step of the clock first, so that a time stamped now is not
   * moved afterwards with those kept before the step (back by as long as a VM was held still).
   */
  now(): number;
}

export interface TrackPassResult {
  /** Watches started by this pass. */
  discovered: number;
}

/** `{project}/{server}`: the key of a tracked server. */
function trackedKey(projectId: string, serverId: string): string {
  return `${projectId}/${serverId}`;
}

/**
 * One pass: the state made to match the entries (servers no entry covers any more are forgotten), the
 * projects tracked whole listed for new servers, then every tracked server's actions listed.
 */
export async function trackPass(entries: readonly TrackSpec[], ctx: TrackContext): Promise<TrackPassResult> {
  reconcile(entries, ctx);
  const projectEntries = entries.filter((e) => e.project === 'all');
  await Promise.all(projectEntries.map((entry) => ctx.limit(() => listProject(entry.projectId, entries, ctx))));
  const counts = await Promise.all(
    Object.values(ctx.store.tracking.servers)
      .filter((server) => server.endedAt === null)
      .map((server) => ctx.limit(() => trackServer(server, entryFor(entries, server)!, ctx))),
  );
  return { discovered: counts.reduce((sum, n) => sum + n, 0) };
}

/** The entry that tracks a server: the one listing it, else its project's `project: all`. */
function entryFor(entries: readonly TrackSpec[], server: { projectId: string; serverId: string }): TrackSpec | undefined {
  return (
    entries.find((e) => e.projectId === server.projectId && e.servers?.includes(server.serverId)) ??
    entries.find((e) => e.projectId === server.projectId && e.project === 'all')
  );
}

/** Records for the servers and projects the entries name; those no entry covers any more are forgotten. */
function reconcile(entries: readonly TrackSpec[], ctx: TrackContext): void {
  const { servers, projects } = ctx.store.tracking;
  let changed = false;
  for (const entry of entries) {
    if (entry.project === 'all') {
      projects[entry.projectId] ??= { projectId: entry.projectId, since: null, horizon: null, baseline: null, deletedAtBaseline: [], cursor: null, lastError: null };
    }
    for (const serverId of entry.servers ?? []) {
      const key = trackedKey(entry.projectId, serverId);
      if (servers[key] === undefined) {
        servers[key] = newTrackedServer(entry.projectId, serverId, null, null, null);
        changed = true;
      }
    }
  }
  for (const [key, server] of Object.entries(servers)) {
    if (entryFor(entries, server) !== undefined) continue;
    delete servers[key];
    changed = true;
  }
  for (const projectId of Object.keys(projects)) {
    if (entries.some((e) => e.project === 'all' && e.projectId === projectId)) continue;
    delete projects[projectId];
    changed = true;
  }
  if (changed) ctx.store.touchTracking();
}

function newTrackedServer(projectId: string, serverId: string, name: string | null, since: string | null, horizon: string | null): TrackedServerRecord {
  return {
    projectId, serverId, name, since, horizon, seen: dictionary(), cursor: null, ending: false,
    missingSince: null, missingAnswers: 0, endedAt: null, lastError: null,
  };
}

/**
 * Lists a project's servers. The first time (the baseline) all of them, each then tracked from when that
 * listing was sent (baselineHorizon), however much later its own actions are listed; afterwards those
 * changed since CURSOR_MARGIN_MS before the newest `updated` seen, deleted ones included, as Nova shows
 * them to `changes-since`. A server that appears later was created after
 * tracking began (or was missed), and is judged from the baseline's newest `updated`, so that its create
 * becomes a watch while older actions do not; one that appears deleted was created and deleted between two
 * listings (or while the daemon was stopped), and is judged alike.
 */
async function listProject(projectId: string, entries: readonly TrackSpec[], ctx: TrackContext): Promise<void> {
  const project = ctx.store.tracking.projects[projectId]!;
  const log = ctx.logger.child({ projectId, track: 'project' });
  const baseline = project.since === null;
  // On the monotonic clock: the cloud's time it stands for is read once the cloud has answered, by which
  // the client has measured how far its clock is from this host's.
  const sentMono = performance.now();
  let listed: ServerSummary[];
  let minor: number;
  // At the baseline, each server's `updated` as the live listing showed it first: the second listing (changed
  // since) shows a change made after the first had read the server, after the baseline was sent, by an action
  // that is new; a server it alone shows was created (or changed) since, and has none that tells.
  const updated = new Map<string, string | null>();
  try {
    if (baseline) {
      const live = await listServers(projectId, undefined, log, ctx);
      for (const server of live) if (!updated.has(server.id)) updated.set(server.id, server.updated);
      // Nova keeps showing a deleted server to `changes-since` until its row is archived: those deleted
      // since the newest change above are older than tracking too, and the baseline's newest `updated` must
      // count them, or a later listing would take them for servers deleted since.
      listed = [...live, ...(await listServers(projectId, changesSince(newestOf(live.map((s) => s.updated), null)) ?? EVER, log, ctx))];
    } else {
      // A server's `updated` is stamped by whichever host saved it last (API, conductor, compute), by its
      // clock, and its row may be readable only after: one can show up older than the newest seen. Known
      // servers (ended ones too, kept while the entry is) are passed over, so the margin counts none twice.
      listed = await listServers(projectId, sinceCursor(project.cursor, ctx) ?? EVER, log, ctx);
    }
    minor = minorOf(await ctx.client.microversion());
  } catch (err) {
    // A read that stopping cut short (its retry not sent) failed for no fault of the cloud's.
    if (ctx.cancelled()) return;
    // Tracking was asked for now: what the project's servers do from now on is the entry's, however long
    // the cloud fails (as for a server's first listing, trackServer).
    if (baseline) project.horizon ??= timeText(cloudTimeAt(sentMono, ctx));
    project.lastError = ctx.failed(log, project, err);
    ctx.store.touchTracking();
    return;
  }
  if (ctx.cancelled()) return;
  const now = new Date(ctx.now()).toISOString();
  const newest = newestOf(listed.map((s) => s.updated), project.cursor);
  const sentAt = earliestCloudTimeAt(sentMono, ctx);
  for (const server of listed) {
    const key = trackedKey(projectId, server.id);
    const known = ctx.store.tracking.servers[key];
    if (known !== undefined) {
      known.name = server.name || known.name;
      continue;
    }
    if (DELETED.has(server.status) && (baseline || !trackDeleted(server, project, minor))) continue;
    // At the baseline a server is tracked from it, its first listing of actions yet to come; later, from
    // the project's baseline, as one created since.
    ctx.store.tracking.servers[key] = baseline
      ? newTrackedServer(projectId, server.id, server.name || null, null, baselineHorizon({ sentAt, updated: updated.get(server.id) ?? null, failedAt: project.horizon }))
      : newTrackedServer(projectId, server.id, server.name || null, now, project.baseline);
    if (!baseline) log.info({ serverId: server.id, server: server.name, status: server.status }, 'new server in a tracked project; tracking its actions');
  }
  if (!baseline) {
    forgetEnded(projectId, new Set(listed.map((s) => s.id)), entries, ctx);
  } else {
    const edge = novaTimeMs(newest);
    const deletedAtBaseline = listed.filter((s) => DELETED.has(s.status) && novaTimeMs(s.updated) === edge).map((s) => s.id);
    Object.assign(project, { since: now, baseline: newest, deletedAtBaseline });
    // Listed twice (live, then changed since), and deleted ones counted only to be told apart.
    log.info({ servers: new Set(listed.filter((s) => !DELETED.has(s.status)).map((s) => s.id)).size }, 'tracking every server of the project');
  }
  Object.assign(project, { cursor: newest, lastError: null });
  ctx.answered(log, project);
  ctx.store.touchTracking();
}

/**
 * Forgets the servers of a project tracked whole whose tracking ended (deleted) and that the listing of what
 * changed since the cursor's margin no longer shows: Nova lists a deleted server to `changes-since` by the
 * time it was deleted, which the cursor has passed, so none will show it again to be taken for a new one.
 * Kept, every throwaway server of a busy project stayed in the state and in `check` for good. One that a
 * `servers:` entry names is that entry's, kept while it is.
 */
function forgetEnded(projectId: string, listed: ReadonlySet<string>, entries: readonly TrackSpec[], ctx: TrackContext): void {
  const { servers } = ctx.store.tracking;
  for (const [key, server] of Object.entries(servers)) {
    if (server.projectId !== projectId || server.endedAt === null || listed.has(server.serverId)) continue;
    if (entries.some((e) => e.projectId === projectId && e.servers?.includes(server.serverId))) continue;
    delete servers[key];
  }
}

/** Every page of the project's servers, those changed since `since` (deleted ones included) if given. */
async function listServers(projectId: string, since: string | undefined, log: Logger, ctx: TrackContext): Promise<ServerSummary[]> {
  const listed = [];
  let marker: string | undefined;
  do {
    const page = await ctx.read(log, (signal) => ctx.client.listServers(projectId, { changesSince: since, marker }, signal));
    listed.push(...page.servers);
    marker = nextPage(page.next, marker, `the servers of project ${projectId}`);
  } while (marker !== undefined && !ctx.cancelled());
  return listed;
}

/**
 * Whether to track a server that a later listing shows deleted: deleted after the baseline, which counted
 * every deletion before it (listed again while `changes-since` reaches back to it), and its actions shown.
 * They show its create and its delete, and its own "not found" then ends its tracking. `updated` has whole
 * seconds: within the baseline's newest second, only the servers the baseline saw deleted were.
 */
function trackDeleted(server: ServerSummary, project: TrackedProjectRecord, minor: number): boolean {
  const updated = novaTimeMs(server.updated);
  const baseline = novaTimeMs(project.baseline);
  if (updated === null) return false;
  if (baseline !== null && (updated < baseline || (updated === baseline && project.deletedAtBaseline.includes(server.id)))) return false;
  return server.status !== 'DELETED' || minor >= DELETED_ACTIONS_MINOR;
}

/** One server: its name once, its new actions as watches, and whether it is gone. */
async function trackServer(server: TrackedServerRecord, entry: TrackSpec, ctx: TrackContext): Promise<number> {
  const log = ctx.logger.child({ projectId: server.projectId, serverId: server.serverId, track: 'server' });
  const ref = { projectId: server.projectId, serverId: server.serverId };
  try {
    // The name, for the names of its watches; a server the API does not know is only counted.
    if (server.name === null && server.since === null) {
      const found = await ctx.read(log, (signal) => ctx.client.getServer(ref, signal));
      if (found === null) return noteMissing(server, log, ctx);
      server.name = found.name ?? null;
    }
    const version = await ctx.client.microversion();
    const useCursor = server.cursor !== null && minorOf(version) >= CHANGES_SINCE_MINOR;
    const listed = await listActions(server, useCursor ? sinceCursor(server.cursor, ctx) : undefined, log, ctx);
    if (ctx.cancelled()) return 0;
    // A server named in a `servers:` entry is listed by no project to keep its name: read again for the
    // watches a new action starts, which would otherwise carry the name it had when tracking began. A read
    // that fails leaves the name it has; it says nothing of the listing.
    const horizon = novaTimeMs(server.horizon) ?? -Infinity;
    const fresh = listed.some((a) => !(a.request_id in server.seen) && (novaTimeMs(a.start_time) ?? Infinity) >= horizon);
    if (server.since !== null && fresh && entry.servers?.includes(server.serverId)) {
      const now = await ctx.read(log, (signal) => ctx.client.getServer(ref, signal)).catch(() => null);
      if (now?.name) server.name = now.name;
    }
    const discovered = record(server, entry, listed, log, ctx);
    // After a delete, the server itself says when it is gone: its last actions have been listed by then.
    if (server.ending) {
      const after = await ctx.read(log, (signal) => ctx.client.getServer(ref, signal));
      if (after === null) return discovered + noteMissing(server, log, ctx);
    }
    Object.assign(server, { missingSince: null, missingAnswers: 0, lastError: null });
    const behind = horizonAhead(server, ctx);
    if (behind === null) ctx.answered(log, server);
    else server.lastError = ctx.failed(log, server, new Error(behind));
    ctx.store.touchTracking();
    return discovered;
  } catch (err) {
    if (ctx.cancelled()) return 0;
    if (err instanceof ApiError && err.kind === 'not_found') return noteMissing(server, log, ctx);
    // Tracking was asked for now: what starts from now on is the entry's, however long the cloud fails. The
    // cloud's time as this host reckons it, which may be up to 30 s off unseen: drawn early, as for a first
    // listing that shows nothing (discover.ts), lest a clock behind this host's lose the first actions.
    if (server.since === null) server.horizon ??= horizonAt(ctx.client.clock.now());
    server.lastError = ctx.failed(log, server, err);
    ctx.store.touchTracking();
    return 0;
  }
}

/**
 * The server's actions, newest first, `changesSince` then if given. From 2.58 Nova answers them a page at a
 * time (CONF.api.max_limit, 1000 unless its operators set fewer): more new actions between two passes than
 * a page holds, after a stop of hours or on a cloud with a small limit, lost all but the newest page's, and
 * the cursor then passed over the rest. The pages after the first are read while the last one read still
 * reaches back to the horizon: what is older was never new. Nova orders them by their rows' created_at, and
 * a start_time is its request's, so an action that started after the horizon but whose row was written
 * later than a younger one's sorts past an older one: the pages are read on CURSOR_MARGIN_MS past it. A first
 * listing draws the horizon at the newest start it shows (with none yet, or one later than that), and reads
 * on while a page ends at that start: an action of the same second left unread is not older than the
 * horizon, and the listings after would take it for new.
 */
async function listActions(server: TrackedServerRecord, changesSince: string | undefined, log: Logger, ctx: TrackContext): Promise<InstanceActionSummary[]> {
  const ref = { projectId: server.projectId, serverId: server.serverId };
  const horizon = novaTimeMs(server.horizon);
  const listed: InstanceActionSummary[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.read(log, (signal) => ctx.client.listInstanceActions(ref, signal, { changesSince, marker }));
    listed.push(...page.actions);
    const newest = Math.max(...listed.map((a) => novaTimeMs(a.start_time) ?? -Infinity));
    const reach = Math.min(horizon === null ? Infinity : horizon - CURSOR_MARGIN_MS, newest);
    const oldest = novaTimeMs(page.actions.at(-1)?.start_time ?? null) ?? Infinity;
    marker = oldest >= reach ? nextPage(page.next, marker, `the actions of server ${server.serverId}`) : undefined;
  } while (marker !== undefined && !ctx.cancelled());
  return listed;
}

/**
 * The marker of the page after one asked for with `asked`, undefined after the last. A page whose next link
 * is back to itself ignored its marker (a cache or gateway that keeps part of the URL, not the query): read
 * again and again, it held the pass for good, every watch's polls with it; the pages after it are out of
 * reach, and the listing fails saying so.
 */
function nextPage(next: string | null, asked: string | undefined, what: string): string | undefined {
  if (next !== null && next === asked) {
    throw new Error(`the page of ${what} after ${asked} links to itself again: something between the daemon and the cloud (a cache, a gateway) answers without the query's marker, and the pages after the first cannot be read`);
  }
  return next ?? undefined;
}

/** Keeps what a listing showed and starts a watch for each new action the entry asks for. */
function record(server: TrackedServerRecord, entry: TrackSpec, listed: InstanceActionSummary[], log: Logger, ctx: TrackContext): number {
  const now = new Date(ctx.now()).toISOString();
  const began = server.since === null;
  const { next, found, skipped } = discover(server, listed, entry.actions === undefined ? null : new Set(entry.actions), now, ctx.client.clock.now());
  Object.assign(server, next);
  if (began) log.info({ server: server.name, horizon: server.horizon }, 'tracking began; actions from now on become watches');
  if (skipped.length) log.debug({ actions: skipped.map((a) => `${a.action} ${a.request_id}`) }, 'new actions outside the entry\'s actions filter');
  let started = 0;
  for (const action of found) {
    const target = {
      projectId: server.projectId,
      serverId: server.serverId,
      requestId: action.request_id,
      name: `${action.action} ${server.name || server.serverId}`,
      deadlineMs: entry.deadline ?? ctx.defaultDeadlineMs,
      notify: entry.notify,
    };
    const key = actionKey(target);
    // The watch file may already watch it: that watch is the one, with its own settings.
    if (ctx.store.get(key) !== undefined) continue;
    // Its deadline counts from its start, as this host's clock had it, not from when a pass found it: one
    // started while the daemon was stopped for hours is that much older (a timeout then says so).
    const startedAt = novaTimeMs(action.start_time);
    const since = startedAt === null ? now : new Date(Math.min(Date.parse(now), startedAt - ctx.client.clock.aheadMs)).toISOString();
    const watch: ActionWatchRecord = {
      ...instanceActionKind.newRecord(target, since),
      discovered: { notify: entry.notify ?? null, deadline: target.deadlineMs },
    };
    ctx.store.set(key, watch);
    started++;
    log.info({ watch: target.name, requestId: action.request_id, action: action.action }, 'new action; watching it');
  }
  ctx.store.touchTracking();
  return started;
}

/**
 * What to say when the server's horizon lies ahead of the cloud's clock now (as the client measures it) by
 * more than the clocks may be apart unseen: the cloud's clock was set back further than the ids of handled
 * actions are kept before the horizon (SEEN_KEPT_MS, a day), or before the server's first listing, so the
 * horizon was not moved back with it (discover.ts cloudClockSet); or a server a tracked project found since
 * the setting was given the project's line, drawn on the clock before it; or an API host stamped an action
 * that far ahead. Every action it stamps until
 * its clock is past the horizon again is taken for older than tracking and becomes no watch: said as what it
 * is, a failure of the server's tracking (counted, so alerted on, and in `check`), rather than lose them
 * unsaid; null while the horizon is behind the cloud's clock.
 */
function horizonAhead(server: TrackedServerRecord, ctx: TrackContext): string | null {
  const horizon = novaTimeMs(server.horizon);
  if (server.since === null || horizon === null) return null;
  const ahead = horizon - ctx.client.clock.now();
  if (ahead <= CLOUD_CLOCK_MARGIN_MS) return null;
  return `the cloud's clock is ${formatDuration(ahead)} behind the line auto-tracking draws for this server (${server.horizon}, from the newest action start it has seen): ` +
    `it was set back further than auto-tracking can follow (${formatDuration(SEEN_KEPT_MS)}; not at all for a server not listed yet, or one a tracked project found since: its line is the project's), or an API host stamped an action that far ahead, and the actions stamped until it is past that line become no watches: ` +
    'set the clocks of the cloud\'s controllers right, or take the server out of track: and back in to track it afresh';
}

/**
 * The cloud's clock was set by `byMs` (the engine hears it from hostClock.ts): every tracked server's times
 * kept on it are moved to it as it now stands (discover.ts cloudClockSet says why, and how far). `lines`
 * false moves only the starts of the handled actions: a setting forward, or one taken back.
 */
export function trackCloudClockSet(store: StateStore, byMs: number, lines: boolean): void {
  const servers = Object.values(store.tracking.servers);
  if (servers.length === 0) return;
  for (const server of servers) Object.assign(server, cloudClockSet(server, byMs, lines));
  store.touchTracking();
}

/** One more of the API's own "not found" for the server; tracking ends once it has held long enough. */
function noteMissing(server: TrackedServerRecord, log: Logger, ctx: TrackContext): number {
  // Nova's own 404 is an answer: a failure told before it has ended, and no longer `check`'s LAST ERROR.
  ctx.answered(log, server);
  server.lastError = null;
  const now = ctx.now();
  server.missingSince ??= new Date(now).toISOString();
  server.missingAnswers += 1;
  if (server.missingAnswers >= GONE_MIN_ANSWERS && now - Date.parse(server.missingSince) >= GONE_WINDOW_MS) {
    server.endedAt = new Date(now).toISOString();
    // One that neither a read of it nor a project's listing ever showed (it has no name) was never there:
    // most likely an id mistyped, or of another project. One a project listed, gone before its actions
    // answered (below 2.21 Nova hides a deleted server's), is a server gone, and its id no one's to check.
    if (neverFound(server)) log.warn({ server: server.name }, 'the server was never found (the API answers 404 for it); tracking it ended: check the id in track[].servers and its projectId');
    else log.info({ server: server.name }, 'the server is gone; tracking it ended');
  }
  ctx.store.touchTracking();
  return 0;
}

/** Whether the server was never seen by the API: no listing of its actions answered, and nothing gave it a name. */
export function neverFound(server: Pick<TrackedServerRecord, 'since' | 'name'>): boolean {
  return server.since === null && server.name === null;
}

/** The cloud's time (epoch ms, as the client reckons it) at `mono`, a moment of this host's monotonic clock. */
function cloudTimeAt(mono: number, ctx: TrackContext): number {
  return ctx.client.clock.now() - (performance.now() - mono);
}

/**
 * The cloud's time at `mono`, also when the client's last measure of its clock is under the 30 s it allows for
 * (CLOCKS_APART_MS): baselineHorizon tells a server's `updated` stamped after the listing was sent (a page read
 * seconds after the first) from one before it, and with this host's clock a few seconds ahead taken as
 * agreeing, it took a change made since for one before, and drew the line after the new action that made it.
 * A measure is a `Date` of whole seconds taken as the middle of its second (cloudClock.ts): within a second of
 * agreeing it tells nothing, and the clocks are taken to agree; beyond, the earliest it allows, as a time drawn
 * early can only take an older change for a new one.
 */
function earliestCloudTimeAt(mono: number, ctx: TrackContext): number {
  const { measuredMs, aheadMs } = ctx.client.clock;
  const apart = measuredMs !== undefined && Math.abs(measuredMs) >= 2 * DATE_HALF_SECOND_MS;
  return cloudTimeAt(mono, ctx) + (apart ? measuredMs - DATE_HALF_SECOND_MS - aheadMs : 0);
}

/**
 * `changes-since` as Nova reads it: an ISO time with a zone, `marginMs` before `apiTime`; milliseconds cut,
 * so the bound is inclusive.
 */
function changesSince(apiTime: string | null, marginMs = 0): string | undefined {
  const ms = novaTimeMs(apiTime);
  return ms === null ? undefined : new Date(ms - marginMs).toISOString();
}

/**
 * `changes-since` for a kept cursor: CURSOR_MARGIN_MS before it, and never after the cloud's time now (as the
 * client reckons it). A cursor stamped before the cloud's clock was set back further than the margin (a
 * failover to a controller whose clock is behind, NTP putting one right) lies ahead of every time stamped
 * since, and asked from, it hid the actions started after the setting until the clock caught up with it.
 */
function sinceCursor(cursor: string | null, ctx: TrackContext): string | undefined {
  const ms = novaTimeMs(cursor);
  return ms === null ? undefined : changesSince(timeText(Math.min(ms, ctx.client.clock.now())), CURSOR_MARGIN_MS);
}

function newestOf(times: readonly (string | null)[], kept: string | null): string | null {
  let best = kept;
  for (const t of times) if (t !== null && (novaTimeMs(t) ?? -Infinity) > (novaTimeMs(best) ?? -Infinity)) best = t;
  return best;
}

/** The minor of "2.N"; 0 without a microversion. */
function minorOf(version: string | null): number {
  const match = /^2\.(\d+)$/.exec(version ?? '');
  return match === null ? 0 : Number(match[1]);
}

/** The watches auto-tracking started, as the engine polls them: those the watch file does not list. */
export function discoveredTargets(store: StateStore, inFile: ReadonlySet<string>, entries: readonly TrackSpec[]) {
  const targets = [];
  for (const [key, record] of store.records()) {
    if (!('discovered' in record) || record.discovered === undefined || inFile.has(key)) continue;
    // Told to the notifiers its entry names now, while the entry is there: one renamed since the action was
    // found would otherwise be a name no notifier has, and the watch would end telling no one.
    const entry = entryFor(entries, record);
    const notify = entry === undefined ? record.discovered.notify : (entry.notify ?? null);
    const made = targetOfRecord.get(record);
    const target = made !== undefined && made.notify === (notify ?? undefined) ? made : discoveredTarget(record, record.discovered.deadline, notify);
    if (target !== made) targetOfRecord.set(record, target);
    targets.push(target);
  }
  return targets;
}

/**
 * Each discovered record's target, made once (again when its entry's `notify` changes): the engine keeps
 * what it works out per watch (its key, when its early warning is due) by target, which a target made anew
 * at every pass would lose.
 */
const targetOfRecord = new WeakMap<ActionWatchRecord, ReturnType<typeof discoveredTarget>>();

function discoveredTarget(record: ActionWatchRecord, deadline: number, notify: string[] | null) {
  return {
    projectId: record.projectId,
    serverId: record.serverId,
    requestId: record.requestId,
    name: record.name ?? undefined,
    deadlineMs: deadline,
    notify: notify ?? undefined,
  };
}
