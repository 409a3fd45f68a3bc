// deploy/systemd's units, the single one and the template for more daemons on a host: the directives that
// make them hardened, well-behaved services. (`systemd-analyze verify --man=no` and `systemd-analyze security
// --offline=yes` pass on both, the template as ecs-action-watch@second.service; CI has no systemd, so it reads
// the files instead.)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/config/load.ts';
import { SHIPPED_STOP_GRACE_MS } from '../../src/config/warnings.ts';
import { ROOT, envOf, readDockerfile } from './dockerfile.ts';
import { SINGLE, TEMPLATE, environmentOf, expand, readUnit, readmeInstance, systemdReadme } from './systemdUnits.ts';

const INSTALL_DIR = '/opt/ecs-action-watch';

/** Each unit with the name it gives its folders, its user and its journal identifier. */
const UNITS = [
  { file: SINGLE, name: 'ecs-action-watch' },
  { file: TEMPLATE, name: 'ecs-action-watch-%i' },
] as const;

/** The directives of the template that name its instance's own: every other one is the single unit's as it is. */
const INSTANCE_KEYS = ['Description', 'Environment', 'EnvironmentFile', 'StateDirectory', 'WorkingDirectory', 'SyslogIdentifier'];

describe.each(UNITS)('the systemd unit $file', ({ file, name }) => {
  const unit = readUnit(file);
  const service = unit.get('Service')!;
  const one = (key: string) => {
    const values = service.get(key) ?? [];
    expect(values, key).toHaveLength(1);
    return values[0]!;
  };

  it('starts node directly on the entry point, which exists in the repository', () => {
    const [node, entry, ...args] = one('ExecStart').split(/\s+/);
    expect(node).toMatch(/^\/\S+\/node$/);
    expect(entry!.startsWith(`${INSTALL_DIR}/`)).toBe(true);
    const inRepo = entry!.slice(INSTALL_DIR.length + 1);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(Object.values(pkg.bin)).toContain(inRepo);
    expect(args).toEqual(['run']);
    expect(one('Type')).toBe('exec');
    // The README's ExecStart for another Node starts the same entry point (the bundle when it is built).
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const others = [...readme.matchAll(/ExecStart=(\/\S+) (\S+) run\b/g)].map(([, , file]) => file);
    expect(others.length).toBeGreaterThan(0);
    for (const file of others) expect(file).toBe(entry);
  });

  it('reloads with SIGHUP to the daemon itself, which reads its file again (not npm or a shell in between)', () => {
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('restarts on failure but not on an invalid watch file (exit 2), and gives a stop what validate holds shutdown.drainTimeout to', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(Number(/^(\d+)s$/.exec(one('TimeoutStopSec'))?.[1]) * 1000).toBe(SHIPPED_STOP_GRACE_MS);
  });

  it('runs as its own unprivileged user with its state in the StateDirectory, also the working directory, and its watch file, env file and journal identifier named as it', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(service.has('User')).toBe(false);
    expect(one('StateDirectory')).toBe(name);
    expect(one('WorkingDirectory')).toBe(`%S/${name}`);
    expect(environmentOf(unit, 'ECS_WATCH_CONFIG')).toBe(`/etc/${name}/watch.yaml`);
    expect(one('EnvironmentFile')).toBe(`/etc/${name}/env`);
    expect(one('SyslogIdentifier')).toBe(name);
  });

  it("runs Node with the image's memory settings (young generation, malloc arenas), as README and BENCHMARKS.md say", () => {
    const image = envOf(readDockerfile().at(-1)!);
    for (const name of ['NODE_OPTIONS', 'MALLOC_ARENA_MAX']) {
      expect(image[name], name).toBeDefined();
      expect(service.get('Environment')).toContain(`${name}=${image[name]}`);
    }
  });

  it('is hardened in every way that does not break Node', () => {
    for (const [key, value] of Object.entries({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectControlGroups: 'yes',
      RestrictSUIDSGID: 'yes',
      RestrictNamespaces: 'yes',
      LockPersonality: 'yes',
      CapabilityBoundingSet: '',
      SystemCallFilter: '@system-service',
      SystemCallArchitectures: 'native',
    })) {
      expect(one(key), key).toBe(value);
    }
    expect(one('RestrictAddressFamilies').split(' ')).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6']));
    // V8 compiles JavaScript into memory it then executes.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('waits for the network and a synchronised clock, and starts at boot', () => {
    expect(unit.get('Unit')!.get('After')).toEqual(['network-online.target time-sync.target']);
    expect(unit.get('Install')!.get('WantedBy')).toEqual(['multi-user.target']);
  });
});

describe('the template unit, for more daemons on one host', () => {
  it("is the single unit directive for directive, with ecs-action-watch-%i for ecs-action-watch in the names of the instance's own (so that neither can drift)", () => {
    const single = readUnit(SINGLE);
    const template = readUnit(TEMPLATE);
    const asInstance = (key: string, values: string[]) => (INSTANCE_KEYS.includes(key) ? values.map((v) => v.replaceAll('ecs-action-watch', 'ecs-action-watch-%i')) : values);
    const expected = [...single].map(([section, keys]) => [section, [...keys].map(([key, values]) => [key, asInstance(key, values)])]);
    expect([...template].map(([section, keys]) => [section, [...keys]])).toEqual(expected);
  });

  it("has its own state folder, beside the single unit's rather than in it (systemd hands a StateDirectory, and what is under it, to its unit's user at each start)", () => {
    const folder = (file: string, instance: string) => expand(readUnit(file).get('Service')!.get('StateDirectory')![0]!, instance);
    const instance = readmeInstance();
    expect(folder(TEMPLATE, instance)).not.toBe(folder(SINGLE, ''));
    expect(folder(TEMPLATE, instance).startsWith(`${folder(SINGLE, '')}/`)).toBe(false);
  });
});

describe('README, "Run under systemd"', () => {
  it("runs check where each daemon's relative state.path lands, its unit's working directory, with its watch file", () => {
    const checks = systemdReadme()
      .split('\n')
      .filter((line) => / \S+\/ecs-action-watch\.mjs check\b/.test(line));
    // Elsewhere check finds no state file and says nothing of it: NOTIFIED is '-' for every watch.
    for (const [file, instance] of [[SINGLE, ''], [TEMPLATE, readmeInstance()]] as const) {
      const unit = readUnit(file);
      const config = expand(environmentOf(unit, 'ECS_WATCH_CONFIG'), instance);
      const folder = expand(unit.get('Service')!.get('WorkingDirectory')![0]!, instance);
      const mine = checks.filter((line) => line.includes(` --config ${config}'`));
      expect(mine, file).not.toEqual([]);
      for (const line of mine) expect(line).toContain(` cd ${folder} && `);
    }
  });

  it("hands each daemon a credential file with LoadCredential, named so that the daemon reads systemd's copy and root's validate and check the file itself, in the daemon's folder of /etc", () => {
    const section = systemdReadme();
    const loads = [...section.matchAll(/`LoadCredential=(\w+):(\S+)`/g)];
    const tokenFiles = [...section.matchAll(/`(tokenFile: \$\{CREDENTIALS_DIRECTORY[^`]*)`/g)].map((m) => m[1]!);
    const daemons = [[SINGLE, SINGLE, ''], [TEMPLATE, TEMPLATE.replace('@', `@${readmeInstance()}`), readmeInstance()]] as const;
    expect(loads).toHaveLength(daemons.length);
    expect(tokenFiles).toHaveLength(daemons.length);
    daemons.forEach(([file, unitName, instance], i) => {
      const [, name, source] = loads[i]!;
      const text = `cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\n  auth:\n    type: token\n    ${tokenFiles[i]!}\nwatches: []\n`;
      const read = (env: NodeJS.ProcessEnv) => {
        const result = validateConfigText(text, { env });
        if (!result.ok) throw new Error(result.issues.map((issue) => issue.message).join('; '));
        return (result.config.cloud.auth as { tokenFile?: string }).tokenFile;
      };
      const credentials = `/run/credentials/${unitName}`;
      expect(read({ CREDENTIALS_DIRECTORY: credentials })).toBe(`${credentials}/${name}`);
      // The README's validate and check: a root shell with the env file's variables, and no CREDENTIALS_DIRECTORY.
      expect(read({})).toBe(source);
      expect(dirname(source!)).toBe(dirname(expand(environmentOf(readUnit(file), 'ECS_WATCH_CONFIG'), instance)));
    });
  });
});
