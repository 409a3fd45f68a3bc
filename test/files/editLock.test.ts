import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withEditLock } from '../../src/files/editLock.ts';
import { tempFolderEach } from '../tempFolder.ts';

const TIMING = { waitMs: 300, staleMs: 5_000, retryMs: 10 };
let file: string;
tempFolderEach('eaw-edit-lock-', (made) => {
  file = join(made, 'watch.yaml');
});

/** Runs `edits` edits at once under the lock; how many were ever inside it together. */
async function mostAtOnce(edits: number): Promise<number> {
  let inside = 0;
  let most = 0;
  const edit = async () => {
    most = Math.max(most, ++inside);
    await new Promise((resolve) => setTimeout(resolve, 10));
    inside--;
  };
  const signal = new AbortController().signal;
  // Waiting as long as a queue of edits may take on a busy machine: what is measured is how many ran at once.
  await Promise.all(Array.from({ length: edits }, () => withEditLock(file, edit, signal, { ...TIMING, waitMs: 10_000 })));
  return most;
}

describe('withEditLock', () => {
  it('runs one edit at a time, and leaves no lock behind', async () => {
    expect(await mostAtOnce(5)).toBe(1);
    await expect(stat(`${file}.lock`)).rejects.toThrow(/ENOENT/);
  });

  it('lets several waiters take over a stale lock one at a time', async () => {
    await writeFile(`${file}.lock`, '12345 dead\n');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    expect(await mostAtOnce(5)).toBe(1);
    await expect(stat(`${file}.lock`)).rejects.toThrow(/ENOENT/);
    await expect(stat(`${file}.lock.takeover`)).rejects.toThrow(/ENOENT/);
  });

  it('takes over a stale lock whose takeover claim a dead edit left', async () => {
    const old = new Date(Date.now() - 60_000);
    for (const left of [`${file}.lock`, `${file}.lock.takeover`]) {
      await writeFile(left, '12345 dead\n');
      await utimes(left, old, old);
    }
    expect(await withEditLock(file, () => Promise.resolve('done'), new AbortController().signal, TIMING)).toBe('done');
    await expect(stat(`${file}.lock.takeover`)).rejects.toThrow(/ENOENT/);
  });

  it('waits for a lock held by another edit, then says which file to remove if none is running', async () => {
    await writeFile(`${file}.lock`, '12345\n');
    const edit = withEditLock(file, () => Promise.resolve('done'), new AbortController().signal, TIMING);
    await expect(edit).rejects.toThrow(`another add or remove has held ${file}.lock for 0.3 s; if none is running, remove that file`);
    expect(await readFile(`${file}.lock`, 'utf8')).toBe('12345\n');
  });

  it('takes over a lock left by an edit that died long ago', async () => {
    await writeFile(`${file}.lock`, '12345\n');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    expect(await withEditLock(file, () => Promise.resolve('done'), new AbortController().signal, TIMING)).toBe('done');
  });

  it('takes over a lock left by a dead edit on a host whose clock is ahead (an NFS share), once seen unchanged that long', async () => {
    await writeFile(`${file}.lock`, '12345 other-host\n');
    const ahead = new Date(Date.now() + 3_600_000);
    await utimes(`${file}.lock`, ahead, ahead);
    expect(await withEditLock(file, () => Promise.resolve('done'), new AbortController().signal, { waitMs: 3_000, staleMs: 200, retryMs: 10 })).toBe('done');
  });

  it('leaves in place a lock that another edit took over while this one ran, removing only its own', async () => {
    const edit = async () => {
      // As another edit does that judged this one's lock stale: removed, and its own created in its place.
      await writeFile(`${file}.lock`, '67890 other\n');
      return 'done';
    };
    expect(await withEditLock(file, edit, new AbortController().signal, TIMING)).toBe('done');
    expect(await readFile(`${file}.lock`, 'utf8')).toBe('67890 other\n');
  });

  it('stops waiting when the command is interrupted', async () => {
    await writeFile(`${file}.lock`, '12345\n');
    const stop = new AbortController();
    const edit = withEditLock(file, () => Promise.resolve('done'), stop.signal, { ...TIMING, waitMs: 60_000 });
    stop.abort();
    await expect(edit).rejects.toThrow(/abort/i);
  });
});
