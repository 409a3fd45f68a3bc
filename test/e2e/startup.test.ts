// One-shot commands start fast because each loads only what it needs (issue 8): the command line's shell
// holds no library, and a command's own modules come in when it runs. This watches which modules a fresh
// process resolves while it runs `--help`, then `validate`, then `check`, so that a static import that
// drags a library back into every start fails here rather than only in the benchmark.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, quickAction } from './harness.ts';

const CLI = new URL('../../src/cli/cli.ts', import.meta.url).href;

/** Runs each command line in turn in one new process; returns the modules resolved by the end of each. */
const PROBE = `
import { registerHooks } from 'node:module';
import { Writable } from 'node:stream';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
const { runCli } = await import(process.env.CLI);
const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
const io = { env: process.env, stdout: sink, stderr: sink, signal: new AbortController().signal };
const loaded = [];
for (const argv of JSON.parse(process.env.RUNS)) {
  const code = await runCli(argv, io);
  loaded.push({ argv, code, modules: [...seen] });
}
process.stdout.write(JSON.stringify(loaded));
`;

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.close();
});

it('loads for --help no library, for validate no HTTP, logging, state or daemon parts, for check no metrics, mail or simulator', async () => {
  const action = quickAction();
  h.simulator.addAction(action);
  const config = await h.writeConfig(h.yaml([action]));
  const probe = join(h.dir, 'probe.mjs');
  await writeFile(probe, PROBE);
  const runs = [['--help'], ['validate', '--config', config], ['check', '--config', config]];
  // Not a synchronous spawn: the simulator that `check` polls runs in this process.
  const { stdout: out } = await promisify(execFile)(process.execPath, [probe], { env: { ...process.env, ...h.env, CLI, RUNS: JSON.stringify(runs) } });
  const [help, validate, check] = JSON.parse(out) as Array<{ code: number; modules: string[] }>;
  const root = pathToFileURL(join(import.meta.dirname, '..', '..')).href;
  const named = (modules: string[]) => modules.filter((url) => url.startsWith(root)).map((url) => url.slice(root.length + 1));
  const packages = (modules: string[]) => new Set(named(modules).flatMap((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1] ?? []));
  const folders = (modules: string[]) => new Set(named(modules).flatMap((p) => /^src\/([^/]+)\//.exec(p)?.[1] ?? []));

  expect([help!.code, validate!.code, check!.code]).toEqual([0, 0, 0]);
  expect([...packages(help!.modules)]).toEqual([]);
  expect([...folders(help!.modules)].sort()).toEqual(['cli', 'observability', 'text']);

  for (const library of ['undici', 'pino', 'prom-client', 'nodemailer']) expect(packages(validate!.modules)).not.toContain(library);
  for (const folder of ['state', 'delivery', 'simulator', 'sinks']) expect(folders(validate!.modules)).not.toContain(folder);
  for (const module of ['src/app.ts', 'src/watch/engine.ts']) expect(named(validate!.modules)).not.toContain(module);

  // undici's connection pool and what it needs, not its index, which also loads request(), fetch,
  // WebSocket, the cache and the mocks; nor, with no proxy in the environment, its proxy agent.
  const undiciModules = named(check!.modules).filter((p) => p.startsWith('node_modules/undici/'));
  expect(undiciModules).toContain('node_modules/undici/lib/dispatcher/agent.js');
  expect(undiciModules.filter((p) => p.includes('proxy'))).toEqual([]);
  expect(undiciModules.filter((p) => !/^node_modules\/undici\/lib\/(core|dispatcher|llhttp|util)\//.test(p))).toEqual([]);
  for (const library of ['prom-client', 'nodemailer', 'pino-pretty', 'smtp-server']) expect(packages(check!.modules)).not.toContain(library);
  for (const folder of ['simulator', 'sinks']) expect(folders(check!.modules)).not.toContain(folder);
});
