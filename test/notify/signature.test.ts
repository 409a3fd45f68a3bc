import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { decodeSecret, sign } from '../../src/notify/webhook/signature.ts';

const SECRET = `whsec_${Buffer.from('a test key of thirty-two bytes!!').toString('base64')}`;

describe('Standard Webhooks signature', () => {
  it('matches the reference implementation', () => {
    const body = '{"type":"ecs.action.failed"}';
    const expected = new Webhook(SECRET).sign('msg_abc', new Date(1_790_000_000 * 1000), body);
    expect(sign(SECRET, 'msg_abc', 1_790_000_000, body)).toBe(expected);
    expect(sign(decodeSecret(SECRET), 'msg_abc', 1_790_000_000, body)).toBe(expected);
  });

  it('accepts the key without its prefix, as the reference libraries do', () => {
    expect(decodeSecret(SECRET.slice('whsec_'.length))).toEqual(decodeSecret(SECRET));
  });

  it('refuses a secret that holds no key', () => {
    expect(() => decodeSecret('whsec_')).toThrow(/no key/);
  });
});
