import { describe, expect, it } from 'vitest';
import { negotiateMicroversion, parseMicroversion, supports } from '../../src/simulator/microversion.ts';

const MAX = { major: 2, minor: 96 };
const negotiate = (headers: Record<string, string>) => negotiateMicroversion(headers, MAX);

describe('microversion negotiation', () => {
  it('serves 2.1 when no compute version is asked for', () => {
    expect(negotiate({})).toEqual({ ok: true, version: { major: 2, minor: 1 } });
    expect(negotiate({ 'openstack-api-version': 'identity 3.0' })).toEqual({ ok: true, version: { major: 2, minor: 1 } });
  });

  it('reads the legacy and the standard header, the standard one first', () => {
    expect(negotiate({ 'x-openstack-nova-api-version': '2.51' })).toMatchObject({ version: { minor: 51 } });
    expect(negotiate({ 'openstack-api-version': 'compute 2.60' })).toMatchObject({ version: { minor: 60 } });
    expect(negotiate({ 'openstack-api-version': 'identity 3.0, Compute 2.58' })).toMatchObject({ version: { minor: 58 } });
    expect(
      negotiate({ 'openstack-api-version': 'compute 2.62', 'x-openstack-nova-api-version': '2.51' }),
    ).toMatchObject({ version: { minor: 62 } });
  });

  it('takes the last compute entry, and the last value of a folded legacy header, as microversion_parse.get_version', () => {
    expect(negotiate({ 'openstack-api-version': 'compute 2.10, compute 2.60' })).toMatchObject({ version: { minor: 60 } });
    expect(negotiate({ 'openstack-api-version': 'compute 2.10, identity 3.0, Compute 2.61' })).toMatchObject({ version: { minor: 61 } });
    // check_legacy_headers: value.split(',')[-1].strip()
    expect(negotiate({ 'x-openstack-nova-api-version': '2.10, 2.60' })).toMatchObject({ version: { minor: 60 } });
  });

  it("maps latest to the maximum, in lower case only: 'LATEST' is of invalid format", () => {
    expect(negotiate({ 'x-openstack-nova-api-version': 'latest' })).toEqual({ ok: true, version: MAX });
    expect(negotiate({ 'openstack-api-version': 'compute latest' })).toEqual({ ok: true, version: MAX });
    for (const version of ['LATEST', 'Latest']) {
      expect(negotiate({ 'x-openstack-nova-api-version': version })).toEqual({
        ok: false,
        status: 400,
        message: `API Version String ${version} is of invalid format. Must be of format MajorNum.MinorNum.`,
      });
    }
  });

  it('answers 406 outside [2.1, max] and 400 for what is not MajorNum.MinorNum', () => {
    for (const version of ['2.97', '2.0', '3.0', '1.1']) {
      expect(negotiate({ 'x-openstack-nova-api-version': version })).toMatchObject({ ok: false, status: 406 });
    }
    for (const version of ['2.05', '2', 'two', '2.1.1', '']) {
      expect(negotiate({ 'x-openstack-nova-api-version': version })).toMatchObject({ ok: false, status: 400 });
    }
  });

  it('compares versions numerically, not as text', () => {
    const version = parseMicroversion('2.100');
    expect(version).toEqual({ major: 2, minor: 100 });
    expect(version !== undefined && supports(version, 96)).toBe(true);
    expect(supports({ major: 2, minor: 9 }, 51)).toBe(false);
  });
});
