import { mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { request } from 'undici';
import { startSimulator, type ActionScript, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { startWebhookSink, type WebhookSink } from '../../src/sinks/webhookSink.ts';
import { startMailSink, type MailSink } from '../../src/sinks/mailSink.ts';
import { parseConfig } from '../../src/config/load.ts';
import { afterEach, beforeEach, it, vi } from 'vitest';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { createMetrics, type PrometheusMetrics } from '../../src/observability/metrics.ts';
import { runCli } from '../../src/cli/cli.ts';

export const PROJECT = '6f70656e737461636b20342065766572';
export const TOKEN = 'tok-SECRET-4f1d9a';
export const SMTP_PASSWORD = 'smtp-SECRET-8e2c';
export const WEBHOOK_SECRET = `whsec_${Buffer.from('webhook-SECRET-key-0123456789ab').toString('base64')}`;
export const SECRETS = [TOKEN, SMTP_PASSWORD, WEBHOOK_SECRET, WEBHOOK_SECRET.slice('whsec_'.length)];

/** Collects text written to it: logs and command output, to assert on and to search for secrets. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
  lines(): Array<Record<string, unknown>> {
    return this.text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** An action (`requestId` + `serverId`) or a job of the native ECS API (`jobId`), as a watch file lists it. */
export type WatchEntry = ({ requestId: string; serverId: string } | { jobId: string }) & {
  name?: string;
  extra?: string;
};

/** The real parts on loopback: the ECS simulator, a webhook receiver and an SMTP server. */
export class Harness {
  simulator!: Simulator;
  hooks!: WebhookSink;
  mail!: MailSink;
  dir!: string;
  readonly logs = new Capture();
  readonly logger: Logger = pino({ level: 'debug' }, this.logs);
  readonly env: NodeJS.ProcessEnv = { ECS_AUTH_TOKEN: TOKEN, SMTP_PASSWORD, WEBHOOK_SECRET };
  #apps: App[] = [];

  /** The state file of the watch files `yaml` writes. */
  get statePath(): string {
    return join(this.dir, 'state', 'state.json');
  }

  /** What `check` says under its table before a daemon saved a state at `statePath`. */
  get noStateNote(): string {
    return `No daemon state at ${this.statePath}, so NOTIFIED is - and ages count from this check: the daemon has saved none there yet, or runs with another state.path`;
  }

  static async start(options: SimulatorOptions = {}): Promise<Harness> {
    const h = new Harness();
    h.simulator = await startSimulator({ token: TOKEN, ...options });
    h.hooks = await startWebhookSink();
    h.mail = await startMailSink();
    h.dir = await mkdtemp(join(tmpdir(), 'eaw-e2e-'));
    return h;
  }

  yaml(
    watches: WatchEntry[],
    options: { poll?: string; notifiers?: string; http?: string; cloud?: string; auth?: string; endpoint?: string | null; track?: string; cloudTimeout?: string } = {},
  ): string {
    return [
      'cloud:',
      // null: none, for an auth method that takes it from the catalog.
      options.endpoint === null ? '' : `  endpoint: ${options.endpoint ?? this.simulator.url}`,
      `  projectId: ${PROJECT}`,
      options.auth ?? '  auth: { type: token, token: "${ECS_AUTH_TOKEN}" }',
      // 10 s (the default) unless a test needs a request to time out: the simulator answers from the test's own
      // process, which a loaded machine leaves waiting for seconds, and a 500 ms timeout failed answers that came.
      `  timeout: ${options.cloudTimeout ?? '10s'}`,
      options.cloud ?? '',
      'poll:',
      options.poll ?? '  schedule: "* * * * * *"\n  retries: 3',
      'delivery:',
      '  minDelay: 20ms',
      '  maxDelay: 200ms',
      'notifiers:',
      options.notifiers ??
        [
          '  chat:',
          '    type: webhook',
          `    url: ${this.hooks.url}`,
          '    secret: ${WEBHOOK_SECRET}',
          '  ops-mail:',
          '    type: email',
          '    smtp:',
          '      host: 127.0.0.1',
          `      port: ${this.mail.port}`,
          '      user: ops',
          '      password: ${SMTP_PASSWORD}',
          '      timeout: 2s',
          '    from: ecs-watch@example.com',
          '    to: [ops@example.com, oncall@example.com]',
        ].join('\n'),
      'state:',
      `  path: ${this.statePath}`,
      'http:',
      options.http ?? '  port: 0',
      'watches:',
      ...watches.map((w) =>
        [
          ...('jobId' in w ? ['  - kind: ecs-job', `    jobId: ${w.jobId}`] : [`  - requestId: ${w.requestId}`, `    serverId: ${w.serverId}`]),
          w.name ? `    name: ${w.name}` : '',
          w.extra ?? '',
        ]
          .filter(Boolean)
          .join('\n'),
      ),
      options.track ? `track:\n${options.track}` : '',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n');
  }

  /**
   * Writes the watch file as one saved a while ago: `run` reads a file only once it has been still for a
   * second, which an mtime that old says at once (test/e2e/half-written.test.ts writes files as they are
   * being written).
   */
  async writeConfig(yaml: string): Promise<string> {
    const path = join(this.dir, 'watch.yaml');
    await writeFile(path, yaml);
    const saved = new Date(Date.now() - 5000);
    await utimes(path, saved, saved);
    return path;
  }

  /**
   * The app as the daemon makes it, with the metrics it would serve on /metrics: a new process's, or, as a
   * reload that rebuilds the parts keeps them, `metrics` of the app before.
   */
  async app(yaml: string, options: Pick<AppOptions, 'reloadedAway' | 'retunedNotifiers' | 'bootClock' | 'bootId' | 'firstPassPolled' | 'limiter'> & { metrics?: PrometheusMetrics } = {}): Promise<App & { metrics: PrometheusMetrics }> {
    const { metrics = createMetrics(), ...appOptions } = options;
    // A test moves vitest's fake Date on to let time pass (a deadline, a retention): as far as the engine can
    // tell, the machine slept through it, rather than someone setting the clock (clockSteps.ts). No boot id:
    // the state records the clock only once the cloud answers, so a daemon of no watches writes nothing.
    const app = await createApp(parseConfig(yaml, { env: this.env }), { bootClock: () => Date.now(), bootId: null, ...appOptions, logger: this.logger, metrics });
    this.#apps.push(app);
    return { ...app, metrics };
  }

  /** Runs the command line in-process, as `npx ecs-action-watch ...` would; `stdout`, `stderr` to read them while it runs. */
  async cli(argv: string[], options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; stdout?: Capture; stderr?: Capture } = {}) {
    const stdout = options.stdout ?? new Capture();
    const stderr = options.stderr ?? new Capture();
    const code = await runCli(argv, {
      env: { ...this.env, LOG_LEVEL: 'debug', ...options.env },
      stdout,
      stderr,
      signal: options.signal ?? new AbortController().signal,
      logDestination: this.logs,
    });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  async close(): Promise<void> {
    for (const app of this.#apps) await app.close();
    await Promise.all([this.simulator.close(), this.hooks.close(), this.mail.close()]);
  }
}

/** A GET of `url` (the daemon's /healthz, /readyz or /metrics on loopback): its status and its body. */
export async function getText(url: string): Promise<{ status: number; body: string }> {
  const answer = await request(url);
  return { status: answer.statusCode, body: await answer.body.text() };
}

/**
 * `it` whose test gets a harness of its own as `h`, closed after it: the tests of a `describe.concurrent`
 * each need theirs, where one kept in a variable of the file (set by beforeEach) would serve them all at once.
 */
export const itWithHarness = it.extend('h', async ({ onTestFinished }) => {
  const h = await Harness.start();
  onTestFinished(() => h.close());
  return h;
});

/** A short reboot of a fresh server, finished within a second unless `overrides` say otherwise. */
export function quickAction(overrides: Partial<ActionScript> = {}): ActionScript & { requestId: string } {
  return {
    projectId: PROJECT,
    ...newIds(),
    action: 'reboot',
    steps: [{ event: 'compute_reboot_instance', durationMs: 300, taskState: 'rebooting' }],
    ...overrides,
  };
}

/** `id` with its last character changed: a request id copied with a slip. */
export function oneCharacterOff(id: string): string {
  return `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
}

export function newIds() {
  return { serverId: crypto.randomUUID(), requestId: `req-${crypto.randomUUID()}` };
}

/**
 * A fresh harness for every test of the calling file, on vitest's fake Date (which the engine and the
 * simulator share), closed after it: `const env = harnessOnFakeClock(); ... env.h.simulator`.
 */
export function harnessOnFakeClock(options: SimulatorOptions = {}): { readonly h: Harness } {
  let current: Harness | undefined;
  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    current = await Harness.start(options);
  });
  afterEach(async () => {
    await current?.close();
    vi.useRealTimers();
  });
  return {
    get h(): Harness {
      if (current === undefined) throw new Error('the harness exists only while a test runs');
      return current;
    },
  };
}

/**
 * Moves the shared fake clock (engine and simulator) in steps, polling, saving and delivering at each; the
 * monotonic one too where a test fakes `performance`, for a wait the client times on it.
 */
export async function advance(app: App, ms: number, step = 500): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    vi.advanceTimersByTime(step);
    await app.engine.pollOnce();
    await app.store.save();
    await app.outbox.flush();
  }
}
