import pkg from '../package.json' with { type: 'json' };

/** The version in package.json: what `--version` prints and `build_info` reports. */
export const VERSION: string = pkg.version;
