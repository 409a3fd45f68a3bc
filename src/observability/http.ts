import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.ts';
import type { PrometheusMetrics } from './metrics.ts';

export interface HealthServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * /healthz asks `stuck()`, so that Kubernetes restarts a process whose poll loop no longer moves (an event
 * loop that is held up answers nothing at all); /readyz asks `ready()` so Kubernetes stops routing to a
 * process whose file is invalid or whose state cannot be written; /metrics is Prometheus text.
 */
export async function startHealthServer(options: {
  port: number;
  /** The address to listen on (http.host). */
  host: string;
  metrics: Pick<PrometheusMetrics, 'registry'>;
  ready: () => Promise<{ ok: boolean; reason?: string }>;
  /** Why the process does not work (it is to be restarted), or undefined while it does. */
  stuck: () => string | undefined;
  logger: Logger;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, 'method not allowed\n');
    if (path === '/healthz') {
      const stuck = options.stuck();
      return stuck === undefined ? answer(200, 'ok\n') : answer(503, `stuck: ${stuck}\n`);
    }
    if (path === '/readyz') {
      options.ready().then(
        (r) => answer(r.ok ? 200 : 503, r.ok ? 'ready\n' : `not ready: ${r.reason ?? 'unknown'}\n`),
        (err: unknown) => answer(503, `not ready: ${String(err)}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => answer(200, text, options.metrics.registry.contentType),
        (err: unknown) => answer(500, `metrics failed: ${String(err)}\n`),
      );
      return;
    }
    answer(404, 'not found: try /healthz, /readyz or /metrics\n');
  });
  const { host } = options;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`health server: cannot listen on ${host} port ${options.port} (${err.code ?? err.message}); ${listenAdvice(err.code)}`, { cause: err })),
    );
    // `::` as Node reads no address: IPv6 and IPv4 both (an IPv6-only cluster's kubelet probes the pod's
    // IPv6 address), and IPv4 alone where the machine has no IPv6. Given as `::`, Node would fail there.
    server.listen(options.port, host === '::' ? undefined : host, () => {
      server.removeAllListeners('error');
      // An accept that fails later (EMFILE: out of file descriptors) is an 'error' event, which would end the process.
      server.on('error', (err) => options.logger.error({ err }, 'health server: a connection could not be accepted'));
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, 'health and metrics server listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * What to do when the server cannot take its address, by the system's reason: a port below 1024 refused to a
 * daemon without the privilege (systemd's unit runs it as its own user) was told to take "a free port", which
 * it was.
 */
export function listenAdvice(code: string | undefined): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'another process holds that port: set http.port to a free port (0 turns the server off)';
    case 'EACCES':
      return "a port below 1024 needs a privilege this process lacks: set http.port to 1024 or above (the default is 9464; 0 turns the server off), or grant it CAP_NET_BIND_SERVICE (the systemd unit's CapabilityBoundingSet= and AmbientCapabilities= both empty: name it in both, and set PrivateUsers=no, under which a capability holds in the unit's own user namespace alone, not for the host's ports)";
    case 'EADDRNOTAVAIL':
      return 'http.host is no address of this machine: set it to one, or leave it out for every interface';
    default:
      return 'set http.port to a free port (0 turns the server off), or http.host to an address of this machine';
  }
}
