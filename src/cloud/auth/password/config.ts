// `auth: { type: password }`: a Keystone v3 (OpenStack) or Huawei Cloud / Open Telekom Cloud IAM user.
import * as z from 'zod';
import { ACROSS_KEYS, httpUrl, oneLineSecret, oneOf, optionalText, projectId, strict } from '../../../config/fields.ts';

const text = () => optionalText(z.string());

// A clouds.yaml's (and openstacksdk's) name of each key, as a file copied from one or from an openrc has it.
const CLOUDS_YAML_NAMES: Record<string, string> = {
  auth_url: 'identityEndpoint',
  username: 'user',
  user_id: 'userId',
  user_domain_name: 'domain',
  user_domain_id: 'domainId',
  domain_name: 'domain',
  domain_id: 'domainId',
  project_id: 'projectId',
  project_name: 'projectName',
  project_domain_name: 'projectDomain',
  project_domain_id: 'projectDomainId',
};
const CLOUDS_YAML_KEYS = Object.fromEntries(
  Object.entries(CLOUDS_YAML_NAMES).map(([name, key]) => [name, `${name} is clouds.yaml's name: write ${key} (or name a clouds.yaml profile with cloud.cloud)`]),
);

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
}, CLOUDS_YAML_KEYS).superRefine((config, ctx) => {
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
