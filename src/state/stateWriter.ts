import { hash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { writeFileAtomic } from '../files/writeFileAtomic.ts';
import { notRemoved } from '../files/notRemoved.ts';
import { StateError, stateFailure } from './StateError.ts';
import { JournalLostError, JournalWriter, OUT_OF_SPACE, journalPaths } from './journal.ts';
import { MAX_STATE_BYTES, SECTIONS, emptySections, journalLine, snapshotText, type Image, type Section, type Sections, type SnapshotListener, type StoredState } from './stateFiles.ts';

/**
 * The journal is compacted into a new snapshot once it holds this much, or as much as the snapshot when that
 * is more: a byte of change costs at most about two bytes written, and a start replays at most twice the
 * state (or a MiB), outside bursts.
 */
const COMPACT_MIN_BYTES = 1024 * 1024;
/**
 * ...but while saves come less than this far apart (a wave of verdicts and their deliveries), it waits for a
 * pause: a compaction's snapshot and the new journal it starts would hold up the saves behind it, and the
 * notifications waiting on them (twice in a wave of 1,000 verdicts).
 */
const QUIET_MS = 1000;
/**
 * ...unless the journal has grown to this many times the size (a start then replays at most about five
 * times the state, or 4 MiB), and never past half of what a start reads of a file: it would refuse the journal.
 */
const BURST_COMPACT_FACTOR = 4;
const BURST_COMPACT_MAX_BYTES = MAX_STATE_BYTES / 2;
/** ...or once its first line is this old, so that the snapshot alone is never far behind. */
const COMPACT_AGE_MS = 60 * 60_000;
/** A compaction that failed is not tried again before this (every save would otherwise try). */
const COMPACT_RETRY_MS = 60_000;

/** Which file a write went to, for the metrics. */
export type StateFileKind = 'journal' | 'snapshot';

/**
 * Writes the state's changes durably, at a cost that follows what changed. Each change is one line
 * appended to the journal (`<state.path>.journal`), durable when the write returns (O_DSYNC). Now and then the journal is compacted:
 * it is renamed to `.journal.old` between two changes, so that later lines go to a fresh one, the whole
 * state is written as the snapshot (`state.path`, replaced atomically) in the background, and the old
 * journal is removed once the snapshot is on disk. Changes are numbered and the snapshot says up to which
 * one it holds, so that a crash between any two steps leaves files that read back as the last change
 * written (see stateFiles.ts). The caller serialises `write`, `compactIfDue` and `close`.
 */
export class StateWriter {
  readonly path: string;
  /**
   * The digest (digestOf) of each entry's JSON as the files hold it: what a change is measured against. Not
   * the JSON itself, which would cost each watch its serialised size in memory for as long as it lives.
   */
  readonly written: Sections<string>;
  /** Every entry now, for a snapshot: the owner's records as they are in memory. */
  readonly #image: Image;
  /** The number of the last change written. */
  #seq: number;
  #snapshotBytes: number;
  readonly #journal: JournalWriter;
  readonly #oldJournal: string;
  /** The old journal exists and holds changes that no snapshot holds yet. */
  #oldJournalNeeded = false;
  /** The journal was lost, or a save failed before (snapshotNext): the next change is written as a snapshot of everything. */
  #snapshotNeeded = false;
  /** The compaction writing a snapshot in the background, if any; it never rejects (it reports). */
  #compaction: Promise<void> | null = null;
  #compactNotBefore = 0;
  /**
   * When the journal was last written (performance.now(): a clock set back or forward does not count), and
   * whether the write before came less than QUIET_MS earlier.
   */
  #lastAppend = -Infinity;
  #burst = false;
  #stopped = false;
  /** Closed: a journal opened again would be created empty over lines a failed last compaction still needs. */
  #closed = false;
  #onWrite: ((bytes: number, file: StateFileKind) => void) | undefined;
  #onCompactionFailed: ((err: StateError) => void) | undefined;
  #onCompacted: (() => void) | undefined;
  /**
   * Resolves while the state is this process's, rejects (a StateError) once another has taken it over:
   * asked before each write of a snapshot and each change of a journal's name, whose files may be that
   * process's by then; never for a journal line, the cost of every save.
   */
  readonly #ours: () => Promise<void>;

  constructor(path: string, options: { image: Image; seq: number; snapshotBytes: number; ours: () => Promise<void> }) {
    this.path = path;
    this.#image = options.image;
    this.written = digestsOf(options.image);
    this.#seq = options.seq;
    this.#snapshotBytes = options.snapshotBytes;
    this.#ours = options.ours;
    this.#journal = new JournalWriter(journalPaths(path).current, options.ours);
    this.#oldJournal = journalPaths(path).old;
  }

  /** Told the size of each write and which file it went to, for the state metrics. */
  onWrite(listener: (bytes: number, file: StateFileKind) => void): void {
    this.#onWrite = listener;
  }

  /** Told when a compaction in the background failed: changes go on into the journal, and it is tried again later. */
  onCompactionFailed(listener: (err: StateError) => void): void {
    this.#onCompactionFailed = listener;
  }

  /** Told when the journals were compacted into the snapshot and removed: nothing an earlier failure left is needed any more. */
  onCompacted(listener: () => void): void {
    this.#onCompacted = listener;
  }

  /** The next write is a snapshot of everything, whatever its change holds (nothing, even). */
  snapshotNext(): void {
    this.#snapshotNeeded = true;
  }

  /** A change to gather for `write`: it is a journal line until it is as big as a compaction. */
  change(): Change {
    return new Change(this.#compactAt());
  }

  /**
   * Writes `change` durably, and the digests follow it: as a journal line, or as a snapshot when the line
   * would be as big as a compaction (the first save of thousands of new watches) or the journal was lost.
   * Rejects with a StateError, nothing applied.
   *
   * A snapshot holds every entry as it is in memory when it is written, which may be newer than the
   * changes written so far; `written` is then what it holds.
   */
  write(change: Change): Promise<void> {
    const entries = change.entries;
    if (entries !== null && !SECTIONS.some((section) => entries[section].size > 0) && !this.#snapshotNeeded) return Promise.resolve();
    if (this.#closed) return Promise.reject(new StateError(this.path, 'not saved: the state was closed (the daemon is stopping)'));
    const seq = this.#seq + 1;
    // Not held while a snapshot is written: a change that became one gave up its entries already.
    return entries === null || this.#snapshotNeeded ? this.#writeAsSnapshot(seq) : this.#writeAsLine(seq, entries, change.digests);
  }

  async #writeAsSnapshot(seq: number): Promise<void> {
    try {
      await this.#snapshot(seq);
      // The next change is a line again, likely soon (the first verdicts after the watches were saved).
      if (!this.#stopped) this.#journal.prepare();
    } catch (err) {
      // A snapshot that failed may have been renamed into place all the same (its folder's fsync failed):
      // the files may hold records as they were in memory, unmarked. The next save writes everything again.
      this.#snapshotNeeded = true;
      throw stateFailure(this.path, 'cannot be written', err);
    }
    this.#seq = seq;
  }

  async #writeAsLine(seq: number, change: Sections<string | null>, digests: Sections<string>): Promise<void> {
    try {
      // Looked for alongside the write, as the journal looks for its own file: one wait, not two.
      const [bytes, snapshotThere] = await Promise.all([this.#journal.append(journalLine(seq, change)), this.#snapshotThere()]);
      // Removed under the daemon (a cleanup job by age takes it, untouched for days, and leaves the journal and
      // the lock, written to all the time): the journal alone, which begins past change 1, is refused at a start.
      if (!snapshotThere) throw new JournalLostError(`${this.path} was removed while in use: the next save writes the whole state again`);
      applyChange(this.written, change, digests);
      const now = performance.now();
      this.#burst = now - this.#lastAppend < QUIET_MS;
      this.#lastAppend = now;
      this.#onWrite?.(bytes, 'journal');
    } catch (err) {
      // As after a snapshot that failed when the journal's file is gone or its handle may fail for good.
      if (err instanceof JournalLostError || this.#journal.broken) this.#snapshotNeeded = true;
      throw stateFailure(this.path, 'cannot be written', err);
    }
    this.#seq = seq;
  }

  /**
   * Writes every entry as the snapshot now and removes the journals: at open, a journal was found (`found`),
   * or records were set aside. Out of space (ENOSPC, EDQUOT) the files are good all the same, and a start
   * must not be refused where the daemon that stopped went on: saves go on into the journal found, after its
   * last whole line, and it is compacted later, as after a compaction that failed. Resolves to why it was
   * not compacted then, or null.
   */
  async compactAtOpen(found: Pick<StoredState<unknown>, 'oldJournal' | 'journal'>): Promise<StateError | null> {
    try {
      await this.#snapshot(this.#seq);
      return null;
    } catch (err) {
      if (!(err instanceof StateError) || !OUT_OF_SPACE.has(err.code ?? '')) throw err;
      this.#oldJournalNeeded = found.oldJournal;
      // One with no whole line, or whose lines the snapshot holds already (a crash before its removal), is
      // created afresh: a line after those would be a gap.
      if (found.journal !== null && found.journal.bytes > 0 && found.journal.seq === this.#seq) {
        await this.#journal.adopt(found.journal.bytes).catch((cause: unknown) => {
          throw stateFailure(this.#journal.path, 'cannot be opened', cause);
        });
      }
      this.#compactNotBefore = performance.now() + COMPACT_RETRY_MS;
      return err;
    }
  }

  /**
   * Creates the journal ahead of the first change after a state was read, as after each snapshot. A daemon
   * started again on its state changes nothing while the actions it polls run on: the journal would be
   * created by the save of its first verdict, and that verdict's notification and those behind it would
   * wait for a sync of the folder (at 10,000 watches finishing at once after a restart, a p99 from verdict
   * to webhook of 75-114 ms against 33-40 ms; docs/performance.md).
   */
  prepareJournal(): void {
    if (!this.#stopped) this.#journal.prepare();
  }

  /**
   * After a save (written or not): starts a compaction when the journal is big (bigger during a burst of
   * saves) or old enough. The journal is set aside here, between two writes; the snapshot of everything up
   * to now is written in the background.
   */
  async compactIfDue(): Promise<void> {
    const journal = this.#journal;
    const now = performance.now();
    if (this.#compaction || this.#stopped || now < this.#compactNotBefore) return;
    const old = journal.since !== null && now - journal.since >= COMPACT_AGE_MS;
    const burst = this.#burst && performance.now() - this.#lastAppend < QUIET_MS;
    const big = journal.bytes >= (burst ? Math.min(this.#compactAt() * BURST_COMPACT_FACTOR, BURST_COMPACT_MAX_BYTES) : this.#compactAt());
    // An old journal that a failed compaction left is compacted at the next chance, however small the new one.
    if (!big && !old && !this.#oldJournalNeeded) return;
    // Marked as the text is made, before any later save compares the entry with `written`: the snapshot
    // lands later, if at all, and the saves meanwhile go to the journal read over it.
    const text = snapshotText(this.#seq, this.#image, markingDiverged(this.written));
    try {
      // With an old journal still needed (an earlier compaction failed) the current one stays: its lines
      // up to this snapshot are skipped at load.
      if (!this.#oldJournalNeeded) {
        // Needed from the rename on, even if closing the file then fails: a later rotation must not replace it.
        this.#oldJournalNeeded = true;
        await journal.rotate(this.#oldJournal);
        journal.prepare();
      }
    } catch (err) {
      this.#compactionFailed(err);
      return;
    }
    this.#compaction = (async () => {
      try {
        await this.#writeSnapshot(text);
        await this.#ours();
        await rm(this.#oldJournal, { force: true });
        this.#oldJournalNeeded = false;
        this.#onCompacted?.();
      } catch (err) {
        this.#compactionFailed(err);
      } finally {
        this.#compaction = null;
      }
    })();
  }

  /** No compaction starts any more: another process owns the state now. */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Waits for a compaction under way and, unless stopped, compacts what the journal holds, so that a clean
   * start reads one file; then closes the journal. Resolves to why it could not compact for want of space,
   * or null: the journals then hold every change, as after a compaction that failed, and a start reads
   * them (compactAtOpen). Rejects with a StateError.
   */
  async close(): Promise<StateError | null> {
    this.#closed = true;
    let failure: unknown = null;
    let uncompacted: StateError | null = null;
    try {
      await this.#compaction;
      if (!this.#stopped && (this.#journal.bytes > 0 || this.#oldJournalNeeded || this.#snapshotNeeded)) await this.#snapshot(this.#seq);
    } catch (err) {
      // Not when the last change is to be written as a snapshot (a save failed): no line holds it.
      if (err instanceof StateError && OUT_OF_SPACE.has(err.code ?? '') && !this.#snapshotNeeded) uncompacted = err;
      else failure = err;
    }
    // A journal prepared but never written is removed too, so that a stopped daemon leaves one file; unless
    // another process owns the state (the journal at that path may be its own now) or lines are needed.
    const keep = this.#stopped || this.#journal.bytes > 0 || this.#oldJournalNeeded;
    try {
      await (keep ? this.#journal.close() : this.#journal.remove());
    } catch (err) {
      failure ??= stateFailure(this.#journal.path, 'cannot be closed', err);
    }
    if (failure !== null) throw failure;
    return uncompacted;
  }

  /**
   * The files of the state removed under the daemon: the snapshot, once there is one, and the journal that
   * takes the lines. A compaction removes neither: the snapshot is replaced by a rename over it, and the
   * journal renamed to the old one is still linked.
   */
  async removedFiles(): Promise<string[]> {
    const [snapshotThere, journalRemoved] = await Promise.all([this.#snapshotThere(), this.#journal.removed()]);
    return [...(snapshotThere ? [] : [this.path]), ...(journalRemoved ? [this.#journal.path] : [])];
  }

  /** Whether the snapshot is where it was written, when there is one (a start with none writes lines alone). */
  async #snapshotThere(): Promise<boolean> {
    if (this.#snapshotBytes === 0) return true;
    return notRemoved(this.path);
  }

  /** The journal's size at which it is compacted. */
  #compactAt(): number {
    return Math.max(COMPACT_MIN_BYTES, this.#snapshotBytes);
  }

  #compactionFailed(err: unknown): void {
    // The state is another process's now: that is what is reported (the lock lost), not a compaction.
    if (this.#stopped) return;
    this.#compactNotBefore = performance.now() + COMPACT_RETRY_MS;
    this.#onCompactionFailed?.(stateFailure(this.path, 'could not be compacted', err));
  }

  /**
   * Writes every entry as the snapshot of changes up to `seq`, which then holds everything: the journals
   * are removed. Rejects only when the snapshot was not written: once it is, change `seq` is on disk and its
   * number must not be given to another change (the journal's line of it would be skipped at load).
   * Once written, it is all the files hold: `written` becomes its digests.
   */
  async #snapshot(seq: number): Promise<void> {
    // Never two snapshot writes at once: the one renamed last would win.
    await this.#compaction;
    const digests = emptySections<string>();
    await this.#writeSnapshot(snapshotText(seq, this.#image, { entry: (section, key, json) => digests[section].set(key, digestOf(json)), ended: () => undefined }));
    for (const section of SECTIONS) this.written[section] = digests[section];
    this.#snapshotNeeded = false;
    try {
      await this.#journal.remove();
      await rm(this.#oldJournal, { force: true });
      this.#oldJournalNeeded = false;
      this.#onCompacted?.();
    } catch (err) {
      // Harmless until removed: every line a journal left holds is at or before `seq`, skipped at load.
      this.#compactionFailed(err);
    }
  }

  /** Replaces the snapshot with `text`, unless the state is another process's now. */
  async #writeSnapshot(text: Iterable<string>): Promise<void> {
    await this.#ours();
    // Asked again once it is written, just before the rename: the write may last past the lock's stale time
    // (a volume that hangs, a pause), and its rename would replace the new holder's state file with ours.
    const bytes = await writeDurably(this.path, text, this.#ours);
    this.#snapshotBytes = bytes;
    this.#onWrite?.(bytes, 'snapshot');
  }
}

/** What `written` holds of an entry's JSON: equal digests, equal JSON. */
export function digestOf(json: string): string {
  return hash('sha256', json, 'base64');
}

/** In `written`, an entry whose JSON in the files is not known: never equal to a digest. */
const DIVERGED = 'diverged';

/**
 * Marks in `written`, as a snapshot's text is made, each entry whose JSON there is not the one `written` says,
 * and as each section ends each entry it left out: the next save of each writes it, or its removal. A key
 * left out is marked at once, not once the text is written: one removed before the text reached it and put
 * back unchanged after the section ended would be no change to the next save, and missing from the files.
 */
function markingDiverged(written: Sections<string>): SnapshotListener {
  const held = emptySections<true>();
  return {
    entry(section, key, json) {
      held[section].set(key, true);
      if (written[section].get(key) !== digestOf(json)) written[section].set(key, DIVERGED);
    },
    ended(section) {
      for (const key of written[section].keys()) if (!held[section].has(key)) written[section].set(key, DIVERGED);
      held[section].clear();
    },
  };
}

/** The digest of each entry of `image` as it is now. */
function digestsOf(image: Image): Sections<string> {
  const digests = emptySections<string>();
  for (const section of SECTIONS) for (const [key, value] of image[section]()) digests[section].set(key, digestOf(JSON.stringify(value)));
  return digests;
}

function applyChange(written: Sections<string>, change: Sections<string | null>, digests: Sections<string>): void {
  for (const section of SECTIONS) {
    for (const [key, json] of change[section]) {
      if (json === null) written[section].delete(key);
      else written[section].set(key, digests[section].get(key)!);
    }
  }
}

/**
 * What a save changes, gathered entry by entry: each entry's new JSON, null for one removed. Once it is as
 * big as a compaction, it is written as a snapshot of everything instead, and lets its entries go: the first
 * save of 10,000 watches would otherwise make and hold the JSON of each (9 MB) only to make it again.
 */
export class Change {
  #entries: Sections<string | null> | null = emptySections();
  /** The digest of each entry's JSON, which `written` takes once the line is written. */
  #digests = emptySections<string>();
  /** About how long its journal line is. */
  #chars = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Its entries; null once they are too many for a journal line, and it is a snapshot. */
  get entries(): Sections<string | null> | null {
    return this.#entries;
  }

  get digests(): Sections<string> {
    return this.#digests;
  }

  /**
   * The entry's new JSON, with its digestOf, which the caller made to compare it with `written`: each JSON
   * is hashed once a save.
   */
  set(section: Section, key: string, json: string, digest: string): void {
    if (this.#add(section, key, json)) this.#digests[section].set(key, digest);
  }

  remove(section: Section, key: string): void {
    this.#add(section, key, null);
  }

  #add(section: Section, key: string, json: string | null): boolean {
    if (this.#entries === null) return false;
    this.#entries[section].set(key, json);
    this.#chars += key.length + (json?.length ?? 4) + 4;
    if (this.#chars < this.#limit) return true;
    this.#entries = null;
    this.#digests = emptySections();
    return false;
  }
}

/** Replaces `path` with `text` atomically and durably, `beforeRename` first asked (see writeFileAtomic); resolves to the bytes written. */
export async function writeDurably(path: string, text: string | Iterable<string>, beforeRename?: () => Promise<void>): Promise<number> {
  try {
    return await writeFileAtomic(path, text, beforeRename === undefined ? {} : { beforeRename });
  } catch (err) {
    throw stateFailure(path, 'cannot be written', err);
  }
}
