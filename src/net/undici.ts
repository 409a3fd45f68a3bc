// undici takes longer to load than the rest of a one-shot command together: `--help`, `validate`, `add`
// and `remove` never talk HTTP, so it is loaded at the first request rather than at start. Only the two
// connection pools we use are loaded, not undici's index, which also loads fetch, WebSocket, the cache
// and the mocks: 60 ms and 3 MB less for `check` (the index took 120 ms on a 2-core machine).
import type { Agent, EnvHttpProxyAgent } from 'undici';

export interface Undici {
  Agent: typeof Agent;
  EnvHttpProxyAgent: typeof EnvHttpProxyAgent;
}

let loaded: Undici | undefined;
let loading: Promise<Undici> | undefined;

/** The parts of undici we use, loaded once. */
export async function undici(): Promise<Undici> {
  // Each module's module.exports is its default export, in Node as in the bundle's chunks (which have no named exports).
  loading ??= Promise.all([import('undici/lib/dispatcher/agent.js'), import('undici/lib/dispatcher/env-http-proxy-agent.js')]).then(
    ([agent, proxy]) => (loaded = { Agent: agent.default, EnvHttpProxyAgent: proxy.default }),
  );
  return loading;
}

/** undici's parts if they are loaded already, else undefined. */
export function loadedUndici(): Undici | undefined {
  return loaded;
}
