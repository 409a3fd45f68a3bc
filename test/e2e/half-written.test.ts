// A watch file written in place (`cat > watch.yaml` from a slow producer, a script writing line by line, a
// slow scp) is cut short between two of its writer's writes, and a cut file often still parses: the watch
// it cuts loses its `deadline:` (poll.deadline's applies) and its `notify:`. `run` runs as a process of its
// own, against the simulator, while the test writes its file in pieces: no verdict and no notification may
// come of a cut. The tests run side by side, each with its simulator, receivers and daemon: they spend
// their time waiting on the writer's pauses and the daemon's looks at the file, not on the processor.
import { once } from 'node:events';
import { appendFile, open, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect } from 'vitest';
import { Harness, itWithHarness as it, newIds, quickAction, type WatchEntry } from './harness.ts';
import { killDaemons, startDaemon, type Daemon } from './daemon.ts';
import { waitUntil } from '../eventually.ts';

/**
 * A writer's pause: under the second of stillness the daemon waits for, with 700 ms of room for a writer a
 * loaded machine holds up (at 600 ms, a start once read a file cut after two watches at a load of 9, and a
 * full run a reload read a cut).
 */
const PAUSE_MS = 300;
/** The daemon's looks at the file: RELOAD_INTERVAL_MS apart, from the end of one to the start of the next. */
const LOOK_MS = 2000;
/** What the daemon logs once a look finds a file it read (cut) unchanged: what that file changed is in force. */
const IN_FORCE = 'the reloaded watch file held still: the watch settings it changed are in force';
/** Whatever the watch file says of a watch, each is its own: `deadline: 1h` and only the webhook. */
const OWN = '    notify: [chat]\n    deadline: 1h';

// Each test stops its daemon; one that failed first leaves it to this.
afterAll(killDaemons);

/** Watches of actions that never finish. */
function longWatches(h: Harness, count: number): WatchEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const action = quickAction({ neverFinishes: true });
    h.simulator.addAction(action);
    return { ...action, name: `long-${i}`, extra: OWN };
  });
}

/** A poll.deadline that every watch is past at once: a watch cut off from its own deadline would time out at the next pass. */
function watchFile(h: Harness, watches: WatchEntry[]): string {
  return h.yaml(watches, { poll: '  schedule: "* * * * * *"\n  retries: 3\n  deadline: 100ms' });
}

/** `run` on a file saved whole with `watches`, once it has started. */
async function startOn(h: Harness, watches: WatchEntry[]): Promise<{ path: string; daemon: Daemon }> {
  const path = await h.writeConfig(watchFile(h, watches));
  const daemon = startDaemon(path, h.env);
  expect(await daemon.saw('started')).toBe(true);
  return { path, daemon };
}

/** Writes `text` over the file in place, as `cat > path` from a slow producer: truncated, then a write per line, each followed by its pause. */
async function writeInPieces(path: string, text: string, pauseAfter: (line: string) => number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (const line of text.split(/(?<=\n)/)) {
      await file.write(line);
      await sleep(pauseAfter(line));
    }
  } finally {
    await file.close();
  }
}

/** Pauses where a cut leaves a watch with its ids alone. */
function afterServerId(pauseMs: number): (line: string) => number {
  return (line) => (line.startsWith('    serverId: ') ? pauseMs : 0);
}

/**
 * Writes `text` in place as a writer that stalls after the `serverId:` line of `serverId`'s watch leaves it,
 * until `run` has read it: that watch with its ids alone, those after it missing.
 */
async function readCut(daemon: Daemon, path: string, text: string, serverId: string): Promise<void> {
  await writeFile(path, text.slice(0, text.indexOf('\n', text.indexOf(`    serverId: ${serverId}\n`)) + 1));
  expect(await daemon.saw('watch list reloaded')).toBe(true);
}

/**
 * Runs `write` every `everyMs` until the returned stop is awaited: a writer that goes on (a loop rendering
 * the file), or one that keeps a cut file changing, and so keeps the daemon's next look waiting for it to
 * hold still: no look finds the cut unchanged, which would confirm it, however late the machine lets the
 * daemon's passes come.
 */
function keepWriting(write: () => Promise<void>, everyMs: number): () => Promise<void> {
  let writing = true;
  const loop = (async () => {
    while (writing) {
      await write();
      await sleep(everyMs);
    }
  })();
  return async () => {
    writing = false;
    await loop;
  };
}

/** A config-management loop rendering `text` every 1.5 s, the time in its first line: no look finds it unchanged. */
function keepRendering(path: string, text: string): () => Promise<void> {
  return keepWriting(() => writeFile(path, `# rendered at ${new Date().toISOString()}\n${text}`), 1500);
}

/** Comment lines added to a cut file, a few a second: what it says stays the cut's. */
function keepCut(path: string): () => Promise<void> {
  return keepWriting(() => appendFile(path, '# still being written\n'), 250);
}

/** The daemon's log lines whose message begins with `message`, each with the daemon's time of it (ms since the epoch). */
function logLines<T = Record<string, unknown>>(daemon: Daemon, message: string): Array<T & { at: number }> {
  return daemon
    .output()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}`))
    .map((line) => {
      const parsed = JSON.parse(line) as T & { time: string };
      return { ...parsed, at: Date.parse(parsed.time) };
    });
}

/** The daemon's time of its first log line with this message (which the test has seen). */
function loggedAt(daemon: Daemon, message: string): number {
  const line = logLines(daemon, message)[0];
  if (line === undefined) throw new Error(`the daemon has not logged "${message}"`);
  return line.at;
}

/** The verdicts the daemon logged, and the outcomes notified by webhook. */
function verdicts(h: Harness, daemon: Daemon) {
  const logged = logLines<{ requestId: string; outcome: string }>(daemon, 'watch finished');
  const notified = h.hooks.received.map((hook) => hook.body as { outcome: string; watch: { requestId: string } });
  return {
    logged: logged.map(({ requestId, outcome }) => ({ requestId, outcome })),
    notified: notified.map(({ outcome, watch }) => ({ requestId: watch.requestId, outcome })),
  };
}

/** The notifiers the daemon owed the verdict of `watch` when it logged it. */
function notifiersOwed(daemon: Daemon, watch: WatchEntry & { requestId: string }): string[] | undefined {
  return logLines<{ requestId: string; notifiers: string[] }>(daemon, 'watch finished').find((line) => line.requestId === watch.requestId)?.notifiers;
}

/** How many times the simulator was asked for the action of `watch`, after `since` (the simulator's clock, ms) when given. */
function polls(h: Harness, watch: WatchEntry, since = -Infinity): number {
  return h.simulator.requests.filter((r) => 'requestId' in watch && r.path.includes(watch.requestId) && r.at > since).length;
}

async function stop(daemon: Daemon): Promise<void> {
  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
}

// A test waits on the writer's pauses, the daemon's looks (2 s apart) and its passes (a second apart), up
// to 15 s for each, by the real clock: on a loaded machine they come late, and a test may take longer than
// the suite's 20 s without anything being wrong. The longest come first: vitest runs five at a time
// (maxConcurrency), each taking the next as one ends, so that none of the long ones starts last.
describe.concurrent('a watch file written in place', { timeout: 45_000 }, () => {
  it('polls on the watches a cut file left out until the file holds still, and lets them go then', async ({ h }) => {
    const watches = longWatches(h, 3);
    const [, cut, missing] = watches as Array<WatchEntry & { serverId: string; requestId: string }>;
    const { path, daemon } = await startOn(h, watches);
    // Read cut after the second watch's ids: the third is missing, as a batch's last member would be.
    await readCut(daemon, path, watchFile(h, watches), cut!.serverId);
    expect(logLines(daemon, 'reloaded watch file changes watch settings')[0]).toMatchObject({ watches: 2, shown: [{ requestId: cut!.requestId }, { requestId: missing!.requestId, held: ['the watch'], kept: 'listed', reloaded: 'left out' }] });
    // Still polled while the cut is held (the writer going on, so that no look confirms it meanwhile): in two
    // passes after the cut was read, by the daemon's clock, more than a pass in flight at that read makes.
    const reloadedAt = loggedAt(daemon, 'watch list reloaded');
    const stopWriting = keepCut(path);
    try {
      await waitUntil(() => polls(h, missing!, reloadedAt) >= 2, 15_000);
    } finally {
      await stopWriting();
    }
    // The cut file (comments added), unchanged at the look after the one that reads it, is the file now.
    expect(await daemon.saw(IN_FORCE)).toBe(true);
    const inForceAt = loggedAt(daemon, IN_FORCE);
    // Polled no more after it but by a pass that had begun before it, while the others are polled on.
    await waitUntil(() => polls(h, watches[0]!, inForceAt) >= 3, 15_000);
    expect(polls(h, missing!, inForceAt)).toBeLessThanOrEqual(1);
    // Nothing of the watch left out (the cut one, its deadline now poll.deadline's, times out: the file says so).
    expect(verdicts(h, daemon).logged.map((v) => v.requestId)).not.toContain(missing!.requestId);
    await stop(daemon);
  });

  it('confirms nothing a cut file changed when the next file cannot start and the daemon goes back to the cut', async ({ h }) => {
    const watches = longWatches(h, 3);
    const last = watches[2] as WatchEntry & { serverId: string };
    const { path, daemon } = await startOn(h, watches);
    // Read cut: the last watch loses its deadline to poll.deadline's 100 ms, held at its 1 h.
    await readCut(daemon, path, watchFile(h, watches), last.serverId);
    // Before the look that would confirm the cut, a whole file whose token file is not there: valid, but its
    // client cannot start, and the daemon starts the cut file's parts again.
    const auth = 'auth: { type: token, token: "${ECS_AUTH_TOKEN}" }';
    expect(watchFile(h, watches)).toContain(auth);
    await writeFile(`${path}.tmp`, watchFile(h, watches).replace(auth, `auth: { type: token, tokenFile: ${join(h.dir, 'no-such-token')} }`));
    await rename(`${path}.tmp`, path);
    expect(await daemon.saw('the reloaded watch file cannot be started; keeping the running configuration')).toBe(true);
    // Said again for the parts started anew, without the promise of a look that would confirm it.
    await waitUntil(() => logLines(daemon, 'reloaded watch file changes watch settings').length >= 2, 15_000);
    expect(logLines<{ msg: string }>(daemon, 'reloaded watch file changes watch settings').at(-1)!.msg).toContain('until a later version of the file is found unchanged');
    // Looks that find that file unchanged, and passes after them: the cut's deadline never comes in force.
    const since = polls(h, watches[0]!);
    await waitUntil(() => polls(h, watches[0]!) >= since + 5, 15_000);
    expect(verdicts(h, daemon)).toEqual({ logged: [], notified: [] });
    expect(daemon.output()).not.toContain('are in force');
    await stop(daemon);
  });

  it('applies a change of a file rewritten whole more often than it is looked at, its time stamp new at each write, once two reads agree', async ({ h }) => {
    const late = { ...newIds(), name: 'late', extra: OWN };
    const text = h.yaml([late]);
    const path = await h.writeConfig(text);
    const daemon = startDaemon(path, h.env);
    expect(await daemon.saw('started')).toBe(true);
    // A config-management loop rendering the file every 1.5 s, the time in its first line: no look finds it
    // unchanged. Its change, a header for the webhook, is more than the watches.
    const header = '    secret: ${WEBHOOK_SECRET}';
    expect(text).toContain(header);
    const changed = text.replace(header, `${header}\n    headers: { X-Rendered: yes }`);
    const stopRendering = keepRendering(path, changed);
    try {
      await waitUntil(() => daemon.output().includes('"msg":"watch file reloaded"'), 20_000);
      h.simulator.addAction(quickAction({ ...late, steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] }));
      await waitUntil(() => h.hooks.received.length > 0, 15_000);
    } finally {
      await stopRendering();
    }
    expect(h.hooks.received.map((hook) => hook.headers['x-rendered'])).toEqual(['yes']);
    await stop(daemon);
  });

  it('keeps a deadline that a file written slowly through comment lines cut for seconds, read alike at each look but growing', async ({ h }) => {
    const watches = longWatches(h, 2);
    const last = watches[1] as WatchEntry & { serverId: string };
    const { path, daemon } = await startOn(h, watches);
    // The last watch cut after its ids, and a block of comments written a line at a time, each after a
    // pause past the daemon's second of stillness: every read between them is the same cut.
    const text = watchFile(h, watches);
    const at = text.indexOf('\n', text.indexOf(`    serverId: ${last.serverId}\n`)) + 1;
    const comments = Array.from({ length: 8 }, (_, i) => `    # maintenance note ${i + 1}\n`).join('');
    await writeInPieces(path, text.slice(0, at) + comments + text.slice(at), (line) => (line.startsWith('    # maintenance note') ? 1200 : 0));
    await waitUntil(() => polls(h, watches[0]!) >= 3, 15_000);
    // Read cut more than once meanwhile, each time held: no look found a version it had read.
    expect(logLines(daemon, 'reloaded watch file changes watch settings').length).toBeGreaterThanOrEqual(2);
    expect(verdicts(h, daemon)).toEqual({ logged: [], notified: [] });
    expect(daemon.output()).not.toContain('are in force');
    await stop(daemon);
  });

  it('shortens a deadline for real in a file rewritten whole more often than it is looked at, once two reads agree', async ({ h }) => {
    const watches = longWatches(h, 2);
    const last = watches[1] as WatchEntry & { serverId: string; requestId: string };
    const { path, daemon } = await startOn(h, watches);
    const shortened = watchFile(h, watches).replace(`${last.serverId}\n    name: long-1\n    notify: [chat]\n    deadline: 1h`, `${last.serverId}\n    name: long-1\n    notify: [chat]\n    deadline: 2s`);
    expect(shortened).not.toBe(watchFile(h, watches));
    const stopRendering = keepRendering(path, shortened);
    try {
      await waitUntil(() => h.hooks.received.length > 0, 20_000);
    } finally {
      await stopRendering();
    }
    expect(verdicts(h, daemon)).toEqual({ logged: [{ requestId: last.requestId, outcome: 'timeout' }], notified: [{ requestId: last.requestId, outcome: 'timeout' }] });
    expect(daemon.output()).toContain('the watch settings it changed are in force');
    await stop(daemon);
  });

  it('starts no watch of an action that a cut track entry let through, its actions: and notify: cut off, before the file holds still', async ({ h }) => {
    const serverId = crypto.randomUUID();
    h.simulator.addAction(quickAction({ serverId, serverName: 'web-01' }));
    const text = h.yaml([], { track: `  - servers: [${serverId}]\n    actions: [resize]\n    notify: [chat]` });
    const path = await h.writeConfig(text);
    const daemon = startDaemon(path, h.env);
    expect(await daemon.saw('tracking began; actions from now on become watches')).toBe(true);
    // Read cut after the entry's servers: every action of the server, told to every notifier.
    await writeFile(path, text.slice(0, text.indexOf('\n', text.indexOf(`  - servers: [${serverId}]`)) + 1));
    expect(await daemon.saw('watch list reloaded')).toBe(true);
    // A reboot, which the whole entry leaves out, starts while the cut is read, and the writer goes on (no look
    // confirms the cut) until two passes have listed it: the first has ended before the second began, under
    // the cut. Then the file is whole again.
    const reboot = quickAction({ serverId, serverName: 'web-01' });
    h.simulator.addAction(reboot);
    const added = Date.now();
    const listings = (since: number) => h.simulator.requests.filter((r) => r.route === 'actions' && r.path.includes(serverId) && r.at > since).length;
    const stopWriting = keepCut(path);
    try {
      await waitUntil(() => listings(added) >= 2, 15_000);
    } finally {
      await stopWriting();
    }
    await h.writeConfig(text);
    await waitUntil(() => logLines(daemon, 'watch list reloaded').length >= 2, 15_000);
    const wholeAt = logLines(daemon, 'watch list reloaded')[1]!.at;
    await waitUntil(() => listings(wholeAt) >= 2, 15_000);
    await stop(daemon);
    expect(daemon.output()).not.toContain(reboot.requestId);
    expect(h.hooks.received).toEqual([]);
    expect(h.mail.received).toEqual([]);
    expect(daemon.output()).toContain('reloaded watch file changes or takes out track entries: auto-tracking keeps the previous ones until the next look');
  });

  it('reads a file written in pieces only once it is whole: no verdict and no notification from a cut', async ({ h }) => {
    // Eleven pauses of the writer: its file is cut for 3.3 s, through at least one of the daemon's looks.
    const watches = longWatches(h, 10);
    const { path, daemon } = await startOn(h, watches);
    const added = quickAction();
    h.simulator.addAction(added);
    // As a script rewriting the file with one more watch, stopping short of a second now and then.
    await writeInPieces(path, watchFile(h, [...watches, { ...added, name: 'added', extra: OWN }]), afterServerId(PAUSE_MS));
    // The whole file is applied: the added watch is polled and its success notified, to the webhook alone.
    await waitUntil(() => h.hooks.received.length > 0, 15_000);
    expect(verdicts(h, daemon)).toEqual({ logged: [{ requestId: added.requestId, outcome: 'success' }], notified: [{ requestId: added.requestId, outcome: 'success' }] });
    expect(h.mail.received).toHaveLength(0);
    // None of it was read cut: neither a file refused as invalid nor one that shortened a deadline.
    expect(daemon.output()).not.toContain('reloaded watch file is invalid');
    expect(daemon.output()).not.toContain('changes watch settings');
    await stop(daemon);
  });

  it('starts with the whole file when the file is still being written as `run` starts', async ({ h }) => {
    const path = join(h.dir, 'watch.yaml');
    // Eight pauses: the file is still cut 2.4 s on, past the daemon's first read.
    const watches = longWatches(h, 8);
    const writing = writeInPieces(path, watchFile(h, watches), afterServerId(PAUSE_MS));
    const daemon = startDaemon(path, h.env);
    await writing;
    expect(await daemon.saw('started')).toBe(true);
    const started = daemon.output().split('\n').find((line) => line.includes('"msg":"started"'))!;
    expect(JSON.parse(started)).toMatchObject({ watches: 8 });
    // Three passes, the last more than a second after the first: a watch cut off from its own deadline would have timed out.
    // Up to 15 s: the suite runs this file's tests at once, each with a daemon, beside the other files.
    await waitUntil(() => polls(h, watches.at(-1)!) >= 3, 15_000);
    expect(verdicts(h, daemon).logged).toEqual([]);
    await stop(daemon);
  });

  it('shortens a deadline for real from the next look at the file on', async ({ h }) => {
    const watches = longWatches(h, 3);
    const last = watches[2] as WatchEntry & { serverId: string; requestId: string };
    const { path, daemon } = await startOn(h, watches);
    // By a file saved whole: in force once a look finds the file unchanged, then a timeout.
    await writeFile(`${path}.tmp`, watchFile(h, watches).replace(`${last.serverId}\n    name: long-2\n    notify: [chat]\n    deadline: 1h`, `${last.serverId}\n    name: long-2\n    notify: [chat]\n    deadline: 2s`));
    await rename(`${path}.tmp`, path);
    await waitUntil(() => h.hooks.received.length > 0, 15_000);
    expect(verdicts(h, daemon)).toEqual({ logged: [{ requestId: last.requestId, outcome: 'timeout' }], notified: [{ requestId: last.requestId, outcome: 'timeout' }] });
    expect(h.mail.received).toHaveLength(0);
    // In force at the look after the one that reloaded it, as the daemon's own clock has it: a later look
    // comes two intervals or more after that reload however the machine is loaded, the next one within
    // two unless the daemon is held up for two seconds.
    const reloadedAt = loggedAt(daemon, 'watch list reloaded');
    const inForceAt = loggedAt(daemon, IN_FORCE);
    expect(inForceAt - reloadedAt).toBeGreaterThanOrEqual(LOOK_MS - 50);
    expect(inForceAt - reloadedAt).toBeLessThan(2 * LOOK_MS);
    // Then the timeout at the pass after: the watch polled once more, or twice when a pass had begun before
    // it (judged by the deadline it began with); a deadline counted anew from that look would take three.
    expect(polls(h, last, inForceAt)).toBeLessThanOrEqual(2);
    await stop(daemon);
  });

  it('keeps a deadline that a cut file shortened until the file holds still', async ({ h }) => {
    const watches = longWatches(h, 3);
    const last = watches[2] as WatchEntry & { serverId: string };
    const { path, daemon } = await startOn(h, watches);
    // A writer that stalls past the daemon's wait, with the last watch cut after its ids, until the cut is
    // read; then it writes the rest, well before the next look (2 s later) could confirm the cut.
    await readCut(daemon, path, watchFile(h, watches), last.serverId);
    expect(daemon.output()).toContain('reloaded watch file changes watch settings');
    await writeFile(path, watchFile(h, watches));
    // The whole file, read once it is still, gives the watch its own deadline back: no timeout meanwhile.
    await waitUntil(() => logLines(daemon, 'watch list reloaded').length >= 2, 15_000);
    expect(verdicts(h, daemon)).toEqual({ logged: [], notified: [] });
    expect(daemon.output()).not.toContain(IN_FORCE);
    await stop(daemon);
  });

  it('gives up nothing owed to a notifier that a cut file cut short (its headers cut off), before the file holds still', async ({ h, onTestFinished }) => {
    // A receiver that takes only what carries its token, and refuses the rest for good (401).
    const taken: string[] = [];
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const ok = req.headers['x-token'] === 'ok';
        if (ok) taken.push(String(req.headers['webhook-id']));
        res.writeHead(ok ? 204 : 401).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    onTestFinished(() => void receiver.close());
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/ecs`;
    const ids = newIds();
    const late = { ...ids, name: 'late', extra: '    notify: [chat]' };
    const text = h.yaml([late], { notifiers: ['  chat:', '    type: webhook', `    url: ${url}`, '    headers: { X-Token: ok }'].join('\n') });
    const path = await h.writeConfig(text);
    const daemon = startDaemon(path, h.env);
    expect(await daemon.saw('started')).toBe(true);
    // Read cut after chat's url: its header, and everything after it, cut off.
    await writeFile(path, text.slice(0, text.indexOf('\n', text.indexOf(`    url: ${url}`)) + 1));
    await waitUntil(() => /"msg":"(watch file reloaded|reloaded watch file)/.test(daemon.output()), 15_000);
    // The writer goes on, so no look finds the file whole again (nor confirms the cut) before the verdict,
    // judged at the next pass and delivered at once.
    const stopWriting = keepCut(path);
    h.simulator.addAction(quickAction({ ...ids, steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] }));
    try {
      await waitUntil(() => taken.length > 0 || daemon.output().includes('"msg":"delivery given up"'), 15_000);
    } finally {
      await stopWriting();
    }
    await h.writeConfig(text);
    await stop(daemon);
    expect(daemon.output()).not.toContain('"msg":"delivery given up"');
    expect(taken).toHaveLength(1);
    expect(daemon.output()).toContain('reloaded watch file changes more than its watches and track entries: applied once the next look at the file (in 2 s) finds it unchanged');
  });

  it('sends a verdict that comes while a cut file is held to the notifiers the watch had, not to every one', async ({ h }) => {
    const watches = longWatches(h, 2);
    // An action the cloud shows only later (a create before scheduling): its verdict comes when the test says.
    const ids = newIds();
    const late = { ...ids, name: 'late', extra: OWN };
    const { path, daemon } = await startOn(h, [...watches, late]);
    // Read cut: the late watch without its `notify: [chat]` (every notifier) and its deadline.
    await readCut(daemon, path, watchFile(h, [...watches, late]), late.serverId);
    // The writer goes on, so no look confirms the cut before the verdict: finished now, judged at the next pass.
    const stopWriting = keepCut(path);
    h.simulator.addAction(quickAction({ ...ids, steps: [{ event: 'compute_reboot_instance', durationMs: 0 }] }));
    try {
      await waitUntil(() => notifiersOwed(daemon, late) !== undefined, 15_000);
    } finally {
      await stopWriting();
    }
    expect(daemon.output()).not.toContain(IN_FORCE);
    expect(notifiersOwed(daemon, late)).toEqual(['chat']);
    await waitUntil(() => h.hooks.received.length > 0, 15_000);
    expect(verdicts(h, daemon)).toEqual({ logged: [{ requestId: late.requestId, outcome: 'success' }], notified: [{ requestId: late.requestId, outcome: 'success' }] });
    expect(h.mail.received).toHaveLength(0);
    // Said at warn, with what is held of the watch: as the file had it, and as the cut reads.
    expect(logLines(daemon, 'reloaded watch file changes watch settings')[0]).toMatchObject({
      watches: 1,
      shown: [{ requestId: late.requestId, held: ['name', 'notify', 'deadline'], kept: { name: 'late', notify: ['chat'], deadline: '1 h' }, reloaded: { deadline: '100 ms' } }],
    });
    await stop(daemon);
  });
});
