import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errorCode } from '../net/failure.ts';
import { writePieces } from './writePieces.ts';

/** How the temporary files of writes to `path` begin: what a crash between write and rename leaves behind. */
export function temporaryPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/**
 * A temporary file this old was left by a process killed before its rename or link, or its removal: one
 * that is writing a file or taking a lock has its own for milliseconds.
 */
const LEFT_BEHIND_MS = 60_000;

/** Removes the temporary files of writes to `path` (see temporaryPrefix) that are LEFT_BEHIND_MS old, as far as it can. */
export async function removeLeftBehind(path: string): Promise<void> {
  const folder = dirname(path);
  const prefix = temporaryPrefix(path);
  const names = await readdir(folder).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => name.startsWith(prefix))
      .map(async (name) => {
        const file = join(folder, name);
        const { mtimeMs } = await stat(file);
        if (Date.now() - mtimeMs > LEFT_BEHIND_MS) await rm(file, { force: true });
      })
      .map((removal) => removal.catch(() => undefined)),
  );
}

/**
 * Replaces `path` with `text` (a string, or pieces written in order as they are made) so that a crash at any moment leaves either the old or
 * the new file, never half of one: a temporary file in the same folder, fsync, rename over the target, fsync of the folder.
 * The folder is created when missing (see makeFolder). Resolves to the bytes written; throws the underlying error, the temporary file removed.
 * The new file is this process's unless `owner` is given: then it gets that owner and group as far as this process may
 * give them (root any; another user only their own user id and a group of theirs), which a stat of `path` tells.
 * `beforeRename` runs once the new file is synced, just before the rename: what it throws is thrown, `path` left as it was.
 */
export async function writeFileAtomic(
  path: string,
  text: string | Iterable<string>,
  options: { mode?: number; owner?: Owner; beforeRename?: () => Promise<void> } = {},
): Promise<number> {
  const dir = dirname(path);
  // Random, not the pid: in containers every process is pid 1, and two of them may share a volume.
  const tmp = join(dir, `${temporaryPrefix(path)}${randomUUID()}`);
  try {
    await makeFolder(dir);
    const handle = await open(tmp, 'w', options.mode ?? 0o600);
    let bytes: number;
    try {
      bytes = await writePieces(handle, typeof text === 'string' ? [text] : text, 0);
      // Before the chmod: a change of owner clears the set-user-id and set-group-id bits.
      if (options.owner !== undefined) await giveTo(handle, options.owner);
      // open() applies the umask; the mode asked for is the mode meant.
      if (options.mode !== undefined) await handle.chmod(options.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.();
    await rename(tmp, path);
    await syncFolder(dir);
    return bytes;
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Who a file belongs to. */
interface Owner {
  uid: number;
  gid: number;
}

/**
 * Gives the open file `owner`, or failing that `owner`'s group, or failing that leaves it this process's.
 * EPERM: not root, the user id is this process's to keep; EINVAL: in a user namespace, an owner it does not map.
 */
async function giveTo(handle: FileHandle, owner: Owner): Promise<void> {
  const cannot = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EINVAL') throw err;
  };
  try {
    await handle.chown(owner.uid, owner.gid);
  } catch (err) {
    cannot(err);
    await handle.chown(-1, owner.gid).catch(cannot);
  }
}

/**
 * Creates folder `dir` and those missing above it so that they outlive a power cut: the entry of each new
 * folder is in the folder above it, which is synced. Only that sync promises the entry (POSIX); without it, a
 * file renamed into a new folder and synced there may be gone after a crash with the folder itself, on a file
 * system that does not happen to commit the mkdir with the file's own sync.
 */
export async function makeFolder(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true }).catch(async (err: unknown) => {
    // Node's recursive mkdir answers ENOENT, at the folder it could not make, for most failures but EACCES and
    // ENOSPC: a read-only file system (ProtectSystem=strict, a read-only root in a container), a used-up
    // quota, an I/O error; it then said that a folder is not there, to be created. Made alone, that folder
    // gets the kernel's own answer; made after all, the rest is made again.
    const at = (err as NodeJS.ErrnoException).path;
    if (errorCode(err) !== 'ENOENT' || at === undefined) throw err;
    const alone = await mkdir(at).then(() => null, (why: unknown) => why);
    if (alone !== null) throw ['ENOENT', 'EEXIST'].includes(errorCode(alone) ?? '') ? err : alone;
    await syncFolder(dirname(resolve(at)));
    return mkdir(dir, { recursive: true });
  });
  if (first === undefined) return;
  const top = dirname(resolve(first));
  for (let folder = dirname(resolve(dir)); ; folder = dirname(folder)) {
    // The folder that was there before may be one this user can write in but not read (a drop box such as
    // /var/spool/cron/crontabs, 1730), which cannot be opened to be synced: as durable as it ever was.
    await syncFolder(folder).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (folder !== top || (code !== 'EACCES' && code !== 'EPERM')) throw err;
    });
    if (folder === top || dirname(folder) === folder) return;
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
