import { randomUUID } from 'node:crypto';
import { open, readdir, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { dictionary } from '../data/dictionary.ts';
import { linkTarget } from '../files/linkTarget.ts';
import { makeFolder, temporaryPrefix } from '../files/writeFileAtomic.ts';
import { StateError, stateFailure } from './StateError.ts';
import type { TornTail } from './journal.ts';
import type { StateLock } from './lock.ts';
import { moveBatchTimes, moveTrackingTimes, moveWatchTimes } from './moveTimes.ts';
import { checkRecord, type Checked, type SectionRecords } from './readBack.ts';
import { SharedStrings } from '../cloud/sharedStrings.ts';
import { readStoredState, type Image, type Section, type Sections } from './stateFiles.ts';
import { StateWriter, digestOf, writeDurably, type Change, type StateFileKind } from './stateWriter.ts';
import type { BatchRecord, ClockRecord, DeliveryRecord, DigestRecord, TrackingState, WatchRecord } from './types.ts';
import { digestMember } from './digestMember.ts';
import { kindOf } from '../watch/kinds/index.ts';
import { formatDuration } from '../watch/format.ts';
import type { DeliveryCounts } from '../observability/metrics.ts';

export type { StateFileKind } from './stateWriter.ts';

// Every part that keys the state by watch takes the key from here; each kind of watch says what it is.
export { watchKey } from '../watch/kinds/index.ts';

/**
 * A delivery known to be on disk, as the outbox receives it, with what it announces: a watch's verdict,
 * its early warning (`slow`), or a batch's digest.
 */
export type DurableDelivery =
  | { about: 'verdict' | 'slow'; key: string; notifier: string; record: WatchRecord; delivery: DeliveryRecord }
  | { about: 'digest'; key: string; notifier: string; batch: BatchRecord; digest: DigestRecord; delivery: DeliveryRecord };

/** Every delivery a watch's record holds: its verdict's and its early warning's. */
export function watchDeliveries(key: string, record: WatchRecord): DurableDelivery[] {
  const of = (about: 'verdict' | 'slow', deliveries: Record<string, DeliveryRecord>) =>
    Object.entries(deliveries).map(([notifier, delivery]): DurableDelivery => ({ about, key, notifier, record, delivery }));
  return [...of('verdict', record.deliveries), ...of('slow', record.warning?.deliveries ?? {})];
}

/** Every delivery of a batch's digests. */
export function batchDeliveries(batch: BatchRecord): DurableDelivery[] {
  return batch.digests.flatMap((digest) =>
    Object.entries(digest.deliveries).map(([notifier, delivery]): DurableDelivery => ({ about: 'digest', key: batchKey(batch.label), notifier, batch, digest, delivery })),
  );
}

/** Lets go of what the early warning of `record` showed once no delivery of it is pending; true when it did. */
function releaseWarningIfSettled(record: WatchRecord): boolean {
  const warning = record.warning;
  if (warning?.facts === undefined) return false;
  for (const name in warning.deliveries) if (warning.deliveries[name]!.status === 'pending') return false;
  delete warning.facts;
  return true;
}

/** How a batch is named where keys of watches and batches meet (logs, set-aside records, the deliveries gauge). */
function batchKey(label: string): string {
  return `batch:${label}`;
}

/** A record that failed its schema at load: left out of the state, kept in `StateStore.setAsidePath`. */
export interface SetAsideRecord {
  key: string;
  problems: string[];
}

const countKeys = { pending: 'pending', delivered: 'delivered', given_up: 'givenUp', superseded: 'superseded' } as const;
const COUNTED = Object.values(countKeys);

/**
 * One object for each set of counts, never changed once made: nearly every record counts alike (its one
 * delivery, delivered), and 10,000 of them kept 10,000 equal objects (56 B each).
 */
const countsMade = new Map<string, Readonly<DeliveryCounts>>();

function interned(counts: DeliveryCounts): Readonly<DeliveryCounts> {
  const key = `${counts.pending},${counts.delivered},${counts.givenUp},${counts.superseded}`;
  const made = countsMade.get(key);
  if (made !== undefined) return made;
  countsMade.set(key, counts);
  return counts;
}

/**
 * The counts of the deliveries in `groups` (keyed by notifier), undefined for none. Counted in place, not
 * from a list of them: a watch is counted again at each change to it, several times as it finishes (at
 * 10,000 finishing at once a list made 3.5 KB of garbage a watch).
 */
function countsOf(...groups: Array<Record<string, DeliveryRecord> | undefined>): Readonly<DeliveryCounts> | undefined {
  const counts: DeliveryCounts = { pending: 0, delivered: 0, givenUp: 0, superseded: 0 };
  let tallied = 0;
  for (const deliveries of groups) {
    for (const notifier in deliveries) {
      counts[countKeys[deliveries[notifier]!.status]]++;
      tallied++;
    }
  }
  return tallied === 0 ? undefined : interned(counts);
}

/** Those of a watch's verdict and of its early warning. */
const watchCounts = (record: WatchRecord) => countsOf(record.deliveries, record.warning?.deliveries);
/** Those of a batch's digests. */
const batchCounts = (batch: BatchRecord) => countsOf(...batch.digests.map((digest) => digest.deliveries));

/** The key of the clock's record in the state's `clocks` (one: this host's). */
const CLOCK_KEY = 'host';
/**
 * How long /readyz waits for a look at the state folder: under the readiness probe's timeoutSeconds (3 s in
 * deploy/kubernetes), so that the probe reads why.
 */
const PROBE_WAIT_MS = 2000;
/** The image of a read-only state: its writer measures nothing against the files. */
const NOTHING: Image = { watches: () => [], batches: () => [], servers: () => [], projects: () => [], clocks: () => [] };

function noTracking(): TrackingState {
  return { servers: dictionary(), projects: dictionary() };
}

/**
 * The durable state: every watch's record, each batch's digests and what auto-tracking knows, kept in
 * memory and on disk (a snapshot and a journal next to it: see StateWriter). Saves are serialised and
 * coalesced (group commit): callers await `save()` to know their change is on disk, and every save asked
 * for while one is being written shares the next journal line and its one durable write. Changes are
 * announced per record (`touch(key)`): a save serialises only the records touched since the last one and
 * writes nothing when none of them serialises differently.
 *
 * Deliveries enter through `addDelivery` and reach the `onDurable` listener (the outbox) only after a
 * save that contains them has completed: nothing can be sent that a crash would make the daemon forget.
 */
export class StateStore {
  readonly path: string;
  /** `check` reads the daemon's state for context but must never write it. */
  readonly readOnly: boolean;
  /** Records that failed their schema at load, and the file they were moved to (null when read-only). */
  readonly setAside: readonly SetAsideRecord[];
  readonly setAsidePath: string | null;
  /** Journal lines cut short by a crash, left out at load (everything before them was kept). */
  readonly torn: readonly TornTail[];
  /** Whether the state had any file when opened (false in memory): none is a first start, or the wrong path. */
  readonly found: boolean;
  #compactionDeferred: StateError | null = null;
  readonly #records: Map<string, WatchRecord>;
  /** Every record now, by section: what a snapshot holds and what a save compares with the files. */
  readonly #image: Image;
  #recordsVersion = 0;
  readonly #batches: Map<string, BatchRecord>;
  /** Auto-tracking's servers and projects; changed in place by the tracker, which then calls touchTracking(). */
  readonly tracking: TrackingState;
  /** Records changed since the last save; `everything` after a touch() without a key. */
  #touched = new Set<string>();
  #everything = false;
  /** Records removed since the last save. */
  #removed = new Set<string>();
  #batchesTouched = false;
  #trackingTouched = false;
  #clock: ClockRecord | null;
  #clockTouched = false;
  #writing: Promise<void> = Promise.resolve();
  #pending: Promise<void> | null = null;
  readonly #writer: StateWriter;
  #closing: Promise<StateError | null> | null = null;
  /** The deliveries of each record that has some, by status, and their sum: read at every scrape. */
  readonly #counted = new Map<string, Readonly<DeliveryCounts>>();
  readonly #counts: DeliveryCounts = { pending: 0, delivered: 0, givenUp: 0, superseded: 0 };
  /** Deliveries added since the last save began: not on disk yet. */
  #unsaved: DurableDelivery[] = [];
  /** Deliveries on disk (read at open, or saved since) while no listener is there to take them. */
  #durable: DurableDelivery[];
  #onDurable: ((deliveries: DurableDelivery[]) => void) | null = null;
  /** Set once another process owns the file: every later save is refused with it. */
  #fenced: StateError | null = null;
  /**
   * Why the last save failed, until one succeeds: what it held (verdicts, the deliveries they owe) waits,
   * unsent, even when the folder still takes an empty file (a full disk), which is all checkWritable probes.
   */
  #saveFailure: StateError | null = null;
  /**
   * checkWritable's probe under way and when it began (the monotonic clock), which the next waits for: on a
   * volume that hangs (an NFS server gone) each /readyz would otherwise hold one of libuv's four threads
   * until it answers, and DNS lookups and every other file operation of the process queue behind them.
   */
  #probing: { since: number; done: Promise<void> } | null = null;
  #onSaveFailed: ((err: StateError, first: boolean) => void) | undefined;
  #onSavedAgain: (() => void) | undefined;
  #onRewritten: ((removed: string[]) => void) | undefined;
  /** A save under way writes again the files found removed: the next look waits for its end. */
  #rewriting = false;

  /** A state that lives only as long as the process: `wait` tracks one action without touching the daemon's. */
  static inMemory(): StateStore {
    return new StateStore('(memory)', new Map(), new Map(), { readOnly: true, lock: null, setAside: [], setAsidePath: null, tracking: noTracking(), clock: null, seq: 0, snapshotBytes: 0, torn: [], found: false });
  }

  private constructor(
    path: string,
    records: Map<string, WatchRecord>,
    batches: Map<string, BatchRecord>,
    options: {
      readOnly: boolean;
      lock: StateLock | null;
      setAside: SetAsideRecord[];
      setAsidePath: string | null;
      tracking: TrackingState;
      clock: ClockRecord | null;
      seq: number;
      snapshotBytes: number;
      torn: TornTail[];
      found: boolean;
    },
  ) {
    this.path = path;
    this.#records = records;
    this.#batches = batches;
    this.tracking = options.tracking;
    this.#clock = options.clock;
    this.readOnly = options.readOnly;
    this.setAside = options.setAside;
    this.setAsidePath = options.setAsidePath;
    this.torn = options.torn;
    this.found = options.found;
    // Of each record's deliveries: the gauge's counts (counted in place, as at every change), and those
    // owed for the outbox.
    const durable: DurableDelivery[] = [];
    const take = (key: string, counts: Readonly<DeliveryCounts> | undefined, deliveries: DurableDelivery[]) => {
      this.#count(key, counts);
      for (const d of deliveries) if (d.delivery.status === 'pending') durable.push(d);
    };
    for (const [key, record] of records) {
      if (!this.readOnly) this.#releasePayloadIfSettled(key, record);
      take(key, watchCounts(record), watchDeliveries(key, record));
    }
    for (const batch of batches.values()) take(batchKey(batch.label), batchCounts(batch), batchDeliveries(batch));
    this.#image = this.readOnly ? NOTHING : {
      watches: () => this.#records,
      batches: () => this.#batches,
      servers: () => Object.entries(this.tracking.servers),
      projects: () => Object.entries(this.tracking.projects),
      clocks: () => (this.#clock ? [[CLOCK_KEY, this.#clock]] : []),
    };
    const { lock } = options;
    this.#writer = new StateWriter(path, { image: this.#image, seq: options.seq, snapshotBytes: options.snapshotBytes, ours: lock ? () => this.#stillHeld(lock) : () => Promise.resolve() });
    this.#durable = durable;
    if (lock) {
      const lost = () => this.fence(String((lock.lost.reason as Error).message));
      if (lock.lost.aborted) lost();
      else lock.lost.addEventListener('abort', lost, { once: true });
      // Beside the lock's I/O every few seconds, and within its guard against a volume that hangs.
      if (!this.readOnly) lock.alongRefresh(() => this.#rewriteIfRemoved());
    }
  }

  /**
   * Reads the state at `path` (none yet: empty): the snapshot, then the journal's lines after it. A file that
   * is not JSON or not a state file is refused, and so is a journal damaged before its last line; a last
   * line cut short by a crash is left out (`torn`). A record that fails its schema is set aside, whole, into
   * `<path>.rejected-<time>.json` and the watch is tracked afresh, so that one bad record neither stops
   * every other watch nor is half used. Unless read-only, the caller must hold the state lock and give it
   * (none: a test's): leftover temporary files are removed, and a journal found is compacted into the
   * snapshot at once. Once the lock is lost, every save is refused (see fence). A `statePath`
   * that is a symbolic link stands for the file it points to, as for the lock (see linkTarget): the store's
   * `path` is that file.
   */
  static async open(statePath: string, options: { readOnly?: boolean; lock?: StateLock | undefined; unsaved?: StateError | null } = {}): Promise<StateStore> {
    const readOnly = options.readOnly ?? false;
    const path = await linkTarget(statePath);
    // Not for a reader (`check`), which holds the records for a moment only.
    const strings = readOnly ? null : new SharedStrings();
    const stored = await readStoredState(path, { retry: readOnly, read: (section, key, raw) => checkRecord(section, key, raw, strings) });
    const setAside: SetAsideRecord[] = [];
    const rejected: Record<string, unknown> = dictionary();
    const rejectedBatches: Record<string, unknown> = dictionary();
    /** Keeps each record of `section` that passed its check; sets each other aside, named there by `named`. */
    const take = <S extends Section>(section: S, keep: (key: string, record: SectionRecords[S]) => void, named = (key: string) => key) => {
      for (const [key, checked] of stored.records[section] as Map<string, Checked<SectionRecords[S]>>) {
        if (checked.ok) {
          keep(key, checked.record);
          continue;
        }
        const { problems, raw: record } = checked;
        setAside.push({ key: named(key), problems });
        if (section === 'batches') rejectedBatches[key] = { problems, record };
        else rejected[named(key)] = { problems, record };
      }
    };
    const records = new Map<string, WatchRecord>();
    take('watches', (key, record) => records.set(key, record));
    const batches = new Map<string, BatchRecord>();
    // Its digests are recorded again, with the same ids, once its watches are judged.
    take('batches', (label, record) => batches.set(label, record), batchKey);
    // A tracked server or project that fails its schema is set aside too: tracking it begins afresh; and
    // so is a clock record: the clock is recorded afresh, as for a state without one.
    const tracking = noTracking();
    take('servers', (key, record) => (tracking.servers[key] = record), (key) => `tracking.servers.${key}`);
    take('projects', (key, record) => (tracking.projects[key] = record), (key) => `tracking.projects.${key}`);
    const clocks: Record<string, ClockRecord> = dictionary();
    take('clocks', (key, record) => (clocks[key] = record), (key) => `clocks.${key}`);
    const clock = clocks[CLOCK_KEY] ?? null;
    let setAsidePath: string | null = null;
    if (!readOnly) {
      await removeTemporaryFiles(path);
      if (setAside.length > 0) {
        setAsidePath = `${path}.rejected-${new Date().toISOString().replace(/[-:.]/g, '')}.json`;
        const file = { from: path, rejectedAt: new Date().toISOString(), watches: rejected, batches: rejectedBatches };
        await writeDurably(setAsidePath, `${JSON.stringify(file, null, 1)}\n`);
      }
    }
    const lock = options.lock ?? null;
    const store = new StateStore(path, records, batches, { readOnly, lock, setAside, setAsidePath, tracking, clock, seq: stored.seq, snapshotBytes: stored.snapshotBytes, torn: stored.torn, found: stored.found });
    // Parts rebuilt by a reload whose last save failed (a full volume): not ready, and the state unsaved,
    // until this store writes. A save with nothing changed writes nothing, and would prove nothing.
    if (!readOnly && options.unsaved) {
      store.#saveFailure = options.unsaved;
      store.#writer.snapshotNext();
    }
    // So that a start reads one file again, with no line cut short to write over and no record set aside.
    if (!readOnly && (stored.oldJournal || stored.journal !== null || setAside.length > 0)) store.#compactionDeferred = await store.#writer.compactAtOpen(stored);
    // A daemon started again on its state (a first start's first save is a snapshot, which makes one).
    if (!readOnly && stored.seq > 0) store.#writer.prepareJournal();
    return store;
  }

  /**
   * Why the state was not compacted into the snapshot at open (no space for it), where a journal was found
   * or records were set aside: saves go on into the journal, and it is compacted later. Null when it was, or
   * nothing called for it.
   */
  get compactionDeferred(): StateError | null {
    return this.#compactionDeferred;
  }

  /**
   * Why the last save failed, until one succeeds (null then): what it held waits, unsent. A reload that
   * rebuilds the parts hands it to their new store (`open`'s `unsaved`).
   */
  get saveFailure(): StateError | null {
    return this.#saveFailure;
  }

  get(key: string): WatchRecord | undefined {
    return this.#records.get(key);
  }

  /**
   * Moves on at each set() and delete(): while it stands, every key names the record it named, which a
   * caller may keep rather than look up again.
   */
  get recordsVersion(): number {
    return this.#recordsVersion;
  }

  set(key: string, record: WatchRecord): void {
    this.#records.set(key, record);
    this.#recordsVersion += 1;
    this.touch(key);
  }

  delete(key: string): void {
    if (!this.#records.delete(key)) return;
    this.#recordsVersion += 1;
    this.#removed.add(key);
    this.#touched.delete(key);
    this.#count(key, undefined);
  }

  getBatch(label: string): BatchRecord | undefined {
    return this.#batches.get(label);
  }

  setBatch(record: BatchRecord): void {
    this.#batches.set(record.label, record);
    this.touchBatch(record.label);
  }

  deleteBatch(label: string): void {
    if (!this.#batches.delete(label)) return;
    this.#batchesTouched = true;
    this.#count(batchKey(label), undefined);
  }

  batches(): BatchRecord[] {
    return [...this.#batches.values()];
  }

  /** Marks the batch `label` as changed in place (a digest's delivery was attempted). */
  touchBatch(label: string): void {
    this.#batchesTouched = true;
    const batch = this.#batches.get(label);
    this.#count(batchKey(label), batch && batchCounts(batch));
  }

  /** Once a batch's digests are settled, the payloads its watches kept for them are released. */
  releaseBatchIfSettled(label: string): void {
    for (const key of new Set(this.#batches.get(label)?.digests.flatMap((d) => d.members.map((m) => m.key)))) this.releaseIfSettled(key);
  }

  /**
   * Marks the record at `key` as possibly changed in place (every record without a key): the next save
   * compares its JSON with what was written, and the deliveries gauge recounts it.
   */
  touch(key?: string): void {
    if (key === undefined) {
      this.#everything = true;
      for (const [k, record] of this.#records) this.#count(k, watchCounts(record));
      return;
    }
    this.#touched.add(key);
    const record = this.#records.get(key);
    this.#count(key, record && watchCounts(record));
  }

  /**
   * Moves every time this host's clock stamped by `byMs` (those from `since` on; every one of a watch not
   * `known`), after that clock was set (not slept through): see moveTimes.ts. Each record is written again
   * at the next save.
   */
  moveTimes(byMs: number, since = -Infinity, known?: ReadonlySet<string>): void {
    for (const [key, record] of this.#records) moveWatchTimes(record, byMs, known === undefined || known.has(key) ? since : -Infinity);
    this.touch();
    for (const batch of this.#batches.values()) {
      moveBatchTimes(batch, byMs, since);
      this.touchBatch(batch.label);
    }
    moveTrackingTimes(this.tracking, byMs, since);
    this.touchTracking();
  }

  /** How the clock the state's times are on stood when last recorded (hostClock.ts); null before the first record. */
  get clock(): ClockRecord | null {
    return this.#clock;
  }

  setClock(record: ClockRecord): void {
    this.#clock = record;
    this.#clockTouched = true;
  }

  /** Whether auto-tracking holds any server or project. */
  isTracking(): boolean {
    for (const _ in this.tracking.servers) return true;
    for (const _ in this.tracking.projects) return true;
    return false;
  }

  /** Marks auto-tracking's state as possibly changed: the next save compares it with what was written. */
  touchTracking(): void {
    this.#trackingTouched = true;
  }

  /** Told the size of each write and which file it went to, for the state metrics. */
  onWrite(listener: (bytes: number, file: StateFileKind) => void): void {
    this.#writer.onWrite(listener);
  }

  /** Told when a compaction in the background failed: saves go on into the journal, and it is tried again later. */
  onCompactionFailed(listener: (err: StateError) => void): void {
    this.#writer.onCompactionFailed(listener);
  }

  /** Told when the journals were compacted into the snapshot: one that failed before has succeeded. */
  onCompacted(listener: () => void): void {
    this.#writer.onCompacted(listener);
  }

  /**
   * Told when a save failed (`first`: the one after a save that succeeded): nothing it recorded is sent
   * until a later save writes it.
   */
  onSaveFailed(listener: (err: StateError, first: boolean) => void): void {
    this.#onSaveFailed = listener;
  }

  /** Told when a save succeeded after one that failed. */
  onSavedAgain(listener: () => void): void {
    this.#onSavedAgain = listener;
  }

  /** Told when files of the state (`removed`) were found removed under the daemon and the whole state written again. */
  onRewritten(listener: (removed: string[]) => void): void {
    this.#onRewritten = listener;
  }

  /**
   * At each refresh of the lock: files of the state removed under the daemon are written again at once, the
   * whole state as a snapshot. A daemon idle for hours (its watches running, no pass changing anything)
   * saves nothing, and a cleanup job by age takes what it leaves untouched: killed before its next save, it
   * was refused at its start (a journal with no snapshot) or started afresh, notifying every finished watch
   * again. Never rejects: a save that fails is told by onSaveFailed, and the next look tries again.
   */
  async #rewriteIfRemoved(): Promise<void> {
    const looking = () => this.#fenced === null && this.#closing === null && !this.#rewriting;
    if (!looking()) return;
    const removed = await this.#writer.removedFiles();
    if (removed.length === 0 || !looking()) return;
    this.#rewriting = true;
    this.#writer.snapshotNext();
    this.save()
      .then(
        () => this.#onRewritten?.(removed),
        () => undefined,
      )
      .finally(() => {
        this.#rewriting = false;
      });
  }

  /** Deliveries in the state by status, kept as records change: no scan at a scrape. */
  deliveryCounts(): DeliveryCounts {
    return { ...this.#counts };
  }

  /**
   * A watch with a verdict whose deliveries are all delivered or given up needs its notification's
   * payload (the last action and server documents, tracebacks included) no more: it is dropped from
   * memory and from the file. The verdict and the delivery records stay: they are what tells a
   * restarted daemon never to notify again. So are the facts an early warning showed once none of its
   * deliveries is pending, verdict or not. A read-only state (`check`, `wait`) keeps it: those commands
   * print it.
   */
  releaseIfSettled(key: string): void {
    if (this.readOnly) return;
    const record = this.#records.get(key);
    if (!record) return;
    const warningReleased = releaseWarningIfSettled(record);
    if (this.#releasePayloadIfSettled(key, record) || warningReleased) this.touch(key);
  }

  #releasePayloadIfSettled(key: string, record: WatchRecord): boolean {
    if (record.verdict === null) return false;
    for (const name in record.deliveries) if (record.deliveries[name]!.status === 'pending') return false;
    // A watch that did not succeed keeps it for the digests that give it in full (a success there is its
    // reason alone): its batch's final digest, until recorded, and every digest that lists it until sent,
    // also one of a batch it has left since (moved to another, or its label taken out after a partial
    // digest), which its record no longer names: that digest said it was let go before it joined.
    if (record.verdict.outcome !== 'success' && ((record.batch && !this.#reported(record.batch, key)) || this.#owedInDigest(key))) return false;
    return kindOf(record).dropPayload(record);
  }

  /** Whether a final digest of the batch has reported the watch at `key`. */
  #reported(label: string, key: string): boolean {
    return this.#batches.get(label)?.digests.some((d) => d.final && digestMember(d, key) !== undefined) ?? false;
  }

  /** Whether a digest that lists the watch at `key` is still owed to a notifier, of whichever batch: it reads the watch's record. */
  #owedInDigest(key: string): boolean {
    for (const batch of this.#batches.values()) {
      if (batch.digests.some((d) => Object.values(d.deliveries).some((delivery) => delivery.status === 'pending') && digestMember(d, key) !== undefined)) return true;
    }
    return false;
  }

  /** Keeps the deliveries gauge's counts: `after` are those of the record (or batch) at `key` now. */
  #count(key: string, after: Readonly<DeliveryCounts> | undefined): void {
    const before = this.#counted.get(key);
    if (before === undefined && after === undefined) return;
    for (const k of COUNTED) this.#counts[k] += (after?.[k] ?? 0) - (before?.[k] ?? 0);
    if (after === undefined) this.#counted.delete(key);
    else this.#counted.set(key, after);
  }

  entries(): Array<[string, WatchRecord]> {
    return [...this.#records];
  }

  /**
   * The records as the store holds them, not a copy: for a walk at every pass, which may delete the record
   * it is at (a Map's iteration allows that). A copy of 10,000 entries went straight to the old generation.
   */
  records(): MapIterator<[string, WatchRecord]> {
    return this.#records.entries();
  }

  get size(): number {
    return this.#records.size;
  }

  /**
   * Records a delivery owed for the watch at `key`, of its verdict or of its early warning (which must be
   * recorded first); it reaches `onDurable` once a save has written it.
   */
  addDelivery(key: string, notifier: string, delivery: DeliveryRecord, about: 'verdict' | 'slow' = 'verdict'): void {
    const record = this.#records.get(key);
    if (!record) throw new Error(`no state record ${key} to add a delivery to`);
    const home = about === 'verdict' ? record.deliveries : record.warning?.deliveries;
    if (!home) throw new Error(`no early warning in state record ${key} to add a delivery to`);
    home[notifier] = delivery;
    this.#unsaved.push({ about, key, notifier, record, delivery });
    this.touch(key);
  }

  /** Records a delivery owed for a digest of the batch `label` (set with `setBatch` first), like `addDelivery`. */
  addDigestDelivery(label: string, digest: DigestRecord, notifier: string, delivery: DeliveryRecord): void {
    const batch = this.#batches.get(label);
    if (!batch?.digests.includes(digest)) throw new Error(`no such digest of batch ${label} in the state to add a delivery to`);
    digest.deliveries[notifier] = delivery;
    this.#unsaved.push({ about: 'digest', key: batchKey(label), notifier, batch, digest, delivery });
    this.touchBatch(label);
  }

  /**
   * The one listener (the outbox) for deliveries that are on disk: at once with the pending ones read at
   * open or saved before it was registered, then after each save with those it wrote for the first time.
   */
  onDurable(listener: (deliveries: DurableDelivery[]) => void): void {
    this.#onDurable = listener;
    const durable = this.#durable.filter((d) => d.delivery.status === 'pending');
    this.#durable = [];
    if (durable.length > 0) listener(durable);
  }

  /**
   * Refuses every later save: the state lock was taken over, and whatever this process writes now would
   * overwrite the new holder's state.
   */
  fence(reason: string): void {
    this.#fenced = new StateError(this.path, `not saved: ${reason}`);
    this.#writer.stop();
  }

  /**
   * Resolves while `lock` is still this process's, read from its file now; once it is not, the lock is lost,
   * which fences the store, and this rejects. Asked before what a daemon paused past the lock's stale time
   * would otherwise do to the new holder's files before its next refresh fences it: overwrite the snapshot
   * with its own state, or remove, rename or empty a journal.
   */
  async #stillHeld(lock: StateLock): Promise<void> {
    let held: boolean;
    try {
      held = await lock.held();
    } catch (err) {
      throw stateFailure(this.path, `cannot read its lock file ${lock.path}`, err);
    }
    // Fenced by then: the lock's loss aborted `lost`, at once.
    if (!held) throw this.#fenced!;
  }

  /** Resolves once every change made before the call is on disk. */
  save(): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    if (this.#fenced) return Promise.reject(this.#fenced);
    this.#pending ??= this.#afterWrites(() => {
      this.#pending = null;
      return this.#commit();
    });
    return this.#pending;
  }

  /**
   * Idempotent: saves what is left and compacts the journal into the snapshot, so that a clean start reads
   * one file. Resolves to why it could not compact for want of space, the journal holding every change
   * (StateWriter.close), or null. Rejects like save().
   */
  close(): Promise<StateError | null> {
    this.#closing ??= this.readOnly ? Promise.resolve(null) : this.#saveAndClose();
    return this.#closing;
  }

  async #saveAndClose(): Promise<StateError | null> {
    let uncompacted: StateError | null;
    try {
      await this.save();
    } finally {
      uncompacted = await this.#afterWrites(() => this.#writer.close());
    }
    return uncompacted;
  }

  /** Runs `step` once the writes asked for so far are done, before any asked for later. */
  #afterWrites<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(step);
    this.#writing = run.then(() => undefined, () => undefined);
    return run;
  }

  /** One save: the records changed since the last one, written as one change. */
  async #commit(): Promise<void> {
    if (this.#fenced) throw this.#fenced;
    const taken = {
      touched: this.#everything ? new Set(this.#records.keys()) : this.#touched,
      removed: this.#removed,
      batches: this.#batchesTouched,
      tracking: this.#trackingTouched,
      clock: this.#clockTouched,
    };
    this.#touched = new Set();
    this.#everything = false;
    this.#removed = new Set();
    this.#batchesTouched = false;
    this.#trackingTouched = false;
    this.#clockTouched = false;
    const written = this.#unsaved;
    this.#unsaved = [];
    try {
      await this.#writer.write(this.#changes(taken));
      const recovered = this.#saveFailure !== null;
      this.#saveFailure = null;
      if (recovered) this.#onSavedAgain?.();
    } catch (err) {
      const first = this.#saveFailure === null;
      // The writer rejects with a StateError only, naming the file and the cause.
      this.#saveFailure = err as StateError;
      this.#onSaveFailed?.(this.#saveFailure, first);
      for (const key of taken.touched) this.#touched.add(key);
      for (const key of taken.removed) if (!this.#records.has(key)) this.#removed.add(key);
      this.#batchesTouched ||= taken.batches;
      this.#trackingTouched ||= taken.tracking;
      this.#clockTouched ||= taken.clock;
      this.#unsaved = written.concat(this.#unsaved);
      throw err;
    }
    if (written.length > 0) {
      if (this.#onDurable) this.#onDurable(written);
      else this.#durable.push(...written);
    }
    await this.#writer.compactIfDue();
  }

  /** What differs from the files among what was touched: each record's new JSON, null for one removed. */
  #changes(taken: { touched: Set<string>; removed: Set<string>; batches: boolean; tracking: boolean; clock: boolean }): Change {
    const change = this.#writer.change();
    const written = this.#writer.written;
    for (const key of taken.touched) {
      const record = this.#records.get(key);
      if (record === undefined) continue;
      const json = JSON.stringify(record);
      const digest = digestOf(json);
      if (digest !== written.watches.get(key)) change.set('watches', key, json, digest);
      // A snapshot of everything now: no more JSON to make.
      if (change.entries === null) return change;
    }
    for (const key of taken.removed) if (!this.#records.has(key) && written.watches.has(key)) change.remove('watches', key);
    if (taken.batches) diff(written, 'batches', this.#image.batches(), change);
    if (taken.tracking) {
      diff(written, 'servers', this.#image.servers(), change);
      diff(written, 'projects', this.#image.projects(), change);
    }
    if (taken.clock) diff(written, 'clocks', this.#image.clocks(), change);
    return change;
  }

  /**
   * For /readyz: the folder exists (created when missing) and accepts a file within PROBE_WAIT_MS, and the
   * last save did not fail. A probe that comes once the look under way has waited that long is answered at
   * once: each one waiting on a look that never ends (a volume that hangs) would keep its request for good.
   */
  async checkWritable(): Promise<void> {
    const probing = (this.#probing ??= {
      since: performance.now(),
      done: this.#probe().finally(() => {
        this.#probing = null;
      }),
    });
    const left = PROBE_WAIT_MS - (performance.now() - probing.since);
    if (left <= 0 || !(await settledWithin(probing.done, left))) {
      throw new StateError(this.path, `its folder has not answered a look for ${formatDuration(performance.now() - probing.since)}: a volume that hangs (an NFS server gone)?`);
    }
    if (this.#saveFailure) throw this.#saveFailure;
  }

  async #probe(): Promise<void> {
    const probe = join(dirname(this.path), `.${basename(this.path)}.probe-${randomUUID()}`);
    try {
      await makeFolder(dirname(this.path));
      const handle = await open(probe, 'w');
      await handle.close();
      await rm(probe, { force: true });
    } catch (err) {
      throw stateFailure(this.path, 'cannot create a file in its folder', err);
    }
  }
}

/** Whether `done` settles within `ms` (it rejects as `done` does). */
function settledWithin(done: Promise<void>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), ms).unref();
    done.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}

/** Sets in `change` each entry of `now` whose JSON differs from what is `written` in `section`, and null for each written entry gone from `now`. */
function diff(written: Sections<string>, section: Section, now: Iterable<readonly [string, unknown]>, change: Change): void {
  const present = new Set<string>();
  for (const [key, value] of now) {
    present.add(key);
    const json = JSON.stringify(value);
    const digest = digestOf(json);
    if (digest !== written[section].get(key)) change.set(section, key, json, digest);
  }
  for (const key of written[section].keys()) if (!present.has(key)) change.remove(section, key);
}

/** What a crash between writing and renaming leaves behind; only the lock holder may remove them. */
async function removeTemporaryFiles(path: string): Promise<void> {
  const prefix = temporaryPrefix(path);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dirname(path), n), { force: true }).catch(() => undefined)));
}
