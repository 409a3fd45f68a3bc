// The modules of undici that src/net/undici.ts loads instead of its index; their types are those the
// index exports for them.
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const agent: typeof Agent;
  export default agent;
}

declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const pool: typeof Pool;
  export default pool;
}

declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  import type { EnvHttpProxyAgent } from 'undici';
  const envHttpProxyAgent: typeof EnvHttpProxyAgent;
  export default envHttpProxyAgent;
}

declare module 'undici/lib/dispatcher/dispatcher.js' {
  import type { Dispatcher } from 'undici';
  const dispatcher: typeof Dispatcher;
  export default dispatcher;
}

declare module 'undici/lib/api/index.js' {
  import type { connect, pipeline, request, stream, upgrade } from 'undici';
  const api: { request: typeof request; stream: typeof stream; pipeline: typeof pipeline; upgrade: typeof upgrade; connect: typeof connect };
  export default api;
}
