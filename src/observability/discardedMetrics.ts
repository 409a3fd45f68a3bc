import type { Metrics } from './metrics.ts';

const nothing = () => undefined;
const counter = { inc: nothing };
const timer = { startTimer: () => () => 0 };
const gauge = { set: nothing };

/**
 * Metrics that record nothing, for the one-shot commands that run the daemon's parts (`check`, `wait`)
 * and serve no /metrics: they cost no prom-client, which takes longer to load than the rest of `check`.
 */
export function discardedMetrics(): Metrics {
  return {
    recordPoll: nothing,
    pollErrors: counter,
    verdicts: counter,
    watches: gauge,
    trackedServers: gauge,
    discovered: counter,
    notifications: counter,
    hostClockSteps: counter,
    deliveryDuration: timer,
    setDeliverySource: nothing,
    setCloudClockSource: nothing,
    setStuckSource: nothing,
    setStateUnsavedSource: nothing,
    recordStateWrite: nothing,
    recordStateSaveFailure: nothing,
    recordStateCompactionFailure: nothing,
    recordConfigLoad: nothing,
    recordFailingSince: nothing,
  };
}
