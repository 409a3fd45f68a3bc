// What makes a write outlive a power cut is the order of its system calls (fsync of the file before its
// rename, fsync of each folder whose entries changed), which nothing on the file system shows afterwards
// short of cutting the power. So node:fs/promises is wrapped here to record those calls; each one still
// runs for real, and what is left on disk is the real outcome.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, expect, it, vi } from 'vitest';
import { createWhole } from '../../src/files/createWhole.ts';
import { makeFolder, writeFileAtomic } from '../../src/files/writeFileAtomic.ts';
import { tempFolderEach } from '../tempFolder.ts';

const calls = vi.hoisted(() => [] as string[]);
/** A folder whose sync fails (EIO), as a failing disk's does. */
const failing = vi.hoisted(() => ({ folder: undefined as string | undefined }));
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
    link: async (existing: string, created: string) => {
      await real.link(existing, created);
      calls.push(`link ${created}`);
    },
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      const path = String(args[0]);
      return Object.assign(Object.create(handle) as typeof handle, {
        sync: async () => {
          if (path === failing.folder) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', syscall: 'fsync' });
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
  failing.folder = undefined;
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

it('creates a lock file whole and durably: its text synced, then linked to its name, then its folder synced, before it says the lock is taken', async () => {
  const lock = join(dir, 'state.json.lock');
  expect(await createWhole(lock, 'holder\n', 0o600)).toBe(true);
  // Until the folder is synced, a power cut may leave the folder without the lock its holder was told it has.
  expect(calls).toEqual(['sync (temporary file)', `link ${lock}`, `sync ${dir}`]);
  expect(await readFile(lock, 'utf8')).toBe('holder\n');
});

it('removes again a lock file whose folder cannot be synced, and says why: it is not left to name a creator told it failed', async () => {
  const lock = join(dir, 'state.json.lock');
  failing.folder = dir;
  await expect(createWhole(lock, 'holder\n', 0o600)).rejects.toThrow(/EIO/);
  expect(await readdir(dir)).toEqual([]);
});
