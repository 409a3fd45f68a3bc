import { stat } from 'node:fs/promises';

/**
 * What tells a file's versions apart without reading it: a new inode (a rename over it), size or mtime; and
 * ctime, which a chmod or chown alone moves: a file that could not be read is read again once it can.
 */
export interface FileSignature {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  /** Its type and permission bits: not part of what tells versions apart (a chmod moves ctime). */
  readonly mode: number;
}

/** The file's signature through symlinks (a ConfigMap's `..data` swap changes it), or null when it cannot be read. */
export async function fileSignature(path: string): Promise<FileSignature | null> {
  try {
    const { dev, ino, size, mtimeMs, ctimeMs, mode } = await stat(path);
    return { dev, ino, size, mtimeMs, ctimeMs, mode };
  } catch {
    return null;
  }
}

export function sameSignature(a: FileSignature | null, b: FileSignature | null): boolean {
  if (a === null || b === null) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
