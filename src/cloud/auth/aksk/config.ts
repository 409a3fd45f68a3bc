// `auth: { type: aksk }`: a Huawei Cloud / Open Telekom Cloud access key pair, permanent or temporary.
import * as z from 'zod';
import { ACROSS_KEYS, httpHeaderValue, oneLineSecret, oneOf, optionalText, strict } from '../../../config/fields.ts';

const text = () => optionalText(z.string());

export const AkskAuthSchema = strict({
  type: z.literal('aksk'),
  // The access key and the security token are sent in headers: one line each.
  accessKey: optionalText(httpHeaderValue()),
  accessKeyFile: text(),
  secretKey: optionalText(oneLineSecret('secretKeyFile')),
  secretKeyFile: text(),
  /** Temporary credentials (from IAM's securitytokens API or an agency) come with this token. */
  securityToken: optionalText(httpHeaderValue()),
  securityTokenFile: text(),
}).superRefine((config, ctx) => {
  oneOf(config, ctx, ['accessKey', 'accessKeyFile']);
  oneOf(config, ctx, ['secretKey', 'secretKeyFile']);
  oneOf(config, ctx, ['securityToken', 'securityTokenFile'], false);
}, ACROSS_KEYS);

export type AkskAuthConfig = z.output<typeof AkskAuthSchema>;

export const AKSK_SECRET_KEYS = ['secretKey', 'securityToken'] as const;
