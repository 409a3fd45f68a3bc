import type { OptionSpec } from './context.ts';

/** The options that name one action, worded the same wherever they appear. */
export const ACTION_OPTIONS = {
  server: { type: 'string', value: 'ID', description: 'the server the action belongs to' },
  request: { type: 'string', value: 'ID', description: 'the request id of the action (x-openstack-request-id of the call that started it)' },
} satisfies Record<string, OptionSpec>;
