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

export function registerProcessMetrics(registry: Registry, prefix: string): void {
  // prom-client's own default for the event loop's sampling, which its collectDefaultMetrics passes.
  for (const register of Object.values(PROCESS_METRICS)) register(registry, { prefix, eventLoopMonitoringPrecision: 10 });
}
