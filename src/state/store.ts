import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { dictionary } from '../data/dictionary.ts';
import { NotARegularFileError, readRegularFile } from '../files/readRegularFile.ts';
import { temporaryPrefix, writeFileAtomic } from '../files/writeFileAtomic.ts';
import { StateError } from './StateError.ts';
import { STATE_VERSION, recordProblems, stateEnvelopeSchema, watchRecordSchema } from './schema.ts';
import type { DeliveryRecord, WatchRecord } from './types.ts';
import { watchKey } from '../watch/kinds/index.ts';

/** Far beyond any real state (pruning keeps it small); a file this big is something else. */
const MAX_STATE_BYTES = 256 * 1024 * 1024;

// Every part that keys the state by watch takes the key from here; each kind of watch says what it is.
export { watchKey } from '../watch/kinds/index.ts';

/** A delivery known to be on disk, as the outbox receives it. */
export interface DurableDelivery {
  key: string;
  notifier: string;
  record: WatchRecord;
  delivery: DeliveryRecord;
}

/** A record that failed its schema at load: left out of the state, kept in `StateStore.setAsidePath`. */
export interface SetAsideRecord {
  key: string;
  problems: string[];
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/**
 * The durable state: one JSON file replaced atomically (temp file, fsync, rename, fsync of the folder),
 * so a crash at any moment leaves either the old or the new file, never half of one.
 * Saves are serialised and coalesced: callers await `save()` to know their change is on disk. A save
 * whose text equals what is on disk writes nothing.
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
  readonly #records: Map<string, WatchRecord>;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  #pending: Promise<void> | null = null;
  /** Hash of the text on disk: a save that would write the same text is skipped. */
  #onDisk: string | null;
  /** Deliveries added since the last save began: not on disk yet. */
  #unsaved: DurableDelivery[] = [];
  /** Deliveries on disk (read at open, or saved since) while no listener is there to take them. */
  #durable: DurableDelivery[];
  #onDurable: ((deliveries: DurableDelivery[]) => void) | null = null;
  /** Set once another process owns the file: every later save is refused with it. */
  #fenced: StateError | null = null;

  /** A state that lives only as long as the process: `wait` tracks one action without touching the daemon's. */
  static inMemory(): StateStore {
    return new StateStore('(memory)', new Map(), { readOnly: true, onDisk: null, setAside: [], setAsidePath: null });
  }

  private constructor(path: string, records: Map<string, WatchRecord>, options: { readOnly: boolean; onDisk: string | null; setAside: SetAsideRecord[]; setAsidePath: string | null }) {
    this.path = path;
    this.#records = records;
    this.readOnly = options.readOnly;
    this.#onDisk = options.onDisk;
    this.setAside = options.setAside;
    this.setAsidePath = options.setAsidePath;
    // Rewritten without the records set aside, which are safe in their own file by now.
    this.#dirty = options.setAside.length > 0;
    this.#durable = [...records].flatMap(([key, record]) =>
      Object.entries(record.deliveries)
        .filter(([, delivery]) => delivery.status === 'pending')
        .map(([notifier, delivery]) => ({ key, notifier, record, delivery })),
    );
  }

  /**
   * Reads the state at `path` (none yet: empty). A file that is not JSON or not a state file is refused;
   * a record that fails its schema is set aside, whole, into `<path>.rejected-<time>.json` and the watch is
   * tracked afresh, so that one bad record neither stops every other watch nor is half used.
   * Unless read-only, the caller must hold the state lock: leftover temporary files are removed.
   */
  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<StateStore> {
    const readOnly = options.readOnly ?? false;
    let text: string;
    try {
      text = await readRegularFile(path, MAX_STATE_BYTES);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        if (!readOnly) await removeTemporaryFiles(path);
        return new StateStore(path, new Map(), { readOnly, onDisk: null, setAside: [], setAsidePath: null });
      }
      const reason = err instanceof NotARegularFileError ? err.message : `cannot be read: ${(err as Error).message}`;
      throw new StateError(path, `${reason} (set state.path to a file in a writable folder)`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // Starting afresh would re-notify every finished watch: refuse and let the operator decide.
      throw new StateError(path, `is not valid JSON (${(err as Error).message}); move it aside to start afresh, which re-notifies finished watches`, { cause: err });
    }
    const envelope = stateEnvelopeSchema.safeParse(parsed);
    if (!envelope.success) {
      throw new StateError(path, `is not an ecs-action-watch state file (expected {"version":${STATE_VERSION},"watches":{...}}); move it aside to start afresh`);
    }
    const records = new Map<string, WatchRecord>();
    const setAside: SetAsideRecord[] = [];
    const rejected: Record<string, unknown> = dictionary();
    for (const [key, raw] of Object.entries(envelope.data.watches)) {
      const checked = watchRecordSchema.safeParse(raw);
      const problems = checked.success ? [] : recordProblems(checked.error);
      if (checked.success && watchKey(checked.data) !== key) problems.push(`(the key): does not match the record's ids (${watchKey(checked.data)})`);
      if (checked.success && problems.length === 0) {
        records.set(key, checked.data);
      } else {
        setAside.push({ key, problems });
        rejected[key] = { problems, record: raw };
      }
    }
    let setAsidePath: string | null = null;
    if (!readOnly) {
      await removeTemporaryFiles(path);
      if (setAside.length > 0) {
        setAsidePath = `${path}.rejected-${new Date().toISOString().replace(/[-:.]/g, '')}.json`;
        await writeDurably(setAsidePath, `${JSON.stringify({ from: path, rejectedAt: new Date().toISOString(), watches: rejected }, null, 1)}\n`);
      }
    }
    return new StateStore(path, records, { readOnly, onDisk: hash(text), setAside, setAsidePath });
  }

  get(key: string): WatchRecord | undefined {
    return this.#records.get(key);
  }

  set(key: string, record: WatchRecord): void {
    this.#records.set(key, record);
    this.#dirty = true;
  }

  delete(key: string): void {
    if (this.#records.delete(key)) this.#dirty = true;
  }

  /** Mark a record changed in place. */
  touch(): void {
    this.#dirty = true;
  }

  entries(): Array<[string, WatchRecord]> {
    return [...this.#records];
  }

  get size(): number {
    return this.#records.size;
  }

  /** Records a delivery owed for the watch at `key`; it reaches `onDurable` once a save has written it. */
  addDelivery(key: string, notifier: string, delivery: DeliveryRecord): void {
    const record = this.#records.get(key);
    if (!record) throw new Error(`no state record ${key} to add a delivery to`);
    record.deliveries[notifier] = delivery;
    this.#unsaved.push({ key, notifier, record, delivery });
    this.#dirty = true;
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
  }

  /** Resolves once every change made before the call is on disk. */
  save(): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    if (this.#fenced) return Promise.reject(this.#fenced);
    this.#pending ??= this.#writing.then(async () => {
      this.#pending = null;
      if (this.#fenced) throw this.#fenced;
      if (!this.#dirty) return;
      this.#dirty = false;
      const written = this.#unsaved;
      this.#unsaved = [];
      try {
        const text = JSON.stringify({ version: STATE_VERSION, watches: dictionary(this.#records) }, null, 1);
        const digest = hash(text);
        if (digest !== this.#onDisk) {
          await writeDurably(this.path, text);
          this.#onDisk = digest;
        }
      } catch (err) {
        this.#dirty = true;
        this.#unsaved = written.concat(this.#unsaved);
        throw err instanceof StateError ? err : new StateError(this.path, `cannot be written: ${(err as Error).message}`, { cause: err });
      }
      if (written.length === 0) return;
      if (this.#onDurable) this.#onDurable(written);
      else this.#durable.push(...written);
    });
    this.#writing = this.#pending.catch(() => undefined);
    return this.#pending;
  }

  /** For /readyz: the folder exists (created when missing) and accepts a file. */
  async checkWritable(): Promise<void> {
    const probe = join(dirname(this.path), `.${basename(this.path)}.probe-${randomUUID()}`);
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const handle = await open(probe, 'w');
      await handle.close();
      await rm(probe, { force: true });
    } catch (err) {
      throw new StateError(this.path, `folder is not writable: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** What a crash between writing and renaming leaves behind; only the lock holder may remove them. */
async function removeTemporaryFiles(path: string): Promise<void> {
  const prefix = temporaryPrefix(path);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dirname(path), n), { force: true }).catch(() => undefined)));
}

/** Replaces `path` with `text` atomically and durably. */
async function writeDurably(path: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(path, text);
  } catch (err) {
    throw new StateError(path, `cannot be written: ${(err as Error).message}`, { cause: err });
  }
}
