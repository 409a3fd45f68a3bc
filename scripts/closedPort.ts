import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * Below the ports the system hands out for `listen(0)` (Linux from 32768, macOS and Windows from 49152): a
 * port set free there is not taken by another test's server meanwhile, whose answer (a simulator's 401, a
 * receiver's 204) would stand in for "down".
 */
const UNHANDED = { from: 20_000, to: 32_767 };

/** A loopback port nothing listens on, and no server of the run will be given (a receiver that is down). */
export async function closedPort(): Promise<number> {
  for (;;) {
    const port = UNHANDED.from + Math.floor(Math.random() * (UNHANDED.to - UNHANDED.from + 1));
    const probe = createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) continue;
    probe.close();
    await once(probe, 'close');
    return port;
  }
}
