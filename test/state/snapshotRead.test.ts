import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStoredState, snapshotText, type Image, type Section } from '../../src/state/stateFiles.ts';
import { StateError } from '../../src/state/StateError.ts';
import { runIsolated, sourceModule } from '../isolated.ts';

// What a snapshot holds, section by section: keys that JSON must escape, and records of every JSON type.
const content: Record<Section, Array<[string, unknown]>> = {
  watches: [
    ['p/s-1/req-1', { requestId: 'req-1', deliveries: {}, n: 1.5, list: [1, 'two', null, { deep: true }] }],
    ['p/s-"quoted"/req-\n2', { requestId: 'req-\n2', text: 'a line\nbreak, a comma, a } and a "', empty: {} }],
    ['p/ü/☃', { requestId: '☃', nothing: null }],
    ['__proto__', { kept: 'as any other key' }],
    ['p/s-1/req-1', { requestId: 'req-1', again: 'the later of two equal keys wins, as in JSON.parse' }],
  ],
  batches: [['nightly', { label: 'nightly', digests: [] }]],
  servers: [['s-1', { serverId: 's-1' }]],
  projects: [],
  clocks: [['host', { at: '2026-12-04T10:00:00.000Z' }]],
};

const image: Image = { watches: () => content.watches, batches: () => content.batches, servers: () => content.servers, projects: () => content.projects, clocks: () => content.clocks };
const asWritten = [...snapshotText(7, image, { entry: () => {}, ended: () => {} })].join('');

async function stateFile(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
  await writeFile(path, text);
  return path;
}

/**
 * Each section's records as read, in order, with what `read` was given (its section and key), and how many
 * watches it was given: a watch a line, each once; read whole after some lines, those lines' watches twice.
 */
async function read(text: string) {
  let watchesRead = 0;
  const stored = await readStoredState(await stateFile(text), {
    retry: false,
    read: (section, key, value) => {
      if (section === 'watches') watchesRead++;
      return { section, key, value };
    },
  });
  const told = (section: Section) => [...stored.records[section]].map(([key, v]) => [key, v.section, v.key, v.value]);
  return { seq: stored.seq, watchesRead, records: { watches: told('watches'), batches: told('batches'), servers: told('servers'), projects: told('projects'), clocks: told('clocks') } };
}

describe('reading a snapshot', () => {
  it('reads one as written (a watch a line) into what JSON.parse makes of it, each record told with its section and key', async () => {
    // The premise: the layout the line-wise read expects.
    expect(asWritten.split('\n')[0]).toBe('{"version":1,"seq":7,"watches":{');
    const whole = JSON.parse(asWritten) as { watches: Record<string, unknown>; batches: Record<string, unknown>; tracking: { servers: Record<string, unknown> }; clocks: Record<string, unknown> };
    const found = await read(asWritten);
    expect(found.seq).toBe(7);
    expect(found.records.watches).toEqual(Object.entries(whole.watches).map(([key, value]) => [key, 'watches', key, value]));
    expect(found.records.watches.map(([key]) => key)).toEqual(['p/s-1/req-1', 'p/s-"quoted"/req-\n2', 'p/ü/☃', '__proto__']);
    expect(found.records.batches).toEqual([['nightly', 'batches', 'nightly', whole.batches['nightly']]]);
    expect(found.records.servers).toEqual([['s-1', 'servers', 's-1', whole.tracking.servers['s-1']]]);
    expect(found.records.clocks).toEqual([['host', 'clocks', 'host', whole.clocks['host']]]);
    // Each line once, the key written twice too: a watch a line, never read whole.
    expect(found.watchesRead).toBe(5);
  });

  it('reads the same snapshot laid out otherwise (on one line, indented, two watches on a line, a space after a comma, no watch) as JSON.parse does', async () => {
    const { watchesRead: _, ...expected } = await read(asWritten);
    const value = JSON.parse(asWritten) as Record<string, unknown>;
    const otherwise = [JSON.stringify(value), JSON.stringify(value, null, 2), asWritten.replace(',\n"p/ü/☃"', ',"p/ü/☃"'), asWritten.replace(',\n"p/ü/☃"', ', \n"p/ü/☃"'), asWritten.trimEnd()];
    for (const text of otherwise) {
      const { watchesRead, ...found } = await read(text);
      expect(found, text).toEqual(expected);
      // Read whole: 4 watches (JSON.parse keeps one of the key written twice), and those read before on their lines.
      expect(watchesRead).toBeGreaterThanOrEqual(4);
    }
    const none = await read('{"version":1,"seq":3,"watches":{\n},\n"batches":{}}\n');
    expect(none).toEqual({ seq: 3, watchesRead: 0, records: { watches: [], batches: [], servers: [], projects: [], clocks: [] } });
  });

  it('reads watches whose lines cross the pieces the file is read in, one line longer than a piece', async () => {
    const many: Array<[string, unknown]> = Array.from({ length: 300 }, (_, i) => [`p/s-${i}/req-${i}`, { requestId: `req-${i}`, padding: 'x'.repeat(i * 7) }]);
    many.splice(150, 0, ['p/s-big/req-big', { requestId: 'req-big', traceback: 'a frame\n'.repeat(20_000) }]);
    const text = [...snapshotText(9, { ...image, watches: () => many }, { entry: () => {}, ended: () => {} })].join('');
    // The premise: several pieces of 64 KB, one line longer than one.
    expect(text.length).toBeGreaterThan(4 * 64 * 1024);
    expect(Math.max(...text.split('\n').map((line) => line.length))).toBeGreaterThan(64 * 1024);
    const found = await read(text);
    const whole = JSON.parse(text) as { watches: Record<string, unknown> };
    expect(found.records.watches).toEqual(Object.entries(whole.watches).map(([key, value]) => [key, 'watches', key, value]));
    expect(found.records.batches).toHaveLength(1);
    expect(found.seq).toBe(9);
    // A line at a time, none read twice: the file was not read again whole.
    expect(found.watchesRead).toBe(301);
  });

  it('refuses one that a line spoils as not valid JSON, as a whole read does: a comma missing or too many, a watch cut short', async () => {
    const lines = asWritten.split('\n');
    const lastWatch = lines.findIndex((line) => line.startsWith('}')) - 1;
    const spoiled = [
      lines.map((line, i) => (i === 1 ? line.slice(0, -1) : line)),
      lines.map((line, i) => (i === lastWatch ? `${line},` : line)),
      lines.map((line, i) => (i === 2 ? line.slice(0, 20) : line)),
    ];
    for (const text of spoiled.map((l) => l.join('\n'))) {
      expect(() => JSON.parse(text)).toThrow();
      await expect(read(text)).rejects.toThrow(StateError);
      await expect(read(text)).rejects.toThrow(/is not valid JSON/);
    }
  });

  it('refuses one of a newer format before it reads a record', async () => {
    const records: string[] = [];
    const path = await stateFile(asWritten.replace('{"version":1,', '{"version":2,'));
    await expect(readStoredState(path, { retry: false, read: (_s, key) => records.push(key) })).rejects.toThrow(/newer ecs-action-watch/);
    expect(records).toEqual([]);
  });

  it("never holds the JSON of every watch at once, nor the whole file's bytes or text: each watch is read before the next piece of the file", () => {
    // How far the heap in use grew by the time the first record is read: by the whole JSON tree when the
    // text is parsed at once (V8 makes it in the old generation), by one watch's when it is parsed a line at
    // a time. And memory outside the heap: the file's bytes read, and Node's copy of a text of a MB or more.
    const body = `
      const { mkdtempSync, writeFileSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const { readStoredState, snapshotText } = await import(${sourceModule('state/stateFiles.ts')});
      const watch = (i) => ({ requestId: 'req-' + i, events: [{ event: 'compute_reboot_instance', result: null, start_time: '2026-12-04T10:00:00.000000' }], deliveries: {}, verdict: null });
      const entries = Array.from({ length: 20000 }, (_, i) => ['p/s-' + i + '/req-' + i, watch(i)]);
      const none = () => [];
      const text = [...snapshotText(1, { watches: () => entries, batches: none, servers: none, projects: none, clocks: none }, { entry() {}, ended() {} })].join('');
      const path = join(mkdtempSync(join(tmpdir(), 'eaw-snapshot-')), 'state.json');
      writeFileSync(path, ${'${LAYOUT}'});
      entries.length = 0;
      gc(); gc();
      const before = process.memoryUsage();
      let atFirst;
      await readStoredState(path, { retry: false, read: () => (atFirst ??= process.memoryUsage(), 0) });
      process.stdout.write(JSON.stringify({ grown: (atFirst.heapUsed - before.heapUsed) / 1e6, outside: (atFirst.external - before.external) / 1e6, text: text.length / 1e6 }));
    `;
    const measure = (layout: string) => JSON.parse(runIsolated(body.replace('${LAYOUT}', layout), ['--expose-gc'], 30_000)) as { grown: number; outside: number; text: number };
    const lines = measure('text');
    const whole = measure('JSON.stringify(JSON.parse(text))');
    // The premise: a state of some MB, whose JSON tree is several times its text (31 MB for 3.6).
    expect(lines.text).toBeGreaterThan(2);
    expect(whole.grown).toBeGreaterThan(4 * whole.text);
    // 0.04 MB, where the other layout's whole read took 34.
    expect(lines.grown).toBeLessThan(lines.text);
    // A piece of 64 KB, where a whole read holds the file's bytes and its text as much again (7.3 MB); no
    // more than that, as the pieces read before the file was found on one line are let go (11 MB with them).
    expect(whole.outside).toBeGreaterThan(1.8 * whole.text);
    expect(whole.outside).toBeLessThan(2.2 * whole.text);
    expect(lines.outside).toBeLessThan(0.1 * lines.text);
  });
});
