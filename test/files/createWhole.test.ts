import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWhole } from '../../src/files/createWhole.ts';
import { tempFolderEach } from '../tempFolder.ts';

let dir: string;
let lock: string;
tempFolderEach('eaw-create-whole-', (made) => {
  dir = made;
  lock = join(dir, 'state.json.lock');
});

describe('createWhole', () => {
  it('creates the file with its text and mode, and leaves nothing else in the folder', async () => {
    expect(await createWhole(lock, 'holder 1\n', 0o600)).toBe(true);
    expect(await readFile(lock, 'utf8')).toBe('holder 1\n');
    expect((await stat(lock)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json.lock']);
  });

  it('is refused, the file kept as it is, when the name is taken; one of many at once gets it', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => createWhole(lock, `holder ${i}\n`, 0o644)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await readFile(lock, 'utf8')).toBe(`holder ${results.indexOf(true)}\n`);
    expect(await createWhole(lock, 'late\n', 0o644)).toBe(false);
    expect(await readFile(lock, 'utf8')).toBe(`holder ${results.indexOf(true)}\n`);
    expect(await readdir(dir)).toEqual(['state.json.lock']);
  });

  it('is never seen empty or half-written by a reader, however the reads and the creations interleave', async () => {
    // Big enough that writing it takes many reads' time.
    const text = `${JSON.stringify({ pid: 1, instance: 'x'.repeat(2 ** 21) })}\n`;
    const seen = new Set<string>();
    let creating = true;
    const reader = (async () => {
      while (creating) seen.add(await readFile(lock, 'utf8').catch(() => 'absent'));
    })();
    for (let i = 0; i < 40; i++) {
      expect(await createWhole(lock, text, 0o644)).toBe(true);
      await rm(lock);
    }
    creating = false;
    await reader;
    // Both seen, and nothing between them.
    expect([...seen].sort()).toEqual(['absent', text]);
  });

  it('removes the staged files of processes killed before they removed theirs, once they are a minute old, and only those', async () => {
    const old = join(dir, '.state.json.lock.tmp-0a4c');
    const fresh = join(dir, '.state.json.lock.tmp-77e1');
    const others = join(dir, '.state.json.tmp-5d2b');
    for (const file of [old, fresh, others]) await writeFile(file, 'left behind');
    const then = new Date(Date.now() - 61_000);
    await utimes(old, then, then);
    await utimes(others, then, then);
    expect(await createWhole(lock, 'holder\n', 0o644)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['.state.json.lock.tmp-77e1', '.state.json.tmp-5d2b', 'state.json.lock']);
  });

  it('throws a failure to create as it is, said of the file asked for rather than of the staged one', async () => {
    const missing = join(dir, 'not-there', 'state.json.lock');
    const err = (await createWhole(missing, 'holder\n', 0o644).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('ENOENT');
    expect(err.path).toBe(missing);
  });
});
