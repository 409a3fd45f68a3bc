// The state on disk: a snapshot at `state.path` (replaced atomically now and then) and the journal of
// what changed since (`<state.path>.journal`, and `.journal.old` while a compaction writes the snapshot).
// Here: reading them into every record's latest value, and the text of a snapshot and of a journal line.
import { stat as statCallback } from 'node:fs';
import { promisify } from 'node:util';
import { NotARegularFileError, readRegularFile, regularFilePieces } from '../files/readRegularFile.ts';
import { StateError, stateFailure } from './StateError.ts';
import { jsonBreak } from '../text/jsonBreak.ts';
import { withoutByteOrderMark } from '../text/byteOrderMark.ts';
import { journalPaths, parseJournal, type TornTail } from './journal.ts';
import { notRemoved } from '../files/notRemoved.ts';
import { STATE_VERSION, newerFormatRefusal, stateSchemas, type JournalEntry } from './schema.ts';

/** Far beyond any real state (pruning keeps it small); a file this big is something else. */
export const MAX_STATE_BYTES = 256 * 1024 * 1024;
/** Each piece of a file's text is about this long: written piece by piece, a file is never one string. */
const PIECE_CHARS = 64 * 1024;
/** A snapshot is read a piece of this many bytes at a time. */
const READ_PIECE_BYTES = 64 * 1024;
/** How often a reader (`check`) reads again when a compaction replaced the files under it. */
const READ_ATTEMPTS = 5;

export const SECTIONS = ['watches', 'batches', 'servers', 'projects', 'clocks'] as const;
export type Section = (typeof SECTIONS)[number];

/** Each section's entries by key: as read (values), as written (JSON text), or as changed (null: removed). */
export type Sections<V> = Record<Section, Map<string, V>>;

export function emptySections<V>(): Sections<V> {
  return { watches: new Map(), batches: new Map(), servers: new Map(), projects: new Map(), clocks: new Map() };
}

/** What a reader makes of each record as it is read (its check), kept in place of its JSON. */
export type ReadRecord<V> = (section: Section, key: string, value: unknown) => V;

export interface StoredState<V> {
  /** What `read` made of every record's latest value. */
  records: Sections<V>;
  /** The number of the last change the files hold (0: none). */
  seq: number;
  snapshotBytes: number;
  /** The `.journal.old` a compaction cut short left (it, or `journal`: the snapshot alone is not the state). */
  oldJournal: boolean;
  /**
   * The `.journal` found, if any: the bytes of its whole lines, and the change its last one holds (0: it has
   * none), so that saves can go on appending to it when it cannot be compacted at start.
   */
  journal: { bytes: number; seq: number } | null;
  /** Journal lines cut short by a crash, left out. */
  torn: TornTail[];
  /** Whether there was any file of the state at all: a snapshot or a journal. */
  found: boolean;
}

/**
 * Reads the snapshot, then the journal lines after it, each record through `read`. Refuses (StateError) a
 * file that is not what it should be and a journal that does not continue the snapshot. A reader without
 * the lock (`retry`) reads again when a compaction replaced the files while it read them.
 */
export async function readStoredState<V>(path: string, options: { retry: boolean; read: ReadRecord<V> }): Promise<StoredState<V>> {
  for (let attempt = 1; ; attempt++) {
    // A compaction that ends while the snapshot is read (or sets the journal aside between the reads of the
    // two journals) leaves no gap to see: the older snapshot with a journal empty of the lines it lacks.
    const before = options.retry ? await filesAt(path) : '';
    try {
      const stored = await readOnce(path, options.read);
      if (!options.retry || attempt >= READ_ATTEMPTS || (await filesAt(path)) === before) return stored;
    } catch (err) {
      if (!(err instanceof GapError)) throw err;
      if (!options.retry || attempt >= READ_ATTEMPTS) throw err.refusal(path);
    }
  }
}

// node:fs's callback rather than node:fs/promises, which `check` (a reader of this) does not load otherwise
// (src/files/linkTarget.ts says what it costs).
const stat = promisify(statCallback);

/** Which files the snapshot's and the journal's names stand for now: a compaction replaces one or both, an append neither. */
async function filesAt(path: string): Promise<string> {
  const ids = await Promise.all([path, journalPaths(path).current].map((file) => stat(file).then((s) => `${s.dev}:${s.ino}`, () => 'none')));
  return ids.join(' ');
}

/** A journal that begins after the change its snapshot ends with (or with no snapshot): a compaction meanwhile, or damage. */
class GapError extends Error {
  readonly journal: string;
  readonly first: number;
  /** The snapshot's last change; null when there is no snapshot. */
  readonly seq: number | null;
  /** The journal that goes on from this one (the current one, beside a compaction's old one): it goes aside with it. */
  readonly continuedBy: string | null;

  constructor(journal: string, first: number, seq: number | null, continuedBy: string | null) {
    super(`gap before change ${first}`);
    this.journal = journal;
    this.first = first;
    this.seq = seq;
    this.continuedBy = continuedBy;
  }

  refusal(path: string): StateError {
    const aside = this.continuedBy === null ? 'the journal aside' : `it and ${this.continuedBy}, which continues it, aside`;
    if (this.seq === null) {
      return new StateError(
        this.journal,
        `begins at change ${this.first}, but there is no ${path} holding the changes before it (was the state file removed or renamed?). ` +
          `Put the state file back, or move ${aside} to start afresh, which re-notifies finished watches`,
      );
    }
    return new StateError(
      this.journal,
      `begins at change ${this.first}, but ${path} holds changes up to ${this.seq}: the changes between are missing (was the state file replaced ` +
        `by an older copy?). Move ${aside} to start from the state file alone, which may notify again what happened since that file was written`,
    );
  }
}

/**
 * A snapshot that is not a state file: its message waits for the journals beside it, which moved aside
 * without it would refuse the start that follows (they begin past change 1 with no snapshot).
 */
class BadSnapshotError extends Error {
  /** What is wrong with the file, then what to do short of starting afresh (`mend it ..., or `), or ''. */
  readonly problem: string;
  readonly mend: string;

  constructor(problem: string, mend: string) {
    super(problem);
    this.problem = problem;
    this.mend = mend;
  }

  refusal(path: string, journals: readonly string[]): StateError {
    const aside = journals.length === 0 ? 'move it aside' : `move it and its journal (${journals.join(', ')}) aside together (a journal left alone continues a state file that is gone, and is refused)`;
    return new StateError(path, `${this.problem}: if it is not the state file, correct state.path; if it is, ${this.mend}${aside} to start afresh, which re-notifies finished watches`);
  }
}

/** The journals beside the snapshot at `path`, of those there are. */
async function journalsBeside(path: string): Promise<string[]> {
  const { old, current } = journalPaths(path);
  const there = await Promise.all([current, old].map(notRemoved));
  return [current, old].filter((_, i) => there[i]);
}

async function readOnce<V>(path: string, read: ReadRecord<V>): Promise<StoredState<V>> {
  const records = emptySections<V>();
  const snapshot = await readSnapshot(path, records, read).catch(async (err: unknown) => {
    throw err instanceof BadSnapshotError ? err.refusal(path, await journalsBeside(path)) : err;
  });
  let seq = snapshot?.seq ?? 0;
  const torn: TornTail[] = [];
  const { old, current } = journalPaths(path);
  let oldJournal = false;
  let journal: StoredState<V>['journal'] = null;
  // Both read before either is parsed: a damaged old one's advice depends on whether the current one goes on from it.
  const oldText = await readIfThere(old);
  const currentText = await readIfThere(current);
  for (const [file, text] of [[old, oldText], [current, currentText]] as const) {
    if (text === null) continue;
    const continuedBy = file === old && currentText !== null ? current : null;
    const parsed = parseJournal(text, file, snapshot !== null, continuedBy);
    if (file === old) oldJournal = true;
    // Both lengths of the text as decoded: a character cut short in a torn line decodes as U+FFFD, whose
    // length is not its own, but the whole lines before it are as written.
    else journal = { bytes: Buffer.byteLength(text) - (parsed.torn?.bytes ?? 0), seq: parsed.entries.at(-1)?.seq ?? 0 };
    if (parsed.torn) torn.push(parsed.torn);
    for (const entry of parsed.entries) {
      // Already in the snapshot: a crash came between a compaction's snapshot and the removal of the journal.
      if (entry.seq <= seq) continue;
      if (entry.seq !== seq + 1) throw new GapError(file, entry.seq, snapshot === null && seq === 0 ? null : seq, continuedBy);
      apply(records, entry, read);
      seq = entry.seq;
    }
  }
  return { records, seq, snapshotBytes: snapshot?.bytes ?? 0, oldJournal, journal, torn, found: snapshot !== null || oldJournal || journal !== null };
}

/**
 * Reads the snapshot at `path` into `records`, a piece at a time; null when there is none. A watch a line,
 * as snapshotText writes them: each line is decoded, parsed and read once it has ended, so that neither the
 * file's bytes, nor their text, nor JSON.parse's tree of every watch ever exists (V8 makes the objects of a
 * text of 100 KB or more straight in its old generation, where they stayed until a full collection, beside
 * the records read from them: docs/performance.md, Memory). Any other layout (an older version's, an
 * edit's) is read again whole; each line read before is then read again, alike.
 */
async function readSnapshot<V>(path: string, records: Sections<V>, read: ReadRecord<V>): Promise<{ seq: number; bytes: number } | null> {
  const lines = new SnapshotLines(records, read);
  try {
    // Stopped at the first line not laid out so: the whole read below reads the file from its start.
    for await (const piece of regularFilePieces(path, MAX_STATE_BYTES, READ_PIECE_BYTES)) if (!lines.push(piece)) break;
  } catch (err) {
    const failure = readFailure(path, err);
    if (failure === null) return null;
    throw failure;
  }
  const envelope = lines.envelope();
  const parsed = envelope === null ? undefined : jsonOf(envelope);
  if (parsed !== undefined) return readEnvelope(checkSnapshot(parsed, path), records, read, lines.bytes);
  // Its JSON broken after the watches (a batch edited, a copy cut off there) is read again whole too: where
  // it breaks is then said by the lines of the file, not of its part after the watches.
  const text = await readIfThere(path);
  if (text === null) return null;
  const whole = parseSnapshot(text, path);
  readEntries(records, 'watches', whole.watches, read);
  return readEnvelope(whole, records, read, Buffer.byteLength(text));
}

/** Reads every section but the watches; the snapshot's last change, and its size. */
function readEnvelope<V>(envelope: ReturnType<typeof parseSnapshot>, records: Sections<V>, read: ReadRecord<V>, bytes: number): { seq: number; bytes: number } {
  // A null here is a bad record (set aside at open), not a removal as in the journal.
  for (const [section, entries] of sectionsOf(envelope)) if (section !== 'watches') readEntries(records, section, entries, read);
  return { seq: envelope.seq ?? 0, bytes };
}

function readEntries<V>(records: Sections<V>, section: Section, entries: Record<string, unknown>, read: ReadRecord<V>): void {
  for (const [key, value] of Object.entries(entries)) records[section].set(key, read(section, key, value));
}

/**
 * The first line of a snapshot as snapshotText writes it: the watches follow, one a line. Of this format
 * only: a later one is read whole, and refused before any of its records is read.
 */
const FIRST_LINE = new RegExp(`^\\{"version":${STATE_VERSION},"seq":\\d+,"watches":\\{$`);
/** Longer than any first line snapshotText writes (seq has at most 16 digits). */
const FIRST_LINE_MAX_BYTES = 64;
const LINE_BREAK = 0x0a;
const QUOTE = 0x22;
const CLOSING_BRACE = 0x7d;
const COMMA = 0x2c;

/** Where a SnapshotLines is: at the first line, the watches, the rest; or in a file laid out otherwise. */
type Reading = 'first' | 'watches' | 'rest' | 'other';

/**
 * A snapshot's bytes, given a piece at a time, read as snapshotText lays them out: its first line, then a
 * watch a line (`"key":{...}`, and a comma but after the last), each read into `records` once its line has
 * ended, then the line that closes them and the rest, kept as bytes.
 */
class SnapshotLines<V> {
  bytes = 0;
  #state: Reading = 'first';
  #first = '';
  /** The bytes of a line not ended yet; once the watches are closed, the rest of the file. */
  #held: Buffer[] = [];
  /** What the next line of the watches may be: after a watch with a comma, another; after one without, their end. */
  #next: 'watch or end' | 'watch' | 'end' = 'watch or end';
  readonly #records: Sections<V>;
  readonly #read: ReadRecord<V>;

  constructor(records: Sections<V>, read: ReadRecord<V>) {
    this.#records = records;
    this.#read = read;
  }

  /** Takes the next piece of the file; false once the file is found laid out otherwise. */
  push(piece: Buffer): boolean {
    this.bytes += piece.length;
    if (this.#state === 'rest') this.#held.push(piece);
    if (this.#state !== 'first' && this.#state !== 'watches') return this.#state === 'rest';
    let at = 0;
    for (let end = piece.indexOf(LINE_BREAK); end !== -1; end = piece.indexOf(LINE_BREAK, at)) {
      const line = this.#held.length === 0 ? piece.subarray(at, end) : Buffer.concat([...this.#held, piece.subarray(at, end)]);
      this.#held = [];
      this.#state = this.#line(line);
      if (this.#state === 'other') return false;
      if (this.#state === 'rest') {
        this.#held.push(line, piece.subarray(end));
        return true;
      }
      at = end + 1;
    }
    this.#held.push(piece.subarray(at));
    // A first line longer than any of snapshotText's: a file on one line (an older version's) is not
    // gathered here whole before the read that parses it whole.
    return this.#state === 'watches' || piece.length - at < FIRST_LINE_MAX_BYTES;
  }

  /** The snapshot's JSON without its watches; null when it is not laid out as snapshotText writes it. */
  envelope(): string | null {
    return this.#state === 'rest' ? `${this.#first}${Buffer.concat(this.#held).toString('utf8')}` : null;
  }

  /** Reads a whole line; what the reader is in after it. */
  #line(line: Buffer): Reading {
    if (this.#state === 'first') {
      this.#first = line.toString('utf8');
      return FIRST_LINE.test(this.#first) ? 'watches' : 'other';
    }
    if (line[0] === CLOSING_BRACE && this.#next !== 'watch') return 'rest';
    const comma = line.at(-1) === COMMA;
    const entry = line[0] === QUOTE && this.#next !== 'end' ? entriesOn(line.toString('utf8', 0, comma ? line.length - 1 : line.length)) : null;
    if (entry === null) return 'other';
    readEntries(this.#records, 'watches', entry, this.#read);
    this.#next = comma ? 'watch' : 'end';
    return 'watches';
  }
}

/** The entries on one line of watches, or null when it holds no JSON. */
function entriesOn(line: string): Record<string, unknown> | null {
  return (jsonOf(`{${line}}`) as Record<string, unknown> | undefined) ?? null;
}

/** The value of `text`; undefined when it is not JSON. */
function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseSnapshot(file: string, path: string) {
  // Saved by an editor after a hand edit: the file it shows.
  const text = withoutByteOrderMark(file);
  const parsed = jsonOf(text);
  if (parsed === undefined) {
    // Starting afresh would re-notify every finished watch: refuse and let the operator decide. Not in V8's
    // words, which quote the text (state.path may name some other file by mistake, a token file even), nor
    // with its error as the cause, which a logged error would append.
    // Where it breaks, so that a hand edit can be mended rather than the whole state moved aside.
    const broken = jsonBreak(text);
    const why = broken?.endsShort ? 'where it ends short: a copy cut off?' : 'a hand edit?';
    const mend = text.trim() === '' || broken === null ? '' : `mend it where its JSON breaks, at line ${broken.line}, column ${broken.column} (${why}), or `;
    throw new BadSnapshotError(`is not valid JSON${text.trim() === '' ? ' (it is empty)' : ''}`, mend);
  }
  return checkSnapshot(parsed, path);
}

/** The snapshot's JSON value checked as a state file of this version. */
function checkSnapshot(parsed: unknown, path: string) {
  const newer = newerFormatRefusal(path, parsed);
  if (newer) throw newer;
  const envelope = stateSchemas().stateEnvelopeSchema.safeParse(parsed);
  if (!envelope.success) {
    const problems = envelope.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(the file)'}: ${issue.message}`).join('; ');
    throw new BadSnapshotError(`is not an ecs-action-watch state file (expected {"version":${STATE_VERSION},"watches":{...}}; ${problems})`, '');
  }
  return envelope.data;
}

function apply<V>(records: Sections<V>, entry: JournalEntry, read: ReadRecord<V>): void {
  for (const [section, changed] of sectionsOf(entry)) {
    for (const [key, value] of Object.entries(changed)) {
      if (value === null) records[section].delete(key);
      else records[section].set(key, read(section, key, value));
    }
  }
}

/** Where each section's entries are in a snapshot or a journal line (tracking's two under `tracking`). */
function sectionsOf(file: Pick<JournalEntry, 'watches' | 'batches' | 'tracking' | 'clocks'>): Array<[Section, Record<string, unknown>]> {
  return [
    ['watches', file.watches ?? {}],
    ['batches', file.batches ?? {}],
    ['servers', file.tracking?.servers ?? {}],
    ['projects', file.tracking?.projects ?? {}],
    ['clocks', file.clocks ?? {}],
  ];
}

/** The text of the file at `path`, or null when there is none. */
async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readRegularFile(path, MAX_STATE_BYTES);
  } catch (err) {
    const failure = readFailure(path, err);
    if (failure === null) return null;
    throw failure;
  }
}

/** Why the file at `path` could not be read, as a StateError; null when it is not there. */
function readFailure(path: string, err: unknown): StateError | null {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  if (err instanceof NotARegularFileError) return new StateError(path, `${err.message} (set state.path to a file in a writable folder)`);
  return stateFailure(path, 'cannot be read', err);
}

type Entries = Iterable<readonly [string, string | null]>;

/** Each section's entries as they are now, `[key, value]`: each is written as its value's JSON. */
export type Image = Record<Section, () => Iterable<readonly [string, unknown]>>;

/** Told of a snapshot's text as it is made. */
export interface SnapshotListener {
  /** An entry as the text holds it: its section, its key and its JSON. */
  entry(section: Section, key: string, json: string): void;
  /** Every entry of `section` is in the text now: a key not among them is in no record of it at this moment. */
  ended(section: Section): void;
}

/**
 * The snapshot's text, each section's records one a line, made as it is written: each watch and batch is
 * serialised when its piece is made, so that the state never exists as the JSON of every record at once
 * (9 MB at 10,000 running watches, held for as long as the write took). An entry that changes while the
 * text is written goes in as it is then, newer than change `seq`: the journal lines after `seq` that hold
 * its changes are replayed over it at load. `listener` is told of each entry as the text holds it.
 */
export function snapshotText(seq: number, image: Image, listener: SnapshotListener): Iterable<string> {
  return pieces(snapshotParts(seq, image, listener), '\n');
}

function* snapshotParts(seq: number, image: Image, listener: SnapshotListener): Generator<string | Entries> {
  yield `{"version":${STATE_VERSION},"seq":${seq},"watches":`;
  yield serialised('watches', image.watches(), listener);
  yield ',\n"batches":';
  yield serialised('batches', image.batches(), listener);
  // Few entries, serialised at once when the text gets here: the sections are left out when empty.
  const servers = [...serialised('servers', image.servers(), listener)];
  const projects = [...serialised('projects', image.projects(), listener)];
  const clocks = [...serialised('clocks', image.clocks(), listener)];
  if (servers.length + projects.length > 0) yield* [',\n"tracking":{"servers":', servers, ',\n"projects":', projects, '}'];
  if (clocks.length > 0) yield* [',\n"clocks":', clocks];
  yield '}\n';
}

function* serialised(section: Section, entries: Iterable<readonly [string, unknown]>, listener: SnapshotListener): Generator<readonly [string, string]> {
  for (const [key, value] of entries) {
    const json = JSON.stringify(value);
    listener.entry(section, key, json);
    yield [key, json];
  }
  listener.ended(section);
}

/** A journal line: the records of one change, null for one removed; one line, however many records. */
export function journalLine(seq: number, change: Sections<string | null>): string[] {
  const parts: Array<string | Entries> = [`{"seq":${seq}`];
  if (change.watches.size > 0) parts.push(',"watches":', change.watches);
  if (change.batches.size > 0) parts.push(',"batches":', change.batches);
  const tracking: Array<string | Entries> = [];
  if (change.servers.size > 0) tracking.push('"servers":', change.servers);
  if (change.projects.size > 0) tracking.push(tracking.length > 0 ? ',"projects":' : '"projects":', change.projects);
  if (tracking.length > 0) parts.push(',"tracking":{', ...tracking, '}');
  if (change.clocks.size > 0) parts.push(',"clocks":', change.clocks);
  parts.push('}\n');
  return [...pieces(parts, '')];
}

/** The text of `parts` (text as it is, entries as a JSON object of them) in pieces of about PIECE_CHARS. */
function* pieces(parts: Iterable<string | Entries>, lineBreak: string): Generator<string> {
  let piece = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      piece += part;
      continue;
    }
    piece += '{';
    let first = true;
    for (const [key, json] of part) {
      piece += `${first ? lineBreak : `,${lineBreak}`}${JSON.stringify(key)}:${json ?? 'null'}`;
      first = false;
      if (piece.length < PIECE_CHARS) continue;
      yield piece;
      piece = '';
    }
    piece += first ? '}' : `${lineBreak}}`;
  }
  yield piece;
}
