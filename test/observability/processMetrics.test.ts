import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import Registry from 'prom-client/lib/registry.js';
import { createMetrics } from '../../src/observability/metrics.ts';
import { EVENT_LOOP_SAMPLE_MS, PROCESS_METRICS } from '../../src/observability/processMetrics.ts';

const namesIn = (registry: Registry) => registry.getMetricsAsArray().map((m) => m.name);

describe("Node's process metrics", () => {
  it("are prom-client's default metrics but its GC histogram, by the list prom-client keeps of them", () => {
    expect(Object.keys(PROCESS_METRICS).sort()).toEqual(collectDefaultMetrics.metricsList.filter((name) => name !== 'gc').sort());
  });

  it("export every default metric's name, with the daemon's prefix, but nodejs_gc_duration_seconds", () => {
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults, prefix: 'ecs_action_watch_' });
    const { registry } = createMetrics({ defaultMetrics: true });
    const daemon = new Set(namesIn(registry));
    const expected = namesIn(defaults).filter((name) => name !== 'ecs_action_watch_nodejs_gc_duration_seconds');
    expect(expected).toContain('ecs_action_watch_process_cpu_seconds_total');
    expect(expected.filter((name) => !daemon.has(name))).toEqual([]);
    expect(daemon.has('ecs_action_watch_nodejs_gc_duration_seconds')).toBe(false);
  });

  it("sample the event loop's delay every 100 ms, not prom-client's 10, through Node's own monitor", () => {
    // The module object prom-client requires: what it asks Node for is seen, and still done by Node.
    const perfHooks = createRequire(import.meta.url)('node:perf_hooks') as typeof import('node:perf_hooks');
    const monitor = vi.spyOn(perfHooks, 'monitorEventLoopDelay');
    try {
      createMetrics({ defaultMetrics: true });
      expect(EVENT_LOOP_SAMPLE_MS).toBe(100);
      expect(monitor.mock.calls).toEqual([[{ resolution: EVENT_LOOP_SAMPLE_MS }]]);
    } finally {
      monitor.mockRestore();
    }
  });
});
