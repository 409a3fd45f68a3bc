// `auth: { type: none }`: for endpoints that need no credentials, such as a local simulator or a proxy
// that adds them.
import * as z from 'zod';
import { strict } from '../../../config/fields.ts';
import type { AuthMethod } from '../types.ts';

const schema = strict({ type: z.literal('none') });

export const none = {
  schema,
  secretKeys: [],
  hasCatalog: false,
  create: () => ({ headers: () => Promise.resolve({}) }),
} satisfies AuthMethod<typeof schema>;
