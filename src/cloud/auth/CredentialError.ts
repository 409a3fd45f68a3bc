/**
 * A credential that cannot be used as configured, such as a secret file that cannot be read. Not the
 * API's answer (that is an ApiError), and retrying at once cannot help.
 */
export class CredentialError extends Error {
  override name = 'CredentialError';
}

/** Said of a token with a space in it (`Bearer ` copied before it), as the watch file gives it or its file holds it. */
export const TOKEN_WITH_SPACE = 'holds a space, which no token does: write the token alone, without the scheme or header name copied before it';

/** Whether a token holds a space between its words (TOKEN_WITH_SPACE), the blanks around it not counted, wherever it is given. */
export function tokenHoldsSpace(token: string): boolean {
  return /\s/.test(token.trim());
}
