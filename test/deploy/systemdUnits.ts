// deploy/systemd's units, read as systemd reads them, and the README's steps for them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './dockerfile.ts';

/** section -> key -> every value, in order (systemd allows a key more than once). */
export type Unit = Map<string, Map<string, string[]>>;

function parseUnit(text: string): Unit {
  const sections: Unit = new Map();
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

/** The unit for the first watch file, and the template for one more daemon per watch file. */
export const SINGLE = 'ecs-action-watch.service';
export const TEMPLATE = 'ecs-action-watch@.service';

export const readUnit = (file: string): Unit => parseUnit(readFileSync(join(ROOT, 'deploy', 'systemd', file), 'utf8'));

/** README's "Run under systemd", up to the next section. */
export function systemdReadme(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Run under systemd');
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
}

/** The template's instance that README's steps set up (`systemctl enable --now ecs-action-watch@second`). */
export function readmeInstance(): string {
  return /systemctl enable --now ecs-action-watch@(\S+)/.exec(systemdReadme())![1]!;
}

/** A unit's value as systemd expands it for a system service: `%i` the instance (none for a plain unit), `%S` /var/lib. */
export const expand = (value: string, instance: string): string => value.replaceAll('%i', instance).replaceAll('%S', '/var/lib');

/** The value of a variable the unit's `Environment=` lines set. */
export function environmentOf(unit: Unit, name: string): string {
  const line = unit.get('Service')!.get('Environment')?.find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`no Environment=${name}=...`);
  return line.slice(name.length + 1);
}
