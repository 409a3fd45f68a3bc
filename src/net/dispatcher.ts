import type { Dispatcher } from 'undici';
import { loadedUndici, undici, type Undici } from './undici.ts';

export interface HttpDispatcherOptions {
  /** Connecting, and each wait for headers and body, in milliseconds. */
  timeout: number;
  /** The certificates to trust instead of Node's defaults (see ./tls.ts); verification is never off. */
  ca?: readonly string[] | undefined;
}

/** What EnvHttpProxyAgent reads for its proxies (NO_PROXY matters only with one of them). */
const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'];

/**
 * The connection pool for outgoing HTTP: through the proxy that HTTPS_PROXY / HTTP_PROXY name, except
 * for hosts in NO_PROXY (undici's own reading of them), trusting `ca` on every TLS hop: the server's,
 * direct or through the proxy's tunnel, and an https:// proxy's own.
 */
export function createHttpDispatcher({ timeout, ca }: HttpDispatcherOptions): Dispatcher {
  const tls = ca === undefined ? {} : { ca: [...ca] };
  let agent: Dispatcher | undefined;
  // Made at the first request, which waits for undici to load (./undici.ts). Without a proxy in the
  // environment, the proxy agent would send everything to a plain Agent after parsing each request's
  // origin and reading NO_PROXY again: the Agent is used directly instead.
  const real = ({ Agent, EnvHttpProxyAgent }: Undici) => {
    if (agent !== undefined) return agent;
    const options = { connect: { timeout, ...tls }, connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout };
    agent = PROXY_VARIABLES.some((name) => process.env[name]) ? new EnvHttpProxyAgent({ ...options, requestTls: tls, proxyTls: tls }) : new Agent(options);
    return agent;
  };
  // Only what our requests (./requestText.ts) and our owners call: dispatch, close and destroy.
  const lazy = {
    dispatch: (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
      const parts = loadedUndici();
      if (parts !== undefined) return real(parts).dispatch(options, handler);
      // Making the pool can throw too (EnvHttpProxyAgent on a proxy variable that is no URL): the request
      // fails with it, as the later ones do through requestText's catch, rather than rejecting unhandled.
      undici()
        .then((loaded) => real(loaded).dispatch(options, handler))
        .catch((err: unknown) => handler.onResponseError?.(undefined as never, err as Error));
      return true;
    },
    close: async () => {
      await agent?.close();
    },
    destroy: async () => {
      await agent?.destroy();
    },
  };
  return lazy as unknown as Dispatcher;
}
