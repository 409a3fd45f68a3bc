// cloud.auth for each method, the endpoint rule, and OpenStack clouds.yaml profiles.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIssue, parseConfig, validateConfigText } from '../../src/config/load.ts';
import { makeCertificates } from '../certificates.ts';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = validateConfigText(text, { env });
  return result.ok ? [] : result.issues.map((issue) => formatIssue(issue));
}

const OTC_AUTH = [
  '  auth:',
  '    type: password',
  '    identityEndpoint: https://iam.eu-de.otc.t-systems.com/v3',
  '    user: svc-watch',
  '    password: ${OTC_PASSWORD}',
  '    domain: OTC00000000001000000123',
  '    projectName: eu-de',
];

describe('auth settings', () => {
  it('password auth needs no endpoint; the catalog interface defaults to public', () => {
    const config = parseConfig(lines('cloud:', ...OTC_AUTH, '  projectId: p1', '  region: eu-de'), { env: { OTC_PASSWORD: 'pw' } });
    expect(config.cloud).toMatchObject({
      interface: 'public',
      region: 'eu-de',
      auth: {
        type: 'password',
        identityEndpoint: 'https://iam.eu-de.otc.t-systems.com/v3',
        user: 'svc-watch',
        password: 'pw',
        domain: 'OTC00000000001000000123',
        projectName: 'eu-de',
      },
    });
    expect(config.cloud.endpoint).toBeUndefined();
  });

  it('a watch without a project takes the one the token is scoped to', () => {
    const config = parseConfig(
      lines('cloud:', '  auth: { type: password, identityEndpoint: "https://keystone.test/v3", userId: u1, password: p, projectId: p9 }', 'watches:', '  - { requestId: req-1, serverId: s1 }'),
      { env: {} },
    );
    expect(config.watches[0]?.projectId).toBe('p9');
  });

  it('aksk with temporary credentials from files', () => {
    const config = parseConfig(
      lines('cloud:', '  endpoint: https://ecs.test', '  projectId: p1', '  auth:', '    type: aksk', '    accessKeyFile: /run/ak', '    secretKeyFile: /run/sk', '    securityTokenFile: /run/st'),
      { env: {} },
    );
    expect(config.cloud.auth).toEqual({ type: 'aksk', accessKeyFile: '/run/ak', secretKeyFile: '/run/sk', securityTokenFile: '/run/st' });
  });

  it.each([
    ['token auth without an endpoint', ['cloud:', '  projectId: p1', '  auth: { type: token, token: t }'], [
      "2:3 cloud.endpoint: required with auth type token: the compute endpoint, e.g. https://ecs.eu-de.otc.t-systems.com (auth type: password takes it from the token's catalog)",
    ]],
    ['no auth and no endpoint', ['cloud:', '  projectId: p1'], [
      "2:3 cloud.endpoint: required with auth type none: the compute endpoint, e.g. https://ecs.eu-de.otc.t-systems.com (auth type: password takes it from the token's catalog)",
    ]],
    ['password auth missing its keys', ['cloud:', '  projectId: p1', '  auth:', '    type: password', '    identityEndpoint: https://iam.test/v3', '    user: u'], [
      '4:5 cloud.auth.password: required: password (or passwordFile)',
      '4:5 cloud.auth.projectId: required: projectId (or projectName)',
      '4:5 cloud.auth.domain: required: domain (or domainId)',
    ]],
    // Copied from a clouds.yaml or an openrc: auth_url and the domains got no word of what they are here.
    ['password auth written with clouds.yaml\'s keys', ['cloud:', '  projectId: p1', '  auth:', '    type: password', '    auth_url: https://iam.test/v3', '    user_id: u', '    password: p', '    user_domain_name: d', '    project_id: p1'], [
      '4:5 cloud.auth.identityEndpoint: required (a string)',
      '4:5 cloud.auth.user: required: user (or userId)',
      '4:5 cloud.auth.projectId: required: projectId (or projectName)',
      "5:5 cloud.auth.auth_url: unknown key 'auth_url' (allowed: type, identityEndpoint, user, userId, password, passwordFile, domain, domainId, projectId, projectName, projectDomain, projectDomainId); auth_url is clouds.yaml's name: write identityEndpoint (or name a clouds.yaml profile with cloud.cloud)",
      "6:5 cloud.auth.user_id: unknown key 'user_id' (allowed: type, identityEndpoint, user, userId, password, passwordFile, domain, domainId, projectId, projectName, projectDomain, projectDomainId); user_id is clouds.yaml's name: write userId (or name a clouds.yaml profile with cloud.cloud)",
      "8:5 cloud.auth.user_domain_name: unknown key 'user_domain_name' (allowed: type, identityEndpoint, user, userId, password, passwordFile, domain, domainId, projectId, projectName, projectDomain, projectDomainId); user_domain_name is clouds.yaml's name: write domain (or name a clouds.yaml profile with cloud.cloud)",
      "9:5 cloud.auth.project_id: unknown key 'project_id' (allowed: type, identityEndpoint, user, userId, password, passwordFile, domain, domainId, projectId, projectName, projectDomain, projectDomainId); project_id is clouds.yaml's name: write projectId (or name a clouds.yaml profile with cloud.cloud)",
    ]],
    ['a password both inline and from a file', ['cloud:', '  projectId: p1', '  auth:', '    type: password', '    identityEndpoint: https://iam.test/v3', '    userId: u', '    password: p', '    passwordFile: /run/p', '    projectId: p1'], [
      '8:19 cloud.auth.passwordFile: set password or passwordFile, not both',
    ]],
    ['a project by name without its domain', ['cloud:', '  projectId: p1', '  auth: { type: password, identityEndpoint: "https://iam.test/v3", userId: u, password: p, projectName: eu-de }'], [
      '3:9 cloud.auth.projectDomain: required with projectName: projectDomain (or projectDomainId), the domain the project belongs to',
    ]],
    ['a scoped project id left empty by its variable, beside a project name, and a watch that names no project', [
      'cloud:', ...OTC_AUTH, '    projectId: "${OS_PROJECT_ID:-}"', 'watches:', '  - { requestId: req-1, serverId: s1 }',
    ], [
      '11:5 watches[0].projectId: no projectId: set watches[0].projectId or cloud.projectId (or an endpoint ending in /v2.1/{projectId}, or cloud.auth.projectId)',
    ]],
    // Copied with what went before it in a header or a curl line: sent so, every poll was a 401.
    ['a token with "Bearer " in front of it', ['cloud:', '  endpoint: https://ecs.test', '  projectId: p1', '  auth: { type: token, token: "Bearer gAAAAABtokenSecret1" }'], [
      '4:31 cloud.auth.token: holds a space, which no token does: write the token alone, without the scheme or header name copied before it',
    ]],
    // Copied from a web page: the space a browser shows may be a no-break one.
    ['a token with "Bearer" and a no-break space in front of it', ['cloud:', '  endpoint: https://ecs.test', '  projectId: p1', '  auth: { type: token, token: "Bearer\u00a0gAAAAABtokenSecret1" }'], [
      '4:31 cloud.auth.token: holds a space, which no token does: write the token alone, without the scheme or header name copied before it',
    ]],
    ['aksk without a secret key', ['cloud:', '  endpoint: https://ecs.test', '  projectId: p1', '  auth: { type: aksk, accessKey: AK }'], [
      '4:9 cloud.auth.secretKey: required: secretKey (or secretKeyFile)',
    ]],
    ['an unknown catalog interface', ['cloud:', ...OTC_AUTH, '  projectId: p1', '  interface: private'], [
      "10:14 cloud.interface: unknown value 'private' (allowed: public, internal, admin)",
    ]],
    ['a misspelt tls key', ['cloud:', '  endpoint: https://ecs.test', '  projectId: p1', '  tls: { cafile: /etc/ca.pem }'], [
      "4:10 cloud.tls.cafile: unknown key 'cafile' (allowed: caFile); did you mean 'caFile'?",
    ]],
  ])('%s', (_case, text, expected) => {
    expect(problems(lines(...text), { OTC_PASSWORD: 'pw' })).toEqual(expected);
  });
});

describe('clouds.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eaw-clouds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  // The CA bundle a profile names is checked when the file is loaded: one that exists and can be read.
  const ca = makeCertificates(dir).caFile;
  const clouds = file(
    'clouds.yaml',
    lines(
      'clouds:',
      '  otc:',
      '    auth:',
      '      auth_url: https://iam.eu-de.otc.t-systems.com:443/v3',
      '      username: svc-watch',
      '      user_domain_name: OTC00000000001000000123',
      '      project_name: eu-de',
      '      project_domain_name: OTC00000000001000000123',
      '    region_name: eu-de',
      '    interface: public',
      `    cacert: ${ca}`,
      '  devstack:',
      '    auth:',
      '      auth_url: http://10.0.0.5/identity',
      '      username: demo',
      '      password: secret-in-clouds-yaml',
      '      project_id: 0a1b2c3d',
      '      domain_name: Default',
      '    region_name: RegionOne',
      '  insecure:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_id: x, domain_id: default }',
      '    verify: false',
      '  legacy:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_id: x, domain_id: default }',
      '    insecure: true',
      '  tokens:',
      '    auth_type: token',
      '    auth: { auth_url: "https://k.test/v3", token: abc, project_id: x }',
    ),
  );
  file('secure.yaml', lines('clouds:', '  otc:', '    auth:', '      password: secret-from-secure-yaml'));

  it('takes auth, region, interface, CA and project from the profile', () => {
    const config = parseConfig(lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: devstack'), { env: {} });
    expect(config.cloud).toMatchObject({
      region: 'RegionOne',
      projectId: '0a1b2c3d',
      auth: {
        type: 'password',
        identityEndpoint: 'http://10.0.0.5/identity',
        user: 'demo',
        password: 'secret-in-clouds-yaml',
        domain: 'Default',
        projectId: '0a1b2c3d',
      },
    });
  });

  it('merges secure.yaml; the watch file wins over the profile', () => {
    const config = parseConfig(lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: otc', '  region: eu-nl', '  projectId: p1'), { env: {} });
    expect(config.cloud).toMatchObject({
      region: 'eu-nl',
      interface: 'public',
      tls: { caFile: ca },
      projectId: 'p1',
      auth: {
        identityEndpoint: 'https://iam.eu-de.otc.t-systems.com:443/v3',
        password: 'secret-from-secure-yaml',
        domain: 'OTC00000000001000000123',
        projectName: 'eu-de',
        projectDomain: 'OTC00000000001000000123',
      },
    });
  });

  it('reads a v3password profile with numbers for its password and project, from the cloudsYaml the file names over OS_CLIENT_CONFIG_FILE', () => {
    const numeric = file('numeric.yaml', lines('clouds:', '  lab:', '    auth_type: v3password', '    auth: { auth_url: "https://k.test/v3", user_id: u, password: 12345678, project_id: 42 }'));
    const config = parseConfig(lines('cloud:', `  cloudsYaml: ${numeric}`, '  cloud: lab'), { env: { OS_CLIENT_CONFIG_FILE: clouds } });
    expect(config.cloud).toMatchObject({ projectId: '42', auth: { type: 'password', userId: 'u', password: '12345678', projectId: '42' } });
  });

  it('reads a number as the profile writes it, not as YAML reads it: a password 0123 is sent as 0123, not 123', () => {
    const numeric = file('written.yaml', lines('clouds:', '  lab:', '    auth: { auth_url: "https://k.test/v3", user_id: u, password: 0123, project_id: 1234567890123456789012 }'));
    const config = parseConfig(lines('cloud:', `  cloudsYaml: ${numeric}`, '  cloud: lab'), { env: {} });
    expect(config.cloud).toMatchObject({ projectId: '1234567890123456789012', auth: { password: '0123', projectId: '1234567890123456789012' } });
  });

  it('reads Horizon\'s download, which names the project by id and by name, by its id, as keystoneauth does', () => {
    // openstack/horizon: openstack_dashboard/dashboards/project/api_access/templates/api_access/clouds.yaml.template
    const horizon = file('horizon.yaml', lines(
      'clouds:',
      '  openstack:',
      '    auth:',
      '      auth_url: https://keystone.example.com:5000/v3',
      '      username: "demo"',
      '      password: p',
      '      project_id: 6e4d0a0e05d04b4fa7ebbd1bb0e0a0c1',
      '      project_name: "demo"',
      '      user_domain_name: "Default"',
      '      project_domain_id: default',
      '    region_name: "RegionOne"',
      '    interface: "public"',
      '    identity_api_version: 3',
    ));
    const config = parseConfig(lines('cloud:', `  cloudsYaml: ${horizon}`, '  cloud: openstack'), { env: {} });
    expect(config.cloud.projectId).toBe('6e4d0a0e05d04b4fa7ebbd1bb0e0a0c1');
    expect(config.cloud.auth).toMatchObject({ type: 'password', user: 'demo', domain: 'Default', projectId: '6e4d0a0e05d04b4fa7ebbd1bb0e0a0c1' });
    expect(config.cloud.auth).not.toHaveProperty('projectName');
    expect(config.cloud.auth).not.toHaveProperty('projectDomainId');
  });

  it('logs in by the user id of a profile that names the user by id and by name (or whose OS_USER_ID is set), as keystoneauth does', () => {
    // keystoneauth1 identity/v3/password.py PasswordMethod.get_auth_data: the id, else the name and its domain.
    const both = file('both.yaml', lines('clouds:', '  lab:', '    auth: { auth_url: "https://k.test/v3", username: demo, user_id: 9d1c, password: p, project_id: x, user_domain_name: Default }'));
    const named = file('named.yaml', lines('clouds:', '  lab:', '    auth: { auth_url: "https://k.test/v3", username: demo, password: p, project_id: x, user_domain_name: Default }'));
    for (const [yaml, env] of [[both, {}], [named, { OS_USER_ID: '9d1c' }]] as const) {
      const config = parseConfig(lines('cloud:', `  cloudsYaml: ${yaml}`, '  cloud: lab'), { env });
      expect(config.cloud.auth).toMatchObject({ type: 'password', userId: '9d1c' });
      expect(config.cloud.auth).not.toHaveProperty('user');
      expect(config.cloud.auth).not.toHaveProperty('domain');
    }
  });

  it('says of a profile with no auth_url that its vendor profile (profile: otc) is not read, where the openstack command takes the auth_url from it', () => {
    // openstacksdk config/loader.py _expand_vendor_profile: `profile`, or its older name `cloud`, names one of its vendors.
    for (const key of ['profile', 'cloud']) {
      const vendor = file(`vendor-${key}.yaml`, lines('clouds:', '  otc:', `    ${key}: otc`, '    auth: { username: u, password: p, project_name: eu-de, user_domain_name: OTC00000000001000000123 }'));
      expect(problems(lines('cloud:', `  cloudsYaml: ${vendor}`, '  cloud: otc', '  projectId: p1'))).toEqual([
        `3:10 cloud.cloud: clouds.yaml ${vendor}, cloud 'otc' has no auth.auth_url: its vendor profile 'otc' (${key}: otc), which gives it to the openstack command, is not read here: write that auth_url, and the region_name, into the profile (openstack --os-cloud otc configuration show shows them)`,
      ]);
    }
  });

  it('refuses a clouds.yaml or secure.yaml that is not UTF-8 (a password in Latin-1), rather than send the password read wrong, which the identity service refuses', () => {
    const latin1 = join(dir, 'latin1.yaml');
    writeFileSync(latin1, Buffer.from('clouds:\n  lab:\n    auth: { auth_url: "https://k.test/v3", user_id: u, password: "p\xe4sswort", project_id: x }\n', 'latin1'));
    expect(problems(lines('cloud:', `  cloudsYaml: ${latin1}`, '  cloud: lab'))).toEqual([
      `3:10 cloud.cloud: cannot read clouds.yaml ${latin1}: is not UTF-8 text (line 3, column 68 is not): save it as UTF-8`,
    ]);
  });

  it('takes the first of a profile\'s regions, as the openstack command does (openstacksdk\'s _get_region), over its region_name', () => {
    const regions = file('regions.yaml', lines(
      'clouds:',
      '  names:',
      '    auth: &auth { auth_url: "https://k.test/v3", username: u, password: p, project_id: x, user_domain_id: default }',
      '    regions: [eu-de, eu-nl]',
      '  entries:',
      '    auth: *auth',
      '    region_name: eu-nl',
      '    regions:',
      '      - name: eu-de',
      '        values: { interface: internal }',
      '      - eu-nl',
      '  listed:',
      '    auth: *auth',
      '    region_name: eu-de,eu-nl',
    ));
    const read = (cloud: string) => parseConfig(lines('cloud:', `  cloudsYaml: ${regions}`, `  cloud: ${cloud}`), { env: {} }).cloud;
    expect(read('names')).toMatchObject({ region: 'eu-de', interface: 'public' });
    expect(read('entries')).toMatchObject({ region: 'eu-de', interface: 'internal' });
    // A list in region_name, which openstacksdk still reads (and warns of).
    expect(read('listed')).toMatchObject({ region: 'eu-de' });
  });

  it('takes the region OS_REGION_NAME names, with its values, over the profile\'s first, as the openstack command does; cloud.region wins over both', () => {
    const regions = file('os-region.yaml', lines(
      'clouds:',
      '  entries:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_id: x, user_domain_id: default }',
      '    regions:',
      '      - name: eu-de',
      '        values: { interface: internal }',
      '      - eu-nl',
      '  single:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_id: x, user_domain_id: default }',
      '  one:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_id: x, user_domain_id: default }',
      '    region_name: eu-de',
    ));
    const env = { OS_CLOUD: 'entries', OS_CLIENT_CONFIG_FILE: regions, OS_REGION_NAME: 'eu-nl' };
    expect(parseConfig(lines('watches: []'), { env }).cloud).toMatchObject({ region: 'eu-nl', interface: 'public' });
    expect(parseConfig(lines('cloud:', `  cloudsYaml: ${regions}`, '  cloud: entries'), { env: { OS_REGION_NAME: 'eu-nl' } }).cloud).toMatchObject({ region: 'eu-nl', interface: 'public' });
    // A region the file names takes that region's values, not the first's.
    expect(parseConfig(lines('cloud:', '  region: eu-nl'), { env: { ...env, OS_REGION_NAME: 'eu-de' } }).cloud).toMatchObject({ region: 'eu-nl', interface: 'public' });
    expect(parseConfig(lines('cloud:', '  region: eu-de'), { env }).cloud).toMatchObject({ region: 'eu-de', interface: 'internal' });
    // A profile without regions takes it as it is.
    expect(parseConfig(lines('watches: []'), { env: { ...env, OS_CLOUD: 'single' } }).cloud).toMatchObject({ region: 'eu-nl' });
    // One the profile does not list is refused, as openstacksdk refuses it (_get_region).
    expect(problems(lines('cloud:', '  projectId: p1'), { ...env, OS_REGION_NAME: 'eu-nk' })).toEqual([
      `2:3 cloud: clouds.yaml ${regions}, cloud 'entries': OS_REGION_NAME=eu-nk is none of its regions (eu-de, eu-nl); did you mean 'eu-nl'?`,
    ]);
    expect(problems(lines('cloud:', '  projectId: p1'), { ...env, OS_CLOUD: 'one' })).toEqual([
      `2:3 cloud: clouds.yaml ${regions}, cloud 'one': OS_REGION_NAME=eu-nl is none of its regions (eu-de)`,
    ]);
    // Without a profile, the file holds every setting of the cloud: the variable is not read.
    expect(parseConfig(lines('cloud:', ...OTC_AUTH, '  projectId: p1', '  region: eu-de'), { env: { OTC_PASSWORD: 'pw', OS_REGION_NAME: 'eu-nl' } }).cloud.region).toBe('eu-de');
  });

  it('reads the older and wider forms: tenant_id, URL interface names, regions with a region_name, domain_name beside user_domain_id', () => {
    const legacy = file('legacy.yaml', lines(
      'clouds:',
      '  old:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, tenant_id: t1, user_domain_id: d1, domain_name: Default }',
      '    regions: [r1, r2]',
      '    region_name: r2',
      '    interface: internalURL',
    ));
    const config = parseConfig(lines('cloud:', `  cloudsYaml: ${legacy}`, '  cloud: old'), { env: {} });
    expect(config.cloud).toMatchObject({ region: 'r1', interface: 'internal', projectId: 't1', auth: { type: 'password', user: 'u', domainId: 'd1', projectId: 't1' } });
  });

  it('reads endpoint_type as interface, and compute_interface over both, as openstacksdk does (_fix_backwards_interface, get_interface)', () => {
    const older = file('endpoint-type.yaml', lines(
      'clouds:',
      '  old:',
      '    auth: &auth { auth_url: "https://k.test/v3", username: u, password: p, project_id: x, user_domain_id: default }',
      '    endpoint_type: internalURL',
      '  compute:',
      '    auth: *auth',
      '    interface: public',
      '    compute_endpoint_type: admin',
      '  perService:',
      '    auth: *auth',
      '    endpoint_type: public',
      '    compute_interface: internal',
    ));
    const read = (cloud: string) => parseConfig(lines('cloud:', `  cloudsYaml: ${older}`, `  cloud: ${cloud}`), { env: {} }).cloud.interface;
    expect([read('old'), read('compute'), read('perService')]).toEqual(['internal', 'admin', 'internal']);
  });

  it('gives a user and a project by name without their domain the default domain, as the openstack command does (osc-lib _auth_default_domain), not the user\'s', () => {
    const domains = file('domains.yaml', lines(
      'clouds:',
      '  bare:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_name: ops }',
      '  userDomain:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_name: ops, user_domain_name: Acme }',
      '  shared:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_name: ops, domain_name: Acme }',
      '  ownDefault:',
      '    default_domain: d7',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: p, project_name: ops }',
    ));
    const auth = (cloud: string) => parseConfig(lines('cloud:', `  cloudsYaml: ${domains}`, `  cloud: ${cloud}`, '  projectId: p1'), { env: {} }).cloud.auth;
    expect(auth('bare')).toMatchObject({ domainId: 'default', projectName: 'ops', projectDomainId: 'default' });
    expect(auth('userDomain')).toMatchObject({ domain: 'Acme', projectDomainId: 'default' });
    expect(auth('shared')).toMatchObject({ domain: 'Acme', projectDomain: 'Acme' });
    expect(auth('ownDefault')).toMatchObject({ domainId: 'd7', projectDomainId: 'd7' });
  });

  it('takes compute_endpoint_override as the endpoint, as the openstack command does (openstacksdk CloudRegion.get_endpoint)', () => {
    const override = file('override.yaml', lines(
      'clouds:',
      '  lab:',
      '    auth: { auth_url: "https://k.test/v3", user_id: u, password: p, project_id: x }',
      '    compute_endpoint_override: "https://nova.lab.test:8774/v2.1/%(project_id)s"',
    ));
    const config = parseConfig(lines('cloud:', `  cloudsYaml: ${override}`, '  cloud: lab'), { env: {} });
    expect(config.cloud).toMatchObject({ endpoint: 'https://nova.lab.test:8774/v2.1/%(project_id)s', projectId: 'x' });
  });

  it('lays the OS_* variables over the profile, as the openstack command does: a password kept out of clouds.yaml in OS_PASSWORD', () => {
    const bare = file('no-password.yaml', lines(
      'clouds:',
      '  lab:',
      '    auth: { auth_url: "https://k.test/v3", username: u, password: from-file, project_name: ops, user_domain_name: Acme, project_domain_name: Acme }',
      '    regions:',
      '      - name: r1',
      '        values: { interface: admin }',
    ));
    const env = { OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: bare, OS_PASSWORD: 'from-env', OS_PROJECT_ID: 'p7', OS_USER_DOMAIN_ID: 'd2', OS_INTERFACE: 'internal' };
    expect(parseConfig(lines('watches: []'), { env }).cloud).toMatchObject({
      interface: 'internal',
      projectId: 'p7',
      auth: { password: 'from-env', projectId: 'p7', domainId: 'd2' },
    });
  });

  it('reads OS_TENANT_ID and OS_TENANT_NAME (an old openrc\'s) as the project, where OS_PROJECT_ID and OS_PROJECT_NAME are not set, as keystoneauth does', () => {
    // keystoneauth1 loading: project-id and project-name take tenant-id and tenant-name as their deprecated names, variables too.
    const scoped = file('tenant.yaml', lines('clouds:', '  lab:', '    auth: { auth_url: "https://k.test/v3", user_id: u, password: p, project_name: ops, project_domain_id: default }'));
    const cloudOf = (env: NodeJS.ProcessEnv) => parseConfig(lines('cloud:', '  projectId: p1'), { env: { OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: scoped, ...env } }).cloud.auth;
    expect(cloudOf({ OS_TENANT_NAME: 'legacy' })).toMatchObject({ projectName: 'legacy' });
    expect(cloudOf({ OS_TENANT_NAME: 'legacy', OS_PROJECT_NAME: 'current' })).toMatchObject({ projectName: 'current' });
    expect(cloudOf({ OS_TENANT_ID: 't9' })).toMatchObject({ projectId: 't9' });
    expect(cloudOf({ OS_TENANT_ID: 't9', OS_PROJECT_ID: 'p9' })).toMatchObject({ projectId: 'p9' });
  });

  it('OS_CLOUD and OS_CLIENT_CONFIG_FILE name it when the watch file sets no auth', () => {
    const text = lines('cloud:', '  projectId: p1');
    const config = parseConfig(text, { env: { OS_CLOUD: 'devstack', OS_CLIENT_CONFIG_FILE: clouds } });
    expect(config.cloud.auth).toMatchObject({ type: 'password', user: 'demo' });
    const withAuth = parseConfig(lines('cloud:', '  endpoint: https://ecs.test', '  projectId: p1', '  auth: { type: none }'), {
      env: { OS_CLOUD: 'devstack', OS_CLIENT_CONFIG_FILE: clouds },
    });
    expect(withAuth.cloud.auth).toEqual({ type: 'none' });
    // `auth:` with nothing after it is left out, as every key is: the profile names it, OS_CLOUD or cloud.cloud.
    const emptyAuth = parseConfig(lines('cloud:', '  projectId: p1', '  auth:'), { env: { OS_CLOUD: 'devstack', OS_CLIENT_CONFIG_FILE: clouds } });
    expect(emptyAuth.cloud.auth).toMatchObject({ type: 'password', user: 'demo' });
    const named = parseConfig(lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: devstack', '  auth:'), { env: {} });
    expect(named.cloud.auth).toMatchObject({ type: 'password', user: 'demo' });
  });

  it('finds clouds.yml and clouds.json, and looks under XDG_CONFIG_HOME, where openstacksdk looks (CONFIG_FILES)', () => {
    const profile = lines('clouds:', '  lab:', '    auth: { auth_url: "https://k.test/v3", user_id: u, password: p, project_id: x }');
    const yml = join(dir, 'yml-home');
    mkdirSync(join(yml, '.config/openstack'), { recursive: true });
    writeFileSync(join(yml, '.config/openstack/clouds.yml'), profile);
    const xdg = join(dir, 'xdg');
    mkdirSync(join(xdg, 'openstack'), { recursive: true });
    writeFileSync(join(xdg, 'openstack/clouds.json'), JSON.stringify({ clouds: { lab: { auth: { auth_url: 'https://k.test/v3', user_id: 'j', password: 'p', project_id: 'x' } } } }));
    const userOf = (env: NodeJS.ProcessEnv) => parseConfig(lines('watches: []'), { env: { OS_CLOUD: 'lab', ...env } }).cloud.auth;
    expect(userOf({ HOME: yml })).toMatchObject({ userId: 'u' });
    expect(userOf({ HOME: yml, XDG_CONFIG_HOME: xdg })).toMatchObject({ userId: 'j' });
  });

  it('finds secure.yaml where openstacksdk looks, not only beside clouds.yaml, or where OS_CLIENT_SECURE_FILE names it', () => {
    const system = join(dir, 'system');
    mkdirSync(system, { recursive: true });
    const systemClouds = join(system, 'clouds.yaml');
    writeFileSync(systemClouds, lines('clouds:', '  lab:', '    auth: { auth_url: "https://k.test/v3", user_id: u, project_id: x }'));
    const home = join(dir, 'secret-home');
    mkdirSync(join(home, '.config/openstack'), { recursive: true });
    writeFileSync(join(home, '.config/openstack/secure.yml'), lines('clouds:', '  lab:', '    auth: { password: from-home }'));
    const elsewhere = file('my-secrets.yaml', lines('clouds:', '  lab:', '    auth: { password: from-variable }'));
    const passwordOf = (env: NodeJS.ProcessEnv) => parseConfig(lines('watches: []'), { env: { OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: systemClouds, ...env } }).cloud.auth;
    expect(passwordOf({ HOME: home })).toMatchObject({ password: 'from-home' });
    expect(passwordOf({ HOME: home, OS_CLIENT_SECURE_FILE: elsewhere })).toMatchObject({ password: 'from-variable' });
  });

  it('OS_CLOUD gives the whole cloud section to a file that leaves it out or writes it empty', () => {
    const env = { OS_CLOUD: 'devstack', OS_CLIENT_CONFIG_FILE: clouds };
    for (const text of [lines('watches: []'), lines('cloud:', 'watches: []')]) {
      expect(parseConfig(text, { env }).cloud).toMatchObject({ projectId: expect.any(String), auth: { type: 'password', user: 'demo' } });
    }
    // Without it, the section is still required.
    expect(problems(lines('watches: []'), {})).toEqual(['1:1 cloud: required (a mapping)']);
  });

  it.each([
    ['an unknown cloud', lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: prod'), {}, [
      `3:10 cloud.cloud: clouds.yaml ${clouds} has no cloud 'prod' (it has: otc, devstack, insecure, legacy, tokens)`,
    ]],
    ['a cloud one slip off a listed one', lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: devstak'), {}, [
      `3:10 cloud.cloud: clouds.yaml ${clouds} has no cloud 'devstak' (it has: otc, devstack, insecure, legacy, tokens); did you mean 'devstack'?`,
    ]],
    ['a missing file', lines('cloud:', `  cloudsYaml: ${join(dir, 'nope.yaml')}`, '  cloud: otc'), {}, [
      `3:10 cloud.cloud: cannot read clouds.yaml ${join(dir, 'nope.yaml')}: no such file`,
    ]],
    // As watch.example.yaml showed it: the file is there, in the home folder.
    ['a file named from ~', lines('cloud:', '  cloudsYaml: ~/.config/openstack/clouds.yaml', '  cloud: otc'), {}, [
      "3:10 cloud.cloud: cannot read clouds.yaml ~/.config/openstack/clouds.yaml: no such file (~ names no home folder here, as no shell reads this file: write the path from /, or ${HOME}/.config/openstack/clouds.yaml)",
    ]],
    ['no clouds.yaml anywhere, named by OS_CLOUD', lines('cloud:', '  projectId: p1'), { OS_CLOUD: 'otc', HOME: join(dir, 'home') }, [
      `2:3 cloud: no clouds.yaml found for cloud 'otc' (OS_CLOUD=otc) (looked for clouds.yaml, clouds.yml, clouds.json in ., ${join(dir, 'home')}/.config/openstack, /etc/openstack): set cloud.cloudsYaml`,
    ]],
    ['verify: false', lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: insecure'), {}, [
      `3:10 cloud.cloud: clouds.yaml ${clouds}, cloud 'insecure': verify: false is not supported, certificates are always verified; give the CA with cacert`,
    ]],
    ['insecure: true, the older way to write it', lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: legacy'), {}, [
      `3:10 cloud.cloud: clouds.yaml ${clouds}, cloud 'legacy': insecure: true is not supported, certificates are always verified; give the CA with cacert`,
    ]],
    ['an auth_type other than password', lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: tokens'), {}, [
      `3:10 cloud.cloud: clouds.yaml ${clouds}, cloud 'tokens': auth_type 'token' is not supported (password or v3password; for AK/SK set cloud.auth)`,
      `3:10 cloud.cloud: clouds.yaml ${clouds}, cloud 'tokens' has no auth.username (or auth.user_id)`,
      `3:10 cloud.cloud: clouds.yaml ${clouds}, cloud 'tokens' has no auth.password (in clouds.yaml or secure.yaml, or OS_PASSWORD)`,
    ]],
    ['both a profile and cloud.auth', lines('cloud:', `  cloudsYaml: ${clouds}`, '  cloud: otc', '  auth: { type: none }'), {}, [
      '4:9 cloud.auth: set cloud.auth or cloud.cloud (a clouds.yaml profile), not both',
    ]],
  ])('%s is a clear problem', (_case, text, env, expected) => {
    expect(problems(text, env)).toEqual(expected);
  });

  it.each([
    ['a tab as indentation', lines('clouds:', '  otc:', '    auth:', '      auth_url: https://iam.example.com/v3', '\tusername: x'), 'line 5, column 1: tabs are not allowed as indentation: indent with spaces'],
    ['a cloud set twice', lines('clouds:', '  otc:', '    region_name: eu-de', '  otc:', '    x: 1'), 'line 4, column 3: this key is already set at line 2 in the same mapping: merge the two, or remove one'],
    ['a tag of a secrets tool', lines('clouds:', '  otc:', '    auth: { password: !vault otc/password }'), "line 3, column 23: !vault is no tag ecs-action-watch reads (only YAML 1.2's !!str, !!int, !!float, !!bool, !!null, !!map and !!seq), and the value would be read as if it were not there: remove it, and write the value itself"],
    ['classic Mac OS line ends', lines('clouds:', '  otc:', '    region_name: eu-de').replaceAll('\n', '\r'), "line 1, column 8: clouds.yaml ends its lines with a carriage return alone (CR, as classic Mac OS did), which is not read as a line end: convert them to LF with dos2unix -c mac FILE (or mac2unix FILE), or with the editor's line-ending setting"],
    ['a byte order mark, and classic Mac OS line ends', `\uFEFF${lines('clouds:', '  otc:', '    region_name: eu-de').replaceAll('\n', '\r')}`, "line 1, column 8: clouds.yaml ends its lines with a carriage return alone (CR, as classic Mac OS did), which is not read as a line end: convert them to LF with dos2unix -c mac FILE (or mac2unix FILE), or with the editor's line-ending setting"],
    ['lists nested thousands deep', lines('clouds:', `  otc: ${'['.repeat(3000)}${']'.repeat(3000)}`, '  x: "'), `line 2, column 70: lists and mappings are nested more than 64 levels deep here, far deeper than any setting goes: look for a [ or { that is not closed, or lines indented further and further`],
  ])('a clouds.yaml with %s is one line, at its own line and column', (name, text, problem) => {
    const bad = file(`${name.replaceAll(' ', '-')}.yaml`, text);
    expect(problems(lines('cloud:', `  cloudsYaml: ${bad}`, '  cloud: otc', '  endpoint: https://ecs.example.com'))).toEqual([`3:10 cloud.cloud: cannot read clouds.yaml ${bad}: ${problem}`]);
  });

  it('a problem in what the profile gives names the profile', () => {
    const partial = file('partial.yaml', lines('clouds:', '  p:', '    auth: { auth_url: "ftp://k.test/v3", user_id: u, password: p, project_name: x }'));
    expect(problems(lines('cloud:', `  cloudsYaml: ${partial}`, '  cloud: p', '  projectId: p1'))).toEqual([
      `2:3 cloud.auth.identityEndpoint: expected an http:// or https:// URL, e.g. https://iam.eu-de.otc.t-systems.com/v3: its scheme is neither http nor https (from clouds.yaml ${partial}, cloud 'p')`,
    ]);
    // Not only under cloud.auth: the watch file has no cloud.interface for the operator to look for.
    const slips = file('slips.yaml', lines('clouds:', '  s:', '    auth: { auth_url: "https://k.test/v3", user_id: u, password: p, project_id: x }', '    interface: private'));
    expect(problems(lines('cloud:', `  cloudsYaml: ${slips}`, '  cloud: s'))).toEqual([
      `2:3 cloud.interface: unknown value 'private' (allowed: public, internal, admin) (from clouds.yaml ${slips}, cloud 's')`,
    ]);
    // One the watch file sets itself is its own.
    expect(problems(lines('cloud:', `  cloudsYaml: ${slips}`, '  cloud: s', '  interface: privat'))).toEqual([
      "4:14 cloud.interface: unknown value 'privat' (allowed: public, internal, admin)",
    ]);
  });
});

describe('secrets sent in headers', () => {
  it.each([
    ['a token', 'cloud:\n  endpoint: https://ecs.test\n  projectId: p1\n  auth: { type: token, token: "${T}" }\n', '4:31 cloud.auth.token'],
    ['an access key', 'cloud:\n  endpoint: https://ecs.test\n  projectId: p1\n  auth: { type: aksk, accessKey: "${T}", secretKey: s }\n', '4:34 cloud.auth.accessKey'],
  ])('%s with a line break is refused', (_case, text, where) => {
    expect(problems(text, { T: 'abc\r\nX-Injected: 1' })).toEqual([
      `${where}: must be one line: it contains a line break (CR or LF), which would end the header it is sent in`,
    ]);
  });
});

describe('secrets sent in no header', () => {
  // A Kubernetes Secret made from a file (`kubectl create secret --from-file`) keeps its last newline in the
  // variable: sent with it, the password or the signature's key is refused, and the operator told so.
  it.each([
    ['a password', 'cloud:\n  projectId: p1\n  auth: { type: password, identityEndpoint: "https://iam.test/v3", userId: u, password: "${S}", projectId: p1 }\n', '3:89 cloud.auth.password', 'passwordFile'],
    ['a secret key', 'cloud:\n  endpoint: https://ecs.test\n  projectId: p1\n  auth: { type: aksk, accessKey: ak, secretKey: "${S}" }\n', '4:49 cloud.auth.secretKey', 'secretKeyFile'],
  ])('%s whose variable ends in a newline is refused at its line, not sent and refused by the cloud', (_case, text, where, fileKey) => {
    const refused = `${where}: must be one line: it contains a line break (CR or LF), which a YAML | block adds too: remove it, or name the file under cloud.auth.${fileKey}, which is read without it`;
    expect(problems(text.replace('"${S}"', '"Xk9q7Rt2\\n"'), {})).toEqual([refused]);
    expect(problems(text, { S: 'Xk9q7Rt2\n' })).toEqual([
      `${refused} (the value of \${S} ends with a line break, as a file it was read from often does, such as one a Kubernetes Secret was made from: set the variable without it)`,
    ]);
  });
});
