// `auth: { type: password }`: a Keystone v3 (OpenStack) or Huawei Cloud / Open Telekom Cloud IAM user.
import * as z from 'zod';
import { ACROSS_KEYS, httpUrl, oneLineSecret, oneOf, optionalText, projectId, strict } from '../../../config/fields.ts';

const text = () => optionalText(z.string());

export const PasswordAuthSchema = strict({
  type: z.literal('password'),
  /** Keystone's base URL; `/v3` is added when it does not end with it. */
  identityEndpoint: httpUrl('https://iam.eu-de.otc.t-systems.com/v3', { bare: true }),
  /** The user's name (with its domain) or its id. */
  user: text(),
  userId: text(),
  password: optionalText(oneLineSecret('passwordFile')),
  passwordFile: text(),
  /** The user's domain, by name (Huawei Cloud / OTC: the account name) or by id. */
  domain: text(),
  domainId: text(),
  /**
   * The project the token is scoped to, by id or by name (Huawei Cloud / OTC: the region, e.g. eu-de). An
   * id checked as the watches' are: with a space copied along, the identity service's refusal would be
   * told as the password's.
   */
  projectId: optionalText(projectId()),
  projectName: text(),
  /** The domain of a project named by name; default: the user's domain. */
  projectDomain: text(),
  projectDomainId: text(),
}).superRefine((config, ctx) => {
  oneOf(config, ctx, ['user', 'userId']);
  oneOf(config, ctx, ['password', 'passwordFile']);
  oneOf(config, ctx, ['projectId', 'projectName']);
  oneOf(config, ctx, ['domain', 'domainId'], config.user !== undefined);
  oneOf(config, ctx, ['projectDomain', 'projectDomainId'], false);
  const projectDomainKnown = [config.projectDomain, config.projectDomainId, config.domain, config.domainId].some((v) => v !== undefined);
  if (config.projectName !== undefined && !projectDomainKnown) {
    ctx.addIssue({
      code: 'custom',
      path: ['projectDomain'],
      input: undefined,
      message: 'required with projectName: projectDomain (or projectDomainId), the domain the project belongs to',
    });
  }
}, ACROSS_KEYS);

export type PasswordAuthConfig = z.output<typeof PasswordAuthSchema>;

export const PASSWORD_SECRET_KEYS = ['password'] as const;
