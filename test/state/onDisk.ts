// What the state files say, read as a restarted daemon reads them (the snapshot, then the journal's whole
// lines after it), written here apart from src/state so that tests look at the files, not through the code
// that writes them. Synchronous, for webhook receivers that check the files at the moment a hook arrives.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface OnDisk {
  seq: number;
  watches: Record<string, unknown>;
  batches: Record<string, unknown>;
  tracking?: { servers: Record<string, unknown>; projects: Record<string, unknown> };
}

interface Entry {
  seq: number;
  watches?: Record<string, unknown>;
  batches?: Record<string, unknown>;
  tracking?: { servers?: Record<string, unknown>; projects?: Record<string, unknown> };
}

function textOf(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function readOnce(path: string): OnDisk | null {
  const snapshot = textOf(path);
  const parsed = snapshot === null ? {} : (JSON.parse(snapshot) as Partial<OnDisk>);
  const state: OnDisk = { seq: parsed.seq ?? 0, watches: { ...parsed.watches }, batches: { ...parsed.batches } };
  if (parsed.tracking) state.tracking = { servers: { ...parsed.tracking.servers }, projects: { ...parsed.tracking.projects } };
  const merge = (into: Record<string, unknown>, changes: Record<string, unknown> | undefined) => {
    for (const [key, value] of Object.entries(changes ?? {})) {
      if (value === null) delete into[key];
      else into[key] = value;
    }
  };
  for (const file of [`${path}.journal.old`, `${path}.journal`]) {
    // The last piece is "" or a line cut short.
    const lines = textOf(file)?.split('\n').slice(0, -1) ?? [];
    for (const line of lines) {
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        break;
      }
      if (entry.seq <= state.seq) continue;
      // The daemon compacted the files while they were read.
      if (entry.seq !== state.seq + 1) return null;
      merge(state.watches, entry.watches);
      merge(state.batches, entry.batches);
      if (entry.tracking) {
        state.tracking ??= { servers: {}, projects: {} };
        merge(state.tracking.servers, entry.tracking.servers);
        merge(state.tracking.projects, entry.tracking.projects);
      }
      state.seq = entry.seq;
    }
  }
  return state;
}

/** The state the files at `path` hold: snapshot and journal together. */
export function stateOnDisk(path: string): OnDisk {
  // A compaction between two reads makes the next one see the files whole again; more gaps than that are damage.
  for (let attempt = 0; attempt < 100; attempt++) {
    const state = readOnce(path);
    if (state) return state;
  }
  throw new Error(`${path}: the journal does not continue the snapshot`);
}

/** Each file of the state at `path` (snapshot, journals) with its size and modification time: what a save would change. */
export function stateFiles(path: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dirname(path)).sort()) {
    if (!name.startsWith(basename(path)) || name.endsWith('.lock')) continue;
    const stats = statSync(`${dirname(path)}/${name}`);
    files[name] = `${stats.size} bytes, ino ${stats.ino}, mtime ${stats.mtimeMs}`;
  }
  return files;
}
