import { isAbsolute, resolve } from 'node:path';
import pLimit from 'p-limit';
import type { EcsClient } from '../../cloud/client.ts';
import { dictionary } from '../../data/dictionary.ts';
import { signalExitStatus } from '../signals.ts';
import { StateError } from '../../state/StateError.ts';
import { watchName, type WatchStatus } from '../../watch/engine.ts';
import { kindOf, watchKey } from '../../watch/kinds/index.ts';
import { formatEvents } from '../../watch/progress.ts';
import { cloudSetting, startOnThisClock } from '../../watch/judgement.ts';
import type { CommandContext } from '../context.ts';
import { configOrReport, settingError } from '../loadConfig.ts';
import { ConfigError } from '../../config/ConfigError.ts';
import { loadConfigFile } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { discardedMetrics } from '../../observability/discardedMetrics.ts';
import { cutToWidth, displayWidth, formatAge, printable, renderTable, stateStyle } from '../table.ts';
import { terminalWidth, wantsColour } from '../terminal.ts';
import type { TrackedProjectRecord, TrackedServerRecord, VerdictRecord } from '../../state/types.ts';
import { neverFound } from '../../track/tracker.ts';
import { digestAwaited, digestDeliveries, notifiedOf, notifiedWord, ownDeliveries, warningDeliveries, type Notified, type NotifierDelivery } from '../../state/notified.ts';
import { NOTICEABLE_PAUSE_MS, holdText, throttleText } from '../throttled.ts';
import { RateLimiter } from '../../cloud/rateLimiter.ts';
import { fixIn, pollFix, type PollFix } from '../pollFixes.ts';
import type { PollFailureCause } from '../../watch/pollFailures.ts';

/**
 * What `check` does not read: it tells no one and serves nothing, so that the notifiers' secrets need not be
 * set where an operator runs it. The notifiers' names are still read: a watch that names one the file lacks
 * is refused as `validate` refuses it, since `run` would refuse the file too, and a check that passed would
 * hide that. `track:` is read though check starts no tracking: whether the file has it tells whether a
 * daemon state not found hides watches.
 */
const UNUSED_SECTIONS = ['notifiers', 'delivery', 'shutdown', 'http'];

const WITHOUT_STATE = "checking without the daemon's state: ages count from this check, and auto-tracked watches are not shown";

/** The section of an issue of an unset `${VAR}` in `state:` or `track:`, which add context only: else undefined. */
function contextSection(issue: ConfigError['issues'][number]): 'state' | 'track' | undefined {
  return issue.cause === 'environment' ? (/^(state|track)(\.|\[|$)/.exec(issue.path)?.[1] as 'state' | 'track' | undefined) : undefined;
}

/**
 * The watch file as check reads it, the variable of `state:` that is not set here, and whether `track:` has
 * one, when that is all that stops it: the daemon's environment has it (a unit's STATE_DIRECTORY, a server id
 * its Environment= gives), the operator's shell need not, and the state only adds context to the polls, as
 * one that cannot be read does; `track:` only tells whether a state not found hides watches.
 */
async function loadChecked(ctx: CommandContext): Promise<{ config: Config; stateVariable: string | undefined; tracks: boolean } | null> {
  let stateVariable: string | undefined;
  let trackUnset = false;
  const config = await configOrReport(ctx, async (onWarning) => {
    const load = (omitSections: readonly string[]) => loadConfigFile(ctx.configPath, { omitSections, env: ctx.env, onWarning });
    try {
      return await load(UNUSED_SECTIONS);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const sections = new Set(err.issues.map(contextSection));
      if (sections.size === 0 || sections.has(undefined)) throw err;
      stateVariable = err.issues.find((issue) => contextSection(issue) === 'state')?.variable;
      trackUnset = sections.has('track');
      return load([...UNUSED_SECTIONS, ...[...sections].filter((section) => section !== undefined)]);
    }
  });
  return config && { config, stateVariable, tracks: trackUnset || config.track.length > 0 };
}

export async function run(ctx: CommandContext): Promise<number> {
  const loaded = await loadChecked(ctx);
  if (!loaded) return 2;
  const { config, stateVariable, tracks } = loaded;
  // The daemon's state gives each watch its tracking start; `check` reads it and never writes it.
  // Auto-tracking is the daemon's: check shows the watches it started (from the state), and starts none.
  // Loaded only once the file is valid: an invalid one is reported without the HTTP and state parts.
  const [{ createApp }, logger] = await Promise.all([import('../../app.ts'), ctx.logger()]);
  // No notifiers, not even a notifiers section kept because a section check reads aliases its anchor: a
  // verdict owes no delivery (whose id, a sha256, would load node:crypto).
  const checked = { ...config, notifiers: {}, track: [] };
  const limiter = new RateLimiter(config.poll.rateLimit, logger.child({ component: 'cloud' }));
  limiter.onPause((pause) => {
    if (pause.forMs >= NOTICEABLE_PAUSE_MS) ctx.stderr.write(`ecs-action-watch check: ${throttleText(pause, pause.forMs)}; Ctrl-C stops the check\n`);
  });
  const { rateLimit } = config.poll;
  limiter.onHold((hold) => {
    if (rateLimit !== undefined && hold.forMs >= NOTICEABLE_PAUSE_MS) ctx.stderr.write(`ecs-action-watch check: ${holdText(rateLimit, hold.forMs)}; Ctrl-C stops the check\n`);
  });
  let stateRead = stateVariable === undefined;
  if (!stateRead) ctx.stderr.write(`warning: state.path: environment variable ${stateVariable} is not set here (the daemon's environment has it); ${WITHOUT_STATE}\n`);
  const app = await createApp(checked, { logger, metrics: discardedMetrics(), state: stateRead ? 'read-only' : 'memory', limiter }).catch(async (err: unknown) => {
    // The state only adds context; the polls are what the operator asked for (on a host where the daemon's
    // state is another user's, say), so an unusable one is said and left out rather than ending the check.
    if (!(err instanceof StateError)) throw err;
    stateRead = false;
    ctx.stderr.write(`warning: ${err.message}; ${WITHOUT_STATE}\n`);
    return createApp(checked, { logger, metrics: discardedMetrics(), state: 'memory', limiter });
  }).catch(settingError);
  // Ctrl-C cuts the polls in flight at once: nothing of check's is worth waiting for.
  const interrupt = () => void app.close({ drainMs: 0 });
  ctx.signal.addEventListener('abort', interrupt, { once: true });
  try {
    // A signal that came while the file and the state were read (up to a second for 1,000 watches) fired no listener.
    if (ctx.signal.aborted) return signalExitStatus(ctx.signal);
    // Whom the daemon told of its verdicts, and that in a word; this check's polls start from none.
    const told = new Map<string, Told>();
    // The daemon's verdicts themselves: what it told is settled, and judged again here without the memory of
    // its polls (let go once told: when a poll first saw the finish, say) a watch could read otherwise.
    const decided = new Map<string, VerdictRecord>();
    // What the daemon tried to tell of each watch on its own, its outcome and its early warning, by name: a
    // watch taken out of the file since (`remove`) keeps what the daemon owes of it, and is still tried. A
    // watch of a batch is told in a digest, listed once for all its watches.
    const sent: Sent[] = [];
    const batchOf = (label: string) => app.store.getBatch(label);
    for (const [key, record] of app.store.entries()) {
      const notified = notifiedOf(key, record, batchOf);
      if (notified) told.set(key, { notified, word: notifiedWord(notified, digestAwaited(key, record, batchOf)) });
      if (record.verdict) decided.set(key, record.verdict);
      sent.push({ key, name: record.name, id: kindOf(record).label(record).id, outcome: ownDeliveries(record), warning: warningDeliveries(record) });
      record.verdict = null;
      record.deliveries = dictionary();
    }
    const digests = app.store.batches().flatMap((batch) => batch.digests.map((digest): SentDigest => ({ label: batch.label, round: digest.round, final: digest.final, watches: digest.members.length, deliveries: digestDeliveries(digest) })));
    const toldOf = (s: WatchStatus) => told.get(watchKey(s.record)) ?? null;
    const started = Date.now();
    // Decided first: a watch the daemon judged shows its verdict's reason, and has no hint to read.
    const polled = (await app.engine.pollOnce()).map((s) => asDecided(s, decided.get(watchKey(s.record))));
    const statuses = await withNotFoundHints(polled, app.client, { concurrency: config.poll.concurrency, signal: ctx.signal });
    if (ctx.signal.aborted) return signalExitStatus(ctx.signal);
    const now = Date.now();
    const cloudNow = app.client.clock.now();
    if (ctx.options['json']) {
      ctx.stdout.write(`${JSON.stringify(statuses.map((s) => ({ ...toJson(s, { now, cloudNow }), notified: toldOf(s)?.notified ?? null })), null, 2)}\n`);
    } else {
      const width = terminalWidth(ctx.stdout);
      const nameOf = namesOf(statuses);
      ctx.stdout.write(`${table(statuses, nameOf, toldOf, { now, cloudNow, started }, wantsColour(ctx.stdout, ctx.env), width)}\n`);
      const fixes = fixLines(statuses, nameOf, ctx.configPath);
      if (fixes) ctx.stdout.write(`\n${fixes}\n`);
      if (stateRead && !app.store.found && (statuses.length > 0 || tracks)) ctx.stdout.write(`\n${noStateLine(config.state.path, statuses.length > 0, tracks)}\n`);
      const undelivered = undeliveredTable(statuses, nameOf, sent, digests, now, width);
      if (undelivered) ctx.stdout.write(`\n${undelivered}\n`);
      const { servers, projects } = app.store.tracking;
      if (Object.keys(servers).length + Object.keys(projects).length > 0) ctx.stdout.write(`\n${trackingTable(Object.values(servers), Object.values(projects), now, width)}\n`);
    }
    return statuses.some((s) => s.pollFailed) ? 1 : 0;
  } finally {
    ctx.signal.removeEventListener('abort', interrupt);
    await app.close({ drainMs: 0 });
    limiter.close();
  }
}

/**
 * Since the action (or job) started, as the API says, on the cloud's clock (`cloudNow`: this host's time
 * allowing for a cloud clock 30 s or more apart, cloudClock.ts) as it stood then, as the daemon's early
 * warning and stall check count it; before it was ever read, since tracking began.
 */
function ageMs(s: WatchStatus, { now, cloudNow }: Times): number {
  const startedAt = kindOf(s.record).progress(s.record)?.startedAt;
  if (startedAt == null) return now - Date.parse(s.record.trackingSince);
  return now - startOnThisClock({ now, cloudAheadMs: cloudNow - now, ...cloudSetting(s.record) }, startedAt);
}

interface Times {
  now: number;
  cloudNow: number;
}

/**
 * An id the API does not know (yet) is most often one copied wrong, and the operator who runs `check` is
 * there to fix it now rather than when the watch ends as not_found two minutes on: each such watch has the
 * hint its not_found would get (one more read, of the server's list of actions), where its kind has one,
 * `poll.concurrency` reads at a time as the polls were (a wrong projectId makes every watch such a one). A
 * read that fails leaves the watch as the poll saw it.
 */
async function withNotFoundHints(
  statuses: WatchStatus[],
  client: EcsClient,
  { concurrency, signal }: { concurrency: number; signal: AbortSignal },
): Promise<WatchStatus[]> {
  const limit = pLimit(concurrency);
  return Promise.all(statuses.map(async (s) => {
    const hinted = s.state === 'pending' && s.notFound ? kindOf(s.target).notFoundHint : undefined;
    const hint = hinted && (await limit(() => hinted(s.target, client, signal)).catch(() => ''));
    return hint ? { ...s, detail: `${s.detail}; ${hint}` } : s;
  }));
}

/**
 * A watch the daemon decided has its verdict: the outcome the operator was told, and why (not this poll's
 * 404, which the verdict has weighed). A poll of it that failed keeps its error, and NOTIFIED then names the
 * daemon's outcome: the error as the read failed, not what judging it again added past its deadline (`judged
 * once the API answers, or a timeout in 15 min`), a verdict the daemon will not give. A poll whose every read
 * the API answered did not fail, though judged afresh it could not conclude: a server deleted since, which
 * Nova answers 404 for and whose actions it hides, is what the verdict settled and the server's life went on
 * to, not the blip an undecided watch must allow for.
 */
function asDecided(s: WatchStatus, verdict: VerdictRecord | undefined): WatchStatus {
  if (verdict === undefined) return s;
  const answered = !s.pollFailed || (s.readError === null && s.errorCause !== 'internal');
  if (!answered) return s.readError === null ? s : { ...s, detail: `last poll failed: ${s.readError}` };
  return { ...s, pollFailed: false, errorCause: null, state: verdict.outcome, detail: verdict.reason, notFound: false };
}

/** What went wrong: this poll's error, the API's not knowing the id (yet), or why it failed, timed out or was not found. */
function lastError(s: WatchStatus): string | null {
  if (s.pollFailed || s.notFound) return s.detail;
  return s.state === 'pending' || s.state === 'success' ? null : s.detail;
}

/** One watch for scripts: an action as before jobs existed, a job with its `kind`, `jobId` and `job`. */
function toJson(s: WatchStatus, times: Times) {
  const kind = kindOf(s.record);
  const progress = kind.progress(s.record);
  const { watch, ...documents } = kind.facts(s.record);
  return {
    ...watch,
    name: watchName(s.target, s.record),
    // A job's type and sub-jobs stand where an action's name and events do.
    action: progress?.subject ?? null,
    events: progress?.total == null ? null : { done: progress.done, total: progress.total },
    state: s.state,
    pollFailed: s.pollFailed,
    ageSeconds: Math.round(ageMs(s, times) / 1000),
    trackingSince: s.record.trackingSince,
    lastError: lastError(s),
    // When this run of failed polls began, as the daemon's state has it (or at this poll); null when answered.
    failingSince: s.pollFailed ? s.record.failingSince : null,
    detail: s.detail,
    // `track`: auto-tracking started it (it lives in the state file, not the watch file).
    origin: 'discovered' in s.record && s.record.discovered ? 'track' : 'file',
    ...documents,
  };
}

/**
 * The projects and servers auto-tracking follows, as the daemon last saw them (check lists none itself): a
 * project whose listing fails has no server to show, and its error would be nowhere else. On a terminal a long
 * error is cut to the line, as in the tables above.
 */
function trackingTable(servers: TrackedServerRecord[], projects: TrackedProjectRecord[], now: number, width: number | undefined): string {
  const since = (at: string | null) => (at === null ? 'not yet' : formatAge(now - Date.parse(at)));
  const rows = [
    ...projects.map((p) => [`project ${p.projectId}`, '(all servers)', since(p.since), p.since === null ? 'starting' : 'tracking', p.lastError ?? '-']),
    ...servers.map((s) => [
      s.serverId,
      s.name ?? '-',
      since(s.since),
      s.endedAt !== null ? (neverFound(s) ? 'ended (never found)' : 'ended (server gone)') : s.since === null ? 'starting' : 'tracking',
      s.lastError ?? '-',
    ]),
  ];
  const header = ['TRACKED', 'NAME', 'FOR', 'STATE', 'LAST ERROR'];
  if (width) cutLastColumn(header, rows, width);
  return renderTable(header, rows);
}

/**
 * The LAST ERROR cell: a poll error the daemon's state shows failing since before this check says for how
 * long, since a watch unanswered for hours is not the blip that one failed poll may be.
 */
function errorCell(s: WatchStatus, { now, started }: Times & { started: number }): string {
  const error = lastError(s) ?? '-';
  const since = s.pollFailed && s.record.failingSince !== null ? Date.parse(s.record.failingSince) : NaN;
  return since < started ? `failing for ${formatAge(now - since)}: ${error}` : error;
}

/** What the daemon's state says it told of a watch's verdict, and that in a word (notifiedWord). */
interface Told {
  notified: Notified;
  word: string;
}

type ToldOf = (s: WatchStatus) => Told | null;

type NameOf = (s: WatchStatus) => string;

/** What each watch polled is called in the table and the lines below it (distinctNames). */
function namesOf(statuses: WatchStatus[]): NameOf {
  const names = distinctNames(statuses.map((s) => ({ name: watchName(s.target, s.record), id: kindOf(s.record).label(s.record).id })));
  const byKey = new Map(statuses.map((s, i) => [watchKey(s.record), names[i]!]));
  return (s) => byKey.get(watchKey(s.record))!;
}

/**
 * A watch's name, else what identifies it; a name that watches share, with the id of each. Auto-tracking
 * names a watch after its action and its server, so a server stopped again and again has as many rows of
 * `stop web-01`, which neither the table nor NOT DELIVERED could tell apart or match to each other; the id
 * (request id, or job id) is the one `--json`, the logs and the cloud know the watch by. Only where names
 * repeat: it makes NAME up to 43 columns wider, which LAST ERROR pays for on a terminal.
 */
function distinctNames(watches: { name: string | null; id: string }[]): string[] {
  const uses = new Map<string, number>();
  for (const { name } of watches) if (name !== null) uses.set(name, (uses.get(name) ?? 0) + 1);
  return watches.map(({ name, id }) => (name === null ? id : uses.get(name)! > 1 ? `${name} (${id})` : name));
}

/** The NOTIFIED cell: the daemon's outcome, where STATE does not show it (a poll that failed), and its notifications in a word. */
function notifiedCell(s: WatchStatus, told: Told | null): string {
  if (!told) return '-';
  const { notified, word } = told;
  return notified.outcome === s.state && !s.pollFailed ? word : `${notified.outcome}: ${word}`;
}

function table(statuses: WatchStatus[], nameOf: NameOf, toldOf: ToldOf, times: Times & { started: number }, colour: boolean, width: number | undefined): string {
  if (statuses.length === 0) return 'no watches in the file';
  const rows = statuses.map((s) => {
    const kind = kindOf(s.record);
    const label = kind.label(s.record);
    const progress = kind.progress(s.record);
    return [
      nameOf(s),
      label.where ?? '-',
      progress?.subject ?? '-',
      formatEvents(progress),
      s.pollFailed ? 'poll failed' : s.state,
      formatAge(ageMs(s, times)),
      notifiedCell(s, toldOf(s)),
      errorCell(s, times),
    ];
  });
  const header = ['NAME', 'SERVER', 'ACTION', 'EVENTS', 'STATE', 'AGE', 'NOTIFIED', 'LAST ERROR'];
  if (width) cutLastColumn(header, rows, width);
  const STATE = 4;
  const NOTIFIED = 6;
  const style = (row: number, column: number, cell: string) =>
    column === STATE ? stateStyle(cell as Parameters<typeof stateStyle>[0]) : column === NOTIFIED && cell.endsWith('given up') ? 'red' : null;
  return renderTable(header, rows, colour ? style : undefined);
}

/** How many of a cause's watches its line names before `and N more`. */
const NAMED = 3;

/**
 * Below the table, what to do about the polls that failed, from what `wait` says when it gives up: a line per
 * cause, naming its watches, since an outage fails tens of watches alike and the cause is one. A cause that
 * has nothing to add to the error in LAST ERROR (a server UNKNOWN, a fault of ours) has none.
 */
function fixLines(statuses: WatchStatus[], nameOf: NameOf, configPath: string): string | null {
  const causes = new Map<PollFailureCause, { fix: PollFix; names: string[] }>();
  for (const s of statuses) {
    const failedOf = s.pollFailed ? s.errorCause : null;
    const fix = pollFix(failedOf, 'check');
    if (failedOf === null || fix === undefined) continue;
    const cause = causes.get(failedOf) ?? { fix, names: [] };
    cause.names.push(nameOf(s));
    causes.set(failedOf, cause);
  }
  if (causes.size === 0) return null;
  const which = (names: string[]) =>
    names.length > 1 && names.length === statuses.length ? `all ${names.length} watches`
    : names.length > NAMED ? `${names.slice(0, NAMED).join(', ')} and ${names.length - NAMED} more`
    : names.join(', ');
  return [...causes.values()].map(({ fix, names }) => printable(`${fix.says} for ${which(names)}: ${fixIn(fix, configPath)}`)).join('\n');
}

/**
 * Without the daemon's state every NOTIFIED is `-`, which reads as "told no one", and the watches
 * auto-tracking started, which live only in the state, are missing, which reads as "none started" (a file of
 * `track:` alone shows `no watches in the file`): said, with the likely cause, a relative `state.path` (the
 * default) read from another folder than the daemon's working one.
 */
function noStateLine(statePath: string, watches: boolean, tracking: boolean): string {
  const where = isAbsolute(statePath)
    ? 'the daemon has saved none there yet, or runs with another state.path'
    : `state.path ${statePath} is relative to the folder a command runs in: run check in the daemon's working folder, or give state.path as an absolute path`;
  const unknown = [watches ? 'NOTIFIED is - and ages count from this check' : null, tracking ? 'the watches auto-tracking started are not shown' : null].filter((said) => said !== null);
  return printable(`No daemon state at ${resolve(statePath)}, so ${unknown.join(', and ')}: ${where}`);
}

/** A watch's notifications of its own in the daemon's state, as check found them: of its outcome and of its early warning. */
interface Sent {
  key: string;
  /** Its name in the state, if it has one. */
  name: string | null;
  /** What identifies it: its request id, or its job id. */
  id: string;
  outcome: Record<string, NotifierDelivery>;
  warning: Record<string, NotifierDelivery>;
}

/** A batch's digest in the daemon's state, as check found it. */
interface SentDigest {
  label: string;
  round: number;
  final: boolean;
  /** How many watches it reports. */
  watches: number;
  deliveries: Record<string, NotifierDelivery>;
}

/**
 * Below the table, each notification the daemon has not delivered after trying, of an outcome, of an early
 * warning (`<name>: early warning`) or of a batch's digest (`batch <label>: digest of <n> watches`, once
 * for all of them): given up, or still tried (`retrying in` says when it is next), of the watches polled and
 * of those the state keeps that the file no longer lists. One owed and not yet tried is the daemon's next
 * step, not a problem, and not listed, unless it waits for a notifier a reload took out of the file
 * (`heldSince`, which parts that have the notifier again clear as they start): it is not tried meanwhile,
 * and is given up at delivery.maxAge.
 */
function undeliveredTable(statuses: WatchStatus[], nameOf: NameOf, sent: Sent[], digests: SentDigest[], now: number, width: number | undefined): string | null {
  const byKey = new Map(sent.map((w) => [w.key, w]));
  const polled = new Set(statuses.map((s) => watchKey(s.record)));
  const labels = new Set(statuses.flatMap((s) => s.target.batch ?? []));
  // In the table's order, then the digests, then those of watches no longer in the file.
  const inFile = statuses.flatMap((s) => {
    const w = byKey.get(watchKey(s.record));
    return w === undefined ? [] : ownRows(nameOf(s), w);
  });
  const left = sent.filter((w) => !polled.has(w.key));
  const gone = distinctNames(left).flatMap((name, i) => ownRows(`${name} (not in the file)`, left[i]!));
  const told = [
    ...inFile,
    ...digests.flatMap((d) => rowsOf(`${digestName(d)}${labels.has(d.label) ? '' : ' (not in the file)'}`, d.deliveries)),
    ...gone,
  ];
  const rows = told
    .map(([what, notifier, d]) => [what, notifier, d, d.heldSince !== undefined] as const)
    .filter(([, , d, waiting]) => d.status === 'given_up' || (d.status === 'pending' && (d.attempts > 0 || waiting)))
    .map(([what, notifier, d, waiting]) => [
      what,
      notifier,
      d.status === 'given_up' ? 'given up' : waiting ? 'waiting (notifier not in the file)' : retryingCell(d.nextAttemptAt, now),
      String(d.attempts),
      d.lastError ?? '-',
    ]);
  if (rows.length === 0) return null;
  const header = ['NOT DELIVERED', 'NOTIFIER', 'STATE', 'ATTEMPTS', 'LAST ERROR'];
  if (width) cutLastColumn(header, rows, width);
  return renderTable(header, rows);
}

type Row = readonly [what: string, notifier: string, delivery: NotifierDelivery];

function rowsOf(what: string, deliveries: Record<string, NotifierDelivery>): Row[] {
  return Object.entries(deliveries).map(([notifier, d]) => [what, notifier, d] as const);
}

function ownRows(name: string, { outcome, warning }: Sent): Row[] {
  return [...rowsOf(name, outcome), ...rowsOf(`${name}: early warning`, warning)];
}

/** What a digest's row is called: its batch, a partial one so named, a round after the first numbered, and how many watches it reports. */
function digestName({ label, round, final, watches }: SentDigest): string {
  return `batch ${label}: ${final ? 'digest' : 'partial digest'}${round > 1 ? ` (round ${round})` : ''} of ${watches} watch${watches === 1 ? '' : 'es'}`;
}

/**
 * A notification still tried: when its next attempt is, unless it is due (or the daemon is not running).
 * One under a second away is due as far as whole seconds tell: `retrying in 0s` read as stuck at zero.
 */
function retryingCell(nextAttemptAt: string | null, now: number): string {
  const inMs = nextAttemptAt === null ? 0 : Date.parse(nextAttemptAt) - now;
  return inMs >= 1000 ? `retrying in ${formatAge(inMs)}` : 'retrying';
}

/** On a terminal a long error is cut to the line, ending in …; `--json` has it whole. */
function cutLastColumn(header: string[], rows: string[][], width: number): void {
  const last = header.length - 1;
  const before = header.slice(0, last).reduce((sum, h, i) => sum + Math.max(h.length, ...rows.map((r) => displayWidth(printable(r[i]!)))) + 2, 0);
  const room = Math.max(20, width - before);
  for (const row of rows) row[last] = cutToWidth(printable(row[last]!), room);
}
