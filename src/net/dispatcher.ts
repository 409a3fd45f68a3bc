import { EnvHttpProxyAgent, type Dispatcher } from 'undici';

export interface HttpDispatcherOptions {
  /** Connecting, and each wait for headers and body, in milliseconds. */
  timeout: number;
  /** The certificates to trust instead of Node's defaults (see ./tls.ts); verification is never off. */
  ca?: readonly string[] | undefined;
}

/**
 * The connection pool for outgoing HTTP: through the proxy that HTTPS_PROXY / HTTP_PROXY name, except
 * for hosts in NO_PROXY (undici's own reading of them), trusting `ca` on every TLS hop: the server's,
 * direct or through the proxy's tunnel, and an https:// proxy's own.
 */
export function createHttpDispatcher({ timeout, ca }: HttpDispatcherOptions): Dispatcher {
  const tls = ca === undefined ? {} : { ca: [...ca] };
  return new EnvHttpProxyAgent({
    connect: { timeout, ...tls },
    connectTimeout: timeout,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    requestTls: tls,
    proxyTls: tls,
  });
}
