import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { MockAgent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RECHECK_MS } from '../../../src/cloud/auth/credential.ts';
import { AUTH_SECRET_KEYS, AUTH_TYPE_NAMES, CATALOG_AUTH_TYPES, createAuth } from '../../../src/cloud/auth/registry.ts';
import { tempFolderEach } from '../../tempFolder.ts';

const deps = { logger: pino({ level: 'silent' }), dispatcher: new MockAgent(), timeout: 1000, needsCatalog: false, now: () => Date.now() };
const request = { method: 'GET', url: 'https://h.test/v2.1/', headers: {} };

let dir: string;
tempFolderEach('eaw-auth-', (made) => {
  dir = made;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('auth registry', () => {
  it('lists every method, the ones with a catalog, and every secret key', () => {
    // Contains, not equals: a new method is one folder and one registry entry, with no list here to edit.
    expect(AUTH_TYPE_NAMES).toEqual(expect.arrayContaining(['none', 'token', 'password', 'aksk']));
    expect(new Set(AUTH_TYPE_NAMES).size).toBe(AUTH_TYPE_NAMES.length);
    expect(CATALOG_AUTH_TYPES).toContain('password');
    for (const type of ['none', 'token', 'aksk']) expect(CATALOG_AUTH_TYPES).not.toContain(type);
    expect([...AUTH_SECRET_KEYS]).toEqual(expect.arrayContaining(['password', 'secretKey', 'securityToken', 'token']));
  });

  it('none adds nothing', async () => {
    const auth = createAuth({ type: 'none' }, deps);
    expect(await auth.headers(request, undefined)).toEqual({});
  });

  it('token sends X-Auth-Token, a fresh object each time; a 401 is final', async () => {
    const auth = createAuth({ type: 'token', token: 't0k3n' }, deps);
    const first = await auth.headers(request, undefined);
    expect(first).toEqual({ 'x-auth-token': 't0k3n' });
    first['x-auth-token'] = 'changed';
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 't0k3n' });
    expect(await auth.onUnauthorized?.({ 'x-auth-token': 't0k3n' })).toBe(false);
  });
});

describe('a token from a file', () => {
  it('is read at start, trimmed, and read again when the file changes', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const file = join(dir, 'token');
    await writeFile(file, 'first-token\n');
    const auth = createAuth({ type: 'token', tokenFile: file }, deps);
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 'first-token' });

    await writeFile(file, 'second-token-longer\n');
    // Looked at again only once RECHECK_MS have passed...
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 'first-token' });
    vi.advanceTimersByTime(RECHECK_MS);
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 'second-token-longer' });
  });

  it('is read again RECHECK_MS after the last look, with this host\'s clock set back an hour meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const file = join(dir, 'token');
    await writeFile(file, 'first-token\n');
    const auth = createAuth({ type: 'token', tokenFile: file }, deps);
    await writeFile(file, 'rotated-token\n');
    vi.setSystemTime(Date.now() - 60 * 60_000);
    vi.advanceTimersByTime(RECHECK_MS);
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 'rotated-token' });
  });

  it('is looked at at once after a 401, which is retried when the token there is new', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'old-token');
    const auth = createAuth({ type: 'token', tokenFile: file }, deps);
    const sent = await auth.headers(request, undefined);
    expect(await auth.onUnauthorized?.(sent)).toBe(false);
    await writeFile(file, 'rotated-token');
    expect(await auth.onUnauthorized?.(sent)).toBe(true);
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 'rotated-token' });
  });

  it('keeps the last token while the file is briefly missing (a Secret being swapped)', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const file = join(dir, 'token');
    await writeFile(file, 'kept-token');
    const auth = createAuth({ type: 'token', tokenFile: file }, deps);
    await rm(file);
    vi.advanceTimersByTime(RECHECK_MS);
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 'kept-token' });
  });

  it.each([
    ['missing', async () => join(dir, 'nope'), /^cannot read cloud\.auth\.tokenFile .*nope: no such file$/],
    ['empty', async () => {
      await writeFile(join(dir, 'empty'), ' \n');
      return join(dir, 'empty');
    }, /^cloud\.auth\.tokenFile .*empty is empty$/],
    ['not sendable in a header', async () => {
      await writeFile(join(dir, 'euro'), 'sec€ret\n');
      return join(dir, 'euro');
    }, /^cloud\.auth\.tokenFile .*euro holds a character an HTTP header cannot carry \(a control character, or one beyond Latin-1 such as €\): write it in ASCII$/],
    // As the watch file's token: sent so, every poll would be a 401.
    ['a token with its Bearer copied before it', async () => {
      await writeFile(join(dir, 'bearer'), 'Bearer gAAAAABtoken\n');
      return join(dir, 'bearer');
    }, /^cloud\.auth\.tokenFile .*bearer holds a space, which no token does: write the token alone, without the scheme or header name copied before it$/],
  ])('stops the start with the file named when it is %s', async (_case, make, message) => {
    const file = await make();
    expect(() => createAuth({ type: 'token', tokenFile: file }, deps)).toThrow(message);
  });
});

describe('a credential file that is not a plain one-line file', () => {
  it('a FIFO fails at once with what it is, rather than hang the start', async () => {
    const { execFileSync } = await import('node:child_process');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => createAuth({ type: 'token', tokenFile: fifo }, deps)).toThrow(/^cannot read cloud\.auth\.tokenFile .*fifo: is a named pipe \(FIFO\), not a regular file$/);
  });

  it('two lines are refused: the second would be sent as a header of its own', async () => {
    const file = join(dir, 'two-lines');
    await writeFile(file, 'token\nX-Injected: 1\n');
    expect(() => createAuth({ type: 'token', tokenFile: file }, deps)).toThrow(/holds more than one line: write the secret alone$/);
  });
});
