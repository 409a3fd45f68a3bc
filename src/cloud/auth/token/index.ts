import type { AuthMethod } from '../types.ts';
import { TOKEN_SECRET_KEYS, TokenAuthSchema } from './config.ts';
import { createTokenAuth } from './token.ts';

export const token = {
  schema: TokenAuthSchema,
  secretKeys: TOKEN_SECRET_KEYS,
  hasCatalog: false,
  create: createTokenAuth,
} satisfies AuthMethod<typeof TokenAuthSchema>;
