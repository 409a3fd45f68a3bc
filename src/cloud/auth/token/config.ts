// `auth: { type: token }`: what each key accepts.
import * as z from 'zod';
import { ACROSS_KEYS, httpHeaderValue, oneOf, optionalText, strict } from '../../../config/fields.ts';

export const TokenAuthSchema = strict({
  type: z.literal('token'),
  /** Sent as X-Auth-Token: one line. */
  token: optionalText(httpHeaderValue()),
  /** A file holding the token, read again when it changes. */
  tokenFile: optionalText(z.string()),
}).superRefine((config, ctx) => oneOf(config, ctx, ['token', 'tokenFile']), ACROSS_KEYS);

export type TokenAuthConfig = z.output<typeof TokenAuthSchema>;

export const TOKEN_SECRET_KEYS = ['token'] as const;
