// The watch file as data: what each key accepts, the single place its default is stated (in the form a
// user would write it), and what the rest of the program receives (durations in milliseconds, every
// watch with its project resolved).

import { basename, join } from 'node:path';
import * as z from 'zod';
import { AUTH_SCHEMAS, AUTH_TYPE_NAMES, CATALOG_AUTH_TYPES } from '../cloud/auth/registry.ts';
import { INTERFACES } from '../cloud/catalog.ts';
import { endpointProjectId, endpointProjectPlaceholder, endpointWithoutRequestPath } from '../cloud/endpoint.ts';
import { NOTIFIER_SCHEMAS, NOTIFIER_TYPE_NAMES } from '../notify/registry.ts';
import { WATCH_KINDS } from '../model.ts';
import { dictionarySchema, isMapping } from '../data/dictionary.ts';
import { ACROSS_KEYS, MERGE_KEY, cronExpression, duration, durationOrOff, headerValue, homeTilde, httpUrl, NO_HOME_HERE, integer, listenAddress, oneOf, orEmpty, projectId, rateLimit, serverId, strayCharacter, strict } from './fields.ts';
import { warnAfterSchema } from './warnAfter.ts';
import { meant } from '../text/closest.ts';
import { formatDuration } from '../watch/format.ts';
import { quoted } from '../text/clipped.ts';
import { shown, unknownValue } from './messages.ts';

/** A catalog-style endpoint (`.../v2.1/{projectId}`, `.../v1/{projectId}`) names the project too. */
function projectInEndpoint(endpoint: unknown): string | undefined {
  return ofEndpoint(endpoint, endpointProjectId);
}

/** What `read` finds in an endpoint; undefined for one that is no URL. */
function ofEndpoint(endpoint: unknown, read: (endpoint: string) => string | undefined): string | undefined {
  if (typeof endpoint !== 'string') return undefined;
  try {
    return read(endpoint);
  } catch {
    // An unusable endpoint is reported by its own field.
    return undefined;
  }
}

/** The project of a watch that names none: cloud.projectId, the endpoint's, or the one the token is scoped to. */
export function defaultProject(cloud: unknown): string | undefined {
  if (!isMapping(cloud)) return undefined;
  const auth = isMapping(cloud.auth) ? cloud.auth : {};
  const scoped = typeof auth.projectId === 'string' && auth.projectId !== '' ? auth.projectId : undefined;
  return (typeof cloud.projectId === 'string' ? cloud.projectId : undefined) ?? projectInEndpoint(cloud.endpoint) ?? scoped;
}

/** Message for a `type` (or `kind`) that selects none of the variants of a discriminated union. */
function unknownType(what: string, supported: readonly string[], key = 'type') {
  return (iss: z.core.$ZodRawIssue) => {
    if (iss.code !== 'invalid_union') return undefined;
    const type = isMapping(iss.input) ? iss.input[key] : undefined;
    if (type === undefined || type === null) return `required: the ${what}, one of ${supported.join(', ')}${misnamed(iss.input, key, supported)}`;
    return unknownValue(what, type, supported);
  };
}

/**
 * Where the key was written under another name (`method: password`, `kind: webhook`), what to write instead:
 * such a file is otherwise told only that the key is missing, its other keys unchecked until it is there.
 */
function misnamed(input: unknown, key: string, supported: readonly string[]): string {
  if (!isMapping(input)) return '';
  const found = Object.entries(input).find(([name, value]) => name !== key && typeof value === 'string' && supported.includes(value));
  return found ? `; write ${key}: ${found[1]} rather than ${found[0]}: ${found[1]}` : '';
}

const AuthSchema = z.discriminatedUnion('type', AUTH_SCHEMAS, { error: unknownType('auth type', AUTH_TYPE_NAMES) });

// Nova's own form (api_version_request.py): a minor version with a leading zero is refused, at every request.
const MICROVERSION = /^(auto|2\.(0|[1-9]\d*))$/;

const CloudSchema = strict({
  /** Absent: taken from the token's catalog, with an auth method that has one. */
  endpoint: httpUrl('https://ecs.eu-de.otc.t-systems.com', { bare: true }).optional(),
  projectId: projectId().optional(),
  /** An OpenStack clouds.yaml and the cloud in it; applied by ./cloudsYaml.ts before this schema. */
  cloudsYaml: z.string().min(1).optional(),
  cloud: z.string().min(1).optional(),
  auth: orEmpty(AuthSchema.default({ type: 'none' })),
  region: z.string().min(1).optional(),
  /** Which of the catalog's endpoints: public, internal or admin. */
  interface: z.enum(INTERFACES).default('public'),
  tls: orEmpty(
    strict({ caFile: z.string().min(1).optional() })
      .prefault({})
      // ca: caFile's PEM text, set by the load that read and checked it (./load.ts), never in the file.
      .transform((tls): { caFile?: string | undefined; ca?: string | undefined } => tls),
  ),
  microversion: z
    .string({
      // YAML reads an unquoted 2.60 as the number 2.6, which is another microversion.
      error: (iss) => (typeof iss.input === 'number' ? `write the microversion quoted, e.g. "2.60" (unquoted it is the number ${iss.input})` : undefined),
    })
    .regex(MICROVERSION, {
      error: (iss) => {
        const input = String(iss.input);
        const zero = /^2\.0\d/.test(input) ? `, its N without a leading zero (Nova refuses every request at "${input}")` : '';
        return `${quoted(input)} is not a microversion: write auto or "2.N", e.g. "2.60"${zero}`;
      },
    })
    .default('auto'),
  timeout: duration().prefault('10s'),
}).superRefine((cloud, ctx) => {
  const fixed = typeof cloud.endpoint === 'string' ? endpointWithoutRequestPath(cloud.endpoint) : undefined;
  if (fixed !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['endpoint'],
      input: cloud.endpoint,
      message: `goes on into a request's path, which every request would add its own to: write the endpoint up to the version and project, ${fixed}`,
    });
  }
  // An auth type that is misspelt, or no mapping, is reported by auth; whether it takes the endpoint from a
  // catalog is not known.
  const type = isMapping(cloud.auth) ? cloud.auth.type : undefined;
  if (cloud.endpoint !== undefined || typeof type !== 'string' || !AUTH_TYPE_NAMES.includes(type) || CATALOG_AUTH_TYPES.includes(type)) return;
  const catalogTypes = CATALOG_AUTH_TYPES.map((t) => `type: ${t}`).join(' or ');
  ctx.addIssue({
    code: 'custom',
    path: ['endpoint'],
    input: undefined,
    message: `required with auth type ${type}: the compute endpoint, e.g. https://ecs.eu-de.otc.t-systems.com (auth ${catalogTypes} takes it from the token's catalog)`,
  });
}, ACROSS_KEYS);

const PollSchema = strict({
  schedule: cronExpression().default('*/15 * * * * *'),
  retries: integer(0, 20).default(4),
  concurrency: integer(1, 256).default(8),
  rateLimit: rateLimit().optional(),
  deadline: duration().prefault('6h'),
  /** Absent: off; `auto` or a mapping gives a duration per action type, see ./warnAfter.ts. */
  warnAfter: warnAfterSchema(),
  /** Absent: no partial digests. */
  batchWindow: duration().optional(),
});

const NotifierSchema = z.discriminatedUnion('type', NOTIFIER_SCHEMAS, {
  error: unknownType('notifier type', NOTIFIER_TYPE_NAMES),
});

const NOTIFIER_NAME = /^[A-Za-z0-9_.-]+$/;

const DEFAULT_MAX_DELAY = '5m';

const DeliverySchema = strict({
  maxAge: duration().prefault('24h'),
  minDelay: duration().prefault('1s'),
  maxDelay: duration().prefault(DEFAULT_MAX_DELAY),
}).superRefine(({ minDelay, maxDelay }: { minDelay: unknown; maxDelay: unknown }, ctx) => {
  // Either one refused is reported by its own key; what it holds then is as written (`1`, a number
  // without a unit; 1e400, Infinity), not milliseconds.
  if (ctx.issues.some((issue) => issue.path?.[0] === 'minDelay' || issue.path?.[0] === 'maxDelay')) return;
  if (typeof minDelay !== 'number' || typeof maxDelay !== 'number' || maxDelay >= minDelay) return;
  ctx.addIssue({
    code: 'custom',
    path: ['maxDelay'],
    input: maxDelay,
    // maxDelay may not be in the file: its default is named, as the problem is then said at minDelay's line.
    message: `must not be shorter than minDelay (${formatDuration(maxDelay)} against ${formatDuration(minDelay)}; maxDelay is ${DEFAULT_MAX_DELAY} unless set): raise maxDelay, or lower minDelay`,
  });
}, ACROSS_KEYS);

/** What every kind of watch accepts besides what names the thing it follows. */
const watchSettings = {
  name: z.string().min(1).optional(),
  projectId: projectId().optional(),
  /** Absent: every notifier. */
  notify: z.array(z.string()).optional(),
  /** Absent: poll.deadline. */
  deadline: duration().optional(),
  /** Absent: poll.warnAfter for the action's (or job's) type. */
  warnAfter: durationOrOff().optional(),
  /** Absent: notified on its own. One line: it heads the digest's subject. */
  batch: headerValue().pipe(z.string().trim().min(1)).optional(),
  /** Absent: poll.batchWindow; a batch uses the shortest of its watches'. */
  batchWindow: duration().optional(),
};

/** An instance action, the default kind: `kind` may be left out. */
const ActionWatchSchema = strict(
  {
    kind: z.literal('instance-action').optional(),
    requestId: z.string().regex(/^[A-Za-z0-9-]+$/, {
      error: (iss) => `expected a request id: letters, digits and -, e.g. req-5a429946-c9cc-45cc-b5bd-68864209e5cc${strayCharacter(iss.input, /[A-Za-z0-9-]/)}`,
    }),
    serverId: serverId(),
    ...watchSettings,
  },
  { jobId: 'a job of the native ECS API is watched with kind: ecs-job beside its jobId (and no requestId or serverId)' },
);

/** A job of Huawei Cloud / OTC's native ECS API (GET /v1/{project}/jobs/{job}). */
const JobWatchSchema = strict({
  kind: z.literal('ecs-job'),
  jobId: z.string().regex(/^[A-Za-z0-9-]+$/, {
    error: (iss) => `expected a job id: letters, digits and -, e.g. ff808082843684110184e155fdb36461 (the job_id an ECS call answered with)${strayCharacter(iss.input, /[A-Za-z0-9-]/)}`,
  }),
  ...watchSettings,
});

export const WatchSchema = z.discriminatedUnion('kind', [ActionWatchSchema, JobWatchSchema], {
  error: unknownType('watch kind', WATCH_KINDS, 'kind'),
});

/** Auto-tracking: the new actions of these servers (or of every server of the project) become watches. */
const TrackSchema = strict({
  servers: z.array(serverId()).min(1).optional(),
  project: z
    .literal('all', { error: (iss) => `${shown(iss.input)} is not a project to track: write project: all for every server of the project (projectId names which), or list servers:` })
    .optional(),
  projectId: projectId().optional(),
  /** Absent: every action. Nova's names: resize, live-migration, rebuild, reboot, create, delete... */
  actions: z.array(z.string().min(1)).min(1).optional(),
  /** Absent: every notifier. */
  notify: z.array(z.string()).optional(),
  /** Of each watch it starts. Absent: poll.deadline. */
  deadline: duration().optional(),
}).superRefine((entry, ctx) => oneOf(entry, ctx, ['servers', 'project']), ACROSS_KEYS);

/** What makes a watch entry the same as another, and where to say so; undefined while it is incomplete. */
export function identityOf(watch: Record<string, unknown>): { key: string; field: string; what: string } | undefined {
  if (watch.kind === 'ecs-job') return typeof watch.jobId === 'string' ? { key: `job\n${watch.jobId}`, field: 'jobId', what: 'same jobId' } : undefined;
  if (typeof watch.serverId !== 'string' || typeof watch.requestId !== 'string') return undefined;
  return { key: `${watch.serverId}\n${watch.requestId}`, field: 'requestId', what: 'same serverId and requestId' };
}

/** What `watches` and `track` entries both refer to: the default project and the notifiers. */
interface References {
  fallbackProject: string | undefined;
  /** The catalog template cloud.endpoint holds where a project id goes, which names no project. */
  projectPlaceholder: string | undefined;
  /** undefined when `notifiers` is not a mapping, which is reported on its own. */
  notifierNames: string[] | undefined;
}

function checkEntry(entry: Record<string, unknown>, at: (...path: (string | number)[]) => (string | number)[], refs: References, ctx: z.RefinementCtx): void {
  if (entry.projectId === undefined && refs.fallbackProject === undefined) {
    const where = at().slice(0, 2).map(String).join('[') + ']';
    // Copied from a catalog listing or a guide, the endpoint looks like the one the message asks for.
    const placeholder = refs.projectPlaceholder === undefined ? '' : `; cloud.endpoint ends in ${quoted(refs.projectPlaceholder)}, a catalog's placeholder and no project id: write the project's id in its place`;
    ctx.addIssue({ code: 'custom', path: at('projectId'), input: undefined, message: `no projectId: set ${where}.projectId or cloud.projectId (or an endpoint ending in /v2.1/{projectId}, or cloud.auth.projectId)${placeholder}` });
  }
  const names = refs.notifierNames;
  if (names !== undefined && Array.isArray(entry.notify)) {
    entry.notify.forEach((name: unknown, j) => {
      if (typeof name !== 'string' || names.includes(name)) return;
      const configured = names.length === 0 ? 'no notifiers are configured' : `configured: ${names.join(', ')}`;
      ctx.addIssue({ code: 'custom', path: at('notify', j), input: name, message: `unknown notifier ${quoted(name)} (${configured})${meant(name, names)}` });
    });
  }
}

function checkWatches(watches: unknown[], refs: References, ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  watches.forEach((watch: unknown, i) => {
    if (!isMapping(watch)) return;
    const at = (...path: (string | number)[]) => ['watches', i, ...path];
    checkEntry(watch, at, refs, ctx);
    const identity = identityOf(watch);
    if (identity !== undefined) {
      const first = seen.get(identity.key);
      if (first === undefined) seen.set(identity.key, i);
      else ctx.addIssue({ code: 'custom', path: at(identity.field), input: watch[identity.field], message: `duplicate of watches[${first}]: ${identity.what}` });
    }
  });
}

/** A server is tracked by one entry: listed once, and a project is tracked whole (`project: all`) once. */
function checkTrack(track: unknown[], refs: References, ctx: z.RefinementCtx): void {
  const seen = new Map<string, string>();
  track.forEach((entry: unknown, i) => {
    if (!isMapping(entry)) return;
    const at = (...path: (string | number)[]) => ['track', i, ...path];
    checkEntry(entry, at, refs, ctx);
    const project = typeof entry.projectId === 'string' ? entry.projectId : refs.fallbackProject;
    const claim = (key: string, path: (string | number)[], what: string) => {
      const first = seen.get(key);
      if (first === undefined) seen.set(key, `track[${i}]`);
      else ctx.addIssue({ code: 'custom', path, input: undefined, message: `${what} is already tracked by ${first}` });
    };
    // An entry with both is reported as such; what it would claim is left out of the comparison.
    if (entry.project === 'all' && entry.servers === undefined) claim(`${project}\nall`, at('project'), `project ${project}`);
    if (Array.isArray(entry.servers)) {
      entry.servers.forEach((server: unknown, j) => {
        if (typeof server === 'string') claim(`${project}\n${server}`, at('servers', j), `server ${server}`);
      });
    }
  });
}

/**
 * The names of the partly parsed `notifiers`: still the Map the name-safe dictionary reads into when one of
 * its notifiers is invalid, the finished dictionary otherwise; undefined when it is no mapping at all (that
 * is reported on its own, and every notify entry would be noise).
 */
function notifierNames(notifiers: unknown): string[] | undefined {
  if (notifiers === undefined) return [];
  if (notifiers instanceof Map) return [...notifiers.keys()].map(String);
  return isMapping(notifiers) ? Object.keys(notifiers) : undefined;
}

/**
 * Checks between sections. It runs even when other parts of the file are invalid, so that one run of
 * `validate` reports everything; hence it reads the partly parsed value defensively.
 */
function checkReferences(config: unknown, ctx: z.RefinementCtx, omitted: OmittedNotifiers | undefined): void {
  if (!isMapping(config)) return;
  const endpoint = isMapping(config.cloud) ? config.cloud.endpoint : undefined;
  const refs = { fallbackProject: defaultProject(config.cloud), projectPlaceholder: ofEndpoint(endpoint, endpointProjectPlaceholder), notifierNames: omitted ? omitted.names : notifierNames(config.notifiers) };
  if (Array.isArray(config.watches)) checkWatches(config.watches, refs, ctx);
  if (Array.isArray(config.track)) checkTrack(config.track, refs, ctx);
}

/** The state file's name in the default state.path. */
const DEFAULT_STATE_FILE = 'ecs-action-watch.state.json';

/**
 * How `path` shows it names a folder (`/`, `.` or `..` at its end), or undefined. A state.path that names one
 * not made yet would be made by `run`, which kept the state in `<folder>/.journal` and refused its next start.
 */
function folderEnding(path: string): string | undefined {
  if (path.endsWith('/')) return '/';
  const last = basename(path);
  return last === '.' || last === '..' ? last : undefined;
}

const SectionsSchema = strict({
  cloud: CloudSchema,
  poll: orEmpty(PollSchema.prefault({})),
  notifiers: orEmpty(
    dictionarySchema(
      z.string().regex(NOTIFIER_NAME, {
        error: (iss) => (iss.input === '<<' ? MERGE_KEY : `notifier name ${quoted(String(iss.input))} may only contain letters, digits, _, . and -`),
      }),
      NotifierSchema,
    ).prefault({}),
  ),
  delivery: orEmpty(DeliverySchema.prefault({})),
  state: orEmpty(
    strict({
      path: z
        .string()
        .min(1)
        .refine((path) => folderEnding(path) === undefined, {
          error: (iss) => {
            const path = String(iss.input);
            return `${quoted(path)} names a folder (the path ends with ${folderEnding(path)}), not the state file: name the file in it, e.g. ${join(path, DEFAULT_STATE_FILE)}`;
          },
        })
        // `run` would keep the state in ./~/..., and a start from another folder would find none of it.
        .refine((path) => homeTilde(path) === undefined, {
          // Valid before, and run from one folder (a unit's WorkingDirectory=), the state is there: written
          // anew as told, the path would start with none of it, and every finished watch be notified again.
          error: (iss) =>
            `${quoted(String(iss.input))} starts with ~: ${NO_HOME_HERE}, but a folder named ~ in the working folder: ${homeTilde(String(iss.input))}, ` +
            `and move there the state a run kept so far in ./${String(iss.input)} of its working folder, or the next start has none of it`,
        })
        .default(`./${DEFAULT_STATE_FILE}`),
      retention: duration().prefault('7d'),
    }).prefault({}),
  ),
  shutdown: orEmpty(strict({ drainTimeout: duration().prefault('10s') }).prefault({})),
  // Every interface by default: a pod's probes and Prometheus reach it from outside the pod.
  http: orEmpty(strict({ port: integer(0, 65535).default(9464), host: listenAddress().default('::') }).prefault({})),
  watches: orEmpty(z.array(WatchSchema).default([])),
  track: orEmpty(z.array(TrackSchema).default([])),
});

/**
 * A notifiers section left out of the value (a command that sends nothing needs none of their secrets):
 * the names it gives, which the watches' `notify:` lists are checked against all the same (none for an
 * empty one); undefined when it is no mapping, which only a load that reads it reports.
 */
export interface OmittedNotifiers {
  names: string[] | undefined;
}

/** The watch file's schema; `omitted` for a value read without its notifiers section. */
export function configSchema(omitted?: OmittedNotifiers) {
  return SectionsSchema.superRefine((config, ctx) => checkReferences(config, ctx, omitted), { when: () => true }).transform(({ watches, track, ...config }) => ({
    ...config,
    // checkReferences has rejected every entry that has no project.
    watches: watches.map((watch) => ({ ...watch, projectId: (watch.projectId ?? defaultProject(config.cloud))! })),
    track: track.map((entry) => ({ ...entry, projectId: (entry.projectId ?? defaultProject(config.cloud))! })),
  }));
}

export const ConfigSchema = configSchema();

export type Config = z.output<typeof ConfigSchema> & {
  /**
   * The values that variables named as secrets gave (`${HONEYCOMB_API_KEY}`), wherever the file put them:
   * a receiver's answer that quotes one has it hidden, also where the key holding it does not say it is a
   * credential (a header such as Honeycomb's X-Honeycomb-Team). Set by the loader.
   */
  variableSecrets?: readonly string[];
};
export type CloudConfig = Config['cloud'];
export type AuthConfig = CloudConfig['auth'];
export type TrackSpec = Config['track'][number];
