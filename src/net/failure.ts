// Socket-level failures read the same whichever protocol ran over the socket, so webhook and email
// describe them here once. All of them are worth retrying: a refused connection or a failed DNS lookup is
// how a receiver that is restarting or briefly unreachable looks.

/** The `code` an error carries, if any: Node, undici and nodemailer all put it there. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const { code } = err;
  return typeof code === 'string' ? code : undefined;
}

// What OpenSSL says when the first bytes back are no TLS record: a plain HTTP server's answer (`HTTP/1.1 400`)
// to the TLS handshake of an https:// URL.
export const NOT_TLS = 'ERR_SSL_WRONG_VERSION_NUMBER';

const PHRASES: Record<string, (endpoint: string) => string> = {
  ECONNREFUSED: (e) => `connection refused by ${e}`,
  ECONNRESET: (e) => `connection reset by ${e}`,
  EPIPE: (e) => `connection reset by ${e}`,
  ETIMEDOUT: (e) => `connection to ${e} timed out`,
  EHOSTUNREACH: (e) => `${e} is unreachable`,
  ENETUNREACH: (e) => `${e} is unreachable (no route to the network)`,
  EHOSTDOWN: (e) => `${e} is down`,
  ENOTFOUND: (e) => `host of ${e} not found in DNS`,
  EAI_AGAIN: (e) => `DNS lookup for ${e} failed for now`,
  UND_ERR_SOCKET: (e) => `connection to ${e} closed unexpectedly`,
  // nodemailer's, for a server that closed the connection without an answer to what was waiting for one.
  ECONNECTION: (e) => `connection to ${e} closed unexpectedly`,
  [NOT_TLS]: (e) => `${e} does not answer TLS (${NOT_TLS}): a port without TLS, or the wrong port`,
};

// Node reports certificate problems with OpenSSL's names (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT,
// UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID, ...), nodemailer a failed STARTTLS as ETLS;
// the code itself is the useful detail.
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ETLS$)/;

// A certificate Node refused: OpenSSL's verification results as Node names them (node's X509ErrorCode: the
// X509_V_ERR_* names less the prefix, all but OUT_OF_MEM, and UNSPECIFIED for every result it has no name
// for, such as a CA whose key usage lacks keyCertSign or a key too small for the security level) and Node's
// own check of the host name. Not a handshake that failed or timed out (ERR_SSL_*, ERR_TLS_HANDSHAKE_TIMEOUT),
// which a connection cut in the middle also gives.
const REFUSED_CERTIFICATE = new Set([
  'UNSPECIFIED',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A socket-level failure that points at a setting rather than at a network having a bad moment: a
 * certificate refused (its CA is not trusted, it has expired, it names another host), a port that does not
 * speak TLS to an https:// URL, or a host name that DNS answers does not exist (ENOTFOUND; EAI_AGAIN is a
 * resolver that could not answer for now).
 */
export function settingFailure(code: string | undefined): 'certificate' | 'not_tls' | 'unknown_host' | undefined {
  if (code === 'ENOTFOUND') return 'unknown_host';
  if (code === NOT_TLS) return 'not_tls';
  return code !== undefined && REFUSED_CERTIFICATE.has(code) ? 'certificate' : undefined;
}

/**
 * Failures before a connection was made (DNS, a refused connect, no route to the host or its network, as a
 * route or a VPN tunnel lost gives, a connect or TLS handshake that undici gave up at its connect timeout):
 * whatever was to go over it never left. undici's connect timeout is the request's own (cloud.timeout), and
 * on a loaded machine fires before the request's timer as often as after it.
 */
const BEFORE_CONNECTING = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether the failure `code` came before anything was sent: before any connection was made, or in the TLS
 * handshake, which refused the server's certificate or found no TLS on its port before a request could go.
 */
export function nothingSent(code: string | undefined): boolean {
  return code !== undefined && (BEFORE_CONNECTING.has(code) || code === NOT_TLS || REFUSED_CERTIFICATE.has(code));
}

/** An operator's phrase for a socket-level failure, or undefined when `code` is not one. */
export function describeNetworkFailure(code: string | undefined, endpoint: string): string | undefined {
  if (code === undefined) return undefined;
  const phrase = PHRASES[code];
  if (phrase) return phrase(endpoint);
  if (REFUSED_CERTIFICATE.has(code)) return `TLS with ${endpoint} failed: its certificate is refused (${code}): ${certificateFix(code)}`;
  if (TLS_CODE.test(code)) return `TLS with ${endpoint} failed (${code})`;
  return undefined;
}

/** What to do about a certificate refused for `code`, in a receiver's words (a webhook's, an SMTP relay's). */
function certificateFix(code: string): string {
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return "the server's to renew, or this host's clock to set right";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') return 'it is for another name: write the host as the certificate names it';
  return 'name the CA that signs it in cloud.tls.caFile (a self-signed certificate is its own CA)';
}

/** A delivery's reason for a socket-level failure (describeNetworkFailure's): the connection timed out, or failed otherwise. */
export function networkReason(code: string | undefined): 'timeout' | 'connection' {
  return code === 'ETIMEDOUT' ? 'timeout' : 'connection';
}
