import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writePieces } from './writePieces.ts';

/** How the temporary files of writes to `path` begin: what a crash between write and rename leaves behind. */
export function temporaryPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/**
 * Replaces `path` with `text` (a string, or pieces written in order as they are made) so that a crash at any moment leaves either the old or
 * the new file, never half of one: a temporary file in the same folder, fsync, rename over the target, fsync of the folder.
 * The folder is created when missing. Resolves to the bytes written; throws the underlying error, the temporary file removed.
 */
export async function writeFileAtomic(path: string, text: string | Iterable<string>, options: { mode?: number } = {}): Promise<number> {
  const dir = dirname(path);
  // Random, not the pid: in containers every process is pid 1, and two of them may share a volume.
  const tmp = join(dir, `${temporaryPrefix(path)}${randomUUID()}`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(tmp, 'w', options.mode ?? 0o600);
    let bytes: number;
    try {
      bytes = await writePieces(handle, typeof text === 'string' ? [text] : text, 0);
      // open() applies the umask; the mode asked for is the mode meant.
      if (options.mode !== undefined) await handle.chmod(options.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    await syncFolder(dir);
    return bytes;
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Makes the entries of folder `dir` (a file created, renamed or removed in it) durable. */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
