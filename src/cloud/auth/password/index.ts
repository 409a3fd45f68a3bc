import type { AuthMethod } from '../types.ts';
import { PASSWORD_SECRET_KEYS, PasswordAuthSchema } from './config.ts';
import { createPasswordAuth } from './password.ts';
import { passwordWarnings } from './warnings.ts';

export const password = {
  schema: PasswordAuthSchema,
  secretKeys: PASSWORD_SECRET_KEYS,
  hasCatalog: true,
  create: createPasswordAuth,
  warnings: passwordWarnings,
} satisfies AuthMethod<typeof PasswordAuthSchema>;
