// createWhole on a filesystem without hard links (FAT, some FUSE and SMB mounts), which no test machine
// mounts: link() refuses as such a filesystem does, and a write can fail as on a full disk. Everything
// else is the real file system, and what is asserted is what is left on it.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { createWhole } from '../../src/files/createWhole.ts';
import { tempFolderEach } from '../tempFolder.ts';

const faults = vi.hoisted(() => ({ link: undefined as string | undefined, writeTo: undefined as string | undefined }));
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  const refused = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: refused, ${syscall} '${path}'`), { code, syscall, path });
  return {
    ...real,
    link: async (existing: string, created: string) => {
      if (faults.link !== undefined) throw refused(faults.link, 'link', existing);
      return real.link(existing, created);
    },
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      if (args[0] !== faults.writeTo) return handle;
      return Object.assign(Object.create(handle) as typeof handle, {
        writeFile: async () => {
          throw refused('ENOSPC', 'write', String(args[0]));
        },
        close: () => handle.close(),
      });
    },
  };
});

let dir: string;
let lock: string;
tempFolderEach('eaw-create-whole-', (made) => {
  dir = made;
  lock = join(dir, 'state.json.lock');
});
afterEach(() => {
  Object.assign(faults, { link: undefined, writeTo: undefined });
});

it.each(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])('creates the file, then writes it, where link() fails with %s; and is refused when it exists', async (code) => {
  faults.link = code;
  expect(await createWhole(lock, 'holder 1\n', 0o600)).toBe(true);
  expect(await readFile(lock, 'utf8')).toBe('holder 1\n');
  expect((await stat(lock)).mode & 0o777).toBe(0o600);
  expect(await createWhole(lock, 'holder 2\n', 0o600)).toBe(false);
  expect(await readFile(lock, 'utf8')).toBe('holder 1\n');
  expect(await readdir(dir)).toEqual(['state.json.lock']);
});

it('removes the file again when its text cannot be written, and throws the failure said of the file', async () => {
  faults.link = 'EPERM';
  faults.writeTo = lock;
  const err = (await createWhole(lock, 'holder\n', 0o644).catch((e: unknown) => e)) as NodeJS.ErrnoException;
  expect(err.code).toBe('ENOSPC');
  expect(err.path).toBe(lock);
  expect(await readdir(dir)).toEqual([]);
  faults.writeTo = undefined;
  expect(await createWhole(lock, 'holder\n', 0o644)).toBe(true);
});

it('throws any other failure of link() as it is, said of the file, and leaves nothing', async () => {
  faults.link = 'EIO';
  const err = (await createWhole(lock, 'holder\n', 0o644).catch((e: unknown) => e)) as NodeJS.ErrnoException;
  expect(err.code).toBe('EIO');
  expect(err.path).toBe(lock);
  expect(await readdir(dir)).toEqual([]);
});
