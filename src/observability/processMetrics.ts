// Node's process metrics: prom-client's default metrics, each from its own module, all but its GC histogram
// (nodejs_gc_duration_seconds). That one observes every collection through a PerformanceObserver, and Node
// builds an entry for each, with deprecated getters made anew: 150-200 µs of CPU a collection (a loop
// allocating 4 MB between scavenges, 1,000 scavenges, with and without an observer), and the daemon
// scavenges every 200-250 polls at 10,000 watches: a median of 1.8 µs a poll in 7 interleaved pairs of
// daemon runs (docs/performance.md, A poll).
// prom-client's list, less `gc`, is checked against this one in test/observability/processMetrics.test.ts,
// so that a release adding a default metric is not left out unseen.
import eventLoopLag from 'prom-client/lib/metrics/eventLoopLag.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';
import type Registry from 'prom-client/lib/registry.js';

/** By the names prom-client's defaultMetrics.js gives them (its `metricsList`). */
export const PROCESS_METRICS = {
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
};

/**
 * How often the event loop's delay is sampled (for the nodejs_eventloop_lag_* metrics), in milliseconds.
 * prom-client's default of 10 ms wakes the process 100 times a second: about 10 ms of CPU a second, measured
 * on an idle daemon of one watch (16-19 ms a second in all against 7-9 ms at 100; its threads' ticks in
 * /proc/<pid>/task), and at 1,000 watches polled each second about 9 of a poll's 65-75 us (docs/performance.md,
 * A poll). A stall of 100 ms or more still delays a sample; a shorter one is caught in proportion to its length.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

export function registerProcessMetrics(registry: Registry, prefix: string): void {
  for (const register of Object.values(PROCESS_METRICS)) register(registry, { prefix, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
}
