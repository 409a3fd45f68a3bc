// undici takes longer to load than the rest of a one-shot command together: `--help`, `validate`, `add`
// and `remove` never talk HTTP, so it is loaded at the first request rather than at start. Only the
// connection pool we use is loaded, not undici's index, which also loads fetch, WebSocket, the cache and
// the mocks: 60 ms and 3 MB less for `check` (the index took 120 ms on a 2-core machine). The proxy agent
// (with SOCKS5 and HTTP CONNECT) is loaded only where the environment names a proxy.
import type { Agent, EnvHttpProxyAgent, Pool } from 'undici';

// Each module's module.exports is its default export, in Node as in the bundle's chunks (which have no
// named exports). The module system loads each once.

/** undici's Agent: a pool of connections to each origin. */
export async function agentClass(): Promise<typeof Agent> {
  return (await import('undici/lib/dispatcher/agent.js')).default;
}

/** undici's Pool: the connections to one origin (which an Agent makes for each). */
export async function poolClass(): Promise<typeof Pool> {
  return (await import('undici/lib/dispatcher/pool.js')).default;
}

/** undici's EnvHttpProxyAgent: an Agent that goes through HTTP_PROXY / HTTPS_PROXY except for NO_PROXY. */
export async function proxyAgentClass(): Promise<typeof EnvHttpProxyAgent> {
  const [agent, { default: Dispatcher }, { default: api }] = await Promise.all([
    import('undici/lib/dispatcher/env-http-proxy-agent.js'),
    import('undici/lib/dispatcher/dispatcher.js'),
    import('undici/lib/api/index.js'),
  ]);
  // The proxy agent opens an https:// origin's tunnel with the proxy client's connect(), a method that
  // undici's index puts on every dispatcher; without it each request through the proxy failed with
  // "this[kClient].connect is not a function". (Tests hid it: some of them load the index.)
  Object.assign(Dispatcher.prototype, api);
  return agent.default;
}
