import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** How the temporary files of writes to `path` begin: what a crash between write and rename leaves behind. */
export function temporaryPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/**
 * Replaces `path` with `text` (a string, or pieces written in order) so that a crash at any moment leaves either the old or the new file, never
 * half of one: a temporary file in the same folder, fsync, rename over the target, fsync of the folder.
 * The folder is created when missing. Throws the underlying error; the temporary file is removed.
 */
export async function writeFileAtomic(path: string, text: string | readonly string[], options: { mode?: number } = {}): Promise<void> {
  const dir = dirname(path);
  // Random, not the pid: in containers every process is pid 1, and two of them may share a volume.
  const tmp = join(dir, `${temporaryPrefix(path)}${randomUUID()}`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(tmp, 'w', options.mode ?? 0o600);
    try {
      if (typeof text === 'string') await handle.writeFile(text, 'utf8');
      else await writeAll(handle, text.map((piece) => Buffer.from(piece, 'utf8')));
      // open() applies the umask; the mode asked for is the mode meant.
      if (options.mode !== undefined) await handle.chmod(options.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Every byte of `buffers`, in order, in as few writes as the system takes (one, unless it stops short). */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  const rest = [...buffers];
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
