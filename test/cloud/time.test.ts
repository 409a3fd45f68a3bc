import { describe, expect, it } from 'vitest';
import { novaTimeMs, parseNovaTime } from '../../src/cloud/time.ts';

describe('parseNovaTime', () => {
  it.each([
    ['2018-04-25T01:26:29.585618', '2018-04-25T01:26:29.585Z'],
    ['2018-04-25T01:26:29', '2018-04-25T01:26:29.000Z'],
    ['2018-04-25 01:26:29.5', '2018-04-25T01:26:29.500Z'],
    ['2018-04-25T01:26:29Z', '2018-04-25T01:26:29.000Z'],
    ['2018-04-25T01:26:29.123z', '2018-04-25T01:26:29.123Z'],
    ['2018-04-25T01:26:29+00:00', '2018-04-25T01:26:29.000Z'],
    ['2018-04-25T01:26:29.585618+02:00', '2018-04-24T23:26:29.585Z'],
    ['2018-04-25T01:26:29-0130', '2018-04-25T02:56:29.000Z'],
    ['2024-02-29T23:59:59.999999', '2024-02-29T23:59:59.999Z'],
  ])('%s → %s', (input, iso) => {
    expect(parseNovaTime(input).toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '2018-04-25', '2018-02-30T00:00:00', '2018-04-25T25:00:00', '2018-04-25T01:26:29+2'])(
    'refuses %j',
    (input) => {
      expect(() => parseNovaTime(input)).toThrow(RangeError);
    },
  );
});

describe('novaTimeMs', () => {
  it('reads a time as parseNovaTime does, in epoch ms', () => {
    expect(novaTimeMs('2018-04-25T01:26:29.585618')).toBe(Date.parse('2018-04-25T01:26:29.585Z'));
    expect(novaTimeMs('2016-04-25T20:04:34.604Z')).toBe(Date.parse('2016-04-25T20:04:34.604Z'));
  });

  it.each([null, undefined, '', '  ', 'yesterday', '2018-02-30T00:00:00'])('takes %j as unknown (null)', (input) => {
    expect(novaTimeMs(input)).toBeNull();
  });
});
