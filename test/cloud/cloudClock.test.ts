import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLOCKS_APART_MS, CloudClock } from '../../src/cloud/cloudClock.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** A clock on fake monotonic time, which times its measures (`later(ms)` lets it pass), and on a fake Date with `now`. */
function clock(now?: number) {
  vi.useFakeTimers({ toFake: now === undefined ? ['performance'] : ['performance', 'Date'], now });
  const lines: Array<{ level: number; msg: string; cloudClockAheadS?: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  return { clock: new CloudClock(pino({ level: 'debug' }, sink), 'https://cloud.example'), lines };
}

const T0 = Date.parse('2026-12-02T05:00:00.000Z');
const dated = (ms: number) => new Date(ms).toUTCString();
const later = (ms: number) => vi.advanceTimersByTime(ms);

describe('CloudClock', () => {
  it('leaves clocks within 30 s alone, and measures them to the middle of the header\'s second', () => {
    const { clock: c, lines } = clock();
    expect(c.measuredMs).toBeUndefined();
    c.observe(dated(T0 + 12_000), T0);
    expect(c.measuredMs).toBe(12_500);
    expect(c.aheadMs).toBe(0);
    expect(lines).toEqual([]);
  });

  it('allows for a cloud 10 min ahead and says so once, then that the clocks agree again once two measures in a row do', async () => {
    const { clock: c, lines } = clock();
    c.observe(dated(T0 + 600_000), T0);
    expect(c.aheadMs).toBe(600_500);
    later(60_000);
    c.observe(dated(T0 + 60_000 + 601_000), T0 + 60_000);
    expect(c.aheadMs).toBe(601_500);
    later(60_000);
    c.observe(dated(T0 + 120_000 + 2000), T0 + 120_000);
    expect(c.aheadMs).toBe(2500);
    later(60_000);
    c.observe(dated(T0 + 180_000 + 2000), T0 + 180_000);
    expect(c.aheadMs).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg, l.cloudClockAheadS])).toEqual([
      [40, "the cloud's clock is 10 min 1 s ahead of this host's (the Date of its answers): deadlines and early warnings allow for it; set this host's time right (NTP), or the cloud's", 601],
      [30, "the cloud's clock and this host's agree again", 3],
    ]);
  });

  it('says once that clocks about 30 s apart are apart, and goes on allowing for them, though the Date\'s whole seconds put measures on both sides of 30 s', async () => {
    const { clock: c, lines } = clock();
    // A cloud 30.2 s ahead: an answer 790 ms into this host's second has a Date stamped at .99 of the
    // cloud's, which the header writes as the second before (a measure of 29.71 s); one at .0, 30.5 s.
    for (let i = 0; i < 10; i++) {
      const receivedAt = T0 + i * 60_000 + (i % 2 === 0 ? 0 : 790);
      c.observe(dated(receivedAt + 30_200), receivedAt);
      expect(c.aheadMs).toBe(i % 2 === 0 ? 30_500 : 29_710);
      later(60_000);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^the cloud's clock is 30\.5 s ahead of this host's/)]);
  });

  it('says once that the clocks are apart, and allows for them until two measures in a row agree, when the answers come by turns from controllers 20 s and 40 s ahead', async () => {
    const { clock: c, lines } = clock();
    // An hour of answers, a measure a minute, from either controller by turns: their 20 s between is no
    // step of a clock (hostClock.ts finds no clocks by turns), but they are on both sides of 25 s and 30 s.
    const allowed: number[] = [];
    for (let minute = 0; minute < 60; minute++) {
      const receivedAt = T0 + minute * 60_000;
      c.observe(dated(receivedAt + (minute % 2 === 0 ? 40_000 : 20_000)), receivedAt);
      allowed.push(c.aheadMs);
      later(60_000);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, expect.stringMatching(/^the cloud's clock is 40\.5 s ahead of this host's/)]]);
    // Each measure as it is, once apart: the answers' own spread, not 40 s.
    expect(new Set(allowed)).toEqual(new Set([40_500, 20_500]));
  });

  it('says the clocks agree again a measure after the first within 25 s, when a cloud 40 s ahead drifts to agree', async () => {
    const { clock: c, lines } = clock();
    const allowed: number[] = [];
    for (const [minute, ahead] of [40_000, 32_000, 24_000, 16_000, 8000, 0].entries()) {
      const receivedAt = T0 + minute * 60_000;
      c.observe(dated(receivedAt + ahead), receivedAt);
      allowed.push(c.aheadMs);
      later(60_000);
    }
    expect(allowed).toEqual([40_500, 32_500, 24_500, 0, 0, 0]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg, l.cloudClockAheadS])).toEqual([
      [40, expect.stringMatching(/^the cloud's clock is 40\.5 s ahead of this host's/), 41],
      [30, "the cloud's clock and this host's agree again", 17],
    ]);
  });

  it('says a cloud behind this host is behind', async () => {
    const { clock: c, lines } = clock();
    c.observe(dated(T0 - CLOCKS_APART_MS - 1000), T0);
    expect(c.aheadMs).toBe(-CLOCKS_APART_MS - 500);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines[0]!.msg).toMatch(/^the cloud's clock is 30\.5 s behind this host's/);
  });

  it('reads one answer a minute of the time measured passing, and skips an answer without a Date or with one that is no date', () => {
    const { clock: c } = clock();
    c.observe(undefined, T0);
    c.observe('yesterday', T0);
    c.observe(['a', 'b'], T0);
    expect(c.measuredMs).toBeUndefined();
    c.observe(dated(T0), T0);
    later(59_999);
    // This host's clock set back an hour meanwhile does not hold the next measure back an hour.
    c.observe(dated(T0 + 600_000), T0 - 3_600_000);
    expect(c.measuredMs).toBe(500);
    later(1);
    c.observe(dated(T0 + 600_000), T0 + 60_000);
    expect(c.measuredMs).toBe(540_500);
  });

  it("moves its measure with a setting of this host's clock it is told of, and measures again at the next answer", () => {
    const { clock: c } = clock(T0);
    c.observe(dated(Date.now()), Date.now());
    vi.setSystemTime(Date.now() - 600_000);
    c.hostSet(-600_000);
    expect(c.aheadMs).toBe(600_500);
    // Within the minute, as the setting asked.
    c.observe(dated(T0 + 1000), Date.now());
    expect(c.aheadMs).toBe(601_500);
  });

  it('gives the measure of the last answer only when it came after the given look and on this host\'s clock as it now is, and takes it when asked', () => {
    const { clock: c } = clock(T0);
    expect(c.sinceStep(0)).toBeUndefined();
    c.observe(dated(T0 + 40_000), Date.now());
    later(1000);
    const look = performance.now();
    expect(c.sinceStep(look)).toBeUndefined();
    later(1);
    c.observe(dated(T0 + 41_000), Date.now());
    expect(c.measuredMs).toBe(40_500);
    expect(c.sinceStep(look)).toBe(40_499);
    vi.setSystemTime(Date.now() + 600_000);
    expect(c.sinceStep(look)).toBeUndefined();
    c.observe('no date', Date.now());
    expect(c.sinceStep(look)).toBeUndefined();
    c.observe(dated(T0 + 42_000), Date.now());
    expect(c.sinceStep(look)).toBe(-558_501);
    c.retake(-558_501);
    expect(c.aheadMs).toBe(-558_501);
  });
});
