import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TUNING = new URL('../../src/cli/daemonV8.ts', import.meta.url).href;

/**
 * What V8 has malloc'ed at its peak, in MB, in a process that makes a few requests through undici on
 * loopback, with the daemon's V8 settings or without. A process of its own: the flags are process-wide.
 */
function peakMallocMb(tuned: boolean): number {
  const script = `
    import { getHeapStatistics } from 'node:v8';
    import { createServer } from 'node:http';
    import { once } from 'node:events';
    ${tuned ? `(await import(${JSON.stringify(TUNING)})).tuneV8ForDaemon();` : ''}
    const { Agent, request } = await import('undici');
    const server = createServer((req, res) => res.end('{"instanceAction":{"action":"reboot"}}')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const agent = new Agent();
    for (let i = 0; i < 5; i++) await (await request('http://127.0.0.1:' + server.address().port + '/', { dispatcher: agent })).body.text();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await agent.close();
    server.close();
    process.stdout.write(String(getHeapStatistics().peak_malloced_memory / 1048576));
  `;
  // --wasm-sync-tier-up: the optimising recompile runs before the requests go on, rather than on a thread of
  // its own that a loaded machine may not have run before the pause ends. The pause is for V8's eager
  // recompile of the whole module (dynamic tiering off alone), which that flag does not make synchronous.
  const args = ['--wasm-sync-tier-up', '--input-type=module', '-e', script];
  return Number(execFileSync(process.execPath, args, { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 15_000 }));
}

describe('the daemon\'s V8 settings', () => {
  it('keep undici\'s wasm parser out of the optimising compiler, and its 20-odd MB of malloc', () => {
    const plain = peakMallocMb(false);
    // The premise: without the settings V8 recompiles llhttp at the first requests. Should a Node release
    // stop doing so, this says the wasm flags may have nothing left to save.
    expect(plain, 'V8 no longer tiers up undici\'s wasm at the first requests').toBeGreaterThan(15);
    expect(peakMallocMb(true)).toBeLessThan(8);
  });
});
