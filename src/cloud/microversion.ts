// Microversions are `major.minor` compared as integers: 2.9 < 2.10 < 2.104.

/**
 * The highest microversion tested against a real nova-api: 2.62 adds each event's `hostId` (how a
 * rolled-back live migration shows without admin rights), 2.84 a failed event's `details`. Between,
 * 2.69 can answer a server in a down cell with status UNKNOWN, which a poll reads as "not read".
 * Huawei Cloud offers up to 2.60, and so gets 2.60.
 */
const MICROVERSION_CEILING = '2.84';

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
 * The highest the endpoint offers, capped at the ceiling: at or above 2.51 whenever the endpoint reaches
 * it (events are visible to non-admins from 2.51 on), and never below the endpoint's minimum.
 * Returns null when the endpoint offers no microversions at all (`"version": ""`, legacy v2).
 */
export function chooseMicroversion(
  offered: { max: string; min?: string | undefined },
  ceiling: string = MICROVERSION_CEILING,
): string | null {
  if (offered.max.trim() === '') return null;
  const max = offered.max.trim();
  const capped = compareMicroversions(max, ceiling) > 0 ? ceiling : max;
  const min = offered.min?.trim();
  if (min !== undefined && min !== '' && compareMicroversions(capped, min) < 0) return min;
  return capped;
}
