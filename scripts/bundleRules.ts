// What scripts/bundle.ts changes in how dependencies load Node's modules, each with the reason and what it
// measured: its own module, so that the tests exercise these rules and not copies of them.
import type { RequiredLazily } from './builtinsRequired.ts';
import type { Rewrites } from './rewriteSources.ts';

// Node's modules that dependencies require() (rather than import) when they load but use only later, if at
// all (./builtinsRequired.ts, which also says how every import of Node's modules is bundled):
// - http2: undici's HTTP/2 client reads its constants (header names, error codes) at load, which loaded
//   node:http2, and through it node:tls, into every process that makes a request, although a connection
//   uses HTTP/2 only where TLS negotiates it: 12 ms and 6 MB on top of TLS, and TLS too for an http://
//   endpoint. http2 now loads at its first connect().
// - assert: undici calls assert(condition) on its request path (34 of its modules require it at load) and
//   nothing else of it. Node's assert (with its diff and its deep comparisons) loads at the first false
//   condition, which would be a bug of undici's, so never in a sound run: `check` of one watch 0.4 MB
//   less, 0.985 of its time (30 pairs).
export const REQUIRED_LAZILY: RequiredLazily = {
  'node:http2': { copied: ['constants'] },
  'node:assert': { standIn: '(...args) => { if (!args[0]) load()(...args); }' },
};

// Dependencies' text rewritten as it is bundled (./rewriteSources.ts: a text not found once stops the build):
// - node:http, required where it is used: undici reads http.IncomingMessage (for one comparison in
//   destroy()) and http.maxHeaderSize (the default of an option our pools always give,
//   src/net/dispatcher.ts) as its modules load. Node's HTTP client and server, of which undici uses nothing
//   else, were then loaded into every process that makes a request: `check` of one watch took 0.94 of its
//   time and 0.8 MB less without them (30 pairs).
// - a header value's check: undici scans every value of every request for characters a header cannot hold,
//   with a regex that takes 4-5 us over a token of 6 KB (Huawei IAM's are several KB), the same token at
//   each poll. A long value that passed is remembered, and the same text passes again without the scan.
// - node-cron's time in UTC: node-cron reads the date and time of each tick, and the offset of a zone, with
//   `Intl.DateTimeFormat`, whose first use pages in ICU's locale data. The daemon runs a schedule that names
//   no hour, day or month (the default's kind) in UTC (src/watch/cronZone.ts), where Date's UTC getters
//   give the same parts and the offset is nil. 1,000 watches polling peaked at 91 against 98-100 MB, and at
//   97-99 against 104-106 MB with all finishing at once (3 interleaved pairs, 2026-12-03); 2,000 at 98-100
//   against 103-106 MB. A schedule in another zone still goes through Intl.
export const REWRITTEN: Rewrites = {
  'node-cron/dist/_shared.js': [
    [
      'function buildDateParts(date, timezone) {\n',
      [
        'const UTC_WEEKDAYS = [\'Sun\', \'Mon\', \'Tue\', \'Wed\', \'Thu\', \'Fri\', \'Sat\'];',
        'function buildDateParts(date, timezone) {',
        '    if (timezone === \'UTC\')',
        '        return { day: date.getUTCDate(), month: date.getUTCMonth() + 1, year: date.getUTCFullYear(), hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds(), millisecond: date.getMilliseconds(), weekday: UTC_WEEKDAYS[date.getUTCDay()], gmt: \'Z\' };',
        '',
      ].join('\n'),
    ],
    ['function getTimezoneGMT(date, timezone) {\n', "function getTimezoneGMT(date, timezone) {\n    if (timezone === 'UTC')\n        return 'Z';\n"],
  ],
  'undici/lib/core/util.js': [
    ["const { IncomingMessage } = require('node:http')\n", ''],
    ['.constructor === IncomingMessage)', ".constructor === require('node:http').IncomingMessage)"],
    [
      ['function isValidHeaderValue (characters) {', '  return !headerCharRegex.test(characters)', '}'].join('\n'),
      [
        'let lastLongValidHeaderValue = \'\'',
        'function isValidHeaderValue (characters) {',
        '  if (characters.length < 1024) return !headerCharRegex.test(characters)',
        '  if (characters === lastLongValidHeaderValue) return true',
        '  if (headerCharRegex.test(characters)) return false',
        '  lastLongValidHeaderValue = characters',
        '  return true',
        '}',
      ].join('\n'),
    ],
  ],
  'undici/lib/dispatcher/client.js': [
    ["const http = require('node:http')\n", ''],
    [
      [
        'const getDefaultNodeMaxHeaderSize = http &&',
        '  http.maxHeaderSize &&',
        '  Number.isInteger(http.maxHeaderSize) &&',
        '  http.maxHeaderSize > 0',
        '  ? () => http.maxHeaderSize',
        "  : () => { throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid') }",
      ].join('\n'),
      [
        'const getDefaultNodeMaxHeaderSize = () => {',
        "  const http = require('node:http')",
        '  if (http && Number.isInteger(http.maxHeaderSize) && http.maxHeaderSize > 0) return http.maxHeaderSize',
        "  throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid')",
        '}',
      ].join('\n'),
    ],
  ],
};
