// `run` as a separate process, as the image runs it (the bundle), for the tests that kill it at the worst moment.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_VARIABLE } from '../bundle.setup.ts';

/** The bundle the run built (bundle.setup.ts), as the image runs it. */
export function cliBundle(): string {
  const path = process.env[BUNDLE_VARIABLE];
  if (path === undefined) throw new Error(`${BUNDLE_VARIABLE} is not set: run the tests through vitest.config.ts, whose global setup builds the bundle`);
  return path;
}

/**
 * Node's code cache: a restart costs half the time, so that many restarts fit in a few seconds. Every test
 * that starts the command line as a process of its own passes it (the shipped bin/ enables it too), unless
 * what it measures is the compiler's own work.
 */
export const COMPILE_CACHE = join(tmpdir(), 'ecs-action-watch-test-compile-cache');

/**
 * The `cloud:` section of a daemon's watch file against the simulator at `url`, its token from
 * `ECS_AUTH_TOKEN` and at Huawei's microversion.
 */
export function simulatorCloud(url: string, projectId: string): string[] {
  return ['cloud:', `  endpoint: ${url}`, `  projectId: ${projectId}`, '  auth: { type: token, token: "${ECS_AUTH_TOKEN}" }', '  microversion: "2.60"'];
}

/**
 * A watch file for a daemon against the simulator at `url` that polls every second and tells one webhook,
 * `chat`, its state at `statePath` and its metrics on any free port.
 */
export function webhookWatchFile(url: string, projectId: string, webhookUrl: string, statePath: string, watches: ReadonlyArray<{ requestId: string; serverId: string }>): string {
  return [
    ...simulatorCloud(url, projectId),
    'poll:',
    '  schedule: "* * * * * *"',
    'notifiers:',
    '  chat:',
    '    type: webhook',
    `    url: ${webhookUrl}`,
    'state:',
    `  path: ${statePath}`,
    'http:',
    '  port: 0',
    'watches:',
    ...watches.map((watch) => `  - { requestId: ${watch.requestId}, serverId: ${watch.serverId} }`),
    '',
  ].join('\n');
}

const children = new Set<ChildProcess>();

export interface Daemon {
  child: ChildProcess;
  /** Resolves true once a log line with this message appears, false if the process exits first. */
  saw(message: string): Promise<boolean>;
  /** Resolves true once its log holds this text anywhere (e.g. `"requestId":"req-1"`), false if it exits first. */
  logged(text: string): Promise<boolean>;
  /** Its exit status (null when killed by a signal). */
  exited: Promise<number | null>;
  /** What it has written on stdout so far: its log lines. */
  output(): string;
  /** What it has written on stderr so far, when started with `stderr: 'collect'`. */
  errors(): string;
}

/**
 * `stderr`: `inherit` (default) shows what it says there with the test's output; `collect` keeps it for errors().
 * `cwd`: the folder it runs in, where a relative state.path lands (a systemd unit's WorkingDirectory).
 */
export function startDaemon(config: string, env: NodeJS.ProcessEnv, args: string[] = [], options: { stderr?: 'inherit' | 'collect'; cwd?: string } = {}): Daemon {
  const child = spawn(process.execPath, [cliBundle(), 'run', '--config', config, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...env, LOG_LEVEL: 'info', NODE_COMPILE_CACHE: COMPILE_CACHE },
    stdio: ['ignore', 'pipe', options.stderr === 'collect' ? 'pipe' : 'inherit'],
  });
  children.add(child);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  void exited.then(() => children.delete(child));
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const logged = (needle: string) =>
    new Promise<boolean>((resolve) => {
      const look = () => {
        if (!text.includes(needle)) return;
        child.stdout!.off('data', look);
        resolve(true);
      };
      child.stdout!.on('data', look);
      look();
      void exited.then(() => resolve(false));
    });
  const saw = (message: string) => logged(`"msg":"${message}"`);
  return { child, saw, logged, exited, output: () => text, errors: () => errors };
}

/** For afterEach: no daemon outlives its test. */
export function killDaemons(): void {
  for (const child of children) child.kill('SIGKILL');
}
