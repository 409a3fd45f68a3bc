import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { ActionScript } from '../../src/simulator/index.ts';
import { targetsOf } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { watchKey } from '../../src/state/store.ts';
import type { ActionWatchRecord } from '../../src/state/types.ts';
import { Harness, PROJECT, SECRETS, SMTP_PASSWORD, WEBHOOK_SECRET, advance, newIds, oneCharacterOff, quickAction, type WatchEntry } from './harness.ts';
import { SENDS_PER_NOTIFIER } from '../../src/notify/types.ts';
import { stateFiles, stateOnDisk } from '../state/onDisk.ts';
import { eventually } from '../eventually.ts';

const resize = (): ActionScript & { requestId: string } => ({
  projectId: PROJECT,
  ...newIds(),
  action: 'resize',
  gapMs: 1000,
  steps: [
    { event: 'compute_prep_resize', durationMs: 1000, taskState: 'resize_prep' },
    { event: 'compute_resize_instance', durationMs: 1000, taskState: 'resize_migrating' },
    { event: 'compute_finish_resize', durationMs: 1000, taskState: 'resize_finish' },
  ],
  taskStateClearsAfterMs: 500,
});
const failedCreate = (): ActionScript & { requestId: string } => ({
  projectId: PROJECT,
  ...newIds(),
  action: 'create',
  steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000, result: 'Error', traceback: 'Traceback (most recent call last):\n  File "manager.py", line 1\nBuildAbortException: disk full\n', details: 'BuildAbortException: disk full' }],
  fault: { code: 500, message: 'Build of instance aborted: disk full' },
});
const stuckReboot = (): ActionScript & { requestId: string } => ({
  projectId: PROJECT,
  ...newIds(),
  action: 'reboot',
  steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }],
  neverFinishes: true,
});

const entry = (s: ActionScript & { requestId: string }, name: string, extra?: string): WatchEntry => ({ requestId: s.requestId, serverId: s.serverId, name, ...(extra ? { extra } : {}) });

let h: Harness;
beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  h = await Harness.start({ role: 'admin' });
});
afterEach(async () => {
  await h.close();
  vi.useRealTimers();
});

/** A resize that finishes while its webhook receiver is down, `ms` into the app that polls it: its webhook is owed. */
async function owedResize(ms: number) {
  const ok = resize();
  h.simulator.addAction(ok);
  // Down, but still holding its port: a port set free may be taken by another file's server meanwhile
  // (a simulator answering 401, which gives the delivery up).
  h.hooks.setAnswer({ status: 503 });
  const yaml = h.yaml([entry(ok, 'resize')]);
  const first = await h.app(yaml);
  await advance(first, ms);
  return { yaml, first };
}

/** A resize whose webhook is owed, then the parts of the same file without chat, after one attempt. */
async function owedToChatThenWithout(options: { reloadedAway?: Set<string> } = {}) {
  const { yaml, first } = await owedResize(8000);
  await first.close();
  const withoutChat = yaml.replace(/ {2}chat:\n( {4}.*\n)+/, '');
  expect(withoutChat).not.toContain('type: webhook');
  const second = await h.app(withoutChat, options);
  vi.setSystemTime(Date.now() + 1000);
  await second.outbox.flush();
  return { yaml, withoutChat, second };
}

/** The file whole again, chat at a receiver of the test's: the delivery held for chat is sent, once. */
async function sentOnceChatIsBack(yaml: string): Promise<void> {
  const { startWebhookSink } = await import('../../src/sinks/webhookSink.ts');
  const sink = await startWebhookSink();
  try {
    const back = await h.app(yaml.replace(/url: .*/, `url: ${sink.url}`));
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await back.outbox.flush();
    expect(sink.received).toHaveLength(1);
    const delivered = back.store.entries()[0]![1].deliveries['chat']!;
    expect(delivered).toMatchObject({ status: 'delivered' });
    expect(delivered).not.toHaveProperty('heldSince');
  } finally {
    await sink.close();
  }
}

describe('the core loop against the simulator', () => {
  it('keeps each step a running action starts, in memory and on disk, though the poll that sees it reads nothing else', async () => {
    const ok = resize();
    h.simulator.addAction(ok);
    const app = await h.app(h.yaml([entry(ok, 'resize')]));
    const eventsNow = () => {
      const onDisk = stateOnDisk(join(h.dir, 'state', 'state.json')) as { watches: Record<string, ActionWatchRecord> };
      return [app.store.get(watchKey(ok)), onDisk.watches[watchKey(ok)]].map((r) => (r as ActionWatchRecord).instanceAction?.events?.map((e) => [e.event, e.finish_time !== null]).sort());
    };
    // Between the first step's end (1 s) and the second's start (2 s), a poll reads the server; once the
    // second runs, a poll reads the action alone, and what it keeps of it is all that changed.
    await advance(app, 1500);
    await advance(app, 1000);
    expect(eventsNow()).toEqual(Array.from({ length: 2 }, () => [['compute_prep_resize', true], ['compute_resize_instance', false]]));
  });

  it('answers a pass asked for while a scheduled one runs with what each of its own polls found', async () => {
    // The daemon's scheduled passes keep nothing of their polls; one asked for (check, wait) needs it all.
    const ok = resize();
    h.simulator.addAction(ok);
    const app = await h.app(h.yaml([entry(ok, 'resize')]));
    const first = app.engine.start();
    const statuses = await app.engine.pollOnce();
    await first;
    expect(statuses.map((s) => [watchKey(s.target), s.state])).toEqual([[watchKey(ok), 'pending']]);
  });

  it('calls firstPassPolled once, when the first pass has polled every watch, before its save writes them', async () => {
    // The daemon has V8 collect there what the pass left (daemonV8.ts): not before the last poll, not after the save.
    const actions = [resize(), resize(), resize()];
    for (const action of actions) h.simulator.addAction(action);
    const statePath = join(h.dir, 'state', 'state.json');
    const calls: Array<{ polled: number; saved: number }> = [];
    const polled = () => new Set(h.simulator.requests.filter((r) => r.route === 'action').map((r) => r.path)).size;
    const saved = () => Object.keys(stateOnDisk(statePath).watches).length;
    const app = await h.app(h.yaml(actions.map((action, i) => entry(action, `resize ${i}`))), {
      firstPassPolled: () => calls.push({ polled: polled(), saved: saved() }),
    });
    await app.engine.start();
    await app.engine.pollOnce();
    expect(calls).toEqual([{ polled: 3, saved: 0 }]);
    expect(saved()).toBe(3);
  });

  it('begins no pass for a caller that waited on a scheduled one once the engine has begun to close', async () => {
    const ok = resize();
    h.simulator.addAction(ok);
    const app = await h.app(h.yaml([entry(ok, 'resize')]));
    void app.engine.start();
    const asked = app.engine.pollOnce();
    await app.engine.close();
    const requests = h.simulator.requests.length;
    expect(await asked).toEqual([]);
    expect(h.simulator.requests.length).toBe(requests);
  });

  it('lets the pass in flight at close finish and keep what its polls found, while the drain lasts', async () => {
    const ok = quickAction();
    h.simulator.addAction(ok);
    const app = await h.app(h.yaml([entry(ok, 'reboot')]));
    vi.setSystemTime(Date.now() + 5000);
    // The pass is still reading the action when close() comes.
    h.simulator.injectFault({ kind: 'slow', delayMs: 300 }, { route: 'action', times: 1 });
    const pass = app.engine.pollOnce();
    await app.engine.close(new AbortController().signal);
    expect((await pass).map((s) => s.state)).toEqual(['success']);
    expect(app.engine.allDone()).toBe(true);
  });

  it('opens no more connections to the cloud than poll.concurrency, and keeps them', async () => {
    // Each of the pass's workers sends its next poll as its last answer ends, before undici has handed that
    // connection back: unbounded, the pool opened a connection for it.
    const reboots = Array.from({ length: 40 }, stuckReboot);
    for (const r of reboots) h.simulator.addAction(r);
    const app = await h.app(h.yaml(reboots.map((r, i) => entry(r, `r${i}`)), { poll: '  schedule: "* * * * * *"\n  concurrency: 4' }));
    for (let pass = 0; pass < 3; pass++) await advance(app, 1000, 1000);
    const polls = h.simulator.requests.filter((r) => r.route === 'action');
    expect(polls.length).toBeGreaterThanOrEqual(120);
    expect(new Set(polls.map((r) => r.connection)).size).toBeLessThanOrEqual(4);
  });

  it('opens no more connections to a webhook receiver than the outbox has sends in flight to it', async () => {
    const reboots = Array.from({ length: SENDS_PER_NOTIFIER * 2 }, () => quickAction());
    for (const r of reboots) h.simulator.addAction(r);
    const chatOnly = ['  chat:', '    type: webhook', `    url: ${h.hooks.url}`].join('\n');
    const app = await h.app(h.yaml(reboots.map((r, i) => entry(r, `r${i}`)), { poll: '  schedule: "* * * * * *"\n  concurrency: 64', notifiers: chatOnly }));
    await advance(app, 1000);
    await eventually(() => expect(h.hooks.received).toHaveLength(reboots.length), { interval: 5, timeout: 10_000 });
    expect(new Set(h.hooks.received.map((r) => r.connection)).size).toBeLessThanOrEqual(SENDS_PER_NOTIFIER);
  });

  it('sends a wave of mails over no more SMTP sessions at once than smtp.connections, each at its first attempt', async () => {
    // A relay that takes 3 sessions from one client, as hosted ones cap it, says 421 to a fourth.
    const { startMailSink } = await import('../../src/sinks/mailSink.ts');
    const sink = await startMailSink({ smtp: { maxClients: 3 } });
    try {
      const reboots = Array.from({ length: 12 }, () => quickAction());
      for (const r of reboots) h.simulator.addAction(r);
      const notifiers = ['  ops-mail:', '    type: email', `    smtp: { host: 127.0.0.1, port: ${sink.port} }`, '    from: ecs-watch@example.com', '    to: [ops@example.com]'].join('\n');
      const app = await h.app(h.yaml(reboots.map((r, i) => entry(r, `r${i}`)), { poll: '  schedule: "* * * * * *"\n  concurrency: 64', notifiers }));
      await advance(app, 1000);
      await eventually(() => expect(sink.received).toHaveLength(reboots.length), { interval: 5, timeout: 10_000 });
      await app.outbox.flush();
      expect(app.store.entries().map(([, record]) => record.deliveries['ops-mail']?.attempts)).toEqual(reboots.map(() => 1));
    } finally {
      await sink.close();
    }
  });

  it('records what its polls see in the record the state holds, after the record they saw before left the state', async () => {
    // The engine keeps each watch's record beside the watch rather than look it up at every poll.
    const ok = resize();
    h.simulator.addAction(ok);
    const app = await h.app(h.yaml([entry(ok, 'resize')]));
    await app.engine.pollOnce();
    const before = app.store.get(watchKey(ok));
    expect(before?.everFound).toBe(true);
    app.store.delete(watchKey(ok));
    await advance(app, 8000);
    const after = app.store.get(watchKey(ok));
    expect(after).not.toBe(before);
    expect(after?.verdict?.outcome).toBe('success');
  });

  it('has the records of running watches share one memory of what their polls saw, also as read back after a restart', async () => {
    const reboots = [stuckReboot(), stuckReboot()];
    for (const r of reboots) h.simulator.addAction(r);
    const yaml = h.yaml(reboots.map((r, i) => entry(r, `reboot ${i}`)));
    const observed = (app: Awaited<ReturnType<Harness['app']>>) => reboots.map((r) => (app.store.get(watchKey(r)) as ActionWatchRecord).observed);
    const first = await h.app(yaml);
    await advance(first, 3000);
    const [one, other] = observed(first);
    expect(one).toMatchObject({ firstNotFoundAt: null, serverGoneSince: null, migrationsReadable: null, stallCheckedAt: null });
    expect(other).toBe(one);
    await first.close();
    const second = await h.app(yaml);
    const [readOne, readOther] = observed(second);
    expect(readOne).toStrictEqual(one);
    expect(readOther).toBe(readOne);
  });

  it('notifies each outcome exactly once, signed, by webhook and mail, and never before the last step', async () => {
    const ok = resize();
    const bad = failedCreate();
    const stuck = stuckReboot();
    for (const s of [ok, bad, stuck]) h.simulator.addAction(s);
    const app = await h.app(h.yaml([entry(ok, 'resize web-01'), entry(bad, 'create db-01'), entry(stuck, 'reboot cache-01', '    deadline: 20s')]));

    await advance(app, 4000);
    // The resize's third step ends at 5 s (three 1 s steps, two 1 s gaps): nothing may be reported yet.
    expect(app.store.get(watchKey(ok))?.verdict).toBeNull();
    await advance(app, 20_000);
    expect(app.engine.allDone()).toBe(true);

    const byType = h.hooks.received.map((r) => (r.body as { type: string }).type).sort();
    expect(byType).toEqual(['ecs.action.failed', 'ecs.action.succeeded', 'ecs.action.timed_out']);
    expect(h.mail.received.map((m) => m.subject).sort()).toEqual([
      '[ecs-action-watch] create failed: create db-01',
      '[ecs-action-watch] reboot timed out: reboot cache-01',
      '[ecs-action-watch] resize succeeded: resize web-01',
    ]);
    for (const m of h.mail.received) expect(m.to).toEqual(['ops@example.com', 'oncall@example.com']);

    const wh = new Webhook(WEBHOOK_SECRET);
    for (const hook of h.hooks.received) {
      expect(hook.headers['content-type']).toBe('application/json');
      expect(() => wh.verify(hook.raw, hook.headers as Record<string, string>)).not.toThrow();
    }
    const succeeded = h.hooks.received.find((r) => (r.body as { outcome: string }).outcome === 'success')!.body as {
      instanceAction: { events: Array<{ finish_time: string | null }> };
      watch: Record<string, string>;
    };
    expect(succeeded.instanceAction.events).toHaveLength(3);
    expect(succeeded.instanceAction.events.every((e) => e.finish_time !== null)).toBe(true);
    expect(succeeded.watch).toEqual({ name: 'resize web-01', projectId: PROJECT, serverId: ok.serverId, requestId: ok.requestId });

    const failed = h.hooks.received.find((r) => (r.body as { outcome: string }).outcome === 'failure')!.body as { reason: string; server: { status: string } };
    expect(failed.reason).toContain('BuildAbortException: disk full');
    expect(failed.server.status).toBe('ERROR');
    const failMail = h.mail.received.find((m) => m.subject.includes('failed'))!;
    expect(failMail.raw).toContain('BuildAbortException: disk full');

    // Nothing more is sent however long the daemon keeps running.
    await advance(app, 5000);
    expect(h.hooks.received).toHaveLength(3);
    expect(h.mail.received).toHaveLength(3);
    for (const secret of SECRETS) expect(h.logs.text).not.toContain(secret);
    // Each delivery's log line names its watch as the engine's lines do: grep by name or id finds both.
    const delivered = h.logs.lines().filter((l) => l['msg'] === 'notification delivered' && l['requestId'] === ok.requestId);
    expect(delivered.map((l) => [l['notifier'], l['watch'], l['serverId'], l['projectId']]).sort()).toEqual([
      ['chat', 'resize web-01', ok.serverId, PROJECT],
      ['ops-mail', 'resize web-01', ok.serverId, PROJECT],
    ]);
  });

  it('never re-notifies after a restart, and resumes tracking where it left off', async () => {
    const ok = resize();
    const stuck = stuckReboot();
    h.simulator.addAction(ok);
    h.simulator.addAction(stuck);
    const yaml = h.yaml([entry(ok, 'resize'), entry(stuck, 'stuck', '    deadline: 30s')]);
    const first = await h.app(yaml);
    await advance(first, 10_000);
    await first.close();
    expect(h.hooks.received).toHaveLength(1);

    const second = await h.app(yaml);
    await advance(second, 10_000);
    // The deadline counts from when tracking began in the first process, not from the restart.
    expect(h.hooks.received).toHaveLength(1);
    await advance(second, 12_000);
    expect(h.hooks.received.map((r) => (r.body as { outcome: string }).outcome)).toEqual(['success', 'timeout']);
    expect(h.mail.received).toHaveLength(2);
  });

  it('loses and duplicates nothing through 500, 429 with Retry-After, garbage JSON, resets and a slow answer', async () => {
    const ok = resize();
    const bad = failedCreate();
    h.simulator.addAction(ok);
    h.simulator.addAction(bad);
    h.simulator.injectFault({ kind: 'server-error' }, { route: 'action', times: 2 });
    h.simulator.injectFault({ kind: 'rate-limited', retryAfterSeconds: 1 }, { pathIncludes: ok.requestId });
    h.simulator.injectFault({ kind: 'garbage' }, { pathIncludes: bad.requestId });
    h.simulator.injectFault({ kind: 'reset' }, { pathIncludes: ok.requestId });
    h.simulator.injectFault({ kind: 'slow', delayMs: 2000 }, { pathIncludes: bad.requestId });
    const app = await h.app(h.yaml([entry(ok, 'resize'), entry(bad, 'create')]));
    await advance(app, 12_000, 1000);
    expect(h.simulator.pendingFaults).toBe(0);
    expect(app.engine.allDone()).toBe(true);
    expect(h.hooks.received.map((r) => (r.body as { outcome: string }).outcome).sort()).toEqual(['failure', 'success']);
    expect(h.mail.received).toHaveLength(2);
    const statuses = h.simulator.requests.map((r) => r.status);
    expect(statuses).toContain(500);
    expect(statuses).toContain(429);
  });

  it('delivers once through a webhook receiver that answers 503 twice', async () => {
    const ok = resize();
    h.simulator.addAction(ok);
    h.hooks.failNext(503, 503);
    const app = await h.app(h.yaml([entry(ok, 'resize')]));
    await advance(app, 10_000);
    expect(h.hooks.received.map((r) => r.status)).toEqual([503, 503, 204]);
    const ids = new Set(h.hooks.received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect(h.mail.received).toHaveLength(1);
  });

  it('writes nothing for a pass that changed nothing, and keeps of a delivered watch only what stops a second notification', async () => {
    const ok = resize();
    const stuck = stuckReboot();
    for (const s of [ok, stuck]) h.simulator.addAction(s);
    const yaml = h.yaml([entry(ok, 'resize'), entry(stuck, 'reboot')]);
    const first = await h.app(yaml);
    await advance(first, 10_000);
    expect(h.hooks.received).toHaveLength(1);
    const statePath = join(h.dir, 'state', 'state.json');
    const saved = stateOnDisk(statePath) as { watches: Record<string, ActionWatchRecord> };
    const [done, pending] = [ok, stuck].map((s) => Object.values(saved.watches).find((r) => r.requestId === s.requestId)!);
    expect(done).toMatchObject({ verdict: { outcome: 'success' }, instanceAction: null, server: null, deliveries: { chat: { status: 'delivered' }, 'ops-mail': { status: 'delivered' } } });
    expect(pending!.instanceAction?.action).toBe('reboot');
    expect(first.store.get(watchKey(ok))).toMatchObject({ instanceAction: null, server: null });

    const writes = async () => (await first.metrics.registry.getSingleMetric('ecs_action_watch_state_writes_total')!.get()).values.reduce((sum, v) => sum + v.value, 0);
    const before = stateFiles(statePath);
    const writesBefore = await writes();
    expect(writesBefore).toBeGreaterThan(0);
    await advance(first, 2000);
    expect(stateFiles(statePath)).toEqual(before);
    expect(await writes()).toBe(writesBefore);
    await first.close();

    const second = await h.app(yaml);
    await advance(second, 2000);
    expect(h.hooks.received).toHaveLength(1);
    expect(h.mail.received).toHaveLength(1);
  });

  it('keeps a pending delivery across a restart and sends it when the receiver is back', async () => {
    const { yaml, first } = await owedResize(10_000);
    const record = first.store.entries()[0]![1];
    expect(record.deliveries['chat']).toMatchObject({ status: 'pending' });
    expect(record.deliveries['chat']!.attempts).toBeGreaterThan(1);
    expect(record.deliveries['chat']!.lastError).toMatch(/answered 503 Service Unavailable/);
    expect(record.deliveries['ops-mail']).toMatchObject({ status: 'delivered', attempts: 1 });
    await first.close();

    // The receiver comes back on a new port: the file is updated, the outcome is still owed.
    const { startWebhookSink } = await import('../../src/sinks/webhookSink.ts');
    const sink = await startWebhookSink();
    try {
      const second = await h.app(yaml.replace(/url: .*/, `url: ${sink.url}`));
      await advance(second, 2000);
      expect(sink.received).toHaveLength(1);
      expect((sink.received[0]!.body as { outcome: string }).outcome).toBe('success');
      expect(h.mail.received).toHaveLength(1);
    } finally {
      await sink.close();
    }
  });

  it('sends a mail again, with its Message-ID, to the recipients the server put off with a 4xx while it took it for the others, also after a restart', async () => {
    const ok = resize();
    h.simulator.addAction(ok);
    let greylisting = true;
    const { startMailSink } = await import('../../src/sinks/mailSink.ts');
    const sink = await startMailSink({
      smtp: {
        onRcptTo: (address, _session, callback) =>
          callback(greylisting && address.address === 'oncall@example.com' ? Object.assign(new Error('4.7.1 Greylisted, try again later'), { responseCode: 451 }) : null),
      },
    });
    try {
      const notifiers = ['  ops-mail:', '    type: email', `    smtp: { host: 127.0.0.1, port: ${sink.port} }`, '    from: ecs-watch@example.com', '    to: [ops@example.com, "On Call <oncall@example.com>"]'].join('\n');
      const yaml = h.yaml([entry(ok, 'resize')], { notifiers });
      const first = await h.app(yaml);
      await advance(first, 8000);
      expect(sink.received.map((m) => m.to)).toEqual([['ops@example.com']]);
      const owed = first.store.entries()[0]![1].deliveries['ops-mail']!;
      expect(owed).toMatchObject({ status: 'pending', lastError: expect.stringContaining('451 4.7.1 Greylisted, try again later'), owedTo: ['oncall@example.com'] });
      expect(owed.attempts).toBeGreaterThan(1);
      const retries = h.logs.lines().filter((l) => l['msg'] === 'delivery failed; will retry').map((l) => l['error']);
      expect(retries[0]).toMatch(/^email ops-mail: 127\.0\.0\.1:\d+ took the message \(250 .*\) but refused oncall@example\.com: 451 4\.7\.1 Greylisted, try again later$/);
      await first.close();

      greylisting = false;
      const second = await h.app(yaml);
      await advance(second, 1000);
      expect(sink.received.map((m) => m.to)).toEqual([['ops@example.com'], ['oncall@example.com']]);
      expect(sink.received[1]!.messageId).toBe(sink.received[0]!.messageId);
      expect(second.store.entries()[0]![1].deliveries['ops-mail']).toMatchObject({ status: 'delivered' });
    } finally {
      await sink.close();
    }
  });

  it('tries at once what is owed to a notifier a reload changed, where a restart resumes its backoff', async () => {
    const { yaml, first } = await owedResize(8000);
    await first.close();
    const { startWebhookSink } = await import('../../src/sinks/webhookSink.ts');
    const mended = await startWebhookSink();
    try {
      const fixed = yaml.replace(/url: .*/, `url: ${mended.url}`);
      // Parts made as at a start: the backoff its failures built up holds.
      const restarted = await h.app(fixed);
      expect(restarted.store.entries()[0]![1].deliveries['chat']!.nextAttemptAt).not.toBeNull();
      await restarted.outbox.flush();
      expect(mended.received).toHaveLength(0);
      await restarted.close();
      // Parts made as the daemon makes them at a reload that changed chat's URL.
      const reloaded = await h.app(fixed, { retunedNotifiers: new Set(['chat']) });
      await reloaded.outbox.flush();
      expect(mended.received).toHaveLength(1);
      expect(reloaded.store.entries()[0]![1].deliveries['chat']).toMatchObject({ status: 'delivered' });
    } finally {
      await mended.close();
    }
  });

  it('gives up, with the reason, a delivery owed to a notifier removed from the file between runs', async () => {
    const { second } = await owedToChatThenWithout();
    expect(second.store.entries()[0]![1].deliveries['chat']).toMatchObject({ status: 'given_up', lastError: 'notifier chat is no longer configured' });
    expect(h.logs.lines().some((l) => l['msg'] === 'delivery given up' && l['notifier'] === 'chat')).toBe(true);
  });

  it('keeps a delivery owed to a notifier a reload took out of the file across a restart before the notifier is back', async () => {
    const { yaml, withoutChat, second } = await owedToChatThenWithout({ reloadedAway: new Set(['chat']) });
    expect(second.store.entries()[0]![1].deliveries['chat']).toMatchObject({ status: 'pending', heldSince: expect.any(String) });
    await second.close();
    // A new process (a crash, a restart) with the file still without chat: nothing of the reload in memory.
    const restarted = await h.app(withoutChat);
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await restarted.outbox.flush();
    expect(restarted.store.entries()[0]![1].deliveries['chat']).toMatchObject({ status: 'pending', lastError: expect.stringMatching(/taken out of the watch file; kept until delivery\.maxAge/) });
    await restarted.close();
    await sentOnceChatIsBack(yaml);
  });

  it('keeps a delivery owed to a notifier a reload took out of the file, and sends it when the notifier is back', async () => {
    // The parts a reload starts from a file read half-written, without chat.
    const { yaml, second } = await owedToChatThenWithout({ reloadedAway: new Set(['chat']) });
    expect(second.store.entries()[0]![1].deliveries['chat']).toMatchObject({
      status: 'pending', lastError: 'notifier chat was taken out of the watch file; kept until delivery.maxAge in case it comes back',
    });
    await second.close();

    // The file complete again: the outcome is sent after all.
    await sentOnceChatIsBack(yaml);
  });

  it('sends an outcome only once the save that records it has succeeded', async () => {
    const { mkdir, readFile, rm, writeFile } = await import('node:fs/promises');
    const ok = resize();
    h.simulator.addAction(ok);
    const app = await h.app(h.yaml([entry(ok, 'resize')]));
    app.outbox.start();
    const stateDir = join(h.dir, 'state');
    await advance(app, 1000);
    // Kept, as a full or read-only volume keeps it: a daemon whose lock is gone stops, as another's now.
    const lock = await readFile(join(stateDir, 'state.json.lock'));
    // The state folder becomes unwritable (here: a file takes its place), as a full or read-only volume would.
    await rm(stateDir, { recursive: true });
    await writeFile(stateDir, 'not a folder');
    for (let t = 0; t < 8000; t += 500) {
      vi.setSystemTime(Date.now() + 500);
      await app.engine.pollOnce();
      await app.outbox.flush();
    }
    expect(app.engine.allDone()).toBe(true);
    expect(h.hooks.received).toHaveLength(0);
    expect(h.mail.received).toHaveLength(0);
    // Sixteen passes of failed saves, one error line: a full volume is one condition.
    expect(h.logs.lines().filter((l) => Number(l['level']) >= 50).map((l) => l['msg'])).toEqual(['state could not be saved: no new verdict or delivery is recorded, nor sent, until a save succeeds (deliveries saved before go on); saves are tried again at each pass and delivery']);

    await rm(stateDir);
    await mkdir(stateDir);
    await writeFile(join(stateDir, 'state.json.lock'), lock);
    await advance(app, 500);
    await eventually(() => expect(h.hooks.received).toHaveLength(1));
    expect(h.logs.lines().filter((l) => l['msg'] === 'state saved again: what waited for it is recorded and sent')).toHaveLength(1);
    const onDisk = stateOnDisk(join(stateDir, 'state.json')) as { watches: Record<string, { verdict: { outcome: string } }> };
    expect(Object.values(onDisk.watches)[0]!.verdict.outcome).toBe('success');
  });

  it('writes nothing when a pass changed nothing', async () => {
    const stuck = stuckReboot();
    h.simulator.addAction(stuck);
    const app = await h.app(h.yaml([entry(stuck, 'stuck', '    deadline: 1h')]));
    await advance(app, 1000);
    const before = stateFiles(join(h.dir, 'state', 'state.json'));
    expect(Object.keys(before)).toEqual(['state.json.journal']);
    await advance(app, 3000);
    expect(stateFiles(join(h.dir, 'state', 'state.json'))).toEqual(before);
  });

  // Taken out of the file before its outcome (a pipeline that adds a watch and removes it once its own step is
  // done), a watch is polled no more and no outcome is to come: kept for good, each such record was one more
  // in the state file, in memory and in every snapshot for as long as the daemon ran.
  it.each([
    { what: 'a finished, notified watch once it has left the file and state.retention has passed', action: resize, extra: undefined, runMs: 10_000, notified: 2 },
    { what: 'a watch taken out of the file before its outcome state.retention after tracking began', action: stuckReboot, extra: '    deadline: 2d', runMs: 2000, notified: 0 },
  ])('forgets $what', async ({ action, extra, runMs, notified }) => {
    const gone = action();
    const kept = action();
    h.simulator.addAction(gone);
    h.simulator.addAction(kept);
    const app = await h.app(h.yaml([entry(gone, 'gone', extra), entry(kept, 'kept', extra)]).replace(/( {2}path: .*state\.json)/, '$1\n  retention: 1d'));
    await advance(app, runMs);
    expect(app.engine.allSettled()).toBe(notified > 0);
    app.engine.setWatches(app.engine.watches().filter((w) => watchKey(w) === watchKey(kept)));
    await advance(app, 1000);
    expect(app.store.size).toBe(2);
    vi.setSystemTime(Date.now() + 86_400_000);
    await advance(app, 1000);
    expect(app.store.entries().map(([key]) => key)).toEqual([watchKey(kept)]);
    expect(h.hooks.received).toHaveLength(notified);
  });

  it('never writes a chat webhook token into the state file or the logs', async () => {
    const ok = resize();
    h.simulator.addAction(ok);
    const token = 'T0KEN-in-the-path-9f8e7d';
    // A path the receiver does not serve: its 404 quotes the path, token and all.
    const url = h.hooks.url.replace('/hooks/ecs', `/services/T01/B02/${token}`);
    const app = await h.app(h.yaml([entry(ok, 'resize')], { notifiers: `  chat:\n    type: webhook\n    url: ${url}` }));
    await advance(app, 8000);
    const state = JSON.stringify(stateOnDisk(join(h.dir, 'state', 'state.json')));
    expect(state).toContain('/services/… answered 404 Not Found: {\\"error\\":\\"no webhook receiver at <hidden>');
    expect(state + h.logs.text).not.toContain(token);
  });

  it('never writes the SMTP password into the state file or the logs when the mail server echoes it in its replies', async () => {
    const { startMailSink } = await import('../../src/sinks/mailSink.ts');
    const ok = resize();
    h.simulator.addAction(ok);
    let login = '';
    const echo = (what: string) => `${what} (logged in as ops:${login})`;
    const sink = await startMailSink({
      smtp: {
        authOptional: false,
        allowInsecureAuth: true,
        onAuth(auth, _session, callback) {
          login = auth.password ?? '';
          callback(null, { user: auth.username });
        },
        onRcptTo: (address, _session, callback) =>
          callback(address.address === 'oncall@example.com' ? Object.assign(new Error(echo('4.7.1 Greylisted')), { responseCode: 451 }) : null),
        onData(stream, _session, callback) {
          stream.resume();
          stream.on('end', () => callback(null, echo('Queued')));
        },
      },
    });
    try {
      const smtp = ['    smtp:', '      host: 127.0.0.1', `      port: ${sink.port}`, '      user: ops', '      password: ${SMTP_PASSWORD}'];
      const notifiers = ['  ops-mail:', '    type: email', ...smtp, '    from: ecs-watch@example.com', '    to: [ops@example.com, oncall@example.com]'].join('\n');
      const app = await h.app(h.yaml([entry(ok, 'resize')], { notifiers }));
      await advance(app, 8000);
      expect(login).toBe(SMTP_PASSWORD);
      const state = JSON.stringify(stateOnDisk(join(h.dir, 'state', 'state.json')));
      // The first attempt reached ops@ and was put off for oncall@; the later ones, to oncall@ alone, were too.
      expect(h.logs.text).toContain('took the message (250 Queued (logged in as ops:<hidden>)) but refused oncall@example.com: 451 4.7.1 Greylisted (logged in as ops:<hidden>)');
      expect(state).toContain('answered 451 4.7.1 Greylisted (logged in as ops:<hidden>) (RCPT TO)');
      expect(state + h.logs.text).not.toContain(SMTP_PASSWORD);
    } finally {
      await sink.close();
    }
  });

  it('ends as not_found when the API answers 404 for two minutes, and not before', async () => {
    const ids = newIds();
    const app = await h.app(h.yaml([{ ...ids, name: 'ghost' }]));
    await advance(app, 110_000, 10_000);
    expect(app.engine.allDone()).toBe(false);
    await advance(app, 20_000, 10_000);
    expect(app.engine.allDone()).toBe(true);
    expect(h.hooks.received.map((r) => (r.body as { type: string }).type)).toEqual(['ecs.action.not_found']);
    // The server is unknown too: its action list answers 404 (no hint of a listed action), and the server
    // read says it is gone.
    expect((h.hooks.received[0]!.body as { reason: string }).reason).toMatch(/^the API answered "not found" to \d+ polls over [^;]+: Instance \S+ could not be found\.; its server is not found either: deleted \(.*\) or the server id is wrong$/);
  });

  it('with a not_found, names the request id of the same server it most likely meant', async () => {
    const ok = resize();
    h.simulator.addAction(ok);
    const typo = oneCharacterOff(ok.requestId);
    const app = await h.app(h.yaml([{ requestId: typo, serverId: ok.serverId, name: 'typo' }]));
    await advance(app, 130_000, 10_000);
    expect(app.engine.allDone()).toBe(true);
    const bodies = h.hooks.received.map((r) => r.body as { type: string; reason: string });
    expect(bodies.map((b) => b.type)).toEqual(['ecs.action.not_found']);
    expect(bodies[0]!.reason).toContain(`Action ${typo} not found; did you mean resize ${ok.requestId} (started `);
  });

  it('keeps the reason one line when the fault, an event\'s details or a job\'s fail_reason the API gives span lines', async () => {
    const crashed: ActionScript & { requestId: string } = {
      ...failedCreate(),
      steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1000, result: 'Error', details: 'libvirtError: internal error:\nqemu exited' }],
      fault: { code: 500, message: 'internal error: process exited while connecting to monitor:\r\n  qemu-system-x86_64: Could not open disk\n' },
    };
    h.simulator.addAction(crashed);
    const job = h.simulator.addJob({
      projectId: PROJECT,
      jobType: 'createServer',
      subJobs: [{ serverId: 'srv-quota', durationMs: 1000, result: 'FAIL', errorCode: 'Ecs.0039', failReason: 'Insufficient EVS disk quota.\nIncrease the quota.' }],
    });
    const app = await h.app(h.yaml([entry(crashed, 'create db-02'), { jobId: job, name: 'create db-03' }]));
    await advance(app, 5000);
    const reasons = h.hooks.received.map((r) => (r.body as { reason: string }).reason).sort();
    expect(reasons).toEqual([
      'create failed: compute__do_build_and_run_instance Error (libvirtError: internal error: qemu exited; traceback ends: return function(self, context, *args, **kwargs)); server ERROR: internal error: process exited while connecting to monitor: qemu-system-x86_64: Could not open disk',
      'createServer failed: createSingleServer on server srv-quota FAIL: Ecs.0039 Insufficient EVS disk quota. Increase the quota.',
    ]);
  });

  it('reports a create that is 404 at first and then succeeds as success', async () => {
    const late = { ...resize(), action: 'create', visibleAfterMs: 30_000 };
    h.simulator.addAction(late);
    const app = await h.app(h.yaml([entry(late, 'late')]));
    await advance(app, 45_000, 1000);
    expect(h.hooks.received.map((r) => (r.body as { outcome: string }).outcome)).toEqual(['success']);
  });

  it('notifies a pending watch under the name the file gives it now, and keeps the name of one already notified', async () => {
    const renamed = resize();
    const done = resize();
    h.simulator.addAction(done);
    const app = await h.app(h.yaml([entry(renamed, 'web-1'), entry(done, 'db-1')]));
    await advance(app, 10_000);
    h.simulator.addAction(renamed);
    // The file's labels fixed: the first watch is still pending, the second notified already.
    app.engine.setWatches(targetsOf(parseConfig(h.yaml([entry(renamed, 'web-01 (prod)'), entry(done, 'db-01')]), { env: h.env })));
    await advance(app, 10_000);
    expect(h.hooks.received.map((r) => (r.body as { watch: { name: string } }).watch.name)).toEqual(['db-1', 'web-01 (prod)']);
    expect(app.store.get(watchKey(done))?.name).toBe('db-1');
  });

  it('stops polling a watch removed from the file', async () => {
    const kept = stuckReboot();
    const removed = stuckReboot();
    h.simulator.addAction(kept);
    h.simulator.addAction(removed);
    const app = await h.app(h.yaml([entry(kept, 'kept'), entry(removed, 'removed')]));
    await advance(app, 1000);
    app.engine.setWatches(app.engine.watches().filter((w) => watchKey(w) === watchKey(kept)));
    h.simulator.clearRequests();
    await advance(app, 2000);
    expect(h.simulator.requests.some((r) => r.path.includes(removed.requestId))).toBe(false);
    expect(h.simulator.requests.some((r) => r.path.includes(kept.requestId))).toBe(true);
  });

  it('honours on: filters and per-watch notify lists', async () => {
    const ok = resize();
    const bad = failedCreate();
    h.simulator.addAction(ok);
    h.simulator.addAction(bad);
    const yaml = h.yaml([entry(ok, 'resize'), entry(bad, 'create', '    notify: [ops-mail]')]).replace('    to: [ops@example.com, oncall@example.com]', '    to: [ops@example.com]\n    on: [failure]');
    const app = await h.app(yaml);
    await advance(app, 10_000);
    expect(h.hooks.received.map((r) => (r.body as { outcome: string }).outcome)).toEqual(['success']);
    expect(h.mail.received.map((m) => m.subject)).toEqual(['[ecs-action-watch] create failed: create']);
  });
});
