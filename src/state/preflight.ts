// What would keep `run` from keeping its state at state.path, found without taking the state: `validate`
// says it, as a warning (a volume may be mounted only where `run` runs), so that a `validate` before a
// restart does not let through a daemon that stops at its start (exit 2 or 1) and is restarted in a loop.

import { accessSync, constants, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileProblem } from '../files/fileProblem.ts';
import { kindOf } from '../files/readRegularFile.ts';

/** Each problem of state.path `path` that `run` would stop at, in a sentence; none when it would start. */
export function stateFileProblems(path: string): string[] {
  const stop = 'run stops at its start with it';
  const found = statOf(path);
  if (found !== null && !found.isFile()) return [`state.path ${path} is ${kindOf(found)}, not a regular file: ${stop}; name a file (its folder is created when missing)`];
  // The state's other files (its journal, lock and temporary files) go beside the file a link points to.
  const file = found === null ? resolve(path) : realpathSync(path);
  // The folder that run would create its own in, or write in when it is there.
  let folder = dirname(file);
  let folderStats = statOf(folder);
  while (folderStats === null && dirname(folder) !== folder) {
    folder = dirname(folder);
    folderStats = statOf(folder);
  }
  if (folderStats !== null && !folderStats.isDirectory()) return [`state.path ${path}: its folder cannot be created, as ${folder} is ${folderStats.isFile() ? 'a file' : kindOf(folderStats)}, not a folder: ${stop}`];
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    const what = folder === dirname(file) ? 'its folder' : 'a folder above it';
    return [`state.path ${path}: ${what}, ${folder}, cannot be written in by this user (${fileProblem(err)}): ${stop}`];
  }
  return [];
}

function statOf(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
