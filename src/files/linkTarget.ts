import { readlink as readlinkCallback, realpath as realpathCallback } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';

// node:fs's callbacks rather than node:fs/promises, which loads readline, file watching and directory
// streams with it: `check`, which reads the state through here and writes nothing, took 0.975 of its time
// and 0.9 MB less without them (30 pairs).
const readlink = promisify(readlinkCallback);
const realpath = promisify(realpathCallback.native);

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
