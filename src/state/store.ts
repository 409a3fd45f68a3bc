import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { z } from 'zod';
import { StateError } from './StateError.ts';
import type { StateFile, WatchRecord } from './types.ts';

// Only the envelope is checked: records are written by this program, and a record from an older
// version should not stop the daemon from starting.
const envelope = z.object({ version: z.literal(1), watches: z.record(z.string(), z.looseObject({})) });

/** The key of a watch in the state file: the same request id may exist in two projects. */
export function watchKey(ref: { projectId: string; serverId: string; requestId: string }): string {
  return `${ref.projectId}/${ref.serverId}/${ref.requestId}`;
}

/**
 * The durable state: one JSON file replaced atomically (temp file, fsync, rename, fsync of the folder),
 * so a crash at any moment leaves either the old or the new file, never half of one.
 * Saves are serialised and coalesced: callers await `save()` to know their change is on disk.
 */
export class StateStore {
  readonly path: string;
  /** `check` reads the daemon's state for context but must never write it. */
  readonly readOnly: boolean;
  #data: StateFile;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  #pending: Promise<void> | null = null;

  private constructor(path: string, data: StateFile, readOnly: boolean) {
    this.path = path;
    this.#data = data;
    this.readOnly = readOnly;
  }

  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<StateStore> {
    const readOnly = options.readOnly ?? false;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new StateStore(path, { version: 1, watches: {} }, readOnly);
      throw new StateError(path, `cannot be read: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // Starting afresh would re-notify every finished watch: refuse and let the operator decide.
      throw new StateError(path, `is not valid JSON (${(err as Error).message}); move it aside to start afresh, which re-notifies finished watches`, { cause: err });
    }
    const result = envelope.safeParse(parsed);
    if (!result.success) {
      throw new StateError(path, 'is not an ecs-action-watch state file (expected {"version":1,"watches":{...}}); move it aside to start afresh');
    }
    return new StateStore(path, result.data as unknown as StateFile, readOnly);
  }

  get(key: string): WatchRecord | undefined {
    return this.#data.watches[key];
  }

  set(key: string, record: WatchRecord): void {
    this.#data.watches[key] = record;
    this.#dirty = true;
  }

  delete(key: string): void {
    if (key in this.#data.watches) {
      delete this.#data.watches[key];
      this.#dirty = true;
    }
  }

  /** Mark a record changed in place. */
  touch(): void {
    this.#dirty = true;
  }

  entries(): Array<[string, WatchRecord]> {
    return Object.entries(this.#data.watches);
  }

  /** Resolves once every change made before the call is on disk. */
  save(): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    this.#pending ??= this.#writing.then(() => {
      this.#pending = null;
      if (!this.#dirty) return;
      this.#dirty = false;
      return this.#write(JSON.stringify(this.#data, null, 1)).catch((err: unknown) => {
        this.#dirty = true;
        throw err;
      });
    });
    this.#writing = this.#pending.catch(() => undefined);
    return this.#pending;
  }

  /** For /readyz: the folder exists (created when missing) and accepts a file. */
  async checkWritable(): Promise<void> {
    const probe = join(dirname(this.path), `.${basename(this.path)}.probe-${process.pid}`);
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const handle = await open(probe, 'w');
      await handle.close();
      await rm(probe, { force: true });
    } catch (err) {
      throw new StateError(this.path, `folder is not writable: ${(err as Error).message}`, { cause: err });
    }
  }

  async #write(text: string): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.tmp-${process.pid}`);
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
      const dirHandle = await open(dir, 'r');
      try {
        await dirHandle.sync();
      } finally {
        await dirHandle.close();
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new StateError(this.path, `cannot be written: ${(err as Error).message}`, { cause: err });
    }
  }
}
