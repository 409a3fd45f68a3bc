// The built-in cloud for people trying the program: the ECS simulator with the demo's scripted actions,
// and local webhook and mail receivers. `demo` runs the watcher against it; `simulator` serves it for a
// watcher the user runs. Both describe it with the same watch file.
import {
  startSimulator, demoJobs, demoScenarios, type AkskOptions, type DemoJob, type DemoScenario, type IdentityOptions, type Role,
  type Simulator,
} from '../simulator/index.ts';
import { startMailSink, type MailSink, type ReceivedMail } from '../sinks/mailSink.ts';
import { startWebhookSink, type ReceivedWebhook, type WebhookSink } from '../sinks/webhookSink.ts';
import { watchKey } from '../watch/kinds/index.ts';

export const SANDBOX_PROJECT = '89655fe61c4c4a08b9f3e7f9095441b8';

export interface Sandbox {
  simulator: Simulator;
  hooks: WebhookSink;
  mail: MailSink;
  scenarios: DemoScenario[];
  /** Jobs of the native ECS API (`kind: ecs-job`). */
  jobs: DemoJob[];
  close(): Promise<void>;
}

export interface SandboxOptions {
  /** The compute API's port; the webhook receiver listens on the next one, the SMTP server on the one after. 0: any free ports. */
  port: number;
  role?: Role;
  token?: string | undefined;
  /** A Keystone token service at `{url}/v3`, for password auth. */
  identity?: IdentityOptions | undefined;
  /** An access key pair the simulator's gateway accepts signatures of. */
  aksk?: AkskOptions | undefined;
  onWebhook?: (hook: ReceivedWebhook) => void;
  onMail?: (mail: ReceivedMail) => void;
}

/** Starts the three servers on 127.0.0.1 and schedules the scenarios and jobs from now on. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const port = (offset: number) => (options.port === 0 ? 0 : options.port + offset);
  const started: Array<{ close(): Promise<void> }> = [];
  const close = async () => {
    await Promise.all(started.map((s) => s.close()));
  };
  try {
    const { identity, aksk } = options;
    const simulator = await startSimulator({ port: port(0), role: options.role ?? 'member', token: options.token, identity, aksk });
    started.push(simulator);
    const hooks = await startWebhookSink({ port: port(1), ...(options.onWebhook ? { onReceive: options.onWebhook } : {}) });
    started.push(hooks);
    const mail = await startMailSink({ port: port(2), ...(options.onMail ? { onReceive: options.onMail } : {}) });
    started.push(mail);
    const scenarios = demoScenarios(SANDBOX_PROJECT);
    for (const s of scenarios) simulator.addAction(s.script);
    const jobs = demoJobs(SANDBOX_PROJECT);
    for (const j of jobs) simulator.addJob(j.script);
    return { simulator, hooks, mail, scenarios, jobs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface WatchFileOptions {
  /** The `${VAR}` (or the text) the webhook secret is written as. */
  webhookSecret: string;
  statePath: string;
  schedule: string;
  /** Deadline of the scenario that never finishes. */
  stuckDeadline: string;
  httpPort: number;
  /** Extra lines for the top of the file. */
  header?: string[];
  /** `${VAR}` for the token when the simulator asks for one. */
  token?: string | undefined;
  /** `${VAR}` for the password: password auth at the simulator's Keystone, the endpoint from its catalog. */
  password?: string | undefined;
}

/** A watch file for the sandbox: its cloud, both receivers, and one watch per scenario. */
export function sandboxWatchFile(sandbox: Sandbox, options: WatchFileOptions): string {
  const watches = sandbox.scenarios.flatMap((s) => [
    `  - requestId: ${s.script.requestId}`,
    `    serverId: ${s.script.serverId}`,
    `    name: ${s.name}  # expect ${s.expected}`,
    ...(s.expected === 'timeout' ? [`    deadline: ${options.stuckDeadline}`] : []),
  ]);
  const jobs = sandbox.jobs.flatMap((j) => ['  - kind: ecs-job', `    jobId: ${j.script.jobId}`, `    name: ${j.name}  # expect ${j.expected}`]);
  return [
    ...(options.header ?? []),
    'cloud:',
    ...(options.password ? [] : [`  endpoint: ${sandbox.simulator.url}`]),
    `  projectId: ${SANDBOX_PROJECT}`,
    ...(options.token ? ['  auth:', '    type: token', `    token: ${options.token}`] : []),
    ...(options.password
      ? [
          '  auth:',
          '    type: password',
          `    identityEndpoint: ${sandbox.simulator.identityUrl}`,
          '    user: demo',
          '    domain: Default',
          `    password: ${options.password}`,
          `    projectId: ${SANDBOX_PROJECT}`,
        ]
      : []),
    'poll:',
    `  schedule: "${options.schedule}"`,
    '  retries: 2',
    'delivery:',
    '  minDelay: 200ms',
    'notifiers:',
    '  chat:',
    '    type: webhook',
    `    url: ${sandbox.hooks.url}`,
    `    secret: ${options.webhookSecret}`,
    '  ops-mail:',
    '    type: email',
    `    smtp: { host: 127.0.0.1, port: ${sandbox.mail.port} }`,
    '    from: ecs-watch@example.com',
    '    to: [ops@example.com]',
    '    on: [failure, timeout, not_found]',
    'state:',
    `  path: ${JSON.stringify(options.statePath)}`,
    'http:',
    `  port: ${options.httpPort}`,
    // Local, like the simulator and receivers it points at.
    '  host: 127.0.0.1',
    'watches:',
    ...watches,
    ...jobs,
    '',
  ].join('\n');
}

/** What the sandbox's scripts lead to, by the state key of their watches. */
export function sandboxExpectations(sandbox: Pick<Sandbox, 'scenarios' | 'jobs'>): Map<string, { name: string; expected: string }> {
  return new Map<string, { name: string; expected: string }>([
    ...sandbox.scenarios.map((s) => [watchKey({ projectId: SANDBOX_PROJECT, serverId: s.script.serverId, requestId: s.script.requestId }), s] as const),
    ...sandbox.jobs.map((j) => [watchKey({ kind: 'ecs-job', projectId: SANDBOX_PROJECT, jobId: j.script.jobId }), j] as const),
  ]);
}

/** A received webhook in one line: its type, watch and whether it was signed. */
export function describeWebhook(h: ReceivedWebhook): string {
  const body = h.body as { type?: string; watch?: { name?: string } } | null;
  const name = body?.watch?.name;
  const what = body === null ? `a body that is not JSON (${h.raw.length} characters), answered ${h.status}` : `${body.type ?? 'JSON without a type'}${name === undefined ? '' : ` "${name}"`}`;
  return `${what} (webhook-id ${String(h.headers['webhook-id'])}, signed: ${h.headers['webhook-signature'] ? 'yes' : 'no'})`;
}
