// The modules of prom-client that ./metrics.ts loads instead of its index; each default export is what the
// index exports under that name (its class, with its type, or its function). prom-client 15 has no
// `exports` map: a release that adds one without these paths fails every test that loads ./metrics.ts.
declare module 'prom-client/lib/counter.js' {
  import { Counter } from 'prom-client';
  export default Counter;
}

declare module 'prom-client/lib/gauge.js' {
  import { Gauge } from 'prom-client';
  export default Gauge;
}

declare module 'prom-client/lib/histogram.js' {
  import { Histogram } from 'prom-client';
  export default Histogram;
}

declare module 'prom-client/lib/registry.js' {
  import { Registry } from 'prom-client';
  export default Registry;
}

// Not loaded by the daemon (./processMetrics.ts registers its metrics one by one); its test compares the two.
declare module 'prom-client/lib/defaultMetrics.js' {
  import { collectDefaultMetrics } from 'prom-client';
  export default collectDefaultMetrics;
}

// Each default metric's module: registers its metrics with the registry given.
declare module 'prom-client/lib/metrics/*.js' {
  import type { Registry } from 'prom-client';
  const register: (registry: Registry, config: { prefix?: string; eventLoopMonitoringPrecision?: number }) => void;
  export default register;
}
