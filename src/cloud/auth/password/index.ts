import type { AuthMethod } from '../types.ts';
import { PASSWORD_SECRET_KEYS, PasswordAuthSchema } from './config.ts';
import { createPasswordAuth } from './password.ts';

export const password = {
  schema: PasswordAuthSchema,
  secretKeys: PASSWORD_SECRET_KEYS,
  hasCatalog: true,
  create: createPasswordAuth,
} satisfies AuthMethod<typeof PasswordAuthSchema>;
