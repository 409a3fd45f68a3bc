// `auth: { type: token }`: what each key accepts.
import * as z from 'zod';
import { ACROSS_KEYS, httpHeaderValue, oneOf, optionalText, strict } from '../../../config/fields.ts';
import { TOKEN_WITH_SPACE, tokenHoldsSpace } from '../CredentialError.ts';

export const TokenAuthSchema = strict({
  type: z.literal('token'),
  /** Sent as X-Auth-Token: one line, one word (Keystone's and IAM's tokens are base64). Not quoted back. */
  token: optionalText(
    // A line break is said on its own. The message names no word a token may have been copied with: it
    // would be a word of the value, which is not quoted back.
    httpHeaderValue().refine((token) => /[\r\n]/.test(token) || !tokenHoldsSpace(token), {
      message: TOKEN_WITH_SPACE,
    }),
  ),
  /** A file holding the token, read again when it changes. */
  tokenFile: optionalText(z.string()),
}).superRefine((config, ctx) => oneOf(config, ctx, ['token', 'tokenFile']), ACROSS_KEYS);

export type TokenAuthConfig = z.output<typeof TokenAuthSchema>;

export const TOKEN_SECRET_KEYS = ['token'] as const;
