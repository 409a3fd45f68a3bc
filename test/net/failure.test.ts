import { describe, expect, it } from 'vitest';
import { settingFailure } from '../../src/net/failure.ts';

describe('settingFailure', () => {
  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'certificate'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'certificate'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'certificate'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'certificate'],
    ['CERT_HAS_EXPIRED', 'certificate'],
    ['CERT_NOT_YET_VALID', 'certificate'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate'],
    ['ENOTFOUND', 'unknown_host'],
  ] as const)('reads %s as a setting to fix (%s)', (code, kind) => {
    expect(settingFailure(code)).toBe(kind);
  });

  // A resolver that could not answer for now, a handshake cut or timed out, a reset: the network's moment.
  it.each(['EAI_AGAIN', 'ERR_TLS_HANDSHAKE_TIMEOUT', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', undefined])(
    'leaves %s to the network',
    (code) => {
      expect(settingFailure(code)).toBeUndefined();
    },
  );
});
