// The default kind: an instance action of Nova / Huawei Cloud ECS, named by server and request id.
import { ApiError } from '../../cloud/ApiError.ts';
import { novaTimeMs } from '../../cloud/time.ts';
import { dictionary } from '../../data/dictionary.ts';
import type { InstanceAction, WatchRef } from '../../model.ts';
import { sameFinish } from '../eventsFinished.ts';
import type { ActionWatchRecord } from '../../state/types.ts';
import { cloudSetting, rememberLookup } from '../judgement.ts';
import { memoryOf, rememberMigrations, toRecordFields, type WatchMemory } from '../memory.ts';
import { actionProgress } from '../progress.ts';
import { requestHint, serverIdHint } from '../requestHint.ts';
import {
  decide, failedRead, judgedByEvents, NOTHING_READ, type ActionListObservation, type ActionObservation, type MigrationsObservation, type Observations,
  type Read, type ServerObservation, type Verdict,
} from '../verdict.ts';
import { keepChanges } from '../../state/keepChanges.ts';
import type { PollContext, PollResult, WatchKindModule, WatchTarget } from './types.ts';

type ActionTarget = Extract<WatchTarget, { serverId: string }>;
type Poll = PollContext<ActionTarget, ActionWatchRecord>;

/** A poll reads the action, the server, the action again, the action list and the migrations at most. */
const MAX_READS_PER_POLL = 5;
/**
 * Answers to GET /os-migrations that refuse it rather than fail: a JSON 403 is Nova's policy
 * (os_compute_api:os-migrations:index, admin by default), which holds for these credentials. Nova's
 * controller answers no 404 and, for this query, no 400, so those come from in front of it, as an HTML
 * page does (gateway): they may be blips, and count only when repeated (memory.ts).
 */
const MIGRATIONS_REFUSED = new Set<ApiError['kind']>(['forbidden', 'not_found', 'foreign_not_found', 'bad_request', 'gateway']);

export const instanceActionKind: WatchKindModule<ActionTarget, ActionWatchRecord, InstanceAction | null> = {
  key: (ref) => actionKey(ref as WatchRef),
  logFields: (ref) => ({ requestId: ref.requestId, serverId: ref.serverId, projectId: ref.projectId }),
  label: (ref) => ({ id: ref.requestId, where: ref.serverId }),
  newRecord: (target, trackingSince) => ({
    projectId: target.projectId,
    serverId: target.serverId,
    requestId: target.requestId,
    name: target.name ?? null,
    trackingSince,
    everFound: false,
    // Written out though only the first poll sets it: a field the literal lacks would be added in a second
    // object beside the record (32 B a watch more), and written last rather than in the state schema's order.
    observed: undefined,
    lastError: null,
    failingSince: null,
    instanceAction: null,
    server: null,
    verdict: null,
    deliveries: dictionary(),
  }),
  poll,
  // A server's name given as its id (no read needed: Nova answers 404 for any id that is no UUID), else the
  // server's list of actions: the id the watched one was likely meant to be.
  notFoundHint: async (target, client, signal) => serverIdHint(target.serverId) || requestHint(target.requestId, (await client.listInstanceActions(target, signal)).actions),
  facts: (record) => ({
    watch: { name: record.name, projectId: record.projectId, serverId: record.serverId, requestId: record.requestId },
    instanceAction: record.instanceAction,
    server: record.server,
  }),
  dropPayload: (record) => {
    if (record.instanceAction === null && record.server === null && record.observed === undefined) return false;
    record.instanceAction = null;
    record.server = null;
    // What the polls saw served the verdicts to come; none is to come.
    record.observed = undefined;
    return true;
  },
  progress: (record) => {
    const action = record.instanceAction;
    const progress = actionProgress(action);
    if (action === null || progress === null) return null;
    return { subject: action.action, ...progress, unit: 'events', startedAt: novaTimeMs(action.start_time) };
  },
  stamped: (record) => record.instanceAction,
  cloudTimes: (action) => {
    const stamped = [action?.start_time, ...(action?.events ?? []).flatMap((e) => [e.start_time, e.finish_time])];
    return stamped.map((t) => (t == null ? null : novaTimeMs(t))).filter((t) => t !== null);
  },
};

/**
 * `{project}/{server}/{request}`: the same request id may exist in two projects. Joined rather than written
 * as a template, which makes a rope of its parts: a key is kept for as long as its watch, and a rope stays
 * beside the flat copy that the first hash of it makes (40 B a key more, measured with 100,000 in a Map).
 */
export function actionKey(ref: Pick<WatchRef, 'projectId' | 'serverId' | 'requestId'>): string {
  return [ref.projectId, ref.serverId, ref.requestId].join('/');
}

/**
 * Reads what the verdict asks for, one read at a time: the action; once its events have finished the
 * server, then the action again (read after the server, so that no step can start and end unseen
 * between the two); the server's action list or its migration records only where they can change
 * the outcome. The common poll is one request, and the finishing one three.
 */
async function poll(p: Poll): Promise<PollResult> {
  const { target, record } = p;
  const first = await observeAction(p);
  // The action as this poll's first read found it. Read again after the server, it may answer 404 (its
  // server deleted below microversion 2.21, or a blip): it was seen all the same, as if by an earlier poll.
  const foundNow = first.kind === 'found' ? first.action : null;
  let seen: Observations = { ...NOTHING_READ, action: first };
  // How long after tracking began the action and the server judged were read (a step of this host's clock
  // moves trackingSince with the record's other times): what they show was seen then, however long the reads
  // after them took (a slow or retried read of the server, of the action list).
  let actionReadAfter: number | undefined;
  let serverReadAfter: number | undefined;
  let last: Read = 'action';
  for (let reads = 1; ; reads += 1) {
    if (p.cancelled()) return { final: false, reason: 'stopping', pollFailed: false, readError: null, notFound: false, changed: false };
    // now() first: a step of this host's clock moves the record's times, which are read after it.
    const now = p.now();
    const trackingSince = Date.parse(record.trackingSince);
    if (last === 'server' || last === 'look') serverReadAfter = now - trackingSince;
    // Unset only before the first read's verdict, or after a read of the action again that shows another finish.
    actionReadAfter ??= now - trackingSince;
    const memory = memoryOf(record);
    const lostNow = foundNow !== null && seen.action.kind !== 'found';
    // The observations written out rather than spread in: a spread after other fields copies them one by
    // one into a new object, at every poll.
    const verdict = decide({
      now, trackingSince, deadlineMs: target.deadlineMs, cloudAheadMs: p.client.clock.aheadMs,
      ...cloudSetting(record), failingSince: p.failingSince(),
      memory: lostNow ? rememberLookup(memory, 'found', now) : memory, lastAction: lostNow ? foundNow : record.instanceAction,
      action: seen.action, actionReadAt: trackingSince + actionReadAfter, server: seen.server,
      serverReadAt: serverReadAfter === undefined ? undefined : trackingSince + serverReadAfter,
      actionAfterServer: seen.actionAfterServer, actions: seen.actions, migrations: seen.migrations,
    });
    if (verdict.final || verdict.next === null || reads >= MAX_READS_PER_POLL) return keep(record, seen, verdict, memory, foundNow);
    last = verdict.next;
    seen = await read(p, last, seen, memory);
    // Read again after the server, the finish the first read showed was seen by then; another, only now.
    if (last === 'action' && !sameFinish(foundNow, seen.action.kind === 'found' ? seen.action.action : null)) actionReadAfter = undefined;
  }
}

/**
 * Keeps in the record what the poll saw (`memory` was the record's before it; `found`, the action as the
 * poll last found it), and says what it concluded.
 */
function keep(record: ActionWatchRecord, seen: Observations, verdict: Verdict, memory: WatchMemory, found: InstanceAction | null): PollResult {
  const changed = !seesNothingNew(record, seen, verdict, memory) && keepChanges(record, recordFields(seen, verdict, found));
  const pollFailed = verdict.pollFailed;
  const readError = lastReadError(seen);
  // Found by this poll's first read, it is no "not found" poll (polls_total, check's hint) for a 404 re-read.
  const notFound = seen.action.kind === 'not_found' && found === null;
  if (verdict.final) return { final: true, outcome: verdict.outcome, reason: verdict.reason, pollFailed, readError, notFound, changed };
  const warning = pollFailed && seen.server.kind === 'gone' ? 'the server answers 404 although the action is not a delete' : undefined;
  return { final: false, reason: verdict.reason, confirming: verdict.confirming, pollFailed, readError, notFound, changed, warning };
}

/**
 * Whether the poll saw only what the record holds, as nearly every poll of a running action does: its
 * memory given back as it was (memory.ts), the action the client gave back as it was, no server read.
 * Then nothing is made to be compared with the record.
 */
function seesNothingNew(record: ActionWatchRecord, seen: Observations, verdict: Verdict, memory: WatchMemory): boolean {
  return verdict.memory === memory && record.observed !== undefined && seen.server.kind !== 'found' &&
    (seen.action.kind !== 'found' || seen.action.action === record.instanceAction);
}

function recordFields(seen: Observations, verdict: Verdict, action: InstanceAction | null): Partial<ActionWatchRecord> {
  const found: Partial<ActionWatchRecord> = toRecordFields(verdict.memory);
  if (seen.action.kind === 'found') found.instanceAction = seen.action.action;
  else if (action !== null) found.instanceAction = action;
  if (seen.server.kind === 'found') found.server = seen.server.server.info;
  return found;
}

async function read(p: Poll, next: Read, seen: Observations, memory: WatchMemory): Promise<Observations> {
  switch (next) {
    case 'server': {
      const byEvents = seen.action.kind === 'found' && judgedByEvents(seen.action.action);
      return { ...seen, server: await observeServer(p, byEvents ? { read: 'server', first: memory.finishSeenAt === null } : undefined) };
    }
    case 'look':
      return { ...seen, server: await observeServer(p, { read: 'look', first: memory.stallCheckedAt === null }) };
    case 'action':
      return { ...seen, action: await observeAction(p), actionAfterServer: true };
    case 'actions':
      return { ...seen, actions: await observeList(p) };
    case 'migrations':
      return { ...seen, migrations: await observeMigrations(p, memory) };
  }
}

async function observeAction(p: Poll): Promise<ActionObservation> {
  try {
    return { kind: 'found', action: await p.read((signal) => p.client.getInstanceAction(p.target, signal, p.record.instanceAction)) };
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'not_found') return { kind: 'not_found', message: err.apiMessage ?? err.message };
    return { kind: 'error', message: p.failed(err) };
  }
}

/** What the cloud's policy refusing to show the server costs, as the log says it, by the read it refused. */
const UNSHOWN = {
  look: 'the cloud refuses to show the server: a step that died with its compute service is not seen; judging the step by its events alone',
  server: 'the cloud refuses to show the server: an ERROR the action left it in is not seen; judging the action by its events alone once they have stayed finished for 1 min',
} as const;

/**
 * `refusable`: a read whose refusal by the cloud's policy (for good) fails no poll, said once a watch, at
 * info: a look beside a long step (Read's `look`), which no verdict waits on, or a read once every event
 * shown has finished, which then judge alone (verdict.ts judgedByEvents).
 */
async function observeServer(p: Poll, refusable?: { read: keyof typeof UNSHOWN; first: boolean }): Promise<ServerObservation> {
  try {
    const server = await p.read((signal) => p.client.getServer(p.target, signal));
    return server ? { kind: 'found', server } : { kind: 'gone' };
  } catch (err) {
    if (refusable === undefined || !(err instanceof ApiError && err.kind === 'forbidden')) return { kind: 'error', message: p.failed(err) };
    p.log[refusable.first ? 'info' : 'debug']({ error: err.message }, UNSHOWN[refusable.read]);
    return { kind: 'error', message: err.message, refused: true };
  }
}

async function observeList(p: Poll): Promise<ActionListObservation> {
  try {
    return { kind: 'read', actions: (await p.read((signal) => p.client.listInstanceActions(p.target, signal))).actions };
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'not_found') return { kind: 'not_found', message: err.apiMessage ?? err.message };
    if (!(err instanceof ApiError && err.kind === 'forbidden')) return { kind: 'error', message: p.failed(err) };
    // Asked again at each such poll, as a policy may change; the verdict's reason says what it lacked.
    p.log.debug({ error: err.message }, 'GET os-instance-actions (the list) is refused; judging without it');
    return { kind: 'refused', message: err.message };
  }
}

async function observeMigrations(p: Poll, memory: WatchMemory): Promise<MigrationsObservation> {
  try {
    return { kind: 'read', migrations: await p.read((signal) => p.client.listMigrations(p.target, signal)) };
  } catch (err) {
    if (!(err instanceof ApiError && MIGRATIONS_REFUSED.has(err.kind))) return { kind: 'error', message: p.failed(err) };
    const refused = { kind: 'refused', message: err.message, byPolicy: err.kind === 'forbidden' } as const;
    // Until it counts, the refusal is a failed poll, logged and counted as one.
    if (rememberMigrations(memory, refused).migrationsReadable !== false) p.failed(err);
    else p.log.info({ error: err.message }, 'GET /os-migrations is refused; judging the move by what else shows');
    return refused;
  }
}

/** The message of this poll's failed read, if one failed. */
function lastReadError(seen: Observations): string | null {
  return errorOf(seen.migrations) ?? errorOf(seen.actions) ?? errorOf(seen.server) ?? errorOf(seen.action);
}

function errorOf(observation: ActionObservation | ServerObservation | ActionListObservation | MigrationsObservation): string | null {
  return failedRead(observation) ? observation.message : null;
}
