// A state folder to be made where the kernel refuses it for another reason than a folder missing above it:
// a read-only file system (systemd's ProtectSystem=strict outside the StateDirectory, a container's read-only
// root outside its volume), a used-up disk quota. No test machine can be counted on to mount one (that
// takes root and CAP_SYS_ADMIN), so mkdir answers as the kernel and Node do there (seen under a read-only
// bind mount): a folder made alone gets the kernel's code, and Node's recursive mkdir turns it into ENOENT
// at the first folder it could not make. Everything else is the real file system.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, it, onTestFinished, vi } from 'vitest';
import { acquireStateLock } from '../../src/state/lock.ts';
import { StateError } from '../../src/state/StateError.ts';
import { tempFolderEach } from '../tempFolder.ts';
import { TEMPLATE, expand, readUnit, readmeInstance } from '../deploy/systemdUnits.ts';

const refused = vi.hoisted(() => ({ below: null as string | null, code: 'EROFS' as 'EROFS' | 'EDQUOT' }));
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  const { constants: os } = await import('node:os');
  const failure = (code: string, path: string) =>
    Object.assign(new Error(`${code}: refused, mkdir '${path}'`), { errno: -os.errno[code as keyof typeof os.errno], code, syscall: 'mkdir', path });
  return {
    ...real,
    mkdir: async (path: string, options?: { recursive?: boolean }) => {
      const below = refused.below;
      if (below === null || !path.startsWith(`${below}/`)) return real.mkdir(path, options);
      // The first folder missing under `below`, which the kernel refuses to make.
      const first = join(below, path.slice(below.length + 1).split('/')[0]!);
      if (options?.recursive) throw failure('ENOENT', first);
      if (path === first) throw failure(refused.code, path);
      return real.mkdir(path, options);
    },
  };
});

/** The unit's StateDirectory, as systemd makes it (under /var/lib for a system service). */
const unitStateFolder = () => `/var/lib/${/^StateDirectory=(.+)$/m.exec(readFileSync(new URL('../../deploy/systemd/ecs-action-watch.service', import.meta.url), 'utf8'))![1]}`;

let dir: string;
tempFolderEach('eaw-state-folder-', (made) => {
  dir = made;
});

it.each([
  [
    'a read-only file system',
    'EROFS' as const,
    // Where the systemd unit lets the daemon write, which root, who reads the message, finds writable all over.
    (folder: string) => `${folder} is on a read-only file system: set state.path to a file on a writable one (in a container, on its mounted volume; under the systemd unit, whose ProtectSystem=strict leaves only its StateDirectory writable, in ${unitStateFolder()}, or add the folder to its ReadWritePaths=)`,
  ],
  ['a used-up disk quota', 'EDQUOT' as const, (folder: string) => `free space in ${folder}, or raise the disk quota of the user ecs-action-watch runs as`],
])('says of a state folder it cannot make on %s why, not that a folder is missing', async (_, code, fix) => {
  Object.assign(refused, { below: dir, code });
  const err = await acquireStateLock(join(dir, 'ecs', 'state.json'), { logger: pino({ level: 'silent' }) }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StateError);
  const message = (err as Error).message;
  expect(message.startsWith(`state file ${dir}/ecs/state.json: cannot create its folder ${dir}/ecs: `)).toBe(true);
  expect(message).toContain(` (${code}): ${fix(dir)}`);
  // A full quota may be freed without touching the file or the settings: `run` exits 1, and systemd tries again.
  expect((err as StateError).transient).toBe(code === 'EDQUOT');
});

it("names, under a unit, the StateDirectory systemd made for it (STATE_DIRECTORY): a template's instance's own, not the single unit's, which is read-only to it and the first daemon's", async () => {
  const instance = readmeInstance();
  const own = `/var/lib/${expand(readUnit(TEMPLATE).get('Service')!.get('StateDirectory')![0]!, instance)}`;
  vi.stubEnv('STATE_DIRECTORY', own);
  onTestFinished(() => {
    vi.unstubAllEnvs();
  });
  Object.assign(refused, { below: dir, code: 'EROFS' });
  const err = await acquireStateLock(join(dir, 'ecs', 'state.json'), { logger: pino({ level: 'silent' }) }).catch((e: unknown) => e);
  expect((err as Error).message).toContain(`whose ProtectSystem=strict leaves only its StateDirectory writable, in ${own}, or add the folder to its ReadWritePaths=)`);
});
