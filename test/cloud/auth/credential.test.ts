// How often a credential file is looked at. stat is the real one, counted: the file system is not faked.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { Credential, RECHECK_MS } from '../../../src/cloud/auth/credential.ts';
import { tempFolderEach } from '../../tempFolder.ts';

const looks = vi.hoisted(() => ({ stats: 0 }));
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return {
    ...real,
    stat: (...args: Parameters<typeof real.stat>) => {
      looks.stats += 1;
      return real.stat(...args);
    },
  };
});

let dir: string;
tempFolderEach('eaw-credential-', (made) => {
  dir = made;
});
afterEach(() => {
  vi.useRealTimers();
});

it('is looked at once when the polls in flight all find a look due', async () => {
  vi.useFakeTimers({ toFake: ['performance'] });
  const file = join(dir, 'token');
  await writeFile(file, 'first-token\n');
  const token = new Credential('token', undefined, file, { sentInHeader: true });
  await writeFile(file, 'rotated-token\n');
  vi.advanceTimersByTime(RECHECK_MS);
  looks.stats = 0;
  const values = await Promise.all(Array.from({ length: 64 }, () => token.value()));
  expect(new Set(values)).toEqual(new Set(['rotated-token']));
  expect(looks.stats).toBe(1);
  expect(token.version).toBe(1);
  // The next look is due RECHECK_MS after that one, not sooner.
  await token.value();
  expect(looks.stats).toBe(1);
  vi.advanceTimersByTime(RECHECK_MS);
  await Promise.all([token.value(), token.value()]);
  expect(looks.stats).toBe(2);
});

it('is looked at once a RECHECK_MS while it is missing, keeping its last value, and read once it is back', async () => {
  vi.useFakeTimers({ toFake: ['performance'] });
  const file = join(dir, 'token');
  await writeFile(file, 'first-token\n');
  const token = new Credential('token', undefined, file, { sentInHeader: true });
  await rm(file);
  vi.advanceTimersByTime(RECHECK_MS);
  looks.stats = 0;
  for (let poll = 0; poll < 10; poll++) expect(await token.value()).toBe('first-token');
  expect(looks.stats).toBe(1);
  vi.advanceTimersByTime(RECHECK_MS);
  await token.value();
  expect(looks.stats).toBe(2);
  await writeFile(file, 'rotated-token\n');
  vi.advanceTimersByTime(RECHECK_MS);
  expect(await token.value()).toBe('rotated-token');
  expect(token.version).toBe(1);
});

it.each([
  ['Latin-1, as an editor on Windows saves it', Buffer.from('p\xe4sswort\n', 'latin1'), 'is not UTF-8 text \\(line 1, column \\d+ is not\\)'],
  ["UTF-16, as PowerShell's > writes it", Buffer.from('\ufeffpässwort\r\n', 'utf16le'), 'is UTF-16 text \\(its first bytes, a byte order mark, say so\\), not UTF-8'],
])('refuses a password file in %s, whose secret read as UTF-8 the identity service would refuse as a wrong password', async (_, bytes, said) => {
  const file = join(dir, 'password');
  await writeFile(file, bytes);
  expect(() => new Credential('password', undefined, file)).toThrow(new RegExp(`^cannot read cloud\\.auth\\.passwordFile ${file}: ${said}: save it as UTF-8$`));
});
