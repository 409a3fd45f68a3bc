// What `add` and `remove` say when the watch file cannot be replaced for reasons no test machine can be
// counted on to set up (mounting needs root and CAP_SYS_ADMIN): the system calls answer as the kernel does
// over a file bind-mounted alone (rename: EBUSY; access(W_OK): EROFS when mounted read-only) and on a full file system or a used-up quota (a write: ENOSPC, EDQUOT, without a path).
// Everything else is the real file system, and what is asserted is what the operator reads and what is left.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { editWatchFile } from '../../src/cli/editWatchFile.ts';
import { tempFolderEach } from '../tempFolder.ts';
import { commandContext } from './commandContext.ts';

const faults = vi.hoisted(() => ({ rename: undefined as string | undefined, write: undefined as string | undefined, access: undefined as string | undefined }));
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  const refused = (code: string, syscall: string, path?: string) => Object.assign(new Error(`${code}: refused, ${syscall}${path === undefined ? '' : ` '${path}'`}`), { code, syscall, ...(path === undefined ? {} : { path }) });
  return {
    ...real,
    access: async (...args: Parameters<typeof real.access>) => {
      if (faults.access !== undefined) throw refused(faults.access, 'access', String(args[0]));
      return real.access(...args);
    },
    rename: async (from: string, to: string) => {
      if (faults.rename !== undefined) throw refused(faults.rename, 'rename', from);
      return real.rename(from, to);
    },
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      const code = faults.write;
      if (code === undefined || args[1] === undefined || args[1] === 'r') return handle;
      const full = () => Promise.reject(refused(code, 'write'));
      return Object.assign(Object.create(handle) as typeof handle, { write: full, writev: full, writeFile: full, close: () => handle.close(), sync: () => handle.sync() });
    },
  };
});

const ORIGINAL = 'cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\n  auth: { type: token, token: T }\nwatches: []\n';

let dir: string;
let path: string;
tempFolderEach('eaw-edit-write-errors-', (made) => {
  dir = made;
  path = join(made, 'watch.yaml');
});
afterEach(() => {
  Object.assign(faults, { rename: undefined, write: undefined, access: undefined });
});

it.each([
  [
    'a file mounted on its own (a container\'s -v file:file, a ConfigMap\'s subPath), which rename(2) cannot replace',
    { rename: 'EBUSY' },
    () =>
      'it is a mount point of its own (a file bind-mounted alone, as docker run -v file:file or a Kubernetes subPath does), ' +
      'which can only be replaced where it is mounted from: edit that file (or ConfigMap), or mount its folder instead',
  ],
  [
    'a file mounted on its own read-only (-v file:file:ro), named as its mount point rather than as a read-only file system',
    { access: 'EROFS', rename: 'EBUSY' },
    () =>
      'it is a mount point of its own (a file bind-mounted alone, as docker run -v file:file or a Kubernetes subPath does), ' +
      'which can only be replaced where it is mounted from: edit that file (or ConfigMap), or mount its folder instead',
  ],
  ['a full file system, whose error names no file', { write: 'ENOSPC' }, (folder: string) => `its file system is full (ENOSPC): free space on the disk that holds ${folder}, then run this again`],
  [
    'a disk quota used up, which df does not show',
    { write: 'EDQUOT' },
    (folder: string) => `the disk quota on its file system is used up (EDQUOT): free space in ${folder}, or raise the disk quota of the user running this, then run this again`,
  ],
])('says of %s that the watch file cannot be written, and why, and leaves it as it is', async (_, fault, why) => {
  await writeFile(path, ORIGINAL);
  Object.assign(faults, fault);
  await expect(editWatchFile(commandContext(path), (text) => ({ text: `${text}# edited\n` }))).rejects.toThrow(new Error(`cannot write ${path}: ${why(dir)}`));
  expect(await readFile(path, 'utf8')).toBe(ORIGINAL);
  expect(await readdir(dir)).toEqual(['watch.yaml']);
});
