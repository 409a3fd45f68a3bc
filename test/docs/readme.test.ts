// The README's console examples of commands that need no cloud, run as written on a copy of
// watch.example.yaml: what they print must be what the README shows, line:col and counts included, so that
// an edit of the example file or of a message brings the README along.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { alternatives, schemaKeys, takesNull, type Json } from '../config/schemaKeys.ts';
import { COMPILE_CACHE, cliBundle } from '../e2e/daemon.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Step {
  command: string;
  output: string[];
}

/** The first ```console block after `heading`: each `$ ` line and the lines it prints. */
function consoleExample(heading: string): Step[] {
  const from = README.indexOf(`\n${heading}\n`);
  const block = /```console\n([\s\S]*?)```/.exec(README.slice(from));
  if (from === -1 || block === null) throw new Error(`README: no console example under ${heading}`);
  const steps: Step[] = [];
  for (const line of block[1]!.trimEnd().split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: [] });
    else steps.at(-1)!.output.push(line);
  }
  return steps;
}

/** A command line's words, double quotes grouping. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|(\S+)/g)].map(([, quoted, bare]) => quoted ?? bare!);
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs each step in a folder holding watch.example.yaml as ./watch.yaml; `export X=...` sets X. */
function runExample(steps: Step[]): Array<{ command: string; status: number | null; printed: string[]; expected: string[] }> {
  dir = mkdtempSync(join(tmpdir(), 'eaw-readme-'));
  copyFileSync(join(ROOT, 'watch.example.yaml'), join(dir, 'watch.yaml'));
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] };
  return steps.map(({ command, output }) => {
    const exported = /^export (\w+)=/.exec(command);
    if (exported) {
      env[exported[1]!] = 'set-by-the-readme-test';
      return { command, status: 0, printed: [], expected: output };
    }
    const [npx, noInstall, name, ...args] = words(command);
    expect([npx, noInstall, name], command).toEqual(['npx', '--no-install', 'ecs-action-watch']);
    // What `npx` runs once built (bin/ starts the bundle); the code cache only makes the start cheaper.
    const run = spawnSync(process.execPath, [cliBundle(), ...args], { cwd: dir, env: { ...env, NODE_COMPILE_CACHE: COMPILE_CACHE }, encoding: 'utf8' });
    expect(run.error, command).toBeUndefined();
    const printed = `${run.stdout}${run.stderr}`.trimEnd().split('\n');
    return { command, status: run.status, printed, expected: output };
  });
}

describe('the README\'s console examples, run on watch.example.yaml', () => {
  it('validate: the missing variable at its line and column, then the summary', () => {
    const ran = runExample(consoleExample('### validate'));
    expect(ran.map((r) => r.status)).toEqual([1, 0, 0]);
    for (const r of ran) expect(r.printed, r.command).toEqual(r.expected);
    // Troubleshooting quotes the same message.
    expect(README).toContain(`- **\`${ran[0]!.printed[0]!}\`**`);
  });

  it('add and remove: the entry added, added again (no change), for another project (refused at its line), a refused notifier named by its option, the entry removed', () => {
    const ran = runExample(consoleExample('### add and remove'));
    expect(ran.map((r) => r.status)).toEqual([0, 0, 1, 1, 0]);
    for (const r of ran) expect(r.printed, r.command).toEqual(r.expected);
    // add then remove gives back the file byte for byte, as the README says.
    expect(readFileSync(join(dir!, 'watch.yaml'), 'utf8')).toBe(readFileSync(join(ROOT, 'watch.example.yaml'), 'utf8'));
  });
});

describe("the README's troubleshooting", () => {
  it('quotes what run says of a state file that is not JSON, word for word', () => {
    dir = mkdtempSync(join(tmpdir(), 'eaw-readme-'));
    // Nothing is polled: run stops at the state file, before its first pass.
    writeFileSync(join(dir, 'watch.yaml'), 'cloud:\n  endpoint: http://127.0.0.1:9/v2.1/0a1b2c3d\nhttp:\n  port: 0\n');
    writeFileSync(join(dir, 'ecs-action-watch.state.json'), 'not a state file\n');
    const run = spawnSync(process.execPath, [cliBundle(), 'run'], { cwd: dir, env: { PATH: process.env['PATH'], NODE_COMPILE_CACHE: COMPILE_CACHE }, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(2);
    const said = run.stderr.split('\n').find((line) => line.includes('is not valid JSON'));
    expect(said, run.stderr).toBeDefined();
    expect(README).toContain(`- **\`${said!}\`**`);
  });
});

describe("the README's table of commands", () => {
  /** The exit statuses a text names: 0-4, 130 and 143. */
  const statuses = (text: string) => [...new Set(text.match(/\b(?:[0-4]|130|143)\b/g))].sort();

  it("names the exit statuses each command's --help names", async () => {
    const { commands } = await import('../../src/cli/commands/index.ts');
    const rows = README.split('\n').filter((line) => line.startsWith('| `'));
    for (const [name, command] of Object.entries(commands)) {
      // A command's rows: `run` and `run --until-done` both.
      const own = rows.filter((row) => new RegExp(`^\\| \`${name}[ \`]`).test(row));
      expect(own.length, name).toBeGreaterThan(0);
      expect(statuses(own.map((row) => row.split(' | ').at(-1)!).join(' ')), name).toEqual(statuses(command.exits));
    }
  });
});

describe("the README's configuration reference", () => {
  // The JSON Schema takes null wherever validate does (test/config/examples.test.ts).
  const keys = schemaKeys(JSON.parse(readFileSync(join(ROOT, 'config/watch.schema.json'), 'utf8')) as Json);

  /** The table's rows by the keys they describe: `cloud.auth.token` / `tokenFile`, email `smtp.host`, `track[].servers` / `project`. */
  function rows(): Map<string, string[]> {
    const section = README.slice(README.indexOf('### Configuration reference'));
    const table = section.slice(section.indexOf('\n| key |'), section.indexOf('\n\n', section.indexOf('\n| key |')));
    const found = new Map<string, string[]>();
    for (const row of table.split('\n').slice(3)) {
      const cells = row.slice(2, -2).split(' | ');
      const prefix = /^(email|webhook) /.test(cells[0]!) ? '.notifiers.*.' : '.';
      let last = '';
      for (const [, written] of cells[0]!.matchAll(/`([^`]+)`/g)) {
        const name = written!.replace('<name>', '*').replace(/\[\]$/, '');
        // A path, or a name beside the one before it (`cloud.auth.token` / `tokenFile`).
        last = /[.[]/.test(name) || last === '' ? `${prefix}${name}` : last.replace(/[^.\]]+$/, name);
        found.set(last, cells);
      }
    }
    return found;
  }

  it("has a row for every key of the schema, and none for a key it does not have, with each default, range and value the schema has", () => {
    const table = rows();
    const names = [...keys.keys()];
    // A mapping's values (`headers.*`, `poll.warnAfter.*`) are told of in its own row; a section, in its keys' rows.
    const wanted = names.filter((key) => !key.endsWith('.*') && !names.some((other) => other.startsWith(`${key}.`) || other.startsWith(`${key}[]`)));
    expect(wanted.filter((key) => !table.has(key))).toEqual([]);
    expect([...table.keys()].filter((key) => !keys.has(key))).toEqual([]);
    const wrong: string[] = [];
    for (const [key, [, accepts, shownDefault]] of [...table].map(([key, cells]) => [key, cells] as const)) {
      const nodes = keys.get(key)!.flatMap(alternatives);
      const value = nodes.map((n) => n.default).find((d) => d !== undefined);
      if (value !== undefined && typeof value !== 'object' && !shownDefault!.includes(`\`${value}\``) && !shownDefault!.includes(`\`"${value}"\``)) wrong.push(`${key}: default ${value}, README ${shownDefault}`);
      for (const n of nodes.filter((n) => n.type === 'integer')) if (!accepts!.includes(`${n.minimum} to ${n.maximum}`)) wrong.push(`${key}: ${n.minimum} to ${n.maximum}, README ${accepts}`);
      const values = nodes.flatMap((n) => (Array.isArray(n.enum) ? n.enum : n.const !== undefined ? [n.const] : []));
      for (const v of values) if (!accepts!.includes(`\`${String(v)}\``)) wrong.push(`${key}: takes ${String(v)}, README ${accepts}`);
    }
    expect(wrong).toEqual([]);
  });

  it('names the keys that may be written with nothing after them, and no others', () => {
    const sentence = /\. (A section\s+written with nothing after it[^]*?)\n\n/.exec(README.slice(README.indexOf('### Configuration reference')))?.[1] ?? '';
    const named = [...sentence.matchAll(/`([\w.]+):`/g)].map((m) => m[1]!);
    // What it says is refused: `type:` of cloud.auth, and `retries:` (of poll) as any other key.
    const refused = [...sentence.matchAll(/but `(\w+):`|`(\w+):` alone is/g)].map((m) => m[1] ?? m[2]!);
    const allAuth = sentence.includes('every key of `cloud.auth` but');
    const withSuffix = (name: string) => [...keys].filter(([key]) => key.endsWith(`.${name}`));
    const covered = (key: string) =>
      /^\.\w+$/.test(key) || (allAuth && key.startsWith('.cloud.auth.')) || named.some((name) => !refused.includes(name) && key.endsWith(`.${name}`));
    expect([...keys].filter(([key, nodes]) => takesNull(nodes) && !covered(key)).map(([key]) => key)).toEqual([]);
    for (const name of named) {
      const found = withSuffix(name);
      expect(found.length, name).toBeGreaterThan(0);
      expect(found.every(([, nodes]) => takesNull(nodes) !== refused.includes(name)), name).toBe(true);
    }
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe('where clouds.yaml is looked for', () => {
  it("is what the loader searches, in the README's row for cloud.cloudsYaml and in watch.example.yaml's comment", async () => {
    const { applyCloudsYaml } = await import('../../src/config/cloudsYaml.ts');
    // Folders that cannot exist, so that nothing is found and the loader says where it looked.
    const { issues } = applyCloudsYaml({ cloud: { cloud: 'nowhere' } }, { HOME: '/nonexistent-home', XDG_CONFIG_HOME: '/nonexistent-xdg' });
    const looked = /\(looked for (.+) in (.+)\)/.exec(issues[0]?.message ?? '');
    expect(looked, issues[0]?.message).not.toBeNull();
    const endings = looked![1]!.split(', ').map((file) => file.replace('clouds', ''));
    const folders = looked![2]!.split(', ').map((dir) => dir.replace('/nonexistent-xdg', '$XDG_CONFIG_HOME').replace('/nonexistent-home', '~'));
    const row = README.split('\n').find((line) => line.startsWith('| `cloud.cloudsYaml`'))!;
    const example = readFileSync(join(ROOT, 'watch.example.yaml'), 'utf8');
    const comment = /# cloud defaults to [^]*?Keys set here win\./.exec(example)?.[0] ?? '';
    for (const [place, text] of [['README, row cloud.cloudsYaml', row], ['watch.example.yaml, cloudsYaml comment', comment]] as const) {
      expect(folders.filter((dir) => !(dir === '.' ? /`\.`|\bin \.,|\.\/clouds\./.test(text) : text.includes(dir))), place).toEqual([]);
      expect(endings.filter((ending) => !text.includes(ending)), place).toEqual([]);
    }
  });
});

describe("watch.example.yaml's comments", () => {
  it('state the default of every key the schema gives one, as the schema states it', () => {
    const text = readFileSync(join(ROOT, 'watch.example.yaml'), 'utf8');
    const lines = text.split('\n');
    const keys = schemaKeys(JSON.parse(readFileSync(join(ROOT, 'config/watch.schema.json'), 'utf8')) as Json);
    const indent = (line: string) => line.search(/\S/);
    const wrong: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (isSeq(node)) for (const item of node.items) walk(item, `${path}[]`);
      if (!isMap(node)) return;
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const name = String(pair.key.value);
        const key = keys.has(`${path}.${name}`) ? `${path}.${name}` : `${path}.*`;
        walk(pair.value, key);
        const value = (keys.get(key) ?? []).flatMap(alternatives).map((n) => n.default).find((d) => d !== undefined);
        if (value === undefined || typeof value === 'object') continue;
        // Its own line's comment, else the comment lines right above it at its indentation, the nearest first.
        const line = text.slice(0, (pair.key as Node).range![0]).split('\n').length - 1;
        const above: string[] = [];
        for (let i = line - 1; i >= 0 && /^\s*#/.test(lines[i]!) && indent(lines[i]!) === indent(lines[line]!); i--) above.push(lines[i]!);
        const said = [/ # (.*)$/.exec(lines[line]!)?.[1] ?? '', ...above]
          .map((comment) => [...comment.matchAll(/\bdefault: ("[^"]*"|[^\s,;()]+)/gi)].at(-1)?.[1]?.replace(/\.$/, ''))
          .find((found) => found !== undefined);
        if (said?.replace(/^"(.*)"$/, '$1') !== String(value)) wrong.push(`line ${line + 1}, ${key}: says default ${said ?? '(nothing)'}, the schema ${String(value)}`);
      }
    };
    walk(parseDocument(text).contents, '');
    expect(wrong).toEqual([]);
  });
});
