/**
 * A credential that cannot be used as configured, such as a secret file that cannot be read. Not the
 * API's answer (that is an ApiError), and retrying at once cannot help.
 */
export class CredentialError extends Error {
  override name = 'CredentialError';
}
