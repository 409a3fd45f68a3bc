import type { Server } from 'node:net';

/** Listens on 127.0.0.1; a port in use is an error that names it, not an unhandled 'error' event. */
export function listenOn(server: Server, port: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(new Error(`${what}: cannot listen on 127.0.0.1:${port} (${err.code ?? err.message})`, { cause: err }));
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      resolve();
    });
  });
}
