// Text for one line of a chat message. Chat systems limit a message in UTF-8 bytes (WeCom, DingTalk) or in
// characters (Slack); a character takes at least one byte, so a bound in bytes holds for both.
/**
 * What `&`, `<`, `>`, `[` and `]` take once a chat's markup has them escaped (Slack's `&amp;`, Lark's
 * `&#91;`, DingTalk's `<` and a zero-width space: src/notify/template/template.ts): counted so, a short text
 * stays within its bound escaped too.
 */
const ESCAPED_BYTES = 5;
const MARKUP = /[&<>[\]]/g;

const ELLIPSIS = '…';
const ELLIPSIS_BYTES = 3;

/** Whitespace and control characters, which a chat line shows as nothing, boxes or breaks. */
const BLANKS = /[\s\p{Cc}]+/gu;

/**
 * How many characters of a long text are read for `maxBytes` bytes of it: more than fit, as whitespace
 * collapses (a traceback's indentation), but not the whole of a reason listing hundreds of failed sub-jobs.
 */
const READ_PER_BYTE = 4;

/**
 * Made at the first cut: the first Intl object touches ICU's data, 2.5-3 MB more resident for `validate` and
 * `check` of a file whose templates never need a cut (measured: 61.4 against 63.9 MB for `validate`).
 */
let segmenter: Intl.Segmenter | undefined;
const graphemes = () => (segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' }));

/**
 * `text` on one line, without control characters, and in at most `maxBytes` bytes of UTF-8 (`&`, `<`, `>`,
 * `[` and `]` counted as ESCAPED_BYTES): cut with `…`
 * between two characters as people see them (not inside an accented letter, a flag or an emoji of several).
 * `end` keeps the beginning, as for a reason; `middle` keeps both ends, as for a name, since a fleet's
 * names tend to differ at their end (web-01, web-02).
 */
export function shortened(text: string, maxBytes: number, cut: 'end' | 'middle'): string {
  const whole = text.trimStart();
  // Read to a grapheme's start: collapsed whitespace can leave all that was read within the bytes, and
  // where the reading stopped is then the cut.
  const read = cut === 'end' ? whole.slice(0, graphemeStart(whole, READ_PER_BYTE * maxBytes)) : whole;
  const line = read.replace(BLANKS, ' ').trim();
  // A UTF-16 unit is at most 3 bytes, or ESCAPED_BYTES: most names and reasons fit without being counted.
  if (read === whole && (line.length * ESCAPED_BYTES <= maxBytes || lineBytes(line) <= maxBytes)) return line;
  const room = maxBytes - ELLIPSIS_BYTES;
  if (cut === 'end') return `${line.slice(0, headEnd(line, room)).trimEnd()}${ELLIPSIS}`;
  const head = line.slice(0, headEnd(line, Math.ceil(room / 2))).trimEnd();
  return `${head}${ELLIPSIS}${line.slice(tailStart(line, Math.floor(room / 2))).trimStart()}`;
}

function lineBytes(line: string): number {
  return Buffer.byteLength(line) + (ESCAPED_BYTES - 1) * (line.match(MARKUP)?.length ?? 0);
}

/** The bytes of UTF-8 of a character, or ESCAPED_BYTES for one a chat's markup escapes. */
function charBytes(codePoint: number): number {
  if (codePoint === 0x26 || codePoint === 0x3c || codePoint === 0x3e || codePoint === 0x5b || codePoint === 0x5d) return ESCAPED_BYTES;
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** The end of the longest beginning of `line` that takes at most `bytes` bytes and ends between two graphemes. */
function headEnd(line: string, bytes: number): number {
  let end = 0;
  for (let used = 0; end < line.length; ) {
    const c = line.codePointAt(end)!;
    used += charBytes(c);
    if (used > bytes) break;
    end += c > 0xffff ? 2 : 1;
  }
  return graphemeStart(line, end);
}

/** `end`, or the start of the grapheme of `text` that `end` falls inside of. */
function graphemeStart(text: string, end: number): number {
  // Whether `end` falls inside a grapheme depends on what comes before it and on the character at it.
  return end >= text.length ? text.length : graphemes().segment(text.slice(0, end + 2)).containing(end)!.index;
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;

/** The start of the longest end of `line` that takes at most `bytes` bytes and starts between two graphemes. */
function tailStart(line: string, bytes: number): number {
  let start = line.length;
  for (let used = 0; start > 0; ) {
    const c = line.codePointAt(start - 1)!;
    // The low half of a surrogate pair: the character starts one unit earlier. One alone is a character
    // of its own, sent as U+FFFD.
    const units = c >= 0xdc00 && c <= 0xdfff && start > 1 && isHighSurrogate(line.charCodeAt(start - 2)) ? 2 : 1;
    used += charBytes(line.codePointAt(start - units)!);
    if (used > bytes) break;
    start -= units;
  }
  if (start === line.length) return start;
  const grapheme = graphemes().segment(line).containing(start)!;
  return grapheme.index === start ? start : grapheme.index + grapheme.segment.length;
}
