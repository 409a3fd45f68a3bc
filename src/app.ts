import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { createEcsClient, type EcsClient } from './cloud/client.ts';
import { createNotifiers } from './notify/registry.ts';
import type { Notifier } from './notify/types.ts';
import { StateStore } from './state/store.ts';
import { Outbox } from './delivery/outbox.ts';
import { WatchEngine, type WatchTarget } from './watch/engine.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';

export interface App {
  config: Config;
  client: EcsClient;
  notifiers: Map<string, Notifier>;
  store: StateStore;
  outbox: Outbox;
  engine: WatchEngine;
  metrics: Metrics;
  /** Idempotent; releases in the reverse order of creation. */
  close(): Promise<void>;
}

/** The watches of a file as the engine needs them, each with its deadline resolved. */
export function targetsOf(config: Config): WatchTarget[] {
  return config.watches.map((w) => ({
    name: w.name,
    projectId: w.projectId,
    serverId: w.serverId,
    requestId: w.requestId,
    deadlineMs: w.deadline ?? config.poll.deadline,
    notify: w.notify,
  }));
}

/** Wires the parts together; nothing polls or sends until `engine.start()` / `outbox.start()`. */
export async function createApp(config: Config, options: { logger: Logger; metrics?: Metrics; readOnlyState?: boolean }): Promise<App> {
  const { logger } = options;
  const metrics = options.metrics ?? createMetrics();
  const releases: Array<() => Promise<void>> = [];
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      for (const release of releases.reverse()) {
        await release().catch((err: unknown) => logger.error({ err }, 'error while closing'));
      }
    })();
    return closing;
  };
  try {
    const store = await StateStore.open(config.state.path, { readOnly: options.readOnlyState ?? false });
    // Released last: the final save, once engine and outbox have stopped changing the state.
    releases.push(() => store.save());
    const client = createEcsClient(config.cloud, { logger, rateLimit: config.poll.rateLimit });
    releases.push(() => client.close());
    const notifiers = createNotifiers(config.notifiers, { logger });
    releases.push(async () => {
      await Promise.all([...notifiers.values()].map((n) => n.close()));
    });
    const outbox = new Outbox({ store, notifiers, logger, metrics, policy: config.delivery });
    releases.push(() => outbox.close());
    metrics.setDeliverySource(() => outbox.counts());
    const engine = new WatchEngine({ client, store, outbox, notifiers, logger, metrics, poll: config.poll });
    releases.push(() => engine.close());
    engine.setWatches(targetsOf(config));
    return { config, client, notifiers, store, outbox, engine, metrics, close };
  } catch (err) {
    await close();
    throw err;
  }
}
