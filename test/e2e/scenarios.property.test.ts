// Generated scenarios through the whole engine against the simulator, on fake Date, performance and timers:
// a few watches of actions that succeed, fail, never finish or finish past their deadlines, builds that leave
// their servers ERROR, servers that vanish, a newer action on the server, requests never recorded; an
// outage of the API at some moment (503, 500, resets, unreadable answers, Nova's 404 blips, 429s with a
// Retry-After in seconds or as a date, Huawei's APIGW.0308), polls retried within themselves or not, a
// webhook receiver down for a while, a mail relay (a real SMTP server on loopback) answering MAIL FROM, RCPT TO
// (of every recipient, or of one) or DATA with a 4xx or 5xx for a while, a restart of the app on its state
// folder (between passes, or while one and its deliveries are in flight), and an edit of the watch file applied
// between passes or while one waits on a timer (a watch added, taken out, its deadline, `notify:` or `batch:`
// changed). Watches have `notify:` lists, notifiers `on:` filters, some watches the `batch:` label. The oracle
// is the contract's (CONTRACT.md and the README's "When a watch ends", "Notifications", "Batch digests" and
// reloads), written here apart from src/watch: every watch is told ONE outcome, under one webhook-id or
// Message-ID however often it is delivered, never before the state on disk holds it, to each notifier its
// entry and `on:` name and to no other, or in its batch's one final digest instead; and that outcome is the one
// the contract names for what the simulator did, or one of the alternatives it documents (an outage past the
// deadline, a request not seen before it). A relay's refusal for good (5xx) may lose a mail.
//
// The waits within a poll (a retry's backoff, a Retry-After, the rate limiter's pause after a 429, a
// microversion lookup's) run on the fake timers: the loop moves the clock to the next timer whenever nothing
// but a timer is left to wait for, never while undici has a request under way (its timeouts and ours are on
// the same fake timers) nor while other I/O is (a file, a socket write): real loopback HTTP and real files, no real sleeps.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { expect, it, vi } from 'vitest';
import type { App } from '../../src/app.ts';
import type { ActionScript, FaultSpec, StepScript } from '../../src/simulator/index.ts';
import { startWebhookSink, type ReceivedWebhook } from '../../src/sinks/webhookSink.ts';
import { startMailSink, type ReceivedMail } from '../../src/sinks/mailSink.ts';
import { targetsOf } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { CPU_BOUND_TEST_TIMEOUT_MS } from '../cpuBound.ts';
import { Harness, PROJECT, newIds } from './harness.ts';

type Outcome = 'success' | 'failure' | 'timeout' | 'not_found';

/** What the simulator does with a watched request. */
type Kind =
  | 'succeeds'
  | 'step-fails'
  | 'build-errors'
  | 'never-finishes'
  | 'server-vanishes'
  | 'never-recorded'
  | 'deletes'
  | 'rolled-back'
  | 'visible-late'
  /** Succeeds, and a newer action on its server starts `followedAfterMs` later and never finishes. */
  | 'followed';

type NotifierName = 'chat' | 'ops-mail';
const NOTIFIERS: readonly NotifierName[] = ['chat', 'ops-mail'];
const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'timeout', 'not_found'];
const RECIPIENTS: readonly string[] = ['ops@example.com', 'oncall@example.com'];
const BATCH = 'fleet-b1';

interface WatchPlan {
  /** Its `notify:`; null: none written, every notifier. */
  notify: NotifierName[] | null;
  /** `batch:` the scenario's one label: told in the batch's digest, never on its own. */
  batched: boolean;
  /** Its `warnAfter:`; null: none written (off). */
  warnAfterMs: number | null;
  kind: Kind;
  action: string;
  /** Each step's duration. */
  steps: number[];
  visibleAfterMs: number;
  deadlineMs: number;
  followedAfterMs?: number;
}

interface Outage {
  fromMs: number;
  forMs: number;
  fault: FaultSpec;
  route: 'action' | 'server' | undefined;
}

/** The relay answering one command with an SMTP error for a while: to everyone, or to RCPT TO of oncall@ alone. */
interface MailFault {
  fromMs: number;
  forMs: number;
  command: 'MAIL FROM' | 'RCPT TO' | 'DATA';
  responseCode: number;
  oncallOnly: boolean;
}

/** An edit of the watch file applied as the daemon applies one it found unchanged (engine.setWatches). */
/** `inPass`: applied once a pass in flight waits on a timer (a retry's backoff, a Retry-After), rather than between passes. */
type Reload = { atMs: number; inPass: boolean } & (
  | { change: 'add'; watch: WatchPlan }
  | { change: 'remove'; index: number }
  | { change: 'deadline'; index: number; deadlineMs: number }
  | { change: 'notify'; index: number; notify: NotifierName[] | null }
  /** Its `batch:` put in or taken out. */
  | { change: 'label'; index: number }
);

/** What a notifier's `on:` may name: the outcomes and early warnings (`slow`, which partial digests go to too). */
type Event = Outcome | 'slow';

interface Scenario {
  /** Each notifier's `on:`; null: none written, every outcome and `slow`. */
  on: Record<NotifierName, Event[] | null>;
  /** `poll.batchWindow`: the batch's partial digest that long after its first watch began; null: none. */
  batchWindowMs: number | null;
  mailFault: MailFault | null;
  reload: Reload | null;
  role: 'member' | 'admin';
  retries: number;
  stepMs: number;
  watches: WatchPlan[];
  outage: Outage | null;
  hooksDown: { fromMs: number; forMs: number } | null;
  /**
   * `inPass`: close() comes while a pass and its deliveries are in flight, as it begins (`start`) or once the
   * pass waits on a timer (`waiting`: a retry's backoff, a Retry-After, the rate limiter's pause). `cut`: no drain,
   * polls and deliveries in flight cut off as by a crash (a webhook or mail the receiver may have taken).
   */
  restart: { atMs: number; downMs: number; inPass: false | 'start' | 'waiting'; cut: boolean } | null;
  /** Seeds Math.random, which p-retry's backoffs draw their jitter from. */
  seed: number;
}

const S = 1000;
const MIN = 60 * S;

const EVENTS: Readonly<Record<string, string>> = {
  create: 'compute__do_build_and_run_instance',
  delete: 'compute_terminate_instance',
  reboot: 'compute_reboot_instance',
  rebuild: 'compute_rebuild_instance',
  stop: 'compute_stop_instance',
  resize: 'compute_prep_resize',
  migrate: 'compute_prep_resize',
  'live-migration': 'compute_live_migration',
};
const MOVES = new Set(['resize', 'migrate', 'live-migration']);

const stepsArb = fc.array(fc.integer({ min: 1 * S, max: 8 * MIN }), { minLength: 1, maxLength: 3 });
const deadlineArb = fc.integer({ min: 1 * MIN, max: 15 * MIN });

const actionArb: fc.Arbitrary<Omit<WatchPlan, 'notify' | 'batched' | 'warnAfterMs'>> = fc.oneof(
  fc.record({
    kind: fc.constantFrom<Kind>('succeeds', 'step-fails', 'never-finishes'),
    action: fc.constantFrom('reboot', 'resize', 'migrate', 'live-migration', 'rebuild', 'stop', 'create'),
    steps: stepsArb,
    visibleAfterMs: fc.constant(0),
    deadlineMs: deadlineArb,
  }),
  fc.record({ kind: fc.constant<Kind>('build-errors'), action: fc.constant('create'), steps: stepsArb, visibleAfterMs: fc.constant(0), deadlineMs: deadlineArb }),
  fc.record({ kind: fc.constant<Kind>('server-vanishes'), action: fc.constantFrom('reboot', 'stop'), steps: stepsArb, visibleAfterMs: fc.constant(0), deadlineMs: deadlineArb }),
  fc.record({ kind: fc.constant<Kind>('deletes'), action: fc.constant('delete'), steps: stepsArb, visibleAfterMs: fc.constant(0), deadlineMs: deadlineArb }),
  fc.record({ kind: fc.constant<Kind>('rolled-back'), action: fc.constant('live-migration'), steps: stepsArb, visibleAfterMs: fc.constant(0), deadlineMs: deadlineArb }),
  fc.record({
    kind: fc.constant<Kind>('visible-late'),
    action: fc.constant('create'),
    steps: stepsArb,
    visibleAfterMs: fc.integer({ min: 5 * S, max: 100 * S }),
    deadlineMs: deadlineArb,
  }),
  fc.record({
    kind: fc.constant<Kind>('followed'),
    action: fc.constantFrom('reboot', 'resize', 'stop'),
    steps: stepsArb,
    visibleAfterMs: fc.constant(0),
    deadlineMs: deadlineArb,
    followedAfterMs: fc.integer({ min: 0, max: 3 * MIN }),
  }),
  fc.record({ kind: fc.constant<Kind>('never-recorded'), action: fc.constant('reboot'), steps: fc.constant<number[]>([]), visibleAfterMs: fc.constant(0), deadlineMs: deadlineArb }),
);
const notifyArb = fc.constantFrom<NotifierName[] | null>(null, null, ['chat'], ['ops-mail'], ['chat', 'ops-mail']);
const watchArb: fc.Arbitrary<WatchPlan> = fc
  .tuple(actionArb, notifyArb, fc.boolean(), fc.option(fc.integer({ min: 30 * S, max: 10 * MIN }), { nil: null }))
  .map(([action, notify, batched, warnAfterMs]) => ({ ...action, notify, batched, warnAfterMs }));
const onArb = fc.option(fc.subarray<Event>([...OUTCOMES, 'slow'], { minLength: 1 }), { nil: null, freq: 2 });
const mailFaultArb: fc.Arbitrary<MailFault> = fc.record({
  fromMs: fc.integer({ min: 0, max: 20 * MIN }),
  forMs: fc.integer({ min: 5 * S, max: 10 * MIN }),
  command: fc.constantFrom<MailFault['command']>('MAIL FROM', 'RCPT TO', 'DATA'),
  // 552 to RCPT TO is a 452 (RFC 5321, 4.5.3.1.10); to the others, as the other 5xx, for good.
  responseCode: fc.constantFrom(421, 450, 451, 452, 550, 552, 554),
  oncallOnly: fc.boolean(),
});
const reloadArb: fc.Arbitrary<Reload> = fc.oneof(
  fc.record({ atMs: fc.integer({ min: 0, max: 20 * MIN }), inPass: fc.boolean(), change: fc.constant('add' as const), watch: watchArb }),
  fc.record({ atMs: fc.integer({ min: 0, max: 20 * MIN }), inPass: fc.boolean(), change: fc.constant('remove' as const), index: fc.nat(3) }),
  fc.record({ atMs: fc.integer({ min: 0, max: 20 * MIN }), inPass: fc.boolean(), change: fc.constant('deadline' as const), index: fc.nat(3), deadlineMs: deadlineArb }),
  fc.record({ atMs: fc.integer({ min: 0, max: 20 * MIN }), inPass: fc.boolean(), change: fc.constant('notify' as const), index: fc.nat(3), notify: notifyArb }),
  fc.record({ atMs: fc.integer({ min: 0, max: 20 * MIN }), inPass: fc.boolean(), change: fc.constant('label' as const), index: fc.nat(3) }),
);

const routeArb = fc.constantFrom<'action' | 'server' | undefined>('action', 'server', undefined);
const faultArb: fc.Arbitrary<{ fault: FaultSpec; route: 'action' | 'server' | undefined }> = fc.oneof(
  fc.record({ fault: fc.constantFrom<FaultSpec>({ kind: 'unavailable' }, { kind: 'server-error' }, { kind: 'reset' }, { kind: 'garbage' }), route: routeArb }),
  fc.record({ fault: fc.constant<FaultSpec>({ kind: 'not-found' }), route: fc.constant<'action'>('action') }),
  fc.record({
    fault: fc.oneof(
      fc.record({ kind: fc.constant('rate-limited' as const), retryAfterSeconds: fc.integer({ min: 0, max: 120 }), asDate: fc.boolean() }),
      fc.constant<FaultSpec>({ kind: 'gateway-throttled' }),
    ),
    route: routeArb,
  }),
);
/** The 429s: the rate limiter pauses every request after one, a minute at most, and a poll's retry waits out its Retry-After as long. */
const THROTTLES: ReadonlySet<FaultSpec['kind']> = new Set(['rate-limited', 'gateway-throttled']);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  on: fc.record({ chat: onArb, 'ops-mail': onArb }),
  batchWindowMs: fc.option(fc.integer({ min: 30 * S, max: 10 * MIN }), { nil: null }),
  mailFault: fc.option(mailFaultArb, { nil: null }),
  reload: fc.option(reloadArb, { nil: null }),
  role: fc.constantFrom<'member' | 'admin'>('member', 'admin'),
  retries: fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 3 }),
  stepMs: fc.constantFrom(2 * S, 5 * S, 10 * S),
  watches: fc.array(watchArb, { minLength: 1, maxLength: 4 }),
  outage: fc.option(
    fc.record({ fromMs: fc.integer({ min: 0, max: 20 * MIN }), forMs: fc.integer({ min: 5 * S, max: 25 * MIN }) }).chain((t) => faultArb.map((f) => ({ ...t, ...f }))),
    { nil: null },
  ),
  hooksDown: fc.option(fc.record({ fromMs: fc.integer({ min: 0, max: 20 * MIN }), forMs: fc.integer({ min: 5 * S, max: 10 * MIN }) }), { nil: null }),
  restart: fc.option(fc.record({ atMs: fc.integer({ min: 0, max: 25 * MIN }), downMs: fc.integer({ min: 0, max: 20 * MIN }), inPass: fc.constantFrom<false | 'start' | 'waiting'>(false, 'start', 'waiting'), cut: fc.boolean() }), { nil: null }),
  seed: fc.integer(),
});

/** When the watched request's last event finishes, after tracking began (Infinity: never). */
function finishOf(w: WatchPlan): number {
  if (w.kind === 'never-finishes' || w.kind === 'never-recorded') return Infinity;
  return w.visibleAfterMs + w.steps.reduce((a, b) => a + b, 0);
}

function scriptOf(w: WatchPlan): ActionScript & { requestId: string } {
  const event = EVENTS[w.action]!;
  const steps: StepScript[] = w.steps.map((durationMs, i) => ({ event: i === 0 ? event : `${event}_${i}`, durationMs }));
  const script: ActionScript & { requestId: string } = { projectId: PROJECT, ...newIds(), action: w.action, steps, visibleAfterMs: w.visibleAfterMs };
  if (MOVES.has(w.action)) script.migration = { destHost: 'compute-2' };
  switch (w.kind) {
    case 'step-fails':
      steps[steps.length - 1] = { ...steps.at(-1)!, result: 'Error' };
      break;
    case 'build-errors':
      script.fault = { message: 'No valid host was found. There are not enough hosts available.' };
      break;
    case 'never-finishes':
      script.neverFinishes = true;
      break;
    case 'server-vanishes':
      script.deletesServer = true;
      break;
    case 'rolled-back':
      script.migration = { destHost: 'compute-2', finalStatus: 'failed' };
      break;
    default:
  }
  return script;
}

/**
 * The outcome the contract names for what the simulator did, and the alternatives it leaves room for;
 * `polls`: when the daemon's passes began and ended, after tracking began: a pass's poll of the watch may come
 * anywhere in it (after a timer: a microversion lookup, another watch's retry).
 */
/** A poll pass: when it began and ended, in ms. */
interface Pass {
  at: number;
  end: number;
}

function expected(w: WatchPlan, sc: Scenario, polls: readonly Pass[]): Outcome[] {
  const finish = finishOf(w);
  let real: Outcome;
  if (w.kind === 'never-recorded') real = 'not_found';
  else if (finish >= w.deadlineMs) real = 'timeout';
  else if (w.kind === 'succeeds' || w.kind === 'deletes' || w.kind === 'visible-late' || w.kind === 'followed') real = 'success';
  else real = 'failure';
  const accepted = new Set<Outcome>([real]);
  const o = sc.outage;
  const inOutage = (at: number) => o !== null && at >= o.fromMs && at < o.fromMs + o.forMs;
  // Polls failing past the deadline may end the watch as a timeout once they have failed 15 min past it (as
  // long as the deadline, if shorter), counted in this run of the daemon.
  // A daemon started during an outage of every path looks its microversion up again after 5 s, 10 s, ... up
  // to a minute, sending no poll meanwhile: its polls may go on failing that long after the API is back.
  const lookupHeldMs = o !== null && o.route === undefined && (o.fromMs === 0 || (sc.restart !== null && [0, sc.stepMs].some((late) => inOutage(sc.restart!.atMs + late + sc.restart!.downMs)))) ? MIN : 0;
  // The pause a 429 asked for may outlast the outage by as long as the limiter and a retry wait (a minute).
  const throttleHeldMs = o !== null && THROTTLES.has(o.fault.kind) ? MIN : 0;
  if (o !== null && o.fromMs + o.forMs + lookupHeldMs + throttleHeldMs > w.deadlineMs + Math.min(15 * MIN, w.deadlineMs) - 30 * S) accepted.add('timeout');
  // Nova's own 404 for the action at the polls before it was first seen: the request is not known to exist.
  const notFound = (at: number) => w.kind === 'never-recorded' || at < w.visibleAfterMs || (o?.fault.kind === 'not-found' && inOutage(at));
  const firstSeen = polls.find((p) => !notFound(p.at) && !notFound(p.end))?.at ?? Infinity;
  if (firstSeen >= w.deadlineMs) accepted.add('timeout');
  // A server gone with its action hidden by Nova's 404 tells no time of its end but that of the poll that
  // first saw it gone: past the deadline when the daemon was down across the end (a restart).
  const endSeenAt = polls.find((p) => p.at >= finish)?.at ?? Infinity;
  const goesWithServer = w.kind === 'server-vanishes' || w.kind === 'deletes';
  if (goesWithServer && o?.fault.kind === 'not-found' && inOutage(endSeenAt) && endSeenAt >= w.deadlineMs) accepted.add('timeout');
  const unseen = polls.map((p) => p.at).filter((at) => at < firstSeen);
  if (unseen.length >= 3 && unseen.at(-1)! - unseen[0]! >= 2 * MIN) accepted.add('not_found');
  return [...accepted];
}

/** No boundary the contract leaves to the moment of a poll: finishes at least 5 s away from the deadline. */
function clearOfDeadline(w: WatchPlan): boolean {
  return Math.abs(finishOf(w) - w.deadlineMs) >= 5 * S;
}

/** A watch's own notification as a receiver got it: a webhook, or a mail (one per attempt the relay took). */
/** No boundary left to the moment of a poll, for the watches of the start, the one a reload adds and a deadline it changes. */
function clearOfDeadlines(sc: Scenario): boolean {
  const r = sc.reload;
  if (r?.change === 'add' && !clearOfDeadline(r.watch)) return false;
  if (r?.change === 'deadline' && !clearOfDeadline({ ...sc.watches[r.index % sc.watches.length]!, deadlineMs: r.deadlineMs })) return false;
  return sc.watches.every(clearOfDeadline);
}

interface Told {
  notifier: NotifierName;
  requestId: string;
  outcome: string | null;
  /** webhook-id, or Message-ID. */
  id: string;
  /** Whether the receiver took it: a 2xx, or the relay's 250 (a mail is seen only then). */
  taken: boolean;
  /** A mail's envelope recipients. */
  to: readonly string[];
  /** What the state on disk said of the watch when it arrived. */
  savedOutcome: string | null;
}

/** A batch digest as a receiver got it. */
interface ToldDigest {
  notifier: NotifierName;
  id: string;
  type: string;
  round: number;
  /** Request id -> outcome; a mail says only its counts (its subject), a webhook each watch. */
  members: Map<string, string | null> | null;
  subject: string | null;
  taken: boolean;
  to: readonly string[];
  /** Whether the state on disk held a digest of that round when it arrived. */
  saved: boolean;
  /** Whether it held the final digest of that round: a partial one is then superseded, never sent. */
  finalSaved: boolean;
}

/** The outcome a mail's subject names (`reboot failed: w0`), or null for an early warning. */
function outcomeOfSubject(subject: string): string | null {
  const word = /\] \S+ (succeeded|failed|timed out|not found|still running): /.exec(subject)?.[1];
  if (word === undefined) throw new Error(`a subject that names no outcome: ${subject}`);
  return word === 'still running' ? null : OUTCOMES.find((o) => OUTCOME_WORDS[o] === word)!;
}
const OUTCOME_WORDS: Readonly<Record<Outcome, string>> = { success: 'succeeded', failure: 'failed', timeout: 'timed out', not_found: 'not found' };

/** A digest's round as its mail subject says it: ` (round 2)` after the label from the second on. */
function roundOfSubject(subject: string): number {
  return Number(/ \(round (\d+)\) /.exec(subject)?.[1] ?? 1);
}

/** `sc` as seen by a watch whose tracking began `byMs` into it: its times counted from then. */
function shifted(sc: Scenario, byMs: number): Scenario {
  if (byMs === 0) return sc;
  return {
    ...sc,
    outage: sc.outage && { ...sc.outage, fromMs: sc.outage.fromMs - byMs },
    restart: sc.restart && { ...sc.restart, atMs: sc.restart.atMs - byMs },
  };
}

// Taken before any test fakes the timers: the loop's own turn of the event loop, to let real I/O go on.
const { setImmediate: realTurn } = await import('node:timers/promises');

/** The requests undici has under way (its diagnostics channels): the fake clock must not move meanwhile. */
function requestsUnderWay(): { readonly size: number; stop(): void } {
  const underWay = new Set<unknown>();
  const begun = (message: unknown) => underWay.add((message as { request: unknown }).request);
  const ended = (message: unknown) => underWay.delete((message as { request: unknown }).request);
  subscribe('undici:request:create', begun);
  subscribe('undici:request:trailers', ended);
  subscribe('undici:request:error', ended);
  return {
    get size() {
      return underWay.size;
    },
    stop() {
      unsubscribe('undici:request:create', begun);
      unsubscribe('undici:request:trailers', ended);
      unsubscribe('undici:request:error', ended);
    },
  };
}

/**
 * libuv's requests, as process.getActiveResourcesInfo() names them: a file operation, a file handle closing, a
 * socket's write, shutdown or connect, a name lookup. Not its handles (a socket, a server), which stay open.
 */
const IO_REQUESTS: ReadonlySet<string> = new Set(['FSReqCallback', 'FSReqPromise', 'CloseReq', 'WriteWrap', 'ShutdownWrap', 'TCPConnectWrap', 'GetAddrInfoReqWrap']);

/** I/O under way outside undici's requests: what waits on it waits on no timer. */
function ioUnderWay(): boolean {
  return process.getActiveResourcesInfo().some((r) => IO_REQUESTS.has(r));
}

/** Whether `work` has settled, known without awaiting it. */
function settledFlag(work: Promise<unknown>): () => boolean {
  let done = false;
  work.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
}

/**
 * What the fake clock waits for: undici's requests (`size`), which never wait on a timer of ours, and the mail
 * notifiers' sends (`mailing`), whose SMTP exchange does (smtp-server greets 100 ms after the connection): while
 * one is under way, the clock moves only once the relay's answer has had many turns to come.
 */
interface UnderWay {
  readonly size: number;
  readonly mailing: number;
}

/**
 * Turns the real event loop until `done()`, or until nothing but timers is left to wait for: no request under
 * way and no other I/O for a few turns.
 */
async function untilOnlyTimers(done: () => boolean, requests: UnderWay): Promise<void> {
  for (let quiet = 0; !done() && quiet < (requests.mailing > 0 ? 20 : 3); ) {
    await realTurn();
    quiet = requests.size > 0 || ioUnderWay() ? 0 : quiet + 1;
  }
}

/**
 * Waits for `work`, moving the fake clock to the next timer whenever nothing but timers is left to wait for.
 * `world` sets the simulator and the receiver for the time the clock moved to.
 */
async function settle<T>(work: Promise<T>, requests: UnderWay, world: () => void): Promise<T> {
  const done = settledFlag(work);
  for (;;) {
    await untilOnlyTimers(done, requests);
    if (done()) return work;
    await vi.advanceTimersToNextTimerAsync();
    world();
  }
}

/** A deterministic Math.random (mulberry32) for the backoffs' jitter: a failing seed fails again. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A watch of the run: its plan, its script in the simulator, when (after the start) it joined the file. */
interface Live {
  plan: WatchPlan;
  script: ActionScript & { requestId: string };
  beganMs: number;
  /** Taken out by the reload: when, and what the state on disk held of it then. */
  removed: { verdict: string | null; reported: boolean } | null;
  /** Its deadline changed by the reload while it had no verdict: the plan it is judged by. */
  judgedBy: WatchPlan;
  /** A reload in a pass changed its deadline: that pass's poll may judge it by the one before (this plan's). */
  alsoJudgedBy: WatchPlan | null;
  /** The `deadline:` the file gives it. */
  fileDeadlineMs: number;
  /** Its entry before the reload changed its `notify:` or `batch:`, and what the state on disk held of it then. */
  was: { plan: WatchPlan; verdict: string | null; reported: boolean } | null;
}

/** The sends of the app's notifiers under way (a mail's SMTP exchange, which undici's channels do not see). */
function countSends(app: App, sends: { n: number }): void {
  for (const notifier of app.notifiers.values()) {
    const send = notifier.send.bind(notifier);
    notifier.send = async (...args) => {
      sends.n++;
      try {
        return await send(...args);
      } finally {
        sends.n--;
      }
    };
  }
}

type DiskRecord = { requestId?: string; batch?: string; verdict: { outcome: string; reason?: string } | null; deliveries?: Record<string, { status: string }> };
type DiskBatch = { digests: Array<{ round: number; final: boolean; members: Array<{ key: string; outcome: string | null }> }> };

async function runScenario(sc: Scenario): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'], fakeNodeBuiltins: true, now: new Date('2026-12-01T10:00:00.000Z') });
  vi.spyOn(Math, 'random').mockImplementation(seededRandom(sc.seed));
  const requests = requestsUnderWay();
  const sends = { n: 0 };
  const underWay: UnderWay = {
    get size() {
      return requests.size;
    },
    get mailing() {
      return sends.n;
    },
  };
  const h = await Harness.start({ role: sc.role });
  const recordOf = (requestId: string) => Object.values(stateOnDisk(h.statePath).watches).find((r) => (r as DiskRecord).requestId === requestId) as DiskRecord | undefined;
  const batchOnDisk = () => stateOnDisk(h.statePath).batches[BATCH] as DiskBatch | undefined;
  const told: Told[] = [];
  const digests: ToldDigest[] = [];
  let mailFaultOn = false;
  const mf = sc.mailFault;
  const smtpRefusal = (command: MailFault['command'], recipient?: string) =>
    mailFaultOn && mf!.command === command && (!mf!.oncallOnly || command !== 'RCPT TO' || recipient === 'oncall@example.com')
      ? Object.assign(new Error(`${mf!.responseCode} refused by the scenario`), { responseCode: mf!.responseCode })
      : null;
  await h.hooks.close();
  h.hooks = await startWebhookSink({
    onReceive: (hook: ReceivedWebhook) => {
      const body = hook.body as { type: string; outcome: string | null; round?: number; watch?: { requestId: string }; watches?: Array<{ watch: { requestId: string }; outcome: string | null }> };
      const id = String(hook.headers['webhook-id']);
      if (body.type.startsWith('ecs.batch.')) {
        const round = (batchOnDisk()?.digests ?? []).filter((d) => d.round === body.round);
        digests.push({ notifier: 'chat', id, type: body.type, round: body.round!, members: new Map(body.watches!.map((m) => [m.watch.requestId, m.outcome])), subject: null, taken: hook.status < 300, to: [], saved: round.length > 0, finalSaved: round.some((d) => d.final) });
        return;
      }
      const requestId = body.watch!.requestId;
      told.push({ notifier: 'chat', requestId, outcome: body.outcome, id, taken: hook.status < 300, to: [], savedOutcome: recordOf(requestId)?.verdict?.outcome ?? null });
    },
  });
  await h.mail.close();
  h.mail = await startMailSink({
    onReceive: (mail: ReceivedMail) => {
      const batch = mail.headers.get('x-ecs-watch-batch');
      if (batch !== undefined) {
        const round = roundOfSubject(mail.subject);
        const ofRound = (batchOnDisk()?.digests ?? []).filter((d) => d.round === round);
        digests.push({ notifier: 'ops-mail', id: mail.messageId, type: mail.subject.includes(' finished: ') ? 'ecs.batch.finished' : 'ecs.batch.partial', round, members: null, subject: mail.subject, taken: true, to: mail.to, saved: ofRound.length > 0, finalSaved: ofRound.some((d) => d.final) });
        return;
      }
      const requestId = mail.headers.get('x-ecs-watch-request-id')!;
      told.push({ notifier: 'ops-mail', requestId, outcome: outcomeOfSubject(mail.subject), id: mail.messageId, taken: true, to: mail.to, savedOutcome: recordOf(requestId)?.verdict?.outcome ?? null });
    },
    refuse: () => smtpRefusal('DATA'),
    smtp: {
      onMailFrom: (_address, _session, callback) => callback(smtpRefusal('MAIL FROM')),
      onRcptTo: (address, _session, callback) => callback(smtpRefusal('RCPT TO', address.address)),
    },
  });
  const start = Date.now();
  let outageArmed = false;
  /** The API and the receivers as the scenario has them at this moment. */
  const world = () => {
    const at = Date.now() - start;
    if (sc.outage !== null) {
      const inOutage = at >= sc.outage.fromMs && at < sc.outage.fromMs + sc.outage.forMs;
      if (inOutage && !outageArmed) h.simulator.injectFault(sc.outage.fault, { route: sc.outage.route, times: 1e9 });
      if (!inOutage && outageArmed) h.simulator.clearFaults();
      outageArmed = inOutage;
    }
    if (sc.hooksDown !== null) {
      const down = at >= sc.hooksDown.fromMs && at < sc.hooksDown.fromMs + sc.hooksDown.forMs;
      h.hooks.setAnswer({ status: down ? 503 : 204 });
    }
    mailFaultOn = mf !== null && at >= mf.fromMs && at < mf.fromMs + mf.forMs;
  };
  const drive = <T>(work: Promise<T>) => settle(work, underWay, world);
  const startApp = async (yaml: string) => {
    const started = await drive(h.app(yaml));
    countSends(started, sends);
    return started;
  };
  const live: Live[] = [];
  const join = (plan: WatchPlan, beganMs: number) => {
    const script = scriptOf(plan);
    if (plan.kind !== 'never-recorded') h.simulator.addAction(script);
    live.push({ plan, script, beganMs, removed: null, judgedBy: plan, alsoJudgedBy: null, fileDeadlineMs: plan.deadlineMs, was: null });
  };
  /** The watch file of the watches listed now. */
  const watchFile = () =>
    h.yaml(
      live
        .filter((w) => w.removed === null)
        .map((w) => ({
          requestId: w.script.requestId,
          serverId: w.script.serverId,
          name: `w${live.indexOf(w)}-${w.plan.kind}`,
          extra: [
            `    deadline: ${w.fileDeadlineMs / S}s`,
            w.plan.notify === null ? '' : `    notify: [${w.plan.notify.join(', ')}]`,
            w.plan.batched ? `    batch: ${BATCH}` : '',
            w.plan.warnAfterMs === null ? '' : `    warnAfter: ${w.plan.warnAfterMs / S}s`,
          ]
            .filter(Boolean)
            .join('\n'),
        })),
      {
        poll: [`  schedule: "* * * * * *"`, `  retries: ${sc.retries}`, sc.batchWindowMs === null ? '' : `  batchWindow: ${sc.batchWindowMs / S}s`].filter(Boolean).join('\n'),
        notifiers: [
          '  chat:',
          '    type: webhook',
          `    url: ${h.hooks.url}`,
          '    secret: ${WEBHOOK_SECRET}',
          sc.on.chat === null ? '' : `    on: [${sc.on.chat.join(', ')}]`,
          '  ops-mail:',
          '    type: email',
          '    smtp:',
          '      host: 127.0.0.1',
          `      port: ${h.mail.port}`,
          '      user: ops',
          '      password: ${SMTP_PASSWORD}',
          '      timeout: 2s',
          '    from: ecs-watch@example.com',
          `    to: [${RECIPIENTS.join(', ')}]`,
          sc.on['ops-mail'] === null ? '' : `    on: [${sc.on['ops-mail'].join(', ')}]`,
        ]
          .filter(Boolean)
          .join('\n'),
      },
    );
  let app: App | undefined;
  try {
    for (const w of sc.watches) join(w, 0);
    let yaml = watchFile();
    app = await startApp(yaml);
    const polls: Pass[] = [];
    const followed = new Set<Live>();
    const reloadAt = sc.reload?.atMs ?? 0;
    const lastDeadline = Math.max(...sc.watches.map((w) => w.deadlineMs), ...(sc.reload === null ? [] : [reloadAt + (sc.reload.change === 'add' ? sc.reload.watch.deadlineMs : sc.reload.change === 'deadline' ? sc.reload.deadlineMs : 0)]));
    const outageEnd = sc.outage === null ? 0 : sc.outage.fromMs + sc.outage.forMs;
    const mailFaultEnd = mf === null ? 0 : mf.fromMs + mf.forMs;
    const giveUpAt = start + Math.max(lastDeadline + 16 * MIN, outageEnd, mailFaultEnd) + (sc.restart?.downMs ?? 0) + 20 * MIN;
    let restarted = sc.restart === null;
    let reloaded = sc.reload === null;
    let doneSince: number | null = null;
    while (Date.now() < giveUpAt) {
      const at = Date.now() - start;
      world();
      if (!restarted && at >= sc.restart!.atMs) {
        restarted = true;
        if (sc.restart!.inPass) {
          const inFlight = app.engine.pollOnce().then(() => app!.outbox.flush());
          if (sc.restart!.inPass === 'waiting') await untilOnlyTimers(settledFlag(inFlight), underWay);
          await drive(app.close(sc.restart!.cut ? { drainMs: 0 } : {}));
          await drive(inFlight);
        } else {
          await drive(app.close(sc.restart!.cut ? { drainMs: 0 } : {}));
        }
        vi.setSystemTime(Date.now() + sc.restart!.downMs);
        app = await startApp(yaml);
        continue;
      }
      if (!reloaded && at >= reloadAt) {
        reloaded = true;
        const r = sc.reload!;
        const running = app;
        const inFlight = r.inPass ? running.engine.pollOnce() : null;
        const inPass = { at, end: at };
        if (inFlight !== null) {
          polls.push(inPass);
          await untilOnlyTimers(settledFlag(inFlight), underWay);
        }
        // What the daemon holds of the watch (in memory: a pass in flight may have judged it, unsaved yet).
        const held = (w: Live) => ({
          verdict: running.store.entries().find(([, record]) => (record as DiskRecord).requestId === w.script.requestId)?.[1].verdict?.outcome ?? null,
          reported: (running.store.getBatch(BATCH)?.digests ?? []).some((d) => d.final && d.members.some((m) => m.key.includes(w.script.requestId))),
        });
        const w = r.change === 'add' ? null : live[r.index % sc.watches.length]!;
        // A verdict the pass reaches after the edit goes where the file says then; but the pass judges by the
        // entry it began with, the edit applied as it ends, whether a watch is in a batch and whether it is polled.
        const before = w === null ? null : held(w);
        if (r.change === 'add') join(r.watch, at);
        yaml = (() => {
          if (w !== null && r.change === 'deadline') w.fileDeadlineMs = r.deadlineMs;
          if (w !== null && r.change === 'remove') w.removed = before;
          const planned = w?.plan;
          if (w !== null && r.change === 'notify') w.plan = { ...w.plan, notify: r.notify };
          if (w !== null && r.change === 'label') w.plan = { ...w.plan, batched: !w.plan.batched };
          const file = watchFile();
          if (w !== null && planned !== undefined) w.plan = planned;
          return file;
        })();
        running.engine.setWatches(targetsOf(parseConfig(yaml, { env: h.env })));
        if (inFlight !== null) {
          await drive(inFlight);
          inPass.end = Date.now() - start;
        }
        if (w !== null) {
          const after = r.change === 'label' || r.change === 'remove' ? held(w) : before!;
          if (r.change === 'remove') w.removed = after;
          else if (r.change === 'deadline') {
            if (after.verdict === null) {
              if (r.inPass) w.alsoJudgedBy = w.judgedBy;
              w.judgedBy = { ...w.plan, deadlineMs: r.deadlineMs };
            }
          } else {
            w.was = { plan: w.plan, ...after };
            w.plan = r.change === 'notify' ? { ...w.plan, notify: r.notify } : { ...w.plan, batched: !w.plan.batched };
            w.judgedBy = { ...w.judgedBy, notify: w.plan.notify, batched: w.plan.batched };
          }
        }
      }
      const pass = { at, end: at };
      polls.push(pass);
      for (const w of live) {
        if (w.plan.kind !== 'followed' || followed.has(w) || at < w.beganMs + finishOf(w.plan) + w.plan.followedAfterMs!) continue;
        followed.add(w);
        h.simulator.addAction({ projectId: PROJECT, serverId: w.script.serverId, action: 'stop', steps: [{ event: 'compute_stop_instance', durationMs: 1000 }], neverFinishes: true });
      }
      await drive(app.engine.pollOnce());
      pass.end = Date.now() - start;
      await drive(app.store.save());
      await drive(app.outbox.flush());
      if (app.engine.allSettled()) doneSince ??= Date.now();
      else doneSince = null;
      // A while more once everything is settled: time for a second notification that must not come.
      if (doneSince !== null && Date.now() - doneSince > 2 * MIN && restarted && reloaded) break;
      expect(underWay.size + underWay.mailing, 'a request or send under way between passes').toBe(0);
      await vi.advanceTimersByTimeAsync(sc.stepMs);
    }
    checkOutcomes(sc, live, polls, told, digests, recordOf, batchOnDisk());
  } finally {
    if (app !== undefined) await drive(app.close());
    await drive(h.close());
    requests.stop();
    vi.restoreAllMocks();
    vi.useRealTimers();
  }
}

/** Whether the relay's refusals may have lost `recipient` a message for good (a 5xx, but 552 to RCPT TO). */
function mayBeRefusedForGood(sc: Scenario, recipient: string): boolean {
  const f = sc.mailFault;
  if (f === null || f.responseCode < 500 || (f.command === 'RCPT TO' && f.responseCode === 552)) return false;
  return f.command !== 'RCPT TO' || !f.oncallOnly || recipient === 'oncall@example.com';
}

/** Whether a notifier is owed a notification about these outcomes: one the watches name (or all, by one naming none), told about one of them. */
function owed(sc: Scenario, notifier: NotifierName, watches: ReadonlyArray<{ plan: WatchPlan; outcome: string }>): boolean {
  return named(notifier, watches) && watches.some((w) => listens(sc, notifier, w.outcome as Event));
}

/** Whether one of the watches names the notifier, or all by naming none. */
function named(notifier: NotifierName, watches: ReadonlyArray<{ plan: WatchPlan }>): boolean {
  return watches.some((w) => w.plan.notify === null || w.plan.notify.includes(notifier));
}

/** Whether the notifier's `on:` tells it of `event`. */
function listens(sc: Scenario, notifier: NotifierName, event: Event): boolean {
  return sc.on[notifier]?.includes(event) ?? true;
}

/**
 * The oracle's checks of what the receivers got: each notifier that a watch's `notify:` and its `on:` name gets
 * the watch's outcome, the contract's, under one id; the others nothing; a watch of the batch only in one final
 * digest, with the outcome saved for it, which goes once to each notifier owed it; nothing before it was saved.
 */
function checkOutcomes(
  sc: Scenario,
  live: readonly Live[],
  polls: readonly Pass[],
  told: readonly Told[],
  digests: readonly ToldDigest[],
  recordOf: (requestId: string) => DiskRecord | undefined,
  batch: DiskBatch | undefined,
): void {
  const finals = (batch?.digests ?? []).filter((d) => d.final);
  const verdicts: Array<{ plan: WatchPlan; outcome: string; requestId: string; round: number | null }> = [];
  for (const [i, w] of live.entries()) {
    const requestId = w.script.requestId;
    const record = recordOf(requestId);
    const outcome = record?.verdict?.outcome ?? null;
    const mine = told.filter((t) => t.requestId === requestId && t.outcome !== null);
    const rounds = finals.filter((d) => d.members.some((m) => m.key.includes(requestId)));
    const what = `watch ${i} (${JSON.stringify(w.plan)}, from ${w.beganMs} ms, finishing at ${finishOf(w.plan)} ms after, removed ${JSON.stringify(w.removed)}, before the reload ${JSON.stringify(w.was)}, judged by deadline ${w.judgedBy.deadlineMs}): verdict ${outcome} (${record?.verdict?.reason ?? 'no verdict saved'}), told ${JSON.stringify(mine)}, in final digests ${JSON.stringify(rounds.map((d) => d.round))}`;
    if (w.removed !== null && w.removed.verdict === null) {
      // Taken out before its outcome: polled no more, and no outcome is to come.
      expect(mine, `${what}: told after it was taken out of the file before its outcome`).toEqual([]);
      expect(rounds, `${what}: in a digest after it was taken out of the file before its outcome`).toEqual([]);
      continue;
    }
    const own = told.filter((t) => t.requestId === requestId);
    expect(outcome, `${what}: no verdict`).not.toBeNull();
    const pollsOf = polls.filter((p) => p.at >= w.beganMs).map((p) => ({ at: p.at - w.beganMs, end: p.end - w.beganMs }));
    const wanted = [...new Set([w.judgedBy, w.alsoJudgedBy ?? w.judgedBy].flatMap((plan) => expected(plan, shifted(sc, w.beganMs), pollsOf)))];
    expect(wanted, `${what}: wanted one of ${wanted.join('/')}`).toContain(outcome);
    for (const t of own) expect(t.savedOutcome, `${what}: ${JSON.stringify(t)} arrived before the state on disk held its verdict`).toBe(t.outcome ?? t.savedOutcome);
    // Early warnings: one at most, under one id, never after the outcome, never for a watch of a batch or
    // without warnAfter, only to a notifier its entry names whose on: takes slow.
    const entries = w.was === null ? [w.plan] : [w.plan, w.was.plan];
    // Due, with nothing in the way: running well past its warnAfter (counted from the action's start, when it
    // joined), seen so by a poll, before its deadline, with no outage, restart or refusing receiver until then.
    const p = w.plan;
    const warnedBy = w.beganMs + Math.max(p.warnAfterMs ?? Infinity, p.visibleAfterMs) + 30 * S;
    const clearUntilWarned = (from: number | undefined) => from === undefined || from > warnedBy;
    const warnDue = w.was === null && w.removed === null && !p.batched && p.kind !== 'never-recorded' && clearUntilWarned(sc.outage?.fromMs) && clearUntilWarned(sc.restart?.atMs) &&
      warnedBy < w.beganMs + Math.min(finishOf(p), w.judgedBy.deadlineMs);
    for (const notifier of NOTIFIERS) {
      const slow = own.filter((t) => t.outcome === null && t.notifier === notifier);
      const reliable = clearUntilWarned((notifier === 'chat' ? sc.hooksDown : sc.mailFault)?.fromMs);
      if (warnDue && reliable && named(notifier, [{ plan: p }]) && listens(sc, notifier, 'slow')) expect(slow.length, `${what}: ${notifier} never warned, running past its warnAfter`).toBeGreaterThan(0);
      if (slow.length === 0) continue;
      const about = `${what}: ${notifier} warned ${JSON.stringify(slow)}`;
      expect(new Set(slow.map((t) => t.id)).size, `${about} under several ids`).toBe(1);
      for (const t of slow) expect(t.savedOutcome, `${about} after the outcome was saved`).toBeNull();
      expect(entries.some((e) => !e.batched && e.warnAfterMs !== null && named(notifier, [{ plan: e }])), `${about}, which its entry leaves out`).toBe(true);
      expect(listens(sc, notifier, 'slow'), `${about}, which its on: leaves out`).toBe(true);
    }
    // The entry its verdict found (notify:, batch:), and whether the watch is told on its own: not in a batch
    // then, or taken out of its batch by the reload before its digest, which then owes it on its own.
    const w0 = w.was;
    const atVerdict = w0 !== null && w0.verdict !== null ? w0.plan : w.plan;
    const ownOwed = !atVerdict.batched || (w0 !== null && w0.plan.batched && w0.verdict !== null && !w0.reported && !w.plan.batched);
    // In a digest: of its batch as the file has it, or of the one that reported it before the reload.
    const inDigest = (w.plan.batched && w.removed === null) || (w0?.plan.batched === true && w0.reported) || (w.removed?.reported ?? false);
    expect(rounds.length, `${what}: in ${rounds.length} final digests, wanted ${inDigest ? 1 : 0}`).toBe(inDigest ? 1 : 0);
    for (const d of rounds) expect(d.members.find((m) => m.key.includes(requestId))!.outcome, `${what}: its digest says another outcome`).toBe(outcome);
    if (inDigest) verdicts.push({ plan: w0 !== null && w0.reported ? w0.plan : w.plan, outcome: outcome!, requestId, round: rounds[0]?.round ?? null });
    for (const notifier of NOTIFIERS) {
      const got = mine.filter((t) => t.notifier === notifier);
      const about = `${what}: ${notifier}`;
      expect(new Set(got.map((t) => t.outcome)).size, `${about} told contradicting outcomes`).toBeLessThanOrEqual(1);
      for (const t of got) expect(t.outcome, `${about} told another outcome than the one saved`).toBe(outcome);
      expect(new Set(got.map((t) => t.id)).size, `${about} told under several ids`).toBeLessThanOrEqual(1);
      if (!ownOwed || !owed(sc, notifier, [{ plan: atVerdict, outcome: outcome! }])) {
        expect(got, `${about} told on its own, which its batch:, notify: or on: leave out`).toEqual([]);
        continue;
      }
      if (notifier === 'chat') expect(got.some((t) => t.taken), `${about} never took it`).toBe(true);
      else for (const r of RECIPIENTS) if (!mayBeRefusedForGood(sc, r)) expect(got.some((t) => t.to.includes(r)), `${about} never reached ${r}`).toBe(true);
    }
  }
  // Taken twice only after a crash (a restart that cut deliveries off): a mail relay takes a message put off
  // for some recipients again for those alone, and a receiver that took one is not sent it again.
  if (sc.restart?.cut !== true) {
    const takes = new Map<string, number>();
    for (const t of [...told, ...digests]) {
      if (!t.taken) continue;
      for (const r of t.notifier === 'chat' ? ['chat'] : t.to) takes.set(`${t.id} to ${r}`, (takes.get(`${t.id} to ${r}`) ?? 0) + 1);
    }
    expect([...takes].filter(([, n]) => n > 1), 'taken more than once with no crash').toEqual([]);
  }
  // The batch's digests: each final round once per notifier owed it, saying what was saved of its watches.
  const byRound = new Map<number, typeof verdicts>();
  for (const v of verdicts) if (v.round !== null) byRound.set(v.round, [...(byRound.get(v.round) ?? []), v]);
  for (const d of digests) {
    const shown = JSON.stringify({ ...d, members: [...(d.members ?? [])] });
    expect(d.saved, `digest ${shown} arrived before the state on disk held it`).toBe(true);
    if (d.type !== 'ecs.batch.partial') continue;
    expect(d.finalSaved, `partial digest ${shown} arrived once the final one of its round was saved`).toBe(false);
    expect(sc.batchWindowMs, `partial digest ${shown} with no batchWindow`).not.toBeNull();
    const partials = digests.filter((g) => g.type === d.type && g.notifier === d.notifier && g.round === d.round);
    expect(new Set(partials.map((g) => g.id)).size, `partial digest ${shown} under several ids`).toBe(1);
  }
  for (const d of finals) {
    const members = byRound.get(d.round) ?? [];
    const what = `final digest of round ${d.round} (${JSON.stringify(members)}), received ${JSON.stringify(digests.filter((g) => g.round === d.round).map((g) => ({ ...g, members: [...(g.members ?? [])] })))}`;
    for (const notifier of NOTIFIERS) {
      const got = digests.filter((g) => g.notifier === notifier && g.round === d.round && g.type === 'ecs.batch.finished');
      expect(new Set(got.map((g) => g.id)).size, `${what}: ${notifier} told under several ids`).toBeLessThanOrEqual(1);
      for (const g of got) {
        if (g.members !== null) expect(Object.fromEntries(g.members), `${what}: ${notifier} told other outcomes than saved`).toEqual(Object.fromEntries(members.map((m) => [m.requestId, m.outcome])));
      }
      if (!owed(sc, notifier, members)) {
        expect(got, `${what}: ${notifier} told, which its watches' notify: and its on: leave out`).toEqual([]);
        continue;
      }
      if (notifier === 'chat') expect(got.some((g) => g.taken), `${what}: chat never took it`).toBe(true);
      else for (const r of RECIPIENTS) if (!mayBeRefusedForGood(sc, r)) expect(got.some((g) => g.to.includes(r)), `${what}: ops-mail never reached ${r}`).toBe(true);
    }
  }
}

// A few runs of fixed scenarios keep the file fast (8 runs, with mail, batches and edits of the file: 4.8 s of
// test, 7.0 s with vitest's start, 8.1 s wall at a load of 1.3; 15 s of test before the timers were fake); a search for new failures runs many more from
// seeds of its own (about 0.3-0.4 s a run): SCENARIO_RUNS=500 SCENARIO_SEED=<n> npx vitest run
// test/e2e/scenarios.property.test.ts. A failure prints its seed and the scenario (its `seed` makes the
// backoffs' jitter the same again), to be made a test of its own.
const RUNS = Number(process.env['SCENARIO_RUNS'] ?? 8);
const SEED = Number(process.env['SCENARIO_SEED'] ?? 20261206);

it(
  'tells each watch one outcome, the contract\'s, under one webhook-id, only once saved, whatever the API, the receiver and a restart do meanwhile',
  async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb.filter(clearOfDeadlines), (sc) => runScenario(sc)),
      // Shrinking would run hundreds of whole scenarios more; the one that failed is small enough to read.
      // SCENARIO_PATH (the `path` a failure prints, with its seed) runs that scenario first.
      { numRuns: RUNS, seed: SEED, endOnFailure: true, ...(process.env['SCENARIO_PATH'] === undefined ? {} : { path: process.env['SCENARIO_PATH'] }) },
    );
  },
  Math.max(CPU_BOUND_TEST_TIMEOUT_MS, RUNS * 5000),
);
