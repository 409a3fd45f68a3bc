// deploy/systemd/ecs-action-watch.service: the directives that make it a hardened, well-behaved service.
// (`systemd-analyze verify` and `systemd-analyze security` pass on it; they need systemd, so CI reads
// the file instead.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/config/load.ts';
import { ROOT, envOf, readDockerfile } from './dockerfile.ts';

/** The daemon's own stop budget after SIGTERM (in-flight deliveries); systemd must wait longer. */
const DAEMON_STOP_BUDGET_S = 10;
const INSTALL_DIR = '/opt/ecs-action-watch';

/** section -> key -> every value, in order (systemd allows a key more than once). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const line of text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const [key, ...value] = line.split('=');
    if (!current || key === undefined || !value.length) throw new Error(`not a unit file line: ${line}`);
    current.set(key, [...(current.get(key) ?? []), value.join('=')]);
  }
  return sections;
}

const unit = parseUnit(readFileSync(join(ROOT, 'deploy', 'systemd', 'ecs-action-watch.service'), 'utf8'));
const service = unit.get('Service')!;
const one = (key: string) => {
  const values = service.get(key) ?? [];
  expect(values, key).toHaveLength(1);
  return values[0]!;
};

describe('the systemd unit', () => {
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

  it('restarts on failure but not on an invalid watch file (exit 2), and waits out the stop budget', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(Number(/^(\d+)s$/.exec(one('TimeoutStopSec'))?.[1])).toBeGreaterThan(DAEMON_STOP_BUDGET_S);
  });

  it('runs as its own unprivileged user with its state in the StateDirectory, also the working directory', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(service.has('User')).toBe(false);
    expect(one('StateDirectory')).toBe('ecs-action-watch');
    expect(one('WorkingDirectory')).toBe('%S/ecs-action-watch');
    expect(service.get('Environment')).toContain('ECS_WATCH_CONFIG=/etc/ecs-action-watch/watch.yaml');
    expect(one('EnvironmentFile')).toBe('/etc/ecs-action-watch/env');
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

  it("has the README run check where the daemon's relative state.path lands, the unit's working directory", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Run under systemd'), readme.indexOf('\n## ', readme.indexOf('## Run under systemd') + 1));
    const checks = section.split('\n').filter((line) => / \S+\/ecs-action-watch\.mjs check\b/.test(line));
    expect(checks.length).toBeGreaterThan(0);
    // Elsewhere check finds no state file and says nothing of it: NOTIFIED is '-' for every watch.
    const folder = one('WorkingDirectory').replace('%S', '/var/lib');
    for (const line of checks) expect(line).toMatch(new RegExp(`\\bcd ${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} && `));
  });

  it("has the README hand a credential file over with LoadCredential, named so that the daemon reads systemd's copy and root's validate and check the file itself", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const [, name, source] = /`LoadCredential=(\w+):(\S+)`/.exec(readme)!;
    const tokenFile = /`(tokenFile: \$\{CREDENTIALS_DIRECTORY[^`]*)`/.exec(readme)![1]!;
    const text = `cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\n  auth:\n    type: token\n    ${tokenFile}\nwatches: []\n`;
    const read = (env: NodeJS.ProcessEnv) => {
      const result = validateConfigText(text, { env });
      if (!result.ok) throw new Error(result.issues.map((issue) => issue.message).join('; '));
      return (result.config.cloud.auth as { tokenFile?: string }).tokenFile;
    };
    const credentials = '/run/credentials/ecs-action-watch.service';
    expect(read({ CREDENTIALS_DIRECTORY: credentials })).toBe(`${credentials}/${name}`);
    // The README's validate and check: a root shell with the env file's variables, and no CREDENTIALS_DIRECTORY.
    expect(read({})).toBe(source);
  });

  it('waits for the network and a synchronised clock, and starts at boot', () => {
    expect(unit.get('Unit')!.get('After')).toEqual(['network-online.target time-sync.target']);
    expect(unit.get('Install')!.get('WantedBy')).toEqual(['multi-user.target']);
  });
});
