import { pino } from 'pino';
import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { createAuth } from '../../src/cloud/auth/registry.ts';

const deps = { logger: pino({ level: 'silent' }), dispatcher: new MockAgent(), timeout: 1000 };
const request = { method: 'GET', url: new URL('https://h.test/v2.1/'), headers: {} };

describe('auth registry', () => {
  it('none adds nothing', async () => {
    const auth = createAuth({ type: 'none' }, deps);
    expect(await auth.headers(request, undefined)).toEqual({});
  });

  it('token sends X-Auth-Token, a fresh object each time', async () => {
    const auth = createAuth({ type: 'token', token: 't0k3n' }, deps);
    const first = await auth.headers(request, undefined);
    expect(first).toEqual({ 'x-auth-token': 't0k3n' });
    first['x-auth-token'] = 'changed';
    expect(await auth.headers(request, undefined)).toEqual({ 'x-auth-token': 't0k3n' });
    expect(auth.onUnauthorized).toBeUndefined();
  });
});
