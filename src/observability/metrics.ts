import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 'ecs_action_watch_';

/** One registry per process object (not prom-client's global), so tests and embedders stay isolated. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  return {
    registry,
    polls: new Counter({
      name: `${PREFIX}polls_total`,
      help: 'Polls of an instance action, by result (pending, finished, not_found, error)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    pollDuration: new Histogram({
      name: `${PREFIX}poll_duration_seconds`,
      help: 'Duration of one poll of a watch, retries included',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    verdicts: new Counter({
      name: `${PREFIX}verdicts_total`,
      help: 'Watches that reached an outcome, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: `${PREFIX}notifications_total`,
      help: 'Notification attempts by notifier and result (delivered, retry, given_up)',
      labelNames: ['notifier', 'result'] as const,
      registers: [registry],
    }),
    watches: new Gauge({
      name: `${PREFIX}watches`,
      help: 'Watches in the file, by state (pending, done)',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    configLoads: new Counter({
      name: `${PREFIX}config_loads_total`,
      help: 'Loads of the watch file, by result (ok, invalid)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
