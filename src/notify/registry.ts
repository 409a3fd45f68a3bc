// Adding a notifier type:
//   1. A folder src/notify/<type>/ exporting create<Type>Notifier(name, config, deps): Notifier. `send` makes
//      exactly one attempt and throws a DeliveryError that says whether retrying can help; retries, backoff
//      and persistence are the dispatcher's. Take the words from render.ts, socket failures from src/net/failure.ts,
//      and keep secrets out of every message.
//   2. Its config schema in src/config/schema.ts: `type: '<type>'`, `on`, durations already in ms.
//   3. One line in NOTIFIER_FACTORIES below.
//   4. Tests in test/notify/ against a real receiver on 127.0.0.1.
import type { NotifierConfig } from '../config/schema.ts';
import { createEmailNotifier } from './email/email.ts';
import type { Notifier, NotifierDeps } from './types.ts';
import { createWebhookNotifier } from './webhook/webhook.ts';

type NotifierFactory<C> = (name: string, config: C, deps: NotifierDeps) => Notifier;

/** Every notifier type, by the `type` of its config. */
export const NOTIFIER_FACTORIES: { [T in NotifierConfig['type']]: NotifierFactory<Extract<NotifierConfig, { type: T }>> } = {
  email: createEmailNotifier,
  webhook: createWebhookNotifier,
};

function createNotifier(name: string, config: NotifierConfig, deps: NotifierDeps): Notifier {
  // TypeScript cannot tie config.type to the factory's parameter across a union; the mapped type above does.
  const factory = NOTIFIER_FACTORIES[config.type] as NotifierFactory<NotifierConfig>;
  return factory(name, config, deps);
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
