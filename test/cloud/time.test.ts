import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { novaTimeIso, novaTimeMs } from '../../src/cloud/time.ts';
import { formatNovaTime } from '../../src/notify/render.ts';

/**
 * The reading that cloud/time.ts replaced (a regex, Date.UTC, a round trip of every field through a Date, and
 * toISOString), kept here as the reference it must match to the byte: slow, and plainly right.
 */
function referenceIso(s: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/i.exec(s.trim());
  if (m === null) return null;
  const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms);
  const date = new Date(local);
  if (
    date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) ||
    date.getUTCHours() !== Number(h) || date.getUTCMinutes() !== Number(mi) || date.getUTCSeconds() !== Number(sec)
  ) {
    return null;
  }
  if (sign === undefined) return date.toISOString();
  const offsetMs = (Number(oh) * 60 + Number(om)) * 60_000;
  return new Date(sign === '+' ? local - offsetMs : local + offsetMs).toISOString();
}

/** What novaTimeIso, novaTimeMs and formatNovaTime give for `s`, as one text to compare. */
const actual = (s: string) => JSON.stringify([s, novaTimeIso(s), novaTimeMs(s), formatNovaTime(s)]);

/** What they must give for `s`, from the reference. */
function expected(s: string): string {
  const iso = referenceIso(s);
  return JSON.stringify([s, iso, iso === null ? null : Date.parse(iso), iso ?? s]);
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('novaTimeIso and formatNovaTime', () => {
  it.each([
    ['2018-04-25T01:26:29.585618', '2018-04-25T01:26:29.585Z'],
    ['2018-04-25T01:26:29', '2018-04-25T01:26:29.000Z'],
    ['2018-04-25 01:26:29.5', '2018-04-25T01:26:29.500Z'],
    ['2018-04-25t01:26:29.05', '2018-04-25T01:26:29.050Z'],
    ['2018-04-25T01:26:29Z', '2018-04-25T01:26:29.000Z'],
    ['2018-04-25T01:26:29.123z', '2018-04-25T01:26:29.123Z'],
    ['2018-04-25T01:26:29+00:00', '2018-04-25T01:26:29.000Z'],
    ['2018-04-25T01:26:29.585618+02:00', '2018-04-24T23:26:29.585Z'],
    ['2018-04-25T01:26:29-0130', '2018-04-25T02:56:29.000Z'],
    ['2024-02-29T23:59:59.999999', '2024-02-29T23:59:59.999Z'],
    ['2000-02-29T00:00:00', '2000-02-29T00:00:00.000Z'],
    [' \t2018-04-25T01:26:29.585618\n', '2018-04-25T01:26:29.585Z'],
    ['0100-01-01T00:30:00+01:00', '0099-12-31T23:30:00.000Z'],
    ['9999-12-31T23:59:59-01:00', '+010000-01-01T00:59:59.000Z'],
  ])('%j → %s', (input, iso) => {
    expect(novaTimeIso(input)).toBe(iso);
    expect(formatNovaTime(input)).toBe(iso);
    expect(novaTimeMs(input)).toBe(Date.parse(iso));
  });

  it.each([
    '', ' ', 'yesterday', '2018-04-25', '2018-02-30T00:00:00', '2023-02-29T00:00:00', '1900-02-29T00:00:00',
    '2018-04-25T24:00:00', '2018-04-25T23:60:00', '2018-04-25T23:59:60', '2018-00-10T00:00:00', '2018-13-10T00:00:00',
    '2018-04-00T00:00:00', '0099-01-01T00:00:00', '2018-04-25T01:26:29+2', '2018-04-25T01:26:29.', '2018-04-25T01:26:29+02:',
    '2018-04-25T01:26:29 Z', '2018-04-25X01:26:29', '2018-04-25T01:26:29.5.5', '٢٠١٨-04-25T01:26:29',
  ])('leaves %j as the API gave it (unreadable or impossible)', (input) => {
    expect(novaTimeIso(input)).toBeNull();
    expect(formatNovaTime(input)).toBe(input);
    expect(novaTimeMs(input)).toBeNull();
  });

  it('shows null as unknown', () => {
    expect(formatNovaTime(null)).toBe('unknown');
  });

  it('reads every day, month and hour of the calendar as the reference does, leap years and their exceptions too', () => {
    const texts: string[] = [];
    for (const year of [0, 99, 100, 1600, 1899, 1900, 1970, 2000, 2023, 2024, 2100, 2400, 9999]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) texts.push(`${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T12:00:00`);
      }
    }
    for (let hour = 0; hour <= 99; hour++) texts.push(`2024-02-29 ${pad(hour, 2)}:${pad(hour, 2)}:${pad(hour, 2)}.5`);
    expect(texts.map(actual).filter((got, i) => got !== expected(texts[i]!))).toEqual([]);
  });

  // Generated texts. The numbers keep near their bounds (February, the 29th, century years, hour 24) so that
  // many texts name a date that does not exist by one rule only; a share have their shape broken as well.
  const often = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight });
  const digits = (width: number, max: number) => fc.integer({ min: 0, max }).map((n) => pad(n, width));
  const year = fc.oneof(often(3, fc.constantFrom('0000', '0099', '0100', '1600', '1900', '2000', '2023', '2024', '2100', '9999')), often(2, digits(4, 9999)));
  const month = fc.oneof(often(3, fc.constant('02')), often(4, digits(2, 13)), often(1, digits(2, 99)));
  const day = fc.oneof(often(2, fc.constant('29')), often(2, fc.constantFrom('00', '28', '30', '31')), often(2, digits(2, 32)));
  const clock = (max: number) => fc.oneof(often(6, digits(2, max)), often(1, fc.constant(String(max + 1))), often(1, digits(2, 99)));
  const fraction = fc.oneof(often(4, fc.constant('')), often(4, fc.stringMatching(/^\.\d{1,12}$/)), often(1, fc.constant('.')));
  const zone = fc.oneof(
    often(4, fc.constantFrom('', 'Z', 'z')),
    often(2, fc.stringMatching(/^[+-]\d\d:?\d\d$/)),
    often(1, fc.stringMatching(/^[+-]\d{0,3}:{0,2}\d{0,3}$/)),
  );
  const space = fc.constantFrom('', '', '', ' ', '\t\n', '\u00a0', '\ufeff');
  const novaText = fc
    .tuple(space, year, month, day, fc.constantFrom('T', 't', ' '), clock(23), clock(59), clock(59), fraction, zone, space)
    .map(([lead, y, mo, d, sep, h, mi, sec, frac, z, trail]) => `${lead}${y}-${mo}-${d}${sep}${h}:${mi}:${sec}${frac}${z}${trail}`);
  const mutated = fc
    .tuple(novaText, fc.nat(), fc.string({ unit: fc.constantFrom(...'09-:.TtZz+ x٣\u00a0'), maxLength: 2 }))
    .map(([text, at, put]) => text.slice(0, at % (text.length + 1)) + put + text.slice((at % (text.length + 1)) + 1));

  it('reads generated texts, valid and not, as the reference does', () => {
    const text = fc.oneof(often(4, novaText), often(3, mutated), often(1, fc.string({ maxLength: 40 })));
    fc.assert(
      fc.property(text, (s) => {
        expect(actual(s)).toBe(expected(s));
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('novaTimeMs', () => {
  it('reads a time in epoch ms', () => {
    expect(novaTimeMs('2018-04-25T01:26:29.585618')).toBe(Date.parse('2018-04-25T01:26:29.585Z'));
    expect(novaTimeMs('2016-04-25T20:04:34.604Z')).toBe(Date.parse('2016-04-25T20:04:34.604Z'));
  });

  it.each([null, undefined, '', '  ', 'yesterday', '2018-02-30T00:00:00'])('takes %j as unknown (null)', (input) => {
    expect(novaTimeMs(input)).toBeNull();
  });
});
