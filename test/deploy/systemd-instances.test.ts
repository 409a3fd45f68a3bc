// Two daemons on one host under systemd, the README's way: the first from ecs-action-watch.service, a second
// from the template's instance, each run as its unit runs it (its watch file, its working folder, where the
// default state.path lands) on the watch file the README's steps give it.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, expect } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { itWithHarness as it, quickAction, type Harness } from '../e2e/harness.ts';
import { killDaemons, startDaemon } from '../e2e/daemon.ts';
import { ROOT } from './dockerfile.ts';
import { SINGLE, TEMPLATE, environmentOf, expand, readUnit, readmeInstance, systemdReadme } from './systemdUnits.ts';
import { eventually } from '../eventually.ts';

afterEach(() => {
  killDaemons();
});

/**
 * What the README's steps have the operator change in the instance's copy of watch.example.yaml, besides its
 * cloud and watches: the `http.port: N` the comment of its install line names, if any.
 */
function readmePortOf(config: string): number | undefined {
  const line = systemdReadme()
    .split('\n')
    .find((l) => l.includes(`watch.example.yaml ${config} `));
  if (line === undefined) throw new Error(`README installs no watch file as ${config}`);
  const port = /http\.port: (\d+)/.exec(line.slice(line.indexOf('#')));
  return port ? Number(port[1]) : undefined;
}

/** The daemon's watch file, where its unit names it, and the folder it runs in, as systemd makes it. */
async function layOut(h: Harness, file: string, instance: string, yaml: string) {
  const unit = readUnit(file);
  const config = expand(environmentOf(unit, 'ECS_WATCH_CONFIG'), instance);
  const folder = join(h.dir, expand(unit.get('Service')!.get('WorkingDirectory')![0]!, instance));
  await mkdir(folder, { recursive: true });
  const path = join(h.dir, config);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, yaml);
  return { config, path, folder };
}

it("runs the single unit's daemon and the template's instance side by side, each on its own state file and metrics port", async ({ h }) => {
  // watch.example.yaml's state and http, which the README's install step copies for either daemon.
  const example = parse(await readFile(join(ROOT, 'watch.example.yaml'), 'utf8')) as { state: { path: string }; http: { port: number } };
  const requestIds: string[] = [];
  const watchFile = (port: number) => {
    const action = quickAction();
    requestIds.push(h.simulator.addAction(action));
    const doc = parseDocument(h.yaml([action]));
    doc.setIn(['state', 'path'], example.state.path);
    doc.setIn(['http', 'port'], port);
    // The ports the README gives, on loopback only (the example listens on every address).
    doc.setIn(['http', 'host'], '127.0.0.1');
    return doc.toString();
  };
  const first = await layOut(h, SINGLE, '', watchFile(example.http.port));
  const instance = readmeInstance();
  const secondConfig = expand(environmentOf(readUnit(TEMPLATE), 'ECS_WATCH_CONFIG'), instance);
  const second = await layOut(h, TEMPLATE, instance, watchFile(readmePortOf(secondConfig) ?? example.http.port));

  const daemons = [first, second].map((d) => ({ ...d, daemon: startDaemon(d.path, h.env, [], { cwd: d.folder }) }));
  for (const { config, daemon } of daemons) expect(await daemon.saw('started'), `${config}: ${daemon.output()}`).toBe(true);
  for (const { config, folder, path } of daemons) {
    const { http } = parse(await readFile(path, 'utf8')) as { http: { port: number } };
    const ready = await request(`http://127.0.0.1:${http.port}/readyz`);
    await ready.body.dump();
    expect(ready.statusCode, config).toBe(200);
    // Its own lock, in its own working folder: neither is the other's.
    expect((await stat(join(folder, `${example.state.path}.lock`))).isFile(), config).toBe(true);
  }
  // Each notifies its own watch.
  await eventually(() => expect(h.hooks.received.map((r) => r.raw).filter((raw) => requestIds.some((id) => raw.includes(id)))).toHaveLength(2), { timeout: 10_000, interval: 20 });
});
