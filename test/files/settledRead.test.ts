import { appendFile, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettled } from '../../src/files/settledRead.ts';
import { tempFolderEach } from '../tempFolder.ts';

let dir: string;
let file: string;
tempFolderEach('eaw-settled-', (made) => {
  dir = made;
  file = join(dir, 'watch.yaml');
});

/** Written a minute ago: still for longer than any wait here. */
async function writeOld(text: string): Promise<void> {
  await writeFile(file, text);
  const minuteAgo = new Date(Date.now() - 60_000);
  await utimes(file, minuteAgo, minuteAgo);
}

/** `readFile`, counting its calls; `during` runs inside the first one, after the bytes are read. */
function counted(during: () => Promise<void> = async () => undefined) {
  const reader = {
    calls: 0,
    read: async (path: string) => {
      const text = await readFile(path, 'utf8');
      if (++reader.calls === 1) await during();
      return text;
    },
  };
  return reader;
}

describe('readSettled', () => {
  it('reads at once a file whose mtime says it has been still long enough', async () => {
    await writeOld('cloud: {}\n');
    const reader = counted();
    // Still for a minute, against 30 s asked for; a wait of 30 s would outlast the test.
    const read = await readSettled(file, reader.read, { settleMs: 30_000, maxWaitMs: 3_600_000 });
    expect(read).toMatchObject({ text: 'cloud: {}\n', settled: true, signature: { size: 10 } });
    expect(reader.calls).toBe(1);
  });

  it('reads again a file written while it was read, once that write is still long enough', async () => {
    await writeOld('watches:\n');
    const reader = counted(() => appendFile(file, '  - requestId: req-1\n'));
    const read = await readSettled(file, reader.read, { settleMs: 50, maxWaitMs: 60_000 });
    expect(read).toMatchObject({ text: 'watches:\n  - requestId: req-1\n', settled: true });
    expect(reader.calls).toBe(2);
  });

  it('reads again a file changed while it was read with its mtime as it was: renamed over by one of its size, or grown', async () => {
    /** Done to the file while it is read, then its mtime set back: only its inode or its size tells. */
    const keepingMtime = (change: () => Promise<void>) => async () => {
      const { mtime } = await stat(file);
      await change();
      await utimes(file, mtime, mtime);
    };
    await writeOld('watches: [a]\n');
    const swapped = counted(keepingMtime(async () => {
      // As a ConfigMap's files are swapped: a whole new file renamed into place.
      await writeFile(`${file}.new`, 'watches: [b]\n');
      await rename(`${file}.new`, file);
    }));
    expect(await readSettled(file, swapped.read, { settleMs: 50, maxWaitMs: 60_000 })).toMatchObject({ text: 'watches: [b]\n', settled: true });
    expect(swapped.calls).toBe(2);
    const grown = counted(keepingMtime(() => appendFile(file, '  # more\n')));
    expect(await readSettled(file, grown.read, { settleMs: 50, maxWaitMs: 60_000 })).toMatchObject({ text: 'watches: [b]\n  # more\n', settled: true });
    expect(grown.calls).toBe(2);
  });

  it('gives up waiting after maxWaitMs, and says the text it read then is unsettled', async () => {
    // Just written: an hour of stillness is not reached within the 100 ms allowed.
    await writeFile(file, 'line 1\n');
    const started = performance.now();
    const read = await readSettled(file, counted().read, { settleMs: 3_600_000, maxWaitMs: 100 });
    expect(read).toMatchObject({ text: 'line 1\n', settled: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
  });

  it('stops waiting when its signal is aborted', async () => {
    await writeFile(file, 'line 1\n');
    const stop = new AbortController();
    const reading = readSettled(file, counted().read, { settleMs: 3_600_000, maxWaitMs: 3_600_000, signal: stop.signal });
    stop.abort(new Error('stopping'));
    await expect(reading).rejects.toThrow();
  });

  it('waits for a missing file as for any other version, then lets the read say it is missing', async () => {
    const read = readSettled(join(dir, 'missing.yaml'), counted().read, { settleMs: 20, maxWaitMs: 60_000 });
    await expect(read).rejects.toThrow(/ENOENT/);
  });
});
