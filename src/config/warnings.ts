// A valid file can still ask for something that works worse than the user likely expects: these are
// said (with line:col) but never refuse the file.

import cron from 'node-cron';
import { daylightSavingZone, givenZone } from '../watch/cronZone.ts';
import { namesNoHourDayOrMonth } from './fields.ts';
import { notifierWarnings } from '../notify/registry.ts';
import { authWarnings } from '../cloud/auth/registry.ts';
import { defaultProject, type Config } from './schema.ts';
import { NOVA_ACTIONS, unknownActionTypes } from './warnAfter.ts';
import type { Segment } from './yamlTree.ts';
import { quoted } from '../text/clipped.ts';
import { meant } from '../text/closest.ts';
import { formatDuration } from '../watch/format.ts';
import { hostInClear, sentInClear } from '../net/loopback.ts';
import { endpointProjectId } from '../cloud/endpoint.ts';

export interface ConfigWarning {
  path: readonly Segment[];
  message: string;
}

/** The minor number of an explicit "2.N" microversion (the schema allows no other major). */
function minorOf(microversion: string): number | null {
  const match = /^2\.(\d+)$/.exec(microversion);
  return match === null ? null : Number(match[1]);
}

/** A name in `actions:` that Nova never records matches nothing (a typo such as live_migration, most likely). */
function unknownActions(config: Config): ConfigWarning[] {
  return config.track.flatMap((entry, i) =>
    (entry.actions ?? []).flatMap((name, j) =>
      NOVA_ACTIONS.includes(name)
        ? []
        : [{ path: ['track', i, 'actions', j], message: `${quoted(name)} is no action name Nova records (it writes live-migration, resize, rebuild, createImage...): it matches only what this cloud records under that name${meant(name, NOVA_ACTIONS)}` }],
    ),
  );
}

/**
 * A schedule that names hours or days is read in the process's zone (one that names none runs in UTC,
 * src/watch/cronZone.ts), and node-cron misses passes due in the hour a zone with daylight saving time
 * repeats or skips: none for up to two hours at the autumn change (measured, Europe/Berlin: from 01:59:45
 * CEST to 03:00 CET), and one due in the hour skipped in spring is not run that day. A schedule that never
 * runs in that hour (`0 12 * * *`) misses nothing, and is not told to move its hours to UTC.
 */
function scheduleAcrossDaylightSaving(config: Config): ConfigWarning[] {
  const { schedule } = config.poll;
  const daylightSaving = namesNoHourDayOrMonth(schedule) ? null : daylightSavingZone();
  if (daylightSaving === null) return [];
  const { zone, changedHours } = daylightSaving;
  const hours = cron.parse(schedule).hour.filter((hour) => changedHours.includes(hour));
  if (hours.length === 0) return [];
  return [{
    path: ['poll', 'schedule'],
    message:
      `${quoted(schedule)} runs in ${hours.length === 1 ? 'hour' : 'hours'} ${hours.join(', ')}, read in this process's zone (${zone}), whose clocks repeat or skip ${hours.length === 1 ? 'it' : 'them'} for daylight saving time: ` +
      'node-cron runs no pass for up to two hours at the autumn change, nor one due in the hour skipped in spring. Run the daemon with TZ=UTC and write the hours in UTC',
  }];
}

/**
 * A TZ by which ICU, which gives the process its zone, knows none: a name in another case (europe/berlin)
 * or misspelt, a path, a POSIX rule (CET-1CEST,M3.5.0,M10.5.0/3), which C programs read. The process then
 * keeps UTC's clock, or a fixed offset, without a word, and a schedule that names hours runs at others.
 */
function scheduleInUnknownZone(config: Config): ConfigWarning[] {
  const { schedule } = config.poll;
  const tz = givenZone();
  // As ICU reads it: past a leading colon, and past glibc's trees of the same zones (posix/, right/).
  if (!tz || namesNoHourDayOrMonth(schedule) || isKnownZone(tz.replace(/^:/, '').replace(/^(?:posix|right)\//, ''))) return [];
  return [{
    path: ['poll', 'schedule'],
    message:
      `${quoted(schedule)} names hours, read in this process's zone, but TZ=${tz} is no zone Node.js knows (a name of the tz database, case and all, e.g. Europe/Berlin): ` +
      "the process keeps UTC's clock or a fixed offset without a word, and runs it at other hours than meant",
  }];
}

/**
 * Whether ICU reads `tz` as the process's zone. Asked of the name, not of the process, whose zone is UTC
 * while a schedule that names no hour runs: Intl reads a zone it is given in any case, the process's only
 * in the case the tz database writes it, so a name Intl writes otherwise but for case is none.
 */
function isKnownZone(tz: string): boolean {
  try {
    const zone = new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
    // UTC in another case (utc) is none either, but the clock the process keeps then is UTC's, as meant.
    return zone === tz || zone.toLowerCase() !== tz.toLowerCase() || zone === 'UTC';
  } catch {
    return false;
  }
}

/**
 * Nova refuses a URL whose project is not the one the request's token is scoped to, an admin's too
 * (api/openstack/wsgi.py _process_stack: 400 "Malformed request URL: URL's project_id ... doesn't match
 * Context's project_id"): with password auth scoped by id, a watch of another project fails every poll.
 */
function projectsOutOfScope(config: Config): ConfigWarning[] {
  const { auth } = config.cloud;
  // By the key, as defaultProject reads it, not by the method's name: any method whose credentials are
  // scoped to one project names it cloud.auth.projectId.
  if (!('projectId' in auth) || auth.projectId === undefined) return [];
  const scoped = auth.projectId;
  const refused = (path: readonly Segment[], id: string): ConfigWarning => ({
    path,
    message: `${quoted(id)} is not the project the token is scoped to (cloud.auth.projectId ${quoted(scoped)}): Nova refuses a URL that names another project (400 Malformed request URL), so every poll of it fails; scope the token to that project, or run a daemon with its own watch file for it`,
  });
  const fallback = defaultProject(config.cloud);
  const warnings = fallback !== undefined && fallback !== scoped ? [refused(['cloud', config.cloud.projectId === undefined ? 'endpoint' : 'projectId'], fallback)] : [];
  // An entry whose project is not the default names its own (the schema fills in the default).
  for (const [section, entries] of [['watches', config.watches], ['track', config.track]] as const) {
    entries.forEach((entry, i) => {
      if (entry.projectId !== undefined && entry.projectId !== fallback && entry.projectId !== scoped) warnings.push(refused([section, i, 'projectId'], entry.projectId));
    });
  }
  return warnings;
}

/**
 * The credentials that the cloud settings send over http:// to another machine: the email notifier refuses
 * to log in so (smtp.requireTLS), and a token or password read on the way works for whoever read it.
 */
function credentialsInClear(cloud: Config['cloud']): ConfigWarning[] {
  const { auth } = cloud;
  const warnings: ConfigWarning[] = [];
  const sent =
    auth.type === 'token' ? 'the token (X-Auth-Token)'
    : auth.type === 'password' ? 'the token the password gets (X-Auth-Token)'
    : auth.type === 'aksk' && (auth.securityToken !== undefined || auth.securityTokenFile !== undefined) ? 'the security token (X-Security-Token)'
    : undefined;
  const compute = cloud.endpoint === undefined ? undefined : hostInClear(cloud.endpoint);
  if (sent !== undefined && compute !== undefined) warnings.push({ path: ['cloud', 'endpoint'], message: sentInClear(sent, compute) });
  const identity = auth.type === 'password' ? hostInClear(auth.identityEndpoint) : undefined;
  if (identity !== undefined) warnings.push({ path: ['cloud', 'auth', 'identityEndpoint'], message: sentInClear('the password', identity) });
  return warnings;
}

/**
 * Requests are built from the endpoint's service root and the watch's project: a project the endpoint names
 * (`.../v2.1/{projectId}`, as a catalog lists it) goes unused once cloud.projectId names another.
 */
function endpointProjectOverridden(cloud: Config['cloud']): ConfigWarning[] {
  const named = cloud.endpoint === undefined ? undefined : endpointProjectId(cloud.endpoint);
  if (named === undefined || cloud.projectId === undefined || named === cloud.projectId) return [];
  return [{
    path: ['cloud', 'endpoint'],
    message: `names the project ${quoted(named)}, but cloud.projectId is ${quoted(cloud.projectId)}: requests go to ${quoted(cloud.projectId)} and the endpoint's project is not used. Make them the same, or leave the project out of the endpoint`,
  }];
}

/**
 * How long the shipped deployments give a stop before they kill the daemon: the systemd units'
 * TimeoutStopSec, the Kubernetes Deployment's terminationGracePeriodSeconds, the README's `docker run
 * --stop-timeout` (test/deploy holds them to it).
 */
export const SHIPPED_STOP_GRACE_MS = 30_000;

/** The longest drain that, with the state's save and release after it, ends within the stop the shipped deployments give. */
const DRAIN_WITHIN_STOP_MS = SHIPPED_STOP_GRACE_MS - 5_000;

export function configWarnings(config: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [
    ...unknownActions(config), ...scheduleAcrossDaylightSaving(config), ...scheduleInUnknownZone(config), ...projectsOutOfScope(config), ...credentialsInClear(config.cloud), ...authWarnings(config.cloud.auth), ...endpointProjectOverridden(config.cloud), ...notifierWarnings(config.notifiers),
  ];
  const minor = minorOf(config.cloud.microversion);
  if (minor !== null && minor < 51) {
    const lost = [
      'below 2.51 only admins see events, so for everyone else the server state alone decides',
      ...(minor < 21 ? ["below 2.21 a deleted server's actions answer 404, so a finished delete can end as not_found"] : []),
    ];
    warnings.push({
      path: ['cloud', 'microversion'],
      message: `"${config.cloud.microversion}" is below 2.51: ${lost.join('; ')}. Use auto (or "2.51" or higher) unless the endpoint offers nothing newer`,
    });
  }
  if (config.shutdown.drainTimeout > DRAIN_WITHIN_STOP_MS) {
    warnings.push({
      path: ['shutdown', 'drainTimeout'],
      message: `${formatDuration(config.shutdown.drainTimeout)} is more than the ${formatDuration(DRAIN_WITHIN_STOP_MS)} that fits the ${formatDuration(SHIPPED_STOP_GRACE_MS)} a stop is given by the systemd unit (TimeoutStopSec), the Kubernetes Deployment (terminationGracePeriodSeconds) and the README's docker run (--stop-timeout): they would kill the daemon before it has released its state lock, and the next start waits for the lock. Raise those with it`,
    });
  }
  for (const action of unknownActionTypes(config.poll.warnAfter)) {
    warnings.push({
      path: ['poll', 'warnAfter', action],
      message: `${quoted(action)} is not an action type Nova records (${NOVA_ACTIONS.join(', ')}, or other for the rest): it applies only to actions your cloud records, or jobs of the native API, of that name`,
    });
  }
  return warnings;
}
