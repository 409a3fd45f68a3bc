import { defaultProject } from '../../config/schema.ts';
import { notificationFor } from '../../delivery/notification.ts';
import type { Outcome } from '../../model.ts';
import { renderWebhookBody } from '../../notify/render.ts';
import type { WatchEngine, WatchStatus } from '../../watch/engine.ts';
import { kindOf } from '../../watch/kinds/index.ts';
import type { WatchTarget } from '../../watch/kinds/types.ts';
import type { WatchRecord } from '../../state/types.ts';
import { UsageError, type CommandContext } from '../context.ts';
import { CONFIG_ERROR, loadConfigOrReport, settingError } from '../loadConfig.ts';
import { discardedMetrics } from '../../observability/discardedMetrics.ts';
import { signalExitStatus } from '../signals.ts';
import { optionText, watchedIdentity } from '../options.ts';
import { parsedWatchOptions } from '../watchOptions.ts';
import { cutToWidth, formatAge, printable } from '../table.ts';
import { formatDuration } from '../../watch/format.ts';
import { obeysEscapes, terminalWidth } from '../terminal.ts';
import { NOTICEABLE_PAUSE_MS, throttleText } from '../throttled.ts';
import { fixIn, pollFix } from '../pollFixes.ts';
import { RateLimiter, type ThrottlePause } from '../../cloud/rateLimiter.ts';

const EXIT: Record<Outcome, number> = { success: 0, failure: 1, timeout: 3, not_found: 4 };
/**
 * What `wait` does not read: it notifies nobody, keeps no state, serves nothing and follows only its own
 * action, so that the secrets and paths of these need not be set in a pipeline's job.
 */
const UNUSED_SECTIONS = ['notifiers', 'delivery', 'state', 'shutdown', 'http', 'watches', 'track'];
/**
 * setTimeout's longest delay (about 24.8 days); a longer one fires at once, with a warning. A 24d --timeout
 * plus twice a long cloud.timeout goes past it: the wait would end as a timeout at its start.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** wait's name for the watch's deadline. */
const RENAMED = { deadline: '--timeout' };

export async function run(ctx: CommandContext): Promise<number> {
  const identity = watchedIdentity(ctx);
  const project = optionText(ctx, 'project');
  const config = await loadConfigOrReport(ctx, { omitSections: UNUSED_SECTIONS });
  if (!config) return CONFIG_ERROR;
  const target = targetFrom(ctx, {
    ...identity,
    projectId: project ?? defaultProject(config.cloud),
    deadline: (ctx.options['timeout'] as string | undefined) ?? config.poll.deadline,
  });
  // Only the one action or job: no notifiers, and a state of its own so that the daemon's is left alone.
  const [{ createApp }, logger] = await Promise.all([import('../../app.ts'), ctx.logger()]);
  const started = Date.now();
  const limiter = new RateLimiter(config.poll.rateLimit, logger.child({ component: 'cloud' }));
  const app = await createApp({ ...config, notifiers: {}, watches: [], track: [] }, { logger, metrics: discardedMetrics(), state: 'memory', limiter }).catch(settingError);
  const hinted = kindOf(target).notFoundHint;
  const progress = withNotFoundHint(
    obeysEscapes(ctx.stderr, ctx.env) ? new ProgressLine(ctx.stderr) : new ProgressLog(ctx.stderr),
    hinted && (() => hinted(target, app.client, ctx.signal)),
  );
  // Before the first request: the engine starts below.
  limiter.onPause((pause) => progress.throttled(pause));
  try {
    app.engine.setWatches([target]);
    const heldUpAfter = (last: WatchStatus | undefined, answeredPastDeadline: boolean) => {
      // Before any pass came back the record is the one the first pass began with, if it got that far.
      const record = last?.record ?? app.store.entries()[0]?.[1] ?? kindOf(target).newRecord(target, new Date(started).toISOString());
      const grace = formatDuration(2 * config.cloud.timeout);
      // The daemon gives a cloud that fails at the deadline a while to answer, and a verdict seen in time the
      // reads that confirm it; wait, which has --timeout, does not.
      const failed = last?.pollFailed === true && record.lastError !== null;
      const why = failed
        ? `the poll due then failed: ${record.lastError}`
        : answeredPastDeadline
          ? `${last?.detail}; so still ${grace} (twice cloud.timeout) past --timeout, when wait gives up`
          : `${last?.detail ?? 'no answer from the cloud yet'}; the poll due then had no answer within ${grace} (twice cloud.timeout)`;
      // Only a poll due then that answered tells that the action had not finished by then: one that failed or
      // did not come back leaves that unknown, as the daemon's timeout then says (judgement.ts unreadTimeout).
      return heldUp(target, record, why, target.deadlineMs, !failed && answeredPastDeadline);
    };
    const status = await untilSettled(app.engine, target.deadlineMs, 2 * config.cloud.timeout, ctx.signal, progress, heldUpAfter);
    progress.clear();
    if (status === null) return signalExitStatus(ctx.signal);
    const verdict = status.record.verdict;
    if (verdict === null) {
      const fix = pollFix(status.errorCause, 'wait') ?? { says: 'the cloud refused the request', fix: 'check the cloud section' };
      // A project given on the command line is what the file's settings were checked against: the fix that
      // names the watch's project or cloud.projectId sent a pipeline's author to a file that has neither wrong.
      const given = fix.project && project !== undefined ? `; the project here is --project ${printable(project)}, not the file's` : '';
      ctx.stderr.write(`ecs-action-watch wait: ${fix.says}: ${printable(status.detail)} (${fixIn(fix, ctx.configPath)}${given})\n`);
      return CONFIG_ERROR;
    }
    // A wait that ended before the API had ever shown the action (a --timeout under not_found's two minutes)
    // keeps the hint its progress line gave: the id most likely meant.
    const hint = verdict.outcome === 'timeout' && !status.record.everFound && progress.clause !== '' ? `; ${progress.clause}` : '';
    ctx.stdout.write(ctx.options['json'] ? `${renderWebhookBody(notificationFor(status.record, verdict))}\n` : `${verdict.outcome}: ${printable(verdict.reason)}${hint}\n`);
    return EXIT[verdict.outcome];
  } finally {
    progress.clear();
    // Nothing of wait's is worth draining (no notifications, a state in memory): a poll the cloud holds up
    // is cut rather than waited for.
    await app.close({ drainMs: 0 });
    limiter.close();
  }
}

/** The options as the watch the engine follows; each bad value is a usage error naming its option. */
function targetFrom(ctx: CommandContext, input: ReturnType<typeof watchedIdentity> & { projectId: string | undefined; deadline: string | number }): WatchTarget {
  if (input.projectId === undefined) throw new UsageError(`no project: give --project ID, or set cloud.projectId (or cloud.auth.projectId) in ${ctx.configPath}`);
  const deadline = typeof input.deadline === 'number' ? `${input.deadline}ms` : input.deadline;
  const { deadline: deadlineMs, ...watch } = parsedWatchOptions({ ...input, deadline }, RENAMED);
  return { ...watch, projectId: watch.projectId!, deadlineMs: deadlineMs!, notify: [] };
}

/**
 * Follows the engine's passes until the watch has an outcome or the cloud refuses us; null when interrupted.
 * One more pass comes when `--timeout` runs out, rather than at the schedule's next tick, which may be an
 * hour away. That pass has two requests' time (2 × `cloud.timeout`: the action, then the server) to come
 * back: one the cloud holds up (a 429 whose Retry-After is an hour, a connection that hangs through every
 * retry) ends the wait as a timeout, from what the passes before it saw, rather than holding the pipeline
 * far past `--timeout`.
 */
function untilSettled(
  engine: Pick<WatchEngine, 'start' | 'pollOnce'>,
  deadlineMs: number,
  graceMs: number,
  signal: AbortSignal,
  progress: Progress,
  heldUpAfter: (last: WatchStatus | undefined, answeredPastDeadline: boolean) => WatchStatus,
): Promise<WatchStatus | null> {
  return new Promise((resolve) => {
    let deadlinePass: NodeJS.Timeout | undefined;
    let last: WatchStatus | undefined;
    // Whether `last` came back at or past the deadline: then the poll due there did answer.
    let answeredPastDeadline = false;
    let settled = false;
    // Armed now, not at the first pass: that pass may be the one held up (tracking begins as it starts);
    // armed again from when tracking began once that pass says.
    const giveUp = () => settle(heldUpAfter(last, answeredPastDeadline));
    let overdue = setTimeout(giveUp, Math.min(deadlineMs + 10 + graceMs, MAX_TIMER_MS));
    const settle = (status: WatchStatus | null) => {
      settled = true;
      clearTimeout(deadlinePass);
      clearTimeout(overdue);
      resolve(status);
    };
    if (signal.aborted) return settle(null);
    signal.addEventListener('abort', () => settle(null), { once: true });
    const atDeadline = () => void engine.pollOnce().then(onPass);
    const onPass = ([status]: WatchStatus[]) => {
      // A pass that ends after the wait has (its poll cut by close(), "stopping") is no news: its line would
      // come after the result.
      if (status === undefined || settled) return;
      last = status;
      const deadlineAt = Date.parse(status.record.trackingSince) + deadlineMs;
      answeredPastDeadline = Date.now() >= deadlineAt;
      // The deadline counts from when tracking began, at the first pass (a little past it: the verdict needs it
      // reached); a first pass that came back after it (--timeout 1ms, a slow cloud) asks again at once.
      if (deadlinePass === undefined) {
        const untilDeadline = Math.max(0, deadlineAt - Date.now() + 10);
        deadlinePass = setTimeout(atDeadline, untilDeadline);
        clearTimeout(overdue);
        overdue = setTimeout(giveUp, Math.min(untilDeadline + graceMs, MAX_TIMER_MS));
      }
      if (status.state !== 'pending' || hopeless(status)) settle(status);
      else if (status.pollFailed && answeredPastDeadline) giveUp();
      else progress.show(status);
    };
    void engine.start(onPass);
  });
}

/**
 * An error no amount of waiting mends (pollFixes.ts): a pipeline is told at once, not at --timeout. One that
 * says the settings are wrong only until the API has answered for the action is, once it has, a blip (a
 * gateway's stray 404, a server behind the name with a bad certificate), as it is for the daemon.
 */
function hopeless({ errorCause, record }: WatchStatus): boolean {
  const fix = pollFix(errorCause, 'wait');
  return fix !== undefined && !fix.passes && !(record.everFound && fix.untilFound);
}

/**
 * A timeout from what the passes before saw, when the pass due at the deadline failed or did not come back in
 * time (`answered`: it came back, and confirms an end seen in time still).
 */
function heldUp(target: WatchTarget, record: WatchRecord, why: string, deadlineMs: number, answered: boolean): WatchStatus {
  const reason = answered ? `not finished ${formatDuration(deadlineMs)} after tracking began: ${why}` : `not known to have finished within ${formatDuration(deadlineMs)}: ${why}`;
  const verdict = { outcome: 'timeout' as const, reason, detectedAt: new Date().toISOString() };
  return { target, record: { ...record, verdict }, pollFailed: false, errorCause: null, readError: null, state: 'timeout', detail: reason, notFound: false };
}

/** Where the action is, on stderr, for whoever follows the wait. */
interface Progress {
  show(status: WatchStatus): void;
  /** A 429 began a pause of every request: the progress says so, as its log level would not. */
  throttled(pause: ThrottlePause): void;
  clear(): void;
}

/** Where a pass found the action (`resize: 2/3 events done, compute_finish_resize running`), and its text with the poll's error. */
function describe(status: WatchStatus): { where: string; text: string } {
  const progress = kindOf(status.record).progress(status.record);
  const steps = progress?.total == null ? '' : `${progress.done}/${progress.total} ${progress.unit} done`;
  const step = progress?.running.length ? `${progress.running.join(', ')} running` : '';
  const where = progress ? [progress.subject, [steps, step].filter(Boolean).join(', ')].filter(Boolean).join(': ') : '';
  return { where, text: status.pollFailed ? `${where ? `${where}; ` : ''}${status.detail}` : where || status.detail };
}

/**
 * The progress with, once the API has said it does not know the id, what its lists suggest the id was
 * meant to be (`check`'s hint, read once): a pipeline's log shows it at once rather than with the exit 4
 * two minutes on. A hint that comes after the wait has ended is dropped.
 */
function withNotFoundHint(progress: Progress, hint: (() => Promise<string>) | undefined): Progress & { readonly clause: string } {
  let clause = '';
  let asked = false;
  let ended = false;
  let last: WatchStatus | undefined;
  const show = (status: WatchStatus) => progress.show(status.notFound && clause !== '' ? { ...status, detail: `${status.detail}; ${clause}` } : status);
  return {
    show(status) {
      last = status;
      if (status.notFound && !asked && hint !== undefined) {
        asked = true;
        hint().then(
          (found) => {
            clause = found;
            if (!ended && clause !== '' && last?.notFound) show(last);
          },
          () => undefined,
        );
      }
      show(status);
    },
    throttled(pause) {
      // A 429 to the hint's read may come after the wait has ended, its result written.
      if (!ended) progress.throttled(pause);
    },
    clear() {
      ended = true;
      progress.clear();
    },
    /** The hint once it has come ('' before, or for an id the server lists). */
    get clause() {
      return clause;
    },
  };
}

const FIRST_TEXT = 'waiting for the first answer';

/** What both kinds of progress show: where the action is, and how long `wait` has waited since `started`. */
function progressText(text: string, started: number): string {
  return `${printable(text)} · ${formatAge(Date.now() - started)}`;
}

/** One line on the terminal, rewritten in place: where the action is, and for how long we have waited. */
class ProgressLine implements Progress {
  readonly #stream: NodeJS.WritableStream;
  readonly #started = Date.now();
  readonly #timer: NodeJS.Timeout;
  #text = FIRST_TEXT;
  #shown = false;
  /** The last pause a 429 began, until when (Date.now()'s clock): shown, counting down, while it lasts. */
  #pause: { until: number; retryAfterMs: number | undefined } | undefined;

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    this.#timer = setInterval(() => this.#render(), 1000);
    this.#timer.unref();
    this.#render();
  }

  show(status: WatchStatus): void {
    this.#text = describe(status).text;
    this.#render();
  }

  throttled({ forMs, retryAfterMs }: ThrottlePause): void {
    this.#pause = { until: Date.now() + forMs, retryAfterMs };
    this.#render();
  }

  clear(): void {
    clearInterval(this.#timer);
    if (this.#shown) this.#stream.write('\r\x1b[2K');
    this.#shown = false;
  }

  #render(): void {
    const remainingMs = this.#pause === undefined ? 0 : this.#pause.until - Date.now();
    const line = progressText(remainingMs > 0 ? `${this.#text}; ${throttleText(this.#pause!, remainingMs)}` : this.#text, this.#started);
    // A line longer than the terminal wraps, and \r would then rewrite only its last part.
    const width = (terminalWidth(this.#stream) || 80) - 1;
    this.#stream.write(`\r\x1b[2K${cutToWidth(line, width)}`);
    this.#shown = true;
  }
}

/**
 * A CI system ends a job that prints nothing for a while: 10 minutes by default on CircleCI
 * (`no_output_timeout`) and Travis, less where a pipeline sets it so (Jenkins' `timeout(activity: true)`).
 * A minute keeps far below those, at 60 lines an hour of an action that does not move.
 */
const HEARTBEAT_MS = 60_000;

/**
 * Without a terminal (a CI job's log), lines that stay: one when where the action is changes (found, an
 * event started or finished, a sub-job done) or when its polls begin to fail, and the last one again each
 * HEARTBEAT_MS without news. Plain text like the terminal's line and the command's own messages: a line for
 * people reading the job's log, not a log record.
 */
class ProgressLog implements Progress {
  readonly #stream: NodeJS.WritableStream;
  readonly #started = Date.now();
  readonly #heartbeat: NodeJS.Timeout;
  #text = FIRST_TEXT;
  #said: string | undefined;

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    this.#heartbeat = setInterval(() => this.#write(), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  show(status: WatchStatus): void {
    const { where, text } = describe(status);
    this.#text = text;
    // Failing polls are news at the first: the next ones' errors say it again, or differ only in detail.
    const news = status.pollFailed ? `failing at: ${where}` : text;
    if (news === this.#said) return;
    this.#said = news;
    this.#write();
    this.#heartbeat.refresh();
  }

  /** A line of its own for a pause someone would notice; a shorter one only slows the wait. */
  throttled(pause: ThrottlePause): void {
    if (pause.forMs < NOTICEABLE_PAUSE_MS) return;
    this.#write(`; ${throttleText(pause, pause.forMs)}`);
    this.#heartbeat.refresh();
  }

  clear(): void {
    clearInterval(this.#heartbeat);
  }

  #write(news = ''): void {
    this.#stream.write(`ecs-action-watch wait: ${progressText(`${this.#text}${news}`, this.#started)}\n`);
  }
}
