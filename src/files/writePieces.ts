import type { FileHandle } from 'node:fs/promises';

/** Pieces are gathered into writes of about this much: few system calls, and never one buffer of a whole file. */
const WRITE_BYTES = 1024 * 1024;

/**
 * Writes `pieces` in order at `position` and returns the bytes written. Pieces are made as they are
 * written (a generator may build them lazily), so that a file of megabytes never exists as one string,
 * and the event loop runs between writes.
 */
export async function writePieces(handle: FileHandle, pieces: Iterable<string>, position: number): Promise<number> {
  let at = position;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  for (const piece of pieces) {
    const buffer = Buffer.from(piece, 'utf8');
    batch.push(buffer);
    batchBytes += buffer.length;
    if (batchBytes < WRITE_BYTES) continue;
    at += await writeAll(handle, batch, at);
    batch = [];
    batchBytes = 0;
  }
  if (batch.length > 0) at += await writeAll(handle, batch, at);
  return at - position;
}

/** Every byte of `buffers`, in order, at `position`, in as few writes as the system takes (one, unless it stops short). */
async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  const rest = [...buffers];
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    let left = bytesWritten;
    while (rest.length > 0 && left >= rest[0]!.length) left -= rest.shift()!.length;
    if (left > 0) rest[0] = rest[0]!.subarray(left);
  }
  return at - position;
}
