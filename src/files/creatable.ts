// What would keep a file from being kept at a path: found without creating anything, so that `validate`
// can say it of state.path as `run` would find it at its start.

import { accessSync, constants, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileProblem } from './fileProblem.ts';
import { foldersUp, kindOf } from './readRegularFile.ts';

/**
 * Why a regular file could not be kept at `path` (read, written, and beside it files of its own, in a
 * folder made when missing), in words that follow the path; undefined when nothing can be found here.
 */
export function uncreatableFile(path: string): string | undefined {
  const found = statOf(path);
  if (found !== null && !found.isFile()) return `is ${kindOf(found)}, not a regular file`;
  // Files of its own go beside the file a link points to.
  const file = found === null ? resolve(path) : realpathSync(path);
  // The nearest folder there: the one its own would be created in, or written in.
  let folder = dirname(file);
  let folderStats: Stats | null = null;
  for (folder of foldersUp(file)) if ((folderStats = statOf(folder)) !== null) break;
  if (folderStats !== null && !folderStats.isDirectory()) return `cannot have its folder created, as ${folder} is ${folderStats.isFile() ? 'a file' : kindOf(folderStats)}, not a folder`;
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    const why = `${folder === dirname(file) ? 'its folder' : 'a folder above it'}, ${folder}, cannot be written in by this user (${fileProblem(err)})`;
    return found === null ? `cannot be created: ${why}` : `cannot have files of its own beside it: ${why}`;
  }
  return undefined;
}

function statOf(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
