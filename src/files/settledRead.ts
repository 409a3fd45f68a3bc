// Reading a file that someone may be writing in place (`cat > file`, `echo ... >> file`, a slow scp, a
// script writing line by line): a read between two of their writes sees the file cut short, which often
// still parses. The file is read only once it has gone a while without a change, and read again when it
// changed while it was read.
import { setTimeout as sleep } from 'node:timers/promises';
import { fileSignature, sameSignature, type FileSignature } from './fileSignature.ts';

export interface Settling {
  /** How long the file must go without a change before it is read. */
  settleMs: number;
  /** How long to wait for such a pause at most. */
  maxWaitMs: number;
  /** Ends the wait: the read rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

export interface SettledText {
  text: string;
  /** The file's signature before the text was read (null: it could not be taken): what the text is a version of. */
  signature: FileSignature | null;
  /** False when the file never went `settleMs` without a change within `maxWaitMs`: the text is as it was at the end. */
  settled: boolean;
}

/**
 * `read(path)` once the file's signature has been the same for `settleMs`, and the same after the read as
 * before it. A file that never pauses that long (a log written to it) is read as it is after `maxWaitMs`,
 * and said to be unsettled.
 */
export async function readSettled(path: string, read: (path: string) => Promise<string>, { settleMs, maxWaitMs, signal }: Settling): Promise<SettledText> {
  const giveUpAt = performance.now() + maxWaitMs;
  let seen = await fileSignature(path);
  let seenSince = performance.now();
  for (;;) {
    // Every write stamps the mtime, so an old one says the file has been still that long already (a file
    // saved before the start, a whole file renamed into place) and the read waits for nothing. One ahead of
    // this machine's clock (a file server's) counts for nothing: then only watching the file tells.
    const stillFor = Math.max(performance.now() - seenSince, seen === null ? 0 : Date.now() - seen.mtimeMs);
    const wait = settleMs - stillFor;
    const lastChance = performance.now() >= giveUpAt;
    if (wait > 0 && !lastChance) {
      await sleep(Math.min(wait, giveUpAt - performance.now()), undefined, { signal });
      const now = await fileSignature(path);
      if (!sameSignature(now, seen)) [seen, seenSince] = [now, performance.now()];
      continue;
    }
    const text = await read(path);
    const after = await fileSignature(path);
    const settled = wait <= 0 && sameSignature(after, seen);
    if (settled || lastChance) return { text, signature: seen, settled };
    // Written while it was read: the text may be any mix of the two versions.
    [seen, seenSince] = [after, performance.now()];
  }
}
