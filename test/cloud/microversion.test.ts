import { describe, expect, it } from 'vitest';
import { chooseMicroversion, compareMicroversions } from '../../src/cloud/microversion.ts';

describe('microversions', () => {
  it.each([
    ['2.9', '2.10', -1],
    ['2.10', '2.9', 1],
    ['2.60', '2.60', 0],
    ['2.104', '2.60', 1],
    ['3.0', '2.104', 1],
  ])('compares %s with %s numerically', (a, b, sign) => {
    expect(Math.sign(compareMicroversions(a, b))).toBe(sign);
  });

  it.each([
    [{ max: '2.104', min: '2.1' }, '2.84'],
    [{ max: '2.93', min: '2.1' }, '2.84'],
    [{ max: '2.84', min: '2.1' }, '2.84'],
    [{ max: '2.83', min: '2.1' }, '2.62'],
    [{ max: '2.70', min: '2.1' }, '2.62'],
    [{ max: '2.62', min: '2.1' }, '2.62'],
    [{ max: '2.61', min: '2.1' }, '2.60'],
    [{ max: '2.60', min: '2.1' }, '2.60'],
    [{ max: '2.53' }, '2.53'],
    [{ max: '2.51', min: '2.1' }, '2.51'],
    [{ max: '2.40', min: '2.1' }, '2.40'],
    [{ max: '2.9' }, '2.9'],
    [{ max: '2.104', min: '2.90' }, '2.90'],
    [{ max: '', min: '' }, null],
    [{ max: '2.70', min: '2.65' }, '2.65'],
  ])('chooses from %j: %s', (offered, chosen) => {
    expect(chooseMicroversion(offered)).toBe(chosen);
  });

  it('refuses a version that is not major.minor', () => {
    expect(() => chooseMicroversion({ max: 'latest' })).toThrow(RangeError);
  });
});
