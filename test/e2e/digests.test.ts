// Batch digests and early warnings against the simulator, a webhook receiver and an SMTP server, on a fake clock.
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ActionScript } from '../../src/simulator/index.ts';
import { watchKey } from '../../src/state/store.ts';
import { PROJECT, advance, harnessOnFakeClock, quickAction, type WatchEntry } from './harness.ts';

type Entry = { watch: { requestId: string }; outcome: string | null; reason: string; instanceAction?: { events: unknown[] } | null; server?: object | null };
type Body = { type: string; outcome?: string | null; batch?: string; round?: number; counts?: Record<string, number>; watches?: Entry[]; watch?: { requestId: string } };

const entry = (s: ActionScript & { requestId: string }, name: string, extra?: string): WatchEntry => ({ requestId: s.requestId, serverId: s.serverId, name, ...(extra ? { extra } : {}) });
const failedReboot = () => quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 300, result: 'Error', traceback: 'Traceback (most recent call last):\nRebootError: no\n' }] });
const stuckReboot = () => quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }], neverFinishes: true });

const env = harnessOnFakeClock({ role: 'admin' });

const bodies = () => env.h.hooks.received.map((r) => ({ body: r.body as Body, id: r.headers['webhook-id'] }));
const ofType = (type: string) => bodies().filter((b) => b.body.type === type);
const delivered = (type: string) => env.h.hooks.received.filter((r) => r.status === 204 && (r.body as Body).type === type).map((r) => r.body as Body);

/** Applies an edited watch list as a reload of the file does. */
function reload(app: App, yaml: string): void {
  app.engine.setWatches(targetsOf(parseConfig(yaml, { env: env.h.env })));
}

describe('batch digests', () => {
  it('sends one digest per notifier once the last watch of the batch ends, failures first, and nothing per watch', async () => {
    const actions = [quickAction(), failedReboot(), quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 4000 }] })];
    const alone = quickAction();
    for (const a of [...actions, alone]) env.h.simulator.addAction(a);
    const batched = actions.map((a, i) => entry(a, `web-0${i + 1}`, '    batch: fleet'));
    const app = await env.h.app(env.h.yaml([...batched, entry(alone, 'alone')]));

    await advance(app, 3000);
    // Two of the batch are done, the third is not: no digest, and no notification of their own.
    expect(bodies().map((b) => b.body.watch?.requestId)).toEqual([alone.requestId]);
    await advance(app, 3000);
    expect(app.engine.allSettled()).toBe(true);

    const digests = ofType('ecs.batch.finished');
    expect(digests).toHaveLength(1);
    const digest = digests[0]!.body;
    expect(digest).toMatchObject({ batch: 'fleet', round: 1, counts: { success: 2, failure: 1, timeout: 0, not_found: 0, pending: 0 } });
    expect(digest.watches!.map((w) => w.outcome)).toEqual(['failure', 'success', 'success']);
    expect(digest.watches![0]!.instanceAction!.events).toHaveLength(1);
    expect(env.h.hooks.received.filter((r) => (r.body as Body).type.startsWith('ecs.action.'))).toHaveLength(1);

    const mails = env.h.mail.received.filter((m) => m.subject.includes('batch'));
    expect(mails.map((m) => m.subject)).toEqual(['[ecs-action-watch] batch fleet finished: 1 failed, 2 succeeded']);
    expect(mails[0]!.body.indexOf('Failed (1):')).toBeLessThan(mails[0]!.body.indexOf('Succeeded (2):'));
    expect(mails[0]!.body).toContain('RebootError: no');
    expect(mails[0]!.headers.get('x-ecs-watch-batch')).toBe('fleet');

    // The id is the batch's: the same on a redelivery, whatever state says.
    const record = app.store.getBatch('fleet')!;
    expect(digests[0]!.id).toBe(`msg_${record.digests[0]!.deliveries['chat']!.id}`);
  });

  it('sends one partial digest when the batch is unfinished after batchWindow, then the final one', async () => {
    const done = quickAction();
    const stuck = stuckReboot();
    for (const a of [done, stuck]) env.h.simulator.addAction(a);
    const app = await env.h.app(
      env.h.yaml([entry(done, 'web-01', '    batch: fleet'), entry(stuck, 'web-02', '    batch: fleet\n    deadline: 40s')], {
        poll: '  schedule: "* * * * * *"\n  retries: 3\n  batchWindow: 10s',
      }),
    );
    await advance(app, 30_000, 2000);
    const partial = ofType('ecs.batch.partial');
    expect(partial).toHaveLength(1);
    expect(partial[0]!.body).toMatchObject({ counts: { success: 1, pending: 1 } });
    expect(partial[0]!.body.watches!.map((w) => w.outcome)).toEqual([null, 'success']);
    expect(ofType('ecs.batch.finished')).toHaveLength(0);

    await advance(app, 14_000, 2000);
    const final = ofType('ecs.batch.finished');
    expect(final).toHaveLength(1);
    expect(final[0]!.body.counts).toMatchObject({ success: 1, timeout: 1, pending: 0 });
    expect(final[0]!.id).not.toBe(partial[0]!.id);
    expect(ofType('ecs.batch.partial')).toHaveLength(1);
    expect(env.h.mail.received.map((m) => m.subject)).toEqual([
      '[ecs-action-watch] batch fleet still running: 1 pending, 1 succeeded',
      '[ecs-action-watch] batch fleet finished: 1 timed out, 1 succeeded',
    ]);
  });

  it('sends no partial digest after the final one, when the receiver was down as the partial came due', async () => {
    const done = quickAction();
    const slow = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 20_000 }] });
    for (const a of [done, slow]) env.h.simulator.addAction(a);
    // Retries far apart: the partial's next attempt comes after the final digest is recorded.
    const yaml = env.h.yaml([entry(done, 'web-01', '    batch: fleet'), entry(slow, 'web-02', '    batch: fleet')], {
      poll: '  schedule: "* * * * * *"\n  retries: 3\n  batchWindow: 5s',
    }).replace('minDelay: 20ms', 'minDelay: 40s').replace('maxDelay: 200ms', 'maxDelay: 1h');
    env.h.hooks.setAnswer({ status: 503 });
    const app = await env.h.app(yaml);
    await advance(app, 8000, 1000);
    expect(ofType('ecs.batch.partial').length).toBeGreaterThan(0);
    env.h.hooks.setAnswer({ status: 204 });

    await advance(app, 120_000, 1000);
    const chat = env.h.hooks.received.filter((r) => r.status === 204).map((r) => (r.body as Body).type);
    expect(chat).toEqual(['ecs.batch.finished']);
    // The mail server was up: its partial came when due, before the final.
    expect(env.h.mail.received.map((m) => m.subject.split(':')[0])).toEqual(['[ecs-action-watch] batch fleet still running', '[ecs-action-watch] batch fleet finished']);
    expect(app.engine.allSettled()).toBe(true);
  });

  // Owed to a notifier a reload took out of the file, it waits for it until delivery.maxAge: dropped only then,
  // `run --until-done` waited a day for nothing once the batch had finished.
  it('drops a partial digest owed to a notifier taken out of the file as soon as its batch finishes, not at delivery.maxAge', async () => {
    const done = quickAction();
    const slow = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 10_000 }] });
    for (const a of [done, slow]) env.h.simulator.addAction(a);
    const hook = (name: string) => ['  ' + name + ':', '    type: webhook', `    url: ${env.h.hooks.url}`].join('\n');
    const yaml = (notifier: string) =>
      env.h.yaml([entry(done, 'web-01', '    batch: fleet'), entry(slow, 'web-02', '    batch: fleet')], { poll: '  schedule: "* * * * * *"\n  retries: 3\n  batchWindow: 5s', notifiers: hook(notifier) });
    env.h.hooks.setAnswer({ status: 503 });
    const first = await env.h.app(yaml('chat'));
    await advance(first, 7000, 1000);
    expect(ofType('ecs.batch.partial').length).toBeGreaterThan(0);
    await first.close();

    env.h.hooks.setAnswer({ status: 204 });
    const renamed = await env.h.app(yaml('hooks'), { reloadedAway: new Set(['chat']) });
    await advance(renamed, 6000, 1000);
    expect(delivered('ecs.batch.finished').map((b) => b.batch)).toEqual(['fleet']);
    expect(renamed.store.getBatch('fleet')!.digests.find((d) => !d.final)!.deliveries['chat']!.status).toBe('superseded');
    expect(renamed.engine.allSettled()).toBe(true);
  });

  // The final digest of the partial's round never comes under a label renamed: the partial, owed while the
  // receiver was down, said the batch was still running once it had finished under its new name.
  it('sends no partial digest owed under a label renamed since, once the watches it said were running have ended, and says so rather than that its batch finished', async () => {
    const done = quickAction();
    const slow = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 12_000 }] });
    for (const a of [done, slow]) env.h.simulator.addAction(a);
    const yaml = (label: string) =>
      env.h.yaml([entry(done, 'web-01', `    batch: ${label}`), entry(slow, 'web-02', `    batch: ${label}`)], { poll: '  schedule: "* * * * * *"\n  retries: 3\n  batchWindow: 5s' });
    env.h.hooks.setAnswer({ status: 503 });
    const app = await env.h.app(yaml('fleet'));
    await advance(app, 7000, 1000);
    expect(ofType('ecs.batch.partial').length).toBeGreaterThan(0);

    reload(app, yaml('fleet-b'));
    await advance(app, 10_000, 1000);
    env.h.hooks.setAnswer({ status: 204 });
    await advance(app, 3000, 1000);
    expect(delivered('ecs.batch.finished').map((b) => b.batch)).toEqual(['fleet-b']);
    expect(delivered('ecs.batch.partial')).toEqual([]);
    expect(app.store.getBatch('fleet')!.digests[0]!.deliveries['chat']!.status).toBe('superseded');
    expect(app.engine.allSettled()).toBe(true);
    // fleet never finished: its round has no final digest, which an operator told so would look for.
    const dropped = env.h.logs.lines().filter((l) => l['batch'] === 'fleet' && String(l['msg']).startsWith('partial digest not sent')).map((l) => l['msg']);
    expect(dropped).toEqual(['partial digest not sent: every watch it said was running has ended since, moved to another batch or out of any, and is told there or on its own']);
  });

  it('follows the file: a removed watch leaves the batch, a late one opens round 2, a verdict that left its batch is notified alone', async () => {
    const [a, b, c, late] = [quickAction(), stuckReboot(), quickAction(), quickAction()];
    for (const s of [a, b, c, late]) env.h.simulator.addAction(s);
    const [ea, eb, ec] = [entry(a, 'a', '    batch: fleet'), entry(b, 'b', '    batch: fleet'), entry(c, 'c', '    batch: fleet')];
    const app = await env.h.app(env.h.yaml([ea, eb, ec]));
    await advance(app, 2000);
    expect(bodies()).toHaveLength(0);

    // c leaves the batch after its verdict, before any digest: it is notified on its own.
    reload(app, env.h.yaml([ea, eb, entry(c, 'c')]));
    await advance(app, 1000);
    expect(bodies().map((x) => [x.body.type, x.body.watch?.requestId])).toEqual([['ecs.action.succeeded', c.requestId]]);

    // b, stuck, is removed: the batch is a alone, and finished.
    reload(app, env.h.yaml([ea, entry(c, 'c')]));
    await advance(app, 1000);
    const first = ofType('ecs.batch.finished');
    expect(first.map((x) => [x.body.round, x.body.watches!.map((w) => w.watch.requestId)])).toEqual([[1, [a.requestId]]]);

    // A watch that joins the finished batch is reported in a digest of its own round.
    reload(app, env.h.yaml([ea, entry(c, 'c'), entry(late, 'late', '    batch: fleet')]));
    await advance(app, 2000);
    const rounds = ofType('ecs.batch.finished');
    expect(rounds.map((x) => [x.body.round, x.body.watches!.map((w) => w.watch.requestId)])).toEqual([[1, [a.requestId]], [2, [late.requestId]]]);
    expect(new Set(rounds.map((x) => x.id)).size).toBe(2);
  });

  it('notifies nothing more of a watch whose final digest reported it, when its label is then taken out of the file', async () => {
    const [a, b] = [quickAction(), quickAction()];
    for (const s of [a, b]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(a, 'a', '    batch: fleet'), entry(b, 'b', '    batch: fleet')]));
    await advance(app, 2000);
    expect(bodies().map((x) => x.body.type)).toEqual(['ecs.batch.finished']);

    reload(app, env.h.yaml([entry(a, 'a'), entry(b, 'b')]));
    await advance(app, 2000);
    expect(bodies().map((x) => x.body.type)).toEqual(['ecs.batch.finished']);
    expect(env.h.mail.received).toHaveLength(1);
  });

  // The batch's record says the digest reported the watch. Were it forgotten state.retention after the label
  // left the file, the watch, still listed and judged again at every start, would be taken for one that left
  // the batch before its digest: the record is kept while a record kept names it.
  it('notifies nothing of a watch whose digest reported it, once the batch it left is forgotten, at a restart', async () => {
    const [a, b] = [failedReboot(), quickAction()];
    for (const s of [a, b]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(a, 'a', '    batch: fleet'), entry(b, 'b', '    batch: fleet')]));
    await advance(app, 2000);
    expect(bodies().map((x) => x.body.type)).toEqual(['ecs.batch.finished']);

    const unlabelled = env.h.yaml([entry(a, 'a'), entry(b, 'b')]);
    reload(app, unlabelled);
    vi.setSystemTime(Date.now() + 8 * 24 * 3600_000);
    await advance(app, 1000);
    await app.close();

    const again = await env.h.app(unlabelled);
    await advance(again, 2000);
    expect(bodies().map((x) => x.body.type)).toEqual(['ecs.batch.finished']);
    expect(env.h.mail.received).toHaveLength(1);

    // Its watches out of the file and forgotten, the batch goes too.
    reload(again, env.h.yaml([]));
    vi.setSystemTime(Date.now() + 8 * 24 * 3600_000);
    await advance(again, 1000);
    expect(again.store.getBatch('fleet')).toBeUndefined();
  });

  // A watch of a batch is told in its digest, which may come long after its own verdict (the batch waits for
  // its slowest watch): its last notification is that digest's, and the retention counts from there.
  it('keeps the record of a watch its digest reported for state.retention after the digest, not after its own verdict', async () => {
    const fast = quickAction();
    const slow = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 2 * 3600_000 }] });
    for (const s of [fast, slow]) env.h.simulator.addAction(s);
    const withRetention = (yaml: string) => yaml.replace(/( {2}path: .*state\.json)/, '$1\n  retention: 1h');
    const app = await env.h.app(withRetention(env.h.yaml([entry(fast, 'fast', '    batch: fleet'), entry(slow, 'slow', '    batch: fleet')])));
    await advance(app, 2000);
    expect(bodies()).toHaveLength(0);
    vi.setSystemTime(Date.now() + 2 * 3600_000);
    await advance(app, 2000);
    expect(delivered('ecs.batch.finished')).toHaveLength(1);

    // Both taken out of the file once the digest is in; a pipeline run again adds one back, without the label.
    reload(app, withRetention(env.h.yaml([])));
    await advance(app, 1000);
    reload(app, withRetention(env.h.yaml([entry(fast, 'fast')])));
    await advance(app, 2000);
    expect(bodies().map((x) => x.body.type)).toEqual(['ecs.batch.finished']);
    expect(env.h.mail.received).toHaveLength(1);
  });

  // Its record names the batch it was moved to, whose digest never reported it: the retention counted from
  // its own verdict, hours before the digest of the batch it was in then, and it was forgotten at once.
  it('keeps the record of a watch a digest reported, moved to another batch and out of the file, for state.retention after that digest', async () => {
    const fast = quickAction();
    const slow = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 2 * 3600_000 }] });
    const running = stuckReboot();
    for (const s of [fast, slow, running]) env.h.simulator.addAction(s);
    const withRetention = (yaml: string) => yaml.replace(/( {2}path: .*state\.json)/, '$1\n  retention: 1h');
    const app = await env.h.app(withRetention(env.h.yaml([entry(fast, 'fast', '    batch: first'), entry(slow, 'slow', '    batch: first')])));
    await advance(app, 2000);
    vi.setSystemTime(Date.now() + 2 * 3600_000);
    await advance(app, 2000);
    expect(delivered('ecs.batch.finished').map((d) => d.batch)).toEqual(['first']);

    reload(app, withRetention(env.h.yaml([entry(fast, 'fast', '    batch: second'), entry(running, 'running', '    batch: second\n    deadline: 1d')])));
    await advance(app, 1000);
    // Taken out of the file; a pipeline run again adds it back, without a label.
    reload(app, withRetention(env.h.yaml([entry(running, 'running', '    batch: second\n    deadline: 1d')])));
    await advance(app, 1000);
    reload(app, withRetention(env.h.yaml([entry(fast, 'fast'), entry(running, 'running', '    batch: second\n    deadline: 1d')])));
    await advance(app, 2000);
    expect(bodies().map((x) => x.body.type)).toEqual(['ecs.batch.finished']);
    expect(env.h.mail.received).toHaveLength(1);
  });

  // A label used again run after run (a nightly job that lists tonight's watches under `batch: nightly` and
  // takes out last night's) is in the file for good, and has a digest within every state.retention. Counted
  // from the batch's newest digest, the records of every watch it ever reported, and those digests, stayed
  // in the state for as long as the daemon ran, one run more at each.
  it("forgets a label's earlier runs state.retention after the digest that reported them, while later runs go on under it", async () => {
    const withRetention = (yaml: string) => yaml.replace(/( {2}path: .*state\.json)/, '$1\n  retention: 1d');
    const runs = Array.from({ length: 8 }, () => quickAction());
    for (const s of runs) env.h.simulator.addAction(s);
    const nightly = (s: ActionScript & { requestId: string }) => entry(s, 'nightly', '    batch: nightly');
    const app = await env.h.app(withRetention(env.h.yaml([nightly(runs[0]!)])));
    await advance(app, 2000);
    for (const run of runs.slice(1)) {
      vi.setSystemTime(Date.now() + 10 * 3600_000);
      reload(app, withRetention(env.h.yaml([nightly(run)])));
      await advance(app, 2000);
    }
    expect(delivered('ecs.batch.finished').map((b) => b.watches!.map((w) => w.watch.requestId))).toEqual(runs.map((s) => [s.requestId]));
    // Reported more than a day ago: the first five runs are forgotten, with their digests.
    const keys = app.store.entries().map(([key]) => key);
    expect(keys.sort()).toEqual(runs.slice(5).map((s) => watchKey(s)).sort());
    expect(app.store.getBatch('nightly')!.digests.map((d) => d.round)).toEqual([6, 7, 8]);

    // The first run's watch listed again under the label: tracked afresh, and reported in a round of its own.
    reload(app, withRetention(env.h.yaml([nightly(runs[0]!)])));
    await advance(app, 2000);
    expect(delivered('ecs.batch.finished').at(-1)).toMatchObject({ round: 9, watches: [{ watch: { requestId: runs[0]!.requestId } }] });
  });

  // The rule for a watch that leaves a batch asked only of the batch it left: told in the final digest of the
  // one before, it was told again on its own, once for each notifier.
  it('sends no notification of its own of a watch a final digest reported, moved to another batch and out of it before its digest', async () => {
    const [moved, stays, running] = [quickAction(), quickAction(), stuckReboot()];
    for (const s of [moved, stays, running]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(moved, 'moved', '    batch: first'), entry(stays, 'stays', '    batch: first')]));
    await advance(app, 2000);
    expect(delivered('ecs.batch.finished').map((d) => [d.batch, d.watches!.map((w) => w.watch.requestId).sort()])).toEqual([['first', [moved.requestId, stays.requestId].sort()]]);

    reload(app, env.h.yaml([entry(moved, 'moved', '    batch: second'), entry(stays, 'stays', '    batch: first'), entry(running, 'running', '    batch: second')]));
    await advance(app, 1000);
    reload(app, env.h.yaml([entry(moved, 'moved'), entry(stays, 'stays', '    batch: first'), entry(running, 'running', '    batch: second')]));
    await advance(app, 2000);
    expect(bodies().map((x) => x.body.type)).toEqual(['ecs.batch.finished']);
    expect(env.h.mail.received).toHaveLength(1);
    const left = env.h.logs.lines().filter((l) => String(l['msg']).startsWith('watch left its batch'));
    expect(left.map((l) => l['msg'])).toEqual(['watch left its batch before the digest; reported by the final digest of batch first before it joined']);
    // The batch whose digest told it, for `check` and the retention.
    expect(app.store.get(watchKey(moved))!.batch).toBe('first');
  });

  it('sends no second notification of a watch notified on its own that joins a batch and leaves it before the digest', async () => {
    const [alone, running] = [quickAction(), stuckReboot()];
    for (const s of [alone, running]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(alone, 'alone')]));
    await advance(app, 2000);
    expect(ofType('ecs.action.succeeded').map((x) => x.body.watch?.requestId)).toEqual([alone.requestId]);

    reload(app, env.h.yaml([entry(alone, 'alone', '    batch: fleet'), entry(running, 'running', '    batch: fleet')]));
    await advance(app, 1000);
    reload(app, env.h.yaml([entry(alone, 'alone'), entry(running, 'running', '    batch: fleet')]));
    await advance(app, 2000);
    expect(bodies().map((x) => [x.body.type, x.body.watch?.requestId])).toEqual([['ecs.action.succeeded', alone.requestId]]);
    expect(env.h.mail.received).toHaveLength(1);
    const left = env.h.logs.lines().filter((l) => String(l['msg']).startsWith('watch left its batch'));
    expect(left.map((l) => l['msg'])).toEqual(['watch left its batch before the digest; notified on its own before it joined']);
  });

  it('notifies on its own a watch taken out of its batch by a reload that lands while the pass judging it is in flight', async () => {
    const [leaving, b] = [quickAction(), stuckReboot()];
    for (const s of [leaving, b]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(leaving, 'leaving', '    batch: fleet'), entry(b, 'b', '    batch: fleet')]));
    vi.setSystemTime(Date.now() + 2000); // leaving's action has finished
    // The pass has taken the watch list before the reload replaces it: it judges leaving by its old entry.
    const pass = app.engine.pollOnce();
    reload(app, env.h.yaml([entry(leaving, 'leaving'), entry(b, 'b', '    batch: fleet')]));
    await pass;
    await advance(app, 3000);
    expect(bodies().map((x) => [x.body.type, x.body.watch?.requestId])).toEqual([['ecs.action.succeeded', leaving.requestId]]);
  });

  // A failure's entry carries what its own notification did, which its record drops once nothing it is
  // in still owes a notification: the batch it is given must count as such.
  it('reports in full a failure given a label while its own notification is owed, and says why one notified before has no details', async () => {
    const [notified, owed, running] = [failedReboot(), failedReboot(), quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 6000 }] })];
    env.h.simulator.addAction(notified);
    const app = await env.h.app(env.h.yaml([entry(notified, 'notified')]));
    await advance(app, 2000);
    expect(ofType('ecs.action.failed').map((x) => x.body.watch?.requestId)).toEqual([notified.requestId]);

    // The receiver is down from owed's outcome until after it joined the batch.
    env.h.hooks.setAnswer({ status: 503 });
    for (const s of [owed, running]) env.h.simulator.addAction(s);
    reload(app, env.h.yaml([entry(notified, 'notified'), entry(owed, 'owed')]));
    await advance(app, 2000);
    reload(app, env.h.yaml([entry(notified, 'notified', '    batch: fleet'), entry(owed, 'owed', '    batch: fleet'), entry(running, 'running', '    batch: fleet')]));
    env.h.hooks.setAnswer({ status: 204 });
    await advance(app, 1000);
    expect(delivered('ecs.action.failed').map((b) => b.watch?.requestId)).toEqual([notified.requestId, owed.requestId]);
    expect(delivered('ecs.batch.finished')).toEqual([]);

    await advance(app, 6000);
    const [digest] = delivered('ecs.batch.finished');
    const entryOf = (s: { requestId: string }) => digest!.watches!.find((w) => w.watch.requestId === s.requestId)!;
    expect(entryOf(owed)).toMatchObject({ outcome: 'failure', instanceAction: { events: [{ result: 'Error' }] }, server: { status: 'ACTIVE' } });
    expect(entryOf(notified)).toMatchObject({ outcome: 'failure', instanceAction: null, server: null });
    expect(entryOf(notified).reason).toMatch(/^reboot failed: .* \(its details were let go once it had been notified, before it joined this batch\)$/);
    const mail = env.h.mail.received.find((m) => m.subject.includes('batch fleet'))!.body;
    expect(mail).toContain('RebootError: no');
    expect(mail).not.toContain('never read from the API');
  });

  // Its details let go once its own notification was settled, which was given up: the digest said it had been notified.
  it('says of a failure whose own notification was given up before it joined the batch that it was given up, not notified', async () => {
    const [lost, running] = [failedReboot(), quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3000 }] })];
    const notifiers = ['  chat:', '    type: webhook', `    url: ${env.h.hooks.url}`].join('\n');
    env.h.simulator.addAction(lost);
    // Refused for good: given up at once.
    env.h.hooks.failNext(400);
    const app = await env.h.app(env.h.yaml([entry(lost, 'lost')], { notifiers }));
    await advance(app, 2000);
    expect(app.store.get(watchKey(lost))!.deliveries['chat']!.status).toBe('given_up');

    env.h.simulator.addAction(running);
    reload(app, env.h.yaml([entry(lost, 'lost', '    batch: fleet'), entry(running, 'running', '    batch: fleet')], { notifiers }));
    await advance(app, 4000);
    const [digest] = delivered('ecs.batch.finished');
    const reason = digest!.watches!.find((w) => w.watch.requestId === lost.requestId)!.reason;
    expect(reason).toMatch(/^reboot failed: .* \(its details were let go once its own notification was given up, before it joined this batch\)$/);
  });

  it('reports in full a failure moved to another batch while the digest of the first is owed, in both digests', async () => {
    const [failed, done, running] = [failedReboot(), quickAction(), quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 5000 }] })];
    for (const s of [failed, done, running]) env.h.simulator.addAction(s);
    env.h.hooks.setAnswer({ status: 503 });
    const app = await env.h.app(env.h.yaml([entry(failed, 'failed', '    batch: first'), entry(done, 'done', '    batch: first')]));
    await advance(app, 2000);
    expect(app.store.getBatch('first')!.digests).toHaveLength(1);

    reload(app, env.h.yaml([entry(failed, 'failed', '    batch: second'), entry(done, 'done', '    batch: first'), entry(running, 'running', '    batch: second')]));
    env.h.hooks.setAnswer({ status: 204 });
    await advance(app, 1000);
    expect(delivered('ecs.batch.finished').map((d) => d.batch)).toEqual(['first']);
    await advance(app, 5000);
    const digests = delivered('ecs.batch.finished');
    expect(digests.map((d) => d.batch)).toEqual(['first', 'second']);
    for (const d of digests) expect(d.watches![0]).toMatchObject({ watch: { requestId: failed.requestId }, outcome: 'failure', instanceAction: { events: [{ result: 'Error' }] } });
  });

  // Its record names the batch it is in now: once that batch's digests were settled, the details of a failure
  // were let go while the digest of the batch it left, which reported it, still waited for its receiver.
  // The state read at a start lets go what is settled by the same rule: a restart before the receiver is back.
  it.each([false, true])('reports in full a failure moved to another batch, in the digest of the first still owed after the second was delivered (restarted before it is sent: %s)', async (restarted) => {
    const [failed, done, running] = [failedReboot(), quickAction(), quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3000 }] })];
    for (const s of [failed, done, running]) env.h.simulator.addAction(s);
    const to = (batch: string, notifier: string) => `    batch: ${batch}\n    notify: [${notifier}]`;
    env.h.hooks.setAnswer({ status: 503 });
    let app = await env.h.app(env.h.yaml([entry(failed, 'failed', to('first', 'chat')), entry(done, 'done', to('first', 'chat'))]));
    await advance(app, 2000);
    expect(app.store.getBatch('first')!.digests).toHaveLength(1);

    // The second batch goes to the mail server, which is up: its digest is delivered while the first's is owed.
    const moved = env.h.yaml([entry(failed, 'failed', to('second', 'ops-mail')), entry(done, 'done', to('first', 'chat')), entry(running, 'running', to('second', 'ops-mail'))]);
    reload(app, moved);
    await advance(app, 4000);
    expect(env.h.mail.received.map((m) => m.subject)).toEqual(['[ecs-action-watch] batch second finished: 1 failed, 1 succeeded']);
    expect(delivered('ecs.batch.finished')).toEqual([]);
    if (restarted) {
      await app.close();
      app = await env.h.app(moved);
    }

    env.h.hooks.setAnswer({ status: 204 });
    await advance(app, 1000);
    const [first] = delivered('ecs.batch.finished');
    expect(first).toMatchObject({ batch: 'first' });
    const failure = first!.watches!.find((w) => w.watch.requestId === failed.requestId)!;
    expect(failure).toMatchObject({ outcome: 'failure', instanceAction: { events: [{ result: 'Error' }] }, server: { status: 'ACTIVE' } });
    expect(failure.reason).not.toContain('let go');
  });

  // Its record was kept state.retention after the last digest of the batch it names: that of the batch it left,
  // which also reported it and still waited for its receiver, read a record forgotten by then.
  it('keeps the record of a failure moved to another batch and out of the file while the digest of the first is owed', async () => {
    const [failed, done, running] = [failedReboot(), quickAction(), quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 3000 }] })];
    for (const s of [failed, done, running]) env.h.simulator.addAction(s);
    const to = (batch: string, notifier: string) => `    batch: ${batch}\n    notify: [${notifier}]`;
    const withRetention = (yaml: string) => yaml.replace(/( {2}path: .*state\.json)/, '$1\n  retention: 1h');
    env.h.hooks.setAnswer({ status: 503 });
    const app = await env.h.app(withRetention(env.h.yaml([entry(failed, 'failed', to('first', 'chat')), entry(done, 'done', to('first', 'chat'))])));
    await advance(app, 2000);
    reload(app, withRetention(env.h.yaml([entry(failed, 'failed', to('second', 'ops-mail')), entry(done, 'done', to('first', 'chat')), entry(running, 'running', to('second', 'ops-mail'))])));
    await advance(app, 4000);
    expect(env.h.mail.received.map((m) => m.subject)).toEqual(['[ecs-action-watch] batch second finished: 1 failed, 1 succeeded']);

    // The second batch's watches taken out of the file; the first's digest still waits, past state.retention.
    reload(app, withRetention(env.h.yaml([entry(done, 'done', to('first', 'chat'))])));
    vi.setSystemTime(Date.now() + 2 * 3600_000);
    await advance(app, 1000);
    env.h.hooks.setAnswer({ status: 204 });
    await advance(app, 1000);
    const [first] = delivered('ecs.batch.finished');
    expect(first!.watches!.find((w) => w.watch.requestId === failed.requestId)).toMatchObject({ outcome: 'failure', instanceAction: { events: [{ result: 'Error' }] }, server: { status: 'ACTIVE' } });
  });

  it('keeps a recorded digest across a restart and never sends it twice', async () => {
    const actions = [quickAction(), quickAction()];
    for (const s of actions) env.h.simulator.addAction(s);
    const yaml = env.h.yaml(actions.map((s, i) => entry(s, `w${i}`, '    batch: fleet')));
    env.h.hooks.setAnswer({ status: 503 });
    const first = await env.h.app(yaml);
    await advance(first, 2000);
    expect(first.store.getBatch('fleet')!.digests).toHaveLength(1);
    await first.close();

    env.h.hooks.setAnswer({ status: 204 });
    const second = await env.h.app(yaml);
    await advance(second, 3000);
    const received = ofType('ecs.batch.finished');
    expect(new Set(received.map((x) => x.id)).size).toBe(1);
    expect(second.store.getBatch('fleet')!.digests).toHaveLength(1);
    expect(second.store.getBatch('fleet')!.digests[0]!.deliveries['chat']!.status).toBe('delivered');
  });
});

describe('early warnings', () => {
  const chatOnly = () => ['  chat:', '    type: webhook', `    url: ${env.h.hooks.url}`].join('\n');

  it('sends one ecs.action.slow while the action runs past warnAfter, once across restarts, then the outcome', async () => {
    const slow = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 25_000 }] });
    env.h.simulator.addAction(slow);
    const yaml = env.h.yaml([entry(slow, 'web-01', '    warnAfter: 10s')], { notifiers: chatOnly() });
    const first = await env.h.app(yaml);
    await advance(first, 9000, 1000);
    expect(bodies()).toHaveLength(0);
    await advance(first, 3000, 1000);
    const warnings = ofType('ecs.action.slow');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.body).toMatchObject({ outcome: null, watch: { requestId: slow.requestId } });
    expect((warnings[0]!.body as unknown as { reason: string }).reason).toMatch(/^reboot still running 1\d s after it started \(warnAfter 10 s\); 0\/1 events done/);
    await first.close();

    const second = await env.h.app(yaml);
    await advance(second, 16_000, 1000);
    expect(bodies().map((b) => b.body.type)).toEqual(['ecs.action.slow', 'ecs.action.succeeded']);
    const record = second.store.get(watchKey(slow))!;
    expect(warnings[0]!.id).toBe(`msg_${record.warning!.deliveries['chat']!.id}`);
    expect(bodies()[1]!.id).not.toBe(warnings[0]!.id);
  });

  it('warns by the action type with warnAfter: auto, and never for an action whose outcome the same poll sees', async () => {
    // auto's duration for a reboot is 10 min; this one ends after 11 min, seen first by a poll after it ended.
    const late = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 11 * 60_000 }] });
    const long = stuckReboot();
    for (const s of [late, long]) env.h.simulator.addAction(s);
    const app = await env.h.app(env.h.yaml([entry(late, 'late'), entry(long, 'long', '    deadline: 1h')], { notifiers: chatOnly(), poll: '  schedule: "* * * * * *"\n  warnAfter: auto' }));
    vi.setSystemTime(Date.now() + 11 * 60_000 + 1000);
    await advance(app, 2000, 1000);
    expect(bodies().map((b) => `${b.body.type} ${b.body.watch?.requestId}`).sort()).toEqual(
      [`ecs.action.slow ${long.requestId}`, `ecs.action.succeeded ${late.requestId}`].sort(),
    );
  });

  it('sends none where the file never names warnAfter: one notification a watch, its outcome', async () => {
    const long = stuckReboot();
    env.h.simulator.addAction(long);
    const app = await env.h.app(env.h.yaml([entry(long, 'long', '    deadline: 1h')], { notifiers: chatOnly() }));
    vi.setSystemTime(Date.now() + 59 * 60_000);
    await advance(app, 2000, 1000);
    vi.setSystemTime(Date.now() + 2 * 60_000);
    await advance(app, 2000, 1000);
    expect(bodies().map((b) => b.body.type)).toEqual(['ecs.action.timed_out']);
  });

  it('has none for a watch of a batch, and drops a warning not yet delivered when the outcome comes first', async () => {
    const batched = stuckReboot();
    const quick = quickAction({ steps: [{ event: 'compute_reboot_instance', durationMs: 4000 }] });
    for (const s of [batched, quick]) env.h.simulator.addAction(s);
    const app = await env.h.app(
      env.h.yaml([entry(batched, 'b', '    batch: fleet\n    warnAfter: 1s'), entry(quick, 'q', '    warnAfter: 1s')], { notifiers: chatOnly() }),
    );
    // The receiver is down from the warning until after the outcome.
    env.h.hooks.setAnswer({ status: 503 });
    await advance(app, 2000);
    const record = app.store.get(watchKey(quick))!;
    expect(record.warning!.deliveries['chat']).toMatchObject({ status: 'pending' });
    await advance(app, 4000);
    expect(record.verdict?.outcome).toBe('success');
    expect(record.warning!.deliveries['chat']!.status).toBe('superseded');
    env.h.hooks.setAnswer({ status: 204 });
    await advance(app, 2000);
    expect(env.h.hooks.received.filter((r) => r.status === 204).map((r) => (r.body as Body).type)).toEqual(['ecs.action.succeeded']);
    expect(app.store.get(watchKey(batched))!.warning ?? null).toBeNull();
  });

  it('warns of a job too, by its type and its sub-jobs, and reports a job in its batch digest', async () => {
    const slowJob = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'createServer', subJobs: [{ durationMs: 1000 }, { durationMs: 20_000 }] });
    const batchedJob = env.h.simulator.addJob({ projectId: PROJECT, jobType: 'deleteServers', durationMs: 1000, result: 'FAIL', failReason: 'boom' });
    const action = quickAction();
    env.h.simulator.addAction(action);
    const app = await env.h.app(
      env.h.yaml(
        [
          { jobId: slowJob, name: 'create web', extra: '    warnAfter: 5s' },
          { jobId: batchedJob, name: 'delete old', extra: '    batch: cleanup' },
          entry(action, 'reboot', '    batch: cleanup'),
        ],
        { notifiers: chatOnly() },
      ),
    );
    await advance(app, 8000, 1000);
    const warning = ofType('ecs.action.slow');
    expect(warning.map((w) => w.body.watch)).toEqual([{ kind: 'ecs-job', name: 'create web', projectId: PROJECT, jobId: slowJob }]);
    expect((warning[0]!.body as unknown as { reason: string }).reason).toMatch(/^createServer still running \d s after it started \(warnAfter 5 s\); 1\/2 sub-jobs done/);
    const digest = ofType('ecs.batch.finished');
    expect(digest).toHaveLength(1);
    expect(digest[0]!.body.counts).toMatchObject({ failure: 1, success: 1 });
    expect(digest[0]!.body.watches![0]).toMatchObject({ watch: { kind: 'ecs-job', jobId: batchedJob }, outcome: 'failure', instanceAction: null, server: null, job: { job_id: batchedJob } });
  });
});

describe('notifier templates', () => {
  it('shape a batch digest for a chat system and a mail, from the ready templates', async () => {
    const slack = fileURLToPath(new URL('../../docs/templates/slack.json.mustache', import.meta.url));
    const actions = [quickAction(), failedReboot()];
    for (const a of actions) env.h.simulator.addAction(a);
    const notifiers = [
      '  chat:',
      '    type: webhook',
      `    url: ${env.h.hooks.url}`,
      `    template: { bodyFile: "${slack}" }`,
      '  ops-mail:',
      '    type: email',
      `    smtp: { host: 127.0.0.1, port: ${env.h.mail.port}, timeout: 2s }`,
      '    from: ecs-watch@example.com',
      '    to: [ops@example.com]',
      '    template:',
      '      subject: "[{{#problem}}ACTION NEEDED{{/problem}}{{^problem}}ok{{/problem}}] {{headline}}"',
    ].join('\n');
    const app = await env.h.app(env.h.yaml(actions.map((a, i) => entry(a, `web-0${i + 1}`, '    batch: fleet')), { notifiers }));
    await advance(app, 3000);
    expect(app.engine.allSettled()).toBe(true);

    const [hook] = env.h.hooks.received;
    expect(hook!.headers['content-type']).toBe('application/json');
    const body = hook!.body as { text: string; blocks: Array<{ type: string; text?: { text: string } }> };
    expect(body.text).toBe('batch fleet finished: 1 failed, 1 succeeded');
    expect(body.blocks[1]!.text!.text).toMatch(/^2 watches: 1 failed, 1 succeeded\n• \*web-02\* failed: /);
    expect(env.h.mail.received.map((m) => m.subject)).toEqual(['[ACTION NEEDED] batch fleet finished: 1 failed, 1 succeeded']);
    // The text left out of the template is the default digest.
    expect(env.h.mail.received[0]!.body).toContain('Failed (1):');
  });
});

