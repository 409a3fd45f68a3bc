import type { AuthMethod } from '../types.ts';
import { createAkskAuth } from './aksk.ts';
import { AKSK_SECRET_KEYS, AkskAuthSchema } from './config.ts';

export const aksk = {
  schema: AkskAuthSchema,
  secretKeys: AKSK_SECRET_KEYS,
  hasCatalog: false,
  create: createAkskAuth,
} satisfies AuthMethod<typeof AkskAuthSchema>;
