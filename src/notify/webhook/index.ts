import type { NotifierType } from '../types.ts';
import { WEBHOOK_SECRET_KEYS, WebhookConfigSchema, webhookWarnings } from './config.ts';
import { createWebhookNotifier } from './webhook.ts';

export const webhook = {
  schema: WebhookConfigSchema,
  secretKeys: WEBHOOK_SECRET_KEYS,
  create: createWebhookNotifier,
  receiver: (config) => config.url,
  warnings: webhookWarnings,
} satisfies NotifierType<typeof WebhookConfigSchema>;
