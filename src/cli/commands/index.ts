import { NOTIFICATION_TYPES } from '../../model.ts';
import type { Command } from '../context.ts';
import { ACTION_OPTIONS, JOB_OPTION } from '../options.ts';

export const DEFAULT_SIMULATOR_PORT = 8774;

/**
 * The command registry, in the order `--help` lists them: what the command line knows of each command,
 * and where its implementation lives. Only the command that runs is loaded (a chunk of its own in the
 * bundle), so this module imports nothing heavy. Adding a command is one file and one entry here.
 */
export const commands: Record<string, Command> = {
  run: {
    summary: 'the daemon: poll on the schedule, notify, reload the file on change or at SIGHUP',
    usage: 'run [--config FILE] [--until-done]',
    exits: '0 after SIGTERM/SIGINT and a clean stop; 2 the file is invalid at start, a credential file it names cannot be read, or the state file must be fixed first; 1 any other failure; with --until-done: 0 every watch succeeded, 1 any other outcome or stopped by a signal first, 3 a notification was given up, whatever the outcomes',
    logsTo: 'stdout',
    options: {
      'until-done': { type: 'boolean', description: 'exit once every watch has an outcome and every notification is delivered or given up' },
    },
    drainsOnStop: true,
    longRunning: true,
    load: () => import('./run.ts'),
  },
  validate: {
    summary: 'check the watch file; reaches no network',
    usage: 'validate [--config FILE]',
    exits: '0 valid (warnings, if any, on stderr: of a setting as <line>:<col> <yaml.path>: warning: <message>, of the environment or the file as a whole as warning: <message>); 1 invalid, each problem on stderr as <line>:<col> <yaml.path>: <message>',
    options: {},
    load: () => import('./validate.ts'),
  },
  check: {
    summary: 'poll each watch once and print its state (a table, or JSON); sends nothing, writes no state',
    usage: 'check [--config FILE] [--json]',
    exits: '0 every poll answered; 1 any poll failed; 2 the file is invalid, or a credential file it names cannot be read (nothing is polled)',
    options: { json: { type: 'boolean', description: 'print a JSON array, one object per watch, for scripts' } },
    // Each failed poll's error is in its row (LAST ERROR, or lastError with --json): a warning for each as well
    // would print every failure twice, above the table, when the cloud is down.
    defaultLogLevel: 'error',
    load: () => import('./check.ts'),
  },
  wait: {
    summary: 'wait for one action (or job of the native ECS API) to finish, with the cloud settings of the file (for pipelines)',
    usage: 'wait (--server ID --request ID | --job ID) [--project ID] [--timeout D] [--json] [--config FILE]',
    exits: '0 success; 1 failure; 3 timeout; 4 not found; 2 usage or config error (also for a credential file it cannot read, or when the cloud refuses the credentials, or answers that the endpoint or ids are wrong, or its certificate is refused, its port does not speak TLS or its host name does not exist); 130 (SIGINT) or 143 (SIGTERM) interrupted',
    // Its progress line shows a failing poll's error already: a warning at every failed poll would repeat it
    // (and break a terminal's line apart).
    defaultLogLevel: 'error',
    options: {
      ...ACTION_OPTIONS,
      ...JOB_OPTION,
      project: { type: 'string', value: 'ID', description: 'its project (default: cloud.projectId, else the one in cloud.endpoint)' },
      timeout: { type: 'string', value: 'D', description: 'give up as timeout after this long, e.g. 30m or 1h30m (default: poll.deadline)' },
      json: { type: 'boolean', description: 'print the outcome as one JSON line, the webhook body, instead of a sentence' },
    },
    load: () => import('./wait.ts'),
  },
  'notify-test': {
    summary: `send a test notification (${NOTIFICATION_TYPES.test}) to each notifier; print what each receiver answered`,
    usage: 'notify-test [--config FILE] [--notifier NAME]',
    exits: "0 every notifier delivered; 1 any did not (the receiver's own answer is printed), the file is invalid or NAME is unknown; 2 usage (an empty NAME too)",
    options: { notifier: { type: 'string', value: 'NAME', description: 'only this notifier (default: every one in the file, whatever its on: filter)' } },
    load: () => import('./notifyTest.ts'),
  },
  add: {
    summary: 'add a watch to the file, keeping its comments and layout (a running daemon picks it up)',
    usage: 'add (--server ID --request ID | --job ID) [--name N] [--notify A,B] [--deadline D] [--project ID] [--config FILE]',
    exits: '0 added, or already in the file (left as it is); 1 the file would be invalid (nothing is written), cannot be edited, or has the ids for another project; 2 usage',
    options: {
      ...ACTION_OPTIONS,
      ...JOB_OPTION,
      name: { type: 'string', value: 'N', description: 'a label for notifications, e.g. "resize web-01"' },
      notify: { type: 'string', value: 'A,B', description: 'only these notifiers (default: every one)' },
      deadline: { type: 'string', value: 'D', description: "this watch's deadline, e.g. 2h or 1h30m (default: poll.deadline)" },
      project: { type: 'string', value: 'ID', description: 'its project, when it is not cloud.projectId' },
    },
    load: () => import('./add.ts'),
  },
  remove: {
    summary: 'remove a watch from the file, keeping its comments and layout',
    usage: 'remove (--request ID [--server ID] | --job ID) [--config FILE]',
    exits: '0 removed; 1 no such watch, or the file would be invalid (nothing is written); 2 usage, or several watches have that request id',
    options: {
      request: ACTION_OPTIONS.request,
      server: { ...ACTION_OPTIONS.server, description: `${ACTION_OPTIONS.server.description}, needed when several watches have that request id` },
      ...JOB_OPTION,
    },
    load: () => import('./remove.ts'),
  },
  demo: {
    summary: 'the whole flow on the built-in ECS simulator, webhook and mail receivers, in about 10 s',
    usage: 'demo',
    exits: '0; 1 the local mail receiver cannot load (smtp-server, a dev dependency that a production install, npm ci --omit=dev or the image, leaves out)',
    usesConfig: false,
    options: {},
    load: () => import('./demo.ts'),
  },
  simulator: {
    summary: `serve the built-in ECS simulator (port ${DEFAULT_SIMULATOR_PORT}) and receivers; print a watch file for them`,
    usage: 'simulator [--port N] [--role admin|member] [--token T]',
    exits: '0 after SIGTERM/SIGINT; 1 a port is taken, or the local mail receiver cannot load (a production install); 2 usage',
    usesConfig: false,
    longRunning: true,
    options: {
      port: { type: 'string', value: 'N', description: `the compute API's port (default ${DEFAULT_SIMULATOR_PORT}); the webhook receiver takes N+1, the SMTP server N+2; 0 takes any free ports, printed on stderr` },
      role: { type: 'string', value: 'ROLE', description: 'whose view the API gives: member (default, no tracebacks, as on a public cloud) or admin' },
      token: { type: 'string', value: 'T', description: 'require this X-Auth-Token (the watch file then reads it from $ECS_AUTH_TOKEN)' },
    },
    load: () => import('./simulator.ts'),
  },
};
