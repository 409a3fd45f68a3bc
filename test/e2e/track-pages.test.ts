// Auto-tracking against a cloud whose CONF.api.max_limit is small: from microversion 2.58 Nova answers a
// server's actions a page at a time (newest first, a `links` next link while there are more), and more new
// actions than one page holds between two passes must all become watches.
import { describe, expect, it, vi } from 'vitest';
import { harnessOnFakeClock, advance, quickAction } from './harness.ts';

const env = harnessOnFakeClock({ maxLimit: 2 });
const notified = () => env.h.hooks.received.map((r) => (r.body as { watch: { requestId: string } }).watch.requestId);

describe('track: more new actions than a page of the listing', () => {
  it.for(['servers', 'project'])('watches every action started between two passes, the oldest ones on the pages after the first (a %s entry)', async (kind) => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const reboot = () => h.simulator.addAction(quickAction({ serverId, serverName: 'web-01' }));
    // A second apart: a first listing reads on past a page that ends in its newest second (below).
    const older = [1, 2, 3, 4, 5].map(() => {
      vi.advanceTimersByTime(1000);
      return reboot();
    });
    // Out of reach of the margins the listings keep (10 min), which read again what changed within them.
    vi.setSystemTime(Date.now() + 30 * 60_000);
    const app = await h.app(h.yaml([], { track: kind === 'servers' ? `  - servers: [${serverId}]` : '  - project: all' }));
    await advance(app, 500);
    // The first listing reads the newest page alone: what it shows is older than tracking.
    const listings = () => h.simulator.requests.filter((r) => r.route === 'actions').map((r) => r.path);
    expect(listings()).toHaveLength(1);
    await advance(app, 1500);
    const burst = [reboot(), reboot(), reboot(), reboot(), reboot()];
    await advance(app, 4000);
    expect(notified().toSorted()).toEqual(burst.toSorted());
    expect(notified()).not.toContain(older[0]);
    expect(listings().filter((path) => path.includes('marker='))).not.toEqual([]);
  });

  it.for(['servers', 'project'])('takes for older every action of the first listing\'s newest second, also those past its first page (a %s entry)', async (kind) => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const older = [1, 2, 3, 4, 5].map(() => h.simulator.addAction(quickAction({ serverId, serverName: 'web-01' })));
    vi.setSystemTime(Date.now() + 30 * 60_000);
    const app = await h.app(h.yaml([], { track: kind === 'servers' ? `  - servers: [${serverId}]` : '  - project: all' }));
    await advance(app, 2000);
    const later = h.simulator.addAction(quickAction({ serverId, serverName: 'web-01' }));
    await advance(app, 4000);
    expect(notified()).toEqual([later]);
    expect(notified()).not.toContain(older[0]);
  });
});
