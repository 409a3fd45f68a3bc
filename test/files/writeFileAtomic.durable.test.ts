// What makes a write outlive a power cut is the order of its system calls (fsync of the file before its
// rename, fsync of each folder whose entries changed), which nothing on the file system shows afterwards
// short of cutting the power. So node:fs/promises is wrapped here to record those calls; each one still
// runs for real, and what is left on disk is the real outcome.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, expect, it, vi } from 'vitest';
import { makeFolder, writeFileAtomic } from '../../src/files/writeFileAtomic.ts';
import { tempFolderEach } from '../tempFolder.ts';

const calls = vi.hoisted(() => [] as string[]);
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return {
    ...real,
    mkdir: async (...args: Parameters<typeof real.mkdir>) => {
      const made = await real.mkdir(...args);
      calls.push(`mkdir ${String(args[0])}`);
      return made;
    },
    rename: async (from: string, to: string) => {
      await real.rename(from, to);
      calls.push(`rename ${to}`);
    },
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      const path = String(args[0]);
      return Object.assign(Object.create(handle) as typeof handle, {
        sync: async () => {
          await handle.sync();
          calls.push(`sync ${path.includes('.tmp-') ? '(temporary file)' : path}`);
        },
        close: () => handle.close(),
      });
    },
  };
});

let dir: string;
tempFolderEach('eaw-write-durable-', (made) => {
  dir = made;
});
beforeEach(() => {
  calls.length = 0;
});

it('syncs the file, then renames it, then syncs its folder', async () => {
  const file = join(dir, 'state.json');
  await writeFileAtomic(file, 'saved\n');
  expect(calls).toEqual([`mkdir ${dir}`, 'sync (temporary file)', `rename ${file}`, `sync ${dir}`]);
  expect(await readFile(file, 'utf8')).toBe('saved\n');
});

it('syncs each folder above one it created, so that after a power cut the new folders, and the file in them, are there', async () => {
  const file = join(dir, 'var', 'state', 'state.json');
  await writeFileAtomic(file, 'saved\n');
  // The new folders' entries: state's in var, var's in the folder that was there before.
  const synced = calls.filter((call) => call.startsWith('sync '));
  expect(synced).toEqual(expect.arrayContaining([`sync ${dir}`, `sync ${join(dir, 'var')}`, `sync ${join(dir, 'var', 'state')}`]));
  // Before the write is said to be done: after the rename nothing else may be missing from the disk.
  expect(calls.at(-1)).toMatch(/^sync /);
  expect(await readFile(file, 'utf8')).toBe('saved\n');
});

it('makes the folders of the state durable when they are made before anything is written in them (the state lock makes them), and syncs nothing when they are there', async () => {
  const state = join(dir, 'var', 'state');
  await makeFolder(state);
  expect(calls).toEqual([`mkdir ${state}`, `sync ${join(dir, 'var')}`, `sync ${dir}`]);
  calls.length = 0;
  await makeFolder(state);
  expect(calls).toEqual([`mkdir ${state}`]);
});
