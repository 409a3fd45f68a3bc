import type { NotifierType } from '../types.ts';
import { EMAIL_SECRET_KEYS, EmailConfigSchema, emailWarnings } from './config.ts';
import { createEmailNotifier } from './email.ts';

export const email = {
  schema: EmailConfigSchema,
  secretKeys: EMAIL_SECRET_KEYS,
  create: createEmailNotifier,
  receiver: (config) => `${config.smtp.host}:${config.smtp.port}`,
  warnings: emailWarnings,
} satisfies NotifierType<typeof EmailConfigSchema>;
