// OpenStack's clouds.yaml: `cloud.cloud: NAME` (or OS_CLOUD, when the file sets no cloud.auth) takes the
// identity settings of that profile instead of repeating them in the watch file, in the region
// OS_REGION_NAME names, as the openstack command takes them. Found where openstacksdk
// looks: cloud.cloudsYaml, else OS_CLIENT_CONFIG_FILE, else clouds.yaml (or .yml, .json) in ./,
// $XDG_CONFIG_HOME/openstack, ~/.config/openstack, /etc/openstack; a secure.yaml adds its secrets, found
// there too (or beside a clouds.yaml named), or named by OS_CLIENT_SECURE_FILE.
// Keys set in the watch file win over the profile's.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LineCounter, visit } from 'yaml';
import { documentData } from './aliases.ts';
import { isMapping } from '../data/dictionary.ts';
import { fileProblem } from '../files/fileProblem.ts';
import { readRegularFileSync } from '../files/readRegularFile.ts';
import { tagProblems, TAG_OPTIONS } from './tags.ts';
import { homeTilde, NO_HOME_HERE } from './fields.ts';
import { loneCarriageReturn, syntaxProblem, TOO_DEEP } from './yamlSyntax.ts';
import { secretHider } from './yamlSecrets.ts';
import { parseNested, tooDeep, unclosedOpeners, type Segment } from './yamlTree.ts';
import { withoutByteOrderMark } from '../text/byteOrderMark.ts';
import { quoted } from '../text/clipped.ts';
import { meant } from '../text/closest.ts';

export interface ProfileIssue {
  path: Segment[];
  message: string;
}

export interface ProfileResult {
  issues: ProfileIssue[];
  /** `clouds.yaml <path>, cloud '<name>'` when a profile was applied: issues in what it gave name it. */
  source?: string | undefined;
  /** The keys of `cloud` the profile set (the watch file did not): issues under them name it too. */
  filled?: string[];
}

type Json = Record<string, unknown>;

// A clouds.yaml with hundreds of clouds is tens of kilobytes.
const MAX_CLOUDS_YAML_BYTES = 1024 * 1024;

function text(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// openstacksdk's CONFIG_FILES and SECURE_FILES: in each folder, these endings in this order (a JSON file is
// YAML too).
const ENDINGS = ['.yaml', '.yml', '.json'];

/**
 * openstacksdk's CONFIG_SEARCH_PATH: the working folder, platformdirs' user folder (XDG_CONFIG_HOME's),
 * ~/.config/openstack, /etc/openstack.
 */
function searchPath(env: NodeJS.ProcessEnv): string[] {
  const home = text(env['HOME']);
  const xdg = text(env['XDG_CONFIG_HOME']);
  return [
    ...new Set([
      '.',
      ...(xdg === undefined ? [] : [join(xdg, 'openstack')]),
      ...(home === undefined ? [] : [join(home, '.config/openstack')]),
      '/etc/openstack',
    ]),
  ];
}

const inEach = (dirs: string[], stem: string) => dirs.flatMap((dir) => ENDINGS.map((ending) => join(dir, stem + ending)));

function candidates(cloud: Json, env: NodeJS.ProcessEnv): { files: string[]; explicit: boolean; where: string } {
  const given = text(cloud.cloudsYaml) ?? text(env['OS_CLIENT_CONFIG_FILE']);
  if (given !== undefined) return { files: [given], explicit: true, where: given };
  const dirs = searchPath(env);
  return { files: inEach(dirs, 'clouds'), explicit: false, where: `${ENDINGS.map((e) => `clouds${e}`).join(', ')} in ${dirs.join(', ')}` };
}

/**
 * The secure.yaml read with `file`: the first found of OS_CLIENT_SECURE_FILE and where openstacksdk looks
 * (SECURE_FILES), the one beside a clouds.yaml named coming before the latter, which would miss it.
 */
function secureFile(file: string, explicit: boolean, env: NodeJS.ProcessEnv): string | undefined {
  const given = text(env['OS_CLIENT_SECURE_FILE']);
  const dirs = searchPath(env);
  const files = [...(given === undefined ? [] : [given]), ...inEach(explicit ? [dirname(file), ...dirs] : dirs, 'secure')];
  return files.find((f) => existsSync(f));
}

/** What is wrong with a clouds.yaml (or secure.yaml) as YAML, in one line, at its own line and column. */
class CloudsYamlError extends Error {
  override readonly name = 'CloudsYamlError';
}

/**
 * The mapping `file` holds, read as the watch file is (its tags, its aliases); throws CloudsYamlError for
 * the first problem, as the issue at cloud.cloud says one: yaml's own message spans lines, with an
 * excerpt of the file and a caret under it.
 */
function readYaml(file: string): Json {
  // UTF-8 or refused, as the openstack command refuses it: a password in Latin-1 read with U+FFFD in its
  // place was sent so, and its refusal told as a wrong password.
  const text = withoutByteOrderMark(readRegularFileSync(file, MAX_CLOUDS_YAML_BYTES, { strictUtf8: true }));
  const lineCounter = new LineCounter();
  const parsed = parseNested(text, { lineCounter, prettyErrors: false, ...TAG_OPTIONS });
  if ('deep' in parsed) throw new CloudsYamlError(`line ${parsed.deep.line}, column ${parsed.deep.col}: ${TOO_DEEP}`);
  const { doc } = parsed;
  const hide = secretHider(doc, text);
  const at = ({ offset = 0, message }: { offset?: number | undefined; message: string }) => {
    const { line, col } = lineCounter.linePos(offset);
    return new CloudsYamlError(`line ${line}, column ${col}: ${hide(offset, [], message).message}`);
  };
  const cr = loneCarriageReturn(text, 'clouds.yaml');
  if (cr !== undefined) throw at(cr);
  const deep = tooDeep(doc);
  if (deep !== undefined) throw at({ offset: deep, message: TOO_DEEP });
  const error = doc.errors[0];
  if (error !== undefined) throw at(syntaxProblem(text, error, doc, () => unclosedOpeners(doc, text), 'clouds.yaml'));
  const tag = tagProblems(doc, text, false)[0];
  if (tag !== undefined) throw at(tag);
  // A number is read as written: a password 0123 (YAML's 123) or a project id of digits (1.2345678901234568e+21).
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
  const converted = documentData(doc, text);
  if (!converted.ok) throw at(converted.problems[0]!);
  if (!isMapping(converted.data)) throw new CloudsYamlError('not a mapping');
  return converted.data;
}

/** The profile with secure.yaml's entries for it laid over, as openstacksdk merges them. */
function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isMapping(current) && isMapping(value) ? merge(current, value) : value;
  }
  return out;
}

/** A profile's regions as openstacksdk lists them (_get_known_regions). */
interface Region {
  name: string | undefined;
  /** Settings of the profile for this region alone. */
  values: Json;
}

/**
 * The regions of a profile: `regions`, each a name or `{ name, values }`, which wins over region_name; else
 * region_name (a list there, comma-separated or YAML's, is deprecated).
 */
function regionsOf(profile: Json): Region[] {
  const listed: unknown[] = Array.isArray(profile.regions)
    ? profile.regions
    : Array.isArray(profile.region_name) ? profile.region_name : (text(profile.region_name)?.split(',') ?? []);
  return listed.map((entry) => (isMapping(entry) ? { name: text(entry.name), values: isMapping(entry.values) ? entry.values : {} } : { name: text(entry), values: {} }));
}

// The openstack command's options whose defaults are these variables, and which it lays over the profile's
// keys (openstacksdk's get_one_cloud with its argparse options): with OS_CLOUD set, OS_PASSWORD still wins.
const AUTH_VARIABLES: Record<string, string> = {
  OS_AUTH_URL: 'auth_url',
  OS_USERNAME: 'username',
  OS_USER_ID: 'user_id',
  OS_PASSWORD: 'password',
  // keystoneauth's deprecated names of the project's, read when the current ones are not set (so before them).
  OS_TENANT_ID: 'project_id',
  OS_TENANT_NAME: 'project_name',
  OS_PROJECT_ID: 'project_id',
  OS_PROJECT_NAME: 'project_name',
  OS_USER_DOMAIN_NAME: 'user_domain_name',
  OS_USER_DOMAIN_ID: 'user_domain_id',
  OS_PROJECT_DOMAIN_NAME: 'project_domain_name',
  OS_PROJECT_DOMAIN_ID: 'project_domain_id',
  OS_DOMAIN_NAME: 'domain_name',
  OS_DOMAIN_ID: 'domain_id',
};
const CLOUD_VARIABLES: Record<string, string> = { OS_INTERFACE: 'interface', OS_CACERT: 'cacert', OS_DEFAULT_DOMAIN: 'default_domain' };

/** What the OS_* variables set, as profile keys, to lay over the profile. */
function fromVariables(env: NodeJS.ProcessEnv): Json {
  const pick = (names: Record<string, string>) =>
    Object.fromEntries(Object.entries(names).flatMap(([variable, key]) => {
      const value = text(env[variable]);
      return value === undefined ? [] : [[key, value]];
    }));
  return { ...pick(CLOUD_VARIABLES), auth: pick(AUTH_VARIABLES) };
}

/** The region asked for, by the watch file's cloud.region or else by OS_REGION_NAME. */
interface AskedRegion {
  name: string;
  byEnv: boolean;
}

/**
 * The region the openstack command takes (openstacksdk's _get_region): the one asked for, with its values
 * when the profile lists it, else the profile's first. An OS_REGION_NAME the profile does not list is
 * refused, as that command refuses it: most likely a slip, or a variable left from another cloud. The
 * file's cloud.region is not: the file's keys win over the profile's.
 */
function chosenRegion(profile: Json, asked: AskedRegion | undefined, where: string): { region: Region; problem?: string } {
  const regions = regionsOf(profile);
  if (asked === undefined) return { region: regions[0] ?? { name: undefined, values: {} } };
  const listed = regions.find((r) => r.name === asked.name);
  if (listed !== undefined) return { region: listed };
  const names = regions.flatMap((r) => (r.name === undefined ? [] : [r.name]));
  const problem = asked.byEnv && names.length > 0 ? `${where}: OS_REGION_NAME=${asked.name} is none of its regions (${names.join(', ')})${meant(asked.name, names)}` : undefined;
  return { region: { name: asked.name, values: {} }, ...(problem === undefined ? {} : { problem }) };
}

/**
 * The domain of the user, or of a project named by name, as the openstack command sends it: its own key,
 * else domain_id / domain_name, which openstacksdk gives to both (_handle_domain_id), else the profile's
 * default_domain by id, `default` when unset (osc-lib's _auth_default_domain) - not the user's domain, as
 * the watch file's cloud.auth has it. Keystone takes the id when it has both.
 */
function domainOf(auth: Json, of: 'user' | 'project', defaultDomain: string, nameKey: string, idKey: string): Json {
  const id = text(auth[`${of}_domain_id`]) ?? text(auth.domain_id);
  const name = text(auth[`${of}_domain_name`]) ?? text(auth.domain_name);
  if (id === undefined && name !== undefined) return { [nameKey]: name };
  return { [idKey]: id ?? defaultDomain };
}

/** The watch file's `cloud.auth` (and defaults for region, interface, CA, project) from one profile, the OS_* variables over it. */
function toCloud(written: Json, name: string, where: string, asked: AskedRegion | undefined, variables: Json): { cloud: Json; problems: string[] } {
  const { region: { name: region, values }, problem } = chosenRegion(written, asked, where);
  const profile = merge(merge(written, values), variables);
  const problems: string[] = problem === undefined ? [] : [problem];
  const authType = text(profile.auth_type) ?? 'password';
  if (authType !== 'password' && authType !== 'v3password') {
    problems.push(`${where}: auth_type ${quoted(authType)} is not supported (password or v3password; for AK/SK set cloud.auth)`);
  }
  const auth = isMapping(profile.auth) ? profile.auth : {};
  // openstacksdk lays a vendor's settings under the profile (_expand_vendor_profile; `cloud` is the older
  // key): its auth_url above all, which the operator never wrote, their openstack command working without.
  const vendorKey = ['profile', 'cloud'].find((key) => text(written[key]) !== undefined);
  const vendorName = vendorKey === undefined ? undefined : text(written[vendorKey]);
  const vendor = vendorName === undefined
    ? ''
    : `: its vendor profile ${quoted(vendorName)} (${vendorKey}: ${vendorName}), which gives it to the openstack command, is not read here: write that auth_url, and the region_name, into the profile (openstack --os-cloud ${name} configuration show shows them)`;
  for (const [keys, what] of [
    [['auth_url'], `auth.auth_url${vendor}`],
    [['username', 'user_id'], 'auth.username (or auth.user_id)'],
    [['password'], 'auth.password (in clouds.yaml or secure.yaml, or OS_PASSWORD)'],
    [['project_id', 'project_name', 'tenant_id', 'tenant_name'], 'auth.project_id (or auth.project_name)'],
  ] as const) {
    if (keys.every((k) => text(auth[k]) === undefined)) problems.push(`${where} has no ${what}`);
  }
  // `insecure: true` is openstacksdk's older way to say `verify: false`: taken silently, the operator would
  // believe the profile's certificates unchecked while every request checked them.
  const unverified = profile.verify === false ? 'verify: false' : profile.insecure === true ? 'insecure: true' : undefined;
  if (unverified !== undefined) {
    problems.push(`${where}: ${unverified} is not supported, certificates are always verified; give the CA with cacert`);
  }
  // keystoneauth scopes to the project's id when there is one, and reads no name then: Horizon's own
  // download writes both, which the watch file's schema would refuse together.
  const projectId = text(auth.project_id) ?? text(auth.tenant_id);
  // The user likewise, by its id where there is one (PasswordMethod.get_auth_data): an OS_USER_ID over a
  // profile that names its user would otherwise be refused as naming it twice.
  const userId = text(auth.user_id);
  const user = userId === undefined ? text(auth.username) : undefined;
  const defaultDomain = text(profile.default_domain) ?? 'default';
  const cloud: Json = {
    auth: {
      type: 'password',
      identityEndpoint: text(auth.auth_url),
      user,
      userId,
      password: text(auth.password),
      ...(user === undefined ? {} : domainOf(auth, 'user', defaultDomain, 'domain', 'domainId')),
      ...(projectId === undefined
        ? { projectName: text(auth.project_name) ?? text(auth.tenant_name), ...domainOf(auth, 'project', defaultDomain, 'projectDomain', 'projectDomainId') }
        : { projectId }),
    },
    region,
    // openstacksdk's compute endpoint in place of the catalog's (CloudRegion.get_endpoint).
    endpoint: text(profile.compute_endpoint_override),
    // openstacksdk reads endpoint_type as interface (_fix_backwards_interface), and a service's own
    // compute_interface over the cloud's (CloudRegion.get_interface); keystoneauth also accepts the old
    // catalog names publicURL, internalURL, adminURL.
    interface: (text(profile.compute_interface) ?? text(profile.compute_endpoint_type) ?? text(profile.interface) ?? text(profile.endpoint_type))?.replace(/URL$/, ''),
    tls: text(profile.cacert) === undefined ? undefined : { caFile: text(profile.cacert) },
    projectId,
  };
  return { cloud, problems };
}

/** Drops undefined values, so that the schema sees a key as left out rather than set to nothing. */
function defined(value: Json): Json {
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, isMapping(v) ? defined(v) : v]),
  );
}

/**
 * Lays the named clouds.yaml profile into `data.cloud` (the parsed watch file, changed in place), under
 * what the watch file sets itself. Problems are reported at `cloud.cloud`, or at `cloud` for OS_CLOUD.
 */
export function applyCloudsYaml(data: unknown, env: NodeJS.ProcessEnv): ProfileResult {
  if (!isMapping(data)) return { issues: [] };
  // With OS_CLOUD set, as for the openstack command, the profile may be all there is of the cloud: a file
  // that leaves the section out, or writes `cloud:` with nothing after it, takes everything from it.
  if (data.cloud == null && text(env['OS_CLOUD']) !== undefined) data.cloud = {};
  if (!isMapping(data.cloud)) return { issues: [] };
  const cloud = data.cloud;
  const named = text(cloud.cloud);
  // `auth:` with nothing after it counts as left out, as the schema reads it (orEmpty).
  const auth = cloud.auth ?? undefined;
  const fromEnv = named === undefined && auth === undefined ? text(env['OS_CLOUD']) : undefined;
  const name = named ?? fromEnv;
  if (name === undefined) return { issues: [] };
  const at: Segment[] = named === undefined ? ['cloud'] : ['cloud', 'cloud'];
  const issue = (message: string): ProfileResult => ({ issues: [{ path: at, message }] });
  if (auth !== undefined) {
    return { issues: [{ path: ['cloud', 'auth'], message: 'set cloud.auth or cloud.cloud (a clouds.yaml profile), not both' }] };
  }

  const { files, explicit, where } = candidates(cloud, env);
  const file = explicit ? files[0] : files.find((f) => existsSync(f));
  const via = named === undefined ? ` (OS_CLOUD=${name})` : '';
  if (file === undefined) return issue(`no clouds.yaml found for cloud ${quoted(name)}${via} (looked for ${where}): set cloud.cloudsYaml`);
  let clouds: Json;
  try {
    const doc = readYaml(file);
    clouds = isMapping(doc.clouds) ? doc.clouds : {};
  } catch (err) {
    const tilde = homeTilde(file);
    return issue(`cannot read clouds.yaml ${file}: ${fileProblem(err)}${tilde === undefined ? '' : ` (${NO_HOME_HERE}: ${tilde})`}`);
  }
  const found = clouds[name];
  if (!isMapping(found)) {
    const known = Object.keys(clouds);
    return issue(`clouds.yaml ${file} has no cloud ${quoted(name)}${via} (${known.length === 0 ? 'it has none' : `it has: ${known.join(', ')}`})${meant(name, known)}`);
  }
  let profile = found;
  const secure = secureFile(file, explicit, env);
  if (secure !== undefined) {
    try {
      const secrets = readYaml(secure).clouds;
      if (isMapping(secrets) && isMapping(secrets[name])) profile = merge(profile, secrets[name]);
    } catch (err) {
      return issue(`cannot read ${secure}: ${fileProblem(err)}`);
    }
  }

  const source = `clouds.yaml ${file}, cloud ${quoted(name)}`;
  // As the openstack command reads it (--os-region-name's default), for a profile only: a file with
  // cloud.auth holds every setting of its cloud, which a variable left in a shell would not change.
  const region = text(cloud.region) ?? text(env['OS_REGION_NAME']);
  const asked = region === undefined ? undefined : { name: region, byEnv: text(cloud.region) === undefined };
  const { cloud: fromProfile, problems } = toCloud(profile, name, source, asked, fromVariables(env));
  if (problems.length > 0) return { issues: problems.map((message) => ({ path: at, message })), source };
  const filled = Object.entries(defined(fromProfile)).flatMap(([key, value]) => {
    if (cloud[key] != null) return [];
    cloud[key] = value;
    return [key];
  });
  return { issues: [], source, filled };
}
