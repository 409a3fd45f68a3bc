// Microversions are `major.minor` compared as integers: 2.9 < 2.10 < 2.104.

/**
 * Huawei Cloud's highest microversion: up to it, the highest an endpoint offers is used, whatever it is.
 */
const UP_TO = '2.60';

/**
 * Above it, only microversions tested against a real nova-api (docs/nova-peer.md), highest first: 2.84 adds
 * a failed event's `details`, 2.62 each event's `hostId` (how a rolled-back live migration shows without
 * admin rights). One between (2.69 answers a server in a down cell with status UNKNOWN, 2.66 and 2.73 add
 * fields) is not used even where offered: the contract allows a higher one only where it was tested.
 */
const TESTED_ABOVE = ['2.84', '2.62'];

const MICROVERSION = /^(\d+)\.(\d+)$/;

function parseMicroversion(v: string): [major: number, minor: number] {
  const m = MICROVERSION.exec(v.trim());
  if (m === null) throw new RangeError(`not a microversion: ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2])];
}

export function compareMicroversions(a: string, b: string): number {
  const [aMajor, aMinor] = parseMicroversion(a);
  const [bMajor, bMinor] = parseMicroversion(b);
  return aMajor - bMajor || aMinor - bMinor;
}

/**
 * The highest the endpoint offers up to UP_TO, or the highest of TESTED_ABOVE it offers: at or above 2.51
 * whenever the endpoint reaches it (events are visible to non-admins from 2.51 on), and never below the
 * endpoint's minimum. Returns null when the endpoint offers no microversions at all (`"version": ""`,
 * legacy v2).
 */
export function chooseMicroversion(offered: { max: string; min?: string | undefined }): string | null {
  if (offered.max.trim() === '') return null;
  const max = offered.max.trim();
  const chosen = compareMicroversions(max, UP_TO) <= 0 ? max : (TESTED_ABOVE.find((v) => compareMicroversions(v, max) <= 0) ?? UP_TO);
  const min = offered.min?.trim();
  if (min !== undefined && min !== '' && compareMicroversions(chosen, min) < 0) return min;
  return chosen;
}
