// The container image, where no Docker engine exists: the Dockerfile's rules checked one by one, and its
// final stage laid out in a folder (production dependencies only) and started as the Kubernetes pod
// would start it, with the ConfigMap's file, the Secret's and the Deployment's environment.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createSecureServer } from 'node:http2';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { SHIPPED_STOP_GRACE_MS } from '../../src/config/warnings.ts';
import { makeCertificates } from '../certificates.ts';
import { closedPort } from '../../scripts/closedPort.ts';
import { Harness, quickAction } from '../e2e/harness.ts';
import { ROOT, assembleImage, copies, dockerIgnorePatterns, dockerIgnored, envOf, readDockerfile, workdirOf } from './dockerfile.ts';
import { resource } from './manifests.ts';
import { optimisingCompiles } from '../traceOpt.ts';

const stages = readDockerfile();
const final = stages.at(-1)!;
const instructions = (op: string) => final.instructions.filter((i) => i.op === op);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

describe('Dockerfile', () => {
  it('ends in distroless Node.js 24 as user 65532, with no HEALTHCHECK and no shell step', () => {
    expect(final.from).toMatch(/^gcr\.io\/distroless\/nodejs24-debian\d+(:nonroot)?(@sha256:[0-9a-f]{64})?$/);
    expect(instructions('USER').map((i) => i.args[0])).toEqual(['65532:65532']);
    expect(stages.flatMap((s) => s.instructions).filter((i) => i.op === 'HEALTHCHECK')).toEqual([]);
    // Distroless has no shell: a RUN there could not work.
    expect(instructions('RUN')).toEqual([]);
    expect(stages.length).toBeGreaterThan(1);
  });

  it('works in the state volume, so that even the default relative state.path lands on it', () => {
    expect(instructions('VOLUME').map((i) => i.args)).toEqual([[workdirOf(final)]]);
    expect(copies(final).find((c) => c.target === workdirOf(final))?.chown).toBe('65532:65532');
  });

  it('starts node directly in exec form, so that SIGTERM reaches the daemon', () => {
    const [entry] = instructions('ENTRYPOINT');
    expect(entry?.exec).toBe(true);
    expect(entry?.args[0]).toBe('/nodejs/bin/node');
    expect(entry?.args.join(' ')).not.toMatch(/\b(npm|npx|sh|bash)\b/);
    expect(instructions('CMD').map((i) => [i.exec, i.args])).toEqual([[true, ['run']]]);
  });

  it("has the README run the daemon as a service: started again after a failure and a reboot, given its stop budget, with the config folder and a state volume where the image reads them", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Run with Docker'), readme.indexOf('\n## ', readme.indexOf('## Run with Docker') + 1));
    const daemon = /^docker run -d .*$/m.exec(section.replace(/\\\n\s*/g, ''))?.[0];
    expect(daemon).toBeDefined();
    const words = daemon!.split(/\s+/);
    const option = (name: string) => words.filter((_, i) => words[i - 1] === name);
    // Without a restart policy, a daemon that exits 1 (a port in use, a full disk: its supervisor is to try
    // again) or a host that reboots leaves it stopped, nothing watched, and no alert outside Kubernetes.
    expect(option('--restart')).toEqual(['unless-stopped']);
    expect(Number(option('--stop-timeout')[0]) * 1000).toBe(SHIPPED_STOP_GRACE_MS);
    expect(words).toContain('--read-only');
    const env = envOf(final);
    expect(option('-v').map((v) => v.split(':')[1])).toEqual([dirname(env['ECS_WATCH_CONFIG']!), workdirOf(final)]);
  });

  it("has the README run check in the daemon's container, which has its environment and its state volume", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Run with Docker'), readme.indexOf('\n## ', readme.indexOf('## Run with Docker') + 1));
    const name = /^docker run -d --name (\S+)/m.exec(section)?.[1];
    const checks = [...section.matchAll(/docker (?:run|exec) [^`\n]*\bcheck\b/g)].map(([command]) => command);
    expect(checks.length).toBeGreaterThan(0);
    // A container of its own without the state volume checks without the daemon's state: every NOTIFIED '-'.
    for (const command of checks) expect(command).toBe(`docker exec ${name} ${instructions('ENTRYPOINT')[0]!.args.join(' ')} check`);
    // What check prints under its table there, in the image's working folder: not a silence to expect.
    expect(section).toContain(`\`No daemon state at ${workdirOf(final)}/ecs-action-watch.state.json, ...\``);
  });

  it('copies only sources that exist in the build context and that .dockerignore lets through', () => {
    const patterns = dockerIgnorePatterns();
    const names = new Set(stages.flatMap((s) => (s.name ? [s.name] : [])));
    for (const stage of stages) {
      for (const c of copies(stage)) {
        if (c.from !== undefined) {
          expect(names, `COPY --from=${c.from}`).toContain(c.from);
          continue;
        }
        expect(existsSync(join(ROOT, c.source)), `COPY ${c.source}: missing from the repository`).toBe(true);
        expect(dockerIgnored(c.source, patterns), `COPY ${c.source}: excluded by .dockerignore`).toBe(false);
      }
    }
    // The context is only what is copied: no node_modules, .git, state or tests sent to the builder.
    for (const path of ['node_modules', '.git', '.node', 'test', 'watch.yaml', 'x.state.json']) expect(dockerIgnored(path, patterns), path).toBe(true);
  });

  it('ships the bundle of the stage that type-checks and builds it, so that the check always runs', () => {
    const entry = instructions('ENTRYPOINT')[0]!.args[1]!;
    const shipped = copies(final).find((c) => entry.startsWith(`${c.target}/`));
    const stage = stages.find((s) => s.name === shipped?.from);
    expect(shipped?.source).toBe('/app/dist');
    expect(stage?.instructions.some((i) => i.op === 'RUN' && i.args.join(' ').includes('npm run build'))).toBe(true);
    expect(pkg.scripts['build']).toMatch(/^tsc -p tsconfig\.json && /);
    // Only the bundle and the state folder come into the runtime: no sources, no node_modules.
    expect(copies(final).map((c) => c.target).sort()).toEqual([shipped!.target, workdirOf(final)].sort());
  });

  it('type-checks in the build context alone: nothing tsc compiles there imports a file the context leaves out', () => {
    // The suite type-checks the whole checkout, where a script importing a test helper compiles; the image's
    // `npm run build` sees only the context, and stopped at such an import (scripts/ once took one from test/).
    const patterns = dockerIgnorePatterns();
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const roots = tsconfig.include.filter((dir) => !dockerIgnored(dir, patterns) && existsSync(join(ROOT, dir)) && statSync(join(ROOT, dir)).isDirectory());
    expect(roots.sort()).toEqual(['scripts', 'src']);
    const outside: string[] = [];
    for (const root of roots) {
      for (const file of readdirSync(join(ROOT, root), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ts|mjs)$/.test(f))) {
        const from = join(root, file);
        // Comments left out: a doc comment may show an import as an example.
        const text = readFileSync(join(ROOT, from), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
        for (const m of text.matchAll(/(?:^(?:import|export)\b[^;]*?\bfrom\s*|\bimport\()\s*'(\.{1,2}\/[^']+)'/gm)) {
          const target = relative(ROOT, join(ROOT, dirname(from), m[1]!));
          if (dockerIgnored(target, patterns) || !existsSync(join(ROOT, target))) outside.push(`${from}: ${m[1]}`);
        }
      }
    }
    expect(outside).toEqual([]);
  });

  it('bundles production dependencies only: src imports no dev dependency statically', () => {
    const production = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, 'src', file), 'utf8');
      // `import type` is erased by type stripping; a dynamic import() is checked by the demo test below.
      for (const m of text.matchAll(/^import (?!type\b)[^;]*?from '([^']+)'/gms)) {
        const spec = m[1]!;
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!production.has(name)) offenders.push(`src/${file}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('the image, laid out from the Dockerfile with a production-only install', () => {
  let root: string;
  const env = envOf(final);
  const entry = () => join(root, instructions('ENTRYPOINT')[0]!.args[1]!);
  /** Image paths in the environment point into the laid-out folder. */
  const mapped = (vars: Record<string, string>) => Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.startsWith('/') ? join(root, v) : v]));

  beforeAll(() => {
    root = assembleImage(stages);
  }, 120_000);
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('holds the bundle only, its entry and chunks, which load no package from outside but the demo\'s mail sink', () => {
    const app = dirname(entry());
    const files = readdirSync(app, { recursive: true, encoding: 'utf8' }).filter((f) => !statSync(join(app, f)).isDirectory());
    expect(files).toContain(basename(entry()));
    expect(files.filter((f) => !/^(ecs-action-watch|chunks\/[\w-]+)\.mjs$/.test(f))).toEqual([]);
    const loaded = new Set(files.flatMap((f) => loadedByName(files, app, f)));
    expect(loaded.has('node:fs')).toBe(true);
    const packages = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
    expect(packages.filter((name) => loaded.has(name))).toEqual(['smtp-server']);
  });

  it('keeps the sources\' names without esbuild\'s keepNames, whose helper defines a name on each closure as it is made', () => {
    const app = dirname(entry());
    const text = readdirSync(app, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.mjs'))
      .map((f) => readFileSync(join(app, f), 'utf8'))
      .join('\n');
    // Booleans: a failure would otherwise print the whole bundle. The helper is matched by what it does,
    // whatever minification calls it.
    expect(/"name",\{value(?::[\w$]+)?,configurable:!0\}/.test(text)).toBe(false);
    // Stack traces and logged error types read these: identifiers are not minified.
    expect(/\bfunction listenForAbort\(/.test(text)).toBe(true);
    expect(/\b(?:ConfigError=class|class ConfigError) extends Error\b/.test(text)).toBe(true);
  });

  it('is ASCII throughout, so that V8 holds each chunk\'s source one byte a character', () => {
    // One character past ASCII (esbuild escapes them in strings, not in a regex literal) made V8 keep a
    // chunk of 269 KB as 538 KB of two-byte text for as long as the process runs.
    const app = dirname(entry());
    const beyond = readdirSync(app, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.mjs'))
      .flatMap((f) => {
        const text = readFileSync(join(app, f), 'utf8');
        const at = text.search(/[\u0080-\uffff]/);
        return at === -1 ? [] : [`${f}: ${text.slice(Math.max(0, at - 40), at + 10)}`];
      });
    expect(beyond).toEqual([]);
  });

  it('holds every file of its own that the README names, the command for `kubectl exec` among them', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    // The image's own folder; /nodejs and /var/lib come from the base image and the volume.
    const named = [...new Set([...readme.matchAll(/\/app\/[\w./-]*/g)].map(([path]) => path.replace(/\.$/, '')))];
    expect(named.filter((path) => !existsSync(join(root, path)))).toEqual([]);
    const execs = [...readme.matchAll(/kubectl [^\n]* exec [^\n]*?-- (\/\S+) (\/\S+)/g)].map(([, node, file]) => [node, file]);
    expect(execs.length).toBeGreaterThan(0);
    for (const [node, file] of execs) expect([node, file]).toEqual(instructions('ENTRYPOINT')[0]!.args.slice(0, 2));
  });

  it('validates the Kubernetes watch file', () => {
    const config = join(root, 'watch.yaml');
    writeFileSync(config, watchFile());
    const validate = spawnSync(process.execPath, [entry(), 'validate', '--config', config], {
      cwd: join(root, workdirOf(final)),
      encoding: 'utf8',
      env: secretEnv(),
    });
    expect(validate.stderr).toBe('');
    expect(validate.status).toBe(0);
  });

  /** Runs the bundle's command to its end, killed after 15 s: its exit code and its two outputs together. */
  const runBundle = async (args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<{ code: number | null; output: string }> => {
    const child = spawn(process.execPath, [...nodeArgs, entry(), ...args], {
      cwd: join(root, workdirOf(final)),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
      killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, output };
  };

  /**
   * runBundle, and what the command loaded: every module specifier it resolved (import() and require()
   * alike), Node's own modules it loaded (`process.moduleLoadList`, which also shows what Node's
   * modules load in turn: node:tls under node:https), and the `Intl` objects it made, by constructor.
   */
  const loadedBy = async (args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; resolved: string[]; builtins: string[]; intl: string[] }> => {
    const probe = join(root, 'probe.mjs');
    const list = join(root, 'loaded.json');
    rmSync(list, { force: true });
    writeFileSync(
      probe,
      [
        "import { registerHooks } from 'node:module';",
        "import { writeFileSync } from 'node:fs';",
        'const seen = new Set();',
        'registerHooks({ resolve: (specifier, context, next) => (seen.add(specifier), next(specifier, context)) });',
        "const builtins = () => process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `node:${m.slice(13)}`);",
        'const intl = [];',
        'for (const name of Object.getOwnPropertyNames(Intl).filter((n) => /^[A-Z]/.test(n))) {',
        '  const made = () => intl.push(name);',
        '  Intl[name] = new Proxy(Intl[name], { construct: (t, a, n) => (made(), Reflect.construct(t, a, n)), apply: (t, self, a) => (made(), Reflect.apply(t, self, a)) });',
        '}',
        `process.on('exit', () => writeFileSync(${JSON.stringify(list)}, JSON.stringify({ resolved: [...seen], builtins: builtins(), intl })));`,
      ].join('\n'),
    );
    const run = await runBundle(args, env, ['--import', probe]);
    // A process killed before its exit handler ran lists nothing: its exit code and output say why.
    const loaded = existsSync(list) ? (JSON.parse(readFileSync(list, 'utf8')) as { resolved: string[]; builtins: string[]; intl: string[] }) : { resolved: [], builtins: [], intl: [] };
    return { ...run, ...loaded };
  };

  it('validates without loading the HTTP client\'s or the signers\' Node modules, nor node:fs/promises: the bundle requires each at its first use', async () => {
    const config = join(root, 'watch.yaml');
    writeFileSync(config, watchFile());
    const validate = await loadedBy(['validate', '--config', config], secretEnv());
    expect(validate.code, validate.output).toBe(0);
    expect(validate.resolved).toContain('node:fs');
    // node:fs/promises would load readline, file watching and directory streams with it.
    for (const unused of ['node:http', 'node:http2', 'node:tls', 'node:crypto', 'node:child_process', 'node:worker_threads', 'node:fs/promises']) {
      expect(validate.builtins).not.toContain(unused);
    }
  });

  /** A watch file of 2,000 actions on a cloud that is not there, its state in `stateDir`; its path. */
  const manyWatches = (stateDir: string): string => {
    const config = join(stateDir, 'many.yaml');
    const watches = Array.from({ length: 2000 }, (_, i) => `  - { serverId: srv-${i}, requestId: req-${i} }`);
    const head = ['cloud:', '  endpoint: http://127.0.0.1:9/v2.1', '  projectId: p', 'notifiers:', '  chat: { type: webhook, url: "http://127.0.0.1:9/hook" }'];
    // No health server: the default port may be taken on the machine running the tests.
    writeFileSync(config, [...head, 'state:', `  path: ${join(stateDir, 'state.json')}`, 'http: { port: 0 }', 'watches:', ...watches, ''].join('\n'));
    return config;
  };
  /** The optimising compilers V8 started a compile with, in the output of a run with --trace-opt. */
  const compilersIn = (output: string) => optimisingCompiles(output).map((c) => c.compiler);

  it('runs a one-shot command without TurboFan, whose background compiles its peak memory would count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-tiers-'));
    const config = manyWatches(dir);
    // --trace-opt writes a line as each optimising compile starts. Measured: validating 2,000 watches starts
    // about 20 TurboFan compiles with V8's defaults, and none once main.ts has set the one-shot flags. (From
    // the sources, Node's type stripper can be optimised before main.ts runs; the bundle has none.)
    const validate = await runBundle(['validate', '--config', config], {}, ['--trace-opt']);
    rmSync(dir, { recursive: true, force: true });
    expect(validate.code, validate.output).toBe(0);
    const compilers = compilersIn(validate.output);
    // The premise: the run was hot enough for V8 to optimise (with Maglev, which one-shot commands keep).
    expect(compilers).toContain('MAGLEV');
    expect(compilers).not.toContain('TURBOFAN');
  });

  it('runs the daemon with TurboFan: the one-shot settings are not for `run`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-tiers-'));
    const child = spawn(process.execPath, ['--trace-opt', entry(), 'run', '--config', manyWatches(dir)], { env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = once(child, 'exit');
    // Reading 2,000 watches starts 100 or more TurboFan compiles before the daemon says it started.
    await untilOrExited(child, () => output.includes('"msg":"started"'));
    // Killed outright: its polls of the absent cloud would hold a clean stop for shutdown.drainTimeout.
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    expect(output, output.slice(-2000)).toContain('"msg":"started"');
    expect(compilersIn(output)).toContain('TURBOFAN');
  });

  it('checks an http:// cloud without loading node:http, node:http2, TLS, node:crypto, node:assert, node:fs/promises or the proxy agent: each is loaded where it is used', async () => {
    // An action still running and one that has finished, whose verdict owes check no delivery (check tells
    // no one), so no delivery id, a sha256.
    for (const [durationMs, state] of [[60_000, 'pending'], [0, 'success']] as const) {
      await withOneAction(
        async ({ requestId }, config, env) => {
          const check = await loadedBy(['check', '--json', '--config', config], env);
          expect(check.code, check.output).toBe(0);
          expect(JSON.parse(check.output)).toMatchObject([{ requestId, state }]);
          expect(check.builtins).toContain('node:net');
          // undici requires http2 at load, the bundle at its first use; node:http is required by the bundle's
          // undici only for a default our pools give (scripts/bundleRules.ts, REWRITTEN), and assert only for a
          // condition that fails; an answer read once needs no digest (node:crypto); reading the state needs
          // no node:fs/promises (src/files/linkTarget.ts); with no proxy in the environment, undici's proxy
          // agent (and SOCKS5) stays unloaded.
          for (const unused of ['node:http', 'node:http2', 'node:tls', 'node:crypto', 'node:assert', 'node:fs/promises']) expect(check.builtins).not.toContain(unused);
          expect(check.resolved.filter((specifier) => specifier.includes('proxy'))).toEqual([]);
        },
        { steps: [{ event: 'compute_reboot_instance', durationMs, taskState: 'rebooting' }] },
      );
    }
  });

  it.each([
    // The pool to the proxy is the dispatcher's, with its options: undici's default of maxHeaderSize is not read.
    ['forwards an http:// cloud\'s requests (HTTP_PROXY), without loading node:http', 'http', false],
    // undici's own client asks the proxy for each tunnel, without the dispatcher's options: where the
    // bundle's rewrite of undici requires node:http, at that client's first connection.
    ['tunnels to an https:// cloud (HTTPS_PROXY), where undici\'s client for the tunnels loads node:http', 'https', true],
  ] as const)('checks through a proxy that %s', async (_case, scheme, loadsHttp) => {
    const proxy = createProxy(createServer());
    const seen: string[] = [];
    proxy.on('request', (req: IncomingMessage) => seen.push(`${req.method} ${req.url}`));
    proxy.on('connect', (req: IncomingMessage) => seen.push(`CONNECT ${req.url}`));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      await withOneAction(
        async ({ requestId }, config, env, h) => {
          const check = await loadedBy(['check', '--json', '--config', config], { ...env, [scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY']: proxyUrl, NO_PROXY: '' });
          expect(check.code, check.output).toBe(0);
          expect(JSON.parse(check.output)).toMatchObject([{ requestId, state: 'pending' }]);
          if (scheme === 'https') expect(seen).toContain(`CONNECT ${new URL(h.simulator.url).host}`);
          else expect(seen.some((line) => line.startsWith('GET http://127.0.0.1:') && line.endsWith(`/os-instance-actions/${requestId}`))).toBe(true);
          if (loadsHttp) expect(check.builtins).toContain('node:http');
          else expect(check.builtins).not.toContain('node:http');
        },
        { steps: [{ event: 'compute_reboot_instance', durationMs: 60_000, taskState: 'rebooting' }] },
        { https: scheme === 'https' },
      );
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('checks a watch whose answer a daemon saved in the state without loading node:crypto: that answer is compared whole, with no digest', async () => {
    await withOneAction(
      async ({ requestId }, config, env) => {
        const statePath = parseDocument(readFileSync(config, 'utf8')).getIn(['state', 'path']) as string;
        const daemon = spawn(process.execPath, [entry(), 'run', '--config', config], { env, stdio: 'ignore' });
        const exited = once(daemon, 'exit');
        // The premise: the daemon has saved the action's answer, which `check` then reads as the watch's last.
        const saved = () => [statePath, `${statePath}.journal`].some((path) => existsSync(path) && readFileSync(path, 'utf8').includes('"instanceAction":{'));
        await untilOrExited(daemon, saved);
        daemon.kill('SIGTERM');
        await exited;
        expect(saved()).toBe(true);
        const check = await loadedBy(['check', '--json', '--config', config], env);
        expect(check.code, check.output).toBe(0);
        expect(JSON.parse(check.output)).toMatchObject([{ requestId, state: 'pending' }]);
        expect(check.builtins).not.toContain('node:crypto');
      },
      { steps: [{ event: 'compute_reboot_instance', durationMs: 60_000, taskState: 'rebooting' }] },
    );
  });

  it('polls a cloud that answers over HTTP/2 only, loading node:http2 for its connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eaw-h2-'));
    const { caFile, key, cert } = makeCertificates(dir);
    const versions: string[] = [];
    // ALPN h2 and nothing else, as a gateway in front of Nova may answer.
    const h2 = createSecureServer({ key, cert }, (req, res) => {
      versions.push(req.httpVersion);
      res.writeHead(200, { 'content-type': 'application/json' });
      // Started now: an event running for long has the server looked at too, which this answers no more than its action.
      const now = `${new Date().toISOString().slice(0, 19)}.000000`;
      res.end(readFileSync(join(ROOT, 'test', 'fixtures', 'nova-api-samples', 'v2.62', 'instance-action-get-resp.json'), 'utf8')
        .replace(/"finish_time": "[^"]*"/, '"finish_time": null').replace(/"start_time": "[^"]*"/g, `"start_time": "${now}"`));
    });
    try {
      h2.listen(0, '127.0.0.1');
      await once(h2, 'listening');
      const config = join(dir, 'watch.yaml');
      writeFileSync(
        config,
        [
          'cloud:',
          `  endpoint: https://127.0.0.1:${(h2.address() as AddressInfo).port}`,
          '  projectId: p',
          '  microversion: "2.60"',
          `  tls: { caFile: ${caFile} }`,
          'watches:',
          '  - { requestId: req-0d819d5c-1527-4669-bdf0-ffad31b5105b, serverId: 4bf3473b-d550-4b65-9409-292d44ab14a2 }',
          '',
        ].join('\n'),
      );
      const check = await loadedBy(['check', '--json', '--config', config], { PATH: process.env['PATH'] });
      expect(check.code, check.output).toBe(0);
      expect(JSON.parse(check.output)).toMatchObject([{ requestId: 'req-0d819d5c-1527-4669-bdf0-ffad31b5105b', action: 'stop', events: { done: 0, total: 1 }, pollFailed: false }]);
      expect(versions).toEqual(['2.0']);
      expect(check.builtins).toContain('node:http2');
    } finally {
      await new Promise((resolve) => h2.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /**
   * How many functions V8 compiled to bytecode in each of the bundle's chunks during one run, by the text
   * that marks the chunk (a library's name for itself), read from a --log-function-events log: what a code
   * cache that held those functions would have spared.
   */
  const compiledByMark = (log: string, marks: Record<string, string>): Record<string, number> => {
    const lines = log.split('\n').map((line) => line.split(','));
    const files = new Map(lines.filter((f) => f[0] === 'script-details').map((f) => [f[1], f[2] ?? '']));
    const counts = Object.fromEntries(Object.keys(marks).map((name) => [name, 0]));
    const nameOf = new Map<string, string | undefined>();
    for (const f of lines) {
      if (f[0] !== 'function' || f[1] !== 'interpreter') continue;
      const file = files.get(f[2]!) ?? '';
      if (!nameOf.has(file)) {
        const text = file.startsWith('file://') ? readFileSync(new URL(file), 'utf8') : '';
        nameOf.set(file, Object.entries(marks).find(([, mark]) => text.includes(mark))?.[0]);
      }
      const name = nameOf.get(file);
      if (name !== undefined) counts[name]! += 1;
    }
    return counts;
  };

  it('takes a one-shot command\'s own modules whole from the compile cache, and undici, loaded later, a function at a time', async () => {
    await withOneAction(async (_action, config, env) => {
      const dir = mkdtempSync(join(tmpdir(), 'eaw-compile-cache-'));
      const log = join(dir, 'v8.log');
      const marks = { yaml: 'YAMLParseError', zod: 'ZodError', undici: 'llhttp' };
      // The cache as bin/ turns it on (npx, systemd; the image runs without one). The same V8 flags on both
      // runs: V8 refuses a code cache made under other flags.
      const check = async () => {
        rmSync(log, { force: true });
        const run = await runBundle(['check', '--json', '--config', config], { ...env, NODE_COMPILE_CACHE: join(dir, 'cache') }, ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate']);
        expect(run.code, run.output).toBe(0);
        return compiledByMark(readFileSync(log, 'utf8'), marks);
      };
      try {
        const first = await check();
        const second = await check();
        // The premise: the first run, which fills the cache, compiles hundreds of functions of each.
        for (const name of Object.keys(marks)) expect(first[name], name).toBeGreaterThan(100);
        // The watch file's parser and schema come whole from the cache...
        expect(second.yaml).toBe(0);
        expect(second.zod).toBe(0);
        // ...and undici is compiled as its functions are first called, run after run: compiled whole too,
        // it took `check` to 71 MB, over its 70 MB target.
        expect(second.undici).toBeGreaterThan(100);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('runs the daemon against an http:// cloud without TLS or zlib: of prom-client only its metrics, not its Pushgateway; on a schedule in UTC, without Intl', async () => {
    await withOneAction(async (_action, config, env, h) => {
      const run = await loadedBy(['run', '--until-done', '--config', config], env);
      expect(run.code, run.output).toBe(0);
      expect(h.hooks.received).toHaveLength(1);
      expect(h.mail.received).toHaveLength(1);
      expect(run.builtins).toContain('node:net');
      for (const unused of ['node:https', 'node:tls', 'node:http2', 'node:zlib']) expect(run.builtins).not.toContain(unused);
      // The first Intl object pages in ICU's data, 7-8 MB resident (scripts/bundleRules.ts, node-cron's time in UTC).
      expect(readFileSync(config, 'utf8')).toContain('schedule: "* * * * * *"');
      expect(run.intl).toEqual([]);
    });
  });

  it('polls and notifies through the bundle: check reads an action, notify-test reaches the webhook and the mail server', async () => {
    // The bundle's chunks of CommonJS packages (undici, nodemailer) are loaded by import() at the first
    // request or message: a shape the sources never see, so only a run through the bundle shows it works.
    await withOneAction(async (action, config, env, h) => {
      const cli = (...args: string[]) => runBundle([...args, '--config', config], env);
      const check = await cli('check', '--json');
      expect(check, check.output).toMatchObject({ code: 0 });
      expect(JSON.parse(check.output)).toMatchObject([{ requestId: action.requestId, state: expect.any(String) }]);
      const test = await cli('notify-test');
      expect(test, test.output).toMatchObject({ code: 0 });
      expect(h.hooks.received).toHaveLength(1);
      expect(h.mail.received).toHaveLength(1);
    });
  });

  it('says why `demo` cannot run there (its mail sink is a dev dependency)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'eaw-image-demo-'));
    try {
      const demo = spawnSync(process.execPath, [entry(), 'demo'], { cwd: join(root, workdirOf(final)), encoding: 'utf8', env: { TMPDIR: tmp }, timeout: 20_000 });
      expect(demo.status).toBe(1);
      expect(demo.stderr).toContain('smtp-server, a dev dependency that a production install');
      // And it leaves nothing behind.
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('runs as the pod does: passes its probes, writes only to the state volume, exits 0 on SIGTERM', async () => {
    const container = resource('Deployment').spec!.template.spec!.containers[0]!;
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
    const port = await closedPort();
    // The ConfigMap's file as mounted, with the state path moved into the folder and a free port.
    const doc = parseDocument(watchFile());
    const statePath = doc.getIn(['state', 'path']) as string;
    expect(statePath.startsWith(`${mounts['state']}/`)).toBe(true);
    doc.setIn(['state', 'path'], join(root, statePath));
    doc.setIn(['http', 'port'], port);
    mkdirSync(join(root, mounts['config']!), { recursive: true });
    writeFileSync(join(root, mounts['config']!, 'watch.yaml'), doc.toString());
    const home = join(root, 'home', 'nonroot');
    const tmp = join(root, 'tmp');
    mkdirSync(home, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    const before = snapshot(root, [mounts['state']!]);

    const deploymentEnv = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
    const child = spawn(process.execPath, [entry(), ...(container.args ?? [])], {
      cwd: join(root, workdirOf(final)),
      env: { ...mapped(env), ...mapped(deploymentEnv), ...secretEnv(), HOME: home, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = once(child, 'exit');
    try {
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect(probe?.httpGet?.port).toBe('metrics');
        const path = probe!.httpGet!.path!;
        expect(await answers(`http://127.0.0.1:${port}${path}`, () => child.exitCode !== null), `${path}: ${output}`).toBe(200);
      }
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code, output).toBe(0);
    expect(snapshot(root, [mounts['state']!])).toEqual(before);
    expect(readdirSync(home)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

const watchFile = () => resource('ConfigMap').data!['watch.yaml']!;
const secretEnv = () => ({ ...resource('Secret').stringData });

/** A harness (the simulator and the receivers) with one quick action (or as `script` says) and a watch file for it, for `use`, with the environment the file needs; closed after. */
async function withOneAction(
  use: (action: ReturnType<typeof quickAction>, config: string, env: NodeJS.ProcessEnv, h: Harness) => Promise<void>,
  script: Parameters<typeof quickAction>[0] = {},
  { https = false }: { https?: boolean } = {},
): Promise<void> {
  const dir = https ? mkdtempSync(join(tmpdir(), 'eaw-image-tls-')) : undefined;
  const certificates = dir === undefined ? undefined : makeCertificates(dir);
  const h = await Harness.start(certificates === undefined ? {} : { tls: { key: certificates.key, cert: certificates.cert } });
  try {
    const action = quickAction(script);
    h.simulator.addAction(action);
    // The harness's cloud.timeout (10 s), far above a request's time on a loaded machine: a failed attempt, retried, would load its error's modules.
    const yaml = h.yaml([action], certificates === undefined ? {} : { cloud: `  tls: { caFile: ${certificates.caFile} }` });
    const config = await h.writeConfig(yaml);
    await use(action, config, { ...h.env, PATH: process.env['PATH'] }, h);
  } finally {
    await h.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until `done()` holds, `child` has exited or 15 s have passed; the caller checks which. */
async function untilOrExited(child: ChildProcess, done: () => boolean): Promise<void> {
  const until = Date.now() + 15_000;
  while (!done() && child.exitCode === null && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Status of GET url once the server answers; gives up when the process is gone or after 15 s. */
async function answers(url: string, gone: () => boolean): Promise<number> {
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200 || Date.now() > until) return res.status;
    } catch (err) {
      if (gone() || Date.now() > until) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every file and folder under root (but the excluded image paths) with its size and mtime. */
function snapshot(root: string, excluded: string[]): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((p) => !excluded.some((e) => `/${p}` === e || `/${p}`.startsWith(`${e}/`)))
    .map((p) => {
      const s = statSync(join(root, p));
      return `${relative(root, join(root, p))} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

/**
 * What one file of the bundle leaves to Node, loaded by name at run time: esbuild bundles every import it
 * resolves (the build fails on one it cannot), the rest goes through import() or esbuild's require helper.
 * The helper is defined in one shared chunk (minified, so found by what it is defined as) and imported
 * into the others under a name of their own.
 */
function loadedByName(files: string[], app: string, file: string): string[] {
  const text = (f: string) => readFileSync(join(app, f), 'utf8');
  const definition = /[,\s]([\w$]+)=\(\w+=>typeof require<"u"\?require:/;
  const definer = files.find((f) => definition.test(text(f)));
  expect(definer).toBeDefined();
  const local = definition.exec(text(definer!))![1]!;
  const exported = new RegExp(`export\\{[^}]*?(?<![\\w$])${escape(local)} as ([\\w$]+)`).exec(text(definer!))?.[1] ?? local;
  const imports = new RegExp(`import\\{([^}]*)\\}from"\\.\\.?/(?:chunks/)?${escape(basename(definer!))}"`).exec(text(file))?.[1];
  const alias =
    file === definer
      ? local
      : imports
          ?.split(',')
          .map((binding) => binding.split(' as '))
          .find(([name]) => name === exported)
          ?.at(-1);
  const callee = alias === undefined ? '\\bimport' : `(?:\\bimport|(?<![\\w$.])${escape(alias)})`;
  const call = new RegExp(`${callee}\\(\\s*"((?:@[\\w.-]+/)?[\\w.:-]+)(?:/[^"]*)?"\\s*\\)`, 'g');
  return [...text(file).matchAll(call)].map((m) => m[1]!);
}

const escape = (name: string) => name.replace(/\$/g, '\\$');
