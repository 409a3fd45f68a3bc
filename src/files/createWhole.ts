// Lock files that hold their text from the moment they exist. A lock created empty and written after
// (open 'wx', then a write) names nobody when its process dies between the two or the write fails (a full
// disk): whoever comes next cannot tell a holder that is gone from one that is starting, and waits until
// the lock is stale. Here the text is written to a file of its own first and linked to the lock's name,
// which link() does only if that name is free.
import { randomUUID } from 'node:crypto';
import { link, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorCode } from '../net/failure.ts';
import { removeLeftBehind, syncFolder, temporaryPrefix } from './writeFileAtomic.ts';

/** How filesystems without hard links (FAT, some FUSE and SMB mounts) refuse link(). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Creates `path` holding `text`, durably, unless it exists: false then. Nobody ever sees it empty or
 * half-written, except on a filesystem without hard links, where it is created and then written (and
 * removed again when the write fails). Errors are thrown as they are, said of `path`.
 */
export async function createWhole(path: string, text: string, mode: number): Promise<boolean> {
  const staged = join(dirname(path), `${temporaryPrefix(path)}${randomUUID()}`);
  try {
    await fill(await open(staged, 'wx', mode), text);
    let created = true;
    try {
      await link(staged, path);
    } catch (err) {
      const code = errorCode(err);
      // Over NFS a link whose reply was lost is sent again and refused: the staged file's two names tell.
      if (code === 'EEXIST') created = (await stat(staged)).nlink > 1;
      else if (code !== undefined && NO_HARD_LINKS.has(code)) created = await createInPlace(path, text, mode);
      else throw err;
    }
    if (!created) return false;
    // Only the folder's sync promises its new entry: without it, a power cut may leave the folder without the
    // file its creator was told it has. One that cannot be made durable is not left to name its creator.
    await syncFolder(dirname(path)).catch(async (err: unknown) => {
      await rm(path, { force: true });
      throw err;
    });
    await removeLeftBehind(path);
    return true;
  } catch (err) {
    // The staged file's name is ours, not one the operator knows: the lock's is.
    if (typeof err === 'object' && err !== null && 'path' in err) Object.assign(err, { path });
    throw err;
  } finally {
    await rm(staged, { force: true }).catch(() => undefined);
  }
}

/** Writes `text` to the file just created at `handle`, durably, and closes it. */
async function fill(handle: FileHandle, text: string): Promise<void> {
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Without hard links: created, then written; removed again when its text could not be written. */
async function createInPlace(path: string, text: string, mode: number): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    await fill(handle, text);
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return true;
}
