import { setTimeout as sleep } from 'node:timers/promises';
import { isAbsolute, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../observability/logger.ts';
import { createApp, targetsOf, type App } from '../app.ts';
import type { CloudConfig, Config, TrackSpec } from '../config/schema.ts';
import { parseConfig } from '../config/load.ts';
import { ConfigError, type ConfigIssue } from '../config/ConfigError.ts';
import { watchKey, type DurableDelivery } from '../state/store.ts';
import type { StateError } from '../state/StateError.ts';
import { createMetrics } from '../observability/metrics.ts';
import { whenAborted } from '../lifecycle/abort.ts';
import { startHealthServer, type HealthServer } from '../observability/http.ts';
import type { CommandContext } from './context.ts';
import { fileSignature, sameSignature, type FileSignature } from '../files/fileSignature.ts';
import { TargetHold, describeHeld } from '../watch/targetHold.ts';
import type { WatchTarget } from '../watch/kinds/types.ts';
import { watchLogFields } from '../watch/kinds/index.ts';
import { formatDuration } from '../watch/format.ts';
import { keptChanging, readSettledWatchFile } from './settledWatchFile.ts';
import { collectGarbage, parseBetweenCollections } from './daemonV8.ts';
import { fileProblem } from '../files/fileProblem.ts';
import { extraCaCertsWarning } from '../net/environment.ts';
import { RateLimiter } from '../cloud/rateLimiter.ts';
import { movedNotifiers, retunedNotifiers, type NotifierConfig } from '../notify/registry.ts';
import { receiverChanged, type FailureRun } from '../delivery/notifierFailures.ts';
import { dictionary } from '../data/dictionary.ts';
import { STUCK_FLOOR_MS } from '../watch/stuck.ts';
import { CLOCK_CHECK_MS } from '../watch/clockSteps.ts';
import type { RefusedCredentials } from '../cloud/auth/refusedBackoff.ts';
import type { KeptTokens } from '../cloud/auth/types.ts';

/** How often the file's metadata is compared: cheap, and it also sees ConfigMap symlink swaps. */
const RELOAD_INTERVAL_MS = 2000;
/** How often `--until-done` looks whether everything is settled. */
const DONE_CHECK_MS = 200;
/** How many given-up notifications `run --until-done` names at its end; the rest are counted. */
const GIVEN_UP_SHOWN = 20;

/** What a given-up notification was about: an early warning by the watch's key alone would read as its outcome lost. */
function givenUpAbout(d: DurableDelivery): string {
  if (d.about === 'digest') return `batch ${d.batch.label}`;
  return d.about === 'slow' ? `early warning of ${d.key}` : d.key;
}

/** What a daemon that finds no state at `statePath` says as it starts with watches in its file. */
function noStateAtStart(statePath: string): string {
  const elsewhere = isAbsolute(statePath)
    ? 'state.path changed since, or its volume is not mounted'
    : `state.path changed since, its volume is not mounted, or, as ${statePath} is relative to the folder the daemon runs in (${process.cwd()}), it ran in another folder`;
  return (
    `no state at ${resolve(statePath)}: starting without one, so every watch of the file is tracked from now and notified when it ends, also one that ended before. ` +
    `Right for a first start; if a daemon ran before on this file, its state is not there (${elsewhere}): stop this one, and put that state file and its journal at ${resolve(statePath)}`
  );
}

/** `map` as `saved` holds it. */
function putBack<K, V>(map: Map<K, V>, saved: ReadonlyMap<K, V>): void {
  map.clear();
  for (const [key, value] of saved) map.set(key, value);
}

/** The running process: the app for the current file, the health server, and the file watcher. */
export class Daemon {
  readonly #ctx: CommandContext;
  readonly #log: Logger;
  readonly #metrics = createMetrics({ defaultMetrics: true });
  #config: Config;
  #app: App | null = null;
  #health: HealthServer | null = null;
  #reloading: Promise<void> = Promise.resolve();
  /**
   * Every notifier a file started by this process has named, as the last of them that started had it: one a
   * reload brings back sends to the receiver it sent to then, whose pause (a 429) still holds.
   */
  readonly #notifiersSeen = new Map<string, NotifierConfig>();
  /** The watch file as last seen: at first, as it was when it was loaded for the start. */
  #seen: FileSignature | null;
  #watchTimer: NodeJS.Timeout | null = null;
  /** A look at the file is running (its timer has fired and the look or its reload has not ended). */
  #looking = false;
  /** SIGHUP asked for the file to be read again: the next look reloads it even if it has not changed. */
  #reloadAsked = false;
  /** The watches of the last file that held still, whose settings a reload may not change until its file holds. */
  readonly #hold: TargetHold;
  /**
   * The `track:` entries of the last file that held still. A cut entry tracks every action (`actions:` cut
   * off) of its servers for every notifier (`notify:`), and the watches it starts stay; a cut list forgets
   * the servers it drops, whose actions meanwhile are then older than their tracking begun afresh.
   */
  #confirmedTrack: readonly TrackSpec[];
  /**
   * How many watches the last reload held back, its watches, and the version of the file it read (its
   * signature), until a look finds that version still there; null once one did, or when nothing is to be
   * confirmed (a fallback to what ran before).
   */
  #unconfirmed: { version: FileSignature | null; held: number; reloaded: WatchTarget[]; track: readonly TrackSpec[] | null } | null = null;
  /** The version of the file a look last found unchanged since the look before: not read half-written. */
  #still: FileSignature | null = null;
  /**
   * A reload that rebuilds the parts, read from a version of the file no look has yet found unchanged, and
   * that version: applied once one does. A notifier cut short (its headers, its secret, its recipients)
   * would have what is owed to it refused for good, and every such delivery is tried at once by parts that
   * change it.
   */
  #deferred: { version: FileSignature | null; next: Config } | null = null;
  /**
   * What the last reload read, and from which version of the file. A later version of the same size read
   * alike (a file rendered again and again, its time stamp in a comment new at each write) is whole: two
   * writes cut alike are not to be expected, and a file rewritten between every two looks is never found
   * unchanged, which would hold its change back for as long as it is rewritten. Not one that grew: a writer
   * that pauses in a block of comments is read cut alike at every look.
   */
  #lastRead: { version: FileSignature | null; config: Config } | null = null;
  #closing: Promise<void> | null = null;
  /** Aborted when closing begins: a reload waiting for the file to stop changing waits no more. */
  readonly #closed = new AbortController();
  /** Aborted on SIGTERM/SIGINT, or when the state lock was lost. */
  readonly #stop = new AbortController();
  /** Why the daemon stops other than by a signal. */
  #failure: Error | null = null;
  /** The parts a reload is stopping, until they have stopped. */
  #stopping: App | null = null;
  /**
   * While parts start (at the start, or a reload's) or stop for a reload: which, when it began, when it last
   * moved (a look at the state lock another holds), on the monotonic clock the poll loop's signs are timed
   * on, and how long it may go without moving. A volume that hangs holds their first look at the state, or
   * their final save, where no pass runs to be found stuck: a daemon restarted for a pass stuck on it hangs
   * there in turn.
   */
  #changing: { doing: 'starting' | 'stopping'; began: number; movedAt: number; limitMs: number } | null = null;
  /** When parts starting first looked at a state lock another holds (the monotonic clock), until they have started. */
  #lockWaitSince: number | null = null;
  /** The change was said to be stuck: its end is said too. */
  #changeStuckSaid = false;
  /**
   * Asks #stuck() every CLOCK_CHECK_MS while parts start or stop, as the engine's look at the clocks does for
   * a pass: with no probe or scrape to ask (http.port 0, a host nobody scrapes), the log is all there is.
   */
  #changeTimer: NodeJS.Timeout | null = null;
  /** When this daemon began (ms since the epoch): a notification given up since counts, whatever its watch. */
  readonly #startedAt = Date.now();
  /**
   * Every request to the cloud, of every app this process starts: a reload that rebuilds the parts must
   * not forget what the old ones sent in the last window, nor a 429's pause (poll.rateLimit).
   */
  readonly #limiter: RateLimiter;
  /** The receivers' pauses after their 429s, handed to every app, as the limiter is (see AppOptions). */
  readonly #throttledReceivers = new Map<string, number>();
  /**
   * Notifiers' runs of failed deliveries, handed to every app, as the pauses are: parts rebuilt by a reload (a
   * watch added) would otherwise say a receiver's outage anew, and never that it ended.
   */
  readonly #failingReceivers = new Map<string, FailureRun>();
  /**
   * The cloud's refusals of credentials, handed to every app, as the limiter is: parts rebuilt by a reload (a
   * notifier edited) would otherwise try refused credentials at once, one more refusal in a row at each.
   */
  readonly #refusedCredentials: RefusedCredentials = new Map();
  /** The password method's token, in hand for the client a reload makes anew (see KeptTokens). */
  readonly #keptTokens: KeptTokens = new Map();

  get started(): boolean {
    return this.#app !== null;
  }

  /** `loaded`: the file's signature taken before `config` was read from it. */
  constructor(ctx: CommandContext, config: Config, logger: Logger, loaded: FileSignature | null) {
    this.#ctx = ctx;
    this.#log = logger;
    this.#config = config;
    this.#seen = loaded;
    this.#hold = new TargetHold(targetsOf(config));
    this.#confirmedTrack = config.track;
    this.#limiter = new RateLimiter(config.poll.rateLimit, logger.child({ component: 'cloud' }));
    this.#metrics.setThrottleSource(() => this.#limiter.throttleState());
    this.#metrics.setStuckSource(() => this.#stuck() !== undefined);
    this.#metrics.setLockWaitSource(() => (this.#lockWaitSince === null ? 0 : (performance.now() - this.#lockWaitSince) / 1000));
  }

  async start(): Promise<void> {
    this.#metrics.recordConfigLoad(true);
    // Node says it once, in a plain line on stderr that a collector of the JSON lines drops, at the first TLS connection.
    const extraCerts = extraCaCertsWarning(this.#ctx.env);
    if (extraCerts !== undefined) this.#log.warn({ variable: 'NODE_EXTRA_CA_CERTS' }, extraCerts);
    const signal = this.#ctx.signal;
    if (signal.aborted) this.#stop.abort();
    else signal.addEventListener('abort', () => this.#stop.abort(), { once: true });
    // Before the app, which may wait for the state lock: liveness holds meanwhile, readiness says why not.
    this.#health = await this.#listen(this.#config.http);
    // The objects the hold keeps: a second copy of the watch list would cost each watch twice.
    this.#app = await this.#startApp(this.#config, { watches: [...this.#hold.confirmed], track: this.#confirmedTrack });
    // A first start, or a state left elsewhere: every watch of the file that ended before is notified again,
    // and the log is where an operator looks for why.
    const statePath = this.#config.state.path;
    if (!this.#app.store.found && this.#config.watches.length > 0) this.#log.warn({ state: resolve(statePath) }, noStateAtStart(statePath));
    // Compared with the file as it was loaded, not as it is now: an edit made while starting is not missed.
    this.#watchFile();
    this.#log.info({ config: this.#ctx.configPath, watches: this.#config.watches.length, track: this.#config.track.length, notifiers: Object.keys(this.#config.notifiers) }, 'started');
  }

  async untilStopped(): Promise<number> {
    await whenAborted(this.#stop.signal);
    this.#throwIfFailed();
    return 0;
  }

  /** 0 every watch succeeded; 1 any other outcome; 3 a notification was given up (it outranks 1). */
  async untilDone(): Promise<number> {
    while (!this.#stop.signal.aborted) {
      const app = this.#app;
      if (app && app.engine.allSettled()) {
        // How many of each: one per watch made a line of 20 KB at 2,000 watches, which Docker and containerd
        // cut at 16 KB into pieces that are not JSON, and of no use to read.
        const outcomes: Record<string, number> = {};
        for (const t of app.engine.watches()) {
          const outcome = app.store.get(watchKey(t))?.verdict?.outcome ?? 'pending';
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
        const givenUp = app.engine.givenUp(this.#startedAt);
        if (givenUp.length === 0) {
          this.#log.info({ outcomes }, 'every watch is done');
          return Object.keys(outcomes).every((o) => o === 'success') ? 0 : 1;
        }
        // The exit status alone says only that something was lost: which, and why, is the operator's next question.
        const shown = givenUp.slice(0, GIVEN_UP_SHOWN).map((d) => ({ about: givenUpAbout(d), notifier: d.notifier, error: d.delivery.lastError }));
        const more = givenUp.length > GIVEN_UP_SHOWN ? ` (the first ${GIVEN_UP_SHOWN} listed)` : '';
        this.#log.error({ outcomes, givenUp: shown }, `every watch is done, but ${givenUp.length} notification${givenUp.length === 1 ? ' was' : 's were'} given up${more}: their receivers were not told`);
        return 3;
      }
      await sleep(DONE_CHECK_MS, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    }
    this.#throwIfFailed();
    return 1;
  }

  /** The state lock was taken over: stopping is right, but it is no clean stop. */
  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#log.info({ signal: this.#ctx.signal.aborted ? String(this.#ctx.signal.reason) : null }, 'stopping');
      if (this.#watchTimer) clearTimeout(this.#watchTimer);
      this.#closed.abort();
      // Parts a reload is stopping stop for good: the reload starts no others now, and handles their errors itself.
      void this.#stopping?.close();
      await this.#reloading;
      try {
        await this.#app?.close();
      } catch (err) {
        // On stderr too (run's caller), but a collector that keeps only the JSON lines must see why the exit is 1.
        this.#log.error({ err }, 'the daemon did not stop cleanly');
        throw err;
      } finally {
        this.#limiter.close();
        // Last: /metrics and /readyz (saying stopping) answer while the app drains what it owes.
        await this.#health?.close();
        this.#log.info('stopped');
      }
    })();
    return this.#closing;
  }

  /**
   * SIGHUP, the usual "read your configuration again" (`systemctl reload`, `kill -HUP`): the file is read and
   * applied at once, even if it has not changed, and with it what it names (a renewed `cloud.tls.caFile`),
   * rather than at the next edit. Left to its default, the signal would end the daemon without a word.
   */
  reloadAsked(): void {
    if (this.#closing) return;
    this.#log.info({ config: this.#ctx.configPath }, 'SIGHUP: reading the watch file again now (environment variables are read only at start: a changed one needs a restart)');
    this.#reloadAsked = true;
    // A look that is running takes it up when its reload is over; before the start, the first look does.
    if (this.#watchTimer !== null && !this.#looking) {
      clearTimeout(this.#watchTimer);
      this.#watchFile(0);
    }
  }

  /**
   * Looks at the file's metadata `delayMs` (RELOAD_INTERVAL_MS) after the last look (and its reload) ended:
   * one reload at a time, however long one waits for the file to stop changing.
   */
  #watchFile(delayMs = RELOAD_INTERVAL_MS): void {
    this.#watchTimer = setTimeout(() => {
      this.#looking = true;
      this.#reloading = this.#lookAtFile()
        // A reload that throws must not end the looks: every later change would be ignored.
        .catch((err: unknown) => this.#log.error({ err }, 'reloading the watch file failed'))
        .finally(() => {
          this.#looking = false;
          if (!this.#closing) this.#watchFile(this.#reloadAsked ? 0 : RELOAD_INTERVAL_MS);
        });
    }, delayMs);
  }

  async #lookAtFile(): Promise<void> {
    const now = await fileSignature(this.#ctx.configPath);
    if (this.#closing) return;
    const asked = this.#reloadAsked;
    this.#reloadAsked = false;
    const changed = !sameSignature(now, this.#seen);
    // Also for a SIGHUP's reload, which then applies what it reads at once.
    if (!changed) this.#still = now;
    if (asked || changed) {
      await this.#reload(now);
      return;
    }
    const deferred = this.#deferred;
    this.#deferred = null;
    if (deferred && sameSignature(now, deferred.version)) await this.#apply(deferred.next, 'still');
    // Not when a later version was refused (invalid): the one the running configuration came from is gone.
    else if (this.#unconfirmed && sameSignature(now, this.#unconfirmed.version)) this.#confirm(this.#unconfirmed);
  }

  /** The file was found as the last reload read it: the settings that reload changed are in force. */
  #confirm({ held, reloaded, track }: { held: number; reloaded: WatchTarget[]; track: readonly TrackSpec[] | null }): void {
    this.#unconfirmed = null;
    this.#hold.confirm(reloaded);
    if (track !== null) this.#confirmedTrack = track;
    if ((held === 0 && track === null) || !this.#app) return;
    if (held > 0) this.#app.engine.setWatches(reloaded);
    if (track !== null) this.#app.engine.setTracking(track);
    this.#log.info({ watches: held, track: track !== null }, 'the reloaded watch file held still: the watch settings it changed are in force');
  }

  /**
   * `config`'s watches and `track:` entries as the engine is to poll them: with the settings the hold keeps.
   * `read`: the file last seen gave them, and a look that finds it unchanged puts what they change in force;
   * `still`: a look found it so already, and they are in force; `fallback`: the configuration that ran
   * before, which may itself come from a read never confirmed.
   */
  #held(config: Config, file: 'read' | 'still' | 'fallback'): { watches: WatchTarget[]; track: readonly TrackSpec[] } {
    const reloaded = targetsOf(config);
    if (file === 'still') {
      this.#confirm({ held: 0, reloaded, track: config.track });
      return { watches: reloaded, track: config.track };
    }
    const confirmable = file === 'read';
    const { targets, held } = this.#hold.apply(reloaded, new Set(Object.keys(config.notifiers)));
    // An entry added counts at once, as a new watch does: only one changed or taken out is held, with the rest;
    // not when a kept entry names a notifier the reloaded file lacks (renamed), as kept its watches would tell nobody.
    const trackHeld =
      !this.#confirmedTrack.every((kept) => config.track.some((entry) => isDeepStrictEqual(entry, kept))) &&
      this.#confirmedTrack.every((kept) => kept.notify?.every((name) => Object.hasOwn(config.notifiers, name)) ?? true);
    this.#unconfirmed = confirmable ? { version: this.#seen, held: held.length, reloaded, track: trackHeld ? config.track : null } : null;
    // A fallback's look finds the file that failed, which confirms nothing: saying "in 2 s" would be a promise not kept.
    const until = confirmable
      ? `the next look at the file (in ${formatDuration(RELOAD_INTERVAL_MS)}) finds the file unchanged, in case it was read half-written`
      : 'a later version of the file is found unchanged: the configuration gone back to may itself come from a read half-written';
    if (held.length > 0) {
      const shown = held.slice(0, 10).map((watch) => ({ ...watchLogFields(watch.kept), ...describeHeld(watch) }));
      this.#log.warn({ config: this.#ctx.configPath, watches: held.length, shown }, `reloaded watch file changes watch settings: each such watch keeps its previous ones until ${until}`);
    }
    if (trackHeld) {
      this.#log.warn({ config: this.#ctx.configPath, kept: this.#confirmedTrack.length, reloaded: config.track.length }, `reloaded watch file changes or takes out track entries: auto-tracking keeps the previous ones until ${until}`);
    }
    return { watches: targets, track: trackHeld ? this.#confirmedTrack : config.track };
  }

  /** The health and metrics server on `http`, or none for port 0. */
  async #listen(http: Config['http']): Promise<HealthServer | null> {
    if (http.port === 0) return null;
    return startHealthServer({
      port: http.port,
      host: http.host,
      metrics: this.#metrics,
      logger: this.#log,
      ready: async () => {
        if (this.#closing) return { ok: false, reason: 'stopping' };
        if (!this.#app) return { ok: false, reason: 'starting (waiting for the state lock) or reloading' };
        await this.#app.store.checkWritable();
        return { ok: true };
      },
      stuck: () => this.#stuck(),
    });
  }

  /** Why the daemon does not work (/healthz's 503, poll_loop_stuck 1), or undefined while it does. */
  #stuck(): string | undefined {
    // While a reload waits for the old parts to stop, a pass they cannot end (a save on a volume that
    // hangs) is still the loop that is stuck.
    const reason = (this.#app ?? this.#stopping)?.engine.stuck();
    const changing = this.#changing;
    if (reason !== undefined || changing === null) return reason;
    const now = performance.now();
    const quiet = now - changing.movedAt;
    if (quiet <= changing.limitMs) return undefined;
    const limit = formatDuration(changing.limitMs);
    const stuck =
      changing.doing === 'starting'
        ? `the daemon's parts have been starting for ${formatDuration(now - changing.began)}, and its state file's folder has not answered for ${formatDuration(quiet)} (more than ${limit}): a volume that hangs (an NFS server gone)`
        : `the daemon's running parts have been stopping for a reload for ${formatDuration(quiet)} (more than ${limit}, shutdown.drainTimeout included): a save of the state that hangs (its volume)`;
    if (!this.#changeStuckSaid) this.#log.error({ stuckAfterMs: changing.limitMs }, `the poll loop is stuck: ${stuck}; /healthz answers 503 until it moves again`);
    this.#changeStuckSaid = true;
    return stuck;
  }

  /** Parts begin to start or stop; each move of theirs is to be recorded in what this returns. */
  #changeBegins(doing: 'starting' | 'stopping', limitMs: number): { movedAt: number } {
    const began = performance.now();
    this.#changing = { doing, began, movedAt: began, limitMs };
    this.#changeTimer ??= setInterval(() => this.#stuck(), CLOCK_CHECK_MS).unref();
    return this.#changing;
  }

  #changeEnded(): void {
    this.#changing = null;
    clearInterval(this.#changeTimer ?? undefined);
    this.#changeTimer = null;
    if (this.#changeStuckSaid) this.#log.info('the poll loop moves again: /healthz answers 200');
    this.#changeStuckSaid = false;
  }

  /**
   * A changed `http` moves the health server (closed first: the same port on another host would be taken);
   * one that cannot listen there is said, and the server goes back where it was (false: the next reload
   * tries again).
   */
  async #moveHealthServer(previous: Config['http'], next: Config['http']): Promise<boolean> {
    if (isDeepStrictEqual(previous, next)) return true;
    await this.#health?.close();
    this.#health = null;
    try {
      this.#health = await this.#listen(next);
      if (next.port === 0) this.#log.info('health and metrics server turned off (http.port 0)');
      return true;
    } catch (err) {
      this.#log.error({ error: (err as Error).message, port: previous.port }, 'the reloaded http settings cannot be used; the health and metrics server stays where it was');
      this.#health = await this.#listen(previous).catch((again: unknown) => {
        this.#log.error({ error: (again as Error).message }, 'the health and metrics server cannot listen again where it was; it is off until a restart');
        return null;
      });
      return false;
    }
  }

  /**
   * `retunedNotifiers`: see AppOptions; none at the start, where each delivery resumes its backoff. `unsaved`:
   * why the last save of the parts a reload stopped failed (AppOptions), for readiness and state_unsaved.
   */
  async #startApp(config: Config, { watches, track }: { watches: WatchTarget[]; track: readonly TrackSpec[] }, retunedNotifiers?: ReadonlySet<string>, unsaved?: StateError | null): Promise<App> {
    const reloadedAway = new Set([...this.#notifiersSeen.keys()].filter((name) => !Object.hasOwn(config.notifiers, name)));
    const starting = this.#changeBegins('starting', STUCK_FLOOR_MS);
    let app: App;
    try {
      const lockLooked = () => {
        starting.movedAt = performance.now();
        this.#lockWaitSince ??= starting.movedAt;
      };
      app = await createApp(config, { logger: this.#log, metrics: this.#metrics, signal: this.#stop.signal, reloadedAway, retunedNotifiers, throttledReceivers: this.#throttledReceivers, failingReceivers: this.#failingReceivers, refusedCredentials: this.#refusedCredentials, keptTokens: this.#keptTokens, watches, track, firstPassPolled: collectGarbage, limiter: this.#limiter, lockLooked, unsaved });
    } finally {
      this.#lockWaitSince = null;
      this.#changeEnded();
    }
    for (const [name, notifier] of Object.entries(config.notifiers)) this.#notifiersSeen.set(name, notifier);
    // The daemon's answer, as /healthz's, rather than the one createApp gave (its engine's alone).
    this.#metrics.setStuckSource(() => this.#stuck() !== undefined);
    app.lockLost.addEventListener(
      'abort',
      () => {
        this.#failure = app.lockLost.reason as Error;
        this.#stop.abort();
      },
      { once: true },
    );
    // A stop that came once they held the state lock (which a stop ends) while they read the state: the close
    // that follows is to find nothing begun, no pass and no delivery for its drain to cut off.
    if (this.#stop.signal.aborted) return app;
    try {
      app.outbox.start(app.engine.start());
    } catch (err) {
      // Released as createApp releases parts that fail to start: kept, they would hold the state lock, and
      // the running configuration the caller goes back to would wait for it, polling nothing, for good.
      await app.close({ drainMs: 0 }).catch((closeErr: unknown) => this.#log.error({ err: closeErr }, 'error while releasing after a failed start'));
      throw err;
    }
    return app;
  }

  /**
   * A valid new file replaces the running one once it has stopped changing; an invalid one, or one that
   * does not stop, is reported and the running one stays. Only a change of the watch list is applied in
   * place; any other section rebuilds the parts. `seen`: the signature that showed the change.
   */
  async #reload(seen: FileSignature | null): Promise<void> {
    // Tried once per change: a file that cannot be read is said once, not at every look.
    this.#seen = seen;
    this.#deferred = null;
    let next: Config;
    try {
      const file = await readSettledWatchFile(this.#ctx.configPath, this.#closed.signal);
      if (this.#closing) return;
      if (!file.settled) {
        // The next look finds it changed again and waits anew: reported at each, until it is still.
        this.#metrics.recordConfigLoad(false);
        this.#log.error({ config: this.#ctx.configPath }, `the watch file ${keptChanging()}; keeping the running configuration until it is still`);
        return;
      }
      this.#seen = file.signature;
      // As `validate` and a start write them to stderr: an edit that works but loses something is said.
      const onWarning = ({ line, col, path, message }: ConfigIssue) => this.#log.warn({ config: this.#ctx.configPath, line, col, path }, `reloaded watch file: ${message}`);
      next = parseBetweenCollections(() => parseConfig(file.text, { env: this.#ctx.env, onWarning, source: this.#ctx.configPath, mode: file.signature?.mode }));
    } catch (err) {
      // close() ended the wait for the file: no reload is due.
      if (this.#closing) return;
      this.#metrics.recordConfigLoad(false);
      // Gone or unreadable (an editor's rename, a ConfigMap swapped): no problems to count in it, and no
      // other file to name, as the start's message advises.
      if (err instanceof ConfigError && err.issues.length === 0) {
        this.#log.error({ config: this.#ctx.configPath, error: fileProblem(err.cause) }, 'the watch file cannot be read; keeping the running configuration until it can');
        return;
      }
      const problems = err instanceof ConfigError ? err.issues.length : 1;
      // `validate` in the operator's shell passes where the variable is set: the daemon's own environment is
      // what counts, and it is read once.
      const unset = err instanceof ConfigError ? [...new Set(err.issues.flatMap((issue) => issue.variable ?? []))] : [];
      const why = unset.length === 0 ? '' : `; ${unset.join(', ')} ${unset.length === 1 ? 'is' : 'are'} not set in the daemon's environment, which it reads only at its start: set ${unset.length === 1 ? 'it' : 'them'} where it runs (the unit's Environment=, the pod's env) and restart it`;
      // A file the watch file names (cloud.tls.caFile) is not looked at: put there, it changes nothing by itself.
      const missingFile = err instanceof ConfigError && err.issues.some((issue) => issue.cause === 'environment' && issue.variable === undefined);
      const when = missingFile ? '; a file it names that is not there is read again only when the watch file changes, or at a SIGHUP (systemctl reload, kill -HUP): send one once it is there' : '';
      this.#log.error({ config: this.#ctx.configPath, problems, error: (err as Error).message }, `reloaded watch file is invalid; keeping the running configuration${why}${when}`);
      return;
    }
    const previous = this.#config;
    if (next.state.path !== previous.state.path) {
      // Another state file holds none of this one's outcomes and deliveries: every finished watch would be
      // notified again, and a lock held there would stop the daemon until a restart.
      this.#log.warn(
        { config: this.#ctx.configPath, statePath: previous.state.path, next: next.state.path },
        'reloaded watch file: state.path takes effect at the next start; until then the daemon keeps its state file. Stop it and move the state file and its journal to the new path before that start: a new state file holds none of the outcomes already sent, and every finished watch would be notified again',
      );
      next = { ...next, state: { ...next.state, path: previous.state.path } };
    }
    const lastRead = this.#lastRead;
    this.#lastRead = { version: this.#seen, config: next };
    const alike =
      lastRead?.version != null && this.#seen !== null && !sameSignature(lastRead.version, this.#seen) && lastRead.version.size === this.#seen.size && isDeepStrictEqual(lastRead.config, next);
    if (alike && this.#unconfirmed && sameSignature(this.#unconfirmed.version, lastRead.version)) this.#confirm(this.#unconfirmed);
    // SIGHUP on a file that has held still (a renewed cloud.tls.caFile) is applied at once.
    if (!this.#inPlace(next) && !alike && !sameSignature(this.#seen, this.#still)) {
      this.#deferred = { version: this.#seen, next };
      this.#log.info({ config: this.#ctx.configPath }, `reloaded watch file changes more than its watches and track entries: applied once the next look at the file (in ${formatDuration(RELOAD_INTERVAL_MS)}) finds it unchanged, in case it was read half-written`);
      return;
    }
    await this.#apply(next, 'read');
  }

  /** Whether `next` changes no more than the running configuration's watches, track entries and http: applied in place. */
  #inPlace(next: Config): boolean {
    return this.#app !== null && isDeepStrictEqual({ ...this.#config, watches: [], track: [], http: next.http }, { ...next, watches: [], track: [] });
  }

  /** Puts `next` in force; `file`: see #held. */
  async #apply(next: Config, file: 'read' | 'still'): Promise<void> {
    const previous = this.#config;
    const inPlace = this.#inPlace(next);
    this.#config = next;
    // The health server is the daemon's, not the app's: started once, it is moved here when http changes.
    const moved = await this.#moveHealthServer(previous.http, next.http);
    if (!moved) this.#config = { ...next, http: previous.http };
    if (inPlace && this.#app) {
      // Part of the file not in effect (its http settings) is a failed reload, for its alert, as an invalid file is.
      this.#metrics.recordConfigLoad(moved);
      const { watches, track } = this.#held(next, file);
      this.#app.engine.setWatches(watches);
      this.#app.engine.setTracking(track);
      this.#log.info({ watches: next.watches.length, track: next.track.length }, 'watch list reloaded');
      return;
    }
    const old = this.#app;
    this.#app = null;
    this.#stopping = old;
    // Every part is released even when one fails (the state lock too), so the new parts can start: a final
    // save that failed (a full disk) loses nothing a crash would not, and must not leave the daemon without
    // parts, polling nothing while /healthz says it works.
    old?.outbox.holdFor(new Set([...this.#notifiersSeen.keys()].filter((name) => !Object.hasOwn(next.notifiers, name))));
    // Their drain, then their final save: longer than that, with no pass of theirs to be found stuck, they hang.
    if (old) this.#changeBegins('stopping', STUCK_FLOOR_MS + old.config.shutdown.drainTimeout);
    await old?.close({ for: 'reload' }).catch((err: unknown) => this.#log.error({ err }, 'the running parts did not stop cleanly on reload; starting the reloaded ones all the same'));
    this.#changeEnded();
    this.#stopping = null;
    // A full volume is still full for the new parts, which would say ready until their own first save fails.
    const unsaved = old?.store.saveFailure ?? null;
    // SIGTERM while the old parts drained: the daemon is stopping, and the file's parts are not to start.
    if (this.#stop.signal.aborted) return;
    // What the reloaded parts are not held to, put back should they not start: the running notifiers go on to
    // the receivers that asked for a pause, and the running credentials, as refused as they were.
    const throttled = new Map(this.#throttledReceivers);
    const refused = new Map(this.#refusedCredentials);
    const failing = new Map([...this.#failingReceivers].map(([name, run]) => [name, { ...run }]));
    for (const name of movedNotifiers(dictionary(this.#notifiersSeen), next.notifiers)) {
      this.#throttledReceivers.delete(name);
      receiverChanged(this.#failingReceivers, name);
    }
    // Another endpoint, project, region or login may take what was refused: tried at once, as the log said.
    if (!credentialsJudgedAlike(previous.cloud, next.cloud)) this.#refusedCredentials.clear();
    try {
      this.#app = await this.#startApp(next, this.#held(next, file), retunedNotifiers(previous, next), unsaved);
      this.#metrics.recordConfigLoad(moved);
      this.#log.info({ watches: next.watches.length }, 'watch file reloaded');
    } catch (err) {
      // Stopped while the new parts started (waiting for the state lock): that is no fault of the file.
      if (this.#stop.signal.aborted) return;
      // The previous file runs on, as after an invalid one: the reload failed, for its alert.
      this.#metrics.recordConfigLoad(false);
      // E.g. a new state.path that cannot be read: go on with what ran before rather than with nothing.
      this.#log.error({ error: (err as Error).message }, 'the reloaded watch file cannot be started; keeping the running configuration');
      this.#config = { ...previous, http: this.#config.http };
      putBack(this.#throttledReceivers, throttled);
      putBack(this.#refusedCredentials, refused);
      putBack(this.#failingReceivers, failing);
      try {
        // Not confirmable: the file now on disk is the one that failed, and a look finding it unchanged must
        // not put in force what `previous` changed (it may come from a read half-written, never confirmed).
        this.#app = await this.#startApp(previous, this.#held(previous, 'fallback'), undefined, unsaved);
      } catch (again) {
        if (this.#stop.signal.aborted) return;
        // Neither file's parts start (the state folder is gone or full): a daemon that polls nothing must
        // not stay up looking healthy; exit 1, and the supervisor restarts it (or shows why it cannot).
        this.#failure = new Error(`the daemon cannot start its parts again after a reload: ${(again as Error).message}`, { cause: again });
        this.#stop.abort();
      }
    }
  }
}

/**
 * Whether the cloud settings of `a` and `b` have the same credentials judged the same way: all but those that
 * judge none (a request's timeout, the microversion, the CA trusted). A refused password or key tried again
 * at an edit of those would be one more refusal in a row toward the lock (IAM: 5 logins within 15 minutes).
 */
function credentialsJudgedAlike(a: CloudConfig, b: CloudConfig): boolean {
  const judging = ({ timeout: _timeout, microversion: _microversion, tls: _tls, ...rest }: CloudConfig) => rest;
  return isDeepStrictEqual(judging(a), judging(b));
}
