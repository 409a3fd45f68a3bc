// Auto-tracking against a cloud whose CONF.api.max_limit is small: from microversion 2.58 Nova answers a
// server's actions a page at a time (newest first, a `links` next link while there are more), and more new
// actions than one page holds between two passes must all become watches.
import { describe, expect, it, vi } from 'vitest';
import { PROJECT, harnessOnFakeClock, advance, quickAction } from './harness.ts';

const env = harnessOnFakeClock({ maxLimit: 2 });
const notified = () => env.h.hooks.received.map((r) => (r.body as { watch: { requestId: string } }).watch.requestId);

describe('track: listings of more than a page', () => {
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

  it('fails the listing, saying why, of a server whose page after the first links to itself again (an answer that ignored the marker), rather than read it for good', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const reboot = () => h.simulator.addAction(quickAction({ serverId, serverName: 'web-01' }));
    reboot();
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]`, poll: '  retries: 0' }));
    await advance(app, 2000);
    const burst = [reboot(), reboot(), reboot(), reboot(), reboot()];
    // Every page after the next first one answered as that was, by a cache keyed on the path alone.
    const actions = `${h.simulator.url}/v2.1/${PROJECT}/servers/${serverId}/os-instance-actions`;
    const body = JSON.stringify({
      instanceActions: [burst[4], burst[3]].map((requestId) => ({ action: 'reboot', request_id: requestId, start_time: new Date().toISOString().slice(0, 19) })),
      links: [{ rel: 'next', href: `${actions}?marker=${burst[3]}` }],
    });
    h.simulator.injectFault({ kind: 'garbage', body }, { route: 'actions', after: 1, times: 1000 });
    await advance(app, 2000);
    const said = h.logs.lines().filter((l) => l['serverId'] === serverId && l['level'] === 40);
    expect(said.map((l) => l['error'])).toEqual([
      `the page of the actions of server ${serverId} after ${burst[3]} links to itself again: something between the daemon and the cloud (a cache, a gateway) answers without the query's marker, and the pages after the first cannot be read`,
    ]);
    expect(h.simulator.requests.filter((r) => r.path.includes(`marker=${burst[3]}`)).length).toBeLessThan(10);
    expect(app.store.tracking.servers[`${PROJECT}/${serverId}`]!.lastError).toMatch(/links to itself again/);
  });

  it('fails the listing, saying why, of a project whose page of servers after the first links to itself again', async () => {
    const { h } = env;
    const servers = [1, 2, 3].map(() => {
      const serverId = crypto.randomUUID();
      h.simulator.addAction(quickAction({ serverId, serverName: 'app' }));
      vi.advanceTimersByTime(1000);
      return serverId;
    });
    // The first page holds the two newest; the second, asked after servers[1], is answered as the first was.
    const detail = `${h.simulator.url}/v2.1/${PROJECT}/servers/detail`;
    const body = JSON.stringify({
      servers: [servers[2], servers[1]].map((id) => ({ id, name: 'app', status: 'ACTIVE', updated: new Date().toISOString() })),
      servers_links: [{ rel: 'next', href: `${detail}?limit=1000&marker=${servers[1]}` }],
    });
    h.simulator.injectFault({ kind: 'garbage', body }, { route: 'servers', after: 1, times: 1000 });
    const app = await h.app(h.yaml([], { track: '  - project: all', poll: '  retries: 0' }));
    await advance(app, 1000);
    expect(app.store.tracking.projects[PROJECT]!.lastError).toBe(
      `the page of the servers of project ${PROJECT} after ${servers[1]} links to itself again: something between the daemon and the cloud (a cache, a gateway) answers without the query's marker, and the pages after the first cannot be read`,
    );
    expect(h.simulator.requests.filter((r) => r.route === 'servers').length).toBeLessThan(10);
  });
});
