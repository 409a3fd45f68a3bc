import { describe, expect, it } from 'vitest';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import Registry from 'prom-client/lib/registry.js';
import { createMetrics } from '../../src/observability/metrics.ts';
import { PROCESS_METRICS } from '../../src/observability/processMetrics.ts';

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
});
