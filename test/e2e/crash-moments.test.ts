// The promises "nothing is sent before it is saved", "one outcome per watch" and "each (watch, outcome)
// notified once per notifier, also across restarts and crashes", where they break: `run` as a process of its
// own, killed or stopped at one worst moment each, found by what the receivers see (a connection, a request
// held unanswered, an answer just flushed), by the state folder (the lock let go, a snapshot's temporary
// file) or by the daemon's log, never by a sleep; then started again on the same state, and what the
// receivers got is counted. Delivery is at least once: a redelivery must carry the same webhook-id
// (Message-ID) and announce the verdict the state kept, and comes only when the state on disk at the
// moment of the kill still owed it. (Killed between a verdict and its save: kill.test.ts; around a batch's
// final digest: batch-kill.test.ts, its partial digest is here; after auto-tracking found an action:
// track-restart.test.ts.)
import { once } from 'node:events';
import { existsSync, readdirSync, watch as watchFolder } from 'node:fs';
import { mkdtemp, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { startMailSink } from '../../src/sinks/mailSink.ts';
import { killDaemons, simulatorCloud, startDaemon, type Daemon } from './daemon.ts';
import { stateOnDisk } from '../state/onDisk.ts';
import { waitUntil } from '../eventually.ts';

const PROJECT = 'crash-moments-project';
const TOKEN = 'tok-crash-moments';
/**
 * Room at a load of 12 on two cores, with up to five of these tests at a time (vitest's maxConcurrency): a
 * daemon's start, a few hundred milliseconds of processor on a quiet machine, takes seconds there, and a
 * test starts up to seven. A wait for an event gives up only after WAIT_MS; one that comes true costs
 * nothing of it. A test's limit covers its waits and starts at that load.
 */
const WAIT_MS = 30_000;
const TEST_TIMEOUT = 90_000;

interface Delivery {
  id: string;
  status: 'pending' | 'delivered' | 'given_up' | 'superseded';
  attempts: number;
}
interface WatchRecord {
  trackingSince: string;
  verdict: { outcome: string; detectedAt: string } | null;
  deliveries: { [notifier: string]: Delivery };
  warning?: { detectedAt: string; deliveries: { [notifier: string]: Delivery } } | null;
}
interface DigestRecord {
  round: number;
  final: boolean;
  detectedAt: string;
  deliveries: { [notifier: string]: Delivery };
}

/**
 * A request the receiver took: its webhook-id, what it announced (with when the verdict was made: a verdict
 * made again after a restart has another time), and the status answered (null: none).
 */
interface Hook {
  id: string;
  requestId: string;
  /** null for an early warning. */
  outcome: string | null;
  detectedAt: string;
  answered: number | null;
}

/** A batch digest the receiver took: its webhook-id and type, what it counted and listed, and the status answered. */
interface DigestHook {
  id: string;
  type: string;
  counts: Record<string, number>;
  /** The request ids of the watches it lists, sorted. */
  requestIds: string[];
  detectedAt: string;
  answered: number | null;
}

/**
 * A webhook receiver on loopback whose every step can be a moment to act at: `onConnection` when the daemon
 * connects, `onReceipt` and then `onRequest` once a request is read (before any answer; `onRequest` returns
 * 'hold' to never answer it), `onAnswered` once an answer is flushed to the socket.
 */
class Receiver {
  readonly hooks: Hook[] = [];
  /** The batch digests, apart: they announce no one watch. */
  readonly digests: DigestHook[] = [];
  status = 204;
  onConnection: ((socket: Socket) => void) | null = null;
  onReceipt: ((hook: Hook | DigestHook) => void) | null = null;
  onRequest: ((hook: Hook | DigestHook) => 'answer' | 'hold') | null = null;
  onAnswered: ((hook: Hook | DigestHook) => void) | null = null;
  readonly #server = createServer((req, res) => this.#handle(req, res));
  readonly #sockets = new Set<Socket>();

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  async listen(): Promise<this> {
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      this.onConnection?.(socket);
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return this;
  }

  /** The requests answered 2xx. */
  delivered(): Hook[] {
    return this.hooks.filter((h) => h.answered !== null && h.answered < 300);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
      const id = String(req.headers['webhook-id']);
      let hook: Hook | DigestHook;
      if (body.type.startsWith('ecs.batch.')) {
        const { type, counts, watches, detectedAt } = body as DigestBody;
        hook = { id, type, counts, requestIds: watches.map((w) => w.watch.requestId).sort(), detectedAt, answered: null };
        this.digests.push(hook);
      } else {
        const { outcome, detectedAt, watch } = body as WatchBody;
        hook = { id, requestId: watch.requestId, outcome, detectedAt, answered: null };
        this.hooks.push(hook);
      }
      this.onReceipt?.(hook);
      if (this.onRequest?.(hook) === 'hold') return;
      hook.answered = this.status;
      res.on('finish', () => this.onAnswered?.(hook));
      res.writeHead(this.status, this.status >= 400 ? { 'retry-after': '0' } : {}).end();
    });
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    return closed;
  }
}

type WatchBody = { type: string; outcome: string | null; detectedAt: string; watch: { requestId: string } };
type DigestBody = { type: string; counts: Record<string, number>; watches: Array<{ watch: { requestId: string } }>; detectedAt: string };
type Body = WatchBody | DigestBody;

interface MailServer {
  port: number;
  held: boolean;
  /** Each message taken, by its Message-ID, and whether it was answered. */
  mails: Array<{ messageId: string; answered: boolean }>;
}

/** The email notifier `name`, sending through `server`. */
function mailTo(name: string, server: MailServer): string {
  return `  ${name}: { type: email, smtp: { host: 127.0.0.1, port: ${server.port}, timeout: 60s }, from: ecs@example.com, to: [ops@example.com] }`;
}

interface Watch {
  requestId: string;
  serverId: string;
  key: string;
}

/**
 * What one test runs against, its own: the simulator, the receivers, a folder with the watch file and the
 * state, and the daemons it started (killed when it ends).
 */
class Rig {
  readonly simulator: Simulator;
  readonly dir: string;
  readonly statePath: string;
  readonly config: string;
  readonly #closers: Array<() => Promise<void>> = [];
  readonly #daemons: Daemon[] = [];

  private constructor(simulator: Simulator, dir: string) {
    this.simulator = simulator;
    this.dir = dir;
    this.statePath = join(dir, 'state.json');
    this.config = join(dir, 'watch.yaml');
  }

  static async start(): Promise<Rig> {
    const rig = new Rig(await startSimulator({ token: TOKEN }), await mkdtemp(join(tmpdir(), 'eaw-crash-')));
    rig.#closers.push(() => rig.simulator.close());
    return rig;
  }

  async receiver(): Promise<Receiver> {
    const r = await new Receiver().listen();
    this.#closers.push(() => r.close());
    return r;
  }

  /**
   * An SMTP server that takes each message whole and, while `held`, never answers its 250: the message is
   * received, and the sender does not know it.
   */
  async mailServer(): Promise<MailServer> {
    const server: MailServer = { port: 0, held: true, mails: [] };
    const sink = await startMailSink({
      smtp: {
        onData(stream, _session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            const messageId = /^message-id:\s*(\S+)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '';
            server.mails.push({ messageId, answered: !server.held });
            if (!server.held) callback();
          });
        },
      },
    });
    this.#closers.push(() => sink.close());
    server.port = sink.port;
    return server;
  }

  /** A reboot that is over by the daemon's first poll: its verdict comes in the first pass. */
  finishedAction(result: 'Success' | 'Error' = 'Success', ids = newIds()): Watch {
    this.simulator.addAction({ projectId: PROJECT, ...ids, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1, result }] });
    return ids;
  }

  /**
   * `notifiers` as YAML lines under `notifiers:`; each watch notifies every notifier. `entry` is added to each
   * watch's mapping (`, batch: fleet`).
   */
  watchFile(notifiers: string[], watches: Watch[], extra: string[] = [], entry = ''): string {
    return [
      ...simulatorCloud(this.simulator.url, PROJECT),
      'poll: { schedule: "* * * * * *", retries: 0 }',
      'delivery: { minDelay: 100ms, maxDelay: 100ms }',
      'notifiers:',
      ...notifiers,
      `state: { path: "${this.statePath}" }`,
      'http: { port: 0 }',
      ...extra,
      'watches:',
      ...watches.map((w) => `  - { requestId: ${w.requestId}, serverId: ${w.serverId}${entry} }`),
      '',
    ].join('\n');
  }

  /** Written as a file saved a while ago: `run` reads a file at once only once it has been still for a second. */
  async writeConfig(text: string): Promise<void> {
    await writeFile(this.config, text);
    const saved = new Date(Date.now() - 5000);
    await utimes(this.config, saved, saved);
  }

  /**
   * `run`, and a reboot of `w` lasting `durationMs` from the daemon's first request to the cloud: the action's
   * clock starts once the daemon is up, however long a busy machine takes to start it.
   */
  async runWithReboot(w: Watch, durationMs: number): Promise<Daemon> {
    const daemon = this.run();
    await waitUntil(() => this.simulator.requests.length > 0, WAIT_MS);
    this.simulator.addAction({ projectId: PROJECT, ...w, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs }] });
    return daemon;
  }

  run(args: string[] = []): Daemon {
    const daemon = startDaemon(this.config, { ECS_AUTH_TOKEN: TOKEN }, args, { stderr: 'collect' });
    this.#daemons.push(daemon);
    return daemon;
  }

  recordOnDisk(w: Watch): WatchRecord | undefined {
    return stateOnDisk(this.statePath).watches[w.key] as WatchRecord | undefined;
  }

  digestsOnDisk(label: string): DigestRecord[] {
    return (stateOnDisk(this.statePath).batches[label] as { digests: DigestRecord[] } | undefined)?.digests ?? [];
  }

  /**
   * The webhook-ids of the requests `receiver` takes from now on whose delivery the state on disk did not
   * hold as each arrived: nothing may be sent that a restart would not know it owes.
   */
  unsavedAtReceipt(receiver: Receiver): string[] {
    const unsaved: string[] = [];
    receiver.onReceipt = (hook) => {
      const id = hook.id.replace(/^msg_/, '');
      const state = stateOnDisk(this.statePath);
      const records = Object.values(state.watches) as WatchRecord[];
      const batches = Object.values(state.batches) as Array<{ digests: DigestRecord[] }>;
      const owed = [...records.flatMap((r) => [r.deliveries, r.warning?.deliveries ?? {}]), ...batches.flatMap((b) => b.digests.map((d) => d.deliveries))];
      if (!owed.some((deliveries) => Object.values(deliveries).some((d) => d.id === id))) unsaved.push(hook.id);
    };
    return unsaved;
  }

  async close(): Promise<void> {
    for (const daemon of this.#daemons) daemon.child.kill('SIGKILL');
    await Promise.all(this.#daemons.map((d) => d.exited));
    await Promise.all(this.#closers.map((close) => close()));
  }
}

function newIds(): Watch {
  const serverId = crypto.randomUUID();
  const requestId = `req-${crypto.randomUUID()}`;
  return { serverId, requestId, key: `${PROJECT}/${serverId}/${requestId}` };
}

function hook(name: string, r: Receiver, extra = ''): string {
  return `  ${name}: { type: webhook, url: "${r.url}"${extra} }`;
}

/**
 * The request that announces the verdict `record` holds (as the state on disk had it at a kill) for `w` to
 * `notifier`, answered `answered`: a verdict made again after the restart would differ in its detectedAt.
 */
function announcing(w: Watch, record: WatchRecord, notifier: string, answered: number | null): Hook {
  return { id: `msg_${record.deliveries[notifier]!.id}`, requestId: w.requestId, outcome: record.verdict!.outcome, detectedAt: record.verdict!.detectedAt, answered };
}

/**
 * SIGKILLs `daemon` at the first change of the state lock in `dir`: its removal, or the new lock's creation
 * (whole: lock.ts links it in once it names its holder), not the refresh of its time (a 'change'). Resolves
 * once the signal is sent.
 */
function killedAsTheLockChanges(dir: string, lock: string, daemon: Daemon): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watchFolder(dir, (event, name) => {
      if (name !== basename(lock) || event !== 'rename') return;
      watcher.close();
      daemon.child.kill('SIGKILL');
      resolve();
    });
  });
}

/**
 * SIGKILLs `daemon` as `receiver` reads a request, which it holds unanswered (and any after it, until the
 * daemon is gone): sent, and never heard back. Resolves once the daemon exited.
 */
async function killedAsSent(daemon: Daemon, receiver: Receiver): Promise<void> {
  receiver.onRequest = () => {
    daemon.child.kill('SIGKILL');
    return 'hold';
  };
  await daemon.exited;
  receiver.onRequest = null;
}

/** SIGKILLs `daemon` as `receiver`'s next 204 is flushed: before, or as, the daemon records it. Resolves once the daemon exited. */
async function killedAsAnswered(daemon: Daemon, receiver: Receiver): Promise<void> {
  receiver.onAnswered = () => {
    receiver.onAnswered = null;
    daemon.child.kill('SIGKILL');
  };
  await daemon.exited;
}

/**
 * The batch `fleet` of two watches, notifying `chat`: `done`, finished, and `later`, which Nova does not know
 * until the test adds it (an early 404 is no outcome): the batch stays unfinished for as long as the test
 * needs, and its partial digest is due at the first pass.
 */
async function batchOfTwo(s: Rig, chat: Receiver): Promise<{ done: Watch; later: Watch }> {
  const done = s.finishedAction();
  const later = newIds();
  await s.writeConfig(s.watchFile([hook('chat', chat)], [done, later], [], ', batch: fleet').replace('retries: 0 }', 'retries: 0, batchWindow: 1ms }'));
  return { done, later };
}

/** Resolves once the cloud shows every event of `w`'s action finished, read as the daemon reads it. */
async function untilFinished(simulator: Simulator, w: Watch, timeoutMs = WAIT_MS): Promise<void> {
  const url = `${simulator.url}/v2.1/${PROJECT}/servers/${w.serverId}/os-instance-actions/${w.requestId}`;
  const headers = { 'x-auth-token': TOKEN, 'openstack-api-version': 'compute 2.60' };
  const finished = async () => {
    const { instanceAction } = (await (await fetch(url, { headers })).json()) as { instanceAction: { events: Array<{ finish_time: string | null }> } };
    return instanceAction.events.length > 0 && instanceAction.events.every((e) => e.finish_time !== null);
  };
  await waitUntil(finished, timeoutMs);
}

/** `it` whose test gets a rig of its own (nothing shared with another test), closed after it. */
const test = it.extend('rig', async ({ onTestFinished }) => {
  const rig = await Rig.start();
  onTestFinished(() => rig.close());
  return rig;
});

// Each test kills its daemons; one that failed before it could leaves them to this.
afterAll(killDaemons);

describe.concurrent('run, stopped at its worst moments and started again', { timeout: TEST_TIMEOUT }, () => {
  test('sends what was saved before the first send began, after a SIGKILL at the daemon\'s first connection to the receiver', async ({ rig: s }) => {
    const chat = await s.receiver();
    const w = s.finishedAction();
    await s.writeConfig(s.watchFile([hook('chat', chat)], [w]));
    const first = s.run();
    let atConnection: WatchRecord | undefined;
    // The outbox connects only to send what a save wrote: the verdict and its delivery are on disk. The
    // request it writes at once is dropped unread: as far as anyone outside knows, nothing was sent.
    chat.onConnection = (socket) => {
      chat.onConnection = null;
      first.child.kill('SIGKILL');
      socket.destroy();
      atConnection = s.recordOnDisk(w);
    };
    await first.exited;
    expect(chat.hooks).toEqual([]);
    expect(atConnection).toMatchObject({ verdict: { outcome: 'success' }, deliveries: { chat: { status: 'pending' } } });

    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    expect(chat.hooks).toEqual([announcing(w, atConnection!, 'chat', 204)]);
    expect(s.recordOnDisk(w)?.deliveries['chat']).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  test('drops the early warning a SIGKILL cut off, when the action finished while the daemon was stopped: the outcome alone comes after the restart', async ({ rig: s }) => {
    const chat = await s.receiver();
    const w = newIds();
    await s.writeConfig(s.watchFile([hook('chat', chat)], [w]).replace('retries: 0 }', 'retries: 0, warnAfter: 1s }'));
    // A start or a pass slowed by a busy machine must not let the action finish before its warning is sent
    // (due 1 s after it began; it runs 5 s: a load of 30 delayed a pass by more than a second).
    const first = await s.runWithReboot(w, 5000);
    // The warning is on disk before it is sent: killed as the receiver reads it, the daemon still owes it.
    chat.onRequest = () => {
      chat.onRequest = null;
      first.child.kill('SIGKILL');
      return 'hold';
    };
    await first.exited;
    expect(chat.hooks.map((h) => h.outcome)).toEqual([null]);
    expect(s.recordOnDisk(w)).toMatchObject({ verdict: null, warning: { deliveries: { chat: { status: 'pending' } } } });
    await untilFinished(s.simulator, w);

    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    expect(chat.delivered().map((h) => h.outcome)).toEqual(['success']);
    expect(s.recordOnDisk(w)).toMatchObject({ verdict: { outcome: 'success' }, warning: { deliveries: { chat: { status: 'superseded' } } } });
  });

  test('judges by its own times an action that finished in time while the daemon was stopped, though the first polls after the restart fail past the deadline', async ({ rig: s }) => {
    const chat = await s.receiver();
    const w = newIds();
    // Tracking begins as the daemon starts, the action once the test has seen the daemon's first request,
    // which a load of 30 put off by more than a second: the deadline leaves the action 4.5 s of room to end
    // in time, and the action (2.5 s) room to see tracking on disk and kill the daemon before it ends.
    const DEADLINE_MS = 7000;
    await s.writeConfig(s.watchFile([hook('chat', chat)], [w]).replace('retries: 0 }', `retries: 0, deadline: ${DEADLINE_MS}ms }`));
    // Killed once tracking began, before the action has finished.
    const first = await s.runWithReboot(w, 2500);
    await waitUntil(() => s.recordOnDisk(w) !== undefined, WAIT_MS);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(s.recordOnDisk(w)?.verdict).toBeNull();
    await untilFinished(s.simulator, w);
    const deadlineAt = Date.parse(s.recordOnDisk(w)!.trackingSince) + DEADLINE_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadlineAt - Date.now() + 200)));

    // Started past the deadline, as the API blips: its first two answers to the action are 503s.
    s.simulator.injectFault({ kind: 'unavailable' }, { route: 'action', times: 2 });
    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    expect(s.simulator.pendingFaults).toBe(0);
    expect(chat.delivered().map((h) => h.outcome)).toEqual(['success']);
  });

  test('sends an early warning until it is answered, with one webhook-id and the time it was made, across SIGKILLs as it is sent and as it is answered while the action runs on; then the outcome once', async ({ rig: s }) => {
    const chat = await s.receiver();
    const w = newIds();
    // It never ends: running at each restart however slowly a busy machine starts the daemon. A deadline
    // already past, at the last start, is what ends it.
    s.simulator.addAction({ projectId: PROJECT, ...w, action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 1 }], neverFinishes: true });
    const file = (poll: string) => s.watchFile([hook('chat', chat)], [w]).replace('retries: 0 }', `retries: 0, ${poll} }`);
    await s.writeConfig(file('warnAfter: 100ms'));
    const unsaved = s.unsavedAtReceipt(chat);

    // Killed as the receiver reads the warning: it was sent, and the daemon never hears back.
    await killedAsSent(s.run(), chat);
    const atKill = s.recordOnDisk(w)!;
    expect(atKill).toMatchObject({ verdict: null, warning: { deliveries: { chat: { status: 'pending' } } } });

    // Started again while the action runs: the warning goes again after the first pass, and the daemon is
    // killed as its 204 is flushed, before (or as) it records it.
    await killedAsAnswered(s.run(), chat);
    const atAnswer = s.recordOnDisk(w)!;

    await s.writeConfig(file('warnAfter: 100ms, deadline: 1ms'));
    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(1);
    const end = s.recordOnDisk(w)!;
    expect(end.verdict?.outcome).toBe('timeout');
    // The warning as it was made before the first kill, sent twice (at least once answered) and never again:
    // one still owed at the last start is dropped by the outcome its first pass found.
    const warning = { id: `msg_${atKill.warning!.deliveries['chat']!.id}`, requestId: w.requestId, outcome: null, detectedAt: atKill.warning!.detectedAt };
    expect(chat.hooks).toEqual([{ ...warning, answered: null }, { ...warning, answered: 204 }, announcing(w, end, 'chat', 204)]);
    expect(end.warning?.deliveries['chat']?.status).toBe(atAnswer.warning?.deliveries['chat']?.status === 'delivered' ? 'delivered' : 'superseded');
    expect(unsaved).toEqual([]);
  });

  test('sends a partial digest until it is answered, with one webhook-id and never before the state holds it, across SIGKILLs as it is sent and as it is answered; then the final digest once, with every watch', async ({ rig: s }) => {
    const chat = await s.receiver();
    const { done, later } = await batchOfTwo(s, chat);
    const unsaved = s.unsavedAtReceipt(chat);

    // Killed as the receiver reads the partial digest: it was sent, and the daemon never hears back.
    await killedAsSent(s.run(), chat);
    const [partial] = s.digestsOnDisk('fleet');
    expect(partial).toMatchObject({ final: false, deliveries: { chat: { status: 'pending' } } });

    // Started again while the batch still runs: the partial goes again, and the daemon is killed as its 204
    // is flushed, before (or as) it records it.
    await killedAsAnswered(s.run(), chat);
    const [atAnswer] = s.digestsOnDisk('fleet');

    // The batch's last watch ended while the daemon was stopped.
    s.finishedAction('Success', later);
    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    const [, final] = s.digestsOnDisk('fleet');
    const both = [done.requestId, later.requestId].sort();
    const sent = { id: `msg_${partial!.deliveries['chat']!.id}`, type: 'ecs.batch.partial', counts: { success: 1, failure: 0, timeout: 0, not_found: 0, pending: 1 }, requestIds: both, detectedAt: partial!.detectedAt };
    // The partial as it was recorded before the first kill, twice (at least once answered), never after the
    // final; the final once, with both watches; no watch on its own.
    expect(chat.digests).toEqual([
      { ...sent, answered: null },
      { ...sent, answered: 204 },
      { id: `msg_${final!.deliveries['chat']!.id}`, type: 'ecs.batch.finished', counts: { success: 2, failure: 0, timeout: 0, not_found: 0, pending: 0 }, requestIds: both, detectedAt: final!.detectedAt, answered: 204 },
    ]);
    expect(chat.hooks).toEqual([]);
    // Recorded before the kill, or still owed at the last start, whose first pass found the batch finished.
    const partialEnd = atAnswer!.deliveries['chat']!.status === 'delivered' ? 'delivered' : 'superseded';
    expect(s.digestsOnDisk('fleet').map((d) => [d.final, d.deliveries['chat']!.status])).toEqual([[false, partialEnd], [true, 'delivered']]);
    expect(unsaved).toEqual([]);
  });

  test('drops the partial digest a SIGKILL cut off, when the batch finished while the daemon was stopped: the final digest alone comes after the restart', async ({ rig: s }) => {
    const chat = await s.receiver();
    const { later } = await batchOfTwo(s, chat);
    const unsaved = s.unsavedAtReceipt(chat);
    // Killed as the receiver reads the partial digest: the daemon still owes it.
    await killedAsSent(s.run(), chat);
    expect(s.digestsOnDisk('fleet')).toMatchObject([{ final: false, deliveries: { chat: { status: 'pending' } } }]);

    s.finishedAction('Success', later);
    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    expect(chat.digests.map((d) => [d.type, d.answered])).toEqual([['ecs.batch.partial', null], ['ecs.batch.finished', 204]]);
    expect(s.digestsOnDisk('fleet').map((d) => [d.final, d.deliveries['chat']!.status])).toEqual([[false, 'superseded'], [true, 'delivered']]);
    expect(unsaved).toEqual([]);
  });

  test('sends again, with the same webhook-id and Message-ID, what the receivers took while the daemon was SIGKILLed before they answered', async ({ rig: s }) => {
    const chat = await s.receiver();
    const mail = await s.mailServer();
    const w = s.finishedAction('Error');
    await s.writeConfig(s.watchFile([hook('chat', chat), mailTo('ops', mail)], [w]));
    chat.onRequest = () => 'hold';
    const first = s.run();
    await waitUntil(() => chat.hooks.length === 1 && mail.mails.length === 1, WAIT_MS);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = s.recordOnDisk(w)!;
    expect(atKill.deliveries).toMatchObject({ chat: { status: 'pending' }, ops: { status: 'pending' } });

    chat.onRequest = null;
    mail.held = false;
    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(1);
    // Taken twice each (at least once): the second time answered, with the same id.
    expect(atKill.verdict?.outcome).toBe('failure');
    expect(chat.hooks).toEqual([announcing(w, atKill, 'chat', null), announcing(w, atKill, 'chat', 204)]);
    const messageId = `<${atKill.deliveries['ops']!.id}@ecs-action-watch>`;
    expect(mail.mails).toEqual([{ messageId, answered: false }, { messageId, answered: true }]);
    expect(s.recordOnDisk(w)?.deliveries).toMatchObject({ chat: { status: 'delivered' }, ops: { status: 'delivered' } });
  });

  test('sends again, with the same webhook-id, a delivery whose success the daemon was SIGKILLed before it recorded, and only then', async ({ rig: s }) => {
    const chat = await s.receiver();
    const w = s.finishedAction();
    await s.writeConfig(s.watchFile([hook('chat', chat)], [w]));
    // The 204 is on its way: the daemon has, at most, marked it delivered in memory; the save of that is not awaited.
    await killedAsAnswered(s.run(), chat);
    const atKill = s.recordOnDisk(w)!;

    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    // Recorded in time (the save won the race with the kill): never sent again. Not recorded: sent again, same id.
    const expected = atKill.deliveries['chat']!.status === 'delivered' ? 1 : 2;
    expect(chat.hooks).toEqual(Array.from({ length: expected }, () => announcing(w, atKill, 'chat', 204)));
    expect(s.recordOnDisk(w)?.deliveries['chat']).toMatchObject({ status: 'delivered' });
  });

  test('stops within shutdown.drainTimeout at SIGTERM while the receivers never answer, without counting the attempts, and sends them again after the restart', async ({ rig: s }) => {
    const chat = await s.receiver();
    const mail = await s.mailServer();
    const w = s.finishedAction();
    await s.writeConfig(s.watchFile([hook('chat', chat, ', timeout: 60s'), mailTo('ops', mail)], [w], ['shutdown: { drainTimeout: 500ms }']));
    chat.onRequest = () => 'hold';
    const first = s.run();
    await waitUntil(() => chat.hooks.length === 1 && mail.mails.length === 1, WAIT_MS);
    const stopAt = performance.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const stopMs = performance.now() - stopAt;
    expect(first.output()).toContain('"msg":"stopped"');
    // Cut off by the stop, not failed by the receivers: owed as before, the attempts not counted.
    const atStop = s.recordOnDisk(w)!;
    expect(atStop.deliveries).toMatchObject({ chat: { status: 'pending', attempts: 0 }, ops: { status: 'pending', attempts: 0 } });

    chat.onRequest = null;
    mail.held = false;
    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    expect(chat.hooks).toEqual([announcing(w, atStop, 'chat', null), announcing(w, atStop, 'chat', 204)]);
    const messageId = `<${atStop.deliveries['ops']!.id}@ecs-action-watch>`;
    expect(mail.mails).toEqual([{ messageId, answered: false }, { messageId, answered: true }]);
    // The drain's half second and the final save, well short of the notifiers' 60 s timeouts.
    expect(stopMs).toBeLessThan(10_000);
  });

  test('notifies once when two daemons are started on the same state at the same moment, fresh or after a SIGKILL left the lock: one runs, the other is refused', async ({ rig: s }) => {
    const chat = await s.receiver();
    const early = s.finishedAction();
    // Listed from the start; Nova knows the action only from the second pair on.
    const later = newIds();
    await s.writeConfig(s.watchFile([hook('chat', chat)], [early, later]));
    /** Two started at once: the first to exit is the one refused, the other is returned. */
    const pair = async () => {
      const daemons = [s.run(), s.run()];
      const [loser, code] = await Promise.race(daemons.map((d) => d.exited.then((c) => [d, c] as const)));
      expect(code).toBe(1);
      expect(loser.errors()).toMatch(/state file .*state\.json: is in use by another ecs-action-watch: pid \d+/);
      return daemons.find((d) => d !== loser)!;
    };

    const first = await pair();
    // Recorded as delivered before the kill (a kill before that is another moment, above).
    await waitUntil(() => s.recordOnDisk(early)?.deliveries['chat']?.status === 'delivered', WAIT_MS);
    // Its lock left behind, naming a pid that is gone: both of the next pair may take it over.
    first.child.kill('SIGKILL');
    await first.exited;
    s.finishedAction('Error', later);
    const second = await pair();
    await waitUntil(() => chat.delivered().length === 2, WAIT_MS);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(chat.hooks.map((h) => `${h.requestId} ${h.outcome}`)).toEqual([`${early.requestId} success`, `${later.requestId} failure`]);
  });

  test('delivers an outcome owed for a watch a reload took out of the file, once, across a SIGKILL in a reload that rebuilds the notifiers', async ({ rig: s }) => {
    // Down: the outcome stays owed to it through both reloads.
    const chat = await s.receiver();
    chat.status = 503;
    const other = await s.receiver();
    const added = await s.receiver();
    const w = s.finishedAction('Error');
    await s.writeConfig(s.watchFile([hook('chat', chat), hook('other', other)], [w]));
    const daemon = s.run();
    await waitUntil(() => chat.hooks.length > 0 && other.delivered().length === 1, WAIT_MS);

    // The watch taken out of the file (a change of the list alone, applied in place): what it is owed is not.
    await s.writeConfig(s.watchFile([hook('chat', chat), hook('other', other)], []));
    daemon.child.kill('SIGHUP');
    expect(await daemon.saw('watch list reloaded')).toBe(true);
    const beforeReload = chat.hooks.length;
    await waitUntil(() => chat.hooks.length > beforeReload, WAIT_MS);

    // A notifier added: the parts are rebuilt. Killed as the old parts let the state lock go, their last save
    // made, before (or as) the new ones take it.
    const released = killedAsTheLockChanges(s.dir, `${s.statePath}.lock`, daemon);
    await s.writeConfig(s.watchFile([hook('chat', chat), hook('other', other), hook('added', added)], []));
    daemon.child.kill('SIGHUP');
    await released;
    await daemon.exited;
    const owed = s.recordOnDisk(w)!;
    expect(owed.deliveries).toMatchObject({ chat: { status: 'pending' }, other: { status: 'delivered' } });

    chat.status = 204;
    const last = s.run();
    await waitUntil(() => chat.delivered().length === 1, WAIT_MS);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    // Every attempt, before the reloads and after the restart, announced the one verdict the state kept.
    expect(chat.hooks).toEqual(chat.hooks.map((h) => announcing(w, owed, 'chat', h.answered)));
    expect(chat.delivered()).toHaveLength(1);
    // Delivered before the reloads: never again. Added after the outcome: owed nothing.
    expect(other.hooks).toHaveLength(1);
    expect(added.hooks).toEqual([]);
  });

  test('keeps an outcome owed to a notifier a reload took out across a SIGKILL as the reload swaps the parts, and sends it once, when the notifier is back', async ({ rig: s }) => {
    // Down: the outcome stays owed to it.
    const chat = await s.receiver();
    chat.status = 503;
    const other = await s.receiver();
    const w = s.finishedAction('Error');
    await s.writeConfig(s.watchFile([hook('chat', chat), hook('other', other)], [w]));
    const first = s.run();
    await waitUntil(() => chat.hooks.length > 0 && other.delivered().length === 1, WAIT_MS);

    // As a file read half-written would be: chat is gone, which rebuilds the parts. Killed as the old parts
    // let the state lock go, their last save made (or as the new ones take it): the file is in effect, and a
    // restart before chat is back must not take chat as taken out between runs and give its outcome up.
    const released = killedAsTheLockChanges(s.dir, `${s.statePath}.lock`, first);
    await s.writeConfig(s.watchFile([hook('other', other)], [w]));
    first.child.kill('SIGHUP');
    await released;
    await first.exited;
    const owed = s.recordOnDisk(w)!;
    expect(owed.deliveries).toMatchObject({ chat: { status: 'pending', heldSince: expect.any(String) }, other: { status: 'delivered' } });

    // Started again on the file without chat; then chat, up again, is back.
    const last = s.run();
    expect(await last.saw('started')).toBe(true);
    chat.status = 204;
    await s.writeConfig(s.watchFile([hook('chat', chat), hook('other', other)], [w]));
    last.child.kill('SIGHUP');
    await waitUntil(() => chat.delivered().length === 1, WAIT_MS);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    expect(first.output() + last.output()).not.toContain('delivery given up');
    expect(chat.hooks).toEqual(chat.hooks.map((h) => announcing(w, owed, 'chat', h.answered)));
    expect(chat.delivered()).toHaveLength(1);
    expect(other.hooks).toHaveLength(1);
  });

  test('sends a mail the server put off for some recipients to those alone after a SIGKILL while it held the retry to them unanswered', async ({ rig: s, onTestFinished }) => {
    const w = s.finishedAction();
    // The first transaction greylists late@ at RCPT and takes the message for ops@; the next one, to late@
    // alone, is read whole and held unanswered, and the daemon killed then.
    let greylisting = true;
    let holding = true;
    const envelopes: Array<{ to: string[]; messageId: string }> = [];
    const retryHeld = Promise.withResolvers<void>();
    const sink = await startMailSink({
      smtp: {
        onRcptTo: (address, _session, callback) =>
          callback(greylisting && address.address === 'late@example.com' ? Object.assign(new Error('4.7.1 Greylisted, try again later'), { responseCode: 451 }) : null),
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            const messageId = /^message-id:\s*(\S+)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '';
            envelopes.push({ to: session.envelope.rcptTo.map((r) => r.address), messageId });
            if (greylisting) {
              greylisting = false;
              callback();
            } else if (holding) {
              holding = false;
              retryHeld.resolve();
            } else {
              callback();
            }
          });
        },
      },
    });
    onTestFinished(() => sink.close());
    await s.writeConfig(s.watchFile([`  ops: { type: email, smtp: { host: 127.0.0.1, port: ${sink.port}, timeout: 60s }, from: ecs@example.com, to: [ops@example.com, late@example.com] }`], [w]));
    const first = s.run();
    await retryHeld.promise;
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = s.recordOnDisk(w);
    // The retry went to late@ alone, as the state on disk then had it: what the restart reads.
    expect(atKill?.deliveries['ops']).toMatchObject({ status: 'pending', owedTo: ['late@example.com'] });

    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(0);
    const messageId = `<${atKill!.deliveries['ops']!.id}@ecs-action-watch>`;
    // ops@ got it once; late@ twice (at least once: the held one unanswered), the same message.
    expect(envelopes).toEqual([{ to: ['ops@example.com'], messageId }, { to: ['late@example.com'], messageId }, { to: ['late@example.com'], messageId }]);
    expect(s.recordOnDisk(w)?.deliveries['ops']).toMatchObject({ status: 'delivered' });
  });

  test('sends what a SIGKILL left owed once, after a crash with the journal set aside for a compaction and a SIGKILL while the next start wrote its snapshot', async ({ rig: s }) => {
    const chat = await s.receiver();
    const w = s.finishedAction('Error');
    await s.writeConfig(s.watchFile([hook('chat', chat)], [w]));
    // While set, the daemon's requests are dropped unread: nothing it sends is received.
    let drop = true;
    chat.onConnection = (socket) => {
      if (drop) socket.destroy();
    };
    // Killed at its first send: the verdict and what it owes are in the journal alone.
    const first = s.run();
    expect(await first.saw('delivery failed; will retry')).toBe(true);
    first.child.kill('SIGKILL');
    await first.exited;
    const owed = s.recordOnDisk(w)!;
    expect(owed.deliveries['chat']).toMatchObject({ status: 'pending' });

    // The files of a daemon that had, long before, 64 finished watches (an 8 MB snapshot) and crashed in a
    // compaction just after setting its journal aside (renamed .journal.old, a fresh journal created empty)
    // and before writing the snapshot.
    const journal = `${s.statePath}.journal`;
    expect(existsSync(s.statePath)).toBe(false);
    await rename(journal, `${journal}.old`);
    await writeFile(journal, '');
    const padding = Object.fromEntries(
      Array.from({ length: 64 }, (_, i) => {
        const serverId = crypto.randomUUID();
        const requestId = `req-old-${i}`;
        const record = { ...owed, serverId, requestId, name: `old-${i}-${'x'.repeat(128 * 1024)}`, instanceAction: null, server: null };
        return [`${PROJECT}/${serverId}/${requestId}`, { ...record, deliveries: { chat: { ...owed.deliveries['chat']!, status: 'delivered', attempts: 1 } } }];
      }),
    );
    await writeFile(s.statePath, `${JSON.stringify({ version: 1, seq: 0, watches: padding, batches: {} })}\n`);
    const files = [s.statePath, journal, `${journal}.old`];
    const crashed = await Promise.all(files.map((f) => readFile(f)));

    // The next start compacts what it found before anything else: stopped (SIGSTOP) as its snapshot's
    // temporary file appears, then killed, the snapshot half-written. A start that got past that before
    // it was stopped is tried again on the files as the crash left them.
    let halfWritten = false;
    for (let attempt = 0; attempt < 5 && !halfWritten; attempt++) {
      await Promise.all(files.map((f, i) => writeFile(f, crashed[i]!)));
      const daemon = s.run();
      const watcher = watchFolder(s.dir, (_event, name) => {
        if (!name?.startsWith(`.${basename(s.statePath)}.tmp-`)) return;
        watcher.close();
        daemon.child.kill('SIGSTOP');
        halfWritten = existsSync(join(s.dir, name)) && existsSync(`${journal}.old`);
        daemon.child.kill('SIGKILL');
      });
      await daemon.exited;
      watcher.close();
    }
    expect(halfWritten).toBe(true);
    expect(chat.hooks).toEqual([]);

    drop = false;
    const last = s.run(['--until-done']);
    expect(await last.exited).toBe(1);
    expect(chat.hooks).toEqual([announcing(w, owed, 'chat', 204)]);
    const after = stateOnDisk(s.statePath);
    expect(Object.keys(after.watches).sort()).toEqual([w.key, ...Object.keys(padding)].sort());
    expect(readdirSync(s.dir).filter((f) => f.startsWith(basename(s.statePath)) || f.startsWith('.'))).toEqual([basename(s.statePath)]);
  });
});
