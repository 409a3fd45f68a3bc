import type { Dispatcher } from 'undici';
import { PROXY_VARIABLES, inRanges, noProxyRanges, proxyVariableProblem } from './proxy.ts';
import { agentClass, poolClass, proxyAgentClass } from './undici.ts';

const MAX_HEADER_BYTES = 16 * 1024;

export interface HttpDispatcherOptions {
  /** Connecting, and each wait for headers and body, in milliseconds. */
  timeout: number;
  /** The certificates to trust instead of Node's defaults (see ./tls.ts); verification is never off. */
  ca?: readonly string[] | undefined;
  /** At most this many connections to each origin; undefined for as many as requests in flight. */
  connections?: number | undefined;
}

/**
 * The connection pool for outgoing HTTP: through the proxy that HTTPS_PROXY / HTTP_PROXY name, except
 * for hosts in NO_PROXY (undici's own reading of them, and its address ranges, which undici leaves out:
 * ./proxy.ts), trusting `ca` on every TLS hop: the server's, direct or through the proxy's tunnel, and an
 * https:// proxy's own.
 */
export function createHttpDispatcher({ timeout, ca, connections }: HttpDispatcherOptions): Dispatcher {
  const tls = ca === undefined ? {} : { ca: [...ca] };
  // An answer's headers may take up to 16 KiB, Node's default. Given here, undici does not read Node's
  // http.maxHeaderSize (which --max-http-header-size would raise), so the bundle loads no node:http for it
  // (scripts/bundleRules.ts, REWRITTEN).
  const poolOptions = { connect: { timeout, ...tls }, connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout, maxHeaderSize: MAX_HEADER_BYTES, connections };
  // Without a proxy in the environment, the proxy agent would send everything to a plain Agent after
  // parsing each request's origin and reading NO_PROXY again: the Agent is used directly instead.
  const make = async (): Promise<Dispatcher> => {
    if (!Object.values(PROXY_VARIABLES).flat().some((name) => process.env[name])) return new (await agentClass())(poolOptions);
    const problem = proxyVariableProblem();
    if (problem !== undefined) throw problem;
    const Pool = await poolClass();
    // Each pool the proxy agent makes gets the bound and the timeouts: undici gives the pool that carries
    // an http:// origin's requests to a forwarding proxy its `connect` alone, so as many connections as
    // requests in flight (a tunnel for an https:// origin is made by a pool with the Agent's options).
    const factory = (origin: string | URL, options: object) => new Pool(origin, { ...poolOptions, ...options });
    const proxied = new (await proxyAgentClass())({ ...poolOptions, factory, requestTls: tls, proxyTls: tls });
    const ranges = noProxyRanges();
    if (ranges === undefined) return proxied;
    const direct = new (await agentClass())(poolOptions);
    const both = [proxied, direct];
    return {
      dispatch: (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => (inRanges(ranges, options.origin!) ? direct : proxied).dispatch(options, handler),
      close: async () => {
        await Promise.all(both.map((d) => d.close()));
      },
      destroy: async () => {
        await Promise.all(both.map((d) => d.destroy()));
      },
    } as unknown as Dispatcher;
  };
  // Made at the first request, which waits for undici to load (./undici.ts); from then on each request
  // goes to the pool at once.
  let agent: Dispatcher | undefined;
  let making: Promise<Dispatcher> | undefined;
  const whenMade = async () => making?.catch(() => undefined);
  // Only what our requests (./requestText.ts) and our owners call: dispatch, close and destroy.
  const lazy = {
    dispatch: (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
      if (agent !== undefined) return agent.dispatch(options, handler);
      making ??= make().then((pool) => (agent = pool));
      // Making the pool can fail (EnvHttpProxyAgent on a proxy variable that is no URL): each request fails
      // with it, rather than rejecting unhandled.
      making.then((pool) => pool.dispatch(options, handler)).catch((err: unknown) => handler.onResponseError?.(undefined as never, err as Error));
      return true;
    },
    // A pool still being made is waited for, so that one made after close() cannot outlive it.
    close: async () => {
      await (await whenMade())?.close();
    },
    destroy: async () => {
      await (await whenMade())?.destroy();
    },
  };
  return lazy as unknown as Dispatcher;
}
