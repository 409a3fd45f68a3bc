// Reads the repository's Dockerfile and lays out its final stage's filesystem in a folder, the way a
// build would, for machines without a Docker engine: sources from the build context, node_modules from
// the stage's own `npm ci --omit=dev`, folders from its `mkdir`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliBundle } from '../e2e/daemon.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Instruction {
  op: string;
  /** `--from=build` -> { from: 'build' } */
  flags: Record<string, string>;
  /** The words after the flags; a JSON array form is parsed. */
  args: string[];
  /** JSON array form (exec form) of ENTRYPOINT, CMD, RUN. */
  exec: boolean;
  raw: string;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const flags: Record<string, string> = {};
    let body = rest;
    for (let m = /^--([a-z-]+)=(\S+)\s*/.exec(body); m; m = /^--([a-z-]+)=(\S+)\s*/.exec(body)) {
      flags[m[1]!] = m[2]!;
      body = body.slice(m[0].length);
    }
    const exec = body.startsWith('[');
    const args = exec ? (JSON.parse(body) as string[]) : body.split(/\s+/).filter(Boolean);
    const instruction: Instruction = { op: op.toUpperCase(), flags, args, exec, raw: line };
    if (instruction.op === 'FROM') {
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      stages.push({ from: args[0]!, name: as >= 0 ? args[as + 1] : undefined, instructions: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile: ${line} before any FROM`);
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

export function readDockerfile(): Stage[] {
  return parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
}

/** .dockerignore semantics: the last matching pattern wins; `!` re-includes; a match covers a folder's contents. */
export function dockerIgnored(path: string, patterns: string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = posix.normalize((negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, ''));
    const glob = pattern
      .split('**')
      .map((part) => part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
      .join('.*');
    const re = new RegExp(`^${glob}(/.*)?$`);
    if (re.test(posix.normalize(path))) ignored = !negate;
  }
  return ignored;
}

export function dockerIgnorePatterns(): string[] {
  return readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** One COPY's sources and where each lands in its stage (WORKDIR applied). */
export function copies(stage: Stage): { from: string | undefined; source: string; target: string; chown: string | undefined }[] {
  const out: { from: string | undefined; source: string; target: string; chown: string | undefined }[] = [];
  let workdir = '/';
  for (const i of stage.instructions) {
    if (i.op === 'WORKDIR') workdir = posix.resolve(workdir, i.args[0]!);
    if (i.op !== 'COPY') continue;
    const sources = i.args.slice(0, -1);
    const dest = posix.resolve(workdir, i.args.at(-1)!);
    const intoFolder = sources.length > 1 || i.args.at(-1)!.endsWith('/');
    for (const source of sources) {
      out.push({ from: i.flags['from'], source, target: intoFolder ? posix.join(dest, posix.basename(source)) : dest, chown: i.flags['chown'] });
    }
  }
  return out;
}

export function workdirOf(stage: Stage): string {
  return stage.instructions.filter((i) => i.op === 'WORKDIR').reduce((dir, i) => posix.resolve(dir, i.args[0]!), '/');
}

export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.op === 'ENV')) {
    for (const pair of i.args) {
      const [key, ...value] = pair.split('=');
      env[key!] = value.join('=');
    }
  }
  return env;
}

/**
 * Lays out the final stage under a new folder and returns it; image path `/x` is `join(root, x)`.
 * A path another stage makes is taken from that stage's COPY of the build context, or made by its RUN:
 * node_modules by `npm ci --omit=dev` (run here, from the same package.json and lock), the bundle by
 * `npm run build` (its bundling step run here), a folder by mkdir.
 */
export function assembleImage(stages: Stage[]): string {
  const root = mkdtempSync(join(tmpdir(), 'ecs-action-watch-image-'));
  const byName = new Map(stages.flatMap((s) => (s.name ? [[s.name, s] as const] : [])));
  const inImage = (path: string) => join(root, path);

  const produce = (stage: Stage, path: string, to: string) => {
    const copied = copies(stage).find((c) => c.from === undefined && (path === c.target || path.startsWith(`${c.target}/`)));
    if (copied) {
      cpSync(join(ROOT, copied.source, path.slice(copied.target.length)), to, { recursive: true });
      return;
    }
    const runs = stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args.join(' '));
    if (posix.basename(path) === 'node_modules' && runs.some((r) => r.includes('npm ci --omit=dev'))) {
      const work = mkdtempSync(join(tmpdir(), 'ecs-action-watch-deps-'));
      for (const name of ['package.json', 'package-lock.json']) produce(stage, posix.join(posix.dirname(path), name), join(work, name));
      execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: work, stdio: 'ignore' });
      cpSync(join(work, 'node_modules'), to, { recursive: true });
      return;
    }
    if (path === '/app/dist' && runs.some((r) => r.includes('npm run build'))) {
      // `npm run build` type-checks (the suite's own typecheck does that here) and bundles: the bundle only,
      // the one scripts/bundle.ts made for this run (bundle.setup.ts) rather than a second of the same.
      cpSync(dirname(cliBundle()), to, { recursive: true });
      return;
    }
    if (runs.some((r) => new RegExp(`mkdir (-p )?${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`).test(r))) {
      mkdirSync(to, { recursive: true });
      return;
    }
    throw new Error(`stage ${stage.name ?? stage.from} makes no ${path}`);
  };

  const final = stages.at(-1)!;
  for (const c of copies(final)) {
    const to = inImage(c.target);
    mkdirSync(posix.dirname(to), { recursive: true });
    if (c.from === undefined) {
      cpSync(join(ROOT, c.source), to, { recursive: true });
    } else {
      const stage = byName.get(c.from);
      if (!stage) throw new Error(`COPY --from=${c.from}: no such stage`);
      produce(stage, c.source, to);
    }
  }
  const workdir = inImage(workdirOf(final));
  if (!existsSync(workdir)) mkdirSync(workdir, { recursive: true });
  return root;
}
