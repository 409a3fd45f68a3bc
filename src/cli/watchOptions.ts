// A watch given on the command line (`add`, `wait`), checked as the watch file's schema checks an entry,
// before anything is read or written: a bad value is a usage error naming the option it came from, not a
// problem at a line of a file that was never written. Apart from ./options.ts, which the command registry
// loads for `--help`: this one loads zod and the schema.
import type { z } from 'zod';
import { configErrorMap } from '../config/messages.ts';
import { WatchSchema } from '../config/schema.ts';
import { UsageError } from './context.ts';

/** `watch` as the schema reads it; `optionOf` names the option each field came from (`deadline` → `--timeout`). */
export function parsedWatchOptions(watch: object, optionOf: Readonly<Record<string, string>>): z.output<typeof WatchSchema> {
  const parsed = WatchSchema.safeParse(watch, { error: configErrorMap });
  if (parsed.success) return parsed.data;
  throw new UsageError(parsed.error.issues.map((i) => `${optionOf[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
}
