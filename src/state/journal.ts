// The state's journal: each save appends one line holding what changed (a JSON object, numbered), made
// durable before the save counts (the file is opened O_DSYNC). One line per save, each written after the last
// whole one (in writes of up to a MiB): a crash can only cut the last line short, and a damaged line with
// whole lines after it is damage, not a crash.
import { constants } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolder, syncFolder } from '../files/writeFileAtomic.ts';
import { writePieces } from '../files/writePieces.ts';
import { errorCode } from '../net/failure.ts';
import { StateError } from './StateError.ts';
import { newerFormatRefusal, stateSchemas, type JournalEntry } from './schema.ts';

/**
 * Each write to the journal is durable when it returns (data and the file's size, as fdatasync makes them):
 * one system call and one wait per line instead of two. Where the system has no O_DSYNC, an fdatasync follows.
 */
const DSYNC: number = constants.O_DSYNC ?? 0;

/** Why a line may fail and the same file take the next one, once the disk has room. */
export const OUT_OF_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** The journal of the state at `statePath`, and the one a compaction has set aside until its snapshot is written. */
export function journalPaths(statePath: string): { current: string; old: string } {
  return { current: `${statePath}.journal`, old: `${statePath}.journal.old` };
}

/** What a crash left at a journal's end: a line cut short, ignored with everything before it kept. */
export interface TornTail {
  path: string;
  /** Its line number (1-based). */
  line: number;
  bytes: number;
}

/**
 * The entries of a journal's text, in order. The last line may be cut short or damaged (a crash while it
 * was written): it is left out and reported as `torn`. A line that is not an entry with whole lines after
 * it, or entries that are not numbered one after the other, make the journal untrustworthy: refused.
 * `snapshot`: whether a state file is beside the journal, and `continuedBy`: the journal that goes on from
 * this one (the current one, beside a compaction's old one), which the refusal's advice depends on.
 */
export function parseJournal(text: string, path: string, snapshot: boolean, continuedBy: string | null = null): { entries: JournalEntry[]; torn: TornTail | null } {
  const lines = text.split('\n');
  // After the final line break: "" when the last line is whole.
  const last = lines.pop()!;
  const entries: JournalEntry[] = [];
  for (const [i, line] of lines.entries()) {
    const entry = parseLine(line, path);
    if (typeof entry === 'string') {
      if (i < lines.length - 1 || last !== '') throw damaged(path, i + 1, `${entry}, and whole lines follow it`, snapshot, continuedBy);
      return { entries, torn: { path, line: i + 1, bytes: Buffer.byteLength(line) + 1 } };
    }
    const previous = entries.at(-1);
    if (previous && entry.seq !== previous.seq + 1) throw damaged(path, i + 1, `is change ${entry.seq} after change ${previous.seq}, and the changes of one journal are numbered one after the other`, snapshot, continuedBy);
    entries.push(entry);
  }
  return { entries, torn: last === '' ? null : { path, line: lines.length + 1, bytes: Buffer.byteLength(last) } };
}

/** The entry on `line`, or why it is none; a line of a newer format refuses the journal at `path`. */
function parseLine(line: string, path: string): JournalEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // Not in V8's words, which quote the line.
    return 'is not JSON';
  }
  // No line says its format yet: one that does is of a later one, whatever else it holds.
  const newer = newerFormatRefusal(path, value);
  if (newer) throw newer;
  const entry = stateSchemas().journalEntrySchema.safeParse(value);
  return entry.success ? entry.data : 'is not a journal entry (expected {"seq":N,...})';
}

/**
 * The refusal of a journal damaged at `line`, with what each way out costs: without a state file beside it
 * (a daemon killed before its first compaction) the journal is the whole state, and moving it aside
 * notifies every finished watch again. A journal that `continuedBy` goes on from goes with the lines cut:
 * left alone, its changes would follow a gap, and the next start is refused.
 */
function damaged(path: string, line: number, why: string, snapshot: boolean, continuedBy: string | null): StateError {
  const it = continuedBy === null ? 'it' : 'both';
  const aside = snapshot
    ? `move ${it} aside, which starts from the state file alone and may notify again what happened since that file was written`
    : `move ${it} aside, which starts with no state at all (there is no state file beside it) and notifies every finished watch again`;
  const after = continuedBy === null ? '' : `, and move ${continuedBy} aside too, whose changes follow those removed`;
  const keep = line > 1 ? `Keep its first ${line - 1} line${line > 2 ? 's' : ''}, the changes before it, and remove the rest (head -n ${line - 1})${after}: only what happened after them may be notified again; or ` : '';
  const ways = `${keep}${aside}`;
  return new StateError(path, `line ${line} ${why}: the journal was damaged after it was written, not cut short by a crash. ${ways[0]!.toUpperCase()}${ways.slice(1)}`);
}

/**
 * The writing end of the journal. Each `append` writes one line where the last whole one ended, durably; a
 * write that failed part-way is cut off before the next one, so that a line never follows half of another.
 * The file is created at the first append (and after a `rotate` or `remove`), or ahead of it by `prepare`:
 * it is only ever opened when none of its lines is needed any more, so it is created empty (unless taken up
 * as it is at start, by `adopt`, when there was no space to compact it). It is created, renamed and removed
 * only once `ours` has said that the state is still this process's; a line is appended without asking (a
 * file removed under it is noticed: JournalLostError).
 */
export class JournalWriter {
  readonly path: string;
  /** Rejects once the state is another process's: the names this writer changes may be that one's files. */
  readonly #ours: () => Promise<void>;
  /** The file, once created (or being created): every append and `close` waits for the same one. */
  #opening: Promise<FileHandle> | null = null;
  /** Bytes of whole lines: where the next line goes. */
  #length = 0;
  #cutNeeded = false;
  #broken = false;
  /**
   * When the first line of this file was written (performance.now(): this host's clock set back must not
   * keep the journal from its compaction for as long); null while it has none.
   */
  #since: number | null = null;

  constructor(path: string, ours: () => Promise<void>) {
    this.path = path;
    this.#ours = ours;
  }

  /** Bytes of whole lines in the file. */
  get bytes(): number {
    return this.#length;
  }

  /**
   * A line failed on the open file for a reason other than space (EIO, a stale NFS handle, a volume that
   * hung and came back): the handle may fail for good, so the lines go to a new file once a snapshot holds
   * everything. Out of space, the file is good up to its last whole line, and the next line cuts it back there.
   */
  get broken(): boolean {
    return this.#broken;
  }

  /** When the file's first line was written (performance.now()); null while it has none. */
  get since(): number | null {
    return this.#since;
  }

  /**
   * Appends one line (pieces that end with a line break) and makes it durable; resolves to its bytes. Rejects
   * with `JournalLostError` when the file was removed meanwhile (its lines reached no file anyone reads).
   */
  async append(pieces: Iterable<string>): Promise<number> {
    // Once more when the file could not be created: that may have been `prepare`'s try, in the background.
    const handle = await this.#open().catch(() => this.#open());
    let bytes: number;
    let nlink: number;
    try {
      if (this.#cutNeeded) {
        await handle.truncate(this.#length);
        this.#cutNeeded = false;
      }
      // The check for a removed journal runs alongside the write: one wait for the event loop, not two.
      [bytes, nlink] = await Promise.all([this.#write(handle, pieces), handle.stat().then((stats) => stats.nlink)]);
    } catch (err) {
      this.#cutNeeded = true;
      if (!OUT_OF_SPACE.has(errorCode(err) ?? '')) this.#broken = true;
      throw err;
    }
    // A journal whose folder was deleted takes writes without complaint, into a file nobody reads.
    if (nlink === 0) {
      await this.close();
      throw new JournalLostError(`${this.path} was removed while in use: the next save writes the whole state again`);
    }
    this.#length += bytes;
    this.#since ??= performance.now();
    return bytes;
  }

  /**
   * Whether its file was removed (no name left), looked at on the open file: renamed by a compaction to the
   * old journal, it is still linked. On NFS a file removed by another host leaves a stale handle. False while
   * it has no file, and when the look fails otherwise (the file closed meanwhile by a compaction or a snapshot).
   */
  async removed(): Promise<boolean> {
    const handle = await this.#opening?.catch(() => null);
    if (!handle) return false;
    return handle.stat().then(
      (stats) => stats.nlink === 0,
      (err: unknown) => errorCode(err) === 'ESTALE',
    );
  }

  /** Writes `pieces` where the last whole line ended, durably: with O_DSYNC each write is, else an fdatasync follows. */
  async #write(handle: FileHandle, pieces: Iterable<string>): Promise<number> {
    const bytes = await writePieces(handle, pieces, this.#length);
    if (DSYNC === 0) await handle.datasync();
    return bytes;
  }

  /**
   * Creates the file now, so that the next save does not wait for it (making a new name durable costs a
   * sync of the folder, tens of milliseconds). A failure is left to the next append, which tries again.
   */
  prepare(): void {
    this.#open().catch(() => undefined);
  }

  /**
   * Takes up the file as it is, its whole lines ending at `bytes` (a journal found at start that could not be
   * compacted): the next line goes after them, over what follows (a line cut short by a crash).
   */
  async adopt(bytes: number): Promise<void> {
    const handle = await open(this.path, constants.O_WRONLY | DSYNC);
    this.#opening = Promise.resolve(handle);
    this.#length = bytes;
    this.#cutNeeded = true;
    this.#since = performance.now();
  }

  /** Renames the file to `to` (a compaction's old journal); the next append starts a new one. */
  async rotate(to: string): Promise<void> {
    if (this.#opening === null) return;
    await this.#opening.catch(() => undefined);
    await this.#ours();
    await rename(this.path, to);
    await this.close();
  }

  /** Removes the file, whose every line a snapshot now holds; the next append starts a new one. */
  async remove(): Promise<void> {
    await this.close();
    await this.#ours();
    await rm(this.path, { force: true });
  }

  async close(): Promise<void> {
    const opening = this.#opening;
    this.#opening = null;
    this.#length = 0;
    this.#cutNeeded = false;
    this.#broken = false;
    this.#since = null;
    const handle = await opening?.catch(() => null);
    await handle?.close();
  }

  #open(): Promise<FileHandle> {
    if (this.#opening) return this.#opening;
    const opening = this.#create();
    this.#opening = opening;
    // A file that could not be created is tried again by the next append.
    opening.catch(() => {
      if (this.#opening === opening) this.#opening = null;
    });
    return opening;
  }

  async #create(): Promise<FileHandle> {
    await makeFolder(dirname(this.path));
    // Created empty (O_TRUNC): over a journal of the process that took the state over, its lines would be gone.
    await this.#ours();
    const handle = await open(this.path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | DSYNC, 0o600);
    try {
      // The new file's name must outlive a crash as much as the lines in it.
      await syncFolder(dirname(this.path));
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle;
  }
}

/** The journal file disappeared under the daemon: what it held must be written again, as a snapshot. */
export class JournalLostError extends Error {
  override name = 'JournalLostError';
}
