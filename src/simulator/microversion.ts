// Compute API microversion negotiation as Nova does it (nova/api/openstack/wsgi.py and
// api_version_request.py): the standard `OpenStack-API-Version: compute 2.x` header wins over the
// legacy `X-OpenStack-Nova-API-Version`, no header means 2.1, `latest` (lower case) means the maximum, a
// malformed string is a 400 and a well-formed one outside [min, max] a 406.

/** A compute microversion such as 2.51. Only major version 2 exists. */
export interface Microversion {
  readonly major: number;
  readonly minor: number;
}

export const MIN_MICROVERSION: Microversion = { major: 2, minor: 1 };

export type Negotiation =
  | { readonly ok: true; readonly version: Microversion }
  | { readonly ok: false; readonly status: 400; readonly message: string }
  /** `version` is the one asked for: nova set it on the request before it checked the range. */
  | { readonly ok: false; readonly status: 406; readonly message: string; readonly version: Microversion };

/** Nova's format rule: no leading zeros, so "2.05" is malformed rather than 2.5. */
const VERSION_PATTERN = /^([1-9]\d*)\.([1-9]\d*|0)$/;

/** Parses "2.x"; undefined when the string does not follow Nova's MajorNum.MinorNum format. */
export function parseMicroversion(text: string): Microversion | undefined {
  const match = VERSION_PATTERN.exec(text);
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

export function formatMicroversion(version: Microversion): string {
  return `${version.major}.${version.minor}`;
}

export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a.major === b.major ? a.minor - b.minor : a.major - b.major;
}

/** True when `version` is at least 2.`minor`: the test Nova writes as is_supported(req, '2.51'). */
export function supports(version: Microversion, minor: number): boolean {
  return compareMicroversions(version, { major: 2, minor }) >= 0;
}

/**
 * The version string the client asked for, or undefined when it asked for none, as microversion_parse's
 * get_version reads the headers: in `OpenStack-API-Version` (which may carry several services, "compute
 * 2.60, identity 3.0") the last compute entry; else the last value of the legacy header ("2.10, 2.60"
 * when a proxy folded two into one).
 */
function requestedVersion(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  let standard: string | undefined;
  for (const entry of headers['openstack-api-version']?.split(',') ?? []) {
    const [, service, version] = /^(\S+)\s+(.*)$/.exec(entry.trim()) ?? [];
    if (service?.toLowerCase() === 'compute' && version !== undefined) standard = version.trim();
  }
  return standard ?? headers['x-openstack-nova-api-version']?.split(',').at(-1)?.trim();
}

/** Decides the microversion a request is served with, or the error Nova answers instead. */
export function negotiateMicroversion(
  headers: Readonly<Record<string, string | undefined>>,
  max: Microversion,
): Negotiation {
  const requested = requestedVersion(headers);
  if (requested === undefined) return { ok: true, version: MIN_MICROVERSION };
  // Nova compares with 'latest' as it is: 'LATEST' is a malformed version string.
  if (requested === 'latest') return { ok: true, version: max };
  const version = parseMicroversion(requested);
  if (version === undefined) {
    return {
      ok: false,
      status: 400,
      message: `API Version String ${requested} is of invalid format. Must be of format MajorNum.MinorNum.`,
    };
  }
  if (compareMicroversions(version, MIN_MICROVERSION) < 0 || compareMicroversions(version, max) > 0) {
    return {
      ok: false,
      status: 406,
      version,
      message:
        `Version ${formatMicroversion(version)} is not supported by the API. ` +
        `Minimum is ${formatMicroversion(MIN_MICROVERSION)} and maximum is ${formatMicroversion(max)}.`,
    };
  }
  return { ok: true, version };
}
