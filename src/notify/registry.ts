// Adding a notifier type is one folder and one entry here (its import and its place in the list):
//   1. A folder src/notify/<type>/ with
//      - config.ts: its entry in the watch file, `strict({ type: z.literal('<type>'), ..., on: outcomes() })`
//        (helpers in src/config/fields.ts; durations come out in ms), and the names of its secret keys;
//      - <type>.ts: create<Type>Notifier(name, config, deps): Notifier. `send` makes exactly one attempt and
//        resolves with the receiver's answer or throws a DeliveryError that says whether retrying can help;
//        retries, backoff and persistence are the outbox's. Take the words from ../render.ts, socket failures
//        from src/net/failure.ts, and keep secrets out of every message (src/net/redact.ts for what a
//        receiver answers, src/net/shortUrl.ts for URLs);
//      - index.ts: `{ schema, secretKeys, create, receiver } satisfies NotifierType<typeof schema>` (receiver:
//        where an entry sends), with `warnings` for what a valid entry asks for that works badly (email: plain
//        SMTP to port 465).
//   2. One entry in NOTIFIER_TYPES below. The watch file's schema, its JSON Schema (`npm run schema`), the
//      list of types in error messages and the logger's redaction follow from it.
//   3. A receiver in test/notify/conformance/<type>.ts, which the shared suite (test/notify/conformance.test.ts)
//      runs every type against; tests of its own in test/notify/; keys in watch.example.yaml and the README.
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { email } from './email/index.ts';
import type { Notifier, NotifierDeps, NotifierType, NotifierWarning } from './types.ts';
import { webhook } from './webhook/index.ts';

/** Every notifier type. */
export const NOTIFIER_TYPES = [email, webhook] as const;

type SchemasOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K] extends { schema: infer S } ? S : never };
type Schemas = SchemasOf<typeof NOTIFIER_TYPES>;

/** Each type's config schema, in registry order, as the watch file's notifier union needs them. */
export const NOTIFIER_SCHEMAS = NOTIFIER_TYPES.map((t) => t.schema) as Schemas;

/** One entry of `notifiers:` as the program receives it. */
export type NotifierConfig = z.output<Schemas[number]>;

/** The `type:` values a notifier may have. */
export const NOTIFIER_TYPE_NAMES: readonly string[] = NOTIFIER_TYPES.map((t) => t.schema.shape.type.value);

/** Keys holding secrets in any notifier's config. */
export const NOTIFIER_SECRET_KEYS: readonly string[] = [...new Set(NOTIFIER_TYPES.flatMap((t) => t.secretKeys))];

/** The registry entry of `config`'s type. */
function typeOf(config: NotifierConfig): NotifierType {
  const type = NOTIFIER_TYPES.find((t) => t.schema.shape.type.value === config.type);
  if (!type) throw new Error(`unknown notifier type '${config.type}' (allowed: ${NOTIFIER_TYPE_NAMES.join(', ')})`);
  // TypeScript cannot tie config.type to the entry `find` returned; the schema union guarantees it.
  return type as unknown as NotifierType;
}

/** Each notifier's warnings from its own type, at their paths in the watch file. */
export function notifierWarnings(configs: Record<string, NotifierConfig>): NotifierWarning[] {
  return Object.entries(configs).flatMap(([name, config]) =>
    (typeOf(config).warnings?.(config) ?? []).map((warning) => ({ path: ['notifiers', name, ...warning.path], message: warning.message })),
  );
}

function createNotifier(name: string, config: NotifierConfig, deps: NotifierDeps): Notifier {
  return typeOf(config).create(name, config, deps);
}

export function createNotifiers(configs: Record<string, NotifierConfig>, deps: NotifierDeps): Map<string, Notifier> {
  const notifiers = new Map<string, Notifier>();
  for (const [name, config] of Object.entries(configs)) {
    try {
      notifiers.set(name, createNotifier(name, config, deps));
    } catch (err) {
      // The ones already built hold connection pools.
      for (const notifier of notifiers.values()) void notifier.close();
      // eslint-disable-next-line preserve-caught-error -- a URL error carries its input, credentials included, and loggers print causes
      throw new Error(`notifier ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return notifiers;
}

/**
 * The notifiers of `next` that send elsewhere than in `previous` (another receiver, another type) or that
 * `previous` lacks: a pause the receiver before asked for (a 429, a 503 with Retry-After) is not theirs, and
 * what is owed to them is due at once, as retunedNotifiers promises.
 */
export function movedNotifiers(previous: Record<string, NotifierConfig>, next: Record<string, NotifierConfig>): Set<string> {
  const moved = ([name, config]: [string, NotifierConfig]) => {
    const before = previous[name];
    return before === undefined || before.type !== config.type || typeOf(before).receiver(before) !== typeOf(config).receiver(config);
  };
  return new Set(Object.entries(next).filter(moved).map(([name]) => name));
}

/**
 * The notifiers of `next` that a reload from `previous` changed, or brought back, or whose trusted CA it
 * changed: an edit that mends a receiver's URL or credentials is to be tried at once, not at the backoff
 * its failures built up (five minutes at delivery.maxDelay's default).
 */
export function retunedNotifiers(
  previous: { notifiers: Record<string, NotifierConfig>; cloud: { tls: unknown } },
  next: { notifiers: Record<string, NotifierConfig>; cloud: { tls: unknown } },
): Set<string> {
  const trustChanged = !isDeepStrictEqual(previous.cloud.tls, next.cloud.tls);
  return new Set(Object.keys(next.notifiers).filter((name) => trustChanged || !isDeepStrictEqual(previous.notifiers[name], next.notifiers[name])));
}
