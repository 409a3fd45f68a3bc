import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CLOCKS_APART_MS, CloudClock } from '../../src/cloud/cloudClock.ts';

function clock() {
  const lines: Array<{ level: number; msg: string; cloudClockAheadS?: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  return { clock: new CloudClock(pino({ level: 'debug' }, sink)), lines };
}

const T0 = Date.parse('2026-12-02T05:00:00.000Z');
const dated = (ms: number) => new Date(ms).toUTCString();

describe('CloudClock', () => {
  it('leaves clocks within 30 s alone, and measures them to the middle of the header\'s second', () => {
    const { clock: c, lines } = clock();
    expect(c.measuredMs).toBeUndefined();
    c.observe(dated(T0 + 12_000), T0);
    expect(c.measuredMs).toBe(12_500);
    expect(c.aheadMs).toBe(0);
    expect(lines).toEqual([]);
  });

  it('allows for a cloud 10 min ahead and says so once, then that the clocks agree again', async () => {
    const { clock: c, lines } = clock();
    c.observe(dated(T0 + 600_000), T0);
    expect(c.aheadMs).toBe(600_500);
    c.observe(dated(T0 + 60_000 + 601_000), T0 + 60_000);
    expect(c.aheadMs).toBe(601_500);
    c.observe(dated(T0 + 120_000 + 2000), T0 + 120_000);
    expect(c.aheadMs).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg, l.cloudClockAheadS])).toEqual([
      [40, "the cloud's clock is 10 min 1 s ahead of this host's (the Date of its answers): deadlines and early warnings allow for it; set this host's time right (NTP), or the cloud's", 601],
      [30, "the cloud's clock and this host's agree again", 3],
    ]);
  });

  it('says a cloud behind this host is behind', async () => {
    const { clock: c, lines } = clock();
    c.observe(dated(T0 - CLOCKS_APART_MS - 1000), T0);
    expect(c.aheadMs).toBe(-CLOCKS_APART_MS - 500);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines[0]!.msg).toMatch(/^the cloud's clock is 30\.5 s behind this host's/);
  });

  it('reads one answer a minute, and skips an answer without a Date or with one that is no date', () => {
    const { clock: c } = clock();
    c.observe(undefined, T0);
    c.observe('yesterday', T0);
    c.observe(['a', 'b'], T0);
    expect(c.measuredMs).toBeUndefined();
    c.observe(dated(T0), T0);
    c.observe(dated(T0 + 600_000), T0 + 59_999);
    expect(c.measuredMs).toBe(500);
    c.observe(dated(T0 + 600_000), T0 + 60_000);
    expect(c.measuredMs).toBe(540_500);
  });
});
