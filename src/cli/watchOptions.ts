// A watch given on the command line (`add`, `wait`), checked as the watch file's schema checks an entry,
// before anything is read or written: a bad value is a usage error naming the option it came from, not a
// problem at a line of a file that was never written. Apart from ./options.ts, which the command registry
// loads for `--help`: this one loads zod and the schema.
import type { z } from 'zod';
import { configErrorMap } from '../config/messages.ts';
import { WatchSchema } from '../config/schema.ts';
import { UsageError } from './context.ts';

/** The option each field of a watch comes from, as `add` names them. */
export const OPTION_OF: Readonly<Record<string, string>> = {
  requestId: '--request', serverId: '--server', jobId: '--job', projectId: '--project', deadline: '--deadline', name: '--name', notify: '--notify',
};

/** `watch` as the schema reads it; `renamed` names a field's option where a command calls it otherwise (wait's `--timeout`). */
export function parsedWatchOptions(watch: object, renamed: Readonly<Record<string, string>> = {}): z.output<typeof WatchSchema> {
  const parsed = WatchSchema.safeParse(watch, { error: configErrorMap });
  if (parsed.success) return parsed.data;
  const optionOf = (field: string) => renamed[field] ?? OPTION_OF[field] ?? field;
  throw new UsageError(parsed.error.issues.map((i) => `${optionOf(String(i.path[0]))}: ${i.message}`).join('; '));
}
