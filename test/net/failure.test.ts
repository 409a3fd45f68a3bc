import { describe, expect, it } from 'vitest';
import { describeNetworkFailure, nothingSent, settingFailure } from '../../src/net/failure.ts';

describe('settingFailure', () => {
  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'certificate'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'certificate'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'certificate'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'certificate'],
    ['CERT_HAS_EXPIRED', 'certificate'],
    ['CERT_NOT_YET_VALID', 'certificate'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate'],
    // A CA's key that cannot check the signature, a certificate not made for serving TLS, a chain too long.
    ['UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'certificate'],
    ['INVALID_PURPOSE', 'certificate'],
    ['PATH_LENGTH_EXCEEDED', 'certificate'],
    ['CERT_REVOKED', 'certificate'],
    // OpenSSL's own check of the name, and a CA that is not one.
    ['HOSTNAME_MISMATCH', 'certificate'],
    ['INVALID_CA', 'certificate'],
    // Every verification result Node has no name for (a CA not allowed to sign certificates, a key too small).
    ['UNSPECIFIED', 'certificate'],
    ['ENOTFOUND', 'unknown_host'],
    // OpenSSL's reading of a plain HTTP answer to its handshake: an https:// URL for a port without TLS.
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'not_tls'],
  ] as const)('reads %s as a setting to fix (%s)', (code, kind) => {
    expect(settingFailure(code)).toBe(kind);
  });

  // A resolver that could not answer for now, a handshake cut or timed out, a reset: the network's moment.
  it.each(['EAI_AGAIN', 'ERR_TLS_HANDSHAKE_TIMEOUT', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'OUT_OF_MEM', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', undefined])(
    'leaves %s to the network',
    (code) => {
      expect(settingFailure(code)).toBeUndefined();
    },
  );
});

describe('describeNetworkFailure', () => {
  it.each(['ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_TLS_HANDSHAKE_TIMEOUT', 'ETLS'])('says a failed handshake, %s, is TLS', (code) => {
    expect(describeNetworkFailure(code, 'hooks.example.com:443')).toBe(`TLS with hooks.example.com:443 failed (${code})`);
  });

  it.each([
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'name the CA that signs it in cloud.tls.caFile (a self-signed certificate is its own CA)'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'name the CA that signs it in cloud.tls.caFile (a self-signed certificate is its own CA)'],
    ['UNSPECIFIED', 'name the CA that signs it in cloud.tls.caFile (a self-signed certificate is its own CA)'],
    ['CERT_HAS_EXPIRED', "the server's to renew, or this host's clock to set right"],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'it is for another name: write the host as the certificate names it'],
  ])('says a refused certificate, %s, is one, and what mends it', (code, fix) => {
    expect(describeNetworkFailure(code, 'hooks.example.com:443')).toBe(`TLS with hooks.example.com:443 failed: its certificate is refused (${code}): ${fix}`);
  });

  it.each([
    ['ECONNRESET', 'connection reset by hooks.example.com:443'],
    ['EPIPE', 'connection reset by hooks.example.com:443'],
    ['UND_ERR_SOCKET', 'connection to hooks.example.com:443 closed unexpectedly'],
    ['EAI_AGAIN', 'DNS lookup for hooks.example.com:443 failed for now'],
  ])('says what %s means, naming the endpoint', (code, phrase) => {
    expect(describeNetworkFailure(code, 'hooks.example.com:443')).toBe(phrase);
  });

  it('says a port that answers a handshake without TLS is one, or the wrong port', () => {
    expect(describeNetworkFailure('ERR_SSL_WRONG_VERSION_NUMBER', 'hooks.example.com:8080')).toBe(
      'hooks.example.com:8080 does not answer TLS (ERR_SSL_WRONG_VERSION_NUMBER): a port without TLS, or the wrong port',
    );
  });
});

describe('nothingSent', () => {
  // Counted in no rate-limit window (src/cloud/exchange.ts): a black-holed cloud's connects, whichever of
  // undici's connect timeout and the request's own timer fires first, filled an hour's window (`2/h`), and
  // the next poll waited for it, the rest of the hour.
  it.each(['ECONNREFUSED', 'ENOTFOUND', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_SSL_WRONG_VERSION_NUMBER', 'CERT_HAS_EXPIRED'])('says nothing went before %s', (code) => {
    expect(nothingSent(code)).toBe(true);
  });

  it.each(['ECONNRESET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_SOCKET', 'ETIMEDOUT', undefined])('cannot say so of %s, which may come after the request went', (code) => {
    expect(nothingSent(code)).toBe(false);
  });
});
