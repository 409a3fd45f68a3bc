import { describe, expect, it } from 'vitest';
import { CPU_BOUND_TEST_TIMEOUT_MS } from '../cpuBound.ts';
import { runIsolated, sourceModule } from '../isolated.ts';
import { optimisingCompiles } from '../traceOpt.ts';

/** runIsolated(body, flags), after the daemon's V8 settings when `tuned`. */
function runChild(tuned: boolean, body: string, flags: string[]): string {
  const script = `${tuned ? `(await import(${sourceModule('cli/daemonV8.ts')})).tuneV8ForDaemon();` : ''}\n${body}`;
  return runIsolated(script, flags);
}

/** What V8 has malloc'ed at its peak, in MB, in a process that makes a few requests through undici on loopback. */
function peakMallocMb(tuned: boolean): number {
  const body = `
    import { getHeapStatistics } from 'node:v8';
    import { createServer } from 'node:http';
    import { once } from 'node:events';
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
  return Number(runChild(tuned, body, ['--wasm-sync-tier-up']));
}

/**
 * The compilers V8 chose, in order, to optimise a small function called 1,500 times: what a poll's own
 * functions see in a daemon of 1,000 watches within its first seconds. V8 tiers up by how often a function
 * runs, not by time, so a loaded machine sees the same. --trace-opt writes a line as each compile starts.
 */
function tierUps(tuned: boolean): string[] {
  const body = `
    function describe(action) { return action.name + ' ' + (action.events.length > 1 ? 'many' : 'one') + ' ' + action.id.toUpperCase(); }
    let total = 0;
    for (let i = 0; i < 1500; i++) total += describe({ name: 'reboot', events: [i], id: 'req-' + (i % 7) }).length;
    if (total === 0) throw new Error('the loop did not run');
  `;
  // Either way V8 optimises `describe`, so optimisingCompiles always has lines to read.
  return optimisingCompiles(runChild(tuned, body, ['--trace-opt'])).filter((c) => c.fn === 'describe').map((c) => c.compiler);
}

/**
 * How many allocation sites V8 decided to pretenure (allocate straight into the old generation) in a process
 * that keeps every object a site makes, as the daemon keeps some for a pass: the largest `tenured=` that
 * --trace-pretenuring-statistics wrote, 0 when it wrote none. V8 pretenures the two sites once 5,000 records
 * are kept (none at 1,000); 100,000 are twenty times that, the million kept before cost 2.2 s more of processor.
 */
function pretenuredSites(tuned: boolean): number {
  const body = `
    const kept = [];
    function record(i) { return { id: i, events: [i] }; }
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20000; i++) kept.push(record(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
  `;
  const counts = [...runChild(tuned, body, ['--trace-pretenuring-statistics']).matchAll(/tenured=(\d+)/g)].map((m) => Number(m[1]));
  return Math.max(0, ...counts);
}

/**
 * The full collections of a process whose objects survive a few young collections and then die, as a pass's
 * do: how --trace-gc names each, `Mark-Compact` or, when it reduces memory, `Mark-Compact (reduce)`.
 */
function fullCollections(tuned: boolean): string[] {
  const body = `
    let kept = [];
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 200000; i++) kept.push({ id: i, name: 'watch ' + i });
      await new Promise((resolve) => setImmediate(resolve));
      kept = [];
    }
  `;
  return [...runChild(tuned, body, ['--trace-gc']).matchAll(/Mark-Compact(?: \(reduce\))?/g)].map((m) => m[0]);
}

describe('the daemon\'s V8 settings', { timeout: CPU_BOUND_TEST_TIMEOUT_MS }, () => {
  it('keep undici\'s wasm parser out of the optimising compiler, and its 20-odd MB of malloc', () => {
    const plain = peakMallocMb(false);
    // The premise: without the settings V8 recompiles llhttp at the first requests. Should a Node release
    // stop doing so, this says the wasm flags may have nothing left to save.
    expect(plain, 'V8 no longer tiers up undici\'s wasm at the first requests').toBeGreaterThan(15);
    expect(peakMallocMb(true)).toBeLessThan(8);
  });

  it('have TurboFan optimise hot functions, sooner than by default, and Maglev none', () => {
    // The premise: by default V8 compiles such a function with Maglev and not yet with TurboFan. Should a
    // Node release stop doing so, this says the settings may have nothing left to change.
    const plain = tierUps(false);
    expect(plain, 'V8 no longer compiles a hot function with Maglev first').toContain('MAGLEV');
    expect(plain).not.toContain('TURBOFAN');
    expect(tierUps(true)).toEqual(['TURBOFAN']);
  });

  it('leave every allocation site in the young generation: V8 pretenures none', () => {
    // The premise: by default V8 pretenures the sites of objects that survive. Should a Node release stop
    // doing so (or --trace-pretenuring-statistics write otherwise), this says the setting may be moot.
    expect(pretenuredSites(false), 'V8 no longer pretenures a site whose objects all survive').toBeGreaterThan(0);
    expect(pretenuredSites(true)).toBe(0);
  });

  it('have every full collection reduce memory, giving back the pages it freed', () => {
    // The premise: by default V8 reduces memory only for a process idle or short of it. Should a Node
    // release reduce on every collection anyway, this says the setting may have nothing left to change.
    const plain = fullCollections(false);
    expect(plain.length).toBeGreaterThan(0);
    expect(plain, 'V8 reduces memory at every full collection by default').toContain('Mark-Compact');
    const tuned = fullCollections(true);
    expect(tuned.length).toBeGreaterThan(0);
    expect(new Set(tuned)).toEqual(new Set(['Mark-Compact (reduce)']));
  });

  it('collect the whole heap when asked, as after a parse of the watch file, and free what it left', () => {
    const body = `
      const { collectGarbage } = await import(${sourceModule('cli/daemonV8.ts')});
      let parsed = [];
      for (let i = 0; i < 300000; i++) parsed.push({ id: 'req-' + i });
      parsed = null;
      process.stdout.write('asked\\n');
      collectGarbage();
      process.stdout.write('collected\\n');
    `;
    const trace = runIsolated(body, ['--trace-gc']);
    const asked = trace.slice(trace.indexOf('asked\n'), trace.indexOf('collected\n'));
    // V8 names the reason of a collection that gc() asked for "testing".
    const full = /Mark-Compact(?: \(reduce\))? ([\d.]+) \([\d.]+\) -> ([\d.]+) .*testing/.exec(asked);
    expect(full, 'no full collection between the call and its return').not.toBeNull();
    expect(Number(full![1]) - Number(full![2])).toBeGreaterThan(5);
  });

  it('keep V8 from marking the heap while a reload parses the watch file, by collecting before the parse', () => {
    // Full collections V8 itself ran while a file of 5,000 watches was parsed, in a heap as the daemon's when
    // its file is edited: what stays (the watches' records), and garbage of its passes that survived the
    // young generation and waits for V8's next full collection. The tuned settings are the daemon's, and the
    // young generation is the image's (--max-semi-space-size).
    const collectionsDuringParse = (between: boolean): number => {
      const body = `
        const { parseBetweenCollections, collectGarbage } = await import(${sourceModule('cli/daemonV8.ts')});
        const { parseConfig } = await import(${sourceModule('config/load.ts')});
        const lines = ['cloud:', '  endpoint: http://127.0.0.1:1', '  projectId: p', 'notifiers:', '  chat:', '    type: webhook', '    url: http://127.0.0.1:2/', 'watches:'];
        for (let i = 0; i < 5000; i++) lines.push('  - requestId: req-' + i, '    serverId: srv-' + i);
        const text = lines.join('\\n') + '\\n';
        const parse = () => parseConfig(text, { env: {}, source: 'watch.yaml' });
        parse();
        const kept = [];
        for (let i = 0; i < 100000; i++) kept.push({ id: 'req-' + i, at: i, list: [i] });
        collectGarbage();
        let passes = [];
        for (let i = 0; i < 60000; i++) passes.push({ id: 'poll-' + i, at: i, list: [i] });
        passes = null;
        process.stdout.write('parse\\n');
        const config = ${between ? 'parseBetweenCollections(parse)' : 'parse()'};
        process.stdout.write('parsed ' + config.watches.length + ' ' + kept.length + '\\n');
      `;
      const trace = runChild(true, body, ['--trace-gc', '--max-semi-space-size=4']);
      const during = trace.slice(trace.indexOf('parse\n'), trace.indexOf('parsed 5000 100000\n'));
      expect(during, 'the parse did not run to its end').toMatch(/^parse\n/);
      // gc() names its reason "testing": those are the two collections around the parse.
      return during.split('\n').filter((line) => line.includes('Mark-Compact') && !line.includes('testing')).length;
    };
    // The premise: without the collection before it, the parse brings the heap to its limit.
    expect(collectionsDuringParse(false), 'the parse no longer reaches V8\'s limit: this test shows nothing').toBeGreaterThan(0);
    expect(collectionsDuringParse(true)).toBe(0);
  });
});
