import { readlink, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** As many links as Linux follows in one path before it gives up (ELOOP). */
const MAX_LINKS = 40;

/**
 * The file that `path` stands for when it is a symbolic link (or a chain of them): where it points, even
 * when nothing is there yet (a file written there is created where it points); otherwise `path` as it is.
 * A file replaced by a rename must be renamed over the target: renamed over the link, it would replace the
 * link with a regular file, leave the target as it was, and the files kept beside it would go beside the link.
 */
export async function linkTarget(path: string): Promise<string> {
  let current = path;
  for (let links = 0; links < MAX_LINKS; links++) {
    try {
      const target = await readlink(current);
      // From the link's real folder: a `..` in the target goes up from there, as the kernel reads it.
      current = resolve(await realpath(dirname(current)), target);
    } catch {
      // Not a link (EINVAL), nothing there yet (ENOENT), or unreadable: what is done with it says which.
      return current;
    }
  }
  // A loop of links: what is done with it says so (ELOOP).
  return path;
}
