// Auto-tracking (`track:`) in process against the simulator, on a fake clock: which actions become
// watches, when, under which name, notified once, across an app restart; deleted servers; project: all,
// with servers created and deleted between its passes.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { watchKey } from '../../src/state/store.ts';
import { Capture, PROJECT, advance, harnessOnFakeClock, quickAction } from './harness.ts';

/** How far the cloud's clock is set behind the shared fake one: a Nova host whose clock is behind. */
let cloudBehindMs = 0;
const env = harnessOnFakeClock({ now: () => Date.now() - cloudBehindMs });
beforeEach(() => {
  cloudBehindMs = 0;
});
const reboot = (serverId: string, serverName: string, extra = {}) =>
  quickAction({ serverId, serverName, steps: [{ event: 'compute_reboot_instance', durationMs: 300, taskState: 'rebooting' }], ...extra });

const notified = () => env.h.hooks.received.map((r) => r.body as { outcome: string; watch: { name: string; requestId: string } });
const discoveredKeys = (app: App) => app.store.entries().filter(([, r]) => 'discovered' in r && r.discovered).map(([key]) => key);

/**
 * A server whose one action is `hoursOld` old when tracking begins (what tracking began at is not in
 * question), on fake Date and performance: the client measures the cloud's clock on the monotonic one, once
 * a minute. Its id, that action's request id, and a watch file that tracks it at `microversion`.
 */
function trackedLater(microversion: string, hoursOld: number) {
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  const { h } = env;
  const serverId = crypto.randomUUID();
  const before = h.simulator.addAction(reboot(serverId, 'web-01'));
  vi.setSystemTime(Date.now() + hoursOld * 60 * 60_000);
  return { h, serverId, before, yaml: h.yaml([], { track: `  - servers: [${serverId}]`, cloud: `  microversion: "${microversion}"` }) };
}

/** Reboots of the server, one after each of `gaps` hours, each seen by a pass of `app`: their request ids. */
async function rebootsApart(app: App, serverId: string, gaps: readonly number[]): Promise<string[]> {
  const handled: string[] = [];
  for (const hours of gaps) {
    vi.setSystemTime(Date.now() + hours * 60 * 60_000);
    handled.push(env.h.simulator.addAction(reboot(serverId, 'web-01')));
    await advance(app, 5000);
  }
  return handled;
}

describe('track: servers', () => {
  it('watches each action started after tracking began, within one pass, once, also after a restart', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const before = h.simulator.addAction(reboot(serverId, 'web-01'));
    const yaml = h.yaml([], { track: `  - servers: [${serverId}]\n    notify: [chat]` });
    const first = await h.app(yaml);
    await advance(first, 2000);
    expect(discoveredKeys(first)).toEqual([]);

    // One pass after the action starts, its watch exists, named after the action and the server.
    const resize = h.simulator.addAction({ ...reboot(serverId, 'web-01'), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 2000 }] });
    await advance(first, 500);
    const key = watchKey({ projectId: PROJECT, serverId, requestId: resize });
    expect(discoveredKeys(first)).toEqual([key]);
    expect(first.store.get(key)).toMatchObject({ name: 'resize web-01', discovered: { notify: ['chat'] } });
    await advance(first, 4000);
    await first.close();

    const second = await h.app(yaml);
    const later = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(second, 4000);
    expect(notified().map((n) => `${n.watch.name} ${n.watch.requestId} ${n.outcome}`)).toEqual([
      `resize web-01 ${resize} success`, `reboot web-01 ${later} success`,
    ]);
    expect(notified().some((n) => n.watch.requestId === before)).toBe(false);
    expect(h.mail.received).toHaveLength(0);
    // check shows them, from the state file, and which servers are tracked.
    await second.close();
    const path = await h.writeConfig(yaml);
    const check = await h.cli(['check', '--json', '--config', path]);
    expect((JSON.parse(check.stdout) as Array<{ name: string; origin: string; state: string }>).map((w) => `${w.name} ${w.origin} ${w.state}`)).toEqual([
      'resize web-01 track success', 'reboot web-01 track success',
    ]);
    const table = (await h.cli(['check', '--config', path])).stdout;
    expect(table).toMatch(new RegExp(String.raw`^TRACKED +NAME +FOR +STATE +LAST ERROR\n${serverId} +web-01 +\d+s +tracking +-$`, 'm'));
    // From 2.58 each pass after the first asks only for what changed.
    const listings = h.simulator.requests.filter((r) => r.route === 'actions').map((r) => r.path);
    expect(listings[0]).not.toContain('changes-since');
    expect(listings.at(-1)).toMatch(/\?changes-since=2026-|\?changes-since=\d{4}-/);
  });

  it('tells a watch it started to the notifiers its entry names now: one renamed while the action ran is told under its new name', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    const chat = (name: string) => `  ${name}:\n    type: webhook\n    url: ${h.hooks.url}`;
    const yaml = (name: string) => h.yaml([], { track: `  - servers: [${serverId}]\n    notify: [${name}]`, notifiers: chat(name) });
    const first = await h.app(yaml('chat'));
    await advance(first, 1000);
    const resize = h.simulator.addAction({ ...reboot(serverId, 'web-01'), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 3000 }] });
    await advance(first, 500);
    expect(first.store.get(watchKey({ projectId: PROJECT, serverId, requestId: resize }))).toMatchObject({ discovered: { notify: ['chat'] } });
    await first.close();
    // The notifier renamed (a restart, or a reload that rebuilds the parts), the entry with it.
    const renamed = await h.app(yaml('slack'));
    await advance(renamed, 4000);
    expect(notified().map((n) => `${n.watch.name} ${n.outcome}`)).toEqual(['resize web-01 success']);
    expect(renamed.store.get(watchKey({ projectId: PROJECT, serverId, requestId: resize }))!.deliveries).toMatchObject({ slack: { status: 'delivered' } });
  });

  it('says of a listing the cloud\'s policy refuses that the policy does, not to check credentials every other read takes', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'actions', times: 1000 });
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]`, poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    await advance(app, 1000);
    const said = h.logs.lines().find((l) => String(l['msg']).startsWith('poll failed'))!;
    expect(said).toMatchObject({ level: 40, msg: "poll failed (the cloud's policy refuses this route to these credentials: ask its operator for the role that allows it)" });
  });

  // The table of the tracked servers kept a listing's error whole: a URL and the cloud's words wrapped over
  // three lines of a terminal, under a table whose own errors are cut to the line.
  it('cuts the error of a tracked server\'s listing to the line in check on a terminal, as the other tables\' errors', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'actions', times: 1000 });
    const yaml = h.yaml([], { track: `  - servers: [${serverId}]`, poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const app = await h.app(yaml);
    await advance(app, 1000);
    await app.close();
    const stdout = Object.assign(new Capture(), { isTTY: true, columns: 100 });
    await h.cli(['check', '--config', await h.writeConfig(yaml)], { stdout, env: { NO_COLOR: '1' } });
    const row = stdout.text.split('\n').find((line) => line.startsWith(serverId))!;
    expect(row).toMatch(/ starting +GET http:\/\/\S+…$/);
    expect(row.length).toBeLessThanOrEqual(100);
  });

  // Named after its action and its server, each reboot of one server was a row `reboot web-01` like the
  // others, in the table and in NOT DELIVERED alike: 79 of them in a review, which only --json told apart.
  it('tells apart in check the watches it started of one server\'s actions alike, by their request ids, in the table and in NOT DELIVERED', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    // The simulator, which asks for its token: an answer that will not change (401), given up at once.
    const notifiers = `  gone:\n    type: webhook\n    url: ${h.simulator.url}/no-such-receiver`;
    const yaml = h.yaml([], { track: `  - servers: [${serverId}]\n    notify: [gone]`, notifiers });
    const app = await h.app(yaml);
    await advance(app, 1000);
    const reboots = [h.simulator.addAction(reboot(serverId, 'web-01')), h.simulator.addAction(reboot(serverId, 'web-01'))];
    h.simulator.addAction({ ...reboot(serverId, 'web-01'), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 300 }] });
    await advance(app, 4000);
    await app.close();

    const stdout = Object.assign(new Capture(), { isTTY: true, columns: 160 });
    await h.cli(['check', '--config', await h.writeConfig(yaml)], { stdout, env: { NO_COLOR: '1' } });
    const [table, undelivered] = stdout.text.trimEnd().split('\n\n');
    expect(table!.split('\n').slice(1).map((row) => row.split(/ {2,}/)[0]).sort()).toEqual([...reboots.map((id) => `reboot web-01 (${id})`), 'resize web-01'].sort());
    expect(undelivered!.split('\n').slice(1).map((row) => row.split(/ {2,}/).slice(0, 3).join(' | ')).sort()).toEqual(
      [...reboots.map((id) => `reboot web-01 (${id}) | gone | given up`), 'resize web-01 | gone | given up'].sort(),
    );
    // The ids widen NAME: LAST ERROR is cut to the terminal's line all the same.
    expect(stdout.text.split('\n').filter((line) => line.length > 160)).toEqual([]);
    // --json is as it was: each its own name, and its request id.
    const json = JSON.parse((await h.cli(['check', '--json', '--config', await h.writeConfig(yaml)])).stdout) as Array<{ name: string; requestId: string }>;
    expect(json.filter((w) => reboots.includes(w.requestId)).map((w) => w.name)).toEqual(['reboot web-01', 'reboot web-01']);
  });

  it('watches an action started while the first listings of the server failed: tracking began when it was asked for', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const before = h.simulator.addAction(reboot(serverId, 'web-01'));
    // More than the minute the clocks may be apart before the first listing, as for a project's (below).
    vi.advanceTimersByTime(90_000);
    h.simulator.injectFault({ kind: 'server-error' }, { route: 'actions', times: 5 });
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]`, poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    await advance(app, 1000);
    const during = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(app, 8000);
    expect(app.store.tracking.servers[`${PROJECT}/${serverId}`]!.since).not.toBeNull();
    expect(notified().map((n) => n.watch.requestId)).toEqual([during]);
    expect(notified().some((n) => n.watch.requestId === before)).toBe(false);
  });

  it('says at warn of a watch it started whose notifiers are all gone, with its entry, when it ends: nobody was told', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    const first = await h.app(h.yaml([], { track: `  - servers: [${serverId}]\n    notify: [chat]` }));
    await advance(first, 1000);
    h.simulator.addAction({ ...reboot(serverId, 'web-01'), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 3000 }] });
    await advance(first, 500);
    await first.close();
    // Neither the entry nor chat is in the file any more: its one notifier is pager.
    const renamed = await h.app(h.yaml([], { notifiers: `  pager:\n    type: webhook\n    url: ${h.hooks.url}` }));
    await advance(renamed, 4000);
    expect(notified()).toEqual([]);
    expect(h.logs.lines().filter((l) => l['level'] === 40 && String(l['msg']).startsWith('watch finished, and none of the notifiers')).map((l) => l['notify'])).toEqual([['chat']]);
  });

  it('names the watches it starts after the server\'s name as it is when the action is found, not when tracking began', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]` }));
    await advance(app, 1000);
    const serversRead = () => h.simulator.requests.filter((r) => r.route === 'server').length;
    const before = serversRead();
    await advance(app, 3000);
    // Nothing new: the server is not read again.
    expect(serversRead()).toBe(before);
    h.simulator.addAction(reboot(serverId, 'web-01-renamed'));
    await advance(app, 3000);
    expect(notified().map((n) => n.watch.name)).toEqual(['reboot web-01-renamed']);
  });

  it('forgets the servers when the file tracks none any more: tracked again, tracking begins afresh, the gap\'s actions unwatched', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    const tracked = h.yaml([], { track: `  - servers: [${serverId}]` });
    const first = await h.app(tracked);
    await advance(first, 1000);
    await first.close();

    const none = await h.app(h.yaml([]));
    await advance(none, 1000);
    expect(none.store.isTracking()).toBe(false);
    await none.close();

    const gap = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(await h.app(tracked), 3000);
    expect(notified().some((n) => n.watch.requestId === gap)).toBe(false);
  });

  it('says at warn of a server id that was never found, and check shows it so', async () => {
    const { h } = env;
    const typo = crypto.randomUUID();
    const yaml = h.yaml([], { track: `  - servers: [${typo}]` });
    const app = await h.app(yaml);
    const warned = () => h.logs.lines().filter((l) => l['serverId'] === typo && l['level'] === 40).map((l) => l['msg']);
    // A 404 at each pass of ten seconds is not yet a server gone: that takes 20 s of them.
    await advance(app, 10_000, 1000);
    expect(warned()).toEqual([]);
    await advance(app, 15_000, 5000);
    await app.close();
    expect(warned()).toEqual([
      'the server was never found (the API answers 404 for it); tracking it ended: check the id in track[].servers and its projectId',
    ]);
    const path = await h.writeConfig(yaml);
    expect((await h.cli(['check', '--config', path])).stdout).toMatch(new RegExp(`^${typo} +- +not yet +ended \\(never found\\)`, 'm'));
  });

  /**
   * A daemon tracking a new server, past its first pass, and a resize of `stepMs` started on the server then;
   * `list(entry)`: the watch file listing that resize as well, applied as a reload applies it.
   */
  async function trackingAResize(stepMs: number) {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const track = `  - servers: [${serverId}]`;
    h.simulator.addAction(reboot(serverId, 'web-01'));
    const app = await h.app(h.yaml([], { track }));
    await advance(app, 1000);
    const requestId = h.simulator.addAction({ ...reboot(serverId, 'web-01'), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: stepMs }] });
    const list = (entry: { name?: string; extra?: string }) => {
      const yaml = h.yaml([{ requestId, serverId, ...entry }], { track });
      app.engine.setWatches(targetsOf(parseConfig(yaml, { env: h.env })));
      return yaml;
    };
    return { h, app, list };
  }

  it('leaves alone a watch the file has already when it finds its action, and notifies it once, by the file\'s name', async () => {
    const { app, list } = await trackingAResize(2000);
    // Added to the file (`add`) as soon as it started, before a pass of the tracker has seen it.
    list({ name: 'resize web-01 by hand' });
    await advance(app, 5000);
    expect(notified().map((n) => `${n.watch.name} ${n.outcome}`)).toEqual(['resize web-01 by hand success']);
  });

  it('gives the watches it starts the deadline of their entry', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]\n    deadline: 5s` }));
    await advance(app, 1000);
    const stuck = h.simulator.addAction(reboot(serverId, 'web-01', { neverFinishes: true }));
    await advance(app, 8000);
    expect(notified().map((n) => `${n.watch.name} ${n.watch.requestId} ${n.outcome}`)).toEqual([`reboot web-01 ${stuck} timeout`]);
  });

  it('counts the deadline of a watch it starts from the action\'s start: one begun while the daemon was stopped for hours times out at once', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'web-01'));
    const yaml = h.yaml([], { track: `  - servers: [${serverId}]\n    deadline: 10m` });
    const first = await h.app(yaml);
    await advance(first, 1000);
    await first.close();
    const stuck = h.simulator.addAction(reboot(serverId, 'web-01', { neverFinishes: true }));
    vi.setSystemTime(Date.now() + 3 * 3_600_000);
    await advance(await h.app(yaml), 1000);
    expect(notified().map((n) => `${n.watch.requestId} ${n.outcome}`)).toEqual([`${stuck} timeout`]);
  });

  it('keeps the name it gave a watch that the file then lists without a name', async () => {
    const { h, app, list } = await trackingAResize(3000);
    await advance(app, 1000);
    // Copied into the file, to give it settings of its own, as `add --server --request` writes it.
    const listed = list({ extra: '    deadline: 2h' });
    await advance(app, 5000);
    expect(notified().map((n) => `${n.watch.name} ${n.outcome}`)).toEqual(['resize web-01 success']);
    // check says so too, by that name.
    await app.close();
    const path = await h.writeConfig(listed);
    const check = await h.cli(['check', '--json', '--config', path]);
    expect((JSON.parse(check.stdout) as Array<{ name: string; origin: string; state: string }>).map((w) => `${w.name} ${w.origin} ${w.state}`)).toEqual([
      'resize web-01 track success',
    ]);
    expect((await h.cli(['check', '--config', path])).stdout).toMatch(/^resize web-01 +/m);
  });

  it('leaves out actions the filter does not name, and ends tracking a deleted server after reporting its delete', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'db-01'));
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]\n    actions: [delete, resize]` }));
    await advance(app, 1000);
    h.simulator.addAction(reboot(serverId, 'db-01'));
    await advance(app, 2000);
    const deleted = h.simulator.addAction({ ...reboot(serverId, 'db-01'), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 500 }] });
    await advance(app, 30_000, 1000);

    expect(notified().map((n) => `${n.watch.name} ${n.outcome}`)).toEqual(['delete db-01 success']);
    expect(notified()[0]!.watch.requestId).toBe(deleted);
    const tracked = app.store.tracking.servers[`${PROJECT}/${serverId}`]!;
    expect(tracked.endedAt).not.toBeNull();
    const listed = h.simulator.requests.filter((r) => r.route === 'actions').length;
    await advance(app, 5000, 1000);
    expect(h.simulator.requests.filter((r) => r.route === 'actions')).toHaveLength(listed);
  });
});

describe('track: a server deleted below microversion 2.21', () => {
  it('ends tracking it on the API\'s 404 for its actions, which Nova hides once it is gone, rather than failing on', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'db-01'));
    const yaml = h.yaml([], { track: `  - servers: [${serverId}]`, cloud: '  microversion: "2.20"' });
    const app = await h.app(yaml);
    await advance(app, 1000);
    h.simulator.addAction({ ...reboot(serverId, 'db-01'), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] });
    await advance(app, 30_000, 1000);
    await app.close();
    expect(h.logs.lines().filter((l) => l['serverId'] === serverId && l['level'] === 40)).toEqual([]);
    const path = await h.writeConfig(yaml);
    expect((await h.cli(['check', '--config', path])).stdout).toMatch(new RegExp(`^${serverId} +db-01 +\\S+ +ended \\(server gone\\) +-$`, 'm'));
  });
});

describe('track: the changes-since cursor', () => {
  it.for(['2.57', '2.60'])('watches an action with no event whose row became readable after another action moved the cursor past it (at %s)', async (microversion) => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(quickAction({ serverId, serverName: 'web-01' }));
    const app = await h.app(h.yaml([], { track: `  - servers: [${serverId}]`, cloud: `  microversion: "${microversion}"` }));
    await advance(app, 2000);
    // A resize whose event ends 3 s on, which moves its updated_at, the cursor, past the delete's.
    h.simulator.addAction(quickAction({ serverId, serverName: 'web-01', action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 3000 }] }));
    await advance(app, 500);
    // A local delete (no event, Nova's updated_at its start), its row readable only 4 s later.
    const deleted = h.simulator.addAction(quickAction({ serverId, serverName: 'web-01', action: 'delete', steps: [], visibleAfterMs: 4000 }));
    await advance(app, 30_000, 500);
    const told = h.hooks.received.map((r) => r.body as { outcome: string; watch: { requestId: string } });
    expect(told.filter((n) => n.watch.requestId === deleted).map((n) => n.outcome)).toEqual(['success']);
  });
  it.for(['2.57', '2.60'])("watches the actions started after the cloud's clock was set back by hours, as a failover to a controller whose clock runs on local time is, and set right again, also after a restart, and no older one again (at %s)", async (microversion) => {
    const { h, serverId, before, yaml } = trackedLater(microversion, 12);
    const first = await h.app(yaml);
    await advance(first, 2000);
    // Three actions hours apart: the line of new ones trails the newest by an hour, and the two before it
    // started within the 8 h the clock is about to be set back by.
    const handled = await rebootsApart(first, serverId, [0, 3, 3]);
    // 8 hours: a clock kept in UTC+8 taken for UTC. What it stamps lies 7 h before the line.
    h.simulator.setClock(-8 * 60 * 60_000);
    await advance(first, 2000);
    const behind = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(first, 90_000, 1000);
    expect(notified().map((n) => n.watch.requestId)).toEqual([...handled, behind]);
    expect(notified().every((n) => n.outcome === 'success')).toBe(true);
    expect(first.store.tracking.servers[`${PROJECT}/${serverId}`]!.lastError).toBeNull();
    await first.close();

    // The state keeps the lines as moved: a restart goes on from them.
    const second = await h.app(yaml);
    await advance(second, 2000);
    const afterRestart = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(second, 5000, 1000);
    // Set right (the client takes two measures a minute apart to find the clocks agree again).
    h.simulator.setClock(8 * 60 * 60_000);
    await advance(second, 150_000, 1000);
    const setRight = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(second, 5000, 1000);
    expect(notified().map((n) => n.watch.requestId)).toEqual([...handled, behind, afterRestart, setRight]);
    expect(notified().some((n) => n.watch.requestId === before)).toBe(false);
    expect(second.store.tracking.servers[`${PROJECT}/${serverId}`]!.lastError).toBeNull();
    expect(h.logs.lines().filter((l) => l['serverId'] === serverId && l['level'] === 40)).toEqual([]);
  });
  it.for(['2.57', '2.60'])("watches the actions started after the cloud's clock was set forward by hours and right again, and no older one again (at %s)", async (microversion) => {
    const { h, serverId, yaml } = trackedLater(microversion, 12);
    const app = await h.app(yaml);
    await advance(app, 2000);
    const handled = await rebootsApart(app, serverId, [0, 3]);
    // A failover to a controller 8 h ahead, and back: set right, the clock stamps 8 h behind the newest start seen.
    h.simulator.setClock(8 * 60 * 60_000);
    await advance(app, 90_000, 1000);
    handled.push(h.simulator.addAction(reboot(serverId, 'web-01')));
    await advance(app, 5000, 1000);
    h.simulator.setClock(-8 * 60 * 60_000);
    await advance(app, 150_000, 1000);
    const setRight = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(app, 5000, 1000);
    expect(notified().map((n) => n.watch.requestId)).toEqual([...handled, setRight]);
    expect(app.store.tracking.servers[`${PROJECT}/${serverId}`]!.lastError).toBeNull();
  });
  it.for(['2.57', '2.60'])("watches an action started after the cloud's clock was set back by hours while the daemon was stopped, and no older one again (at %s)", async (microversion) => {
    const { h, serverId, yaml } = trackedLater(microversion, 12);
    // A boot id: the restart is in the same boot, whose clock tells this host's kept time while stopped.
    const first = await h.app(yaml, { bootId: 'boot-1' });
    await advance(first, 2000);
    const handled = await rebootsApart(first, serverId, [0, 3, 3]);
    await first.close();
    h.simulator.setClock(-8 * 60 * 60_000);
    const behind = h.simulator.addAction(reboot(serverId, 'web-01'));
    const second = await h.app(yaml, { bootId: 'boot-1' });
    await advance(second, 10_000, 1000);
    expect(notified().map((n) => n.watch.requestId)).toEqual([...handled, behind]);
    expect(second.store.tracking.servers[`${PROJECT}/${serverId}`]!.lastError).toBeNull();
  });
  it.for(['2.57', '2.60'])("says the server's tracking fails while the cloud's clock is set back further than a day, behind the line it draws (at %s)", async (microversion) => {
    const { h, serverId, yaml } = trackedLater(microversion, 40);
    const app = await h.app(yaml);
    await advance(app, 2000);
    const resize = h.simulator.addAction({ ...reboot(serverId, 'web-01'), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 1000 }] });
    await advance(app, 5000);
    // 30 hours: further back than the ids of handled actions are kept before the line, an hour before the
    // newest start seen, so the line stays, and what the clock stamps lies 29 h before it.
    h.simulator.setClock(-30 * 60 * 60_000);
    await advance(app, 2000);
    h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(app, 90_000, 1000);
    expect(notified().map((n) => `${n.watch.requestId} ${n.outcome}`)).toEqual([`${resize} success`]);
    const said = h.logs.lines().filter((l) => l['serverId'] === serverId && l['level'] === 40);
    expect(said).toHaveLength(1);
    expect(String(said[0]!['error'])).toMatch(/^the cloud's clock is 28 h 5\d min behind the line auto-tracking draws for this server \(.+\): it was set back further than auto-tracking can follow \(24 h; .+ become no watches: set the clocks of the cloud's controllers right/);
    expect(app.store.tracking.servers[`${PROJECT}/${serverId}`]!.lastError).toMatch(/^the cloud's clock is 28 h 5\d min behind/);
    // Set right (the client takes two measures a minute apart to find the clocks agree again), the actions
    // it stamps become watches again, and the failure has ended.
    h.simulator.setClock(30 * 60 * 60_000);
    await advance(app, 150_000, 1000);
    const after = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(app, 5000, 1000);
    expect(notified().map((n) => n.watch.requestId)).toEqual([resize, after]);
    expect(app.store.tracking.servers[`${PROJECT}/${serverId}`]!.lastError).toBeNull();
  });
  it.for(['2.57', '2.60'])("watches an action started after the cloud's clock was set back further than the cursor's margin, as a failover to a controller 20 min behind does (at %s)", async (microversion) => {
    const { h, serverId, yaml } = trackedLater(microversion, 2);
    const app = await h.app(yaml);
    await advance(app, 2000);
    // Moves the cursor (2.58+: the newest updated_at seen) to a time the cloud's clock is about to be set back from.
    const resize = h.simulator.addAction({ ...reboot(serverId, 'web-01'), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 1000 }] });
    await advance(app, 5000);
    h.simulator.setClock(-20 * 60_000);
    await advance(app, 2000);
    const after = h.simulator.addAction(reboot(serverId, 'web-01'));
    await advance(app, 90_000, 1000);
    expect(notified().map((n) => `${n.watch.requestId} ${n.outcome}`)).toEqual([`${resize} success`, `${after} success`]);
  });
});

describe('track: project: all', () => {
  it('watches new actions of the servers it had, and every action of a server created later, not the older ones', async () => {
    const { h } = env;
    // At .75 of a second: app-01's reboot ends in the next second, its `updated`, within which the first pass
    // lists its actions and the next reboot starts, after that listing.
    vi.setSystemTime(Math.floor(Date.now() / 1000) * 1000 + 1750);
    const existing = crypto.randomUUID();
    h.simulator.addAction(reboot(existing, 'app-01'));
    const app = await h.app(h.yaml([], { track: '  - project: all' }));
    await advance(app, 1000);

    const created = crypto.randomUUID();
    const create = h.simulator.addAction({ ...reboot(created, 'app-02'), action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 500 }] });
    const rebooted = h.simulator.addAction(reboot(existing, 'app-01'));
    await advance(app, 4000);
    expect(notified().map((n) => n.watch.name).sort()).toEqual(['create app-02', 'reboot app-01']);
    expect(notified().map((n) => n.watch.requestId).sort()).toEqual([create, rebooted].sort());
    expect(h.simulator.requests.filter((r) => r.route === 'servers').at(-1)?.path).toContain('changes-since=');
  });

  it("watches the create of a server made after the cloud's clock was set back further than the cursor's margin", async () => {
    // The client measures the cloud's clock on the monotonic one, once a minute.
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const { h } = env;
    const existing = crypto.randomUUID();
    h.simulator.addAction(reboot(existing, 'app-01'));
    vi.setSystemTime(Date.now() + 2 * 60 * 60_000);
    const app = await h.app(h.yaml([], { track: '  - project: all' }));
    await advance(app, 2000);
    // Moves the project's cursor (the newest `updated` seen) to a time the cloud's clock is about to be set back from.
    const rebooted = h.simulator.addAction(reboot(existing, 'app-01'));
    await advance(app, 5000);
    h.simulator.setClock(-20 * 60_000);
    await advance(app, 2000);
    const create = h.simulator.addAction({ ...reboot(crypto.randomUUID(), 'app-02'), action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 500 }] });
    await advance(app, 90_000, 1000);
    expect(notified().map((n) => `${n.watch.name} ${n.watch.requestId} ${n.outcome}`)).toEqual([`reboot app-01 ${rebooted} success`, `create app-02 ${create} success`]);
  });

  // The listing of a server's actions comes after the project's baseline: in the same pass behind hundreds of
  // others under a rate limit, or after a restart. `before` started a second and a half before the baseline,
  // well within the minute the clocks may be apart: what tells it is older is the server's `updated` it stamped.
  const startedBeforeTheBaseline = (h: typeof env.h, serverId: string) => {
    const before = h.simulator.addAction(reboot(serverId, 'app-01'));
    vi.advanceTimersByTime(1500);
    return before;
  };
  /** Told of `between` alone, and `before` no watch. */
  const toldOfAlone = (app: App, serverId: string, between: string, before: string) => {
    expect(notified().map((n) => `${n.watch.name} ${n.watch.requestId} ${n.outcome}`)).toEqual([`reboot app-01 ${between} success`]);
    expect(discoveredKeys(app)).not.toContain(watchKey({ projectId: PROJECT, serverId, requestId: before }));
  };
  const listingOf = async (h: typeof env.h, serverId: string) => {
    while (!h.simulator.requests.some((r) => r.route === 'actions' && r.path.includes(serverId))) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('watches an action started after the baseline, before its server\'s first listing answered, not one started before the baseline', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const before = startedBeforeTheBaseline(h, serverId);
    h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { route: 'actions', pathIncludes: serverId });
    const app = await h.app(h.yaml([], { track: '  - project: all' }));
    const pass = app.engine.pollOnce();
    await listingOf(h, serverId);
    vi.advanceTimersByTime(200);
    const between = h.simulator.addAction(reboot(serverId, 'app-01'));
    await pass;
    await advance(app, 3000);
    toldOfAlone(app, serverId, between, before);
  });

  it('watches an action started between the baseline and its server\'s first listing when the daemon stopped in between', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    startedBeforeTheBaseline(h, serverId);
    h.simulator.injectFault({ kind: 'slow', delayMs: 10_000 }, { route: 'actions', pathIncludes: serverId });
    // cloud.timeout 500 ms: the listing held up is to time out before the stop (with 10 s the test took 10 s more).
    const yaml = h.yaml([], { track: '  - project: all', cloudTimeout: '500ms' });
    const first = await h.app(yaml);
    const pass = first.engine.pollOnce();
    await listingOf(h, serverId);
    // Stopped while the server's first listing is on its way: the state keeps the baseline, and no listing.
    await first.close();
    await pass;
    expect(first.store.tracking.servers[`${PROJECT}/${serverId}`]).toMatchObject({ since: null });
    vi.advanceTimersByTime(5000);
    const between = h.simulator.addAction(reboot(serverId, 'app-01'));
    await advance(await h.app(yaml), 3000);
    expect(notified().map((n) => `${n.watch.name} ${n.watch.requestId} ${n.outcome}`)).toEqual([`reboot app-01 ${between} success`]);
  });

  // The baseline lists the servers twice (live, then changed since): an action that starts between the two
  // stamps the `updated` the second shows, after the listing was sent, and it is new.
  it('watches an action started between the baseline\'s two listings of servers, not one started before the baseline', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    const before = startedBeforeTheBaseline(h, serverId);
    h.simulator.injectFault({ kind: 'slow', delayMs: 3000 }, { route: 'servers', after: 1, times: 1 });
    // cloud.timeout 500 ms: the listing held up is to time out, not be waited for (with 10 s the test took 2 s more).
    const app = await h.app(h.yaml([], { track: '  - project: all', cloudTimeout: '500ms' }));
    const pass = app.engine.pollOnce();
    while (h.simulator.requests.filter((r) => r.route === 'servers').length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    vi.advanceTimersByTime(1500);
    const between = h.simulator.addAction(reboot(serverId, 'app-01'));
    vi.advanceTimersByTime(1600);
    await pass;
    await advance(app, 3000);
    toldOfAlone(app, serverId, between, before);
  });

  it('watches an action of a server started while the listings of the project\'s servers failed, not one started before', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'app-01'));
    // More than the minute the clocks may be apart before the first listing, which fails three times.
    vi.advanceTimersByTime(90_000);
    h.simulator.injectFault({ kind: 'unavailable' }, { route: 'servers', times: 3 });
    const app = await h.app(h.yaml([], { track: '  - project: all', poll: '  schedule: "* * * * * *"\n  retries: 0' }));
    await advance(app, 1000);
    expect(app.store.tracking.projects[PROJECT]!.since).toBeNull();
    // It stamps the server's `updated` that the listing which answers shows.
    const during = h.simulator.addAction(reboot(serverId, 'app-01'));
    await advance(app, 4000);
    expect(notified().map((n) => `${n.watch.name} ${n.watch.requestId} ${n.outcome}`)).toEqual([`reboot app-01 ${during} success`]);
  });

  it('shows in check a project whose listing of servers fails, with its error: it has no server to show', async () => {
    const { h } = env;
    h.simulator.injectFault({ kind: 'policy-refused' }, { route: 'servers', times: 1000 });
    const yaml = h.yaml([], { track: '  - project: all', poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const app = await h.app(yaml);
    await advance(app, 1000);
    await app.close();
    const check = await h.cli(['check', '--config', await h.writeConfig(yaml)]);
    expect(check.stdout).toMatch(new RegExp(String.raw`^TRACKED +NAME +FOR +STATE +LAST ERROR\nproject ${PROJECT} +\(all servers\) +not yet +starting +GET \S+/servers/detail\S* → 403 .*Policy doesn't allow`, 'm'));
  });

  it('watches the create of a server whose changes are stamped before the newest one seen (a Nova host\'s clock behind)', async () => {
    const { h } = env;
    // At .75 of a second: app-01's reboots end at .05, so the listings' newest `updated` (whole seconds) is
    // the second before.
    vi.setSystemTime(Math.floor(Date.now() / 1000) * 1000 + 1750);
    const existing = crypto.randomUUID();
    h.simulator.addAction(reboot(existing, 'app-01'));
    const app = await h.app(h.yaml([], { track: '  - project: all' }));
    await advance(app, 1000);
    h.simulator.addAction(reboot(existing, 'app-01'));
    await advance(app, 1000);
    // 1.5 s behind: app-02's create starts after the first listing's newest change, as it did, but its
    // server is stamped `updated` before the newest change the listing after it saw.
    cloudBehindMs = 1500;
    const create = h.simulator.addAction({ ...reboot(crypto.randomUUID(), 'app-02'), action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 500 }] });
    await advance(app, 10_000, 1000);
    expect(notified().filter((n) => n.watch.requestId === create).map((n) => n.outcome)).toEqual(['success']);
  });

  // Nova lists a deleted server only to `changes-since`: a server created and deleted between two passes
  // (a failed create cleaned up, a CI throwaway, or while the daemon was stopped) is seen only as DELETED.
  it.each([
    ['beside a server there before', true],
    ['in a project that had none', false],
  ])('watches the create and the delete of a server created and deleted between two passes, %s, once across a restart', async (_, before) => {
    const { h } = env;
    // At .72 of a second: the older server's reboot ends within the next second, the newest of the baseline,
    // and so does the short-lived server's delete (Nova's `updated` has whole seconds).
    vi.setSystemTime(Math.floor(Date.now() / 1000) * 1000 + 1720);
    if (before) h.simulator.addAction(reboot(crypto.randomUUID(), 'app-01'));
    const yaml = h.yaml([], { track: '  - project: all' });
    const first = await h.app(yaml);
    await advance(first, 1000);

    const shortLived = crypto.randomUUID();
    const create = h.simulator.addAction({ ...reboot(shortLived, 'tmp-01'), action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 100 }] });
    vi.advanceTimersByTime(150);
    const del = h.simulator.addAction({ ...reboot(shortLived, 'tmp-01'), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] });
    await advance(first, 30_000, 1000);
    // The create's server is gone once it finished: a finished action whose server stays gone is a failure.
    expect(notified().map((n) => `${n.watch.name} ${n.watch.requestId} ${n.outcome}`).sort()).toEqual([
      `create tmp-01 ${create} failure`, `delete tmp-01 ${del} success`,
    ]);
    expect(first.store.tracking.servers[`${PROJECT}/${shortLived}`]!.endedAt).not.toBeNull();
    await first.close();

    const second = await h.app(yaml);
    await advance(second, 5000, 1000);
    expect(notified()).toHaveLength(2);
  });

  it('forgets a deleted server once no listing of what changed can show it again, and not before', async () => {
    const { h } = env;
    const other = crypto.randomUUID();
    h.simulator.addAction(reboot(other, 'app-01'));
    const app = await h.app(h.yaml([], { track: '  - project: all' }));
    await advance(app, 1000);
    const shortLived = crypto.randomUUID();
    h.simulator.addAction({ ...reboot(shortLived, 'tmp-01'), action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 100 }] });
    vi.advanceTimersByTime(150);
    h.simulator.addAction({ ...reboot(shortLived, 'tmp-01'), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] });
    await advance(app, 30_000, 1000);
    const key = `${PROJECT}/${shortLived}`;
    expect(app.store.tracking.servers[key]!.endedAt).not.toBeNull();
    // Its delete is still within the cursor's margin: listed again, it is known, and kept.
    vi.setSystemTime(Date.now() + 5 * 60_000);
    await advance(app, 2000, 1000);
    expect(app.store.tracking.servers[key]).toBeDefined();
    // Another server changes 11 minutes on: the listings reach back no further than 10 minutes before it.
    vi.setSystemTime(Date.now() + 6 * 60_000);
    h.simulator.addAction(reboot(other, 'app-01'));
    await advance(app, 3000, 1000);
    expect(app.store.tracking.servers[key]).toBeUndefined();
    expect(app.store.tracking.servers[`${PROJECT}/${other}`]).toBeDefined();
    // Nothing of it is told again.
    expect(notified().filter((n) => n.watch.name.endsWith('tmp-01'))).toHaveLength(2);
  });

  it('leaves out servers deleted before tracking began, which the listings after the first show too', async () => {
    const { h } = env;
    h.simulator.addAction(reboot(crypto.randomUUID(), 'app-01'));
    vi.advanceTimersByTime(1000);
    // Deleted after the newest change of the servers still there: only a listing of the deleted ones tells.
    const gone = crypto.randomUUID();
    h.simulator.addAction({ ...reboot(gone, 'tmp-00'), action: 'create', steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 100 }] });
    vi.advanceTimersByTime(150);
    h.simulator.addAction({ ...reboot(gone, 'tmp-00'), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] });
    vi.advanceTimersByTime(1000);
    const app = await h.app(h.yaml([], { track: '  - project: all' }));
    await advance(app, 5000, 1000);
    expect(notified()).toEqual([]);
    expect(app.store.tracking.servers[`${PROJECT}/${gone}`]).toBeUndefined();
  });

  it('says of a server the project listed, deleted before its actions answered (below 2.21), that it is gone, not that its id was never found', async () => {
    const { h } = env;
    const serverId = crypto.randomUUID();
    h.simulator.addAction(reboot(serverId, 'app-01'));
    h.simulator.injectFault({ kind: 'server-error' }, { route: 'actions', times: 3 });
    const yaml = h.yaml([], { track: '  - project: all', cloud: '  microversion: "2.20"', poll: '  schedule: "* * * * * *"\n  retries: 0' });
    const app = await h.app(yaml);
    await advance(app, 1000);
    h.simulator.addAction({ ...reboot(serverId, 'app-01'), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] });
    await advance(app, 30_000, 1000);
    await app.close();
    expect(app.store.tracking.servers[`${PROJECT}/${serverId}`]!.endedAt).not.toBeNull();
    const said = h.logs.lines().filter((l) => l['serverId'] === serverId && /tracking it ended/.test(String(l['msg'])));
    expect(said.map((l) => `${String(l['level'])} ${String(l['msg'])}`)).toEqual(['30 the server is gone; tracking it ended']);
    const path = await h.writeConfig(yaml);
    expect((await h.cli(['check', '--config', path])).stdout).toMatch(new RegExp(`^${serverId} +app-01 +not yet +ended \\(server gone\\) +-$`, 'm'));
  });

  it('leaves out a server created and deleted between two passes below microversion 2.21, whose actions Nova hides', async () => {
    const { h } = env;
    h.simulator.addAction(reboot(crypto.randomUUID(), 'app-01'));
    const app = await h.app(h.yaml([], { track: '  - project: all', cloud: '  microversion: "2.20"' }));
    await advance(app, 1000);
    const shortLived = crypto.randomUUID();
    h.simulator.addAction({ ...reboot(shortLived, 'tmp-01'), action: 'delete', steps: [{ event: 'compute_terminate_instance', durationMs: 100 }] });
    await advance(app, 3000, 1000);
    expect(app.store.tracking.servers[`${PROJECT}/${shortLived}`]).toBeUndefined();
    expect(h.simulator.requests.filter((r) => r.route === 'actions' && r.path.includes(shortLived))).toEqual([]);
  });
});
