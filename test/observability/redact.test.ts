// The logger's redaction as a pure function: where it finds secrets, and that it changes nothing else.
import { describe, expect, it } from 'vitest';
import { CENSOR, secretRedactor } from '../../src/observability/redact.ts';

const redact = secretRedactor(['password', 'secretKey', 'x-auth-token']);

describe('secret redaction', () => {
  it('censors a secret key at any depth, in arrays too, whatever its case', () => {
    const value = {
      a: { b: { c: { d: { e: { password: 'p-1' } } } } },
      list: [{ name: 'x' }, { SecretKey: 'sk-2' }],
      headers: { 'X-Auth-Token': 't-3', accept: 'application/json' },
    };
    expect(redact(value)).toEqual({
      a: { b: { c: { d: { e: { password: CENSOR } } } } },
      list: [{ name: 'x' }, { SecretKey: CENSOR }],
      headers: { 'X-Auth-Token': CENSOR, accept: 'application/json' },
    });
  });

  it('censors what is nested deeper than it looks, rather than pass it through', () => {
    let deep: Record<string, unknown> = { password: 'pw-deep' };
    for (let i = 0; i < 9; i++) deep = { level: deep };
    expect(JSON.stringify(redact({ detail: deep }))).not.toContain('pw-deep');
  });

  it('censors a secret key in the errors of an AggregateError and in an error\'s cause, neither of them enumerable', () => {
    const inner = Object.assign(new Error('connect failed'), { headers: { 'X-Auth-Token': 'tok-agg' } });
    const all = redact({ err: new AggregateError([inner], 'all failed') }).err;
    expect(all).toBeInstanceOf(AggregateError);
    expect((all.errors[0] as { headers: Record<string, string> }).headers['X-Auth-Token']).toBe(CENSOR);
    const cause = Object.assign(new Error('inner'), { config: { password: 'pw-cause' } });
    const outer = redact({ err: new Error('outer', { cause }) }).err;
    expect(((outer.cause as Error & { config: Record<string, string> }).config).password).toBe(CENSOR);
  });

  it('censors a whole object under a secret key, and leaves the value it was given as it was', () => {
    const value = { password: { type: 'password', password: 'p-1' }, user: 'u' };
    expect(redact(value)).toEqual({ password: CENSOR, user: 'u' });
    expect(value.password.password).toBe('p-1');
  });

  it('returns a value without secrets as it came, without copying it', () => {
    const value = { watch: 'web-01', deliveryId: 'abc', nested: { attempt: 1, at: new Date(0) }, list: [1, 2] };
    expect(redact(value)).toBe(value);
  });

  it('keeps what an error says when a property of it is censored', () => {
    const err = Object.assign(new Error('login refused'), { password: 'p-1', status: 401 });
    const out = redact({ err }).err;
    expect(out).toBeInstanceOf(Error);
    expect(out).toMatchObject({ message: 'login refused', password: CENSOR, status: 401 });
    expect(out.stack).toBe(err.stack);
    expect(err.password).toBe('p-1');
  });

  it('censors an object met twice in one value that is no cycle, at each place it stands', () => {
    const auth = { type: 'password', password: 'pw-shared' };
    const out = redact({ cloud: { auth }, retried: { auth }, list: [auth, auth] });
    expect(JSON.stringify(out)).not.toContain('pw-shared');
    expect(out.retried.auth).toEqual({ type: 'password', password: CENSOR });
  });

  it('stops at a depth no log call reaches, so that a cycle ends', () => {
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle['self'] = cycle;
    expect(redact(cycle)).toBe(cycle);
  });
});
